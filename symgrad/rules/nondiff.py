"""Functions with no gradient: comparisons, rounding, index-valued and array-creating functions.

Contract: these are primitives like any other, emitted as the same NumPy call, but their output
carries no cotangent (the reverse pass stops there), so using them costs the gradient nothing.
They accept any keyword argument, passed on verbatim (keywords must be compile-time constants).
"""

import ast
import math
from dataclasses import replace

import numpy as np

from symgrad.ir.avals import (
    ARRAY,
    DTYPE,
    INDICES,
    PYTHON,
    SCALAR,
    Aval,
    Distinct,
    of_dtype,
    of_value,
    reduced,
)
from symgrad.rules import runtime
from symgrad.rules.build import ops
from symgrad.rules.table import SAME, binop, call, compare, defrule, int_division_jit, unaryop

_COMPARE = {
    "greater": ">",
    "less": "<",
    "greater_equal": ">=",
    "less_equal": "<=",
    "equal": "==",
    "not_equal": "!=",
}
_RELATIONS = {
    "greater": "Gt",
    "less": "Lt",
    "greater_equal": "Ge",
    "less_equal": "Le",
    "equal": "Eq",
    "not_equal": "Ne",
}


def _indicator(relation: str):
    """The SymPy form of a comparison: 1 where it holds, else 0 (as NumPy's bools multiply)."""
    return lambda sp, a, b: sp.Piecewise((1, getattr(sp, relation)(a, b)), (0, True))


def _binary(name: str, emit, sympy, **facts) -> None:
    """A comparison or a bitwise op: elementwise, of no gradient."""
    defrule(
        name,
        "x1, x2",
        emit,
        numpy=(getattr(np, name),),
        nondiff=True,
        shape="elementwise",
        sympy=sympy,
        **{"mask": True, **facts},
    )


for _name, _symbol in _COMPARE.items():
    _binary(_name, compare(_symbol), _indicator(_RELATIONS[_name]), scalar=SAME)

_BITWISE = {  # `mask & (x < 1)`: on bools, and, or, exclusive or (0/1 truth values in SymPy)
    "bitwise_and": ("&", lambda sp, a, b: a * b),
    "bitwise_or": ("|", lambda sp, a, b: a + b - a * b),
    "bitwise_xor": ("^", lambda sp, a, b: a + b - 2 * a * b),
}
for _name, (_symbol, _form) in _BITWISE.items():  # (of masks: not spelled on numbers in a
    _binary(_name, binop(_symbol), _form, jit=True)  # fused loop, whose entries are floats)
for _name, (_symbol, _form) in {  # `i >> 1`, `n << k`: of ints, their shifts
    "left_shift": ("<<", lambda sp, a, b: a * 2**b),
    "right_shift": (">>", lambda sp, a, b: sp.floor(a / 2**b)),
}.items():
    _binary(_name, binop(_symbol), _form, jit=True, mask=False)
defrule(  # `~mask`: on bools, not (on ints, NumPy's and Python's bitwise not)
    "invert",
    "x",
    unaryop(ast.Invert),
    numpy=(np.invert,),
    nondiff=True,
    shape="elementwise",
    sympy=lambda sp, a: 1 - a,
    mask=True,
    jit=True,
)

_ELEMENTWISE = (
    "sign",
    "floor",
    "ceil",
    "rint",
    "trunc",
    "round",
    "isnan",
    "isinf",
    "isfinite",
    "logical_not",
    "logical_and",
    "logical_or",
    "logical_xor",
    "heaviside",
)
_SYMPY = {  # forms on numbers and on 0/1 truth values (as NumPy's bools multiply)
    "sign": lambda sp, x: sp.sign(x),
    "floor": lambda sp, x: sp.floor(x),
    "ceil": lambda sp, x: sp.ceiling(x),
    "trunc": lambda sp, x: sp.sign(x) * sp.floor(sp.Abs(x)),
    "isnan": lambda sp, x: sp.Integer(x is sp.nan),  # (a symbol stands for a real number)
    "isfinite": lambda sp, x: sp.Integer(x.is_finite is not False),  # (a finite real: a symbol)
    "logical_not": lambda sp, a: 1 - a,
    "logical_and": lambda sp, a, b: a * b,
    "logical_or": lambda sp, a, b: a + b - a * b,
    "logical_xor": lambda sp, a, b: a + b - 2 * a * b,
}
_IN_MATH = ("isnan", "isinf", "isfinite")  # math.isnan(x) of a float is np.isnan(x) too
for _name in _ELEMENTWISE:
    _twin = (getattr(math, _name),) if _name in _IN_MATH else ()
    defrule(
        _name,
        "*args",
        call(f"np.{_name}"),
        numpy=(getattr(np, _name), *_twin),
        nondiff=True,
        kwargs=True,
        shape="elementwise",
        methods=("round",) if _name == "round" else (),
        sympy=_SYMPY.get(_name),
        scalar=None if _name in ("round", "heaviside") else SAME,  # not Numba's on numbers
        mask=_name.startswith(("is", "logical_")),
    )

