"""What lowering read from outside the function, so that a cached gradient can tell it is stale.

Lowering folds what it finds by name: module constants, closure cells, the helper functions it
inlines (their code and defaults), attributes of modules. A gradient compiled from those is the
derivative of the function only while they are unchanged.

Contract: `Reads` records each such look-up with the value it gave (`note`, `note_cell`), and
each builtin read where the module has no global of its name (`note_absent`: one defined later
hides it); `fresh()` looks each up again and says whether every one still gives the same object
(or, for numbers, strings and tuples of them, an equal value of the same types, 0.0 and -0.0
told apart; a method by its function), and no global hides a builtin read, and for a list or dict
(a module's `COEFFS = [1.0, 2.0]`, a `CFG` dict, which lowering reads into constants) one whose
contents are still those it had, entry by entry, of the same types (`_contents`): a change in
place (`COEFFS[0] = 5.0`) makes the gradient stale, as a new value does. It costs one dict or
attribute look-up per name read, in one expression written for them (`_checker`), and a walk of
each list or dict read, so a cache hit stays in the microseconds (each call of a compiled
function asks it).
"""

from __future__ import annotations

import keyword
import weakref
from types import CellType, FunctionType, MappingProxyType, MethodType, ModuleType
from typing import Any, Callable

import numpy as np

_CELL = object()  # the `name` of a closure cell's entry


class FreeArray:
    """Where an array the function reads from outside is: `where[name]` (a module's globals),
    `where.name` (a module) or a closure cell's contents (`name` None), and in it, for an
    array a list, tuple or dict there holds, the keys to it (`path`: `PARAMS[1][0]`). It is an
    argument of the emitted module after the function's own, read when each call is made
    (`read_free`). A graph's param holds it (`attrs["free"]`), the same object in each copy
    of the graph."""

    __slots__ = ("where", "name", "path")

    def __init__(self, where: Any, name: str | None, path: tuple = ()):
        self.where, self.name, self.path = where, name, path

    def __deepcopy__(self, memo) -> FreeArray:
        return self  # (a module's globals are not the graph's to copy)

    def __eq__(self, other) -> bool:
        return isinstance(other, FreeArray) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    @property
    def key(self) -> tuple:
        return (id(self.where), self.name, self.path)

    def within(self, k: Any) -> FreeArray:
        """The item at key k of the container here."""
        return FreeArray(self.where, self.name, (*self.path, k))

    def __repr__(self) -> str:
        return f"<free {self.name or 'cell'}{_keys(self.path)} at {id(self.where):#x}>"


def _keys(path: tuple) -> str:
    return "".join(f"[{k!r}]" for k in path)


def plain_array(v: Any) -> bool:
    """An array of numbers whose operators are NumPy's: no np.matrix (whose * is a matrix
    product), no masked array, no complex one (lowering refuses those); a memmap is one."""
    return (
        isinstance(v, np.ndarray)
        and not isinstance(v, (np.matrix, np.ma.MaskedArray))
        and v.dtype.kind in "biuf"
    )


def holds_arrays(v: Any) -> bool:
    """Whether v is a list, tuple or dict holding an array (`plain_array`) at some depth."""
    if type(v) is dict:
        v = list(v.values())
    return type(v) in (list, tuple) and any(plain_array(x) or holds_arrays(x) for x in v)


def free_origin(free: FreeArray, name: str) -> str:
    """Where a free array comes from, in words (a docstring's)."""
    if free.name is None:
        return (
            f"a closure's {name}"
            if not free.path
            else f"a closure's container's item{_keys(free.path)}"
        )
    where = free.where
    module = where.get("__name__") if isinstance(where, dict) else getattr(where, "__name__", "?")
    return f"the global {free.name}{_keys(free.path)} of module {module}"


def free_params(graph) -> list:
    """The graph's params for arrays read from outside (`FreeArray`), in order."""
    nodes = [graph[p] for p in graph.params]
    return [n for n in nodes if "free" in n.attrs]


