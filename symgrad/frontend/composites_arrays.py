"""NumPy's array functions that are compositions of primitives (`symgrad.frontend.composites`):
flips and rotations, appending, differences of a flattened array, and chains and powers of
matrix products, each lowered as NumPy computes it (the same views; the same products in the
same order but for multi_dot's).

Contract: `np.flipud(m)` is `m[::-1]` and `np.fliplr(m)` is `m[:, ::-1]`; `np.rot90(m, k,
axes)` of a constant k and axes is flips and a swap of the two axes, as NumPy's (views of m);
`np.append(arr, values, axis)` is the concatenation of the two (flattened where axis is None);
`np.column_stack(tup)` is the concatenation along axis 1 of each array's
`atleast_2d` of its transpose, transposed (a vector a column, as NumPy's); `np.dstack(tup)` is
the concatenation along axis 2 of their `atleast_3d`; `np.diff(a, n, axis, prepend,
append)` is the `diff` of a joined to prepend and append (a number broadcast to a's shape of
one entry along axis, as NumPy's), a itself for n = 0; `np.ediff1d(a, to_end, to_begin)` is
`np.diff(np.ravel(a))` joined to those, flattened; `np.linalg.multi_dot(arrays)` is their products
from the left (NumPy picks the cheapest order: equal up to rounding);
`np.linalg.matrix_power(a, n)` of a constant n other than 0 is NumPy's products (by the bits of
n, of `np.linalg.inv(a)` for a negative n; a itself for n = 1); `np.linalg.eigvalsh(a, UPLO)`
is `np.linalg.eigh(a, UPLO).eigenvalues` (LAPACK's, computed with the eigenvectors: equal to
eigvalsh's up to rounding). `np.meshgrid(*xi, copy, sparse, indexing)` is each x flattened,
reshaped to its own axis (the first two swapped for indexing 'xy') and, unless sparse,
broadcast to every x's length (a copy where `copy`), in a tuple. `np.linalg.lstsq(a, b,
rcond)`'s solution is `np.linalg.pinv(a, rcond) @ b` (the least-squares solution of least norm,
as LAPACK's, to rounding); its residuals, rank and singular values are refused where read.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

import numpy as np

from symgrad.frontend.composites import composite, flag, not_constant
from symgrad.frontend.subscripts import getitem
from symgrad.frontend.values import Withheld

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer

_REVERSED = slice(None, None, -1)


@composite(np.linalg.eigvalsh)
def _eigvalsh(lw: _Lowerer, e: ast.AST, a, UPLO="L") -> Any:  # noqa: N803 (NumPy's name)
    return lw.call_rule("eigh", (a,), {"UPLO": UPLO, "part": 0}, e)


def _static_int(lw: _Lowerer, e: ast.AST, value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise not_constant(lw, e, value, f"{what} must be an int known when compiling")
    return value


@composite(np.flipud)
def _flipud(lw: _Lowerer, e: ast.AST, m) -> Any:
    return getitem(lw, m, _REVERSED, e)


@composite(np.fliplr)
def _fliplr(lw: _Lowerer, e: ast.AST, m) -> Any:
    return getitem(lw, m, (slice(None), _REVERSED), e)


@composite(np.rot90)
def _rot90(lw: _Lowerer, e: ast.AST, m, k=1, axes=(0, 1)) -> Any:
    k = _static_int(lw, e, k, "np.rot90's k") % 4
    axes = tuple(axes) if isinstance(axes, list) else axes
    if not (isinstance(axes, tuple) and len(axes) == 2 and all(type(a) is int for a in axes)):
        raise lw.error(e, "np.rot90's axes must be two ints known when the function is compiled")
    if axes[0] == axes[1]:
        raise lw.error(e, "np.rot90's axes must be different")
    first, second = axes
    if k == 0:
        return getitem(lw, m, slice(None), e)
    if k == 2:
        flipped = lw.call_rule("flip", (m,), {"axis": first}, e)
        return lw.call_rule("flip", (flipped,), {"axis": second}, e)
    if k == 1:
        flipped = lw.call_rule("flip", (m,), {"axis": second}, e)
        return lw.call_rule("swapaxes", (flipped, first, second), {}, e)
    swapped = lw.call_rule("swapaxes", (m, first, second), {}, e)
    return lw.call_rule("flip", (swapped,), {"axis": second}, e)


@composite(np.append)
def _append(lw: _Lowerer, e: ast.AST, arr, values, axis=None) -> Any:
    if axis is None:
        parts = [lw.call_rule("ravel", (a,), {}, e) for a in (arr, values)]
        return lw.call_rule("concatenate", (parts,), {}, e)
    axis = _static_int(lw, e, axis, "np.append's axis")
    return lw.call_rule("concatenate", ([arr, values],), {"axis": axis}, e)


@composite(np.column_stack)
def _column_stack(lw: _Lowerer, e: ast.AST, tup) -> Any:
    """Each array's columns side by side: a vector (or a number) is one column, an array of 2
    axes or more is as it is; `atleast_2d` of its transpose, transposed, is that, whatever
    its rank (NumPy's `ndmin=2` and `.T` of a vector)."""
    transposed = [
        lw.call_rule("transpose", (a,), {}, e) for a in _arrays(lw, e, tup, "column_stack")
    ]
    made = [lw.call_rule("atleast_2d", (t,), {}, e) for t in transposed]
    columns = [lw.call_rule("transpose", (m,), {}, e) for m in made]
    return lw.call_rule("concatenate", (columns,), {"axis": 1}, e)


@composite(np.dstack)
def _dstack(lw: _Lowerer, e: ast.AST, tup) -> Any:
    depths = [lw.call_rule("atleast_3d", (a,), {}, e) for a in _arrays(lw, e, tup, "dstack")]
    return lw.call_rule("concatenate", (depths,), {"axis": 2}, e)


def _arrays(lw: _Lowerer, e: ast.AST, tup, name: str) -> list:
    if not isinstance(tup, (list, tuple)) or not tup:
        raise lw.error(e, f"np.{name} takes a list or tuple of arrays")
    return list(tup)


_NONE = object()  # (np.diff's prepend and append not given: None is a value to join)


@composite(np.diff)
def _diff(lw: _Lowerer, e: ast.AST, a, n=1, axis=-1, prepend=_NONE, append=_NONE) -> Any:
    """np.diff, of a joined to its prepend and append (each a number made a slice of a's
    shape along axis, as NumPy's `broadcast_to`; an array as it is), n times."""
    if prepend is not _NONE or append is not _NONE:
        axis = _static_int(lw, e, axis, "np.diff's axis")
        one = lw.call_rule("sum", (a,), {"axis": axis, "keepdims": True}, e)  # (its shape)
        parts = [_edge(lw, e, prepend, one), a, _edge(lw, e, append, one)]
        a = lw.call_rule("concatenate", ([p for p in parts if p is not _NONE],), {"axis": axis}, e)
    if type(n) is int and n == 0:  # (the array itself, as NumPy's)
        return a
    return lw.call_rule("diff", (a,), {"n": n, "axis": axis}, e)


def _edge(lw: _Lowerer, e: ast.AST, value: Any, one: Any) -> Any:
    """What np.diff joins before or after a: `value` as an array, broadcast to the shape of
    `one` (a's, of one entry along the axis) where it is a number."""
    if value is _NONE:
        return _NONE
    edge = lw.call_rule("asarray", (value,), {}, e)
    shape = lw.call_rule("shape", (lw.binop(ast.Add(), edge, one, e),), {}, e)
    return lw.call_rule("broadcast_to", (edge, shape), {}, e)


@composite(np.ediff1d)
def _ediff1d(lw: _Lowerer, e: ast.AST, ary, to_end=None, to_begin=None) -> Any:
    def flat(v):
        return lw.call_rule("ravel", (lw.call_rule("asarray", (v,), {}, e),), {}, e)

    parts = [flat(to_begin)] if to_begin is not None else []
    parts.append(lw.call_rule("diff", (lw.call_rule("ravel", (ary,), {}, e),), {}, e))
    parts += [flat(to_end)] if to_end is not None else []
    return parts[0] if len(parts) == 1 else lw.call_rule("concatenate", (parts,), {}, e)


@composite(np.linalg.multi_dot)
def _multi_dot(lw: _Lowerer, e: ast.AST, arrays, *, out=None) -> Any:
    if out is not None or not isinstance(arrays, (list, tuple)) or len(arrays) < 2:
        raise lw.error(e, "np.linalg.multi_dot takes a list or tuple of two arrays or more")
    product = arrays[0]
    for a in arrays[1:]:
        product = lw.binop(ast.MatMult(), product, a, e)
    return product


@composite(np.linalg.matrix_power)
def _matrix_power(lw: _Lowerer, e: ast.AST, a, n) -> Any:
    n = _static_int(lw, e, n, "np.linalg.matrix_power's n")
    if n == 0:
        raise lw.error(
            e,
            "np.linalg.matrix_power(a, 0) is not supported (an identity of a's shape)",
            "Write the identity itself: np.eye(a.shape[-1]) (of a's shape, for a stack).",
        )
    if n < 0:
        a, n = lw.call_rule("inv", (a,), {}, e), -n
    times = lambda x, y: lw.binop(ast.MatMult(), x, y, e)  # noqa: E731
    if n <= 3:  # (NumPy's short cuts: a, a @ a, (a @ a) @ a)
        result = a
        for _ in range(n - 1):
            result = times(result, a)
        return result
    z = result = None
    while n > 0:  # the bits of n, from the lowest: NumPy's products, in its order
        z = a if z is None else times(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else times(result, z)
    return result


@composite(np.meshgrid)
def _meshgrid(lw: _Lowerer, e: ast.AST, *xi, copy=True, sparse=False, indexing="xy") -> Any:
    if indexing not in ("xy", "ij"):
        raise lw.error(e, "np.meshgrid's indexing must be 'xy' or 'ij' written in the source")
    copy, sparse = (
        flag(lw, e, v, f"np.meshgrid's {w}=") for v, w in ((copy, "copy"), (sparse, "sparse"))
    )
    flat = [lw.call_rule("ravel", (x,), {}, e) for x in xi]
    order = list(range(len(xi)))
    if indexing == "xy" and len(xi) > 1:  # (x along the columns, y along the rows)
        order[0], order[1] = 1, 0
    grids = []
    for k, x in enumerate(flat):
        shape = tuple(-1 if order[k] == j else 1 for j in range(len(xi)))
        grids.append(lw.call_rule("reshape", (x, shape), {}, e))
    if sparse:
        return tuple(grids)
    lengths = [lw.call_rule("len", (x,), {}, e) for x in flat]
    full = tuple(lengths[order.index(j)] for j in range(len(xi)))
    grids = [lw.call_rule("broadcast_to", (g, full), {}, e) for g in grids]
    return tuple(lw.call_rule("copy", (g,), {}, e) for g in grids) if copy else tuple(grids)


@composite(np.linalg.lstsq)
def _lstsq(lw: _Lowerer, e: ast.AST, a, b, rcond=None) -> Any:
    solution = lw.binop(ast.MatMult(), lw.call_rule("pinv", (a,), {"rcond": rcond}, e), b, e)
    others = Withheld(
        "is a residual, rank or singular values of np.linalg.lstsq, which symgrad does not "
        "compute (the solution, item 0, it does)",
        "Compute what you need from the solution x: np.sum((a @ x - b) ** 2, axis=0).",
    )
    return solution, others, others, others
