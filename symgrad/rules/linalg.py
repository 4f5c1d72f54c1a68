"""Linear algebra: matmul, dot, inner, outer, einsum, trace, inv, solve, det.

Contract: the bilinear products (matmul, dot, inner) share one shape of rule: their backward
functions are runtime helpers that handle every operand rank NumPy accepts, and those helpers are
primitives too, whose own VJPs are the product again (so Hessians need no special cases).
B[MM, a](v) = v bᵀ, B[MM, b](v) = aᵀ v. Matrix functions use the saved output: inv and det.
Forward (JVP) rules: the products and their helpers are linear in each operand (`LINEAR`: the
product rule sums a_dot @ b and a @ b_dot); d inv = −A⁻¹ Ȧ A⁻¹, d det = det(A) tr(A⁻¹ Ȧ),
d solve(A, b) = solve(A, ḃ − Ȧ x). solve's helpers (A⁻ᵀ v, −v xᵀ, −A⁻¹ Ȧ x, and the product m x
they share) are primitives too, whose VJPs and JVPs are made of one another.
"""

import ast
import math

import numpy as np

from symgrad.errors import SymgradError
from symgrad.ir.avals import ARRAY, SCALAR, Aval, broadcast, result_dtype, strong_dtype
from symgrad.rules import runtime
from symgrad.rules.build import Value, ops, undecided
from symgrad.rules.table import LINEAR, binop, call, defrule


def _matmul_aval(ins: dict, attrs: dict) -> Aval | None:
    """a @ b: a vector operand gains an axis for the product and loses it after."""
    a, b = ins["a"], ins["b"]
    if a is None or b is None or not a.rank or not b.rank:
        return None
    sa, sb = a.shape if a.rank > 1 else (1,) + a.shape, b.shape if b.rank > 1 else b.shape + (1,)
    if None not in (sa[-1], sb[-2]) and sa[-1] != sb[-2]:
        return None
    batch = broadcast([sa[:-2], sb[:-2]])
    if batch is None:
        return None
    shape = batch + sa[-2:-1] * (a.rank > 1) + sb[-1:] * (b.rank > 1)
    return Aval(shape, result_dtype(a, b), ARRAY if shape else None)


def operand_like(name: str, other: str, strong: bool = False):
    """The Aval of a backward helper whose result has the shape of its input `name`, and the
    dtype of the cotangent times the `other` operand (a float32 a's, of a float64 b: float64,
    which `fit` gives a's dtype back); `strong`: the helper contracts with np.tensordot, which
    takes a Python number as a float64 array, not weakly as arithmetic does."""

    def aval(ins: dict, attrs: dict) -> Aval | None:
        x, ct = ins[name], ins["ct"]
        if x is None or ct is None or x.shape is None:
            return None
        dtype = (strong_dtype if strong else result_dtype)(ct, ins[other])
        return Aval(x.shape, dtype, ARRAY if x.shape else None)

    return aval


def _outer_aval(ins: dict, attrs: dict) -> Aval | None:
    """np.outer flattens both operands: (a.size, b.size)."""
    a, b = ins["a"], ins["b"]
    if a is None or b is None or not a.known or not b.known:
        return None
    return Aval((math.prod(a.shape), math.prod(b.shape)), strong_dtype(a, b), ARRAY)


def _matmul_vjp_a_for(ins: dict):
    """B[a](v) of a @ b as the one line the operands' ranks choose (see `_matmul_vjp_a`)."""
    a, b = ins["a"], ins["b"]
    if a is None or b is None or not a.rank or not b.rank or a.rank == 1 and b.rank > 2:
        return None
    if a.rank == 1 and b.rank == 1:
        return lambda ct, a, b: ct * b
    if a.rank == 1:  # v @ M: B[v] = M g
        return lambda ct, a, b: b @ ct
    if b.rank == 1:  # M @ v: B[M] = g vᵀ
        if a.rank == 2:
            return lambda ct, a, b: ops.outer(ct, b)
        return lambda ct, a, b: ops.unbroadcast(ct[..., None] * b, ops.shape(a))
    return lambda ct, a, b: ops.unbroadcast(ct @ _swap_last(b, ins["b"]), ops.shape(a))


def _matmul_vjp_b_for(ins: dict):
    """B[b](v) of a @ b as the one line the operands' ranks choose (see `_matmul_vjp_b`)."""
    a, b = ins["a"], ins["b"]
    if a is None or b is None or not a.rank or not b.rank or b.rank == 1 and a.rank > 2:
        return None
    if b.rank == 1 and a.rank == 1:
        return lambda ct, a, b: ct * a
    if b.rank == 1:  # M @ v: B[v] = Mᵀ g
        return lambda ct, a, b: ops.transpose(a) @ ct
    if a.rank == 1:  # v @ M: B[M] = v gᵀ
        if b.rank == 2:
            return lambda ct, a, b: ops.outer(a, ct)
        return lambda ct, a, b: ops.unbroadcast(a[:, None] * ct[..., None, :], ops.shape(b))
    return lambda ct, a, b: ops.unbroadcast(_swap_last(a, ins["a"]) @ ct, ops.shape(b))


