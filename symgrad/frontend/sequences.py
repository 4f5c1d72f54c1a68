"""Python's `+` and `*` on lists and tuples: concatenation and repetition, not arithmetic.

Contract: `binop(lw, op, left, right, e)` is `left op right` where Python's sequence semantics
apply, and NotImplemented where NumPy's arithmetic does (a list beside an array is read as an
array). A list or tuple the function builds (`[x[0], y]`, `(n, 2)`) is a Python object while
lowering, so `+` of two lists or of two tuples joins them, and `*` by a constant int repeats
one, now; `l += [v]` extends a list the function built in place, as Python does (every name
holding it sees the change; a list of constants, which may be the caller's, is copied). A
tuple known only when the function runs (a shape: `x.shape`, `x.shape[1:]`, or one such joined
to another) joined to a tuple is a `concat` node, and a tuple of ints repeated by a count
computed from lengths (`(1,) * (x.ndim - 1)`) a `repeat_tuple` node. What Python refuses (a list + a
tuple, a tuple + a number, a sequence times a float) and a list's repetition by such a count
are refused; a list times a value known only when the function runs is a `list_times` node, a
product where that value is no int (its Aval decides when specialised), and an error when it
runs where it is one. `starred(lw, value, n, stars, e)` unpacks a list or tuple, or a shape, into n
targets one of which is starred (`n, *rest = x.shape`: rest the shape's tail, a tuple where
Python makes a list).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from symgrad.errors import UnsupportedSyntaxError
from symgrad.frontend.values import is_const
from symgrad.ir.index import Slice
from symgrad.rules import Value

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer

_TUPLES = ("shape", "make_tuple", "concat", "repeat_tuple")  # ops whose value is a tuple
_INTS = ("len", "size", "ndim")  # ops whose value is an int (so is a shape's entry)


def binop(lw: _Lowerer, op: ast.operator, left: Any, right: Any, e: ast.AST, augmented=False):
    kinds = [_kind(lw, v) for v in (left, right)]
    if kinds == [None, None]:
        return NotImplemented
    if isinstance(op, ast.Add) and augmented and isinstance(left, list):
        if isinstance(right, (list, tuple)):  # `l += [v]`, `l += (v,)`: l extended
            if is_const(left):  # (a constant's list may be the caller's: a new one)
                return lw.made(left + list(right))
            lw.refuse_unmade(left, "`+=` of", e)  # (the caller's list: it would see it grow)
            left += right  # (a list this function built: changed in place, as in Python)
            return left
    if None not in kinds:  # two sequences: only + joins them
        if not isinstance(op, ast.Add) or kinds[0] != kinds[1]:
            raise _refused(lw, e, f"{_symbol(op)} of a {kinds[0]} and a {kinds[1]}")
        if isinstance(left, Value) or isinstance(right, Value):  # a tuple known when it runs
            return lw.call_rule("concat", (left, right), {}, e)
        joined = left + right
        return lw.made(joined) if isinstance(joined, list) else joined
    seq, other = (left, right) if kinds[0] else (right, left)
    if isinstance(seq, Value) and not _array_like(lw, other):  # a shape and a number
        raise _refused(lw, e, f"{_symbol(op)} of a tuple and a number")
    if not isinstance(op, ast.Mult) or isinstance(seq, Value):
        return _not_a_number(lw, e, op, other)
    if isinstance(other, int) and not isinstance(other, bool):
        repeated = seq * other  # (a repetition)
        return lw.made(repeated) if isinstance(repeated, list) else repeated
    if isinstance(other, Value) and _int_valued(lw, other):
        if isinstance(seq, tuple) and all(type(v) is int for v in seq):  # (1,) * (x.ndim - 1)
            return lw.call_rule("repeat_tuple", (seq, other), {}, e)  # (a shape, when it runs)
        raise _refused(lw, e, "* of a list by a count computed when the function runs")
    if isinstance(other, Value):  # an array (a product) or an int (a repetition) when it runs
        return lw.call_rule("list_times", (seq, other), {}, e)
    return _not_a_number(lw, e, op, other)


_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


def _symbol(op: ast.operator) -> str:
    return _OPS.get(type(op), type(op).__name__)


def _not_a_number(lw: _Lowerer, e: ast.AST, op: ast.operator, other: Any):
    """NumPy's arithmetic of a sequence and an array; Python refuses it with a number."""
    if is_const(other) and not isinstance(other, (list, tuple)):
        raise _refused(lw, e, f"{_symbol(op)} of a list or tuple and a number")
    return NotImplemented


def _kind(lw: _Lowerer, v: Any) -> str | None:
    """`list` or `tuple` for a Python list or tuple, or a value whose op makes a tuple."""
    if isinstance(v, (list, tuple)):
        return type(v).__name__
    return "tuple" if isinstance(v, Value) and tuple_valued(lw, v.id) else None


def tuple_valued(lw: _Lowerer, nid: int) -> bool:
    node = lw.graph[nid]
    return node.op in _TUPLES or _read_of_a_tuple(lw, node, Slice)


def _int_valued(lw: _Lowerer, v: Value) -> bool:
    """Whether v is an int computed from lengths: a length, a shape's entry, or +, -, * and //
    of such ints and int constants (`x.ndim - 1`)."""
    node = lw.graph[v.id]
    if node.op in _ARITHMETIC:
        return all(_int_valued(lw, Value(i)) or _an_int(lw, i) for i in node.inputs)
    return node.op in _INTS or _read_of_a_tuple(lw, node, int)


_ARITHMETIC = ("add", "subtract", "multiply", "floor_divide")


def _an_int(lw: _Lowerer, nid: int) -> bool:
    return lw.graph.is_const(nid) and type(lw.graph.const_value(nid)) is int


def _read_of_a_tuple(lw: _Lowerer, node, item: type) -> bool:
    """Whether node is `t[i]` of a tuple t computed when the function runs, the index i of
    type `item` (a `Slice`: a tuple again; an int: an int)."""
    index = node.attrs.get("index", ())
    if node.op != "getitem" or len(index) != 1 or not isinstance(index[0], item):
        return False
    return tuple_valued(lw, node.inputs[0])


def _array_like(lw: _Lowerer, v: Any) -> bool:
    return isinstance(v, Value) and not _int_valued(lw, v)


def _refused(lw: _Lowerer, e: ast.AST, what: str) -> Exception:
    return lw.error(
        e,
        f"{what} is not supported",
        "Python joins lists and tuples with + and repeats them with * by a constant int; "
        "build an array with np.concatenate, np.stack or np.tile for arithmetic.",
        cls=UnsupportedSyntaxError,
    )


def starred(lw: _Lowerer, value: Any, n: int, stars: list[int], e: ast.AST) -> list:
    """The n values `a, *b, c = value` binds, b at position stars[0] (Python allows one)."""
    k, after = stars[0], n - 1 - stars[0]
    if isinstance(value, (list, tuple)):
        if len(value) < n - 1:
            raise lw.error(e, f"cannot unpack {len(value)} values into {n - 1} names and a star")
        end = len(value) - after
        return [*value[:k], list(value[k:end]), *value[end:]]
    if not (isinstance(value, Value) and tuple_valued(lw, value.id)):
        raise _refused(lw, e, "a starred target of an array or a number")

    def item(index) -> Value:
        return lw.call_rule("getitem", (value, []), {"index": (index,)}, e)

    rest = item(Slice(k, -after if after else None, None))
    return [*(item(j) for j in range(k)), rest, *(item(j - after) for j in range(after))]
