"""NumPy functions that are compositions of primitives, lowered as the subscripts, sums and
products they are (as `jax.numpy` writes its functions with `lax`'s primitives).

Contract: `COMPOSITES` maps a NumPy callable to its lowering, a function whose parameters are
`lw`, `e` and then the NumPy function's own (its defaults too), registered with
`@composite(np.f)`. `lower(lw, fn, args, kwargs, e)` binds the call to those parameters (a bad
call is a `SymgradError` naming the function, the file and the line) and returns the value the
lowering builds with the lowerer `lw`. No rule-table entry is needed: the primitives used
carry their derivatives. `np.take(a, i, axis)` is `a[..., i]` along axis (of the flattened a
where axis is None); `np.average` is `np.mean` without weights and `sum(a * w) / sum(w)` with
them, 1-D weights shaped for a's axes as NumPy shapes them (`weights_shape`); `np.split` (and
`np.array_split`, `np.hsplit`, `np.vsplit`, `np.dsplit`) is one `split_part` node per part, in a
list.
"""

from __future__ import annotations

import ast
import inspect
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from symgrad.errors import NeedsConstant, UnsupportedSyntaxError
from symgrad.frontend.subscripts import getitem
from symgrad.frontend.values import is_const
from symgrad.rules.build import needs_constant, python_ints
from symgrad.rules.table import imported

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer

COMPOSITES: dict[Callable, Callable] = {}
_LATER: dict[str, Callable] = {}  # a library's function by dotted name: registered once imported


def composite(fn: Callable | str):
    """Register a lowering of `fn`, a callable, or the dotted name of an optional library's
    (`"scipy.linalg.cho_solve"`), registered once the user's code has imported its module
    (`known`: importing symgrad imports no SciPy)."""

    def register(lowering: Callable) -> Callable:
        if isinstance(fn, str):
            _LATER[fn] = lowering
        else:
            COMPOSITES[fn] = lowering
        return lowering

    return register


def known(fn: Any) -> bool:
    """Whether fn is a composition's callable (the libraries imported since registered)."""
    if fn in COMPOSITES:
        return True
    for name in list(_LATER):
        found = imported(name)
        if found is not None:
            COMPOSITES[found] = _LATER.pop(name)
    return fn in COMPOSITES


def not_constant(lw: _Lowerer, e: ast.AST, value: Any, message: str) -> NeedsConstant:
    """The error of an option that must be known when compiling, given `value` computed
    (`rules.build.needs_constant`)."""
    return needs_constant(lw.graph, value, message, lw.src.locate(e))


def flag(lw: _Lowerer, e: ast.AST, value: Any, what: str) -> bool:
    """An option's truth, known when compiling (`not_constant` where it is not: an argument
    gives it, `NeedsConstant` compiling the function for its value)."""
    if not is_const(value):
        raise not_constant(lw, e, value, f"{what} must be known when compiling")
    return bool(value)


def lower(lw: _Lowerer, fn: Callable, args: tuple, kwargs: dict, e: ast.AST) -> Any:
    lowering = COMPOSITES[fn]
    args = tuple(python_ints(a) for a in args)  # (`np.split(x, np.int64(2))`: an option)
    kwargs = {k: python_ints(v) for k, v in kwargs.items()}
    try:
        bound = inspect.signature(lowering).bind(lw, e, *args, **kwargs)
    except TypeError as err:
        raise lw.error(e, f"bad arguments to np.{_name(fn)}: {err}") from None
    bound.apply_defaults()
    return lowering(*bound.args, **bound.kwargs)


def _name(fn: Callable) -> str:
    """np.<name> of a NumPy function, or of a ufunc's method (`subtract.outer`)."""
    owner = getattr(fn, "__self__", None)
    return f"{owner.__name__}.{fn.__name__}" if isinstance(owner, np.ufunc) else fn.__name__


@composite(np.take)
def _take(lw: _Lowerer, e: ast.AST, a, indices, axis=None, mode="raise") -> Any:
    if mode != "raise":
        raise lw.error(e, "np.take's mode must be 'raise' (an index out of range raises)")
    if axis is None:
        return getitem(lw, lw.call_rule("ravel", (a,), {}, e), indices, e)
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise not_constant(lw, e, axis, "np.take's axis must be an int known when compiling")
    return along(lw, a, indices, axis, e)


