"""Batching rules: primitives applied to a whole batch of tangents or cotangents at once.

Contract: a batched value carries one extra, trailing axis: column k is the value for seed k (the
Jacobian drivers seed the k-th unit vector). Elementwise primitives batch by NumPy broadcasting
alone, once their unbatched operands get a trailing axis of length 1 (the pass does that). A
rule's `batch` names, per batched parameter, the runtime function below that computes the
primitive column by column in one vectorised call; `getitem` and `index_add` batch by one more
`:` in their index. Any other primitive emitted as a call is applied by `_per_column`, a loop
over the columns of that one call. Everything here is emitted into modules like the runtime
helpers (`batched` is the one rule that calls them); nothing here is differentiated again.
"""

from __future__ import annotations

import ast

import numpy as np

from symgrad.rules.runtime import _matmul_vjp_a, _matmul_vjp_b
from symgrad.rules.table import defrule, dotted, literal


def _batch_axes(a, axis):
    """The axes `axis` names among a's logical axes (all but the trailing batch axis)."""
    nd = np.ndim(a) - 1
    if axis is None:
        return tuple(range(nd))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(np.lib.array_utils.normalize_axis_index(ax, nd) for ax in axes)  # (AxisError)


def _sum_batched(a, axis=None, keepdims=False):
    return np.sum(a, axis=_batch_axes(a, axis), keepdims=keepdims)


def _mean_batched(a, axis=None, keepdims=False):
    return np.mean(a, axis=_batch_axes(a, axis), keepdims=keepdims)


def _batch_first(t, rank):
    """t with its batch axis moved first and axes of length 1 after it, so that its logical
    shape has at least `rank` axes (the batch axis never meets another operand's axes)."""
    t = np.moveaxis(t, -1, 0)
    pad = rank - (np.ndim(t) - 1)
    return np.reshape(t, np.shape(t)[:1] + (1,) * pad + np.shape(t)[1:]) if pad > 0 else t


def _matmul_batched(a, b, batched="b"):
    """a @ b where the `batched` operand has a trailing batch axis. A matrix times a matrix
    per column is one product of matrices (the columns side by side, one BLAS call where a
    stack of products makes one per column: 10x faster for 26 columns of 10^4 x 88 @ 88 x 3)."""
    if batched == "b":
        if np.ndim(b) == 2:  # a vector per column: the columns are a matrix
            return a @ b
        if np.ndim(a) == 2 and np.ndim(b) == 3:  # (m, n) @ (n, p, k): (m, p * k) at once
            n, p, k = np.shape(b)  # (spelt out: -1 is ambiguous in an empty array's shape)
            return np.reshape(a @ np.reshape(b, (n, p * k)), (np.shape(a)[0], p, k))
        return np.moveaxis(a @ _batch_first(b, np.ndim(a)), 0, -1)
    if np.ndim(a) == 2:  # a vector per column
        return b @ a if np.ndim(b) == 1 else np.swapaxes(b, -1, -2) @ a
    if np.ndim(b) == 2:  # matrices (..., m, n) per column times one (n, p): the columns as rows
        return np.swapaxes(np.swapaxes(a, -1, -2) @ b, -1, -2)  # (2x faster than a stack)
    return np.moveaxis(_batch_first(a, np.ndim(b)) @ b, 0, -1)


def _unbroadcast_batched(ct, shape):
    """_unbroadcast of each column of ct to `shape`."""
    extra = np.ndim(ct) - 1 - len(shape)
    if extra > 0:
        ct = np.sum(ct, axis=tuple(range(extra)))
    elif extra < 0:
        ct = np.reshape(ct, (1,) * -extra + np.shape(ct))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and np.shape(ct)[i] != 1)
    return np.sum(ct, axis=axes, keepdims=True) if axes else ct


def _fit_batched(ct, x):
    """_fit of each column of ct to x: x's shape and dtype, one column per seed."""
    ct = _unbroadcast_batched(ct, np.shape(x))
    dtype = x.dtype if hasattr(x, "dtype") else np.float64
    return np.array(np.broadcast_to(ct, np.shape(x) + np.shape(ct)[-1:]), dtype=dtype)


def _updated_batched(v, a, what="", casting="same_kind", both=False):
    """_updated of each column of v (a trailing batch axis) for a, batched too where `both`
    (`x += ...` of a mapped x)."""
    if not isinstance(a, np.ndarray):
        return v
    shape = np.shape(v) if both else np.shape(v)[:-1]
    if shape != a.shape:
        raise ValueError(
            f"symgrad: {what} makes a value of shape {shape}, which the array it updates in "
            f"place, of shape {a.shape}, cannot hold (non-broadcastable output)"
        )
    if not np.can_cast(np.result_type(v), a.dtype, casting):
        raise TypeError(f"symgrad: {what}: cannot cast {np.result_type(v)} to {a.dtype}")
    return np.asarray(v, dtype=a.dtype)


def _broadcast_to_batched(array, shape):
    return np.broadcast_to(array, tuple(shape) + np.shape(array)[-1:])


def _logical_size(a) -> int:
    """The number of entries of each column of a (its axes but the trailing batch axis)."""
    return int(np.prod(np.shape(a)[:-1]))


