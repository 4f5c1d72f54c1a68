"""Decompositions with orthonormal factors: svd, svdvals and qr (np.linalg), on stacks too.

Contract: `np.linalg.svd(a, full_matrices=False)` is the reduced SVD a = U diag(s) Vh, a node per
part (`Rule.parts`, as `symgrad.rules.decompositions` does eigh); `np.linalg.svd(a,
compute_uv=False)` is `np.linalg.svdvals(a)`, the singular values alone (`Rule.route`).
With k = min(m, n), S = diag(s), dS = Uᵀ ȧ V (k × k) and F[i, j] = 1 / (s[j]² − s[i]²) off the
diagonal, 0 on it: ṡ = diag(dS); U̇ = U (F ⊙ (dS S + S dSᵀ)) + (ȧ V − U dS) S⁻¹;
V̇ = V (F ⊙ (S dS + dSᵀ S)) + (ȧᵀ U − V dSᵀ) S⁻¹ (the last terms vanish where U, or V, is square).
The singular values, and U and Vh, are differentiable where the singular values are distinct
and nonzero (each pair of singular vectors is defined up to a common sign, and NumPy's choice
is kept nearby): two equal singular values make the factors' gradients NaN, a zero one inf or
NaN. `full_matrices=True` is refused where U or Vh is asked for: the
columns it adds are not unique, so they have no derivative (for a square matrix, write
full_matrices=False: the same factors).
`np.linalg.qr(a)` (mode 'reduced') of an m × n matrix with m ≥ n and R invertible: with
C = Qᵀ ȧ R⁻¹ and Ω = tril(C, −1) − tril(C, −1)ᵀ, Q̇ = Q (Ω − C) + ȧ R⁻¹ and Ṙ = (C − Ω) R.
A wide matrix (m < n) is a = [X | Y] with X square: Q R_X = X, R = [R_X | Qᵀ Y], so Q and R_X
move with X as above and R_Y = Qᵀ Y with Q and Y (the slices are empty where m ≥ n).
The proofs run the decompositions on SymPy values with `Rule.symbolic`: an SVD of m × 2 and
2 × n matrices in closed form, a QR by Gram-Schmidt, at exact rational points
(`_at_points_only`) whose factors are rational (the examples' domains `rational_svd` and
`rational_qr`, `symgrad.checks.factored`): there the closed forms' square roots are rationals.
"""

import numpy as np

from symgrad.errors import SymgradError
from symgrad.ir.avals import ARRAY, Aval
from symgrad.rules.build import location, ops
from symgrad.rules.decompositions import _inverse_gaps, _matrix, _part_of, _swap
from symgrad.rules.table import call, defrule

_SVD = type(np.linalg.svd(np.eye(1)))
_QR = type(np.linalg.qr(np.eye(1)))


def _row(s):
    """s[..., None, :]: a vector as a row, scaling a matrix's columns."""
    return ops.expand_dims(s, -2)


def _column(s):
    """s[..., :, None]: a vector as a column, scaling a matrix's rows."""
    return ops.expand_dims(s, -1)


def _factors(a):
    """U, s and Vh of the reduced SVD (the only one differentiated: `_reduced`)."""
    return [ops.svd(a, False, part=k) for k in range(3)]


def _shapes(ins, attrs):
    """The shape rule (`Rule.aval`): of a (…, m, n) and k = min(m, n), the factors (…, m, k)
    and (…, k, n) and the values (…, k), of a's float dtype (float64 for integers)."""
    a = ins["a"]
    if a is None or a.shape is None or a.dtype is None or a.rank < 2 or None in a.shape[-2:]:
        return None
    *lead, m, n = a.shape
    k = min(m, n)
    dtype = a.dtype if a.dtype.kind == "f" else np.dtype(np.float64)
    svd = ((m, m), (k,), (n, n)) if attrs.get("full_matrices") else ((m, k), (k,), (k, n))
    shapes = {"svdvals": (k,), "svd": svd, "qr": ((m, k), (k, n))}[attrs["op"]]
    shape = shapes if attrs["op"] == "svdvals" else shapes[attrs["part"]]
    return Aval((*lead, *shape), dtype, ARRAY)


