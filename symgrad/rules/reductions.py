"""Reductions over axes (`axis` an int, a tuple, negative, or None; `keepdims`).

Contract: the backward function of a reduction broadcasts the cotangent back over the reduced
axes (`_spread`), then applies the reduction's own factor: 1 for sum, 1/count for mean, the
argmax mask shared among ties for max and min, the centred input for var and std. The forward
(JVP) rules reduce the tangent the same way: sum and mean are linear; max and min average the
tangent over ties (JAX's convention), var and std contract it with the centred input.
prod's backward helper `prod_vjp` (v ⊙ the product of the other entries, exact where the input
has zeros) is differentiable again, through `prod_derivative`: the derivative tensors of prod
contracted with k vectors, whose own derivatives are the same rule with one vector more.
The running sums and products: cumsum's backward function is cumsum walked back; cumprod's are
linear scans (`linear_scan`, a loop over the axis) of v and the input, exact where the input has
zeros, and the scans and shifts they are made of are differentiable again.
"""

import math

import numpy as np

from symgrad.errors import SymgradError
from symgrad.ir.avals import ARRAY, SCALAR, Aval
from symgrad.rules import runtime
from symgrad.rules.build import ops
from symgrad.rules.elementwise import abs_slope
from symgrad.rules.table import LINEAR, Fold, call, defrule


def _spread(g, a, axis, keepdims):
    """The cotangent g of a reduction of a, broadcast back to a's shape."""
    if axis is not None and not keepdims:
        g = ops.expand_dims(g, axis=axis)
    return ops.broadcast_to(g, ops.shape(a))


def _count(a, ans, axis):
    """How many entries of a went into each entry of the reduction: the product of the
    reduced axes' lengths (an empty a's too: not size(a) / size(ans), which is 0 / 0)."""
    if axis is None:
        return ops.size(a)
    shape = ops.shape(a)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    n = shape[axes[0]]
    for k in axes[1:]:
        n = n * shape[k]
    return n


def _mean_vjp(g, ans, a, axis, keepdims):
    """v / n over the reduced axes; of an empty a (n may be 0) the empty cotangent, by v / 1
    (1.0 / 0 of Python numbers raises)."""
    n = ops.maximum(_count(a, ans, axis), 1, builtin="max")
    return _spread(g / n, a, axis, keepdims)


def _every_axis(ins: dict, attrs: dict) -> bool:
    """Numba reduces the whole array (`Rule.jit`), with no other argument."""
    return attrs.get("axis") is None and not attrs.get("keepdims") and not attrs.get("ddof")


def _one_axis(ins: dict, attrs: dict) -> bool:
    """Numba's np.sum also reduces along one axis given as an int."""
    return _every_axis(ins, attrs) or type(attrs.get("axis")) is int and not attrs.get("keepdims")


_FOLDS = {  # np.maximum: NaN at a NaN entry, as np.max gives (Python's max drops it)
    "sum": Fold(0, "{r} += {v}"),
    "mean": Fold(0, "{r} += {v}", mean=True),
    "max": Fold(float("-inf"), "{r} = np.maximum({r}, {v})"),
    "min": Fold(float("inf"), "{r} = np.minimum({r}, {v})"),
}


def reduction(name, vjp, jvp, math, numpy, extra="", domain="real", method=True):
    params = "a, axis=None" + extra + ", keepdims=False"
    ddof = ", ddof=1" if extra else ""
    examples = (
        f"np.{name}(a) | a: 3x4 {domain}",
        f"np.{name}(a, axis=1{ddof}) | a: 3x4 {domain}",
        f"np.{name}(a, axis=(0, 2), keepdims=True) | a: 2x3x4 {domain}",
        f"{'a.' if method else 'np.'}{name}({'' if method else 'a, '}axis=-1) | a: 2x3x4 {domain}",
        f"np.{name}(a, 0) | a: 3x4 {domain}",
    )
    defrule(
        name,
        params,
        call(f"np.{name}", method=name if method else None),
        numpy=numpy,
        methods=(name,) if method else (),
        vjp={"a": vjp},
        jvp={"a": jvp},
        math=math,
        shape="reduce",
        domain={"a": domain},
        examples=examples,
        fold=_FOLDS.get(name),
        jit=_one_axis if name == "sum" else _every_axis,
        batch={"a": (f"_{name}_batched", {})} if name in ("sum", "mean") else {},
    )


