"""Matrix decompositions: slogdet, cholesky, eigh (np.linalg), on stacks of matrices too.

Contract: a call returning several arrays (`Rule.parts`: slogdet's sign and log |det|, eigh's
eigenvalues and eigenvectors) is one node per part, the part's index the static `part`, and each
part is spelled `np.linalg.eigh(a)[k]` (common subexpressions: a gradient reading both parts of
one call calls NumPy twice). Functions of a symmetric matrix read one triangle of it, as NumPy
does (the lower by default), so their derivatives are those of the function NumPy computes: the
tangent of a is the symmetric matrix its triangle makes (`_symmetric`), and the cotangent
falls on that triangle (`_onto_triangle`, the adjoint). Forward rules: d log |det A| =
tr(A⁻¹ Ȧ); d L = L Φ(L⁻¹ Ȧ L⁻ᵀ) for A = L Lᵀ, Φ the lower triangle with the diagonal halved;
for A = V diag(w) Vᵀ, ẇ = diag(Vᵀ Ȧ V) and V̇ = V (F ⊙ Vᵀ Ȧ V), F[i, j] = 1 / (w[j] − w[i])
off the diagonal, 0 on it: eigenvectors are differentiable where the eigenvalues are distinct
(F is written D / (D² + I), D[i, j] = w[j] − w[i], so that it is smooth where they are).
"""

import ast

import numpy as np

from symgrad.errors import SymgradError
from symgrad.ir.avals import ARRAY
from symgrad.rules.build import ops
from symgrad.rules.table import STATIC, call, defrule, dotted, literal

_SLOGDET = type(np.linalg.slogdet(np.eye(1)))
_EIGH = type(np.linalg.eigh(np.eye(1)))


def _part_of(path: str):
    """Emit `path(a, statics...)[part]`: the part of NumPy's result."""

    def emit(args, attrs, rule):
        keywords = [
            ast.keyword(p.name, literal(attrs[p.name]))
            for p in rule.params
            if p.kind == STATIC and p.name != "part" and attrs.get(p.name, p.default) != p.default
        ]
        whole = ast.Call(dotted(path), list(args), keywords)
        return ast.Subscript(whole, ast.Constant(attrs["part"]), ast.Load())

    return emit


def _matrix(ins: dict, attrs: dict) -> bool:
    """Numba decomposes one matrix of floats (`Rule.jit`), with the default keywords."""
    a = ins["a"]
    return (
        a is not None
        and a.kind == ARRAY
        and a.rank == 2
        and a.dtype is not None
        and a.dtype.kind == "f"
        and not attrs.get("upper", False)
        and attrs.get("UPLO", "L") == "L"
    )


def _swap(x):
    return ops.swapaxes(x, axis1=-1, axis2=-2)


def _symmetric(t, upper: bool):
    """The symmetric matrix that the lower (or upper) triangle of t makes."""
    if upper:
        return ops.triu(t) + _swap(ops.triu(t, 1))
    return ops.tril(t) + _swap(ops.tril(t, -1))


def _onto_triangle(m, upper: bool):
    """The adjoint of `_symmetric`: the cotangent m of the symmetric matrix, on the triangle
    it was made of."""
    if upper:
        return ops.triu(m) + ops.triu(_swap(m), 1)
    return ops.tril(m) + ops.tril(_swap(m), -1)


# slogdet ----------------------------------------------------------------------------------------


def _slogdet_vjp(g, a, part):
    if part == 0:  # the sign is constant where det A ≠ 0
        return ops.zeros_like(a)
    return ops.expand_dims(g, axis=(-1, -2)) * _swap(ops.inv(a))


def _slogdet_jvp(t, a, ans, part):
    if part == 0:
        return ops.zeros_like(ans)
    return ops.sum(_swap(ops.inv(a)) * t, axis=(-2, -1))


defrule(
    "slogdet",
    "a, part=...",
    _part_of("np.linalg.slogdet"),
    numpy=(np.linalg.slogdet,),
    parts=_SLOGDET,
    jit=_matrix,
    vjp={"a": _slogdet_vjp},
    jvp={"a": _slogdet_jvp},
    math="log abs(det A): v A⁻ᵀ;  the sign: 0",
    domain={"a": "invertible"},
    examples=(
        "np.linalg.slogdet(a)[1] | a: 3x3 invertible",
        "s, l = np.linalg.slogdet(-a); s * np.exp(l) | a: 3x3 invertible",
        "np.linalg.slogdet(a).logabsdet | a: 2x2x2 invertible",
    ),
)


