"""Static description of a subscript `x[...]` whose runtime parts are graph inputs.

An index is a tuple of items: an int, None, Ellipsis, a `Dyn` (the k-th runtime index input: an
int, an integer array or a boolean mask), or a `Slice` whose bounds are ints, None or `Dyn`s.
Everything here is hashable, so nodes carrying an index can be compared and deduplicated.
"""

from __future__ import annotations

from typing import NamedTuple


class Dyn(NamedTuple):
    """The k-th runtime part of an index (k counts from 0 over the node's index inputs)."""

    k: int


class Slice(NamedTuple):
    start: object = None
    stop: object = None
    step: object = None


def folded(index: tuple, n_parts: int, known: dict[int, int]) -> tuple[tuple, list[int]]:
    """The index of `n_parts` runtime parts with those whose values are known (`known`: part
    k -> its int) written in, and the parts left (their numbers before, in order), numbered
    from 0 again."""
    left = [k for k in range(n_parts) if k not in known]
    renumbered = {k: Dyn(n) for n, k in enumerate(left)}

    def item(it):
        if isinstance(it, Dyn):
            return known[it.k] if it.k in known else renumbered[it.k]
        if isinstance(it, Slice):
            return Slice(*(item(b) for b in it))
        return it

    return tuple(item(it) for it in index), left
