"""Make a checkout of the official DARTS code (github.com/quark0/darts, folder ``cnn/``) run on a
current PyTorch, without a GPU, by local text substitutions. Nothing of that code is kept here.

The official code targets PyTorch 0.3 with CUDA. The changes, all mechanical:

* ``.cuda()`` / ``.cuda(async=True)`` dropped: tensors go to the *default* device, so a caller that
  wants a GPU run sets ``torch.set_default_device("cuda")`` (``async`` is a keyword since Python
  3.7, which made these lines syntax errors);
* ``torch.cuda.FloatTensor(n, 1, 1, 1)`` (drop-path mask) -> ``torch.empty(..., device=x.device)``;
* ``Variable(t, ...)`` -> ``t`` (``.requires_grad_()`` when it asked for ``requires_grad=True``);
* ``x.data[0]`` -> ``x.item()``;
* the removed in-place overloads ``add_(scalar, tensor)`` / ``sub_(scalar, tensor)`` /
  ``sub(scalar, tensor)`` -> ``add_(tensor, alpha=scalar)`` ...;
* ``nn.utils.clip_grad_norm(`` -> ``nn.utils.clip_grad_norm_(``;
* ``import torchvision...`` -> a ``None`` stand-in (only the data-loading helpers use it, and there
  is no CPU torchvision wheel in this environment).

Usage::

    git clone https://github.com/quark0/darts /tmp/peers/darts    # outside this repository
    python benchmarks/peers/prepare_official_darts.py /tmp/peers/darts --verify

``--verify`` imports the patched ``model_search.Network`` and ``model.NetworkCIFAR`` and checks
the published parameter counts (search network C=16, 8 layers: 1,930,618 weights + 224 α;
DARTS_V2 evaluation network C=36, 20 layers: 3,349,342 without the auxiliary head).
The script is idempotent: running it twice changes nothing the second time.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

#: (pattern, replacement) applied in order to every ``cnn/*.py``.
SUBSTITUTIONS: tuple[tuple[str, str], ...] = (
    (r"\basync=True\b", "non_blocking=True"),
    (r"\.cuda\((?:non_blocking=True)?\)", ""),
    (r"torch\.cuda\.FloatTensor\((\w+)\.size\(0\), 1, 1, 1\)",
     r"torch.empty(\1.size(0), 1, 1, 1, device=\1.device)"),
    (r"\b(\w+)\.data\[0\]", r"\1.item()"),
    # the scalar-first overloads; the "no '='" classes keep the rewrite idempotent
    (r"\.(add_|sub_|sub)\(([^,()=]+), ([^()=]+?)\)", r".\1(\3, alpha=\2)"),
    (r"\bnn\.utils\.clip_grad_norm\(", "nn.utils.clip_grad_norm_("),
    (r"^import torchvision\.(\w+) as (\w+)$",
     r"\2 = None  # torchvision stand-in: only the data-loading helpers use it"),
    (r"^from torch\.autograd import Variable\n", ""),
)

REFERENCE = {"search_weights": 1_930_618, "search_alphas": 224, "eval_no_aux": 3_349_342,
             "eval_aux": 3_825_768}


def _matching_paren(text: str, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError(f"unbalanced parenthesis after offset {open_at}")


def _split_top_level(args: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(args):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(args[start:i].strip())
            start = i + 1
    parts.append(args[start:].strip())
    return parts


def drop_variable(text: str) -> str:
    """``Variable(expr, requires_grad=True)`` -> ``(expr).requires_grad_()``; other keywords
    (``requires_grad=False``, ``volatile=True``) -> ``expr``. Needs paren matching, not a regex."""
    out, pos = [], 0
    for m in re.finditer(r"\bVariable\(", text):
        if m.start() < pos:
            continue
        close = _matching_paren(text, m.end() - 1)
        first, *keywords = _split_top_level(text[m.end():close])
        if "requires_grad=True" in keywords:
            first = f"({first}).requires_grad_()"
        out.append(text[pos:m.start()] + first)
        pos = close + 1
    return "".join(out) + text[pos:]


def patch_text(text: str) -> str:
    for pattern, replacement in SUBSTITUTIONS:
        text = re.sub(pattern, replacement, text, flags=re.MULTILINE)
    return drop_variable(text)


def prepare(checkout: Path) -> list[Path]:
    """Patch ``checkout/cnn/*.py`` in place; return the files that changed."""
    cnn = Path(checkout) / "cnn"
    if not (cnn / "model_search.py").is_file() or not (cnn / "architect.py").is_file():
        raise ValueError(
            f"checkout={str(checkout)!r} does not hold the official DARTS code "
            "(expected cnn/model_search.py and cnn/architect.py)"
        )
    changed = []
    for path in sorted(cnn.glob("*.py")):
        old = path.read_text()
        new = patch_text(old)
        if new != old:
            fd, tmp = tempfile.mkstemp(dir=cnn, suffix=".tmp")
            with os.fdopen(fd, "w") as f:
                f.write(new)
            os.replace(tmp, path)  # write then rename: never a half-patched file
            changed.append(path)
    return changed


_VERIFY = """
import sys, torch, torch.nn as nn
sys.path.insert(0, sys.argv[1])
from model_search import Network
from model import NetworkCIFAR
import genotypes
net = Network(16, 10, 8, nn.CrossEntropyLoss())
w = sum(p.numel() for p in net.parameters())
a = sum(p.numel() for p in net.arch_parameters())
x = torch.randn(2, 3, 32, 32)
assert net(x).shape == (2, 10)
ev = NetworkCIFAR(36, 10, 20, True, genotypes.DARTS_V2)
total = sum(p.numel() for p in ev.parameters())
aux = sum(p.numel() for p in ev.auxiliary_head.parameters())
print(w, a, total - aux, total)
"""


def verify(checkout: Path) -> dict[str, int]:
    """Count the patched networks' parameters in a fresh interpreter; raise if they differ."""
    out = subprocess.run(
        [sys.executable, "-c", _VERIFY, str(Path(checkout) / "cnn")],
        capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the patched official code failed to run:\n{out.stderr}")
    # the official model.py prints while building; the counts are the last line
    counts = dict(zip(REFERENCE, map(int, out.stdout.strip().splitlines()[-1].split())))
    if counts != REFERENCE:
        raise RuntimeError(f"parameter counts {counts} differ from the reference {REFERENCE}")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a checkout of github.com/quark0/darts")
    parser.add_argument("--verify", action="store_true", help="check the reference counts")
    args = parser.parse_args(argv)
    try:
        changed = prepare(args.checkout)
        print(f"patched {len(changed)} file(s): {', '.join(p.name for p in changed) or '-'}")
        if args.verify:
            print("reference counts match:", verify(args.checkout))
    except (ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