# cholesky ---------------------------------------------------------------------------------------


def _halved(x):
    """Φ(x): the lower triangle of x with its diagonal halved."""
    return 0.5 * (ops.tril(x) + ops.tril(x, -1))


def _factor(m, upper):
    """The lower factor L from cholesky's output (Lᵀ where `upper`), and back."""
    return _swap(m) if upper else m


def _cholesky_vjp(g, ans, upper):
    lower = _factor(ans, upper)
    inverse = ops.inv(lower)
    back = _swap(inverse) @ _halved(_swap(lower) @ _factor(g, upper)) @ inverse
    return _onto_triangle(back, upper)


def _cholesky_jvp(t, ans, upper):
    lower = _factor(ans, upper)
    inverse = ops.inv(lower)
    return _factor(lower @ _halved(inverse @ _symmetric(t, upper) @ _swap(inverse)), upper)


defrule(
    "cholesky",
    "a, upper=False",
    call("np.linalg.cholesky"),
    numpy=(np.linalg.cholesky,),
    vjp={"a": _cholesky_vjp},
    jit=_matrix,
    jvp={"a": _cholesky_jvp},
    math="A = L Lᵀ: L⁻ᵀ Φ(Lᵀ v) L⁻¹ (Φ: the lower triangle, diagonal halved), on the triangle "
    "of A that NumPy reads (the lower; the upper with upper=True)",
    domain={"a": "invertible"},
    examples=(
        "np.linalg.cholesky(a) | a: 2x2 invertible",
        "np.linalg.cholesky(a, upper=True) | a: 2x2x2 invertible",
    ),
)


# eigh -------------------------------------------------------------------------------------------


def _inverse_gaps(w):
    """F[i, j] = 1 / (w[j] − w[i]) off the diagonal, 0 on it, as D / (D² + I)."""
    gaps = ops.expand_dims(w, -2) - ops.expand_dims(w, -1)
    identity = ops.diagonal_vjp(ops.ones_like(w), gaps, 0, -2, -1)
    return gaps / (gaps * gaps + identity)


def _eigh_vjp(g, a, UPLO, part):
    w, v = (ops.eigh(a, UPLO, part=k) for k in (0, 1))
    if part == 0:
        back = (v * ops.expand_dims(g, -2)) @ _swap(v)
    else:
        back = v @ (_inverse_gaps(w) * (_swap(v) @ g)) @ _swap(v)
    return _onto_triangle(back, UPLO == "U")


def _eigh_jvp(t, a, UPLO, part):
    w, v = (ops.eigh(a, UPLO, part=k) for k in (0, 1))
    rotated = _swap(v) @ _symmetric(t, UPLO == "U") @ v
    if part == 0:
        return ops.diagonal(rotated, 0, -2, -1)
    return v @ (_inverse_gaps(w) * rotated)


def _uplo(attrs):
    if attrs["UPLO"] not in ("L", "U"):
        raise SymgradError(f"np.linalg.eigh's UPLO is 'L' or 'U', not {attrs['UPLO']!r}")


defrule(
    "eigh",
    "a, UPLO='L', part=...",
    _part_of("np.linalg.eigh"),
    numpy=(np.linalg.eigh,),
    parts=_EIGH,
    jit=_matrix,
    validate=_uplo,
    vjp={"a": _eigh_vjp},
    jvp={"a": _eigh_jvp},
    math="A = V diag(w) Vᵀ: B[w] = V diag(v) Vᵀ;  B[V] = V (F ⊙ Vᵀ v) Vᵀ, F[i, j] = "
    "1 / (w[j] − w[i]) (0 on the diagonal), on the triangle of A NumPy reads. Eigenvectors "
    "only where the eigenvalues are distinct (NaN where two are equal; each is defined up to "
    "its sign, and NumPy's choice is kept nearby)",
    examples=(
        "np.linalg.eigh(a)[0] | a: 2x2",
        "np.linalg.eigh(a, UPLO='U').eigenvectors | a: 2x2",
        "w, v = np.linalg.eigh(a); v * np.expand_dims(w, -2) | a: 2x2x2",
    ),
)
