"""Abstract values: what is known of a graph value before it is computed (its type).

Contract: an `Aval` is a value's shape (a tuple of lengths, `None` for a length not known
statically; the shape itself `None` when even the rank is not known), its dtype (`None` when not
known), its `kind` ("array" for an ndarray, or an array of another library that NumPy's
functions dispatch to, `foreign`: Dask's, CuPy's; "scalar" for a NumPy scalar, "python" for a
Python number, "tuple" for a shape tuple, "dtype" for a dtype given as a value (`x.dtype`,
`np.float32`), "indices" for a tuple of index arrays (`np.triu_indices(d, 1)`: its shape and
dtype not known, as it is no array, and its `parts` the tuple of its arrays' Avals, which an
int index reads); `None` when not known) and, for small static values (a shape tuple, a Python
number, a dtype: as its scalar type), the `value` itself; a Python int not known statically may
still be known relative to another (`sym`: a loop's index plus a constant, with the index's
bounds), which tells the length of a slice `x[i : i + n]`; an integer array whose entries are
known to index distinct places (`distinct`: `np.arange`'s of int arguments, or the arrays of
`np.triu_indices` taken together) says so, which tells that an assignment through it writes no
entry twice. `None` in place of an Aval means nothing is known. Everything here is exact or
unknown, never a guess: a pass may rewrite a node on what an Aval says. `join` is what is known
of a value that may be any of several (a loop's carried value over its iterations).
`standin(aval)` is an array of that shape and dtype that costs no memory (every entry shares one
element), for working out what a view or an index does to a shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ARRAY, SCALAR, PYTHON, TUPLE, DTYPE = "array", "scalar", "python", "tuple", "dtype"
INDICES = "indices"


@dataclass(frozen=True)
class Sym:
    """A Python int known as t + offset, for one unknown t in [lo, hi] (None: no bound) that
    several values share: `token` names t (a loop's index in one iteration)."""

    token: int
    offset: int = 0
    lo: int | None = None
    hi: int | None = None

    def shifted(self, by: int) -> "Sym":
        return Sym(self.token, self.offset + by, self.lo, self.hi)


@dataclass(frozen=True, eq=False)
class Distinct:
    """Of an integer array: it is array k of n of the same shape (made by one call, the
    `group`) whose entries, taken together at each position, are never the same twice; n = 1:
    its own entries are distinct (`np.arange(n)`). A fact of the value, not of its type: two
    Avals that differ in it alone are equal."""

    group: object
    k: int = 0
    n: int = 1


def distinct_places(parts: list) -> bool:
    """Whether integer arrays of these Avals, indexing an array together (each of the shape they
    broadcast to), name distinct places: one of them has distinct entries, or they hold every
    array of a group."""
    marks = [p.distinct for p in parts]
    if not parts or None in marks or len({p.shape for p in parts}) != 1:
        return False
    groups = {(m.group, m.n) for m in marks}
    return any(m.n == 1 for m in marks) or any(
        {m.k for m in marks if m.group is g} == set(range(n)) for g, n in groups
    )


@dataclass(frozen=True)
class Aval:
    shape: tuple[int | None, ...] | None
    dtype: np.dtype | None = None
    kind: str | None = None
    value: Any = None  # a shape tuple or a Python number known statically
    sym: Sym | None = None  # a Python int not known, but known relative to another one
    parts: tuple | None = None  # of "indices": the Avals of its arrays
    distinct: Distinct | None = field(default=None, compare=False)  # of an integer array

    @property
    def rank(self) -> int | None:
        return None if self.shape is None else len(self.shape)

    @property
    def known(self) -> bool:
        """Every length of the shape and the dtype are known."""
        return self.shape is not None and None not in self.shape and self.dtype is not None

    def __eq__(self, other) -> bool:
        """Field by field, a dtype equal to an unknown one (None) only where both are unknown
        (the generated comparison took np.dtype('float64') == None, which NumPy says is True)."""
        if not isinstance(other, Aval):
            return NotImplemented
        return _equal(self.dtype, other.dtype) and (
            self.shape,
            self.kind,
            self.value,
            self.sym,
            self.parts,
        ) == (other.shape, other.kind, other.value, other.sym, other.parts)

    def __str__(self) -> str:
        if self.kind == TUPLE and self.value is not None:
            return f"tuple{self.value}"
        if self.kind == INDICES:
            return f"({', '.join(map(str, self.parts))})"
        dims = "?" if self.shape is None else ",".join(_dim(d) for d in self.shape)
        dtype = "?" if self.dtype is None else self.dtype.name
        return f"{'py' if self.kind == PYTHON else ''}{dtype}[{dims}]"


LARGE = 1 << 20  # bytes: an array this big costs more in memory than a line or a call costs


def nbytes(aval: Aval | None) -> int | None:
    """The size in bytes of an array of this Aval, where it is known."""
    if aval is None or not aval.known or aval.kind != ARRAY:
        return None
    return math.prod(aval.shape) * aval.dtype.itemsize


def float64_number(aval: Aval | None) -> bool:
    """Whether the value is a float64 number, no array (a Python float, a NumPy float64, or one
    that may be either): its zero cotangent is 0.0, a number on every step of a compiled loop,
    where a 0-d array would not unify."""
    return aval is not None and aval.kind != ARRAY and aval.shape == () and aval.dtype == np.float64


def one_int(aval: Aval | None) -> bool:
    """Whether the value is one int (0-d, of an integer dtype), not an array of them: an index
    part that cannot repeat an element."""
    return (
        aval is not None and aval.shape == () and aval.dtype is not None and aval.dtype.kind in "iu"
    )


def _dim(d: int | None) -> str:
    return "?" if d is None else str(d)


def foreign(v: Any) -> bool:
    """Whether v is an array of another library that NumPy's functions dispatch to
    (`__array_function__`, NEP 18): a Dask array, a CuPy array. Emitted NumPy code runs on it,
    computing with that library."""
    return (
        not isinstance(v, np.ndarray)
        and hasattr(type(v), "__array_function__")
        and isinstance(getattr(v, "shape", None), tuple)
        and hasattr(v, "dtype")
    )


def of_value(v: Any, static: bool = False) -> Aval | None:
    """The Aval of a concrete value: an argument at call time, or (`static`) a value known when
    compiling, whose Aval keeps a Python number itself too."""
    if type(v) in (bool, int, float):  # (not np.float64, a float subclass NumPy types strongly)
        return Aval((), np.dtype(type(v)), PYTHON, v if static else None)
    if type(v) is np.ndarray:  # a subclass (np.matrix) may compute differently: unknown
        return Aval(v.shape, v.dtype, ARRAY)
    if isinstance(v, np.generic):
        return Aval((), v.dtype, SCALAR)
    if foreign(v):  # a length Dask does not know yet (a filtered array's) is unknown here too
        shape = tuple(None if math.isnan(d) else int(d) for d in v.shape)
        return Aval(shape, np.dtype(v.dtype), ARRAY)
    if isinstance(v, tuple) and all(isinstance(d, int) and not isinstance(d, bool) for d in v):
        return Aval((len(v),), np.dtype(int), TUPLE, v)
    if static and type(v) is list and _numbers(v):  # np.array([0.5, 1.0])'s list, written out:
        array = np.asarray(v)  # its shape and dtype as an array (a list is no array: no kind)
        return Aval(array.shape, array.dtype, None)
    if isinstance(v, type) and (v in (bool, int, float, complex) or issubclass(v, np.generic)):
        try:
            return of_dtype(np.dtype(v), v)
        except TypeError:  # (an abstract one, `np.floating` of np.issubdtype: no dtype)
            return None
    if isinstance(v, np.dtype) and v.isnative:  # np.dtype("int64"): its scalar type's
        return of_dtype(v)
    return None


def _numbers(v: list) -> bool:
    """Whether v is a list of Python numbers, or of such lists, all of one length (rectangular):
    what NumPy reads as an array of numbers."""
    try:
        return np.asarray(v).dtype.kind in "biuf" and all(
            type(x) in (bool, int, float, list) for x in v
        )
    except ValueError:  # (ragged)
        return False


def of_dtype(dtype: np.dtype, spelling: type | None = None) -> Aval:
    """The Aval of a dtype given as a value, known statically: the dtype (`x.dtype`), or
    `spelling`, the type that named it (`float`, `np.float32`), stands for it (`small`)."""
    return Aval((), dtype, DTYPE, spelling or dtype)


def shape_tuple(shape: tuple[int, ...]) -> Aval:
    """The Aval of a shape tuple known statically."""
    return Aval((len(shape),), np.dtype(int), TUPLE, tuple(shape))


def broadcast(shapes: list[tuple | None]) -> tuple | None:
    """The broadcast of shapes, as NumPy computes it; a length is unknown where it depends on
    an unknown one (a known length other than 1 wins over an unknown one: the other must be 1
    or equal to it). None where the ranks are not known or the shapes cannot broadcast."""
    if any(s is None for s in shapes):
        return None
    rank = max((len(s) for s in shapes), default=0)
    out: list[int | None] = []
    for k in range(rank):
        dims = [s[len(s) - rank + k] for s in shapes if len(s) - rank + k >= 0]
        big = {d for d in dims if d is not None and d != 1}
        if len(big) > 1:
            return None
        if big:
            out.append(big.pop())
        elif None in dims:
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


def join(*avals: Aval | None) -> Aval | None:
    """What is true of a value that may be any of these: each length, the dtype, the kind and
    the static value where all agree, unknown where they differ (None if any is None)."""
    if any(a is None for a in avals):
        return None
    first, *rest = avals
    if all(a == first for a in rest):
        return first
    shapes = {a.shape for a in avals}
    shape = None
    if None not in shapes and len({len(s) for s in shapes}) == 1:
        shape = tuple(d[0] if len(set(d)) == 1 else None for d in zip(*shapes))
    same = lambda f: f(first) if all(_equal(f(a), f(first)) for a in rest) else None  # noqa: E731
    value = same(lambda a: (type(a.value), a.value))
    kinds = same(lambda a: a.dtype), same(lambda a: a.kind)
    return Aval(shape, *kinds, value[1] if value else None, same(lambda a: a.sym))


def _equal(a, b) -> bool:
    """a == b, None equal to None alone (NumPy's dtype equals None: np.dtype(None) is float64)."""
    return a is b or a is not None and b is not None and a == b


def standin(aval: Aval) -> Any:
    """A value of this Aval's shape and dtype that costs no memory: a Python number for a
    Python number, else a read-only broadcast of one element. None if the Aval is not known."""
    if aval is None or not aval.known:
        return None
    if aval.kind in (TUPLE, DTYPE):
        return aval.value
    if aval.kind == PYTHON:
        return aval.value if aval.value is not None else aval.dtype.type(1).item()
    return np.broadcast_to(np.ones((), aval.dtype), aval.shape)


def result_dtype(*avals: Aval | None) -> np.dtype | None:
    """The dtype NumPy gives an arithmetic result of these values (Python numbers weakly)."""
    values = [small(a) for a in avals]
    return None if any(v is None for v in values) else np.result_type(*values)


def strong_dtype(*avals: Aval | None) -> np.dtype | None:
    """The dtype of a result of a function that makes arrays of its operands first (np.einsum,
    np.outer, np.tensordot): a Python float is a float64 array there, not a weak number."""
    values = [small(a) for a in avals]
    if any(v is None for v in values):
        return None
    return np.result_type(
        *(np.asarray(v) if isinstance(v, (bool, int, float)) else v for v in values)
    )


def small(aval: Aval) -> Any:
    """A tiny value of this Aval's rank and dtype (every length 1), to learn what dtype a NumPy
    function gives for it. None where the rank or dtype is not known."""
    if aval is None or aval.shape is None or aval.dtype is None:
        return None
    if aval.kind in (TUPLE, DTYPE):
        return aval.value
    if aval.kind == PYTHON:
        return aval.dtype.type(1).item()
    return np.ones((1,) * len(aval.shape), aval.dtype)


def reduced(shape: tuple, axis, keepdims: bool) -> tuple | None:
    """The shape left when reducing `axis` (None: every axis) of `shape`."""
    rank = len(shape)
    axes = range(rank) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    try:
        axes = {int(a) % rank if rank else int(a) for a in axes}
    except (TypeError, ZeroDivisionError):
        return None
    if keepdims:
        return tuple(1 if k in axes else d for k, d in enumerate(shape))
    return tuple(d for k, d in enumerate(shape) if k not in axes)
