"""NumPy 2's array-API functions that are compositions of primitives
(`symgrad.frontend.composites`), each lowered as NumPy computes it.

Contract: `np.linalg.diagonal(x, offset)` and `np.linalg.trace(x, offset)` are np.diagonal's and
np.trace's over the last two axes; `np.linalg.matrix_transpose(x)` swaps the last two axes;
`np.vecdot(x1, x2, axis)` (and np.linalg's) is `np.sum(x1 * x2, axis)` (real arrays: no
conjugate); `np.matvec(a, x)` and `np.vecmat(x, a)` are the einsums of a stack of matrices and
of vectors; `np.cumulative_sum(x, axis)` and `np.cumulative_prod` are np.cumsum's and
np.cumprod's along axis (along the only one of a vector), with `include_initial` the 0 (1)
before them; `np.linalg.vector_norm(x, axis, keepdims, ord)` is np.linalg.norm's vector norm of
the flattened x (axis None) or along an int axis; `np.linalg.matrix_norm(x, ord='fro')` is the
Frobenius norm over the last two axes. A `dtype` other than None is refused, and so are what
np.linalg.norm refuses (a matrix's other norms) and a tuple of axes of a vector norm.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

import numpy as np

from symgrad.errors import UnsupportedSyntaxError
from symgrad.frontend.composites import along, composite

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer


def _no_dtype(lw: _Lowerer, e: ast.AST, dtype: Any, name: str) -> None:
    if dtype is not None:
        raise lw.error(
            e,
            f"{name}'s dtype= is not supported",
            "Cast first: x.astype(dtype).",
            cls=UnsupportedSyntaxError,
        )


@composite(np.linalg.diagonal)
def _diagonal(lw: _Lowerer, e: ast.AST, x, /, *, offset=0) -> Any:
    return lw.call_rule("diagonal", (x,), {"offset": offset, "axis1": -2, "axis2": -1}, e)


@composite(np.linalg.trace)
def _trace(lw: _Lowerer, e: ast.AST, x, /, *, offset=0, dtype=None) -> Any:
    _no_dtype(lw, e, dtype, "np.linalg.trace")
    return lw.call_rule("trace", (x,), {"offset": offset, "axis1": -2, "axis2": -1}, e)


@composite(np.linalg.matrix_transpose)
def _matrix_transpose(lw: _Lowerer, e: ast.AST, x, /) -> Any:
    return lw.call_rule("swapaxes", (x,), {"axis1": -1, "axis2": -2}, e)


@composite(np.vecdot)
@composite(np.linalg.vecdot)
def _vecdot(lw: _Lowerer, e: ast.AST, x1, x2, /, *, axis=-1) -> Any:
    return lw.call_rule("sum", (lw.binop(ast.Mult(), x1, x2, e),), {"axis": axis}, e)


def _einsum(lw: _Lowerer, e: ast.AST, subscripts: str, *operands) -> Any:
    return lw.call_rule("einsum", (subscripts, *operands), {}, e)


if hasattr(np, "matvec"):  # (NumPy 2.2)

    @composite(np.matvec)
    def _matvec(lw: _Lowerer, e: ast.AST, x1, x2, /) -> Any:
        return _einsum(lw, e, "...ij,...j->...i", x1, x2)

    @composite(np.vecmat)
    def _vecmat(lw: _Lowerer, e: ast.AST, x1, x2, /) -> Any:
        return _einsum(lw, e, "...j,...jk->...k", x1, x2)


def _cumulative(name: str, start: str):
    def lowering(
        lw: _Lowerer, e: ast.AST, x, /, *, axis=None, dtype=None, include_initial=False
    ) -> Any:
        _no_dtype(lw, e, dtype, f"np.cumulative_{name[3:]}")
        axis = 0 if axis is None else axis  # (of a vector, its one axis: NumPy asks no more)
        total = lw.call_rule(name, (x,), {"axis": axis}, e)
        if not include_initial:
            return total
        first = lw.call_rule(start, (along(lw, total, slice(0, 1), axis, e),), {}, e)
        return lw.call_rule("concatenate", ([first, total],), {"axis": axis}, e)

    return lowering


composite(np.cumulative_sum)(_cumulative("cumsum", "zeros_like"))
composite(np.cumulative_prod)(_cumulative("cumprod", "ones_like"))


@composite(np.linalg.vector_norm)
def _vector_norm(lw: _Lowerer, e: ast.AST, x, /, *, axis=None, keepdims=False, ord=2) -> Any:
    ord = None if ord == 2 else ord  # (np.linalg.norm's spelling of a vector's 2-norm)
    if axis is None and not keepdims:  # (along the one axis of its entries: a vector's p-norm)
        return lw.call_rule("norm", (lw.call_rule("ravel", (x,), {}, e), ord), {"axis": 0}, e)
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise lw.error(
            e,
            "np.linalg.vector_norm is supported of the whole array (without keepdims) or along "
            "one int axis",
            "Reshape first: np.linalg.vector_norm(x.reshape(...), axis=-1).",
            cls=UnsupportedSyntaxError,
        )
    return lw.call_rule("norm", (x, ord), {"axis": axis, "keepdims": keepdims}, e)


@composite(np.linalg.matrix_norm)
def _matrix_norm(lw: _Lowerer, e: ast.AST, x, /, *, keepdims=False, ord="fro") -> Any:
    if ord != "fro":
        raise lw.error(
            e,
            f"np.linalg.matrix_norm's ord={ord!r} is not supported (a matrix's own norms)",
            "The Frobenius norm (ord='fro') is.",
            cls=UnsupportedSyntaxError,
        )
    return lw.call_rule("norm", (x, "fro"), {"axis": (-2, -1), "keepdims": keepdims}, e)
