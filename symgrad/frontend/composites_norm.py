"""SciPy's normal distribution, `scipy.stats.norm`, as compositions of primitives
(`symgrad.frontend.composites`), registered once the user's code has imported `scipy.stats`.

Contract: of z = (x - loc) / scale, `norm.cdf(x, loc=0, scale=1)` is ndtr(z) (scipy.special's
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

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _z(lw: _Lowerer, e: ast.AST, x, loc, scale) -> Any:
    return lw.binop(ast.Div(), lw.binop(ast.Sub(), x, loc, e), scale, e)


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