defrule(  # `round(x, 2)`: Python's round, correctly rounded (np.round's scaling is not: of 2.675,
    # 2.68); of an array or a NumPy number, their __round__, NumPy's (`calls.lower_call`)
    "round_digits",
    "x, ndigits=...",
    call("round"),
    nondiff=True,
    shape="elementwise",
    aval=lambda ins, attrs: ins["x"] and Aval(ins["x"].shape, ins["x"].dtype, ins["x"].kind),
    examples=("x * round(float(x[0]), 2) | x: 3",),
)

_OTHER = (
    "argmax",
    "argmin",
    "argsort",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "zeros",
    "ones",
    "full",
    "empty",
    "arange",
    "eye",
    "identity",
    "linspace",
    "any",
    "all",
    "count_nonzero",
    "nonzero",
    "diag_indices",
    "tril_indices",
    "triu_indices",
    "searchsorted",
    "digitize",
    "ix_",
)
_MADE = {  # the arrays these make (Rule.ndarray)
    **dict.fromkeys(("zeros_like", "ones_like", "full_like", "empty_like"), "like"),
    **dict.fromkeys(("zeros", "ones", "full", "empty"), "shape"),
    **dict.fromkeys(("arange", "eye", "identity", "linspace"), "axes"),
}


_FILLS = {"zeros_like": 0, "zeros": 0, "ones_like": 1, "ones": 1}  # (Rule.fill)


def _lengths(name: str, args: list, attrs: dict) -> tuple | None:
    """The shape np.<name>(*args, **attrs) makes, from static lengths and bounds."""
    if name == "linspace":
        num = args[2] if len(args) > 2 else attrs.get("num", 50)
        return None if attrs.get("axis") or attrs.get("retstep") else (num,)
    if name == "arange":
        if {"start", "stop", "step"} & attrs.keys():
            return None
        start, stop, step = (0, args[0], 1) if len(args) == 1 else (*args, 1)[:3]
        if all(type(v) is int for v in (start, stop, step)):
            return (len(range(start, stop, step)),)
        return (max(0, math.ceil((stop - start) / step)),)
    if name == "eye":
        m = args[1] if len(args) > 1 else attrs.get("M")
        return (args[0], args[0] if m is None else m)
    return (args[0], args[0])  # identity


def _made(name: str):
    """The shape rule of a constructor (np.arange, np.eye, np.identity, np.linspace): its
    lengths where its arguments are static numbers; its dtype from a call with tiny ones."""

    def aval(ins: dict, attrs: dict) -> Aval | None:
        args = ins["args"]
        if any(a is None or a.kind != PYTHON or a.value is None for a in args) or not args:
            return None
        values, attrs = [a.value for a in args], dict(attrs.get("kwargs", ()))
        shape = _lengths(name, values, attrs)
        if shape is None or any(type(d) is not int for d in shape):
            return None
        tiny = [type(v)(1) for v in values]  # np.arange(1, 1, 1): empty, of the right dtype
        if name == "linspace":
            tiny, attrs = tiny[:2], {**attrs, "num": 2}
        made = getattr(np, name)(*tiny, **attrs)
        ints = name == "arange" and all(type(v) is int for v in values) and not attrs
        return Aval(shape, made.dtype, ARRAY, distinct=Distinct(object()) if ints else None)

    return aval