def _reshape_batched(a, shape):
    shape = (shape,) if np.ndim(shape) == 0 else tuple(shape)
    if -1 in shape:  # (spelt out: beside a batch of no seeds, -1 is ambiguous)
        known = int(np.prod([d for d in shape if d != -1]))
        shape = tuple(_logical_size(a) // known if d == -1 and known else d for d in shape)
    return np.reshape(a, shape + np.shape(a)[-1:])


def _ravel_batched(a):
    return np.reshape(a, (_logical_size(a),) + np.shape(a)[-1:])


def _transpose_batched(a, axes=None):
    nd = np.ndim(a) - 1
    axes = tuple(reversed(range(nd))) if axes is None else tuple(ax % nd for ax in axes)
    return np.transpose(a, axes + (nd,))


def _swapaxes_batched(a, axis1, axis2):
    nd = np.ndim(a) - 1
    return np.swapaxes(a, axis1 % nd, axis2 % nd)


def _expand_dims_batched(a, axis):
    nd = np.ndim(a) - 1 + (len(axis) if isinstance(axis, tuple) else 1)
    axes = tuple(ax % nd for ax in (axis if isinstance(axis, tuple) else (axis,)))
    return np.expand_dims(a, axes)


def _unmapped(v):
    """v, which has no batch axis, made to broadcast against an operand that has one (last):
    an array with an axis gets a length-1 axis there; a number stays as it is (a Python float
    then keeps the dtype of the arrays it meets, as in the unbatched function)."""
    return np.expand_dims(v, -1) if np.ndim(v) else v


def _with_batch(x, v):
    """x broadcast to carry v's batch axis (a template for the shape of a scatter's result)."""
    return np.broadcast_to(np.expand_dims(x, -1), np.shape(x) + np.shape(v)[-1:])


def _front_like(x, g):
    """x with g's batch axis first (broadcast), then axes of length 1 up to g's logical rank."""
    pad = max(np.ndim(g) - 1 - np.ndim(x), 0)
    shape = (1,) * pad + np.shape(x)
    return np.broadcast_to(np.reshape(x, (1,) + shape), np.shape(g)[-1:] + shape)


def _matmul_vjp_a_batched(g, a, b):
    """_matmul_vjp_a for a batch of cotangents g: the batch becomes a leading stack axis. A
    vector a before a stack of matrices b is the row a[None, :], g's row axis put back."""
    if np.ndim(a) == 1 and np.ndim(b) > 2:
        return _matmul_vjp_a_batched(np.expand_dims(g, -3), a[None, :], b)[0]
    out = _matmul_vjp_a(np.moveaxis(g, -1, 0), _front_like(a, g), b)
    return np.moveaxis(np.reshape(out, np.shape(g)[-1:] + np.shape(a)), 0, -1)


def _matmul_vjp_b_batched(g, a, b):
    """_matmul_vjp_b for a batch of cotangents g: a vector b becomes a matrix of columns, or
    the batch a leading stack axis."""
    if np.ndim(b) == 1:
        return _matmul_vjp_b(g, a, _with_batch(b, g))
    out = _matmul_vjp_b(np.moveaxis(g, -1, 0), a, _front_like(b, g))
    return np.moveaxis(np.reshape(out, np.shape(g)[-1:] + np.shape(b)), 0, -1)


def _einsum_batched(*operands, subscripts, optimize=False, batched=()):
    """np.einsum where the operands at positions `batched` have a trailing batch axis: one more
    index, new to the subscripts, on those and on the output."""
    terms, _, out = subscripts.replace(" ", "").partition("->")
    terms = terms.split(",")
    if "->" not in subscripts:  # (the implicit output: '...', then the indices met once)
        letters = "".join(terms).replace("...", "")
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
        out = "..." * ("..." in subscripts) + out
    z = next(
        c for c in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in subscripts
    )
    terms = [t + z if k in batched else t for k, t in enumerate(terms)]
    return np.einsum(",".join(terms) + "->" + out + z, *operands, optimize=optimize)


def _joined_batched(*arrays, axis=0, batched=(), stacked=False):
    """np.stack (`stacked`) or np.concatenate of arrays of which those at positions `batched`
    have a trailing batch axis: the others are broadcast along one, and `axis` counts the
    logical axes (None: concatenate's flattened arrays)."""
    n = np.shape(arrays[batched[0]])[-1]
    cols = [
        a if k in batched else np.broadcast_to(np.expand_dims(a, -1), np.shape(a) + (n,))
        for k, a in enumerate(arrays)
    ]
    if axis is None:
        return np.concatenate([np.reshape(c, (_logical_size(c), n)) for c in cols])
    rank = np.ndim(cols[0]) - 1 + stacked  # the logical rank of the result
    return (np.stack if stacked else np.concatenate)(cols, axis=axis % rank)


def _per_column(fn, k, /, *args, **kwargs):
    """fn applied to each column of its argument k (a trailing batch axis), stacked last: for a
    primitive without a vectorised batching rule (of no columns, none: fn of zeros says the
    shape and dtype)."""
    n = np.shape(args[k])[-1]
    before, after = args[:k], args[k + 1 :]
    if n == 0:
        out = fn(*before, np.zeros(np.shape(args[k])[:-1], args[k].dtype), *after, **kwargs)
        return np.zeros(np.shape(out) + (0,), np.result_type(out))
    cols = [fn(*before, args[k][..., j], *after, **kwargs) for j in range(n)]
    return np.stack(cols, axis=-1)


def _emit_batched(args, attrs, rule):
    """`fn(arrays..., keyword=value...)`; for `_per_column`, `_per_column(f, k, arrays...)`."""
    head = [dotted(attrs["of"]), ast.Constant(attrs["column"])] if "of" in attrs else []
    keywords = [ast.keyword(k, literal(v)) for k, v in attrs.get("kwargs", ())]
    return ast.Call(ast.Name(attrs["fn"], ast.Load()), head + args[0].elts, keywords)


defrule(
    "batched",
    "*arrays, fn=...",
    _emit_batched,
    kwargs=True,
    nondiff=True,  # emitted for Jacobian drivers only, which are not differentiated again
    math="a primitive applied to a batch of seeds (Jacobian drivers only)",
)
