"""Subscripts: `x[...]` reads and the scatter-add that is their backward function.

Contract: a subscript is one `getitem` node: the array, then the runtime parts of the index
(ints, integer arrays, boolean masks, slice bounds) as inputs, and the static shape of the index
(`symgrad.ir.index`) as the attribute `index`. Its cotangent is zeros like the array with the
cotangent added at the same index (`_index_add`), so repeated integer indices accumulate. Both are
linear: the tangent of a read is the same read of the tangent.
"""

import ast

import numpy as np

from symgrad.ir.avals import (
    ARRAY,
    INDICES,
    PYTHON,
    SCALAR,
    Aval,
    distinct_places,
    of_value,
    one_int,
    result_dtype,
    standin,
)
from symgrad.ir.index import Dyn, Slice
from symgrad.rules import runtime
from symgrad.rules.build import ops, updated_from
from symgrad.rules.table import LINEAR, call, defrule


def index_expr(index: tuple, parts: list[ast.expr]) -> ast.expr:
    """The subscript expression of a static index whose `Dyn` items are `parts`."""

    def item(it):
        if isinstance(it, Dyn):
            return parts[it.k]
        if isinstance(it, Slice):
            return ast.Slice(*(None if b is None else item(b) for b in it))
        if it is Ellipsis:
            return ast.Constant(...)
        if isinstance(it, int) and it < 0:
            return ast.UnaryOp(ast.USub(), ast.Constant(-it))
        return ast.Constant(it)

    items = [item(it) for it in index]
    return items[0] if len(items) == 1 else ast.Tuple(items, ast.Load())


def _emit_getitem(args, attrs, rule):
    base = args[0]
    if isinstance(base, ast.Constant):  # (a number indexed: `1.0[0]` is Python's SyntaxWarning;
        base = ast.Call(ast.Name("np.asarray", ast.Load()), [base], [])  # NumPy's IndexError)
    return ast.Subscript(base, index_expr(attrs["index"], args[1].elts), ast.Load())


def _at_index(helper: str):
    """Emit `helper(x, np.s_[index], v)` for a rule `x, v, [parts], index=()`."""

    def emit(args, attrs, rule):
        where = ast.Subscript(
            ast.Attribute(ast.Name("np", ast.Load()), "s_", ast.Load()),
            index_expr(attrs["index"], args[2].elts),
            ast.Load(),
        )
        return ast.Call(ast.Name(helper, ast.Load()), [args[0], where, args[1]], [])

    return emit


def _whole(index) -> bool:
    """Whether an index reads or writes every entry, in place (`...`, `:`, `:, :`)."""
    return all(it is Ellipsis or it == Slice() for it in index)


def _getitem_aval(ins: dict, attrs: dict) -> Aval | None:
    """The index applied to a stand-in of a (no memory); an int part stands in as 0, an integer
    array part as zeros of its shape. A slice bound or mask known only at run time: unknown.
    Of a tuple of index arrays (`np.triu_indices`), an int index reads one array's Aval."""
    if ins["a"] is not None and ins["a"].kind == INDICES:
        (k,) = attrs["index"] if len(attrs["index"]) == 1 else (None,)
        count = len(ins["a"].parts)
        return ins["a"].parts[k] if type(k) is int and -count <= k < count else None
    a = standin(ins["a"])
    parts = []
    for p in ins["parts"]:
        if p is None or not p.known or p.dtype.kind not in "iu":
            return None
        parts.append(0 if p.shape == () else np.zeros(p.shape, p.dtype))
    if a is None:
        return None
    if isinstance(a, tuple) and ins["parts"]:  # a shape read by an int known when it runs:
        known = [p.value for p in ins["parts"]]  # its entry there (0 stands for no entry)
        if any(type(v) is not int for v in known):
            ints = {type(v) for v in a} == {int} and not any(
                isinstance(it, Slice) for it in attrs["index"]
            )
            return Aval((), np.dtype(int), PYTHON) if ints else None  # (a slice's: a tuple)
        parts = known
    index = tuple(_static_bounds(it, ins["parts"]) for it in attrs["index"])
    lengths = _slice_lengths(index, ins["parts"], np.shape(a))
    if lengths is None:
        return None

    def item(k, it):
        if isinstance(it, Dyn):
            return parts[it.k]
        if k in lengths:  # a slice whose bounds move together: `x[i : i + n]`
            return slice(0, lengths[k])
        return slice(*it) if isinstance(it, Slice) else it

    index = tuple(item(k, it) for k, it in enumerate(index))
    try:
        out = a[index[0] if isinstance(a, tuple) and len(index) == 1 else index]
    except IndexError:
        out = _read_past_the_end(a, index)
    except TypeError:
        return None
    if out is None:
        return None
    if isinstance(out, np.generic):
        return Aval((), out.dtype, SCALAR)
    return of_value(out, static=isinstance(a, tuple))  # an array, or part of a shape tuple


