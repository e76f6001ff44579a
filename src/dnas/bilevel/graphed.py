"""Whole search iterations as CUDA graphs: one replay instead of thousands of kernel launches.

A DARTS search iteration on a GPU is bound by the host: its kernels are small and every one of
them costs a launch. Captured once into a CUDA graph (``torch.cuda.CUDAGraph``), an iteration —
the α step (first or second order) and the weight step, optimiser steps included — is replayed
by one call. What a replay needs:

* **static inputs**: the batches are copied into buffers allocated once (data loading and
  augmentation stay outside the graph); a batch of another shape (a short last batch) runs
  eagerly;
* **no host work inside**: the replayed kernels are those of the captured iteration, so
  everything the host decides — the learning rate (baked in as a number), which relaxation
  samples, the epoch's meters — must stay fixed while a graph is used. The graphs are
  re-captured at every epoch, when the cosine schedule moves the learning rate and the meters
  start again (one capture per epoch, no extra iteration: the capturing step is replayed at
  once);
* **capturable optimisers**: Adam keeps its step count on the device (``capturable=True``);
  SGD needs nothing;
* **warm-up**: the first iterations run eagerly on a side stream (cuDNN picks its algorithms,
  momentum buffers and gradients are allocated) before the first capture.

The NaN/inf guard still sees every step: the quantities the captured iteration watches are
watched again after each replay (their values are the graph's outputs).

On a device without CUDA graphs (CPU) the same static-buffer iteration runs eagerly, which is
what the tests exercise there. Bit for bit the same numbers as the eager loop is the aim on a
GPU (``benchmarks/gpu.py`` checks it); which relaxations qualify is :func:`why_not_graphed`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from dnas.bilevel.loop import Searcher

Batch = tuple[torch.Tensor, torch.Tensor]

#: eager iterations on a side stream before the first capture (the PyTorch recipe uses 3)
WARMUP = 3


def check_graphable(device: torch.device) -> None:
    """Raise ``ValueError`` naming the option when ``device`` cannot capture CUDA graphs."""
    if device.type != "cuda":
        available = torch.cuda.is_available()
        raise ValueError(
            f"cuda_graph=True (--cuda-graph) replays iterations from CUDA graphs and needs a CUDA "
            f"device; this search runs on {device} (torch.cuda.is_available() is {available}). "
            "Drop the option, or pass device='cuda'"
        )


def why_not_graphed(searcher: Searcher) -> str | None:
    """Why ``searcher``'s iterations cannot be captured, or None when they can."""
    cfg = searcher.config
    if searcher.data_parallel is not None:
        return "a multi-process search reduces gradients between processes inside the step"
    if cfg.cost is not None:
        return "cost= adds the budget penalty with host-side bookkeeping"
    for group in searcher.groups.values():
        r = group.relaxation
        if r.samples_paths:
            return (f"method={r.name!r} picks the paths to run on the host at every step; "
                    "graphs need a fixed set of kernels")
        if r.rescales_after_step:
            return f"method={r.name!r} rescales α on the host after each step"
    return None


class _Recorder:
    """Stands in for the guard while a graph is captured: keeps what the iteration watches."""

    def __init__(self) -> None:
        self.watched: list[tuple[str, Any]] = []

    def watch(self, quantity: str, value: Any) -> None:
        self.watched.append((quantity, value.detach() if isinstance(value, torch.Tensor)
                             else value))


