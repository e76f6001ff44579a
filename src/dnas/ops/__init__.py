"""Candidate operations as plain modules, dimension-generic (``dim=1`` or ``dim=2``), and a
registry of them by name (the DARTS primitives: Liu et al., 2019, section 3.1)."""

from dnas.ops.cell_ops import DilConv, FactorizedReduce, ReLUConvBN, SepConv, Zero
from dnas.ops.layers import avg_pool, batch_norm, check_dim, conv, global_avg_pool, max_pool
from dnas.ops.registry import OpFactory, create_op, op_names, register_op

__all__ = [
    "DilConv",
    "FactorizedReduce",
    "OpFactory",
    "ReLUConvBN",
    "SepConv",
    "Zero",
    "avg_pool",
    "batch_norm",
    "check_dim",
    "conv",
    "create_op",
    "global_avg_pool",
    "max_pool",
    "op_names",
    "register_op",
]