def _read_past_the_end(a, index: tuple):
    """a[index] where an int reads an axis of length 0 (`x[i]` of an empty x, in a loop that
    runs no step): the same read of a stand-in one entry long on each such axis, which has the
    read's shape (NumPy raises IndexError where it runs). None for any other IndexError."""
    if not isinstance(a, np.ndarray) or not all(
        it is None or it is Ellipsis or isinstance(it, (int, np.integer, slice)) for it in index
    ):
        return None
    consumed = sum(it is not None and it is not Ellipsis for it in index)
    axes, shape = iter(range(a.ndim)), list(a.shape)
    for it in index:
        if it is Ellipsis:
            for _ in range(a.ndim - consumed):
                next(axes)
        elif it is not None:
            k = next(axes, None)
            if k is not None and not isinstance(it, slice):
                shape[k] = max(shape[k], 1)
    try:
        return np.broadcast_to(np.ones((), a.dtype), tuple(shape))[index]
    except IndexError:
        return None


def region(graph, node) -> tuple[int, ...] | None:
    """The shape of the region of x that an `index_add(x, v, parts)` or `setitem` node's index
    selects, where the shapes decide it (as x[index]'s: no clipping), else None."""
    ins = {"a": graph[node.inputs[0]].aval, "parts": [graph[p].aval for p in node.inputs[2:]]}
    out = _getitem_aval(ins, node.attrs)
    return out.shape if out is not None and out.kind == ARRAY and out.known else None


def _static_bounds(it, parts: list):
    """A slice with its bounds known statically (`w[:b]` of a b the shapes decide) written as
    numbers; any other index item as it is."""
    if not isinstance(it, Slice):
        return it
    bounds = [
        parts[b.k].value if isinstance(b, Dyn) and type(parts[b.k].value) is int else b for b in it
    ]
    return Slice(*bounds)


def _slice_lengths(index: tuple, parts: list, shape: tuple) -> dict[int, int] | None:
    """The length of each slice of a basic index whose bounds are known only at run time, by
    position: known where start and stop are one index plus constants (`Aval.sym`) within the
    axis for every value the index takes (no wrap-around, no clipping). None if one is not."""
    out, axis = {}, 0
    for k, it in enumerate(index):
        if it is None:
            continue
        if it is Ellipsis or isinstance(it, Dyn) and parts[it.k].shape != ():
            axis = None  # past here, where an axis is is not worked out
            continue
        if isinstance(it, Slice) and any(isinstance(b, Dyn) for b in it):
            if axis is None or axis >= len(shape):
                return None
            start, stop = (parts[b.k].sym if isinstance(b, Dyn) else None for b in it[:2])
            if it.step is not None or start is None or stop is None or start.token != stop.token:
                return None
            if start.lo is None or start.lo + start.offset < 0:
                return None
            if stop.hi + stop.offset > shape[axis]:
                return None
            out[k] = max(stop.offset - start.offset, 0)
        axis = None if axis is None else axis + 1
    return out