def _extreme_vjp(g, ans, a, axis, keepdims):
    peak = ops.equal(a, _spread(ans, a, axis, keepdims))
    ties = ops.sum(peak, axis=axis, keepdims=True)
    return _spread(g, a, axis, keepdims) * peak / ties


def _extreme_jvp(t, ans, a, axis, keepdims):
    """The tangent at the maxima (minima), averaged over ties: JAX's rule for reduce_max (the
    other entries' tangents, NaN at a NaN entry of nanmax's, taken as none)."""
    peak = ops.equal(a, _spread(ans, a, axis, keepdims))
    ties = ops.sum(peak, axis=axis, keepdims=True)
    return ops.sum(ops.where(peak, t, 0.0) / ties, axis=axis, keepdims=keepdims)


def _prod_jvp(t, ans, a, axis, keepdims):
    """Σ t ⊙ (the product of the other entries): exact where a has zeros."""
    others = ops.prod_vjp(ops.ones_like(ans), a, axis=axis, keepdims=keepdims)
    return ops.sum(t * others, axis=axis, keepdims=keepdims)


def _dof(a, ans, axis, ddof):
    n = _count(a, ans, axis)
    return n - ddof if ddof else n


def _var_vjp(g, ans, a, axis, ddof, keepdims):
    centred = a - ops.mean(a, axis=axis, keepdims=True)
    return _spread(g, a, axis, keepdims) * (2 * centred / _dof(a, ans, axis, ddof))


def _std_vjp(g, ans, a, axis, ddof, keepdims):
    centred = a - ops.mean(a, axis=axis, keepdims=True)
    return _spread(g / ans, a, axis, keepdims) * (centred / _dof(a, ans, axis, ddof))


def _var_jvp(t, ans, a, axis, ddof, keepdims):
    centred = a - ops.mean(a, axis=axis, keepdims=True)
    return 2 * ops.sum(centred * t, axis=axis, keepdims=keepdims) / _dof(a, ans, axis, ddof)


def _std_jvp(t, ans, a, axis, ddof, keepdims):
    centred = a - ops.mean(a, axis=axis, keepdims=True)
    return ops.sum(centred * t, axis=axis, keepdims=keepdims) / (_dof(a, ans, axis, ddof) * ans)


reduction(
    "sum",
    lambda g, a, axis, keepdims: _spread(g, a, axis, keepdims),
    LINEAR,
    "broadcast v over the reduced axes",
    (np.sum,),
)
reduction(
    "mean",
    _mean_vjp,
    LINEAR,
    "broadcast v / n over the reduced axes",
    (np.mean,),
)
reduction(
    "nansum",
    lambda g, a, axis, keepdims: ops.where(ops.isnan(a), 0.0, _spread(g, a, axis, keepdims)),
    lambda t, a, axis, keepdims: ops.sum(
        ops.where(ops.isnan(a), 0.0, t), axis=axis, keepdims=keepdims
    ),
    "broadcast v over the reduced axes, 0 at NaNs",
    (np.nansum,),
    method=False,
)
reduction(
    "prod",
    lambda g, a, axis, keepdims: ops.prod_vjp(g, a, axis=axis, keepdims=keepdims),
    _prod_jvp,
    "broadcast v over the reduced axes, ⊙ the product of the other entries",
    (np.prod,),
    domain="withzero",
)
defrule(
    "prod_vjp",
    "ct, a, axis=None, keepdims=False",
    call("_prod_vjp"),
    helper=runtime._prod_vjp,
    vjp={  # linear in ct; in a, the Hessian H of prod (symmetric) applied to spread(ct) ⊙ v
        "ct": lambda g, ct, a, axis, keepdims: _prod_jvp(g, ct, a, axis, keepdims),
        "a": lambda g, ct, a, axis, keepdims: ops.prod_derivative(
            a, [_spread(ct, a, axis, keepdims) * g], axis=axis
        ),
    },
    jvp={
        "ct": LINEAR,
        "a": lambda t, ct, a, axis, keepdims: (
            _spread(ct, a, axis, keepdims) * ops.prod_derivative(a, [t], axis=axis)
        ),
    },
    math="v ⊙ the product of the other entries;  B[ct](V) = Σ V ⊙ that product;  "
    "B[a](V) = H (spread(ct) ⊙ V), H the Hessian of prod",
    domain={"a": "withzero"},
    examples=(
        "_prod_vjp(ct, a) | ct: , a: 3x4 withzero",
        "_prod_vjp(ct, a, axis=1) | ct: 3, a: 3x4 withzero",
        "_prod_vjp(ct, a, axis=(0, 2), keepdims=True) | ct: 1x3x1, a: 2x3x4 withzero",
    ),
)


