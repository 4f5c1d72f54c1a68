"""Runtime helpers: small NumPy functions that emitted modules carry with them.

Contract: each function here is self-contained (it uses only `np`), is emitted verbatim into every
module that calls it (so emitted code never imports symgrad), and is a primitive in the rule table
with its own VJP, so gradients that use it can be differentiated again. New arrays are made from
existing ones only (`np.zeros_like`), so the code also runs on other NumPy-protocol arrays.
"""

import numpy as np


def _unbroadcast(g, shape):
    """Sum g over the axes along which an array of `shape` was broadcast, back to `shape`."""
    if np.shape(g) == shape:
        return g
    extra = np.ndim(g) - len(shape)
    g = np.sum(g, axis=tuple(range(extra))) if extra > 0 else g
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and np.shape(g)[i] != 1)
    return np.sum(g, axis=axes, keepdims=True) if axes else g


def _fit(g, x):
    """The finished gradient for argument x: x's shape and dtype (a float for a Python number,
    or a 0-d array where g is one of another library: a Dask array stays lazy); for integers,
    floats (in x's dtype it would be truncated: an int argument of a module for any shapes,
    a loop's running total that starts as an int)."""
    if not hasattr(x, "dtype"):
        total = g if type(g) is float or isinstance(g, np.generic) else np.sum(g)  # (a number)
        return float(total) if isinstance(total, np.generic) else total
    if x.dtype.kind in "biu":
        total = _unbroadcast(g, np.shape(x))
        return np.float64(np.sum(total)) if isinstance(x, np.generic) else total + np.zeros(x.shape)
    if isinstance(x, np.generic):  # a NumPy scalar argument gets a NumPy scalar back
        return x.dtype.type(g if isinstance(g, np.generic) else np.sum(g))
    g = _unbroadcast(g, x.shape)
    writeable = getattr(getattr(g, "flags", None), "writeable", True)  # (Dask's have no flags)
    if type(g) is not type(x) or g.shape != x.shape or not writeable:
        if np.ndim(g) and not isinstance(x, np.ndarray):  # Dask's full_like takes a number
            return (np.zeros_like(x) + g).astype(x.dtype)
        return np.full_like(x, g)
    return g.astype(x.dtype, copy=False)


def _check_scalar(out):
    """A gradient starts from a scalar output; say so when the function returned an array."""
    if np.ndim(out) != 0:
        raise ValueError(
            f"grad needs a function with a scalar output; it returned shape {np.shape(out)} "
            "(use symgrad.vjp for array outputs)"
        )


def _check_numbers(items, what=""):
    """The items of a list `sorted`, `any` or `all` reads (stacked: `items`) are numbers: of
    arrays with an axis Python's comparison or truth value raises."""
    if np.ndim(items) == 0 or np.size(items) != np.shape(items)[0]:  # (one entry each: fine)
        raise ValueError(
            f"symgrad: {what} of arrays (items of shape {np.shape(items)[1:]}): Python compares "
            "them or takes their truth value, which raises for an array of more than one entry"
        )


def _check_entry(v, index, what=""):
    """An entry read with ints (the index's values known when the function runs), of an array
    changed in place while the value is held (by a later target of a tuple assignment, after
    an if or a loop that read it): of a vector a number, read before the change (as symgrad
    reads it), and by an array of ints or a mask a copy; by ints, of a matrix a row, a view,
    whose values NumPy reads after the change, which symgrad does not follow."""
    if np.ndim(v) != 0 and not any(np.ndim(i) for i in index):
        raise ValueError(f"symgrad: {_entry_view(what, np.shape(v))}")


def _shaped_as(v, x, what="", of=""):
    """v, which a custom rule's function returned for x (a cotangent for an argument, a tangent
    for the value): of x's shape (another would be broadcast into the result, silently wrong)."""
    if np.shape(v) != np.shape(x):
        raise ValueError(f"symgrad: {what} of shape {np.shape(v)} for {of} of shape {np.shape(x)}")
    return v


def _updated(v, a, what="", casting="same_kind"):
    """What `a op= w` leaves in a, v being `a op w`: for an ndarray a, NumPy's update in place,
    v in a's shape (a v of another raises) and dtype (cast by the 'same_kind' rule, or the
    `casting` an out= gave), an ndarray
    (of a 0-d a too); for a number a, v."""
    if not isinstance(a, np.ndarray):
        return v
    if type(v) is np.ndarray and v.shape == a.shape and v.dtype == a.dtype:
        return v
    if np.shape(v) != a.shape:
        raise ValueError(
            f"symgrad: {what} makes a value of shape {np.shape(v)}, which the array it updates "
            f"in place, of shape {a.shape}, cannot hold (non-broadcastable output)"
        )
    out = np.empty_like(a)
    np.copyto(out, v, casting=casting)
    return out


