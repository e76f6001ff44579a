"""The expression search space behind :class:`dnas.DARTSRegressor`: a DARTS graph over input
variables whose edges choose among symbolic primitives and whose nodes choose sum, product or
ratio of their operands."""

from dnas.spaces.expression.graph import Edge, Node, Reading, fold, walk
from dnas.spaces.expression.network import NODE_OPS, Combine, ExpressionNetwork
from dnas.spaces.expression.primitives import (
    AUTORA_PRIMITIVES,
    DEFAULT_PRIMITIVES,
    PRIMITIVE_NAMES,
    Primitive,
    check_primitives,
    make_primitive,
    primitive_names,
)

__all__ = [
    "AUTORA_PRIMITIVES",
    "DEFAULT_PRIMITIVES",
    "NODE_OPS",
    "PRIMITIVE_NAMES",
    "Combine",
    "Edge",
    "ExpressionNetwork",
    "Node",
    "Primitive",
    "Reading",
    "check_primitives",
    "fold",
    "make_primitive",
    "primitive_names",
    "walk",
]