def _without(vs, m):
    return vs[:m] + vs[m + 1 :]


def _prod_derivative_jvp(t, a, vs, axis):
    """Multilinear in vs: Σₘ the derivative with vₘ replaced by its tangent."""
    terms = [
        ops.prod_derivative(a, vs[:m] + [tm] + vs[m + 1 :], axis=axis)
        for m, tm in enumerate(t)
        if tm is not None
    ]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


# The derivatives of prod's `others` are the derivative tensors of prod, which are symmetric in
# all their indices: so differentiating once more (in a, or in one of the vs) is the same rule
# with one more vector, and the chain of derivatives closes on this one rule.
defrule(
    "prod_derivative",
    "a, [vs], axis=None",
    call("_prod_derivative"),
    helper=runtime._prod_derivative,
    vjp={
        "a": lambda g, a, vs, axis: ops.prod_derivative(a, [g, *vs], axis=axis),
        "vs": lambda g, a, vs, axis: [
            ops.prod_derivative(a, [g, *_without(vs, m)], axis=axis) for m in range(len(vs))
        ],
    },
    jvp={
        "a": lambda t, a, vs, axis: ops.prod_derivative(a, [*vs, t], axis=axis),
        "vs": _prod_derivative_jvp,
    },
    shape="first",
    math="Dᵏ⁺¹prod(eᵢ, v₁, …, vₖ): Σ over distinct j₁…jₖ ≠ i of Π vₘ[jₘ] × the other entries;  "
    "B[a](V) and B[vₘ](V): the same with V for one more vector (for vₘ)",
    domain={"a": "withzero"},
    examples=(
        "_prod_derivative(a, [v]) | a: 2x3 withzero, v: 2x3",
        "_prod_derivative(a, [v], axis=1) | a: 3x4 withzero, v: 3x4",
        "_prod_derivative(a, [v, w], axis=(0, 2)) | a: 2x2x3 withzero, v: 2x2x3, w: 2x2x3",
    ),
)
reduction(
    "max",
    _extreme_vjp,
    _extreme_jvp,
    "v at the maxima, shared evenly among ties",
    (np.max, np.amax),
)
reduction(
    "min",
    _extreme_vjp,
    _extreme_jvp,
    "v at the minima, shared evenly among ties",
    (np.min, np.amin),
)
reduction(
    "nanmax",
    _extreme_vjp,
    _extreme_jvp,
    "v at the maxima, NaNs aside, shared evenly among ties",
    (np.nanmax,),
    method=False,
)
reduction(
    "nanmin",
    _extreme_vjp,
    _extreme_jvp,
    "v at the minima, NaNs aside, shared evenly among ties",
    (np.nanmin,),
    method=False,
)
reduction(
    "var", _var_vjp, _var_jvp, "broadcast v ⊙ 2(a − mean a)/(n − ddof)", (np.var,), extra=", ddof=0"
)
reduction(
    "std",
    _std_vjp,
    _std_jvp,
    "broadcast v ⊙ (a − mean a)/((n − ddof) std a)",
    (np.std,),
    extra=", ddof=0",
)