def _shape_of(op):
    return lambda ins, attrs: _shapes(ins, {**attrs, "op": op})


def _at_points_only(sp, a):
    """Raise `Undecided` (so that the proof goes on at exact rational points) where a holds
    more than one free symbol: SymPy does not simplify identities between the radicals of
    these decompositions in several variables in useful time, and at a point the one symbol
    left is the step along a direction."""
    from symgrad.checks.sym_array import Undecided  # proofs only: it imports SymPy

    if len(set().union(*(sp.sympify(x).free_symbols for x in np.ravel(a)))) > 1:
        raise Undecided("svd and qr of symbols are proved at exact points")


# svd --------------------------------------------------------------------------------------------


def _svd_vjp(g, a, part, full_matrices):
    _reduced_only(part, full_matrices)
    u, s, vh = _factors(a)
    if part == 1:
        return (u * _row(g)) @ vh
    gaps = _inverse_gaps(s * s)
    if part == 0:
        j = gaps * (_swap(u) @ g)
        inner = (j + _swap(j)) * _row(s)
        return (u @ inner + (g - u @ (_swap(u) @ g)) / _row(s)) @ vh
    k = gaps * (vh @ _swap(g))
    inner = _column(s) * (k + _swap(k))
    return u @ (inner @ vh + (g - (g @ _swap(vh)) @ vh) / _column(s))


def _svd_jvp(t, a, part, full_matrices):
    _reduced_only(part, full_matrices)
    u, s, vh = _factors(a)
    v = _swap(vh)
    tv = t @ v
    ds = _swap(u) @ tv
    if part == 1:
        return ops.diagonal(ds, 0, -2, -1)
    gaps = _inverse_gaps(s * s)
    if part == 0:
        return u @ (gaps * (ds * _row(s) + _column(s) * _swap(ds))) + (tv - u @ ds) / _row(s)
    tu = _swap(t) @ u
    dv = v @ (gaps * (_column(s) * ds + _swap(ds) * _row(s))) + (tu - v @ _swap(ds)) / _row(s)
    return _swap(dv)


def _values_alone(a, full_matrices=True, compute_uv=True, hermitian=False):
    """np.linalg.svd(a, compute_uv=False) is np.linalg.svdvals(a) (`Rule.route`)."""
    return ("svdvals", (a,), {}) if compute_uv is False else None


def _reduced(attrs):
    if attrs["hermitian"]:
        raise SymgradError(
            "np.linalg.svd(..., hermitian=True) is not differentiated",
            hint="Write np.linalg.svd(a, full_matrices=False), or np.linalg.eigh for a "
            "symmetric matrix.",
        )


def _reduced_only(part: int, full_matrices: bool) -> None:
    """U and Vh of the full SVD (NumPy's default) have no derivative: refused where one is
    differentiated (its singular values, the same in either form, are)."""
    if part != 1 and full_matrices:
        raise SymgradError(
            "np.linalg.svd's U and Vh are differentiated in the reduced form only: the "
            "columns full_matrices=True adds are not unique, so they have no derivative",
            location(),
            hint="Write np.linalg.svd(a, full_matrices=False) (the same factors for a square "
            "matrix), or np.linalg.svd(a, compute_uv=False) for the singular values alone.",
        )


def _svd_on_symbols(sp, a, full_matrices=True, compute_uv=True, hermitian=False):
    """The reduced SVD of stacked m × 2 or 2 × n matrices of SymPy values, in closed form:
    the eigenvectors of the 2 × 2 Gram matrix, descending, and the other factor from them."""
    if a.shape[-1] != 2 and a.shape[-2] != 2:
        raise NotImplementedError("np.linalg.svd of symbols: m x 2 and 2 x n matrices only")
    _at_points_only(sp, a)
    wide = a.shape[-1] != 2
    stack = np.swapaxes(a, -1, -2) if wide else a  # m × 2 either way
    us, ss, vs = [], [], []
    for idx in np.ndindex(*stack.shape[:-2]):
        m = stack[idx]
        (p, q), (_, r) = m.T @ m
        h = sp.sqrt(((p - r) / 2) ** 2 + q**2)
        w = [(p + r) / 2 + h, (p + r) / 2 - h]  # descending
        v = np.empty((2, 2), dtype=object)
        for k, lam in enumerate(w):
            n = sp.sqrt(q**2 + (lam - p) ** 2)
            v[0, k], v[1, k] = q / n, (lam - p) / n
        s = np.array([sp.sqrt(x) for x in w], dtype=object)
        us.append((m @ v) / s)
        ss.append(s)
        vs.append(v)
    lead = stack.shape[:-2]
    u, s, v = (np.array(x, dtype=object).reshape(lead + x[0].shape) for x in (us, ss, vs))
    if wide:
        u, v = v, u
    if not compute_uv:
        return s
    return _SVD(u, s, np.swapaxes(v, -1, -2))


