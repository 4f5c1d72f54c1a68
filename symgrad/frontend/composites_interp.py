"""`np.interp` as a composition of primitives (`symgrad.frontend.composites`): piecewise
linear interpolation, differentiable in x (the slope of the segment it falls in, 0 outside
xp's range), in fp (the two weights of the segment's ends) and in xp.

Contract: `np.interp(x, xp, fp, left, right)` of an increasing xp (NumPy does not check it
either) is NumPy's: each x's segment j (`np.searchsorted(xp, x, side='right') - 1`, kept in
`[0, len(xp) - 2]`), its value `slope * (x - xp[j]) + fp[j]` with `slope = (fp[j + 1] - fp[j]) /
(xp[j + 1] - xp[j])` as NumPy computes it (so exactly fp[j] at xp[j]), fp[-1] at xp[-1], and
`left` (fp[0] by default) before xp[0] and `right` (fp[-1]) after xp[-1]; float64, a NumPy
number of a number x; NumPy's ValueError where xp and fp differ in length or xp is empty. A
segment of no width (a repeated knot; the one of a single knot), which no x falls in, has a
slope of finite value (its width taken as 1), so that the derivatives of the values `where`
does not take are 0, not NaN. `period=` is refused, as are complex values.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

import numpy as np

from symgrad.frontend.composites import composite
from symgrad.frontend.raises import check
from symgrad.frontend.subscripts import getitem

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer


@composite(np.interp)
def _interp(lw: _Lowerer, e: ast.AST, x, xp, fp, left=None, right=None, period=None) -> Any:
    if period is not None:
        raise lw.error(e, "np.interp's period= is not supported")
    x, xp, fp = (lw.call_rule("asarray", (v,), {"dtype": np.float64}, e) for v in (x, xp, fp))
    n = getitem(lw, lw.call_rule("shape", (xp,), {}, e), 0, e)
    n_fp = getitem(lw, lw.call_rule("shape", (fp,), {}, e), 0, e)
    unequal = lw.call_rule("not_equal", (n, n_fp), {}, e)
    check(lw, e, unequal, ValueError, ("fp and xp are not of the same length.",))  # (NumPy's)
    empty = lw.call_rule("equal", (n, 0), {}, e)
    check(lw, e, empty, ValueError, ("array of sample points is empty",))
    last = lw.binop(ast.Sub(), n, 2, e)
    found = lw.call_rule("searchsorted", (xp, x), {"side": "right"}, e)
    j = lw.call_rule("clip", (lw.binop(ast.Sub(), found, 1, e), 0, last), {}, e)
    after = lw.binop(ast.Add(), j, 1, e)
    x0, x1 = getitem(lw, xp, j, e), getitem(lw, xp, after, e)
    f0, f1 = getitem(lw, fp, j, e), getitem(lw, fp, after, e)
    width = lw.binop(ast.Sub(), x1, x0, e)  # (0 of a repeated knot, or of one: a segment no
    width = _where(lw, e, lw.call_rule("equal", (width, 0.0), {}, e), 1.0, width)  # x is in)
    slope = lw.binop(ast.Div(), lw.binop(ast.Sub(), f1, f0, e), width, e)
    inside = lw.binop(
        ast.Add(), lw.binop(ast.Mult(), slope, lw.binop(ast.Sub(), x, x0, e), e), f0, e
    )
    first_x, last_x = getitem(lw, xp, 0, e), getitem(lw, xp, -1, e)
    first_f, last_f = getitem(lw, fp, 0, e), getitem(lw, fp, -1, e)
    value = _where(lw, e, lw.call_rule("equal", (x, last_x), {}, e), last_f, inside)
    value = _where(lw, e, lw.call_rule("greater", (x, last_x), {}, e), _or(right, last_f), value)
    value = _where(lw, e, lw.call_rule("less", (x, first_x), {}, e), _or(left, first_f), value)
    return getitem(lw, value, (), e)  # (a NumPy number of a number x, as NumPy's)


def _or(given: Any, default: Any) -> Any:
    return default if given is None else given


def _where(lw: _Lowerer, e: ast.AST, condition, a, b) -> Any:
    return lw.call_rule("where", (condition, a, b), {}, e)
