"""Shape primitives: reshape, transpose, expand/squeeze, casts and copies, flips, rolls, tiling,
padding.

Contract: these move entries of one array without arithmetic, so each backward function moves the
cotangent back: reshape to the input's shape, transpose by the inverse permutation, sum the copies
that tile, repeat and broadcast_to made. They are linear, so each forward (JVP) rule is the
primitive applied to the tangent (`LINEAR`). Joins and splits, which move entries between several
arrays, are in `symgrad.rules.joins`.
"""

import ast

import numpy as np

from symgrad.errors import SymgradError
from symgrad.ir.avals import ARRAY, DTYPE, PYTHON, TUPLE, Aval, of_value, shape_tuple
from symgrad.rules import runtime
from symgrad.rules.build import is_const, is_none, ops, value_of
from symgrad.rules.table import LINEAR, binop, call, defrule, literal

_back_to_shape = {"a": lambda g, a: ops.reshape(g, ops.shape(a))}


def _c_order(name: str, order: str) -> None:
    """`order` must be "C" (NumPy's default: row-major)."""
    if order != "C":
        raise SymgradError(
            f"{name}(..., order={order!r}) is not supported (symgrad reads arrays in C "
            "order, row by row)",
            hint="Transpose instead: a.T.reshape(...) reads a column by column.",
        )


def _reshape_adapt(a, shape, order="C"):
    _c_order("np.reshape", order)
    return (a, shape), {}


def _ravel_adapt(a, order="C"):
    _c_order("np.ravel", order)
    return (a,), {}


defrule(
    "reshape",
    "a, shape",
    call("np.reshape"),
    numpy=(np.reshape,),
    methods=("reshape",),
    adapt=_reshape_adapt,
    vjp=_back_to_shape,
    view=True,
    jvp=LINEAR,
    math="reshape v to x's shape",
    examples=(
        "np.reshape(a, (4, 3)) | a: 3x4",
        "a.reshape(2, -1) | a: 3x4",
        "a.reshape((a.shape[0], -1)) | a: 2x3x2",
    ),
    batch={"a": ("_reshape_batched", {})},
)
defrule(
    "copy",
    "a",
    call("np.copy"),
    numpy=(np.copy,),
    jit=lambda ins, attrs: ins["a"] is not None and ins["a"].kind == ARRAY,  # Numba's: arrays
    vjp={"a": lambda g: g},
    shape="elementwise",
    jvp=LINEAR,
    math="v",
    examples=(
        "np.copy(a) | a: 3x4",
        "a.copy() * a | a: 3x4",
    ),
    scalar="{0}",
)


def _to_integers(dtype) -> bool:
    """Whether a static dtype (`np.array(x, dtype=int)`) is an integer or boolean one."""
    return dtype is not None and np.dtype(dtype).kind in "biu"


defrule(
    "asarray",
    "a, dtype=None",
    call("np.asarray"),
    numpy=(np.asarray, np.array),
    ndarray="like",
    view=True,  # np.asarray of an array is that array: a change through one changes both
    itself=True,
    vjp={"a": lambda g, a, dtype: ops.zeros_like(a) if _to_integers(dtype) else g},
    shape="elementwise",
    jvp={
        "a": lambda t, a, dtype: ops.zeros_like(a) if _to_integers(dtype) else ops.asarray(t, dtype)
    },
    math="v (nothing through a cast to integers)",
    examples=("np.asarray(a) * np.array(a) | a: 3x4",),
)


def _emit_astype(args, attrs, rule):
    """`np.array(a, dtype=d)`: a copy as `a.astype(d)` makes, for a Python float too (which
    `2.0 - a` gives where NumPy's `np.subtract(2.0, a)` gives an np.float64)."""
    if attrs.get("array"):  # of an array (known from its Aval): its method, as Dask's has too
        return ast.Call(ast.Attribute(args[0], "astype", ast.Load()), [args[1]], [])
    array = ast.Attribute(ast.Name("np", ast.Load()), "array", ast.Load())
    return ast.Call(array, [args[0]], [ast.keyword("dtype", args[1])])


