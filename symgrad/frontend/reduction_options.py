"""The options of NumPy's reductions that are compositions of primitives: `dtype=`, `where=`
and `initial=`.

Contract: `lower(lw, name, args, kwargs, e)` lowers a reduction rule's call (np.sum and its
method, np.nansum, np.prod, np.mean; np.var and np.std with `dtype=` alone) whose keywords
hold any of `OPTIONS`, as NumPy computes it:
- `dtype=d`: the entries cast to d first (`a.astype(d)`), then reduced (NumPy accumulates in
  d: of floats, the same sum); of a mean, a variance or a standard deviation, a float d
  known when compiling (NumPy computes one of ints in ints);
- `where=m`: the entries m leaves out are 0 for a sum (1 for a product) before the reduction;
  a mean divides by how many m keeps (a count of a's dtype, so a float32 mean stays float32);
- `initial=v` (a sum's or a product's): cast to the result's dtype, added to (multiplied
  into) the result; of a maximum (minimum), the extreme of a with v (cast to a's dtype) added
  along each axis reduced (an empty a's extreme is v), where= with it filling the entries it
  leaves out with v.
Anything else (`out=`, a maximum's where= without initial=, as NumPy refuses it) is refused,
naming the option.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

import numpy as np

from symgrad.errors import UnsupportedSyntaxError
from symgrad.frontend.subscripts import getitem

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer

OPTIONS = frozenset({"dtype", "where", "initial"})
_FILLED = {"sum": 0, "nansum": 0, "mean": 0, "prod": 1}  # where= fills the rest with these
_CAST = {*_FILLED, "var", "std"}  # dtype= alone
_EXTREMES = {"max": "maximum", "min": "minimum"}  # initial= (and where= with it) of these


def lower(lw: _Lowerer, name: str, args: tuple, kwargs: dict, e: ast.AST) -> Any:
    kwargs = dict(kwargs)
    given = {k: kwargs.pop(k) for k in OPTIONS & kwargs.keys()}
    if given.get("initial", 0) is None:  # (NumPy's: as not given)
        del given["initial"]
        if not given:
            return lw.call_rule(name, args, kwargs, e)
    allowed = {"dtype"} if name in _CAST else set()
    allowed |= {"where"} if name in _FILLED else set()
    allowed |= {"initial"} if name in ("sum", "nansum", "prod", *_EXTREMES) else set()
    allowed |= {"where"} if name in _EXTREMES and "initial" in given else set()
    cast = given.get("dtype")
    if name in ("mean", "var", "std") and cast is not None and not _floats(cast):
        allowed -= {"dtype"}  # (NumPy computes in that dtype: a mean of ints is an int)
    refused = sorted(given.keys() - allowed)
    if refused:
        raise lw.error(
            e,
            f"np.{name}'s {', '.join(f'{k}=' for k in refused)} is not supported",
            "Apply it yourself: np.where(mask, x, fill) before the reduction, or cast first.",
            cls=UnsupportedSyntaxError,
        )
    a, rest = (args[0], args[1:]) if args else (kwargs.pop("a"), ())
    if given.get("dtype") is not None:
        a = lw.call_rule("astype", (a, given["dtype"]), {}, e)
    where = given.get("where")
    if name in _EXTREMES:  # (NumPy's max of a's entries and initial; where=: those it keeps)
        initial = given["initial"]
        if where is not None:
            a = lw.call_rule("where", (where, a, initial), {}, e)
        if len(rest) > 1:  # (np.max(a, axis, out, ...): the rule says what it takes)
            return lw.call_rule(name, (a, *rest), kwargs, e)
        axis = rest[0] if rest else kwargs.pop("axis", None)
        a, axis = _with_initial(lw, a, axis, initial, e)
        return lw.call_rule(name, (a,), {**kwargs, "axis": axis}, e)
    if where is not None:
        a = lw.call_rule("where", (where, a, _FILLED[name]), {}, e)
    if name == "mean" and where is not None:  # the total over how many entries where= keeps
        ones = lw.call_rule("ones_like", (a,), {}, e)
        count = lw.call_rule(
            "sum", (lw.call_rule("where", (where, ones, 0), {}, e), *rest), kwargs, e
        )
        total = lw.binop(ast.Div(), lw.call_rule("sum", (a, *rest), kwargs, e), count, e)
    else:
        total = lw.call_rule(name, (a, *rest), kwargs, e)
    initial = given.get("initial")
    if initial is not None:  # (cast to the result's dtype first, as NumPy's starting value)
        like = lw.call_rule("dtype", (total,), {}, e)
        initial = lw.call_rule("astype", (initial, like), {}, e)
        op = ast.Mult() if name == "prod" else ast.Add()
        total = lw.binop(op, total, initial, e)
    return total


def _with_initial(lw: _Lowerer, a: Any, axis: Any, initial: Any, e: ast.AST) -> tuple:
    """(a with one entry `initial`, cast to a's dtype, added along each axis reduced, the axis
    to reduce): an extreme of it is NumPy's with initial=, an empty a's too (its max would
    raise). Every axis (None): of a flattened, along its one axis."""
    if axis is None:
        a, axes = lw.call_rule("ravel", (a,), {}, e), (0,)
    elif isinstance(axis, int) and not isinstance(axis, bool):
        axes = (axis,)
    elif isinstance(axis, tuple) and all(type(k) is int for k in axis):
        axes = axis
    else:
        raise lw.error(e, "an extreme's axis with initial= must be an int or a tuple of ints")
    like = lw.call_rule("dtype", (a,), {}, e)
    for k in axes:
        fill = lw.call_rule("full", (_one_along(lw, a, k, e), initial, like), {}, e)
        a = lw.call_rule("concatenate", ([a, fill],), {"axis": k}, e)
    return a, axis


def _one_along(lw: _Lowerer, a: Any, k: int, e: ast.AST) -> Any:
    """a's shape with 1 along axis k (negative: from the end), read from its shape alone."""
    shape = lw.call_rule("shape", (a,), {}, e)
    head = getitem(lw, shape, slice(None, k), e) if k != 0 else ()
    tail = getitem(lw, shape, slice(k + 1, None), e) if k != -1 else ()
    return lw.binop(ast.Add(), lw.binop(ast.Add(), head, (1,), e), tail, e)


def _floats(dtype: Any) -> bool:
    """Whether a dtype given when compiling is a float (or complex) one."""
    try:
        return np.dtype(dtype).kind in "fc"
    except TypeError:  # (a value known only when it runs: x.dtype)
        return False