def _check_apart(x, others, what=""):
    """An argument x the function changes in place (`x += v`), which symgrad computes as a new
    value: no other argument may share its memory, whose value Python's update changes too."""
    if type(x) is np.ndarray and any(
        type(o) is np.ndarray and np.shares_memory(x, o) for o in others
    ):
        raise ValueError(
            f"symgrad: {what} changes an argument in place, and another argument (or an array "
            "it reads from outside) shares its memory: Python's result then depends on the "
            "update, which symgrad's code (a new array) does not share. Pass a copy of one of "
            "them."
        )


def _entry_view(what, shape):
    """Why an entry read by ints that is a row of a matrix is refused (`_check_entry`)."""
    return (
        f"{what} is a part of an array that changes in place while it is held (a view, of "
        f"shape {shape}, which in NumPy sees the change; symgrad reads entries by ints as the "
        "numbers they are of a vector). Copy it where it is read (.copy()), or change the "
        "array after its last use."
    )


def _index_add(x, index, v):
    """Zeros shaped like x with v added at x[index]; repeated indices accumulate."""
    out = np.zeros_like(x, dtype=np.result_type(x, v))
    parts = index if isinstance(index, tuple) else (index,)
    if any(np.ndim(p) > 0 or isinstance(p, list) for p in parts):
        if not _rows_added(out, parts, v):
            np.add.at(out, index, v)
    else:
        out[index] += v
    return out


def _rows_added(out, parts, v) -> bool:
    """Whether v was added into `out` (float64 zeros) at the rows of one int array indexing its
    first axis (`x[rows]`'s cotangent), a column at a time as np.bincount adds: in np.add.at's
    order, so the same sums, about 3x faster for rows of 2 to 64 entries (np.add.at is fast
    itself where a row is one entry), and 10x and more on an array whose dtype is an unpickled
    copy of float64's, as a cached Numba function's are: np.add.at takes its slow path then."""
    rows = parts[0]
    if len(parts) != 1 or type(rows) is not np.ndarray or type(out) is not np.ndarray:
        return False
    if out.ndim < 2 or out.size == 0 or rows.size * out.size < 512 * out.shape[0]:
        return False  # (a few entries: np.add.at)
    n, width = out.shape[0], out.size // out.shape[0]
    if rows.ndim != 1 or rows.dtype.kind not in "iu" or out.dtype != np.float64:
        return False
    if not 2 <= width <= 64:
        return False
    if not (type(v) is np.ndarray or type(v) in (float, int)):
        return False
    low = rows.min()
    if not -n <= low <= rows.max() < n:  # (np.add.at raises the IndexError)
        return False
    rows = (rows % n if low < 0 else rows).astype(np.intp, copy=False)
    columns = np.broadcast_to(v, (rows.size, *out.shape[1:])).reshape(rows.size, width)
    for j, total in enumerate(out.reshape(n, width).T):
        total[:] = np.bincount(rows, columns[:, j], n)
    return True


def _setitem(x, index, v):
    """A copy of x with v assigned at x[index]: an assignment to elements, as a new array."""
    out = x.copy()
    out[index] = v
    return out


def _floats_only(v, like):
    """v where `like` holds floats (or complex numbers), else zeros like v: nothing passes
    through an array of integers or bools (a float written into one is truncated: near it,
    the array is constant)."""
    if np.result_type(like).kind in "fc":
        return v
    return type(v)(0) if isinstance(v, (float, np.generic)) else np.zeros_like(v)


def _kept_writes(x, index, v):
    """v, shaped like x[index], with zeros where `x[index] = ...` writes an entry of x that
    the same assignment writes again and the other write is kept: an index array that repeats
    an entry writes it more than once, and NumPy keeps one of the writes (the last, in
    practice). Which one, NumPy says by doing the same assignment of each write's number."""
    parts = index if isinstance(index, tuple) else (index,)
    if not any(isinstance(p, (list, tuple)) or np.ndim(p) and p.dtype.kind in "iu" for p in parts):
        return v  # (ints, slices and masks: no entry is written twice)
    writes = np.reshape(np.cumsum(np.ones_like(v, dtype=np.intp)) - 1, np.shape(v))
    kept = np.zeros_like(x, dtype=writes.dtype)
    kept[index] = writes
    return np.where(kept[index] == writes, v, 0)


