"""What lowering read from outside the function, so that a cached gradient can tell it is stale.

Lowering folds what it finds by name: module constants, closure cells, the helper functions it
inlines (their code and defaults), attributes of modules. A gradient compiled from those is the
derivative of the function only while they are unchanged.

Contract: `Reads` records each such look-up with the value it gave (`note`, `note_cell`);
`fresh()` looks each up again and says whether every one still gives the same object (or, for
numbers, strings and tuples of them, an equal value of the same type). It costs one dict or
attribute look-up per name read, so a cache hit stays in the microseconds (each call of a
compiled function asks it).
"""

from __future__ import annotations

from functools import partial
from types import CellType, ModuleType
from typing import Any

_MISSING = object()
_CELL = object()  # the `name` of a closure cell's entry


class Reads:
    def __init__(self):
        self._items: dict[tuple[int, Any], tuple[Any, Any, Any, bool]] = {}
        self._checks: tuple | None = None  # (look-up, value, plain) per item, made by `fresh`

    def note(self, where: Any, name: str, value: Any) -> None:
        """`where[name]` (a dict: a module's globals) or `where.name` gave `value`."""
        if isinstance(where, ModuleType) and where.__name__.split(".")[0] == "numpy":
            return  # NumPy's own functions and constants
        self._items.setdefault((id(where), name), (where, name, value, _plain(value)))
        self._checks = None

    def note_cell(self, cell: CellType, value: Any) -> None:
        self._items.setdefault((id(cell), _CELL), (cell, _CELL, value, _plain(value)))
        self._checks = None

    def extend(self, other: Reads) -> None:
        for key, item in other._items.items():
            self._items.setdefault(key, item)
        self._checks = None

    def fresh(self) -> bool:
        if self._checks is None:
            self._checks = tuple(
                (_look_up(where, name), v, p) for where, name, v, p in self._items.values()
            )
        try:
            for look_up, value, plain in self._checks:
                now = look_up()
                if now is not value and not (plain and type(now) is type(value) and now == value):
                    return False
        except ValueError:  # an emptied cell
            return False
        return True


def _look_up(where: Any, name: Any) -> partial:
    """`where[name]` (`where.name`, a cell's contents) looked up again, as a call of C functions
    made once (cheaper than working out which look-up it is at each call)."""
    if name is _CELL:
        return partial(getattr, where, "cell_contents")
    if type(where) is dict:
        return partial(where.get, name, _MISSING)
    return partial(getattr, where, name, _MISSING)


def _plain(v: Any) -> bool:
    if isinstance(v, tuple):
        return all(_plain(x) for x in v)
    return isinstance(v, (int, float, complex, str, bool, bytes, type(None)))