_emit_astype.method = "astype"  # its spelling on an array (`symgrad.passes.methods`)


def _astype_vjp(g, a, dtype):
    """v, or nothing for a cast to an integer or boolean type: decided when compiling where
    the dtype is known then, else when it runs (`_inexact`)."""
    if is_const(dtype) and not is_none(dtype):
        return ops.zeros_like(a) if _to_integers(value_of(dtype)) else g
    return ops.where(_inexact(dtype), g, 0.0)


def _inexact(dtype):
    """Whether a dtype given when the function runs (`x.astype(dt)`) is a float or complex
    one: 0.5 cast to it is 0.5 (an integer's 0, a bool's True)."""
    return ops.equal(ops.astype(0.5, dtype), 0.5)


def _astype_aval(ins: dict, attrs: dict):
    """a's shape in the dtype given, where it is known (`a.astype(x.dtype)`, `np.float32`); an
    array of an array, and of a number, whichever the spelling gives."""
    a, dtype = ins["a"], ins["dtype"]
    if a is None or a.shape is None or dtype is None or dtype.kind != DTYPE:
        return NotImplemented
    return Aval(a.shape, dtype.dtype, ARRAY if a.kind == ARRAY else None)


def _astype_jvp(t, a, dtype):
    """The tangent cast like the value, or zeros for a cast to integers (as the VJP)."""
    if is_const(dtype) and not is_none(dtype):
        return ops.zeros_like(a) if _to_integers(value_of(dtype)) else ops.astype(t, dtype)
    return ops.astype(ops.where(_inexact(dtype), t, 0.0), dtype)


defrule(
    "astype",
    "a, dtype",
    _emit_astype,
    numpy=(np.astype,),
    vjp={"a": _astype_vjp},
    shape="first",
    aval=_astype_aval,
    value_feeds=(0,),
    jvp={"a": _astype_jvp},
    math="v (nothing through a cast to integers)",
    examples=(
        "a.astype(np.float64) | a: 3x4",
        "a.astype(a.dtype) * a | a: 3x4",
        "a.astype(int) * a | a: 3x4",
    ),
)
defrule(
    "ravel",
    "a",
    call("np.ravel"),
    numpy=(np.ravel,),
    methods=("ravel", "flatten"),
    adapt=_ravel_adapt,
    vjp=_back_to_shape,
    view=True,
    jvp=LINEAR,
    math="reshape v to x's shape",
    examples=(
        "np.ravel(a) | a: 3x4",
        "a.flatten() | a: 2x3",
    ),
    batch={"a": ("_ravel_batched", {})},
)
defrule(
    "expand_dims",
    "a, axis=...",
    call("np.expand_dims"),
    numpy=(np.expand_dims,),
    vjp=_back_to_shape,
    view=True,
    jvp=LINEAR,
    math="reshape v to x's shape",
    examples=(
        "np.expand_dims(a, 1) | a: 3x4",
        "np.expand_dims(a, axis=(0, 2)) | a: 3",
    ),
    batch={"a": ("_expand_dims_batched", {})},
)
defrule(
    "squeeze",
    "a, axis=None",
    call("np.squeeze"),
    numpy=(np.squeeze,),
    methods=("squeeze",),
    vjp=_back_to_shape,
    view=True,
    jvp=LINEAR,
    math="reshape v to x's shape",
    examples=(
        "np.squeeze(a) | a: 3x1x4",
        "a.squeeze(axis=0) | a: 1x4",
    ),
)


def _emit_tuple(args, attrs, rule):
    return ast.Tuple(list(args[0].elts), ast.Load())


def _emit_list(args, attrs, rule):
    return ast.List(list(args[0].elts), ast.Load())


def _tuple_aval(ins: dict, attrs: dict) -> Aval | None:
    """A tuple of ints known when compiling (a shape spelt `(k, d, d)`) is known."""
    values = [a.value if a is not None else None for a in ins["items"]]
    return of_value(tuple(values), static=True) if None not in values else None