def _matmul_vjp_a(g, a, b):
    """Cotangent of a in a @ b for every operand rank NumPy's matmul accepts."""
    if np.ndim(a) == 1 and np.ndim(b) == 1:
        return g * b
    if np.ndim(b) == 1:
        return _unbroadcast(g[..., None] * b, np.shape(a))
    if np.ndim(a) == 1:
        return _unbroadcast(b @ g[..., None], np.shape(a[:, None]))[..., 0]
    return _unbroadcast(g @ np.swapaxes(b, -1, -2), np.shape(a))


def _matmul_vjp_b(g, a, b):
    """Cotangent of b in a @ b for every operand rank NumPy's matmul accepts."""
    if np.ndim(a) == 1 and np.ndim(b) == 1:
        return g * a
    if np.ndim(a) == 1:
        return _unbroadcast(a[:, None] * g[..., None, :], np.shape(b))
    if np.ndim(b) == 1:
        return _unbroadcast(np.swapaxes(a, -1, -2) @ g[..., None], np.shape(b[:, None]))[..., 0]
    return _unbroadcast(np.swapaxes(a, -1, -2) @ g, np.shape(b))


def _expand_to(g, x, axis, keepdims):
    """Broadcast the cotangent g of a reduction of x over `axis` back to x's shape."""
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, np.shape(x))


def _trace_vjp(g, x, offset=0, axis1=0, axis2=1):
    """Zeros shaped like x with g (the trace's cotangent, over x's other axes) on each entry of
    the diagonal the trace sums."""
    if offset or (axis1, axis2) != (0, 1):
        n = np.diagonal(x, offset, axis1, axis2).shape[-1]  # (a view: nothing copied)
        g = np.broadcast_to(np.expand_dims(g, -1), np.shape(g) + (n,))
        return _diagonal_vjp(g, x, offset, axis1, axis2)
    out = np.zeros_like(x, dtype=np.result_type(x, g))
    i = np.arange(min(np.shape(x)[:2]))  # the diagonal of a rectangular matrix is the shorter side
    out[i, i] = g
    return out


def _tile_vjp(g, x, reps):
    """Sum the tiles of g back onto x's shape."""
    reps = tuple(int(r) for r in np.ravel(reps))  # (a bool counts as NumPy's tile reads it)
    shape = np.shape(x)
    nd = max(len(shape), len(reps))
    shape = (1,) * (nd - len(shape)) + tuple(shape)
    reps = (1,) * (nd - len(reps)) + reps
    split = tuple(d for pair in zip(reps, shape) for d in pair)
    summed = np.sum(np.reshape(g, split), axis=tuple(range(0, 2 * nd, 2)))
    return np.reshape(summed, np.shape(x))


def _repeat_vjp(g, x, repeats, axis=None):
    """Sum each run of repeated entries of g back onto the entry of x it came from (g ended
    by a zero, so that a run of none at the end starts at an index np.add.reduceat takes)."""
    if axis is None or np.ndim(x) == 0:  # (of x flattened, as NumPy repeats it: a 0-d x too)
        return np.reshape(_repeat_vjp(g, np.ravel(x), repeats, 0), np.shape(x))
    n = np.shape(x)[axis]
    if n == 0:
        return np.zeros_like(x, dtype=np.result_type(x, g))
    counts = np.broadcast_to(repeats, (n,))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    end = np.zeros(np.shape(g)[: axis % g.ndim] + (1,) + np.shape(g)[axis % g.ndim + 1 :], g.dtype)
    out = np.add.reduceat(np.concatenate((g, end), axis=axis), starts, axis=axis)
    mask = np.expand_dims(counts > 0, tuple(i for i in range(np.ndim(x)) if i != axis % np.ndim(x)))
    return np.where(mask, out, 0)


def _split_part_vjp(g, x, sections=1, axis=0, part=0, how="split"):
    out = np.zeros_like(x, dtype=np.result_type(x, g))
    getattr(np, how)(out, sections, *((axis,) if axis else ()))[part][...] = g
    return out


def _vector_norm(x, ord=None, keepdims=False):
    """np.linalg.norm(x, ord) of a vector (a p-norm); of a matrix it is a matrix norm, which
    the gradient symgrad wrote does not compute."""
    return np.linalg.norm(_vector(x), ord, keepdims=keepdims)