def _positions(name: str):
    """The shape rule of np.argmax, np.argmin (the array's shape without the axis, or () for
    every axis; with keepdims, that axis of length 1) and np.argsort (its shape, or its size
    for axis=None): integer arrays of NumPy's index type."""

    def aval(ins: dict, attrs: dict) -> Aval | None:
        args, options = ins["args"], dict(attrs.get("kwargs", ()))
        if not args or args[0] is None or not args[0].known or args[0].kind == PYTHON:
            return None
        if len(args) > 2 or set(options) - {"axis", "keepdims"}:
            return None
        if len(args) == 2:
            if args[1] is None or args[1].kind != PYTHON or "axis" in options:
                return None
            options["axis"] = args[1].value
        shape, axis = args[0].shape, options.get("axis", -1 if name == "argsort" else None)
        if axis is not None and (type(axis) is not int or not -len(shape) <= axis < len(shape)):
            return None
        along = range(len(shape)) if axis is None else (axis % len(shape),)
        if name == "argsort":
            out = (math.prod(shape),) if axis is None else shape
        elif options.get("keepdims"):
            out = tuple(1 if d in along else n for d, n in enumerate(shape))
        else:
            out = tuple(n for d, n in enumerate(shape) if d not in along)
        permutation = name == "argsort" and len(out) == 1  # (of a vector, or of every entry)
        distinct = Distinct(object()) if permutation else None
        return Aval(out, np.dtype(np.intp), ARRAY if out else SCALAR, distinct=distinct)

    return aval


INDEX_TUPLES = ("diag_indices", "tril_indices", "triu_indices")  # (arrays of static lengths)
TUPLES = (*INDEX_TUPLES, "nonzero", "ix_")  # the rules giving a tuple of index arrays


def _index_tuple(name: str):
    """The shape rule of np.diag_indices, np.tril_indices, np.triu_indices: where every
    argument is a static int, the tuple of index arrays they make (kind "indices": an int
    index reads one), their lengths from the call itself (on the same ints: at most d² / 2
    entries of each, made once when compiling). Each pair of a triangle's arrays names one
    place, and each of the diagonal's arrays has distinct entries (`Aval.distinct`)."""

    def aval(ins: dict, attrs: dict) -> Aval | None:
        args = ins["args"]
        if (
            not args
            or attrs.get("kwargs")
            or any(a is None or type(a.value) is not int for a in args)
        ):
            return None
        made = getattr(np, name)(*(a.value for a in args))
        if name == "diag_indices":  # each of its arrays is np.arange(n)
            marks = [Distinct(object()) for _ in made]
        else:  # a triangle's two arrays together
            group = object()
            marks = [Distinct(group, k, len(made)) for k in range(len(made))]
        parts = tuple(replace(of_value(p), distinct=m) for p, m in zip(made, marks))
        return Aval(None, None, INDICES, parts=parts)

    return aval


def _nonzero(ins: dict, attrs: dict) -> Aval | None:
    """np.nonzero(a) (np.where(a) of one argument): a tuple of one index array per axis of a
    (kind "indices"), of a length known only when it runs."""
    args = ins["args"]
    if len(args) != 1 or attrs.get("kwargs") or args[0] is None or not args[0].shape:
        return None
    part = Aval((None,), np.dtype(np.intp), ARRAY)
    return Aval(None, None, INDICES, parts=(part,) * len(args[0].shape))


def _open_mesh(ins: dict, attrs: dict) -> Aval | None:
    """np.ix_(*seqs): a tuple of one index array per sequence (kind "indices"), the k-th of
    its entries along axis k (a boolean sequence: its True entries' indices)."""
    args = ins["args"]
    if attrs.get("kwargs") or any(a is None or a.shape is None or len(a.shape) != 1 for a in args):
        return None
    n = len(args)
    parts = []
    for k, a in enumerate(args):
        length = None if a.dtype is None or a.dtype == bool else a.shape[0]
        dtype = np.dtype(np.intp) if a.dtype is None or a.dtype == bool else a.dtype
        shape = (1,) * k + (length,) + (1,) * (n - k - 1)
        parts.append(Aval(shape, dtype, ARRAY))
    return Aval(None, None, INDICES, parts=tuple(parts))