defrule("make_tuple", "*items", _emit_tuple, nondiff=True, inline=True, aval=_tuple_aval)
defrule("make_list", "*items", _emit_list, nondiff=True)


def _concat_aval(ins: dict, attrs: dict) -> Aval | None:
    """Two tuples joined: known where both are, as long as both where their lengths are."""
    a, b = ins["a"], ins["b"]
    if a is None or b is None or TUPLE not in (a.kind, b.kind):
        return None
    if a.value is not None and b.value is not None:
        return of_value(tuple(a.value) + tuple(b.value), static=True)
    if a.shape is None or b.shape is None or None in a.shape + b.shape:
        return None
    return Aval((a.shape[0] + b.shape[0],), np.dtype(int), TUPLE)


defrule(
    "concat",
    "a, b",
    binop("+"),
    nondiff=True,
    aval=_concat_aval,
    fresh=True,
    math="Python's + of two tuples: one after the other (x.shape[:1] + (2,))",
)


def _repeat_aval(ins: dict, attrs: dict) -> Aval | None:
    """A tuple repeated: known where the tuple and the count are (the count a length the
    specialisation knows: `x.ndim - 1`)."""
    seq, count = ins["seq"], ins["count"]
    if seq is None or count is None or seq.kind != TUPLE or seq.value is None:
        return None
    if count.kind != PYTHON or type(count.value) is not int:
        return None
    return of_value(tuple(seq.value) * count.value, static=True)


defrule(
    "repeat_tuple",
    "seq, count",
    binop("*"),
    nondiff=True,
    aval=_repeat_aval,
    fresh=True,
    math="Python's * of a tuple and an int: the tuple repeated ((1,) * (x.ndim - 1))",
)


def _len_aval(ins: dict, attrs: dict):
    """len of an array of known shape, or of a shape tuple: known statically."""
    a = ins["obj"]
    if a is not None and a.kind in (ARRAY, TUPLE) and a.shape and a.shape[0] is not None:
        return of_value(a.shape[0], static=True)
    return NotImplemented


defrule(
    "len",
    "obj",
    call("len"),
    numpy=(len,),
    nondiff=True,
    shape="scalar",
    aval=_len_aval,
    fresh=True,
    shape_reads=(0,),
)


def _python_number(kind: type):
    """The Aval rule of `int(x)`, `float(x)` or `bool(x)` (`kind`): a Python number, of a
    number or an array of one entry, known statically where x is (`len(x) / 2`)."""

    def aval(ins: dict, attrs: dict):
        x = ins["x"]
        if x is None or x.shape is None or x.dtype is not None and x.dtype.kind not in "biuf":
            return None  # (a number of a dtype not known: lgamma's of a Python float)
        if None in x.shape or int(np.prod(x.shape)) != 1:
            return None
        value = kind(x.value) if isinstance(x.value, (int, float)) else None
        return Aval((), np.dtype(kind), PYTHON, value)

    return aval


defrule(
    "int",
    "x",
    call("int"),
    nondiff=True,
    shape="scalar",
    aval=_python_number(int),
    fresh=True,
    examples=(
        "x[: int(x.shape[0] / 2)] * 2.0 | x: 5",
        "x * int(np.sqrt(x.size)) | x: 2x2",
    ),
)

defrule(
    "bool",
    "x",
    call("bool"),
    nondiff=True,
    mask=True,
    shape="scalar",
    aval=_python_number(bool),
    fresh=True,
    examples=("x * bool(x[0] > 0) | x: 3",),
)


def _float_as_is(ins: dict):
    """x itself where it is a Python float already (`float(x)` of one: no call emitted)."""
    x = ins["x"]
    if x is not None and x.kind == PYTHON and x.dtype == np.float64:
        return lambda x: x
    return None


