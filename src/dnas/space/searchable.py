"""Modules whose discrete form depends on value choices: the protocol :func:`dnas.fix` uses.

A :class:`Searchable` module (the layers of :mod:`dnas.nn`, :class:`dnas.Repeat`) registers the
value choices its sizes read and knows how to build its fixed form for an architecture:
``fixed(architecture) -> nn.Module``, an ordinary module of exactly the chosen size whose weights
are copied from the shared ones. :func:`dnas.fix` replaces every searchable module by its fixed
form, outermost first, then fixes what that form contains.

Write your own searchable module by subclassing :class:`Searchable`, calling
:meth:`Searchable.register_sizes` with its size arguments and implementing :meth:`fixed`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from dnas.space.value import Size, ValueChoice, choice_objects, resolve


class Searchable(nn.Module):
    """Base class of modules with value choices among their sizes.

    Attributes
    ----------
    value_choices : nn.ModuleList
        Every :class:`~dnas.ValueChoice` object the sizes read (registered, so labels are bound
        and α is a parameter of the model).
    sizes : dict
        ``{argument name: size}`` as given to :meth:`register_sizes`.
    """

    def register_sizes(self, **sizes: Size) -> None:
        """Remember the size arguments and register the value choices they read."""
        self.sizes: dict[str, Size] = dict(sizes)
        objects: dict[int, ValueChoice] = {}
        for size in sizes.values():
            for c in choice_objects(size):
                objects.setdefault(id(c), c)
        self.value_choices = nn.ModuleList(objects.values())

    def chosen_sizes(self, architecture: Mapping[str, Sequence[Any]]) -> dict[str, int]:
        """``{argument name: chosen integer size}`` under ``architecture``."""
        return {name: int(resolve(s, architecture)) for name, s in self.sizes.items()}

    def fixed(self, architecture: Mapping[str, Sequence[Any]]) -> nn.Module:
        """The ordinary module of exactly the sizes ``architecture`` chooses (weights copied)."""
        raise NotImplementedError(f"{type(self).__name__} does not define fixed()")


__all__ = ["Searchable"]