def _like_matmul(rule):
    """np.dot's shape rule or VJP spelling (`rule`: matmul's) where it is matmul: of vectors
    and matrices; None for a number or a stack."""

    def of(*given):
        a, b = given[0]["a"], given[0]["b"]
        ranks = [getattr(v, "rank", None) for v in (a, b)]
        return rule(*given) if all(r in (1, 2) for r in ranks) else None

    return of


def _swap_last(m, aval: Aval):
    """m with its last two axes swapped: `m.T` for a matrix."""
    return ops.transpose(m) if aval.rank == 2 else ops.swapaxes(m, -1, -2)


def _blas(a: Aval | None, b: Aval | None, ranks=(1, 2)) -> bool:
    """Whether Numba multiplies a and b: arrays of these ranks and one float dtype."""
    return (
        all(
            x is not None and x.kind == ARRAY and x.rank in ranks and x.dtype in _FLOATS
            for x in (a, b)
        )
        and a.dtype == b.dtype
    )


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def bilinear(
    name,
    emit,
    numpy,
    methods,
    math,
    helper_a,
    helper_b,
    examples,
    helper_shapes,
    aval=None,
    specialise=(None, None),
    jit=None,
    batched=False,
    contracts=False,
):
    """Register a bilinear product and its two VJP helpers, each differentiable again.
    `helper_shapes` are (ct, a, b) shapes on which the helpers are checked; `aval` is the
    product's shape rule, `specialise` the helpers' (`Rule.specialise`); `batched`: the three
    have batching functions, `_<name>_batched` and `_<helper>_batched`; `contracts`: the
    helpers contract with np.tensordot (a Python number a float64 array there)."""
    va, vb = name + "_vjp_a", name + "_vjp_b"
    defrule(
        name,
        "a, b",
        emit,
        numpy=numpy,
        methods=methods,
        math=math,
        examples=examples,
        vjp={
            "a": lambda g, a, b: getattr(ops, va)(g, a, b),
            "b": lambda g, a, b: getattr(ops, vb)(g, a, b),
        },
        jvp=LINEAR,
        aval=aval,
        fresh=True,
        value_feeds=True,
        jit=jit,
        batch={
            "a": (f"_{name}_batched", {"batched": "a"}),
            "b": (f"_{name}_batched", {}),
        }
        if batched
        else {},
    )
    defrule(
        va,
        "ct, a, b",
        call(helper_a.__name__),
        helper=helper_a,
        math="B[a](v) of " + name,
        examples=tuple(
            f"{helper_a.__name__}(ct, a, b) | ct: {c}, a: {a} const, b: {b}"
            for c, a, b in helper_shapes
        ),
        vjp={
            "ct": lambda g, b: getattr(ops, name)(g, b),
            "b": lambda g, ct, b: getattr(ops, vb)(ct, g, b),
        },
        jvp=LINEAR,
        aval=operand_like("a", "b", contracts),
        specialise=specialise[0],
        batch={"ct": (f"_{va}_batched", {})} if batched else {},
    )
    defrule(
        vb,
        "ct, a, b",
        call(helper_b.__name__),
        helper=helper_b,
        math="B[b](v) of " + name,
        examples=tuple(
            f"{helper_b.__name__}(ct, a, b) | ct: {c}, a: {a}, b: {b} const"
            for c, a, b in helper_shapes
        ),
        vjp={
            "ct": lambda g, a: getattr(ops, name)(a, g),
            "a": lambda g, ct, a: getattr(ops, va)(ct, a, g),
        },
        jvp=LINEAR,
        aval=operand_like("b", "a", contracts),
        specialise=specialise[1],
        batch={"ct": (f"_{vb}_batched", {})} if batched else {},
    )