def _vector_ord(ord_) -> bool:
    """Whether ord names a vector norm (a p-norm, p > 0 or ±inf) other than the 2-norm."""
    number = isinstance(ord_, (int, float, np.integer, np.floating)) and not isinstance(ord_, bool)
    return number and (ord_ > 0 or ord_ == -np.inf) and ord_ != 2


def _norm_ord(attrs):
    """The 2-norm of vectors and the Frobenius norm of matrices; along one axis, a p-norm of
    vectors (ord=1, 2, 3.5, np.inf, -np.inf; a matrix's own norms are not differentiated)."""
    ord_, axis = attrs["ord"], attrs["axis"]
    if ord_ is None or ord_ == "fro" or (ord_ == 2 or _vector_ord(ord_)) and isinstance(axis, int):
        return
    raise SymgradError(
        f"np.linalg.norm with ord={ord_!r}{'' if axis is None else f' and axis={axis!r}'} is not "
        "supported; the 2-norm and Frobenius norm (ord=None), and a vector's p-norm (ord=1, 2, "
        "3.5, np.inf: of a vector, or along an int axis) are"
    )


def _as_vector(x, ord=None, axis=None, keepdims=False):
    """np.linalg.norm(x, ord) of a p-norm (ord=1, 2, np.inf) of all of x: a vector's, which
    symgrad differentiates (`vector_norm`, `Rule.route`); of a matrix, a matrix norm."""
    if axis is None and (ord == 2 or _vector_ord(ord)):
        return "vector_norm", (x,), {"ord": ord, "keepdims": keepdims}
    return None


def _slopes(ans, x, ord, axis, keepdims):
    """d ans / d x of a p-norm along axis: sign x ⊙ |x|^(p-1) / ans^(p-1); for ±inf, sign x at
    the entries of largest (smallest) |x|, shared among ties."""
    if ord == 1:
        return abs_slope(x)
    if ord in (np.inf, -np.inf):
        peak = ops.equal(ops.abs(x), _spread(ans, x, axis, keepdims))
        return abs_slope(x) * peak / ops.sum(peak, axis=axis, keepdims=True)
    return abs_slope(x) * (ops.abs(x) / _spread(ans, x, axis, keepdims)) ** (ord - 1)


def _norm_vjp(g, ans, x, ord, axis, keepdims):
    if ord in (None, "fro", 2):  # (v / ‖x‖ first: n ** 2's 2 n v / n then cancels to 2 v)
        return _spread(g / ans, x, axis, keepdims) * x
    return _spread(g, x, axis, keepdims) * _slopes(ans, x, ord, axis, keepdims)


def _norm_jvp(t, ans, x, ord, axis, keepdims):
    if ord in (None, "fro", 2):
        return ops.sum(x * t, axis=axis, keepdims=keepdims) / ans
    return ops.sum(t * _slopes(ans, x, ord, axis, keepdims), axis=axis, keepdims=keepdims)


defrule(
    "norm",
    "x, ord=None, axis=None, keepdims=False",
    call("np.linalg.norm"),
    numpy=(np.linalg.norm,),
    vjp={"x": _norm_vjp},
    jvp={"x": _norm_jvp},
    shape="reduce",
    validate=_norm_ord,
    route=_as_vector,
    examples=(
        "np.linalg.norm(x) | x: 3x4",
        "np.linalg.norm(x, axis=1) | x: 3x4",
        "np.linalg.norm(x, axis=0, keepdims=True) | x: 3x4",
        "np.linalg.norm(x, 1, axis=1) | x: 3x4 nonzero",
        "np.linalg.norm(x, np.inf, axis=0) | x: 3x4 nonzero",
        "np.linalg.norm(x, 3, axis=-1, keepdims=True) | x: 3x4 nonzero",
    ),
    math="broadcast v ⊙ sign x ⊙ |x|^(p-1) / ‖x‖_p^(p-1) over the reduced axes (p = 2: v / ‖x‖ "
    "⊙ x, also Frobenius; p = 1: sign x; ±inf: sign x at the extreme entries, shared by ties)",
)


