"""Data-parallel search over 2 CPU processes (gloo): both ranks hold the same α, and it agrees with
a single-process search over the same global batches (first and second order)."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import dnas
from dnas.bilevel import SearchConfig, Searcher, distributed
from dnas.optim.gradient import hypergradient
from dnas.runtime.checkpoint import Checkpoint, load_checkpoint
from tests.helpers import StopAt, ToyClassifier, toy_classification

WORLD = 2
CASES = [("darts", 1, False), ("darts", 2, False), ("gdas", 1, False), ("darts", 1, True)]


def _jitter(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random augmentation: the ranks' slices must be those of the augmented global batch."""
    return x + 0.3 * torch.randn(x.shape, generator=generator)


def _search(method: str, order: int, augmented: bool, dp=None) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    train, valid = toy_classification(128)
    config = SearchConfig.for_method(method, order=order, epochs=2, batch_size=16, device="cpu",
                                     progress=False)
    s = Searcher(ToyClassifier(), train, valid, config, augment=_jitter if augmented else None)
    s.data_parallel = dp
    s.run()
    return {n: p.detach().clone() for n, p in s.model.named_parameters()}


def _resumed_search(dp, folder: str):
    """Interrupted mid-epoch (rank 0 checkpoints), then resumed on every rank from that file."""
    torch.manual_seed(0)
    train, valid = toy_classification(128)
    config = SearchConfig(epochs=2, batch_size=16, device="cpu", progress=False)
    ck = Checkpoint(os.path.join(folder, "ck"), every_steps=1, enabled=dp.is_main)
    first = Searcher(ToyClassifier(), train, valid, config, callbacks=[ck, StopAt(1, 2)])
    first.data_parallel = dp
    first.run()
    dist.barrier()  # rank 0's checkpoint is on disk before anyone reads it
    torch.manual_seed(5)
    resumed = Searcher(ToyClassifier(), train, valid, config)
    resumed.data_parallel = dp
    resumed.load_state_dict(load_checkpoint(os.path.join(folder, "ck")))
    resumed.run()
    return resumed.history


def _full_history(dp):
    torch.manual_seed(0)
    train, valid = toy_classification(128)
    s = Searcher(ToyClassifier(), train, valid, SearchConfig(epochs=2, batch_size=16, device="cpu",
                                                    progress=False))
    s.data_parallel = dp
    s.run()
    return s.history


def _worker(rank: int, port: int, folder: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(WORLD), LOCAL_RANK=str(rank))
    dp, device = distributed.init_from_env(torch.device("cpu"))
    try:
        assert (dp.rank, dp.world_size, device.type) == (rank, WORLD, "cpu")
        results = {f"{m}-{o}-{int(a)}": _search(m, o, a, dp) for m, o, a in CASES}
        histories = {"full": _full_history(dp), "resumed": _resumed_search(dp, folder)}
        torch.save(results, os.path.join(folder, f"rank{rank}.pt"))
        torch.save(histories, os.path.join(folder, f"history{rank}.pt"))
    except BaseException:
        distributed.shutdown(failed=True)
        raise
    distributed.shutdown()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="needs gloo")
@pytest.mark.slow  # a subprocess run: `make test-fast` leaves it out
def test_two_processes_agree_with_each_other_and_with_one(tmp_path):
    mp.spawn(_worker, args=(_free_port(), str(tmp_path)), nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD)]
    for case in ranks[0]:
        method, order, augmented = case.rsplit("-", 2)
        single = _search(method, int(order), bool(int(augmented)))
        for name, value in single.items():
            # one architecture: the ranks apply identical all-reduced updates
            assert torch.equal(ranks[0][case][name], ranks[1][case][name]), (case, name)
            # the same search as one process on the global batches, up to summation order
            torch.testing.assert_close(ranks[0][case][name], value, rtol=1e-5, atol=2e-7,
                                       msg=lambda m, c=case, n=name: f"{c} {n}: {m}")
        # and it actually moved α (the comparison is not between two untouched tensors)
        assert not torch.allclose(single["act.arch.alpha"], _initial_alpha("act"))
    # a multi-process run resumed mid-epoch reports the same epoch totals over all ranks
    for r in range(WORLD):
        h = torch.load(tmp_path / f"history{r}.pt")
        for full, resumed in zip(h["full"], h["resumed"], strict=True):
            for key in ("train_loss", "train_acc", "valid_loss", "valid_acc"):
                assert resumed[key] == pytest.approx(full[key], rel=1e-12), (r, key)
            assert resumed["alpha"] == full["alpha"]


def _initial_alpha(label: str) -> torch.Tensor:
    torch.manual_seed(0)
    return dnas.space.binding.bind(ToyClassifier())[label].alpha.detach()


def test_shard_splits_the_global_batch_in_rank_order():
    x, y = torch.arange(12).reshape(6, 2), torch.arange(6)
    parts = [distributed.DataParallel(r, 3).shard((x, y)) for r in range(3)]
    assert torch.equal(torch.cat([p[0] for p in parts]), x)
    assert torch.equal(torch.cat([p[1] for p in parts]), y)
    with pytest.raises(ValueError, match="divisible by 4"):
        distributed.DataParallel(0, 4).shard((x, y))


def test_exact_hypergradient_refuses_a_reduce_hook():
    torch.manual_seed(0)
    model = ToyClassifier()
    dnas.relax(model, "darts")
    (Xt, yt), (Xv, yv) = toy_classification(128)
    opt = torch.optim.SGD(dnas.weight_parameters(model), lr=0.1)
    with pytest.raises(ValueError, match="single-process"):
        hypergradient(model, torch.nn.functional.cross_entropy, (Xt, yt), (Xv, yv), opt, 2,
                      mode="exact", reduce=lambda d: d)


def test_init_from_env_needs_torchrun_variables(monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert distributed.launched_by_torchrun()
    with pytest.raises(ValueError, match=r"\$RANK"):
        distributed.init_from_env(torch.device("cpu"))