bilinear(
    "matmul",
    binop("@"),
    (np.matmul, np.linalg.matmul),
    (),
    "B[a](v) = v bᵀ;  B[b](v) = aᵀ v",
    runtime._matmul_vjp_a,
    runtime._matmul_vjp_b,
    (
        "a @ b | a: 3x4, b: 4x2",
        "a @ b | a: 3x4, b: 4",
        "a @ b | a: 4, b: 4x2",
        "a @ b | a: 4, b: 4",
        "np.matmul(a, b) | a: 2x3x4, b: 4x2",
        "a @ b | a: 3x4, b: 2x4x5",
    ),
    (("3x2", "3x4", "4x2"), ("3", "3x4", "4"), ("2", "4", "4x2"), ("2x3x5", "3x4", "2x4x5")),
    aval=_matmul_aval,
    specialise=(_matmul_vjp_a_for, _matmul_vjp_b_for),
    jit=lambda ins, attrs: _blas(ins["a"], ins["b"]),
    batched=True,
)
bilinear(
    "dot",
    call("np.dot"),
    (np.dot,),
    ("dot",),
    "as matmul (ranks ≤ 2); v b for a scalar",
    runtime._dot_vjp_a,
    runtime._dot_vjp_b,
    (
        "np.dot(a, b) | a: 3x4, b: 4x2",
        "np.dot(a, b) | a: 4, b: 4",
        "a.dot(b) | a: 3x4, b: 4",
        "np.dot(a, b) | a: f, b: 3x2",
        "np.dot(a, b) | a: 2x3x4, b: 2x4x5",
        "np.dot(a, b) | a: 2x3x4, b: 4",
        "np.dot(a, b) | a: 4, b: 2x4x3",
    ),
    (("3x2", "3x4", "4x2"), ("", "4", "4"), ("3x2", "f", "3x2"), ("2x3x2x5", "2x3x4", "2x4x5")),
    aval=_like_matmul(_matmul_aval),
    specialise=(_like_matmul(_matmul_vjp_a_for), _like_matmul(_matmul_vjp_b_for)),
)
bilinear(
    "inner",
    call("np.inner"),
    (np.inner,),
    (),
    "B[a](v) = v contracted with b over b's leading axes; likewise for b",
    runtime._inner_vjp_a,
    runtime._inner_vjp_b,
    (
        "np.inner(a, b) | a: 4, b: 4",
        "np.inner(a, b) | a: 3x4, b: 2x4",
        "np.inner(a, b) | a: 2x3x4, b: 4",
    ),
    (("", "4", "4"), ("3x2", "3x4", "2x4"), ("2x3", "2x3x4", "4")),
    contracts=True,
)

defrule(
    "outer",
    "a, b",
    call("np.outer"),
    numpy=(np.outer,),
    aval=_outer_aval,
    jit=lambda ins, attrs: _blas(ins["a"], ins["b"], ranks=(1,)),
    fresh=True,
    value_feeds=True,
    vjp={
        "a": lambda g, a, b: ops.reshape(g @ ops.ravel(b), ops.shape(a)),
        "b": lambda g, a, b: ops.reshape(ops.ravel(a) @ g, ops.shape(b)),
    },
    jvp=LINEAR,
    math="B[a](v) = v b;  B[b](v) = vᵀ a",
    examples=("np.outer(a, b) | a: 3, b: 4", "np.outer(a, b) | a: 2x2, b: 3"),
)
defrule(
    "vdot",
    "a, b",
    call("np.vdot"),
    numpy=(np.vdot,),
    shape="scalar",
    fresh=True,
    value_feeds=True,
    vjp={
        "a": lambda g, a, b: ops.reshape(g * ops.ravel(b), ops.shape(a)),
        "b": lambda g, a, b: ops.reshape(g * ops.ravel(a), ops.shape(b)),
    },
    jvp=LINEAR,
    math="B[a](v) = v b (in a's shape);  B[b](v) = v a (in b's shape)",
    examples=("np.vdot(a, b) | a: 4, b: 4", "np.vdot(a, b) | a: 2x3, b: 3x2"),
)
defrule(
    "trace",
    "a, offset=0, axis1=0, axis2=1",
    call("np.trace"),
    numpy=(np.trace,),
    methods=("trace",),
    vjp={"a": lambda g, a, offset, axis1, axis2: ops.trace_vjp(g, a, offset, axis1, axis2)},
    jvp=LINEAR,
    math="v I (on the first two axes; on the offset diagonal of axis1 and axis2)",
    examples=(
        "np.trace(a) | a: 4x4",
        "a.trace() | a: 3x3",
        "np.trace(a) | a: 3x3x2",
        "np.trace(a, 1) | a: 3x4",
        "a.trace(offset=-1, axis1=1, axis2=2) | a: 2x3x3",
    ),
)
defrule(
    "trace_vjp",
    "ct, x, offset=0, axis1=0, axis2=1",
    call("_trace_vjp"),
    helper=runtime._trace_vjp,
    vjp={"ct": lambda g, offset, axis1, axis2: ops.trace(g, offset, axis1, axis2)},
    jvp=LINEAR,
    examples=(
        "_trace_vjp(ct, x) | ct: , x: 4x4 const",
        "_trace_vjp(ct, x) | ct: 2, x: 3x3x2 const",
        "_trace_vjp(ct, x, 1) | ct: , x: 3x4 const",
        "_trace_vjp(ct, x, -1, 1, 2) | ct: 2, x: 2x3x3 const",
    ),
    math="trace v",
)


def _swap(x):
    return ops.swapaxes(x, axis1=-1, axis2=-2)


defrule(
    "inv",
    "a",
    call("np.linalg.inv"),
    numpy=(np.linalg.inv,),
    vjp={"a": lambda g, ans: -(_swap(ans) @ (g @ _swap(ans)))},
    jvp={"a": lambda t, ans: -(ans @ (t @ ans))},
    math="−A⁻ᵀ v A⁻ᵀ",
    domain={"a": "invertible"},
    examples=("np.linalg.inv(a) | a: 3x3 invertible", "np.linalg.inv(a) | a: 2x2x2 invertible"),
)