def read_free(free: FreeArray) -> Any:
    """The array a free array's look-up gives now."""
    if free.name is None:
        held = free.where.cell_contents
    else:
        where = free.where
        held = where[free.name] if isinstance(where, dict) else getattr(where, free.name)
    for k in free.path:
        held = held[k]
    return held


class Reads:
    def __init__(self):
        self._items: dict[tuple[int, Any], tuple[Any, Any, Any, bool]] = {}
        self._checks: Callable[[], bool] | None = None  # made by `fresh` (`_checker`)

    def note(self, where: Any, name: str, value: Any) -> None:
        """`where[name]` (a dict: a module's globals) or `where.name` gave `value`."""
        if isinstance(where, ModuleType) and where.__name__.split(".")[0] == "numpy":
            return  # NumPy's own functions and constants
        if type(where).__module__ == "numpy":  # a ufunc's methods (`np.add.at`: a new bound
            return  # method at each look-up, never `is` the one read before)
        if getattr(value, "__self__", None) is where:  # a method of where: new at each look-up
            if isinstance(value, MethodType):  # (a Python one: compared by its function)
                item = (where, name, value.__func__, _METHOD)
                self._items.setdefault((id(where), name), item)
                self._checks = None
            return  # (a builtin one, `CFG.get`: its type's, which stays)
        if isinstance(where, FunctionType):  # (the function compiled, or one it calls: held
            where = weakref.proxy(where)  # weakly, or its cache entry would keep it alive)
        self._items.setdefault((id(where), name), (where, name, value, _kind(value)))
        self._checks = None

    def note_absent(self, where: dict, name: str) -> None:
        """`where` (a module's globals) had no `name`: a builtin of that name was read."""
        self._items.setdefault((id(where), name), (where, name, None, _ABSENT))
        self._checks = None

    def note_array(self, where: Any, name: Any) -> None:
        """`where[name]` (a module's globals), `where.name` or a cell's contents (name
        None) gave an array the module reads when it runs (`FreeArray`): fresh while it
        gives an array, whichever."""
        name = _CELL if name is None else name
        self._items[(id(where), name)] = (where, name, None, _ARRAY)
        self._checks = None

    def note_cell(self, cell: CellType, value: Any) -> None:
        self._items.setdefault((id(cell), _CELL), (cell, _CELL, value, _kind(value)))
        self._checks = None

    def extend(self, other: Reads) -> None:
        for key, item in other._items.items():
            self._items.setdefault(key, item)
        self._checks = None

    def fresh(self) -> bool:
        if self._checks is None:
            self._checks = _checker(list(self._items.values()))
        return self._checks()

    def stale(self) -> list[str]:
        """The names read whose look-up no longer gives what it gave (slow: for messages)."""
        items = self._items.values()
        return [_name(item[1]) for item in items if not _checker([item])()]


def _name(name: Any) -> str:
    return "a closure cell" if name is _CELL else name


def _checker(items: list) -> Callable[[], bool]:
    """A function saying whether each item's look-up (`where[name]`, `where.name`, a cell's
    contents) still gives its value, written as one expression of those look-ups (`w0.__code__
    is v0 and w1.cell_contents is v1 and ...`): cheaper than calling a look-up per item."""
    env: dict[str, Any] = {"_same": _same, "_contents": _contents}
    terms = []
    for k, (where, name, value, kind) in enumerate(items):
        env[f"w{k}"], env[f"v{k}"] = where, value
        if isinstance(kind, _Contents):
            env[f"c{k}"] = tuple(kind)  # (what it held when it was read)
        if name is _CELL:
            now = f"w{k}.cell_contents"
        elif type(where) in (dict, MappingProxyType):  # (a class's: `vars(cls)`)
            now = f"w{k}[{name!r}]"
        elif name.isidentifier() and not keyword.iskeyword(name):
            now = f"w{k}.{name}"
        else:
            env[f"n{k}"] = name
            now = f"getattr(w{k}, n{k})"
        if kind is _ABSENT:
            terms.append(f"{name!r} not in w{k}")
        elif kind is _ARRAY:
            env["_plain_array"] = plain_array
            terms.append(f"_plain_array({now})")
        elif kind is _METHOD:
            terms.append(f"{now}.__func__ is v{k}")
        elif isinstance(kind, _Contents):
            terms.append(f"_contents({now}) == c{k}")
        else:
            same = f"{now} is v{k}"
            terms.append(f"({same} or _same({now}, v{k}))" if kind is _PLAIN else same)
    source = (
        "def fresh():\n"
        "    try:\n"
        f"        return {' and '.join(terms) or 'True'}\n"
        "    except (AttributeError, KeyError, ValueError, ReferenceError):  # (gone, emptied)\n"
        "        return False\n"
    )
    exec(source, env)
    return env["fresh"]


