"""SciPy's normal distribution, `scipy.stats.norm`, as compositions of primitives
(`symgrad.frontend.composites`), registered once the user's code has imported `scipy.stats`.

Contract: of z = (x - loc) / scale (in float64, NaN where scale is not positive, as SciPy's),
`norm.cdf(x, loc=0, scale=1)` is ndtr(z) (scipy.special's
normal distribution function, a rule), `norm.sf` is ndtr(-z), `norm.logpdf` is -z²/2 - log
scale - log(2π)/2 and `norm.pdf` its exp, as SciPy computes them (its values within rounding).
`norm.logcdf` and `norm.logsf`, which SciPy computes in the far tails where log(ndtr) would be
-inf, are not compositions here: they stay refused.
"""

from __future__ import annotations

import ast
import math
from typing import TYPE_CHECKING, Any

from symgrad.frontend.composites import composite
from symgrad.frontend.values import is_const

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _z(lw: _Lowerer, e: ast.AST, x, loc, scale) -> Any:
    """(x - loc) / scale in float64 (SciPy's, whatever x's dtype: a NumPy float), NaN where
    scale is not positive, as SciPy's."""
    x, loc, scale = (v if is_const(v) else _float64(lw, e, v) for v in (x, loc, scale))
    z = lw.binop(ast.Div(), lw.binop(ast.Sub(), x, loc, e), scale, e)
    if is_const(scale) and scale > 0:
        return z
    positive = lw.call_rule("greater", (scale, 0), {}, e)
    return lw.call_rule("where", (positive, z, math.nan), {}, e)


def _float64(lw: _Lowerer, e: ast.AST, v) -> Any:
    return lw.call_rule("scalar_type", (v,), {"dtype": "float64"}, e)


@composite("scipy.stats.norm.cdf")
def _cdf(lw: _Lowerer, e: ast.AST, x, loc=0, scale=1) -> Any:
    return lw.call_rule("ndtr", (_z(lw, e, x, loc, scale),), {}, e)


@composite("scipy.stats.norm.sf")
def _sf(lw: _Lowerer, e: ast.AST, x, loc=0, scale=1) -> Any:
    return lw.call_rule("ndtr", (_neg(lw, e, _z(lw, e, x, loc, scale)),), {}, e)


def _neg(lw: _Lowerer, e: ast.AST, v) -> Any:
    return lw.call_rule("negative", (v,), {}, e)


@composite("scipy.stats.norm.logpdf")
def _logpdf(lw: _Lowerer, e: ast.AST, x, loc=0, scale=1) -> Any:
    z = _z(lw, e, x, loc, scale)
    half_square = lw.binop(ast.Mult(), 0.5, lw.binop(ast.Pow(), z, 2, e), e)
    log_scale = lw.call_rule("log", (scale,), {}, e)
    return lw.binop(
        ast.Sub(), _neg(lw, e, half_square), lw.binop(ast.Add(), log_scale, _HALF_LOG_2PI, e), e
    )


@composite("scipy.stats.norm.pdf")
def _pdf(lw: _Lowerer, e: ast.AST, x, loc=0, scale=1) -> Any:
    return lw.call_rule("exp", (_logpdf(lw, e, x, loc, scale),), {}, e)