def _pinv_vjp(g, a, ans):
    """B[A](V) = −Pᵀ V Pᵀ + (I − A P) Vᵀ P Pᵀ + Pᵀ P Vᵀ (I − P A), P = A⁺: the transpose of
    `_pinv_jvp`'s terms, each projection applied as a difference (no identity made)."""
    p, pt, gt = ans, _swap(ans), _swap(g)
    m = gt @ (p @ pt)
    n = pt @ (p @ gt)
    return -(pt @ (g @ pt)) + (m - a @ (p @ m)) + (n - (n @ p) @ a)


def _pinv_jvp(t, a, ans):
    """Ṗ = −P Ȧ P + P Pᵀ Ȧᵀ (I − A P) + (I − P A) Ȧᵀ Pᵀ P (Golub and Pereyra's, where the
    rank of A does not change)."""
    p, pt, tt = ans, _swap(ans), _swap(t)
    u = p @ (pt @ tt)
    w = (tt @ pt) @ p
    return -(p @ (t @ p)) + (u - (u @ a) @ p) + (w - p @ (a @ w))


def _pinv_aval(ins: dict, attrs: dict) -> Aval | None:
    """A's shape with its last two axes swapped, a float dtype (an int A's: float64)."""
    a = ins["a"]
    if a is None or a.shape is None or len(a.shape) < 2 or a.dtype is None:
        return None
    dtype = a.dtype if a.dtype.kind in "fc" else np.dtype(np.float64)
    return Aval((*a.shape[:-2], a.shape[-1], a.shape[-2]), dtype, ARRAY)


def _not_hermitian(attrs):
    if attrs["hermitian"] is not False:
        raise SymgradError(
            "np.linalg.pinv(a, hermitian=True) reads one triangle of a (its eigh), which "
            "symgrad does not differentiate",
            hint="Call np.linalg.pinv(a) (the same values for a symmetric a).",
        )


defrule(
    "pinv",
    "a, rcond=None, hermitian=False",
    call("np.linalg.pinv"),
    numpy=(np.linalg.pinv,),
    validate=_not_hermitian,
    aval=_pinv_aval,
    fresh=True,
    vjp={"a": _pinv_vjp},
    jvp={"a": _pinv_jvp},
    math="−Pᵀ v Pᵀ + (I − A P) vᵀ P Pᵀ + Pᵀ P vᵀ (I − P A), P = A⁺ (where A's rank is constant)",
    examples=(
        # (of a column and a row: both projections have a range; larger ones take SymPy a
        # minute)
        "np.linalg.pinv(a) | a: 3x1",
        "np.linalg.pinv(a) | a: 1x2",
        "np.linalg.pinv(a, rcond=1e-10) | a: 2x1x2",
    ),
)


defrule(
    "solve",
    "a, b",
    call("np.linalg.solve"),
    numpy=(np.linalg.solve,),
    vjp={
        "b": lambda g, a, b: ops.unbroadcast(ops.solve_vjp_b(g, a, b), ops.shape(b)),
        "a": lambda g, ans, a, b: ops.solve_vjp_a(ops.solve_vjp_b(g, a, b), a, b, ans),
    },
    jvp={"b": LINEAR, "a": lambda t, ans, a, b: ops.solve_jvp_a(t, a, b, ans)},
    math="B[b](v) = A⁻ᵀ v;  B[A](v) = −(A⁻ᵀ v) xᵀ",
    domain={"a": "invertible"},
    examples=(
        "np.linalg.solve(a, b) | a: 3x3 invertible, b: 3",
        "np.linalg.solve(a, b) | a: 3x3 invertible, b: 3x2",
        # a batch (what these add to the 3x3 examples) of 2x2 matrices, whose symbolic
        # inverses SymPy handles in a tenth of the time of 3x3 ones
        "np.linalg.solve(a, b) | a: 2x2x2 invertible, b: 2",
        "np.linalg.solve(a, b) | a: 2x2x2 invertible, b: 2x3",
    ),
)
# solve's helpers: x = A⁻¹b, y = A⁻ᵀ v (solve_vjp_b), −v xᵀ (solve_vjp_a), −A⁻¹ Ȧ x (solve_jvp_a),
# and the product m x they need (solve_matmul). Each takes b for its rank only (x is a stack of
# vectors where b is 1-D), and each one's derivatives are made of the others.


def _inv_times(v, a, b):
    """A⁻¹ v, shaped like x."""
    return ops.solve_vjp_b(v, _swap(a), b)


