"""SciPy's linear algebra of triangular and Cholesky factors as compositions of NumPy's primitives
(`symgrad.frontend.composites`), registered once the user's code has imported `scipy.linalg`.

Contract: `scipy.linalg.cholesky(a, lower)` is np.linalg.cholesky reading the same triangle
as SciPy's (the upper one, NumPy's of a.T, by default: upper factor U = L.T); `cho_factor(a,
lower)` is `(that factor, lower)`, its other triangle a's entries, as SciPy leaves them;
`cho_solve((c, lower), b)` is the two triangular solves of c's triangle;
`solve_triangular(a, b, trans, lower, unit_diagonal)` solves with a's triangle (its diagonal
ones, for `unit_diagonal`), transposed for `trans` 1 or 2 (of real arrays, 'T' and 'C'
alike); `solve(a, b, assume_a)` is np.linalg.solve of a (general), or of the symmetric matrix
the triangle SciPy reads stands for ('sym', 'pos'); other kinds are refused. Each solve is
np.linalg.solve of the triangle, so the values are SciPy's up to rounding, and the gradient
falls on the entries SciPy reads. Options that only tune SciPy (`overwrite_*`,
`check_finite`) are taken; `lower` and `trans` must be known when compiling. Stacks of
matrices are SciPy's too (each transposed alone).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from symgrad.errors import UnsupportedSyntaxError
from symgrad.frontend.composites import composite, flag, not_constant
from symgrad.frontend.subscripts import getitem
from symgrad.frontend.values import is_const

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer


def _cholesky(lw: _Lowerer, e: ast.AST, a, lower: bool) -> Any:
    if lower:
        return lw.call_rule("cholesky", (a,), {}, e)
    return _t(lw, e, lw.call_rule("cholesky", (_t(lw, e, a),), {}, e))  # (a's upper triangle)


def _solve(lw: _Lowerer, e: ast.AST, a, b) -> Any:
    return lw.call_rule("solve", (a, b), {}, e)


def _t(lw: _Lowerer, e: ast.AST, a) -> Any:
    """Each matrix transposed (of a stack too: its last two axes swapped)."""
    return lw.call_rule("swapaxes", (a,), {"axis1": -1, "axis2": -2}, e)


@composite("scipy.linalg.cholesky")
def _scipy_cholesky(
    lw: _Lowerer, e: ast.AST, a, lower=False, overwrite_a=False, check_finite=True
) -> Any:
    return _cholesky(lw, e, a, flag(lw, e, lower, "scipy.linalg.cholesky's lower"))


@composite("scipy.linalg.cho_factor")
def _cho_factor(
    lw: _Lowerer, e: ast.AST, a, lower=False, overwrite_a=False, check_finite=True
) -> Any:
    lower = flag(lw, e, lower, "scipy.linalg.cho_factor's lower")
    side, k = ("triu", 1) if lower else ("tril", -1)  # (the other triangle a's, as SciPy's)
    rest = lw.call_rule(side, (a,), {"k": k}, e)
    return (lw.binop(ast.Add(), _cholesky(lw, e, a, lower), rest, e), lower)


@composite("scipy.linalg.cho_solve")
def _cho_solve(lw: _Lowerer, e: ast.AST, c_and_lower, b, overwrite_b=False, check_finite=True):
    if not isinstance(c_and_lower, tuple) or len(c_and_lower) != 2:
        raise lw.error(e, "scipy.linalg.cho_solve takes (c, lower), cho_factor's result")
    c, lower = c_and_lower
    if flag(lw, e, lower, "scipy.linalg.cho_solve's lower"):
        factor = lw.call_rule("tril", (c,), {}, e)
        return _solve(lw, e, _t(lw, e, factor), _solve(lw, e, factor, b))
    factor = lw.call_rule("triu", (c,), {}, e)
    return _solve(lw, e, factor, _solve(lw, e, _t(lw, e, factor), b))


@composite("scipy.linalg.solve_triangular")
def _solve_triangular(
    lw: _Lowerer,
    e: ast.AST,
    a,
    b,
    trans=0,
    lower=False,
    unit_diagonal=False,
    overwrite_b=False,
    check_finite=True,
) -> Any:
    lower = flag(lw, e, lower, "scipy.linalg.solve_triangular's lower")
    unit = flag(lw, e, unit_diagonal, "scipy.linalg.solve_triangular's unit_diagonal")
    if not is_const(trans) or trans not in (0, 1, 2, "N", "T", "C"):
        raise not_constant(lw, e, trans, "scipy.linalg.solve_triangular's trans must be known")
    side = "tril" if lower else "triu"
    if unit:  # (its strict triangle, and ones on the diagonal)
        strict = lw.call_rule(side, (a,), {"k": -1 if lower else 1}, e)
        n = getitem(lw, lw.call_rule("shape", (a,), {}, e), -1, e)
        triangle = lw.binop(ast.Add(), strict, lw.call_rule("eye", (n,), {}, e), e)
    else:
        triangle = lw.call_rule(side, (a,), {}, e)
    if trans not in (0, "N"):
        triangle = _t(lw, e, triangle)
    return _solve(lw, e, triangle, b)


@composite("scipy.linalg.solve")
def _scipy_solve(
    lw: _Lowerer,
    e: ast.AST,
    a,
    b,
    lower=False,
    overwrite_a=False,
    overwrite_b=False,
    check_finite=True,
    assume_a=None,
    transposed=False,
) -> Any:
    if not is_const(assume_a):
        raise not_constant(lw, e, assume_a, "scipy.linalg.solve's assume_a must be known")
    one_triangle = assume_a in ("sym", "symmetric", "pos", "positive definite")
    if assume_a not in (None, "gen", "general") and not one_triangle:
        raise lw.error(
            e,
            f"scipy.linalg.solve's assume_a={assume_a!r} is not supported",
            "Leave it out: np.linalg.solve solves any square system.",
            cls=UnsupportedSyntaxError,
        )
    if one_triangle:  # (SciPy reads the triangle `lower` names: the matrix it stands for)
        lower = flag(lw, e, lower, "scipy.linalg.solve's lower")
        side, k = ("tril", -1) if lower else ("triu", 1)
        strict = lw.call_rule(side, (a,), {"k": k}, e)
        a = lw.binop(ast.Add(), lw.call_rule(side, (a,), {}, e), _t(lw, e, strict), e)
    elif flag(lw, e, transposed, "scipy.linalg.solve's transposed"):
        a = _t(lw, e, a)
    return _solve(lw, e, a, b)