def _of_a_shape(name: str):
    """The shape rule of np.zeros, np.ones, np.empty and np.full where their shape is not
    known (a shape-polymorphic module's arrays of an argument's length): the dtype alone, given
    or the default (np.full's of its fill value), of an array of unknown shape."""

    def aval(ins: dict, attrs: dict) -> Aval | None:
        args, options = ins["args"], dict(attrs.get("kwargs", ()))
        if args and args[0] is not None and args[0].shape is not None:
            return NotImplemented  # (its shape known: what the rule's facts imply)
        given = len(args) > 1 + (name == "full")  # (a dtype given by position)
        dtype = args[-1] if given else None
        if given and (dtype is None or dtype.kind != DTYPE):
            return None
        if "dtype" in options:
            return Aval(None, np.dtype(options["dtype"]), ARRAY)
        if dtype is not None:
            return Aval(None, dtype.dtype, ARRAY)
        if name == "full":
            fill = args[1] if len(args) > 1 else None
            kind = fill is not None and fill.kind == PYTHON and fill.dtype is not None
            return Aval(None, np.result_type(fill.dtype.type(0)), ARRAY) if kind else None
        return Aval(None, np.dtype(float), ARRAY)

    return aval


def _shape_rule(name: str):
    """The shape rule (`Rule.aval`) of one of `_OTHER`, where it has its own."""
    if _MADE.get(name) == "axes":
        return _made(name)
    if _MADE.get(name) == "shape":
        return _of_a_shape(name)
    if name in ("argmax", "argmin", "argsort"):
        return _positions(name)
    if name == "nonzero":
        return _nonzero
    if name == "ix_":
        return _open_mesh
    if name in ("searchsorted", "digitize"):
        return _found(name)
    if name in ("any", "all"):
        return _truth_of_entries
    return _index_tuple(name) if name in INDEX_TUPLES else None


def _truth_of_entries(ins: dict, attrs: dict) -> Aval | None:
    """The shape rule of np.any and np.all (`axis`, `keepdims` given by name): the axes left,
    of bools; a NumPy bool of every entry."""
    args, options = ins["args"], dict(attrs.get("kwargs", ()))
    if len(args) != 1 or args[0] is None or args[0].shape is None or None in args[0].shape:
        return None
    if set(options) - {"axis", "keepdims"}:
        return None
    shape = reduced(args[0].shape, options.get("axis"), options.get("keepdims", False))
    return None if shape is None else Aval(shape, np.dtype(bool), ARRAY if shape else SCALAR)


def _found(name: str):
    """The shape rule of np.searchsorted(a, v) and np.digitize(x, bins): an index of NumPy's
    type per entry of the values placed (v, x), a NumPy number of a number."""
    placed = 1 if name == "searchsorted" else 0

    def aval(ins: dict, attrs: dict) -> Aval | None:
        args = ins["args"]
        v = args[placed] if len(args) > placed else None
        if v is None or v.shape is None:
            return None
        return Aval(v.shape, np.dtype(np.intp), ARRAY if v.shape else SCALAR)

    return aval


_SMOOTH_IN = {  # (Rule.smooth_in) np.linspace(start, stop, ...), np.arange(start, stop, step):
    "linspace": lambda n: (0, 1),  # stop decides the length alone
    "arange": lambda n: (0, 2) if n > 1 else (),
}


def _fill_vjp(g, args):
    """np.full(shape, v), np.full_like(a, v): v's cotangent is v summed over the entries it
    fills, to v's shape (a fill may broadcast, and have leading axes of length 1 more than
    the array: v of shape (1, 3) fills np.full(3, v)); the shape's and a's values are not
    read."""
    v = args[1]
    spread = ops.broadcast_to(g, ops.broadcast_shapes(ops.shape(g), ops.shape(v)))
    out = [ops.unbroadcast(spread, ops.shape(v)) if k == 1 else None for k in range(len(args))]
    out[0] = ops.zeros_like(args[0])  # (np.full_like's a, read for its shape alone)
    return out


def _fill_jvp(t, ans, args):
    if len(t) < 2 or t[1] is None:  # (np.full_like(a, 3.0) of a differentiated a: a constant)
        return ops.zeros_like(ans)
    return ops.full_like(ans, t[1])


_FILL_EXAMPLES = {
    "full": (
        "np.full(3, v) * w | v: f, w: 3",
        "np.full((2, 3), v) * w | v: 3, w: 2x3",
        "np.full(3, v) * w | v: 1x3, w: 3",
    ),
    "full_like": ("np.full_like(w, v) * w | v: f, w: 3",),
}
_FILLED = {  # np.full's and np.full_like's fill value is differentiated
    "vjp": {"args": _fill_vjp},
    "jvp": {"args": _fill_jvp},
    "math": "v summed over the entries the fill value fills (to its shape)",
}


