"""Polynomials as compositions of primitives (`symgrad.frontend.composites`): NumPy's Vandermonde
matrices, the evaluation of a polynomial by its coefficients and their least-squares fit.

Contract: `np.vander(x, N=None, increasing=False)` is `x[:, None] ** k` for k running from N - 1
down to 0 (up from 0 where `increasing`), N the length of x by default; `np.polyval(p, x)` is
`Σ_k p[k] x ** (n - 1 - k)` along a last axis, n = len(p) (p a number: one coefficient, as
NumPy's); `np.polyfit(x, y, deg, rcond=None)` is NumPy's least squares of the Vandermonde
matrix with its columns scaled to unit norm, solved by `np.linalg.pinv` (weights, `full` and
`cov` are refused). NumPy multiplies the powers out (vander), runs Horner's scheme (polyval)
and LAPACK's least squares (polyfit): the same values up to rounding. Their derivatives are
the power's, which is 0 for the exponent 0 at x = 0 (not 0 · x⁻¹, NaN).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

import numpy as np

from symgrad.frontend.composites import composite, flag, not_constant
from symgrad.frontend.subscripts import getitem

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer


@composite(np.vander)
def _vander(lw: _Lowerer, e: ast.AST, x, N=None, increasing=False) -> Any:  # noqa: N803
    if N is None:
        N = lw.call_rule("len", (x,), {}, e)
    rising = flag(lw, e, increasing, "np.vander's increasing=")
    return _powers(lw, e, getitem(lw, x, (slice(None), None), e), N, rising)


@composite(np.polyval)
def _polyval(lw: _Lowerer, e: ast.AST, p, x) -> Any:
    p = lw.call_rule("atleast_1d", (p,), {}, e)
    column = getitem(lw, lw.call_rule("asarray", (x,), {}, e), (Ellipsis, None), e)
    powers = _powers(lw, e, column, lw.call_rule("len", (p,), {}, e), False)
    return lw.call_rule("sum", (lw.binop(ast.Mult(), powers, p, e),), {"axis": -1}, e)


@composite(np.polyfit)
def _polyfit(lw: _Lowerer, e: ast.AST, x, y, deg, rcond=None, full=False, w=None, cov=False):
    if not isinstance(deg, int) or isinstance(deg, bool) or deg < 0:
        raise not_constant(lw, e, deg, "np.polyfit's deg must be an int known when compiling")
    if full is not False or w is not None or cov is not False:
        raise lw.error(e, "np.polyfit's full=, w= and cov= are not supported")
    if not (rcond is None or isinstance(rcond, float)):
        raise not_constant(lw, e, rcond, "np.polyfit's rcond must be known when compiling")
    lhs = _powers(lw, e, getitem(lw, x, (slice(None), None), e), deg + 1, False)
    squares = lw.binop(ast.Mult(), lhs, lhs, e)
    scale = lw.call_rule("sqrt", (lw.call_rule("sum", (squares,), {"axis": 0}, e),), {}, e)
    scaled = lw.binop(ast.Div(), lhs, scale, e)
    # (pinv's cutoff by default, max(M, N) times the epsilon, is NumPy's len(x) times it)
    c = lw.binop(ast.MatMult(), lw.call_rule("pinv", (scaled,), {"rcond": rcond}, e), y, e)
    unscaled = lw.binop(ast.Div(), lw.call_rule("transpose", (c,), {}, e), scale, e)
    return lw.call_rule("transpose", (unscaled,), {}, e)  # (c / scale along its first axis)


def _powers(lw: _Lowerer, e: ast.AST, column, n, rising: bool) -> Any:
    """column ** k, k from 0 up to n - 1 (rising) or down from n - 1 to 0."""
    k = lw.call_rule("arange", (n,), {}, e)
    if not rising:
        k = lw.binop(ast.Sub(), lw.binop(ast.Sub(), n, 1, e), k, e)
    return lw.binop(ast.Pow(), column, k, e)