defrule(
    "svd",
    "a, full_matrices=True, compute_uv=True, hermitian=False, part=...",
    _part_of("np.linalg.svd"),
    numpy=(np.linalg.svd,),
    parts=_SVD,
    jit=_matrix,  # Numba's np.linalg.svd: one matrix, full_matrices given
    aval=_shape_of("svd"),
    route=_values_alone,
    validate=_reduced,
    symbolic=_svd_on_symbols,
    vjp={"a": _svd_vjp},
    jvp={"a": _svd_jvp},
    math="a = U diag(s) Vh (reduced), V = Vhᵀ, F[i, j] = 1 / (s[j]² − s[i]²) (0 on the "
    "diagonal): B[s] = U diag(v) Vh;  B[U] = U ((J + Jᵀ) S) Vh + (I − U Uᵀ) v S⁻¹ Vh, "
    "J = F ⊙ Uᵀ v;  B[Vh] = U (S (K + Kᵀ)) Vh + U S⁻¹ v (I − V Vh), K = F ⊙ Vh vᵀ. "
    "Singular values where distinct and nonzero; U and Vh only there (NaN where two are equal; "
    "each pair of singular vectors is defined up to its sign, and NumPy's choice is kept nearby)",
    examples=(
        "np.linalg.svd(a, full_matrices=False)[1] | a: 3x2 rational_svd",
        "u, s, vh = np.linalg.svd(a, full_matrices=False); u * s[..., None, :] @ vh + u "
        "| a: 2x2 rational_svd",
        "np.linalg.svd(a, full_matrices=False).U | a: 3x2 rational_svd",
        "np.linalg.svd(a, full_matrices=False).Vh * np.arange(1, 5) | a: 2x4 rational_svd",
        "np.linalg.svd(a, full_matrices=False).S | a: 2x3x2 rational_svd",
    ),
)


# svdvals ----------------------------------------------------------------------------------------


def _svdvals_vjp(g, a):
    u, _, vh = _factors(a)
    return (u * _row(g)) @ vh


def _svdvals_jvp(t, a):
    u, _, vh = _factors(a)
    return ops.sum(u * (t @ _swap(vh)), axis=-2)


defrule(
    "svdvals",
    "a",
    call("np.linalg.svdvals"),
    numpy=(np.linalg.svdvals,),
    aval=_shape_of("svdvals"),
    symbolic=lambda sp, a: _svd_on_symbols(sp, a, compute_uv=False),
    vjp={"a": _svdvals_vjp},
    jvp={"a": _svdvals_jvp},
    math="U diag(v) Vh (a = U diag(s) Vh reduced; where the singular values are distinct "
    "and nonzero)",
    examples=(
        "np.linalg.svdvals(a) | a: 3x2 rational_svd",
        "np.linalg.svd(a, compute_uv=False) * np.arange(1, 3) | a: 2x4 rational_svd",
        "np.sum(np.linalg.svd(a, False, False)) | a: 2x2x2 rational_svd",
    ),
)


# qr ---------------------------------------------------------------------------------------------


def _qr_split(a, mode):
    """Q, R, and the parts of a wide matrix a = [X | Y] (X square: Q R_X = X, R = [R_X | Qᵀ Y]):
    R_X and Y. Of a tall or square matrix, R_X is R and Y has no columns."""
    q, r = (ops.qr(a, mode, part=k) for k in (0, 1))
    m = ops.shape(a)[-2]
    return q, r, r[..., :, :m], a[..., :, m:], m


