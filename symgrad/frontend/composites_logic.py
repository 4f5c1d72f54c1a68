"""NumPy's tolerant comparisons and its choice among arrays by conditions, as compositions of
primitives (`symgrad.frontend.composites`), each lowered as NumPy computes it.

Contract: `np.isclose(a, b, rtol, atol, equal_nan)` is NumPy's `|a - b| <= atol + rtol |b|`
of b made a float (b * 1.0, as NumPy's `result_type(b, 1.0)`) where b is finite, or `a == b`
(infinities of one sign), or both NaN where `equal_nan` (a constant); `np.allclose` is
`bool(np.all(np.isclose(...)))`; neither is differentiable (a test). `np.select(condlist,
choicelist, default=0)` of lists spelled out is `np.where` of each condition from the last,
the first true condition's choice where several are, `default` where none is: its gradient
flows to the choice each entry took.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

import numpy as np

from symgrad.frontend.composites import composite, flag

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer


@composite(np.isclose)
def _isclose(lw: _Lowerer, e: ast.AST, a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> Any:
    b = lw.binop(ast.Mult(), b, 1.0, e)  # (NumPy's b: an int's difference would wrap)
    gap = lw.call_rule("abs", (lw.binop(ast.Sub(), a, b, e),), {}, e)
    room = lw.binop(
        ast.Add(), atol, lw.binop(ast.Mult(), rtol, lw.call_rule("abs", (b,), {}, e), e), e
    )
    near = lw.call_rule("less_equal", (gap, room), {}, e)
    near = lw.call_rule("logical_and", (near, lw.call_rule("isfinite", (b,), {}, e)), {}, e)
    close = lw.call_rule("logical_or", (near, lw.call_rule("equal", (a, b), {}, e)), {}, e)
    if flag(lw, e, equal_nan, "np.isclose's equal_nan="):
        nans = [lw.call_rule("isnan", (v,), {}, e) for v in (a, b)]
        both = lw.call_rule("logical_and", tuple(nans), {}, e)
        close = lw.call_rule("logical_or", (close, both), {}, e)
    return close


@composite(np.allclose)
def _allclose(lw: _Lowerer, e: ast.AST, a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> Any:
    close = _isclose(lw, e, a, b, rtol, atol, equal_nan)
    return lw.call_rule("bool", (lw.call_rule("all", (close,), {}, e),), {}, e)


@composite(np.select)
def _select(lw: _Lowerer, e: ast.AST, condlist, choicelist, default=0) -> Any:
    spelt = all(isinstance(v, (list, tuple)) for v in (condlist, choicelist))
    if not spelt or len(condlist) != len(choicelist) or not condlist:
        raise lw.error(
            e,
            "np.select takes two lists of the same length, spelled out in the source",
            "Write the lists where you call it: np.select([x < 0, x > 1], [-x, x ** 2], 0.0).",
        )
    chosen = default
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        chosen = lw.call_rule("where", (cond, choice, chosen), {}, e)
    return chosen