def _vector(x):
    """x, a vector (a vector's p-norm, and its derivative, read it), else the error."""
    if np.ndim(x) != 1:
        raise ValueError(
            f"symgrad: np.linalg.norm(x, ord) of an array of shape {np.shape(x)} is a matrix "
            "norm, which symgrad does not differentiate (a vector's p-norm it does)"
        )
    return x


def _item(x):
    """`x.item()`: the Python number of an array of one entry (or of a NumPy number); a Python
    number as it is (where symgrad computed the entry as one)."""
    return x.item() if hasattr(x, "item") else x


def _list_times(seq, other):
    """`[a, b] * other` for a list or tuple (seq, as an array here) and a value known only when
    the function runs: NumPy's product where other is an array or a float; where it is an int,
    Python repeats the list instead, which symgrad does not do for a count known so late."""
    if isinstance(other, (int, np.integer)):  # (a bool too)
        raise TypeError(
            "symgrad: a list or tuple times an int repeats it in Python; with a count known only "
            "when the function runs, this is not supported (write np.array([...]) * n for a "
            "product, or a constant count for a repetition)"
        )
    return seq * other


def _weights_shape(a, weights, axis=None):
    """The shape np.average gives its weights before it multiplies a by them: theirs where it
    is a's, else a's ones with the weights' length along axis (1-D weights, as NumPy checks)."""
    if np.shape(weights) == np.shape(a):
        return np.shape(weights)
    if axis is None:
        raise TypeError("Axis must be specified when shapes of a and weights differ.")
    if np.ndim(weights) != 1:
        raise TypeError("1D weights expected when shapes of a and weights differ.")
    if np.shape(weights)[0] != np.shape(a)[axis]:
        raise ValueError("Length of weights not compatible with specified axis.")
    shape = [1] * np.ndim(a)
    shape[axis] = np.shape(weights)[0]
    return tuple(shape)