def basic(ins: dict, attrs: dict) -> bool:
    """Whether an index is basic (ints, slices, None, ...), so that no element repeats: Numba
    reads and writes with it as NumPy does (`Rule.jit`), and an update adds at it with `+=`
    (`symgrad.emit.scatter`); an array of indices or a mask is not. A slice's bounds are ints
    however they are known."""
    parts = ins["parts"]
    return all(
        it is None
        or it is Ellipsis
        or isinstance(it, (int, Slice))
        or isinstance(it, Dyn)
        and one_int(parts[it.k])
        for it in attrs["index"]
    )


def _compiled(ins: dict, attrs: dict) -> bool:
    """Whether Numba reads and writes with the index (`Rule.jit`): a basic one, without `...`
    (`a[...] += v` has no lowering in Numba)."""
    return basic(ins, attrs) and all(it is not Ellipsis for it in attrs["index"])


def _like_x(own_dtype: bool):
    """The Aval of an update of x: shaped like x, typed like x (or like x and v together); of
    an x whose shape is not known, its dtype where the update keeps it."""

    def aval(ins: dict, attrs: dict) -> Aval | None:
        x = ins["x"]
        if x is None or x.shape is None and (not own_dtype or x.dtype is None):
            return None
        return Aval(x.shape, x.dtype if own_dtype else result_dtype(x, ins["v"]), ARRAY)

    return aval


def _getitem_vjp(g, a, parts, index):
    """Scatter-add v into zeros like a, or just reshape v when the index only adds axes
    (`x[:, None]`, `x[..., None]`): then every entry of a is read exactly once."""
    if all(it is None or it is Ellipsis or it == Slice() for it in index):
        return ops.reshape(g, ops.shape(a))
    return ops.index_add(a, g, parts, index=index)


defrule(
    "getitem",
    "a, [parts], index=()",
    _emit_getitem,
    view=True,
    vjp={"a": lambda g, a, parts, index: _getitem_vjp(g, a, parts, index)},
    aval=_getitem_aval,
    jit=_compiled,
    jvp=LINEAR,
    math="zeros like x with v added at the index (repeats accumulate)",
    examples=(
        "a[1] | a: 3x4",
        "a[1:3, ::2] | a: 4x5",
        "a[::-1, -1] | a: 3x4",
        "a[..., 1] | a: 2x3x4",
        "a[None, :, 2] | a: 3x4",
        "a[[0, 2, 2]] | a: 3x4",
        "a[np.array([0, 2, 0]), 1:] | a: 3x4",
        "a[a > 0.1] | a: 3x4",
        "a[:, None] * b | a: 3, b: 4",
        "a[..., None, :] * a[:, :, None] | a: 2x3",
        "a[a.shape[0] - 1] | a: 3x4",
        "a[np.triu_indices(3, 1)] | a: 3x3",  # a tuple of index arrays
        "a[np.nonzero(a > 0.1)] | a: 3x4",  # one of a length known when it runs
    ),
)
defrule(
    "index_add",
    "x, v, [parts], index=()",
    _at_index("_index_add"),
    helper=runtime._index_add,
    fresh=True,
    shape_reads=(0,),  # its zeros' shape and dtype: the values are a copy's
    aval=_like_x(own_dtype=False),
    vjp={"v": lambda g, parts, index: ops.getitem(g, parts, index=index)},
    jvp=LINEAR,
    math="v[index]",
)


def _kept(index) -> bool:
    """Whether an assignment's index may write an entry twice: it has a runtime part that is
    no slice bound, which may be an array or list of ints, so that the cotangent goes only to
    the writes NumPy keeps (`_kept_writes`; its `specialise` hook drops it where the Avals
    show ints or masks)."""
    return any(isinstance(it, Dyn) for it in index)