def _plain(ins: dict, attrs: dict) -> bool:
    """Numba makes the array (`Rule.jit`) when no keyword (a dtype) is given."""
    return not attrs.get("kwargs")


for _name in _OTHER:
    defrule(
        _name,
        "*args",
        call(f"np.{_name}"),
        numpy=(getattr(np, _name),),
        nondiff=_name not in ("full", "full_like"),
        kwargs=True,
        methods=(_name,) if _name in ("argmax", "argmin", "argsort", "any", "all") else (),
        ndarray=_MADE.get(_name),
        fresh=_name in _MADE or _name.startswith("arg"),
        shape_reads=(0,) if _name.endswith("_like") else (),
        aval=_shape_rule(_name),
        jit=_plain if _MADE.get(_name) in ("like", "shape") else None,
        fill=_FILLS.get(_name),
        mask=_name in ("any", "all"),  # (NumPy's bools: `~np.all(...)` is their not)
        smooth_in=_SMOOTH_IN.get(_name),
        examples=_FILL_EXAMPLES.get(_name, ()),
        **(_FILLED if _name in ("full", "full_like") else {}),
    )

defrule(  # `n // 2`: on static Python ints, folded to its value (`emit.python`)
    "floor_divide",
    "x1, x2",
    binop("//"),
    numpy=(np.floor_divide,),
    nondiff=True,
    examples=("x * (x // 0.7) | x: 3x4",),
    shape="elementwise",
    scalar=SAME,
    jit=int_division_jit,
)

defrule(
    "broadcast_shapes",
    "*shapes",
    call("np.broadcast_shapes"),
    numpy=(np.broadcast_shapes,),
    nondiff=True,
    reads_shape=True,
    fresh=True,
)


def _product(shape: tuple | None) -> int | None:
    return None if shape is None else int(np.prod(shape))


def _emit_is_none(args, attrs, rule):
    op = ast.IsNot() if attrs.get("negated") else ast.Is()
    return ast.Compare(args[0], [op], [ast.Constant(None)])


defrule(
    "is_none",
    "a, negated=False",
    _emit_is_none,
    nondiff=True,
    fresh=True,
    aval=lambda ins, attrs: (  # an argument's Aval is known only where it is no None
        None if ins["a"] is None else of_value(bool(attrs.get("negated")), static=True)
    ),
    math="`a is None` (`a is not None`) of an argument: None where a caller leaves it out",
)


_SHAPE_ONLY = {"nondiff": True, "reads_shape": True, "fresh": True}
defrule(
    "shape_size",
    "shape",
    call("np.prod"),
    shape="scalar",
    aval=lambda ins, attrs: ins["shape"] and of_value(_product(ins["shape"].value), static=True),
    **_SHAPE_ONLY,
)
_OF_AN_ARRAY = {**_SHAPE_ONLY, "shape_reads": (0,), "inline": True}
defrule("shape", "a", call("np.shape"), numpy=(np.shape,), methods=("shape",), **_OF_AN_ARRAY)
for _name, _params in (("size", "a, axis=None"), ("ndim", "a")):  # (np.size(a, axis): a length)
    _fn = getattr(np, _name)
    defrule(
        _name,
        _params,
        call(f"np.{_name}"),
        numpy=(_fn,),
        methods=(_name,),
        shape="scalar",
        **_OF_AN_ARRAY,
    )
# np.result_type(a), not a.dtype: a Python float (2.0 - a, where NumPy's np.subtract would give
# np.float64) has no .dtype
defrule(
    "dtype",
    "a",
    call("np.result_type"),
    methods=("dtype",),
    nondiff=True,
    fresh=True,
    shape_reads=(0,),
    aval=lambda ins, attrs: (
        None if ins["a"] is None or ins["a"].dtype is None else of_dtype(ins["a"].dtype)
    ),
)


def _issubdtype_aval(ins: dict, attrs: dict) -> Aval:
    """A bool, known where the dtype is (a module specialised for its arguments' dtypes)."""
    a = ins["arg1"]
    known = a is not None and a.kind == DTYPE and a.value is not None
    value = np.issubdtype(a.value, attrs["arg2"]) if known else None
    return Aval((), np.dtype(bool), PYTHON, value)