def _adjugate(a):
    """The adjugate of each matrix of a stack, adj(A) = det(A) A⁻¹ where A is invertible, and
    where it is not too (it is a polynomial in A's entries): from the SVD A = U S Vᵀ, adj(A) =
    det(U) det(Vᵀ) V diag(Π_{j≠i} s_j) Uᵀ, each product of the other singular values made
    without a division."""
    u, s, vt = np.linalg.svd(a)
    ones = np.ones_like(s[..., :1])
    before = np.cumprod(np.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, s[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    sign = np.linalg.det(u) * np.linalg.det(vt)
    others = (before * after)[..., :, None] * np.swapaxes(u, -1, -2)
    return sign[..., None, None] * (np.swapaxes(vt, -1, -2) @ others)


def _dot_vjp_a(g, a, b):
    """Cotangent of a in np.dot(a, b): the sum over b's other axes of g times b."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _unbroadcast(g * b, np.shape(a))
    if np.ndim(a) <= 2 and np.ndim(b) <= 2:
        return _matmul_vjp_a(g, a, b)
    if np.ndim(b) == 1:
        return g[..., None] * b
    g_axes = list(range(np.ndim(a) - 1, np.ndim(g)))
    b_axes = list(range(np.ndim(b) - 2)) + [np.ndim(b) - 1]
    return np.tensordot(g, b, axes=(g_axes, b_axes))


def _dot_vjp_b(g, a, b):
    """Cotangent of b in np.dot(a, b): the sum over a's leading axes of a times g."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _unbroadcast(g * a, np.shape(b))
    if np.ndim(a) <= 2 and np.ndim(b) <= 2:
        return _matmul_vjp_b(g, a, b)
    lead = list(range(np.ndim(a) - 1))
    contracted = np.tensordot(a, g, axes=(lead, lead))  # (k,) + b's other axes
    return contracted if np.ndim(b) == 1 else np.moveaxis(contracted, 0, -2)


def _tensordot_pairs(rank_a, rank_b, axes):
    """np.tensordot's axes, of operands of these ranks, as two lists: a's and b's axes
    (non-negative), paired in order."""
    if isinstance(axes, int):
        return list(range(rank_a - axes, rank_a)), list(range(axes))
    on_a, on_b = ([k] if isinstance(k, int) else list(k) for k in axes)
    return [k % rank_a for k in on_a], [k % rank_b for k in on_b]


def _tensordot_vjp_plan(rank_a, rank_b, axes, of_a):
    """For the cotangent of a (`of_a`) or of b in np.tensordot(a, b, axes), of operands of these
    ranks: the axes np.tensordot contracts (the cotangent's b-part with b's free axes, or a's
    free axes with its a-part), and the order np.transpose puts what is left in."""
    on_a, on_b = _tensordot_pairs(rank_a, rank_b, axes)
    free_a = [k for k in range(rank_a) if k not in on_a]
    free_b = [k for k in range(rank_b) if k not in on_b]
    if of_a:  # left: a's free axes, then b's contracted ones in b's order
        left = free_a + [on_a[on_b.index(k)] for k in sorted(on_b)]
        contracted = (list(range(len(free_a), len(free_a) + len(free_b))), free_b)
    else:  # left: a's contracted axes in a's order, then b's free ones
        left = [on_b[on_a.index(k)] for k in sorted(on_a)] + free_b
        contracted = (free_a, list(range(len(free_a))))
    return contracted, tuple(int(k) for k in np.argsort(left))


def _tensordot_vjp_a(g, a, b, axes=2):
    """Cotangent of a in np.tensordot(a, b, axes): g contracted with b over b's free axes,
    what is left put in a's order."""
    contracted, order = _tensordot_vjp_plan(np.ndim(a), np.ndim(b), axes, True)
    return np.transpose(np.tensordot(g, b, axes=contracted), order)


def _tensordot_vjp_b(g, a, b, axes=2):
    """Cotangent of b in np.tensordot(a, b, axes): a contracted with g over a's free axes,
    what is left put in b's order."""
    contracted, order = _tensordot_vjp_plan(np.ndim(a), np.ndim(b), axes, False)
    return np.transpose(np.tensordot(a, g, axes=contracted), order)


def _kron_blocks(a, b):
    """The shapes of a and b padded to one rank, as np.kron pads them."""
    rank = max(np.ndim(a), np.ndim(b))
    pad = lambda x: (1,) * (rank - np.ndim(x)) + np.shape(x)  # noqa: E731
    return pad(a), pad(b)


def _kron_vjp_a(g, a, b):
    """Cotangent of a in np.kron(a, b): each entry of a scales a block of b's shape, so its
    cotangent is its block of g summed against b."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _unbroadcast(g * b, np.shape(a))
    sa, sb = _kron_blocks(a, b)
    blocks = np.reshape(g, [n for pair in zip(sa, sb) for n in pair])
    spread = np.reshape(b, [n for m in sb for n in (1, m)])
    return np.reshape(np.sum(blocks * spread, axis=tuple(range(1, 2 * len(sa), 2))), np.shape(a))


def _kron_vjp_b(g, a, b):
    """Cotangent of b in np.kron(a, b): the blocks of g, each times its entry of a, summed."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _unbroadcast(g * a, np.shape(b))
    sa, sb = _kron_blocks(a, b)
    blocks = np.reshape(g, [n for pair in zip(sa, sb) for n in pair])
    spread = np.reshape(a, [n for m in sa for n in (m, 1)])
    return np.reshape(np.sum(blocks * spread, axis=tuple(range(0, 2 * len(sa), 2))), np.shape(b))


def _inner_vjp_a(g, a, b):
    """Cotangent of a in np.inner(a, b): contract g with b over b's leading axes."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _unbroadcast(g * b, np.shape(a))
    lead = np.ndim(a) - 1
    return np.tensordot(g, b, axes=(list(range(lead, np.ndim(g))), list(range(np.ndim(b) - 1))))


def _inner_vjp_b(g, a, b):
    """Cotangent of b in np.inner(a, b): contract g with a over a's leading axes."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _unbroadcast(g * a, np.shape(b))
    lead = list(range(np.ndim(a) - 1))
    return np.tensordot(g, a, axes=(lead, lead))


def _prod_vjp(g, a, axis=None, keepdims=False):
    """Cotangent of a in np.prod(a, axis): v times the product of the other entries, computed
    with prefix and suffix products (exact where a has zeros, unlike prod / a)."""
    nd = np.ndim(a)
    axes = (
        tuple(range(nd))
        if axis is None
        else tuple(ax % nd for ax in (axis if isinstance(axis, tuple) else (axis,)))
    )
    if not keepdims:
        g = np.expand_dims(g, axes)
    rest = [i for i in range(nd) if i not in axes]
    moved = np.transpose(a, rest + list(axes))
    flat = np.reshape(moved, np.shape(moved)[: len(rest)] + (-1,))
    ones = np.ones_like(flat[..., :1])
    before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = np.reshape(before * after, np.shape(moved))
    return g * np.transpose(others, tuple(np.argsort(rest + list(axes))))


def _prod_derivative(a, vs, axis=None):
    """The derivative of prod's `others` (each entry's product of the other entries of its
    group) along each of vs = [v1, ..., vk] (shaped like a): for entry i, the sum over distinct
    j1, ..., jk != i of its group of v1[j1] ... vk[jk] times the product of the group's other
    entries. Exact where a has zeros (no division): prefix and suffix products of
    a[j] + e1 v1[j] + ... + ek vk[j] in nilpotent e1, ..., ek (em**2 = 0), as coefficient lists
    indexed by subsets of {e1, ..., ek}."""
    nd, k = np.ndim(a), len(vs)
    axes = (
        tuple(range(nd))
        if axis is None
        else tuple(ax % nd for ax in (axis if isinstance(axis, tuple) else (axis,)))
    )
    rest = [i for i in range(nd) if i not in axes]
    moved = np.transpose(a, rest + list(axes))
    group = np.shape(moved)[: len(rest)] + (-1,)
    flat = np.reshape(moved, group)
    vflat = [np.reshape(np.transpose(v, rest + list(axes)), group) for v in vs]
    n, full = np.shape(flat)[-1], 2**k - 1
    if n == 0:
        return np.zeros_like(a, dtype=np.result_type(a, *vs))
    zero = np.zeros_like(flat[..., 0], dtype=np.result_type(flat, *vflat))
    unit = [zero + 1] + [zero] * full

    def times(p, j):  # p (a[j] + e1 v1[j] + ... + ek vk[j])
        return [
            sum(
                (p[s ^ (1 << m)] * vflat[m][..., j] for m in range(k) if s >> m & 1),
                p[s] * flat[..., j],
            )
            for s in range(full + 1)
        ]

    before, after = [unit], [unit]
    for j in range(n - 1):
        before.append(times(before[-1], j))
        after.append(times(after[-1], n - 1 - j))
    out = [
        sum((before[i][s] * after[n - 1 - i][full ^ s] for s in range(1, full + 1)), zero)
        + before[i][0] * after[n - 1 - i][full]
        for i in range(n)
    ]
    others = np.reshape(np.stack(out, axis=-1), np.shape(moved))
    return np.transpose(others, tuple(np.argsort(rest + list(axes))))


def _solve_vjp_b(g, a, b):
    """Cotangent of b (before summing over a batch) in np.linalg.solve(a, b): solve(aᵀ, v)."""
    at = np.swapaxes(a, -1, -2)
    if np.ndim(b) == 1:
        return np.linalg.solve(at, g[..., None])[..., 0]
    return np.linalg.solve(at, g)


def _solve_vjp_a(gb, a, b, x):
    """Cotangent of a in x = np.linalg.solve(a, b), from the cotangent gb of b: −gb xᵀ."""
    if np.ndim(b) == 1:
        return _unbroadcast(-gb[..., :, None] * x[..., None, :], np.shape(a))
    return _unbroadcast(-(gb @ np.swapaxes(x, -1, -2)), np.shape(a))


def _solve_matmul(m, x, b):
    """m @ x, with x shaped like the solution of np.linalg.solve(a, b): a stack of vectors where
    b is 1-D, else a stack of matrices."""
    if np.ndim(b) == 1:
        return (m @ x[..., None])[..., 0]
    return m @ x


def _solve_jvp_a(t, a, b, x):
    """Tangent of x = np.linalg.solve(a, b) along a tangent t of a: −solve(a, t x)."""
    if np.ndim(b) == 1:
        return -np.linalg.solve(a, t @ x[..., None])[..., 0]
    return -np.linalg.solve(a, t @ x)


def _by_entry(fn, x):
    """fn, a function of one float (Python's math), on x: a float for a Python number, entry
    by entry for an array, in the float dtype NumPy's ufuncs give (float32 for float32, as
    scipy.special's)."""
    if type(x) in (int, float):
        return fn(x)
    dtype = _float_dtype(x)
    if np.ndim(x) == 0:
        return dtype.type(fn(x))
    return np.vectorize(fn, otypes=[dtype])(x)


def _float_dtype(x):
    """The dtype of scipy.special's result for x: float32 for float32, else float64."""
    dtype = np.result_type(x)
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _lgamma(x):
    """log |Γ(x)|, entry by entry: Python's math.lgamma (a float for a number)."""
    import math

    return _by_entry(math.lgamma, x)


def _polygamma(x, n=0):
    """ψ⁽ⁿ⁾(x), the (n + 1)-th derivative of log Γ (n = 0: the digamma function ψ), entry by
    entry, for real x off the poles 0, -1, -2, ...: the recurrence ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(x + 1) +
    (-1)ⁿ⁺¹ n! / xⁿ⁺¹ moves x to 10 or more, where the asymptotic series (seven Bernoulli
    terms) is exact to rounding."""
    dtype = _float_dtype(x)
    x = np.asarray(x, dtype=np.float64)
    factorial = float(np.prod(np.arange(1, n + 1)))
    sign = 1.0 if n % 2 else -1.0  # (-1)ⁿ⁺¹
    shift = np.maximum(np.ceil(10.0 - x), 0.0)
    out = np.zeros_like(x)
    for j in range(int(np.max(shift, initial=0.0))):
        low = j < shift
        out = out + np.where(low, sign * factorial / np.where(low, x + j, 1.0) ** (n + 1), 0.0)
    x = x + shift
    bernoulli = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6)  # B₂, B₄, ...
    if n == 0:
        series = np.log(x) - 0.5 / x
        for k, b in enumerate(bernoulli, 1):
            series = series - b / (2 * k * x ** (2 * k))
    else:
        series = factorial / (n * x**n) + factorial / (2 * x ** (n + 1))
        for k, b in enumerate(bernoulli, 1):
            rising = float(np.prod(np.arange(2 * k + 1, 2 * k + n)))  # (2k+n-1)! / (2k)!
            series = series + b * rising / x ** (2 * k + n)
        series = sign * series
    result = (out + series).astype(dtype, copy=False)
    return result if result.ndim else result[()]


def _diagonal_vjp(g, x, offset=0, axis1=0, axis2=1):
    """Zeros shaped like x with g on the diagonal np.diagonal(x, offset, axis1, axis2) reads."""
    out = np.zeros_like(x, dtype=np.result_type(x, g))
    moved = np.moveaxis(out, (axis1, axis2), (-2, -1))  # a view of out, the two axes last
    i = np.arange(np.shape(g)[-1])
    rows, cols = (i, i + offset) if offset >= 0 else (i - offset, i)
    moved[..., rows, cols] = g
    return out


def _diag_vjp(g, v, k=0):
    """The cotangent of v in np.diag(v, k): the k-th diagonal of g for a vector v (np.diag made
    a matrix), g on the k-th diagonal of zeros like v for a matrix v (np.diag read one)."""
    if np.ndim(v) == 1:
        return np.diagonal(g, k).copy()
    return _diagonal_vjp(g, v, k)


def _erf(x):
    """The error function, entry by entry: Python's math.erf (a float for a number)."""
    import math

    return _by_entry(math.erf, x)


def _erfc(x):
    """The complementary error function, entry by entry: Python's math.erfc (accurate where
    erf(x) is near 1, as 1 - erf(x) is not)."""
    import math

    return _by_entry(math.erfc, x)


def _ndtr(x):
    """The standard normal distribution function, entry by entry: erfc(-x / √2) / 2, with
    Python's math.erfc (accurate far in the lower tail)."""
    import math

    return _by_entry(lambda v: 0.5 * math.erfc(-v / math.sqrt(2.0)), x)


def _index_error(index, n):
    """Fail as Python does for a tuple or list of n items indexed out of range."""
    raise IndexError(f"index {index} is out of range for a tuple or list of {n} items")


def _list_index(a):
    """A list a loop filled, as an index: an empty one of ints, as NumPy reads `x[[]]`, where a
    module for any shapes, knowing no row, made it of floats."""
    return a.astype(np.intp) if a.size == 0 and a.dtype.kind == "f" else a


def _running_pick(a, extremes, axis=0):
    """The index along axis of the entry of a that each running extreme (np.maximum's or
    np.minimum's accumulate of a) is: the last entry so far equal to it, or the last NaN."""
    a = np.asarray(a)
    at = np.arange(a.shape[axis]).reshape([-1 if d == axis % a.ndim else 1 for d in range(a.ndim)])
    hit = (a == extremes) | (a != a)  # (a NaN, which every later extreme is)
    return np.maximum.accumulate(np.where(hit, at, 0), axis=axis)


def _take_along_axis_vjp(g, x, indices, axis=-1):
    """Zeros shaped like x with g added where np.take_along_axis(x, indices, axis) read it;
    repeated indices accumulate."""
    dtype = np.result_type(x, g)
    if axis is None:  # x read flat
        out = np.zeros_like(np.ravel(x), dtype=dtype)
        np.add.at(out, indices, g)
        return np.reshape(out, np.shape(x))
    out = np.zeros_like(x, dtype=dtype)
    nd = np.ndim(x)
    axis = axis % nd
    index = tuple(
        indices if d == axis else np.reshape(np.arange(n), (-1,) + (1,) * (nd - 1 - d))
        for d, n in enumerate(np.shape(x))
    )
    np.add.at(out, index, g)
    return out


def _shift(x, by=1, axis=-1, fill=0.0):
    """x moved `by` places along `axis` (out[j] = x[j - by]), `fill` where nothing moved in."""
    out = np.full_like(x, fill, dtype=np.result_type(x, fill))
    n = np.shape(x)[axis]
    if abs(by) < n:
        src, dst = [slice(None)] * np.ndim(x), [slice(None)] * np.ndim(x)
        src[axis] = slice(0, n - by) if by >= 0 else slice(-by, n)
        dst[axis] = slice(by, n) if by >= 0 else slice(0, n + by)
        out[tuple(dst)] = x[tuple(src)]
    return out


def _window_sums(ct, x, window_shape, axis=None):
    """B[x](v) of `np.lib.stride_tricks.sliding_window_view(x, window_shape, axis)`: each
    window's cotangent (its entries along ct's last axis) added back where the window lies in x;
    a loop over the shorter of the window and the windows' count."""
    axis = 0 if axis is None else axis % np.ndim(x)
    out = np.zeros_like(ct, shape=np.shape(x))
    dst, src = np.moveaxis(out, axis, 0), np.moveaxis(ct, axis, 0)
    count = np.shape(src)[0]
    if window_shape <= count:
        for j in range(window_shape):
            dst[j : j + count] += src[..., j]
    else:
        for i in range(count):
            dst[i : i + window_shape] += np.moveaxis(src[i], -1, 0)
    return out


def _correlate(a, v):
    """out[i] = Σ_j a[i + j] v[j] for vectors a and v, len(a) >= len(v): np.correlate's
    'valid' mode (one entry per place v fits in a)."""
    if len(v) > len(a):  # (np.correlate would swap them)
        raise ValueError("symgrad: np.correlate(a, v) of a v longer than a is not supported")
    return np.correlate(a, v, mode="valid")


def _convolve(a, v):
    """out[p] = Σ_{i + j = p} a[i] v[j] for vectors a and v: np.convolve's 'full' mode."""
    return np.convolve(a, v)


def _linear_scan(c, a, axis=-1, reverse=False):
    """The first-order linear recurrence r[j] = a[j] r[j - 1] + c[j] along `axis` from r[-1] = 0
    (from the last entry back, r[j] = a[j] r[j + 1] + c[j], where `reverse`), a shaped like c:
    one step per entry of the axis."""
    cs, as_ = np.moveaxis(c, axis, 0), np.moveaxis(a, axis, 0)
    out = np.zeros_like(cs, dtype=np.result_type(c, a))
    steps = range(len(cs) - 1, -1, -1) if reverse else range(len(cs))
    previous = None
    for j in steps:
        out[j] = cs[j] if previous is None else as_[j] * out[previous] + cs[j]
        previous = j
    return np.moveaxis(out, 0, axis)


def _diff_vjp(g, n=1, axis=-1):
    """The cotangent of a in np.diff(a, n, axis): a difference's adjoint n times, each
    (Dᵀ g)[j] = g[j - 1] - g[j] along axis (g taken as 0 past either end)."""
    for _ in range(n):
        widths = [(0, 0)] * np.ndim(g)
        widths[axis] = (1, 0)
        before = np.pad(g, widths)
        widths[axis] = (0, 1)
        g = before - np.pad(g, widths)
    return g


def _pad_vjp(g, x, pad_width=0):
    """The cotangent of x in np.pad(x, pad_width): the part of g inside the padding (a number
    is not padded: g itself, which may be a number too)."""
    if np.ndim(x) == 0:
        return g
    widths = np.broadcast_to(pad_width, (np.ndim(x), 2))
    return g[tuple(slice(int(b), n - int(a)) for (b, a), n in zip(widths, np.shape(g)))]