def _kept_for(ins: dict):
    """`_kept_writes` of an index that writes no entry twice, as its parts' Avals show: v
    itself. So does one of ints, slices and masks, or of integer arrays that name distinct
    places (`distinct_places`: `np.arange`'s, `np.triu_indices`'), without a mask."""
    parts = ins["parts"]
    if any(p is None or not p.known for p in parts):
        return None
    arrays = [p for p in parts if p.shape != () and p.dtype.kind != "b"]
    masks = any(p.shape != () and p.dtype.kind == "b" for p in parts)
    if not arrays or not masks and distinct_places(arrays):
        return lambda x, v, parts: v
    return None


defrule(
    "kept_writes",
    "x, v, [parts], index=()",
    _at_index("_kept_writes"),
    helper=runtime._kept_writes,
    shape_reads=(0,),  # x's shape alone
    aval=lambda ins, attrs: ins["v"],
    specialise=_kept_for,
    vjp={"v": lambda g, x, parts, index: ops.kept_writes(x, g, parts, index=index)},
    jvp=LINEAR,
    math="v with zeros at the writes that another write of the same entry overrides",
)  # (its examples are setitem's: an index of repeated entries)


def _floats_for(ins: dict):
    """`_floats_only` where the Avals show what `like` holds: v itself for floats; zeros for
    an array v where integers or bools (a number v keeps the helper: `np.zeros_like` of it is
    a 0-d array)."""
    like, v = ins["like"], ins["v"]
    if like is None or like.dtype is None:
        return None
    if like.dtype.kind in "fc":
        return lambda v, like: v
    if v is not None and v.kind == ARRAY:
        return lambda v, like: ops.zeros_like(v)
    return None


def _floats_only_on_symbols(sp, v, like):
    """`_floats_only` in the proofs: an array of SymPy values (objects) stands for floats."""
    if np.result_type(like).kind in "fcO":
        return v
    return np.zeros(np.shape(v))


defrule(
    "floats_only",
    "v, like",
    call("_floats_only"),
    helper=runtime._floats_only,
    shape_reads=(1,),  # like's dtype alone
    aval=lambda ins, attrs: ins["v"],
    specialise=_floats_for,
    numeric_helper=True,  # (np.result_type of SymPy values is object's)
    symbolic=_floats_only_on_symbols,
    vjp={"v": lambda g, like: ops.floats_only(g, like)},
    jvp=LINEAR,
    math="v where like holds floats, else zeros",
    examples=(
        "_floats_only(v, x) * v | v: 3x4, x: 3x4 const",
        "_floats_only(v, x.astype(int)) * v | v: 3, x: 3 const",
    ),
)


# bincount ---------------------------------------------------------------------------------


def _counted(x, weights=None, minlength=0):
    """np.bincount(x) without weights is its counts alone (`Rule.route`): no derivative."""
    return ("bincount_counts", (x,), {"minlength": minlength}) if weights is None else None


def _bincount_on_symbols(sp, x, weights, minlength=0):
    """np.bincount of SymPy weights (NumPy's takes floats only): their sums, by index."""
    n = max(int(np.max(x)) + 1 if np.size(x) else 0, minlength)
    out = np.zeros(n, dtype=object)
    np.add.at(out, np.asarray(x), weights)
    return out


defrule(
    "bincount",
    "x, weights, minlength=0",
    call("np.bincount"),
    numpy=(np.bincount,),
    route=_counted,
    symbolic=_bincount_on_symbols,
    vjp={"weights": lambda g, x: g[x]},
    jvp=LINEAR,
    math="v at each entry's index (x[i]: the bin weights[i] was added to)",
    examples=(
        "np.bincount([0, 2, 2, 1], weights=w) | w: 4",
        "np.bincount([3, 0, 3], w, minlength=6) * np.arange(6.0) | w: 3",
    ),
)
defrule(
    "bincount_counts",
    "x, minlength=0",
    call("np.bincount"),
    nondiff=True,
    fresh=True,
)


