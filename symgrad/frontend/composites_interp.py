"""`np.interp` as a composition of primitives (`symgrad.frontend.composites`): piecewise
linear interpolation, differentiable in x (the slope of the segment it falls in, 0 outside
xp's range), in fp (the two weights of the segment's ends) and in xp.

Contract: `np.interp(x, xp, fp, left, right)` of an increasing xp (NumPy does not check it
either) is NumPy's: each x's segment j (`np.searchsorted(xp, x, side='right') - 1`, kept in
`[0, len(xp) - 2]`), its value `slope * (x - xp[j]) + fp[j]` with `slope = (fp[j + 1] - fp[j]) /
(xp[j + 1] - xp[j])` as NumPy computes it (so exactly fp[j] at xp[j]), fp[-1] at xp[-1], and
`left` (fp[0] by default) before xp[0] and `right` (fp[-1]) after xp[-1]; float64, a NumPy
number of a number x. `period=` is refused, as are complex values.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

import numpy as np

from symgrad.frontend.composites import composite
from symgrad.frontend.subscripts import getitem

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer


@composite(np.interp)
def _interp(lw: _Lowerer, e: ast.AST, x, xp, fp, left=None, right=None, period=None) -> Any:
    if period is not None:
        raise lw.error(e, "np.interp's period= is not supported")
    x, xp, fp = (lw.call_rule("asarray", (v,), {"dtype": np.float64}, e) for v in (x, xp, fp))
    n = getitem(lw, lw.call_rule("shape", (xp,), {}, e), 0, e)
    last = lw.binop(ast.Sub(), n, 2, e)
    found = lw.call_rule("searchsorted", (xp, x), {"side": "right"}, e)
    j = lw.call_rule("clip", (lw.binop(ast.Sub(), found, 1, e), 0, last), {}, e)
    after = lw.binop(ast.Add(), j, 1, e)
    x0, x1 = getitem(lw, xp, j, e), getitem(lw, xp, after, e)
    f0, f1 = getitem(lw, fp, j, e), getitem(lw, fp, after, e)
    slope = lw.binop(ast.Div(), lw.binop(ast.Sub(), f1, f0, e), lw.binop(ast.Sub(), x1, x0, e), e)
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