defrule(
    "solve_vjp_b",
    "ct, a, b",
    call("_solve_vjp_b"),
    helper=runtime._solve_vjp_b,
    vjp={  # y = A⁻ᵀ v: B[v](V) = A⁻¹ V;  B[A](V) = −y zᵀ with z = A⁻¹ V
        "ct": lambda g, a, b: _inv_times(g, a, b),
        "a": lambda g, ans, a, b: ops.solve_vjp_a(ans, a, b, _inv_times(g, a, b)),
    },
    jvp={"ct": LINEAR, "a": lambda t, ans, a, b: ops.solve_jvp_a(_swap(t), _swap(a), b, ans)},
    math="A⁻ᵀ v;  B[v](V) = A⁻¹ V;  B[A](V) = −y (A⁻¹ V)ᵀ, y = A⁻ᵀ v",
    domain={"a": "invertible"},
    examples=(
        "_solve_vjp_b(ct, a, b) | ct: 2, a: 2x2 invertible, b: 2 const",
        "_solve_vjp_b(ct, a, b) | ct: 2x3, a: 2x2 invertible, b: 2x3 const",
        "_solve_vjp_b(ct, a, b) | ct: 3x2, a: 3x2x2 invertible, b: 2 const",
        "_solve_vjp_b(ct, a, b) | ct: 3x2x2, a: 2x2 invertible, b: 3x2x2 const",
    ),
)
defrule(
    "solve_vjp_a",
    "ct, a, b, x",
    call("_solve_vjp_a"),
    helper=runtime._solve_vjp_a,
    vjp={  # bilinear in (v, x)
        "ct": lambda g, b, x: -ops.solve_matmul(g, x, b),
        "x": lambda g, ct, b: -ops.solve_matmul(_swap(g), ct, b),
    },
    jvp=LINEAR,
    math="−v xᵀ (summed to A's shape);  B[v](V) = −V x;  B[x](V) = −Vᵀ v",
    examples=(
        "_solve_vjp_a(ct, a, b, x) | ct: 3, a: 3x3 const, b: 3 const, x: 3",
        "_solve_vjp_a(ct, a, b, x) | ct: 3x2, a: 3x3 const, b: 3x2 const, x: 3x2",
        "_solve_vjp_a(ct, a, b, x) | ct: 2x3, a: 2x3x3 const, b: 3 const, x: 2x3",
        "_solve_vjp_a(ct, a, b, x) | ct: 2x3x2, a: 3x3 const, b: 2x3x2 const, x: 2x3x2",
    ),
)
defrule(
    "solve_jvp_a",
    "ct, a, b, x",
    call("_solve_jvp_a"),
    helper=runtime._solve_jvp_a,
    vjp={  # y = −A⁻¹ Ȧ x: with z = A⁻ᵀ V, B[Ȧ](V) = −z xᵀ, B[x](V) = −Ȧᵀ z, B[A](V) = −z yᵀ
        "ct": lambda g, ct, a, b, x: ops.solve_vjp_a(ops.solve_vjp_b(g, a, b), ct, b, x),
        "x": lambda g, ct, a, b: -ops.solve_matmul(_swap(ct), ops.solve_vjp_b(g, a, b), b),
        "a": lambda g, ans, a, b: ops.solve_vjp_a(ops.solve_vjp_b(g, a, b), a, b, ans),
    },
    jvp={"ct": LINEAR, "x": LINEAR, "a": lambda t, ans, a, b: ops.solve_jvp_a(t, a, b, ans)},
    math="−A⁻¹ Ȧ x (the tangent of solve along Ȧ);  B[Ȧ](V) = −z xᵀ, B[x](V) = −Ȧᵀ z, "
    "B[A](V) = −z yᵀ with z = A⁻ᵀ V, y the output",
    domain={"a": "invertible"},
    examples=(
        "_solve_jvp_a(ct, a, b, x) | ct: 2x2, a: 2x2 invertible, b: 2 const, x: 2",
        "_solve_jvp_a(ct, a, b, x) | ct: 2x2, a: 2x2 invertible, b: 2x3 const, x: 2x3",
        "_solve_jvp_a(ct, a, b, x) | ct: 3x2x2, a: 3x2x2 invertible, b: 2 const, x: 3x2",
        "_solve_jvp_a(ct, a, b, x) | ct: 2x2, a: 2x2 invertible, b: 3x2x2 const, x: 3x2x2",
    ),
)
defrule(
    "solve_matmul",
    "m, x, b",
    call("_solve_matmul"),
    helper=runtime._solve_matmul,
    vjp={  # bilinear: B[m](V) = V xᵀ, B[x](V) = mᵀ V
        "m": lambda g, m, b, x: -ops.solve_vjp_a(g, m, b, x),
        "x": lambda g, m, b, x: ops.unbroadcast(ops.solve_matmul(_swap(m), g, b), ops.shape(x)),
    },
    jvp=LINEAR,
    math="m x, x shaped like solve's output;  B[m](V) = V xᵀ;  B[x](V) = mᵀ V",
    examples=(
        "_solve_matmul(m, x, b) | m: 3x3, x: 3, b: 3 const",
        "_solve_matmul(m, x, b) | m: 2x3x3, x: 2x3, b: 3 const",
        "_solve_matmul(m, x, b) | m: 2x3x3, x: 3x2, b: 3x2 const",
        "_solve_matmul(m, x, b) | m: 3x3, x: 2x3x2, b: 2x3x2 const",
    ),
)
defrule(
    "det",
    "a",
    call("np.linalg.det"),
    numpy=(np.linalg.det,),
    vjp={"a": lambda g, a: ops.expand_dims(g, axis=(-1, -2)) * _swap(ops.adjugate(a))},
    jvp={"a": lambda t, a: ops.sum(_swap(ops.adjugate(a)) * t, axis=(-2, -1))},
    math="v adj(A)ᵀ (det(A) A⁻ᵀ where A is invertible; a singular A's too)",
    domain={"a": "invertible"},
    examples=("np.linalg.det(a) | a: 3x3 invertible", "np.linalg.det(a) | a: 2x3x3 invertible"),
)


