"""Polynomials as compositions of primitives (`symgrad.frontend.composites`): NumPy's Vandermonde
matrices and the evaluation of a polynomial by its coefficients.

Contract: `np.vander(x, N=None, increasing=False)` is `x[:, None] ** k` for k running from N - 1
down to 0 (up from 0 where `increasing`), N the length of x by default; `np.polyval(p, x)` is
`Σ_k p[k] x ** (n - 1 - k)` along a last axis, n = len(p) (p a number: one coefficient, as
NumPy's). NumPy multiplies the powers out (vander) or runs Horner's scheme (polyval): the same
values up to rounding. Their derivatives are the power's, which is 0 for the exponent 0 at
x = 0 (not 0 · x⁻¹, NaN).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

import numpy as np

from symgrad.frontend.composites import composite, flag
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


def _powers(lw: _Lowerer, e: ast.AST, column, n, rising: bool) -> Any:
    """column ** k, k from 0 up to n - 1 (rising) or down from n - 1 to 0."""
    k = lw.call_rule("arange", (n,), {}, e)
    if not rising:
        k = lw.binop(ast.Sub(), lw.binop(ast.Sub(), n, 1, e), k, e)
    return lw.binop(ast.Pow(), column, k, e)