def along(lw: _Lowerer, a: Any, index: Any, axis: int, e: ast.AST) -> Any:
    """a[index] along axis (a negative one counted from the end)."""
    if axis >= 0:
        return getitem(lw, a, (slice(None),) * axis + (index,), e)
    return getitem(lw, a, (Ellipsis, index) + (slice(None),) * (-axis - 1), e)


@composite(np.average)
def _average(
    lw: _Lowerer, e: ast.AST, a, axis=None, weights=None, returned=False, *, keepdims=False
) -> Any:
    if returned:
        raise lw.error(
            e,
            "np.average(..., returned=True) is not supported",
            "Compute the sum of the weights beside it: np.sum(w, axis).",
            cls=UnsupportedSyntaxError,
        )
    reduce = {"axis": axis, "keepdims": keepdims}
    if weights is None:
        return lw.call_rule("mean", (a,), reduce, e)
    if axis is not None and (not isinstance(axis, int) or isinstance(axis, bool)):
        raise not_constant(lw, e, axis, "np.average's axis must be an int known when compiling")
    shape = lw.call_rule("weights_shape", (a, weights), {"axis": axis}, e)
    w = lw.call_rule("reshape", (weights, shape), {}, e)
    total = lw.call_rule("sum", (lw.binop(ast.Mult(), a, w, e),), reduce, e)
    return lw.binop(ast.Div(), total, lw.call_rule("sum", (w,), reduce, e), e)


@composite(np.split)
def _split(lw: _Lowerer, e: ast.AST, ary, indices_or_sections, axis=0) -> list:
    return _parts(lw, e, ary, indices_or_sections, axis, "split")


@composite(np.array_split)
def _array_split(lw: _Lowerer, e: ast.AST, ary, indices_or_sections, axis=0) -> list:
    return _parts(lw, e, ary, indices_or_sections, axis, "array_split")


def _split_along(how: str) -> Callable:
    """np.hsplit, np.vsplit, np.dsplit: np.split along an axis of their own (hsplit's is 0 of
    a vector, 1 otherwise), each part theirs."""

    def lowering(lw: _Lowerer, e: ast.AST, ary, indices_or_sections) -> list:
        return _parts(lw, e, ary, indices_or_sections, 0, how)

    return lowering


for _how in ("hsplit", "vsplit", "dsplit"):
    composite(getattr(np, _how))(_split_along(_how))


def _parts(lw: _Lowerer, e: ast.AST, ary, sections, axis, how: str) -> list:
    """np.split (np.array_split, ...: `how`) in parts (`split_part`); by split indices known
    only when the function runs (a list of them, `[d * 3, d * 3 + 3]` of d = X.shape[1]), the
    slices between them along the axis (a constant int), as NumPy's: `a[:i]`, `a[i:j]`,
    `a[j:]`."""
    if isinstance(sections, (list, tuple)) and not is_const(sections):
        if how not in ("split", "array_split"):
            raise not_constant(lw, e, sections, f"np.{how} needs constant split indices")
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise not_constant(lw, e, axis, f"np.{how}'s axis must be an int known when compiling")
        bounds = [None, *(python_ints(i) for i in sections), None]
        return [along(lw, ary, slice(a, b), axis, e) for a, b in zip(bounds, bounds[1:])]
    if not is_const(sections) or isinstance(sections, (float, str)):
        raise not_constant(
            lw, e, sections, f"np.{how} needs a constant number of sections or split indices"
        )
    n = sections if isinstance(sections, int) else len(sections) + 1
    sections = tuple(sections) if isinstance(sections, list) else sections
    attrs = {"sections": sections, "axis": axis, "how": how}
    return [lw.call_rule("split_part", (ary,), dict(attrs, part=i), e) for i in range(n)]


from symgrad.frontend import (  # noqa: E402, F401 (registered)
    composites_array_api,
    composites_arrays,
    composites_interp,
    composites_logic,
    composites_norm,
    composites_polynomials,
    composites_scipy,
    composites_special,
    composites_stats,
    composites_ufuncs,
    composites_windows,
)