def _adjugate_on_symbols(sp, a):
    """adj of each matrix of a stack of SymPy values (`Rule.symbolic`, for the proofs)."""
    out = np.empty(a.shape, dtype=object)
    for idx in np.ndindex(*a.shape[:-2]):
        out[idx] = np.array(sp.Matrix(a[idx]).adjugate(), dtype=object)
    return out


def _adjugate_vjp(g, ans, a):
    """d adj(A) = tr(A⁻¹ dA) adj(A) − adj(A) dA A⁻¹ (for an invertible A), transposed."""
    inv_t = _swap(ops.inv(a))
    return ops.sum(g * ans, axis=(-2, -1), keepdims=True) * inv_t - _swap(ans) @ g @ inv_t


defrule(
    "adjugate",
    "a",
    call("_adjugate"),
    helper=runtime._adjugate,
    numeric_helper=True,
    symbolic=_adjugate_on_symbols,
    fresh=True,
    value_feeds=True,
    aval=lambda ins, attrs: ins["a"],
    vjp={"a": _adjugate_vjp},
    jvp={
        "a": lambda t, ans, a: (
            ops.sum(_swap(ops.inv(a)) * t, axis=(-2, -1), keepdims=True) * ans
            - ans @ t @ ops.inv(a)
        )
    },
    math="⟨v, adj A⟩ A⁻ᵀ − adj(A)ᵀ v A⁻ᵀ",
    domain={"a": "invertible"},
    examples=("_adjugate(a) | a: 3x3 invertible", "_adjugate(a) | a: 2x2x2 invertible"),
)


# einsum -------------------------------------------------------------------------------------


ELLIPSIS = "*"  # '...' in a parsed term: the axes it stands for, broadcast across operands


def parse_einsum(subscripts: str, n: int) -> tuple[list[str], str]:
    """'ij,jk->ik' -> (['ij', 'jk'], 'ik'); '...ij,...jk' -> (['*ij', '*jk'], '*ik') (each
    '...' one `ELLIPSIS`); implicit output (no '->') made explicit, as NumPy makes it."""
    s = subscripts.replace(" ", "").replace("...", ELLIPSIS)
    if "." in s or any(term.count(ELLIPSIS) > 1 for term in s.replace("->", ",").split(",")):
        raise SymgradError(f"einsum {subscripts!r}: a '.' that is no one '...' per operand")
    lhs, _, out = s.partition("->")
    ins = lhs.split(",")
    if len(ins) != n:
        raise SymgradError(f"einsum {subscripts!r} names {len(ins)} operands but has {n}")
    if "->" not in s:
        letters = "".join(ins).replace(ELLIPSIS, "")
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
        out = ELLIPSIS * (ELLIPSIS in lhs) + out
    for k, term in enumerate(ins):
        if len(set(term)) != len(term) and ELLIPSIS in term:
            raise SymgradError(
                f"einsum {subscripts!r}: a repeated index (a diagonal) in an operand with "
                "'...' is not supported; take the diagonal first (np.diagonal)"
            )
        elsewhere = set(out).union(*(ins[:k] + ins[k + 1 :]))
        if ELLIPSIS in term and not set(term) <= elsewhere:  # (its cotangent, summed over
            raise SymgradError(  # those axes, put back along them: where they are, among
                # the '...' axes of a number not known here, is not known either)
                f"einsum {subscripts!r}: an operand with '...' and an index (or '...') that no "
                "other operand or the output has is not supported; sum those axes first "
                "(np.sum)"
            )
    return ins, out


def _einsum_vjp(g, operands, subscripts, optimize):
    ins, out = parse_einsum(subscripts, len(operands))
    grads = []
    for i, (term, x) in enumerate(zip(ins, operands)):
        others = [(t, o) for j, (t, o) in enumerate(zip(ins, operands)) if j != i]
        shape = ops.shape(x)
        if len(set(term)) == len(term):
            # over an index summed over, of another operand's length 1 there, gi's length is
            # 1 too (`'ij,ij'` of a (4, 1) and a (4, 3)): fitted to x
            gi = _einsum_cotangent(g, out, others, term, shape, optimize)
            grads.append(ops.fit(gi, x) if any(c not in out for c in term) else gi)
            continue
        # a diagonal (`'ii->i'`): the cotangent of the entries it reads, each index once, put
        # back on x's diagonal, zeros off it (times an identity per index met again)
        once = "".join(dict.fromkeys(term))
        lengths = ops.make_tuple(*(shape[term.index(c)] for c in once))
        on_it = _einsum_cotangent(g, out, others, once, lengths, optimize)
        fresh = iter(
            c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in subscripts
        )
        spelt, eyes, seen = "", [], set()
        for k, c in enumerate(term):
            if c in seen:
                f = next(fresh)
                eye = ops.astype(ops.eye(shape[k]), ops.dtype(on_it))
                spelt, eyes = spelt + f, eyes + [(c + f, eye)]
            else:
                spelt, seen = spelt + c, seen | {c}
        spec = ",".join([once] + [t for t, _ in eyes]) + "->" + spelt
        grads.append(ops.einsum([on_it] + [e for _, e in eyes], subscripts=spec))
    return grads


