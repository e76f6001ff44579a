"""Whole-iteration CUDA graphs (dnas.bilevel.graphed). Without CUDA the static-buffer iteration
runs eagerly: it must be the eager loop's iteration exactly (bit for bit), including short last
batches, warm-up epochs and α steps every k-th step; the capture itself runs where CUDA is."""

from __future__ import annotations

import pytest
import torch

import dnas
from dnas.bilevel.graphed import GraphedIterations, why_not_graphed
from dnas.spaces.darts import search_network


def _data(n=22, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 12, generator=g), torch.randint(0, 10, (n,), generator=g)


def _searcher(device="cpu", graphed=None, **options):
    torch.manual_seed(0)
    net = search_network(C=4, layers=2, dim=1)
    opts = dict(epochs=2, batch_size=8, seed=0, device=device, progress=False)
    opts.update(options)
    s = dnas.Searcher(net, _data(), _data(seed=1), **opts)
    if graphed is not None:
        s.graphed = GraphedIterations(s, capture=graphed)
    return s


def _same_search(a, b):
    ra, rb = a.run(), b.run()
    for (ka, va), (kb, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert ka == kb and torch.equal(va, vb), ka
    strip = [{k: v for k, v in row.items() if k != "seconds"} for row in ra.history]
    assert strip == [{k: v for k, v in row.items() if k != "seconds"} for row in rb.history]
    assert ra.architecture.to_json() == rb.architecture.to_json()


@pytest.mark.parametrize(
    "options",
    [
        {},  # 22 samples in batches of 8: every epoch ends with a short batch, run eagerly
        {"order": 2},
        {"method": "drnas"},
        {"warmup_epochs": 1, "arch_every": 2},
    ],
)
def test_static_buffer_iterations_are_the_eager_loop(options):
    eager, static = _searcher(**options), _searcher(graphed=False, **options)
    _same_search(eager, static)
    assert static.graphed.static is not None


def test_searches_that_cannot_be_captured_are_named():
    assert why_not_graphed(_searcher()) is None
    assert "gdas" in why_not_graphed(_searcher(method="gdas"))
    with pytest.raises(ValueError, match=r"\(--cuda-graph\): this search cannot be captured.*gdas"):
        GraphedIterations(_searcher(method="gdas"), capture=False)
    with pytest.raises(ValueError, match="needs a CUDA device; this search runs on cpu"):
        GraphedIterations(_searcher(), capture=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the error is for machines without CUDA")
def test_the_option_needs_cuda(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"cuda_graph=True \(--cuda-graph\).*needs a CUDA device"):
        _searcher(cuda_graph=True)
    with pytest.raises(ValueError, match="cuda_graph"):
        dnas.SearchConfig(cuda_graph="yes")
    from dnas.cli.main import main

    code = main(["search", "--data", "digits", "--n-train", "32", "-C", "4", "--layers", "2",
                 "--epochs", "1", "--cuda-graph", "--out", str(tmp_path / "run")])
    assert code != 0
    assert "--cuda-graph" in capsys.readouterr().err
    assert not (tmp_path / "run" / "architecture.json").exists()


def test_sampling_searches_refuse_the_option_by_name():
    with pytest.raises(ValueError, match=r"cuda_graph=True.*cannot be captured.*gdas"):
        GraphedIterations(_searcher(method="gdas"), capture=False)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device")
@pytest.mark.parametrize("options", [{}, {"order": 2}, {"method": "drnas"}])
def test_replayed_graphs_are_the_eager_iterations_bit_for_bit(options):
    torch.backends.cudnn.deterministic = True
    eager = _searcher("cuda", graphed=False, **options)
    graphed = _searcher("cuda", graphed=True, **options)
    _same_search(eager, graphed)
    assert graphed.graphed.replays > 0 and len(graphed.graphed.graphs) > 0
