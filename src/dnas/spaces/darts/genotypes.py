"""Published DARTS-space cells, as data: ``genotype(name) -> Architecture``.

Each entry lists two ``(operation, input state)`` pairs per intermediate node (states 2..5), as
the papers' released genotypes do; every cell concatenates states 2..5.

* ``DARTS_V1``, ``DARTS_V2``: DARTS first and second order (Liu et al., ICLR 2019), CIFAR-10;
  ``DARTS`` is ``DARTS_V2``.
* ``PC_DARTS``: PC-DARTS (Xu et al., ICLR 2020), searched on CIFAR-10.
* ``PDARTS``: P-DARTS (Chen et al., ICCV 2019), searched on CIFAR-10.
* ``GDAS``: GDAS (Dong & Yang, CVPR 2019), the CIFAR-10 cell released as ``GDAS_V1``.
"""

from __future__ import annotations

from dnas.arch.architecture import Architecture
from dnas.spaces.darts.structure import from_genotype

_S3, _S5 = "sep_conv_3x3", "sep_conv_5x5"
_D3, _D5 = "dil_conv_3x3", "dil_conv_5x5"
_SKIP, _MAX, _AVG = "skip_connect", "max_pool_3x3", "avg_pool_3x3"

_ZOO: dict[str, dict[str, list[tuple[str, int]]]] = {
    "DARTS_V1": {
        "normal": [(_S3, 1), (_S3, 0), (_SKIP, 0), (_S3, 1),
                   (_SKIP, 0), (_S3, 1), (_S3, 0), (_SKIP, 2)],
        "reduce": [(_MAX, 0), (_MAX, 1), (_SKIP, 2), (_MAX, 0),
                   (_MAX, 0), (_SKIP, 2), (_SKIP, 2), (_AVG, 0)],
    },
    "DARTS_V2": {
        "normal": [(_S3, 0), (_S3, 1), (_S3, 0), (_S3, 1),
                   (_S3, 1), (_SKIP, 0), (_SKIP, 0), (_D3, 2)],
        "reduce": [(_MAX, 0), (_MAX, 1), (_SKIP, 2), (_MAX, 1),
                   (_MAX, 0), (_SKIP, 2), (_SKIP, 2), (_MAX, 1)],
    },
    "PC_DARTS": {
        "normal": [(_S3, 1), (_SKIP, 0), (_S3, 0), (_D3, 1),
                   (_S5, 0), (_S3, 1), (_AVG, 0), (_D3, 1)],
        "reduce": [(_S5, 1), (_MAX, 0), (_S5, 1), (_S5, 2),
                   (_S3, 0), (_S3, 3), (_S3, 1), (_S3, 2)],
    },
    "PDARTS": {
        "normal": [(_SKIP, 0), (_D3, 1), (_SKIP, 0), (_S3, 1),
                   (_S3, 1), (_S3, 3), (_S3, 0), (_D5, 4)],
        "reduce": [(_AVG, 0), (_S5, 1), (_S3, 0), (_D5, 2),
                   (_MAX, 0), (_D3, 1), (_D3, 1), (_D5, 3)],
    },
    "GDAS": {
        "normal": [(_SKIP, 0), (_SKIP, 1), (_SKIP, 0), (_S5, 2),
                   (_S3, 3), (_SKIP, 0), (_S5, 4), (_S3, 3)],
        "reduce": [(_S5, 0), (_S3, 1), (_S5, 2), (_S5, 1),
                   (_D5, 2), (_S3, 1), (_S5, 0), (_S5, 1)],
    },
}
_ALIASES = {"DARTS": "DARTS_V2"}

#: Names accepted by :func:`genotype`.
GENOTYPES: tuple[str, ...] = (*_ZOO, *_ALIASES)


def genotype(name: str) -> Architecture:
    """The published cell ``name`` (one of :data:`GENOTYPES`) as an :class:`~dnas.Architecture`.

    Examples
    --------
    >>> net = eval_network(genotype("DARTS_V2"), C=36, layers=20)
    """
    if not isinstance(name, str) or name not in GENOTYPES:
        raise ValueError(f"unknown genotype {name!r}; known genotypes: {list(GENOTYPES)}")
    key = _ALIASES.get(name, name)
    cells = _ZOO[key]
    return from_genotype(cells["normal"], cells["reduce"], meta={"genotype": key})


__all__ = ["GENOTYPES", "genotype"]