def _same(now: Any, value: Any) -> bool:
    """Whether a number, a string or a tuple of them read now is the one read before."""
    return now is value or (type(now) is type(value) and _exact(now) == _exact(value))


def _exact(v: Any) -> Any:
    """A plain value as a value equal only to the same one: of the same types at every depth
    (1 and True differ), a float's sign too (0.0 and -0.0 differ; NaN is NaN)."""
    if isinstance(v, tuple):
        return tuple((type(x), _exact(x)) for x in v)
    return repr(v) if isinstance(v, (float, complex)) else v


# how a value read is compared (or by its `_Contents`)
_PLAIN, _OBJECT, _ABSENT, _METHOD, _ARRAY = "plain", "object", "absent", "method", "array"
_PLAIN_TYPES = (int, float, complex, str, bool, bytes, type(None))
_PLAIN_SET = frozenset(_PLAIN_TYPES)


def _kind(v: Any) -> Any:
    """How a value read is compared: `_PLAIN`, `_OBJECT` (by identity), or for a list, dict
    or tuple holding more than numbers, its contents as they are now (`_contents`)."""
    if _plain(v):
        return _PLAIN
    return _Contents(_contents(v)) if isinstance(v, (list, dict, tuple)) else _OBJECT


class _Contents(tuple):
    """A container's contents when it was read (`_contents`)."""


def _plain(v: Any) -> bool:
    if isinstance(v, tuple):
        return all(_plain(x) for x in v)
    return isinstance(v, _PLAIN_TYPES)


def _contents(v: Any) -> Any:
    """What a list, dict or tuple holds, at every depth, as a value that compares equal only to
    the same contents: its entries (a dict's keys too) with their types (1 and 1.0 differ), any
    entry not a number, string or None by its contents if a container, else by identity (a
    function, an array: arrays are never folded). Made of C-level copies where every entry is a
    number or a string (a module's config dict: each call of a compiled function asks it)."""
    kind = type(v)
    if kind is dict:
        entries = list(v.values())
        types = tuple(map(type, entries))
        if _PLAIN_SET.issuperset(types):
            return (dict, tuple(v), tuple(entries), types, _zeros(entries))
        return (dict, tuple(v), tuple(map(_contents, entries)))
    if kind is list or kind is tuple:
        types = tuple(map(type, v))
        if _PLAIN_SET.issuperset(types):
            return (kind, tuple(v), types, _zeros(v))
        return (kind, tuple(map(_contents, v)))
    if kind in _PLAIN_SET:
        return (kind, _exact(v))
    if isinstance(v, (list, tuple, dict)):  # (a subclass: its entries, as a plain one's)
        return (kind, _contents(dict(v) if isinstance(v, dict) else list(v)))
    return (object, _Identity(v))


def _zeros(entries) -> tuple:
    """The signs of the zeros among plain entries (0.0 == -0.0; a scan in C where none is 0)."""
    if 0 not in entries:
        return ()
    return tuple(repr(x) for x in entries if type(x) is float and x == 0)


class _Identity:
    """An object compared by identity, held (so that its id is not another's later)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any):
        self.obj = obj

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, _Identity) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)