def _einsum_cotangent(g, out, others, term, shape, optimize):
    """The cotangent of an operand with the indices `term` (none repeated) and `shape`."""
    known = set(out).union(*(set(t) for t, _ in others))
    star = ELLIPSIS not in term and ELLIPSIS in known  # ('...' axes x lacks: summed below)
    kept = ELLIPSIS * star + "".join(c for c in term if c in known)
    spec = (",".join([out] + [t for t, _ in others]) + "->" + kept).replace(ELLIPSIS, "...")
    gi = ops.einsum([g] + [o for _, o in others], subscripts=spec, optimize=optimize)
    missing = tuple(k for k, c in enumerate(term) if c not in known)  # axes only x has
    if not missing:  # (`parse_einsum`: none in a term with '...'); x's length-1 axes einsum
        return ops.unbroadcast(gi, shape)  # broadcast, and '...' axes x lacks, summed
    if star:  # the '...' axes x lacks (gi's first), summed before x's own are put back
        lengths = (shape[k] for k, c in enumerate(term) if c in known)
        gi = ops.unbroadcast(gi, ops.make_tuple(*lengths))
    gi = ops.expand_dims(gi, axis=missing)
    # the length-1 axes einsum broadcast, summed to x's shape with 1 on the missing axes (an
    # unbroadcast's result has its target shape), then broadcast along those
    ones = ops.make_tuple(*(1 if k in missing else shape[k] for k in range(len(term))))
    return ops.broadcast_to(ops.unbroadcast(gi, ones), shape)


def _einsum_jvp(t, operands, subscripts, optimize):
    """The product rule: Σ_k einsum(operands with operand k replaced by its tangent)."""
    how = {"optimize": optimize}
    terms = [
        ops.einsum(operands[:k] + [tk] + operands[k + 1 :], subscripts=subscripts, **how)
        for k, tk in enumerate(t)
        if tk is not None
    ]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _emit_einsum(args, attrs, rule):
    optimize = attrs.get("optimize", False)  # the user's: the order of the contractions
    return ast.Call(
        ast.Attribute(ast.Name("np", ast.Load()), "einsum", ast.Load()),
        [ast.Constant(attrs["subscripts"]), *args[0].elts],
        [ast.keyword("optimize", ast.Constant(optimize))] if optimize is not False else [],
    )


def _einsum_view(attrs: dict) -> bool:
    """Whether NumPy's einsum returns a view of its operand: one operand, no index summed
    (`'ij->ji'`, a diagonal `'ii->i'`), which writes through it or to it reach the other."""
    terms, out = parse_einsum(attrs["subscripts"], attrs["n_operands"])
    return len(terms) == 1 and set(terms[0]) == set(out)


def _einsum_adapt(subscripts, *operands, optimize=False):
    """NumPy's spelling, subscripts first; `optimize` (a bool or a strategy's name) is taken on
    by the einsums of the derivatives."""
    if not isinstance(optimize, (bool, str)):
        message = "einsum's optimize= must be a constant: a bool or 'greedy'/'optimal'"
        raise undecided(optimize, message) if isinstance(optimize, Value) else SymgradError(message)
    return (list(operands),), {"subscripts": subscripts, "optimize": optimize}


def _einsum_aval(ins: dict, attrs: dict) -> Aval | None:
    """The output's shape from the subscripts: each output index's length in the operands
    (a length-1 axis broadcasts); a full contraction is a NumPy scalar."""
    avals = ins["operands"]
    if any(a is None or a.shape is None or a.dtype is None for a in avals):
        return None
    terms, out = parse_einsum(attrs["subscripts"], len(avals))
    sizes: dict[str, int | None] = {}
    spans = []  # the axes each operand's '...' stands for
    for term, a in zip(terms, avals):
        at, many = term.find(ELLIPSIS), len(a.shape) - len(term) + 1
        if len(term) != len(a.shape) and (at < 0 or many < 0):
            return None
        if at >= 0:
            spans.append(a.shape[at : at + many])
            term = term[:at] + "." * many + term[at + 1 :]  # ('.': axes sized by broadcasting)
        for c, n in zip(term, a.shape):
            sizes[c] = n if sizes.get(c) in (None, 1) else sizes[c]
    lengths = {ELLIPSIS: broadcast(spans) or ()} if spans else {}
    if spans and lengths[ELLIPSIS] is None:
        return None
    shape = tuple(n for c in out for n in lengths.get(c, (sizes.get(c),)))
    if any(n is None for n in shape):
        return None
    return Aval(shape, strong_dtype(*avals), ARRAY if shape else SCALAR)  # (np.asarray's)