defrule(
    "float",
    "x",
    call("float"),
    specialise=_float_as_is,
    numpy=(float,),
    vjp={"x": lambda g, x: ops.broadcast_to(g, ops.shape(x))},
    jvp=LINEAR,
    shape="scalar",
    aval=_python_number(float),
    fresh=True,
    value_feeds=True,  # (a number whatever x's value: no shape depends on it through here)
    jit=lambda ins, attrs: (x := ins["x"]) is not None and x.kind != ARRAY and x.dtype != bool,
    sympy=lambda sp, x: x,
    math="v, in x's shape (x a number, or an array of one entry)",
    examples=("float(x[1]) * x | x: 3", "float(np.sum(x ** 2)) * x | x: 2x2"),
)


def _item_aval(ins: dict, attrs: dict):
    """`x.item()`: the Python number of x's kind (bool, int or float)."""
    x = ins["x"]
    if x is None or x.dtype is None or x.dtype.kind not in "biuf":
        return None
    kind = {"b": bool, "i": int, "u": int, "f": float}[x.dtype.kind]
    return _python_number(kind)(ins, attrs)


def _python_as_is(ins: dict):
    """x itself where it is a Python number already (its entry: no call emitted)."""
    x = ins["x"]
    return (lambda x: x) if x is not None and x.kind == PYTHON else None


defrule(
    "to_item",
    "x",
    call("_item", "item"),
    helper=runtime._item,
    methods=("item",),
    specialise=_python_as_is,
    vjp={"x": lambda g, x: ops.broadcast_to(g, ops.shape(x))},
    jvp=LINEAR,
    shape="scalar",
    aval=_item_aval,
    fresh=True,
    value_feeds=True,
    sympy=lambda sp, x: x,
    math="v, in x's shape (x an array of one entry, or a number)",
    examples=("_item(x[1]) * x | x: 3", "_item(np.sum(x ** 2)) * x | x: 2x2"),
)


def _transpose_vjp(g, axes):
    if axes is None:
        return ops.transpose(g)
    n = len(axes)  # axes name every axis, so negative ones normalise against their count
    return ops.transpose(g, axes=tuple(int(i) for i in np.argsort([a % n for a in axes])))


def _emit_transpose(args, attrs, rule):
    """`a.T` where a specialisation knows a is an ndarray (attribute `array`); else
    `np.transpose(a)`: a Python float (a 0-d value, its cotangent) has no .T."""
    if attrs.get("array") and attrs.get("axes") is None:
        return ast.Attribute(args[0], "T", ast.Load())
    return _np_transpose(args, attrs, rule)


_np_transpose = call("np.transpose")
_emit_transpose.calls = _np_transpose.calls
_emit_transpose.method = "T"  # its spelling on an array (`symgrad.passes.methods`)


defrule(
    "transpose",
    "a, axes=None",
    _emit_transpose,
    numpy=(np.transpose, np.permute_dims),
    jit=True,
    methods=("transpose", "T"),
    vjp={"a": _transpose_vjp},
    view=True,
    jvp=LINEAR,
    math="transpose v by the inverse permutation",
    examples=(
        "a.T | a: 3x4",
        "np.transpose(a, (1, 2, 0)) | a: 2x3x4",
        "a.transpose(2, 0, 1) | a: 2x3x4",
        "np.transpose(a) | a: 2x3x4",
    ),
    batch={"a": ("_transpose_batched", {})},
)
defrule(
    "swapaxes",
    "a, axis1=..., axis2=...",
    call("np.swapaxes"),
    numpy=(np.swapaxes,),
    methods=("swapaxes",),
    vjp={"a": lambda g, axis1, axis2: ops.swapaxes(g, axis1=axis1, axis2=axis2)},
    view=True,
    jvp=LINEAR,
    math="swap the same axes of v",
    examples=(
        "np.swapaxes(a, 0, 2) | a: 2x3x4",
        "a.swapaxes(-1, -2) | a: 2x3x4",
    ),
    batch={"a": ("_swapaxes_batched", {})},
)
defrule(
    "moveaxis",
    "a, source=..., destination=...",
    call("np.moveaxis"),
    numpy=(np.moveaxis,),
    vjp={
        "a": lambda g, source, destination: ops.moveaxis(g, source=destination, destination=source)
    },
    view=True,
    jvp=LINEAR,
    math="move the axes of v back",
    examples=("np.moveaxis(a, 0, -1) | a: 2x3x4",),
)