defrule(  # np.issubdtype(x.dtype, np.floating): of the dtype read, and a type written
    "issubdtype",
    "arg1, arg2=...",
    call("np.issubdtype"),
    numpy=(np.issubdtype,),
    nondiff=True,
    aval=_issubdtype_aval,
    math="NumPy's issubdtype(dtype, kind): decided where the dtype is known",
)


def stop_gradient(x):
    """x itself; symgrad differentiates nothing through it (as `jax.lax.stop_gradient`)."""
    return x


defrule(
    "stop_gradient",
    "x",
    lambda args, attrs, rule: args[0],  # emitted as the value itself
    numpy=(stop_gradient,),
    nondiff=True,
    shape="first",
    inline=True,
    aval=lambda ins, attrs: ins["x"],
    sympy=lambda sp, x: x,
    math="no cotangent: what depends on x only through it has none",
)


defrule(
    "not",
    "x",
    unaryop(ast.Not),
    nondiff=True,
    aval=lambda ins, attrs: Aval((), np.dtype(bool), PYTHON),
    math="Python's `not`: a bool (of an array of more than one element, Python's error)",
)


def class_name(cls: type) -> str | None:
    """How emitted code names a class `isinstance` tests: a built-in by its name, NumPy's as
    `np.<name>`; None for another (the emitted module imports nothing else)."""
    import builtins

    if getattr(builtins, cls.__name__, None) is cls:
        return cls.__name__
    return f"np.{cls.__name__}" if getattr(np, cls.__name__, None) is cls else None


def _emit_isinstance(args: list[ast.expr], attrs: dict, rule) -> ast.expr:
    names = [ast.parse(class_name(c), mode="eval").body for c in attrs["classinfo"]]
    classes = names[0] if len(names) == 1 else ast.Tuple(names, ast.Load())
    return ast.Call(ast.Name("isinstance", ast.Load()), [args[0], classes], [])


def _isinstance_aval(ins: dict, attrs: dict) -> Aval:
    """Known where x's kind and dtype are (a specialisation): an array is an np.ndarray, a
    NumPy number its dtype's type, a Python number a float, int or bool."""
    x = ins["x"]
    kind = getattr(x, "kind", None)
    known = x is not None and x.dtype is not None and kind in (ARRAY, SCALAR, PYTHON)
    if not known:
        return Aval((), np.dtype(bool), PYTHON)
    like = {ARRAY: np.zeros((), x.dtype), SCALAR: x.dtype.type(0)}.get(kind)
    like = x.dtype.type(0).item() if kind == PYTHON else like
    return of_value(isinstance(like, attrs["classinfo"]), static=True)


def _emit_type_limit(args: list[ast.expr], attrs: dict, rule) -> ast.expr:
    limits = ast.Call(ast.Attribute(ast.Name("np", ast.Load()), attrs["of"]), [args[0]], [])
    return ast.Attribute(limits, attrs["attr"], ast.Load())


def _type_limit_aval(ins: dict, attrs: dict) -> Aval | None:
    """A NumPy number of the dtype's (finfo's eps, tiny, max; iinfo's a Python int)."""
    dtype = ins["dtype"]
    known = dtype is not None and dtype.kind == DTYPE and dtype.value is not None
    if not known:
        return None
    value = getattr(getattr(np, attrs["of"])(dtype.value), attrs["attr"])
    return of_value(value, static=True) if type(value) is int else Aval((), value.dtype, SCALAR)


defrule(
    "type_limit",
    "dtype, of='finfo', attr='eps'",
    _emit_type_limit,
    nondiff=True,
    aval=_type_limit_aval,
    math="np.finfo(dtype).eps (tiny, max, ...; np.iinfo's too): a constant of the dtype",
)

defrule(
    "isinstance",
    "x, classinfo=()",
    _emit_isinstance,
    nondiff=True,
    aval=_isinstance_aval,
    math="Python's isinstance(x, classes): decided where x's kind and dtype are known",
)

defrule(
    "index_error",
    "index, n",
    call("_index_error"),
    helper=runtime._index_error,
    nondiff=True,
    math="raises IndexError (a tuple or list indexed out of range)",
)