class GraphedIterations:
    """Runs a :class:`~dnas.bilevel.loop.Searcher`'s iterations on static buffers, replayed
    from CUDA graphs on CUDA devices.

    Parameters
    ----------
    searcher : Searcher
        Its model, optimisers, meters and guard are used as they are; on CUDA its α optimiser is
        switched to ``capturable=True`` (device-side step counts), also for eager iterations.
    capture : bool, optional
        Capture CUDA graphs (default: when the searcher runs on CUDA). ``False`` runs the same
        static-buffer iteration eagerly.
    warmup : int
        Eager iterations before the first capture.

    Raises
    ------
    ValueError
        When the search cannot be captured (:func:`why_not_graphed`), or ``capture=True`` off
        CUDA.
    """

    def __init__(self, searcher: Searcher, capture: bool | None = None,
                 warmup: int = WARMUP) -> None:
        why = why_not_graphed(searcher)
        if why is not None:
            raise ValueError(
                f"cuda_graph=True (--cuda-graph): this search cannot be captured: {why}"
            )
        on_cuda = searcher.device.type == "cuda"
        if capture:
            check_graphable(searcher.device)
        self.searcher = searcher
        self.capture = on_cuda if capture is None else capture
        self.warmup = warmup
        self.static: tuple[torch.Tensor, ...] | None = None
        self.graphs: dict[bool, Any] = {}
        self.watched: dict[bool, list[tuple[str, Any]]] = {}
        self.key: tuple | None = None
        self.eager_runs = 0
        self.replays = 0
        if on_cuda:  # eager too: graphed and eager iterations are then the same arithmetic
            _capturable(searcher.a_optimizer, searcher.device)

    # ------------------------------------------------------------------ buffers
    def _fits(self, train: Batch, valid: Batch) -> bool:
        batch = (*train, *valid)
        if self.static is None:
            self.static = tuple(torch.empty_like(t) for t in batch)
        return all(s.shape == t.shape and s.dtype == t.dtype and s.device == t.device
                   for s, t in zip(self.static, batch))

    def _load(self, train: Batch, valid: Batch) -> None:
        assert self.static is not None
        for s, t in zip(self.static, (*train, *valid)):
            s.copy_(t, non_blocking=True)

    def _iteration(self, with_arch: bool) -> None:
        """The iteration the graph holds: the loop's α step and weight step on the buffers."""
        assert self.static is not None
        train, valid = self.static[:2], self.static[2:]
        if with_arch:
            self.searcher.arch_step(train, valid)  # type: ignore[arg-type]
        self.searcher.weight_step(train)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ one step
    def step(self, train: Batch, valid: Batch, with_arch: bool) -> bool:
        """Run one iteration (α step if ``with_arch``, then the weight step) on these batches.

        Returns False, having done nothing, when the batches do not fit the static buffers
        (the caller then runs the iteration eagerly).
        """
        if not self._fits(train, valid):
            return False
        self._load(train, valid)
        if not self.capture:
            self._iteration(with_arch)
            return True
        if self.eager_runs < self.warmup:  # cuDNN autotuning, lazy state: on a side stream
            self._on_side_stream(with_arch)
            self.eager_runs += 1
            return True
        key = self._host_state()
        if key != self.key:  # a new epoch: learning rate, meters, relaxation schedule
            self.graphs.clear()
            self.watched.clear()
            self.key = key
        graph = self.graphs.get(with_arch)
        if graph is None:
            graph = self._capture(with_arch)
        graph.replay()
        self.replays += 1
        for quantity, value in self.watched[with_arch]:
            self.searcher.guard.watch(quantity, value)
        return True

    def _host_state(self) -> tuple:
        s = self.searcher
        lrs = tuple(float(g["lr"]) for opt in (s.w_optimizer, s.a_optimizer)
                    for g in opt.param_groups)
        return (s.epoch, lrs, id(s.meters["train"]), id(s.meters["valid"]))

    def _on_side_stream(self, with_arch: bool) -> None:
        side = torch.cuda.Stream(self.searcher.device)
        side.wait_stream(torch.cuda.current_stream(self.searcher.device))
        with torch.cuda.stream(side):
            self._iteration(with_arch)
        torch.cuda.current_stream(self.searcher.device).wait_stream(side)

    def _capture(self, with_arch: bool) -> Any:
        s = self.searcher
        graph = torch.cuda.CUDAGraph()
        if any(g.relaxation.stochastic for g in s.groups.values()):
            # the relaxation samples on the device with the searcher's generator: each replay
            # must draw anew, so the graph advances that generator's state too
            with torch.cuda.device(s.device):
                graph.register_generator_state(s.sample_generator)
        recorder, guard = _Recorder(), s.guard
        s.guard = recorder  # type: ignore[assignment]
        try:
            with torch.cuda.graph(graph):
                self._iteration(with_arch)
        finally:
            s.guard = guard
        self.graphs[with_arch] = graph
        self.watched[with_arch] = recorder.watched
        return graph


def _capturable(optimizer: torch.optim.Optimizer, device: torch.device) -> None:
    """Switch an Adam-like optimiser to device-side step counts (``capturable=True``)."""
    for group in optimizer.param_groups:
        if "capturable" in group and not group["capturable"]:
            group["capturable"] = True
            for p in group["params"]:
                state = optimizer.state.get(p, {})
                if torch.is_tensor(state.get("step")):
                    state["step"] = state["step"].to(device=device, dtype=torch.float32)


__all__ = ["WARMUP", "GraphedIterations", "check_graphable", "why_not_graphed"]