defrule(
    "einsum",
    "[operands], subscripts=..., optimize=False",
    _emit_einsum,
    numpy=(np.einsum,),
    adapt=_einsum_adapt,
    view=_einsum_view,
    validate=lambda attrs: parse_einsum(attrs["subscripts"], attrs["n_operands"]),
    aval=_einsum_aval,
    vjp={"operands": _einsum_vjp},
    jvp={"operands": _einsum_jvp},
    batch={"operands": ("_einsum_batched", {})},
    math="v contracted with the other operands, back to the operand's indices",
    examples=(
        "np.einsum('ij,jk->ik', a, b) | a: 3x4, b: 4x2",
        "np.einsum('ij,j', a, b) | a: 3x4, b: 4",
        "np.einsum('bij,bjk->bik', a, b) | a: 2x3x4, b: 2x4x2",
        "np.einsum('ij,k->ik', a, b) | a: 3x4, b: 2",
        "np.einsum('ij->j', a) | a: 3x4",
        "np.einsum('ij,ij->', a, b) | a: 3x4, b: 3x4",
        "np.einsum('ij,jk,k->i', a, b, c) | a: 2x3, b: 3x4, c: 4",
        "np.einsum('ii->i', a) | a: 3x3",
        "np.einsum('ij,jj->', a, b) | a: 2x3, b: 3x3",
        "np.einsum('bii,bi->b', a, b) | a: 2x3x3, b: 2x3",
        "np.einsum('jrc,jic->jir', a, b, optimize=True) | a: 2x3x3, b: 2x4x3",
        "np.einsum('...ij,...jk->...ik', a, b) | a: 2x3x4, b: 4x2",
        "np.einsum('...i,...i', a, b) | a: 2x3, b: 3",
        "np.einsum('i...,i->...', a, b) | a: 3x2x2, b: 3",
    ),
)


defrule(
    "diagonal",
    "a, offset=0, axis1=0, axis2=1",
    call("np.diagonal"),
    numpy=(np.diagonal,),
    methods=("diagonal",),
    vjp={"a": lambda g, a, offset, axis1, axis2: ops.diagonal_vjp(g, a, offset, axis1, axis2)},
    jvp=LINEAR,
    view=True,  # (NumPy's: a read-only view of a)
    math="v on the diagonal of zeros like x",
    examples=(
        "np.diagonal(a) | a: 4x4",
        "a.diagonal(1) | a: 3x4",
        "np.diagonal(a, -1, 1, 2) | a: 2x3x3",
    ),
)
defrule(
    "diagonal_vjp",
    "ct, x, offset=0, axis1=0, axis2=1",
    call("_diagonal_vjp"),
    helper=runtime._diagonal_vjp,
    vjp={"ct": lambda g, offset, axis1, axis2: ops.diagonal(g, offset, axis1, axis2)},
    jvp=LINEAR,
    math="the diagonal of v",
    examples=("_diagonal_vjp(ct, x, 1) | ct: 3, x: 3x4 const",),
)
defrule(
    "diag",
    "v, k=0",
    call("np.diag"),
    numpy=(np.diag,),
    vjp={"v": lambda g, v, k: ops.diag_vjp(g, v, k)},
    jvp=LINEAR,
    view=True,  # (of a matrix, NumPy's diagonal view; of a vector, a new matrix)
    math="the k-th diagonal of v (a vector x); v on it, in zeros like x (a matrix x)",
    examples=("np.diag(v) | v: 3", "np.diag(v, -1) | v: 3", "np.diag(v, 1) | v: 3x4"),
)
defrule(
    "diag_vjp",
    "ct, v, k=0",
    call("_diag_vjp"),
    helper=runtime._diag_vjp,
    vjp={"ct": lambda g, k: ops.diag(g, k)},
    jvp=LINEAR,
    math="np.diag of v (each diag_vjp is the other's adjoint)",
    examples=(
        "_diag_vjp(ct, v, 1) | ct: 4x4, v: 3 const",
        "_diag_vjp(ct, v) | ct: 3, v: 3x4 const",
    ),
)


def _masked(name: str):
    """The mask of v, summed back to m's shape (np.triu of a vector makes a square matrix)."""
    return lambda g, m, k: ops.unbroadcast(getattr(ops, name)(g, k), ops.shape(m))


for _name in ("tril", "triu"):
    defrule(
        _name,
        "m, k=0",
        call(f"np.{_name}"),
        numpy=(getattr(np, _name),),
        vjp={"m": _masked(_name)},
        jvp=LINEAR,
        math=f"{_name} of v (a mask)",
        examples=(
            f"np.{_name}(m) | m: 3x4",
            f"np.{_name}(m, -1) | m: 2x3x3",
            f"np.{_name}(m, 1) | m: 4x4",
            f"np.{_name}(m, 1) * m | m: 3",
        ),
    )