def _vector_norm_vjp(g, ans, x, ord, keepdims):
    return _norm_vjp(g, ans, ops.vector(x), ord, None, keepdims)  # (all of a vector)


def _vector_norm_jvp(t, ans, x, ord, keepdims):
    return _norm_jvp(t, ans, ops.vector(x), ord, None, keepdims)


def _vector_norm_aval(x, keepdims: bool) -> Aval | None:
    """A vector's p-norm: a number of its float dtype (float32 or float64), or, kept, one
    entry; of what is known to be no vector, refused where it is written (the module for any
    shapes raises where it runs: `runtime._vector`)."""
    if x is not None and x.kind == ARRAY and x.shape is not None and len(x.shape) != 1:
        raise SymgradError(
            f"np.linalg.norm(x, ord) of an array of shape {x.shape} is a matrix norm, which "
            "symgrad does not differentiate (a vector's p-norm it does)"
        )
    if x is None or x.dtype is None or x.dtype.kind not in "fc":
        return None
    dtype = np.dtype(np.float32) if x.dtype in (np.float32, np.complex64) else np.dtype(float)
    return Aval((1,), dtype, ARRAY) if keepdims else Aval((), dtype, SCALAR)


def _of_a_vector(ins: dict):
    """A vector_norm of what is known to be a vector: np.linalg.norm along its axis."""
    x = ins["x"]
    if x is None or x.kind != ARRAY or x.shape is None or len(x.shape) != 1:
        return None
    return lambda x, ord, keepdims: ops.norm(x, ord=ord, axis=0, keepdims=keepdims)


defrule(
    "vector_norm",
    "x, ord=None, keepdims=False",
    call("_vector_norm"),
    helper=runtime._vector_norm,
    vjp={"x": _vector_norm_vjp},
    jvp={"x": _vector_norm_jvp},
    aval=lambda ins, attrs: _vector_norm_aval(ins["x"], attrs["keepdims"]),
    specialise=_of_a_vector,
    examples=(
        "np.linalg.norm(x, 1) | x: 4 nonzero",
        "np.linalg.norm(x, -np.inf) | x: 4 nonzero",
        "np.linalg.norm(x, ord=2.5, keepdims=True) | x: 4 nonzero",
        "np.linalg.norm(x, 2) | x: 3",
    ),
    math="as norm's along the one axis (it raises where x is not a vector)",
)


def _vector_alone(ins: dict):
    """`_vector(x)` of what is known to be a vector: x."""
    x = ins["x"]
    known = x is not None and x.kind == ARRAY and x.shape is not None and len(x.shape) == 1
    return (lambda x: x) if known else None


defrule(
    "vector",
    "x",
    call("_vector"),
    helper=runtime._vector,
    vjp={"x": lambda g: g},
    jvp=LINEAR,
    view=True,
    aval=lambda ins, attrs: ins["x"],
    specialise=_vector_alone,
    examples=("_vector(x) | x: 4",),
    math="v (it raises where x is not a vector)",
)


def _cumsum_vjp(g, a, axis):
    """The sums of v from each position to the end: np.cumsum walked back, in a's shape (the
    cumsum of a 0-d a along axis 0 has one axis)."""
    if axis is None:  # along the flattened a
        g, axis = ops.ravel(g), 0
    back = ops.flip(ops.cumsum(ops.flip(g, axis=axis), axis=axis), axis=axis)
    return ops.reshape(back, ops.shape(a))


