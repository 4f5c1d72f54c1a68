"""What lowering read from outside the function, so that a cached gradient can tell it is stale.

Lowering folds what it finds by name: module constants, closure cells, the helper functions it
inlines (their code and defaults), attributes of modules. A gradient compiled from those is the
derivative of the function only while they are unchanged.

Contract: `Reads` records each such look-up with the value it gave (`note`, `note_cell`);
`fresh()` looks each up again and says whether every one still gives the same object (or, for
numbers, strings and tuples of them, an equal value of the same type). It costs one dict or
attribute look-up per name read, in one expression written for them (`_checker`), so a cache
hit stays in the microseconds (each call of a compiled function asks it).
"""

from __future__ import annotations

import keyword
from types import CellType, ModuleType
from typing import Any, Callable

_CELL = object()  # the `name` of a closure cell's entry


class Reads:
    def __init__(self):
        self._items: dict[tuple[int, Any], tuple[Any, Any, Any, bool]] = {}
        self._checks: Callable[[], bool] | None = None  # made by `fresh` (`_checker`)

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
            self._checks = _checker(list(self._items.values()))
        return self._checks()


def _checker(items: list) -> Callable[[], bool]:
    """A function saying whether each item's look-up (`where[name]`, `where.name`, a cell's
    contents) still gives its value, written as one expression of those look-ups (`w0.__code__
    is v0 and w1.cell_contents is v1 and ...`): cheaper than calling a look-up per item."""
    env: dict[str, Any] = {"_same": _same}
    terms = []
    for k, (where, name, value, plain) in enumerate(items):
        env[f"w{k}"], env[f"v{k}"] = where, value
        if name is _CELL:
            now = f"w{k}.cell_contents"
        elif type(where) is dict:
            now = f"w{k}[{name!r}]"
        elif name.isidentifier() and not keyword.iskeyword(name):
            now = f"w{k}.{name}"
        else:
            env[f"n{k}"] = name
            now = f"getattr(w{k}, n{k})"
        terms.append(f"_same({now}, v{k})" if plain else f"{now} is v{k}")
    source = (
        "def fresh():\n"
        "    try:\n"
        f"        return {' and '.join(terms) or 'True'}\n"
        "    except (AttributeError, KeyError, ValueError):  # (gone, or an emptied cell)\n"
        "        return False\n"
    )
    exec(source, env)
    return env["fresh"]


def _same(now: Any, value: Any) -> bool:
    """Whether a number, a string or a tuple of them read now is the one read before."""
    return now is value or (type(now) is type(value) and now == value)


def _plain(v: Any) -> bool:
    if isinstance(v, tuple):
        return all(_plain(x) for x in v)
    return isinstance(v, (int, float, complex, str, bool, bytes, type(None)))