def _qr_vjp(g, a, mode, part):
    q, r, rx, y, m = _qr_split(a, mode)
    if part == 0:  # B[X] from Q's cotangent; Y gets none
        p = _swap(q) @ g
        back = (g + q @ (ops.tril(p - _swap(p), -1) - p)) @ _swap(ops.inv(rx))
        return ops.concatenate([back, ops.zeros_like(y)], axis=-1)
    gx, gy = g[..., :, :m], g[..., :, m:]
    gq = y @ _swap(gy)  # R_Y = Qᵀ Y: a cotangent of Q too
    p = _swap(q) @ gq
    n = gx @ _swap(rx)
    back = gq + q @ (ops.tril(p - _swap(p), -1) - p + n - ops.tril(n - _swap(n), -1))
    return ops.concatenate([back @ _swap(ops.inv(rx)), q @ gy], axis=-1)


def _qr_jvp(t, a, mode, part):
    q, r, rx, y, m = _qr_split(a, mode)
    t_over_r = t[..., :, :m] @ ops.inv(rx)
    c = _swap(q) @ t_over_r
    lower = ops.tril(c, -1)
    omega = lower - _swap(lower)
    dq = q @ (omega - c) + t_over_r
    if part == 0:
        return dq
    return ops.concatenate([(c - omega) @ rx, _swap(dq) @ y + _swap(q) @ t[..., :, m:]], axis=-1)


def _mode(attrs):
    if attrs["mode"] != "reduced":
        raise SymgradError(
            f"np.linalg.qr(..., mode={attrs['mode']!r}) is not differentiated",
            hint="Write np.linalg.qr(a) (mode='reduced': Q and R, the same as 'complete' for "
            "a square matrix).",
        )


def _qr_on_symbols(sp, a, mode="reduced"):
    """Q and R of stacked m × n matrices of SymPy values, by Gram-Schmidt on the first
    k = min(m, n) columns (R's later columns are Qᵀ times a's)."""
    _at_points_only(sp, a)
    *lead, m, n = a.shape
    k = min(m, n)
    q, r = np.empty((*lead, m, k), dtype=object), np.zeros((*lead, k, n), dtype=object)
    for idx in np.ndindex(*lead):
        for j in range(n):
            column = a[idx][:, j]
            for i in range(min(j, k)):
                r[idx][i, j] = q[idx][:, i] @ a[idx][:, j]
                column = column - r[idx][i, j] * q[idx][:, i]
            if j < k:
                r[idx][j, j] = sp.sqrt(column @ column)
                q[idx][:, j] = column / r[idx][j, j]
    return _QR(q, r)


defrule(
    "qr",
    "a, mode='reduced', part=...",
    _part_of("np.linalg.qr"),
    numpy=(np.linalg.qr,),
    parts=_QR,
    jit=_matrix,
    aval=_shape_of("qr"),
    validate=_mode,
    symbolic=_qr_on_symbols,
    vjp={"a": _qr_vjp},
    jvp={"a": _qr_jvp},
    math="a = Q R (reduced, R's first square block invertible): for m ≥ n, B[Q] = (v + Q "
    "(tril(P − Pᵀ, −1) − P)) R⁻ᵀ, P = Qᵀ v;  B[R] = Q (M − tril(M − Mᵀ, −1)) R⁻ᵀ, M = v Rᵀ; for "
    "m < n, a = [X | Y], R = [R_X | Qᵀ Y]: B[X] as above with R_X, v_Q + Y v_Yᵀ for Q's "
    "cotangent, B[Y] = Q v_Y",
    examples=(
        "np.linalg.qr(a)[1] | a: 3x2 rational_qr",
        "q, r = np.linalg.qr(a); q * np.arange(1, 3) + r[..., :1, :] | a: 2x2 rational_qr",
        "np.linalg.qr(a).Q | a: 2x3x2 rational_qr",
        "q, r = np.linalg.qr(a); r * np.arange(1, 4) + q[..., :1] | a: 2x3 rational_qr",
    ),
)