def _cumulative(name: str):
    """The shape rule of np.cumsum and np.cumprod: a's shape along an axis, its size of every
    entry (axis=None), in NumPy's dtype of the running totals (an int64 of ints and bools)."""
    op = getattr(np, name)

    def aval(ins: dict, attrs: dict) -> Aval | None:
        a, axis = ins["a"], attrs["axis"]
        if a is None or a.shape is None or a.dtype is None or None in a.shape:
            return None
        if axis is not None and not (type(axis) is int and -len(a.shape) <= axis < len(a.shape)):
            return None
        shape = (math.prod(a.shape),) if axis is None else a.shape
        return Aval(shape, op(np.ones(1, a.dtype)).dtype, ARRAY)

    return aval


defrule(
    "cumsum",
    "a, axis=None",
    call("np.cumsum"),
    numpy=(np.cumsum,),
    methods=("cumsum",),
    aval=_cumulative("cumsum"),
    vjp={"a": _cumsum_vjp},
    jvp=LINEAR,
    math="the sums of v from each position on: flip(cumsum(flip(v)))",
    examples=(
        "np.cumsum(a, axis=1) | a: 3x4",
        "a.cumsum() | a: 2x3",
        "np.cumsum(a, axis=0) | a: 5",
        "np.cumsum(np.sum(a), axis=0) | a: 3",
    ),
)


def _differences(sign: int):
    """The shape rule of np.diff (sign -1: n entries fewer along axis, none below 0) and of its
    VJP (sign 1: n more), in the array's dtype (floats: np.diff of booleans is another op)."""

    def aval(ins: dict, attrs: dict) -> Aval | None:
        a = next(iter(ins.values()))
        n, axis = attrs.get("n", 1), attrs.get("axis", -1)
        if a is None or a.shape is None or a.dtype is None or a.dtype.kind not in "fc":
            return None
        if not a.shape or not -len(a.shape) <= axis < len(a.shape):
            return None
        shape = list(a.shape)
        if shape[axis] is not None:
            shape[axis] = max(shape[axis] + sign * n, 0)
        return Aval(tuple(shape), a.dtype, ARRAY)

    return aval


def _one_or_more(attrs):
    n, axis = attrs.get("n", 1), attrs.get("axis", -1)
    if type(n) is not int or n < 1 or type(axis) is not int:
        raise SymgradError(
            f"np.diff with n={n!r}, axis={axis!r} is not supported: n a constant int of at least "
            "1 and axis a constant int are (n=0 gives the array itself: use it)"
        )


defrule(
    "diff",
    "a, n=1, axis=-1",
    call("np.diff"),  # (np.diff itself: `composites_arrays`, its prepend and append joined)
    validate=_one_or_more,
    aval=_differences(-1),
    fresh=True,
    vjp={"a": lambda g, n, axis: ops.diff_vjp(g, n=n, axis=axis)},
    jvp=LINEAR,
    math="v's differences' adjoint n times: (Dᵀv)[j] = v[j − 1] − v[j] (0 past the ends)",
    examples=(
        "np.diff(a) | a: 5",
        "np.diff(a, 2) * a[:3] | a: 5",
        "np.diff(a, n=2, axis=0) | a: 4x3",
    ),
)
defrule(
    "diff_vjp",
    "ct, n=1, axis=-1",
    call("_diff_vjp"),
    helper=runtime._diff_vjp,
    aval=_differences(1),
    fresh=True,
    vjp={"ct": lambda g, n, axis: ops.diff(g, n=n, axis=axis)},
    jvp=LINEAR,
    math="np.diff of v, n times (each is the other's adjoint)",
    examples=("_diff_vjp(ct, 1, -1) | ct: 3x4", "_diff_vjp(ct, 2, 0) | ct: 2x3"),
)


# cumprod and the linear scans its derivatives are made of ---------------------------------------
# y = cumprod(x) has y[j] = x[j] y[j - 1], so its tangent is the linear recurrence
# ẏ[j] = x[j] ẏ[j - 1] + ẋ[j] y[j - 1]: a `linear_scan` L_x(ẋ ⊙ E), E the exclusive products
# (`shift` of y, 1 first). A scan's transpose is the scan the other way, with the coefficients
# shifted one place (Lᵀ_{+, a} = L_{−, shift(a, −1)}), and its derivative in the coefficients is
# the scan of ȧ ⊙ shift(r): no division, so entries equal to 0 are exact, and every derivative
# is made of scans and shifts again.