def _to_shape(v: Aval | None, shape: Aval | None, array: bool = False) -> Aval | None:
    """v's values at the shape a statically known shape tuple gives: an ndarray if `array`,
    else one where that shape has an axis (a sum to shape () is a NumPy scalar)."""
    if v is None or shape is None or shape.value is None:
        return None
    return Aval(shape.value, v.dtype, ARRAY if array or shape.value else None)


def summed_shape(have: tuple, want: tuple) -> tuple | None:
    """The shape `_unbroadcast` leaves of one `have` summed towards `want`: the leading axes
    `want` lacks go, and axes of length 1 in `want` become 1 (others stay as they are)."""
    extra = len(have) - len(want)
    if extra < 0:
        return None
    return tuple(1 if w == 1 else h for h, w in zip(have[extra:], want))


def _summed(ct: Aval | None, shape: Aval | None) -> Aval | None:
    if ct is None or not ct.known or shape is None or shape.value is None:
        return None
    out = summed_shape(ct.shape, shape.value)
    return None if out is None else _to_shape(ct, shape_tuple(out))


defrule(
    "broadcast_to",
    "array, shape",
    call("np.broadcast_to"),
    numpy=(np.broadcast_to,),
    vjp={"array": lambda g, array: ops.unbroadcast(g, ops.shape(array))},
    aval=lambda ins, attrs: _to_shape(ins["array"], ins["shape"], array=True),
    view=True,
    jvp=LINEAR,
    math="sum v over the broadcast axes",
    examples=(
        "np.broadcast_to(a, (2, 3, 4)) | a: 3x1",
        "np.broadcast_to(a, (3, 4)) | a: f",
    ),
    batch={"array": ("_broadcast_to_batched", {})},
)
defrule(
    "unbroadcast",
    "ct, shape",
    call("_unbroadcast"),
    helper=runtime._unbroadcast,
    aval=lambda ins, attrs: _summed(ins["ct"], ins["shape"]),
    value_feeds=(0,),
    vjp={"ct": lambda g, ct: ops.broadcast_to(g, ops.shape(ct))},
    examples=(
        "_unbroadcast(ct, np.shape(x)) | ct: 3x4, x: 4 const",
        "_unbroadcast(ct, np.shape(x)) | ct: 2x3x4, x: 3x1 const",
    ),
    jvp=LINEAR,
    math="broadcast v to the shape before the sum",
    batch={"ct": ("_unbroadcast_batched", {})},
)
defrule(
    "fit",
    "ct, x",
    call("_fit"),
    helper=runtime._fit,
    shape_reads=(1,),
    value_feeds=(0,),
    aval=lambda ins, attrs: ins["x"] and Aval(ins["x"].shape, ins["x"].dtype, ins["x"].kind),
    vjp={"ct": lambda g, ct: ops.broadcast_to(g, ops.shape(ct))},
    examples=("_fit(ct, x) | ct: 3x4, x: 3x4 const",),
    jvp=LINEAR,
    math="broadcast v to the shape before the sum",
    batch={"ct": ("_fit_batched", {})},
)
defrule(
    "check_scalar",
    "out",
    call("_check_scalar"),
    helper=runtime._check_scalar,
    nondiff=True,
    value_feeds=(0,),
    math="raises unless the output is 0-d",
)
defrule(
    "check_entry",
    "v, [index], what=''",
    call("_check_entry"),
    helper=runtime._check_entry,
    nondiff=True,
    value_feeds=(0,),
    math="raises unless the entry read is 0-d (a number) or a copy (an index array's), not a view",
)
defrule(
    "check_numbers",
    "items, what=''",
    call("_check_numbers"),
    helper=runtime._check_numbers,
    nondiff=True,
    value_feeds=(),
    math="raises unless the items sorted(), any() or all() read are numbers (stacked: 1-d)",
)