def _ints_or_bools(ins: dict):
    """`_list_index(a)` of an a known to be ints or bools: a."""
    a = ins["a"]
    known = a is not None and a.dtype is not None and a.dtype.kind in "biu"
    return (lambda a: a) if known else None


defrule(  # (a list a loop filled, as an index: `symgrad.frontend.subscripts.index_spec`)
    "list_index",
    "a",
    call("_list_index"),
    helper=runtime._list_index,
    nondiff=True,
    itself=True,
    aval=lambda ins, attrs: ins["a"],
    specialise=_ints_or_bools,
)


def _first(x):
    """The array x's updates (`x[i] = v`, in a chain) started from: of x's dtype, which updates
    keep, and read for its dtype alone where x's own value is not needed."""
    return updated_from(x, "setitem")


def _setitem_vjp_v(g, x, v, parts, index):
    """The region's cotangent (the writes kept, where an index may repeat) summed to v's
    shape; zeros where the array written holds integers or bools (`_floats_only` of the array
    x's updates started from: its dtype, which updates keep, read alone, so that a loop
    filling an array need not tape it)."""
    like = _first(x)
    if _whole(index):
        return ops.floats_only(ops.unbroadcast(g, ops.shape(v)), like)
    region = ops.getitem(g, parts, index=index)
    if _kept(index):
        region = ops.kept_writes(g, region, parts, index=index)
    return ops.floats_only(ops.unbroadcast(region, ops.shape(v)), like)


defrule(
    "setitem",
    "x, v, [parts], index=()",
    _at_index("_setitem"),
    helper=runtime._setitem,
    fresh=True,  # a copy with the values set
    ndarray="like",
    dtype_of=(0,),  # (x's: the values are cast into it)
    aval=_like_x(own_dtype=True),
    vjp={
        "x": lambda g, parts, index: (
            ops.zeros_like(g) if _whole(index) else ops.setitem(g, 0.0, parts, index=index)
        ),
        "v": _setitem_vjp_v,
    },
    jvp={
        "x": lambda t, parts, index: (
            ops.zeros_like(t) if _whole(index) else ops.setitem(t, 0.0, parts, index=index)
        ),
        "v": lambda t, x, parts, index: (
            ops.broadcast_to(ops.floats_only(t, _first(x)), ops.shape(x))
            if _whole(index)
            else ops.setitem(
                ops.zeros_like(x),
                ops.floats_only(t, _first(x)),
                parts,
                index=index,
            )
        ),
    },
    jvp_joint=lambda t, x, parts, index: (
        ops.broadcast_to(ops.floats_only(t["v"], _first(x)), ops.shape(t["x"]))
        if _whole(index)
        else ops.setitem(t["x"], ops.floats_only(t["v"], _first(x)), parts, index=index)
    ),
    math="B[x](v) = v with zeros at the index;  B[value](v) = v[index] (summed to its shape)",
    examples=(
        "y = a.copy(); y[1] = b; y | a: 3x4, b: 4",
        "y = a * 2.0; y[:, 0] = b; y | a: 3x4, b: 3",
        "y = np.zeros_like(a); y[[0, 2]] = a[1:3] ** 2; y | a: 3x4",
        "y = a.copy(); y[1:, 1] += b; y * a | a: 3x4, b: f",
        "y = a.copy(); y[a > 0] = 0.5; y * b | a: 3x4, b: 3x4",
        "y = np.zeros_like(b); y[b.shape[0] - 1, :] = a; y | a: 3, b: 2x3",
        "y = a * 2.0; y[...] = b; y * a | a: 3x4, b: 4",
        "y = np.zeros_like(b); y[np.array([0, 1, 1, 3])] = a; y * b | a: 4, b: 4",
        "y = a * 1.0; y[[2, 0, 2]] = b; y * a | a: 3x2, b: f",
    ),
)