def _flat(x, axis):
    """(x, axis) as NumPy reads them: x flattened along axis 0 for axis=None, a number as a
    vector of one entry."""
    return (ops.ravel(x), 0) if axis is None else (ops.atleast_1d(x), axis)


def _exclusive(y, axis):
    return ops.shift(y, 1, axis, fill=1.0)


def _cumprod_vjp(g, a, ans, axis):
    x, ax = _flat(a, axis)
    y, v = _flat(ans, axis)[0], _flat(g, axis)[0]
    back = ops.linear_scan(v, ops.shift(x, -1, ax), ax, reverse=True) * _exclusive(y, ax)
    return ops.reshape(back, ops.shape(a))


def _cumprod_jvp(t, a, ans, axis):
    x, ax = _flat(a, axis)
    return ops.linear_scan(_flat(t, axis)[0] * _exclusive(_flat(ans, axis)[0], ax), x, ax)


defrule(
    "cumprod",
    "a, axis=None",
    call("np.cumprod"),
    numpy=(np.cumprod,),
    methods=("cumprod",),
    aval=_cumulative("cumprod"),
    vjp={"a": _cumprod_vjp},
    jit=lambda ins, attrs: attrs["axis"] is None and getattr(ins["a"], "kind", None) == ARRAY,
    jvp={"a": _cumprod_jvp},
    math="Σ over later j of v[j] times the products of the other entries up to j: the scan "
    "s[i] = v[i] + x[i+1] s[i+1] back, times the products before i (no division: exact at 0)",
    examples=(
        "np.cumprod(a, axis=1) | a: 3x4 withzero",
        "a.cumprod() | a: 2x3",
        "np.cumprod(a, axis=0) | a: 4x2 withzero",
    ),
)


def _direction(reverse):
    return -1 if reverse else 1


defrule(
    "linear_scan",
    "c, a, axis=-1, reverse=False",
    call("_linear_scan"),
    helper=runtime._linear_scan,
    vjp={
        "c": lambda g, a, axis, reverse: _scan_transposed(g, a, axis, reverse),
        "a": lambda g, a, ans, axis, reverse: (
            _scan_transposed(g, a, axis, reverse) * ops.shift(ans, _direction(reverse), axis)
        ),
    },
    jvp={
        "c": LINEAR,
        "a": lambda t, a, ans, axis, reverse: ops.linear_scan(
            t * ops.shift(ans, _direction(reverse), axis), a, axis, reverse
        ),
    },
    math="r[j] = a[j] r[j∓1] + c[j]:  B[c](v) = the scan of v the other way, coefficients "
    "a shifted one place;  B[a](v) = B[c](v) ⊙ r shifted one place",
    examples=(
        "_linear_scan(c, a, 1) | c: 3x4, a: 3x4",
        "_linear_scan(c, a, 0, True) | c: 3x2, a: 3x2",
    ),
)


def _scan_transposed(g, a, axis, reverse):
    d = _direction(reverse)
    return ops.linear_scan(g, ops.shift(a, -d, axis), axis, not reverse)


defrule(
    "shift",
    "x, by=1, axis=-1, fill=0.0",
    call("_shift"),
    helper=runtime._shift,
    vjp={"x": lambda g, by, axis: ops.shift(g, -by, axis)},
    jvp={"x": lambda t, by, axis: ops.shift(t, by, axis)},
    math="v shifted back, 0 where nothing moved in",
    examples=("_shift(x, 1, 0, fill=1.0) | x: 3x2", "_shift(x, -2) | x: 2x4"),
)


defrule(  # (np.average's weights, before they multiply a: `symgrad.frontend.composites`)
    "weights_shape",
    "a, weights, axis=None",
    call("_weights_shape"),
    helper=runtime._weights_shape,
    nondiff=True,
    reads_shape=True,
    shape_reads=(0, 1),
    fresh=True,
    math="the weights' shape for a's axes (np.average)",
)