def _emit_raise_if(args: list[ast.expr], attrs: dict, rule) -> ast.stmt:
    """`if test: raise ValueError('message')`, a statement where the check stands (of a test
    known true, the raise alone); an argument read when it raises, the value (`KeyError(mode)`)
    or an f-string of the values it reads (`f'unknown activation {act}'`)."""
    values = args[1].elts
    parts = [_exception_argument(a, values) for a in attrs["args"]]
    raised = ast.Raise(ast.Call(ast.Name(attrs["error"], ast.Load()), parts, []), None)
    if isinstance(args[0], ast.Constant) and args[0].value is True:
        return raised
    return ast.If(args[0], [raised], [])


def _exception_argument(spec, values: list[ast.expr]) -> ast.expr:
    """A constant; ("v", k), the k-th value read; or ("f", pieces), an f-string of text and
    values read (ints: their positions)."""
    if not isinstance(spec, tuple):
        return literal(spec)
    kind, parts = spec
    if kind == "v":
        return values[parts]
    return ast.JoinedStr(
        [
            ast.Constant(p) if isinstance(p, str) else ast.FormattedValue(values[p], -1)
            for p in parts
        ]
    )


defrule(
    "raise_if",
    "test, [values], error='ValueError', args=()",
    _emit_raise_if,
    nondiff=True,
    jit=lambda ins, attrs: not ins["values"],  # (Numba raises one of constant arguments)
    value_feeds=(),
    math="raises the function's exception (a built-in one, named) where test holds",
)
defrule(
    "check_apart",
    "x, [others], what=''",
    call("_check_apart"),
    helper=runtime._check_apart,
    nondiff=True,
    value_feeds=(),
    math="raises if another argument shares memory with x, which the function updates in place",
)
defrule(
    "flip",
    "m, axis=None",
    call("np.flip"),
    numpy=(np.flip,),
    vjp={"m": lambda g, axis: ops.flip(g, axis=axis)},
    view=True,
    jvp=LINEAR,
    math="flip v back",
    examples=(
        "np.flip(a) | a: 3x4",
        "np.flip(a, axis=1) | a: 3x4",
    ),
)
defrule(
    "roll",
    "a, shift, axis=None",
    call("np.roll"),
    numpy=(np.roll,),
    vjp={"a": lambda g, shift, axis: ops.roll(g, _negated(shift), axis=axis)},
    jvp=LINEAR,
    math="roll v back",
    examples=(
        "np.roll(a, 2) | a: 3x4",
        "np.roll(a, -1, axis=0) | a: 3x4",
        "np.roll(a, (1, 2), axis=(0, 1)) | a: 3x4",
    ),
)
defrule(
    "tile",
    "A, reps",
    call("np.tile"),
    numpy=(np.tile,),
    vjp={"A": lambda g, A, reps: ops.tile_vjp(g, A, reps)},
    jvp=LINEAR,
    math="sum the tiles of v",
    examples=(
        "np.tile(a, 3) | a: 4",
        "np.tile(a, (2, 1, 3)) | a: 3x4",
    ),
)
defrule(
    "tile_vjp",
    "ct, x, reps",
    call("_tile_vjp"),
    helper=runtime._tile_vjp,
    vjp={"ct": lambda g, reps: ops.tile(g, reps)},
    examples=(
        "_tile_vjp(ct, x, (2, 1)) | ct: 6x4, x: 3x4 const",
        "_tile_vjp(ct, x, 3) | ct: 2x6, x: 2x2 const",
    ),
    jvp=LINEAR,
    math="tile v",
)
defrule(
    "repeat",
    "a, repeats, axis=None",
    call("np.repeat"),
    numpy=(np.repeat,),
    methods=("repeat",),
    vjp={"a": lambda g, a, repeats, axis: ops.repeat_vjp(g, a, repeats, axis=axis)},
    jvp=LINEAR,
    math="sum each run of v back onto its entry",
    examples=(
        "np.repeat(a, 2) | a: 3x2",
        "np.repeat(a, 3, axis=1) | a: 3x2",
        "a.repeat(2, axis=0) | a: 3x2",
        "np.repeat(a, [1, 2, 0]) | a: 3",
        "np.repeat(a, [0, 2], axis=1) | a: 3x2",
    ),
)
defrule(
    "repeat_vjp",
    "ct, x, repeats, axis=None",
    call("_repeat_vjp"),
    helper=runtime._repeat_vjp,
    vjp={"ct": lambda g, repeats, axis: ops.repeat(g, repeats, axis=axis)},
    examples=(
        "_repeat_vjp(ct, x, 2, axis=1) | ct: 3x4, x: 3x2 const",
        "_repeat_vjp(ct, x, 2) | ct: 12, x: 3x2 const",
    ),
    jvp=LINEAR,
    math="repeat v",
)


