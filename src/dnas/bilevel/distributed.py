"""Data-parallel search over processes (``torchrun``): shard each global batch, average gradients.

Every one of the W ranks draws the *same* global batch (same seed, same data stream), keeps the
r-th of W equal contiguous slices, and averages the gradients of w and of α over ranks with one
all-reduce each. Every rank therefore applies the same update and holds the same α: one search,
one architecture. For a loss that is a mean over the batch and a model without cross-sample
statistics, the averaged gradient *is* the global batch's gradient (up to the order of
floating-point sums). BatchNorm normalises with each shard's own statistics, as
``DistributedDataParallel`` does; running statistics are averaged over ranks at each epoch end.

Second order (DARTS eqs. 6-8): the virtual step ``w' = w - ξ ∇_w L_train`` and the finite
difference's ``v = ∇_w' L_val`` (whose norm sets ε) are global quantities, so they are averaged
where they are formed (the ``reduce`` hook of :func:`dnas.optim.gradient.hypergradient`);
every rank then evaluates the same ``w'`` and ``w ± εv``, and averaging the final α gradient
completes eq. 7.
The exact (double-backward) mode is single-process only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass
class DataParallel:
    """The rank's place in a data-parallel search and the collectives it needs.

    Attributes
    ----------
    rank, world_size : int
        This process and the number of processes (from ``torchrun``'s environment).
    """

    rank: int
    world_size: int

    @property
    def is_main(self) -> bool:
        """Rank 0 writes the outputs; the others write nothing."""
        return self.rank == 0

    def shard(self, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """This rank's contiguous slice of a global batch (the batch size must divide evenly)."""
        x, y = batch
        n = x.shape[0]
        if n % self.world_size:
            raise ValueError(
                f"batch of {n} does not split evenly over {self.world_size} processes; use a "
                f"batch_size divisible by {self.world_size}"
            )
        k = n // self.world_size
        lo = self.rank * k
        return x[lo : lo + k], y[lo : lo + k]

    def average_(self, tensors: Iterable[torch.Tensor]) -> None:
        """Average tensors over ranks in place, one all-reduce per dtype (flattened together)."""
        by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
        for t in tensors:
            by_dtype.setdefault(t.dtype, []).append(t)
        for group in by_dtype.values():
            flat = torch.cat([t.reshape(-1) for t in group])
            dist.all_reduce(flat, op=dist.ReduceOp.SUM)
            flat /= self.world_size
            offset = 0
            for t in group:
                t.copy_(flat[offset : offset + t.numel()].view_as(t))
                offset += t.numel()

    def sum_(self, tensors: Iterable[torch.Tensor]) -> None:
        """Sum tensors over ranks in place (counters, loss totals)."""
        for t in tensors:
            dist.all_reduce(t, op=dist.ReduceOp.SUM)

    def average_grads(self, params: Iterable[nn.Parameter]) -> None:
        """Average ``.grad`` of ``params`` over ranks (parameters without a gradient are skipped;
        every rank skips the same ones because every rank runs the same sampled path)."""
        self.average_([p.grad for p in params if p.grad is not None])

    def average_dict(
        self, grads: Mapping[str, torch.Tensor | None]
    ) -> dict[str, torch.Tensor | None]:
        """The hypergradient's ``reduce`` hook: the same dict with every tensor averaged."""
        out = {k: (None if g is None else g.detach().clone()) for k, g in grads.items()}
        self.average_([g for g in out.values() if g is not None])
        return out

    def broadcast_module(self, module: nn.Module) -> None:
        """Copy rank 0's parameters and buffers to every rank (one starting point for all)."""
        with torch.no_grad():
            for t in [*module.parameters(), *module.buffers()]:
                dist.broadcast(t.data, src=0)

    def average_buffers(self, module: nn.Module) -> None:
        """Average floating-point buffers (BatchNorm running statistics) over ranks."""
        with torch.no_grad():
            self.average_([b for b in module.buffers() if b.is_floating_point()])


def launched_by_torchrun() -> bool:
    """Whether this process was started by ``torchrun`` (or another launcher) with W > 1."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_from_env(device: torch.device) -> tuple[DataParallel, torch.device]:
    """Join the process group described by ``torchrun``'s environment variables.

    Uses NCCL on CUDA (each rank on ``cuda:LOCAL_RANK``) and Gloo on CPU.

    Returns
    -------
    (DataParallel, torch.device)
        This rank's context and the device it must use.
    """
    for var in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        if var not in os.environ:
            raise ValueError(f"multi-process search needs ${var} (launch with torchrun)")
    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if local >= torch.cuda.device_count():
            raise ValueError(
                f"process with LOCAL_RANK={local} has no GPU: {torch.cuda.device_count()} visible; "
                "use at most that many processes per node"
            )
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        backend = "gloo"
    if not dist.is_initialized():
        if backend == "nccl":
            dist.init_process_group(backend, device_id=device)
        else:
            dist.init_process_group(backend)
    return DataParallel(dist.get_rank(), dist.get_world_size()), device


def shutdown(failed: bool = False) -> None:
    """Leave the process group (safe to call when none was joined).

    After a run that ended normally every rank first waits for the others (a barrier), so that
    none tears down its connections — rank 0 also hosts the rendezvous store — while another
    still uses them; ``failed=True`` (leaving on an error) skips the wait, which would hang on a
    rank that is stuck or gone."""
    if dist.is_available() and dist.is_initialized():
        if not failed:
            dist.barrier()
        dist.destroy_process_group()