def _negated(shift):
    """-shift, for an int or a tuple of ints, constant or computed (`(k, 1)`: an array of
    them negated, which np.roll takes as it takes the tuple), as signed ints (-np.uint8(2)
    is 254, which would roll v on instead of back)."""
    if is_const(shift):
        value = value_of(shift)
        return tuple(-int(s) for s in value) if isinstance(value, (tuple, list)) else -int(value)
    return -ops.asarray(shift, dtype="int64")


def _has_rank(rank: int):
    """np.atleast_{rank}d of an array of that many axes or more: the array itself (as NumPy
    returns it)."""

    def pick(ins: dict):
        a = ins["a"]
        known = a is not None and a.kind == ARRAY and a.shape is not None
        return (lambda a: a) if known and len(a.shape) >= rank else None

    return pick


for _rank, _name in enumerate(("atleast_1d", "atleast_2d", "atleast_3d"), 1):
    defrule(
        _name,
        "a",
        call(f"np.{_name}"),
        numpy=(getattr(np, _name),),
        vjp=_back_to_shape,
        specialise=_has_rank(_rank),
        view=True,
        jvp=LINEAR,
        math="reshape v to x's shape",
        examples=(f"np.{_name}(a) * a | a: f", f"np.{_name}(a) | a: 3", f"np.{_name}(a) | a: 2x3"),
        jit=lambda ins, attrs: ins["a"] is not None and ins["a"].kind == ARRAY,  # not of a float
    )


def _constant_mode(attrs):
    if attrs["mode"] != "constant":
        raise SymgradError(
            f"np.pad with mode={attrs['mode']!r} is not supported; mode='constant' is"
        )


defrule(
    "pad",
    "array, pad_width=..., mode='constant', constant_values=0",
    call("np.pad"),
    numpy=(np.pad,),
    validate=_constant_mode,
    vjp={"array": lambda g, array, pad_width: ops.pad_vjp(g, array, pad_width)},
    jvp={"array": lambda t, pad_width: ops.pad(t, pad_width)},
    math="the part of v inside the padding",
    examples=(
        "np.pad(a, 1) | a: 3x4",
        "np.pad(a, ((1, 0), (2, 1)), constant_values=0.5) | a: 2x3",
        "np.pad(a, (0, 2)) * 2 | a: 3",
    ),
)
defrule(
    "pad_vjp",
    "ct, x, pad_width=0",
    call("_pad_vjp"),
    helper=runtime._pad_vjp,
    vjp={"ct": lambda g, pad_width: ops.pad(g, pad_width)},
    jvp=LINEAR,
    math="v padded with zeros (each is the other's adjoint)",
    examples=("_pad_vjp(ct, x, ((1, 0), (2, 1))) | ct: 3x6, x: 2x3 const",),
)
