"""The rule table: one `Rule` per primitive, and the one function that registers them.

Contract: a `Rule` says everything symgrad knows of a primitive: its IR name, its parameters (array
inputs, sequences of arrays, static attributes), how it is spelled in emitted NumPy code, which
NumPy callables and ndarray methods denote it, a VJP template per differentiable parameter, a JVP
template per differentiable parameter, its SymPy form (a function that receives the sympy module,
so importing symgrad never imports SymPy), the input domain to sample it on, and the facts passes
use (shape class, broadcasting). Adding a primitive is one `defrule(...)` call beside its siblings
and nothing else.

JVP templates mirror VJP templates: `jvp={"x": lambda t, x, ans: ...}` gives the tangent of the
output contributed by the tangent `t` of input x (a list, None where inactive, for a list input);
the forward pass sums the contributions. `LINEAR` says the rule is linear in that input (the rule
applied with the tangent in the input's place: reshape, sum, each factor of matmul); `jvp=LINEAR`
says so of every input the VJP differentiates. `jvp=DIAGONAL` reuses the VJP templates of an
elementwise rule, whose Jacobian is diagonal, with the tangent in place of the cotangent
(`g * cos(x)` becomes `t * cos(x)`). `jvp_joint=lambda t, ...: ...`, where `t` maps each input's
name to its tangent, gives the whole tangent when more than one input has one, instead of the sum
of the templates (`setitem`: one update of the tangent, not two arrays added).
"""

from __future__ import annotations

import ast
import inspect
import math
import operator
import sys
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

import numpy as np

from symgrad.ir.avals import PYTHON

ARRAY, STATIC, SEQ = "array", "static", "seq"
_NO_DEFAULT = inspect.Parameter.empty


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # ARRAY: one graph input; SEQ: a list of graph inputs; STATIC: a literal attribute
    default: Any = _NO_DEFAULT
    varargs: bool = False  # a SEQ given as separate positional arguments (`*args`)


@dataclass(frozen=True)
class Fold:
    """How a compiled loop reduces entries into a running value r (`symgrad.emit.kernels`):
    r starts at `start`, takes each entry v by the statement `step` ({r}, {v} its text), and
    is the result, or the result over the count of entries where `mean`. A `start` that is
    no int (inf) folds floats only."""

    start: float
    step: str
    mean: bool = False

    def takes(self, kind: str) -> bool:
        """Whether it folds entries of a dtype of this kind ("f", "i", ...)."""
        return kind == "f" or not math.isinf(self.start)

    def made(self, shape: str | None, dtype: str, kind: str) -> str:
        """Loop source for r's first value: a number (`shape` None), or an array of running
        values of that shape (text) and dtype (its name, of this kind)."""
        if math.isinf(self.start):
            first = "np.inf" if self.start > 0 else "-np.inf"
        else:
            first = repr(float(self.start)) if kind == "f" else repr(int(self.start))
        if shape is None:
            plain = dtype in ("np.float64", "np.int64") or self._wide(dtype)
            return first if plain else f"{dtype}({first})"
        if self.start == 0:
            return f"np.zeros({shape}, {dtype})"
        return f"np.full({shape}, {first}, {dtype})"

    def result(self, r: str, count: str, number: str | None = None) -> str:
        """Loop source for the reduction's value from r, the count of entries it took
        (`number`: the dtype's name where r is a number, as `made` had it)."""
        value = f"{r} / ({count})" if self.mean else r
        return f"np.float32({value})" if self._wide(number) else value

    def _wide(self, number: str | None) -> bool:
        """Whether a number r of this dtype (its name) is a float32 total added up in float64,
        a float32 again at the end: NumPy's float32 sum adds pairwise, whose error grows as
        log n; adding one entry after the other in float32 lost 6e-4 relative at 65,536."""
        return number == "np.float32" and self.start == 0


@dataclass
class Rule:
    name: str
    params: tuple[Param, ...]
    emit: Callable[[list[ast.expr], dict], ast.expr]
    vjp: dict[str, Callable] = field(default_factory=dict)
    jvp: dict[str, Callable] = field(default_factory=dict)  # templates, or LINEAR
    jvp_joint: Callable | None = None  # the tangent from every input's at once (see docstring)
    sympy: Callable | None = None
    domain: dict[str, str] = field(default_factory=dict)
    shape: str | None = None  # "elementwise": broadcast of the inputs; "first": as input 0;
    # "reduce": 0-d when reducing every axis; "scalar": 0-d
    broadcasts: bool = False  # inputs broadcast against each other: unbroadcast cotangents
    nondiff: bool = False  # the output carries no gradient (comparisons, argmax, shape, ...)
    kwargs: bool = False  # accepts any constant keyword argument, emitted as given
    view: bool | Callable = False  # the output may share memory with its first input (or a
    # function of the node's attributes saying where: an einsum of one operand summing nothing)
    ndarray: str | None = None  # the output is always an ndarray (`+=` on it is in place):
    # "shape": of the shape its first argument gives (np.zeros); "like": shaped like its first
    # input (np.zeros_like, np.asarray); "axes": with at least one axis (np.stack); None: it
    # may be a number (an elementwise result is an array where an operand has an axis)
    helper: Callable | None = None  # a runtime function emitted into modules that call it
    compiled_helper: Callable | None = None  # the function of helper's name that modules of
    # the Numba backend carry in its place (`symgrad.rules.runtime_compiled`: loops it compiles)
    vector: Callable | None = None  # its function on a float64 number that LLVM vectorises in
    # a loop nest (`symgrad.rules.runtime_vector`), spelt in place of `scalar` in the nests of
    # large float64 arrays (`fused` nodes `symgrad.passes.fuse` marks "vector")
    math: str = ""  # the backward function in math notation, for docs and reports
    adapt: Callable | None = None  # reorders a NumPy-style call into the rule's parameters
    validate: Callable | None = None  # checks static attributes; raises SymgradError
    examples: tuple = ()  # "call source | x: 3x4 domain, ..." for generated tests and proofs
    callables: tuple = ()  # the NumPy callables that denote it
    structured: bool = False  # control flow owning sub-graphs; passes handle it themselves
    batch: dict = field(default_factory=dict)  # per parameter, the function of
    # `symgrad.rules.batching` computing the rule on that input with a trailing batch axis, and
    # its keywords: {"a": ("_sum_batched", {})}; for parameters batched together, keyed by the
    # tuple of their names ({("v", "a"): ...}); a list parameter's gets `batched=` the positions
    # of its batched entries (`symgrad.passes.batch`)
    custom: bool = False  # carries a user's custom_vjp or custom_jvp rule (symgrad.rules.custom)
    aval: Callable | None = None  # shape rule: (input Avals by parameter, attrs) -> Aval | None,
    # where the facts above do not tell the output's Aval (`symgrad.passes.avals`); it returns
    # NotImplemented where they do
    mask: bool = False  # its value is a mask (bools): a comparison, np.isnan, a logical or a
    # bitwise op; `&`, `|`, `^` and `~` take such values (`symgrad.frontend.lower`)
    reads_shape: bool = False  # the value depends on the inputs' shapes alone
    shape_reads: tuple[int, ...] = ()  # input positions read for their shape, dtype and type
    # alone (`fit`'s target, `np.zeros_like`'s array): an update in place may come before
    value_feeds: tuple[int, ...] | bool = ()  # input positions whose values decide the
    # output's value only, never its shape or dtype (True: every input), so that a use of the
    # output's shape alone reads none of them
    dtype_of: tuple[int, ...] = ()  # input positions whose dtype the output has, where it is
    # not their promotion (an update keeps its array's: a float written into ints is ints)
    fresh: bool = False  # the result is a new array or number, sharing memory with no input
    itself: bool = False  # the result is input 0's array itself, or a new array (np.asarray,
    # an update's value: `symgrad.rules.updates`): it is owned where input 0 is
    inline: bool = False  # emitted where it is used, never named (a shape, a tuple of names)
    numeric_helper: bool = False  # its helper is numeric code that cannot run on SymPy
    # symbols (a series, math per entry, an SVD): symbolic proofs run its `sympy` form (entry
    # by entry), or its `symbolic` one (on whole arrays), in its place
    twins: tuple = ()  # callables of optional libraries that denote it too, by dotted name
    # ("scipy.special.gammaln"), known once the user's code has imported them; a pair
    # (dotted name, convention) where the twin's call differs from the rule's (its defaults, its
    # argument order): convention(*args, **kwargs) -> (args, kwargs) in the rule's parameters,
    # raising SymgradError for arguments the rule cannot take (`CONVENTIONS`)
    route: Callable | None = None  # (the call's args, kwargs) -> (rule name, args, kwargs)
    # where another rule denotes the call with these arguments (np.linalg.svd(a,
    # compute_uv=False) is np.linalg.svdvals(a)), else None
    symbolic: Callable | None = None  # its NumPy callable on arrays of SymPy values, where
    # NumPy cannot run it on objects (LAPACK's svd): (sympy module, object arrays and statics as
    # called) -> what NumPy returns; `symgrad.checks.sym_array` calls it for the proofs
    specialise: Callable | None = None  # (input Avals by parameter) -> a template computing
    # the same value with what the Avals decide resolved (a helper's rank dispatch), or None
    scalar: Any = None  # an elementwise rule's spelling on numbers inside a compiled loop
    # (`symgrad.emit.kernels`): SAME where its NumPy spelling serves (np.exp of a number), or a
    # template, "np.maximum({0}, 0.0)", {k} the k-th array input; None: never fused
    fold: Fold | None = None  # a reduction a compiled loop folds into a running value, entry
    # by entry, along static axes (`symgrad.passes.fuse`)
    simd: tuple = ()  # the dtypes (names) NumPy computes it in with vectorised loops where the
    # CPU has AVX-512 (measured: 4-70x the per-entry C library call of a compiled loop on numbers):
    # a loop nest leaves it to NumPy there (`symgrad.passes.fuse`)
    zeros: tuple = ()  # groups of inputs (by parameter name) that, all zeros, make the output
    # zeros whatever the other inputs (multiply: ("x1",), ("x2",); where: ("x", "y")), beside
    # each input the rule is linear in (`jvp` LINEAR): `symgrad.passes.zeros`
    fill: int | None = None  # an array constructor's value at every entry (np.zeros_like: 0),
    # which a compiled loop reads as a number (`symgrad.passes.stencils`)
    parts: type | None = None  # a call returning several arrays (np.linalg.eigh): the
    # NamedTuple type NumPy returns them in; source gets one node per field, its index the
    # static `part`
    smooth_in: Callable[[int], tuple] | None = None  # a `nondiff` rule's inputs (positions,
    # given how many it has) its value changes smoothly with (np.linspace's bounds, np.arange's
    # start and step, a custom rule's nondiff_argnums): a differentiated value reaching them is
    # refused, not given zero, with `refusal(attrs)`'s (message, hint) where it has one
    refusal: Callable[[dict], tuple[str, str]] | None = None
    jit: Any = None  # whether its NumPy spelling compiles in Numba's nopython mode, inside a
    # loop compiled whole (`symgrad.emit.compiled`): True, or a test `(input Avals by parameter,
    # attrs) -> bool` where Numba takes some inputs only; None: a loop using it stays Python.
    # True by default where `scalar` is SAME (Numba's ufuncs take arrays as they take numbers)
    ints_differ: Callable | None = None  # (input Avals by parameter) -> whether Numba's
    # integer arithmetic gives a number where NumPy raises on such inputs (`int ** -2`): the
    # Numba backend leaves the node to NumPy (`numba_agrees`)

    def __post_init__(self):
        """What a shape class implies, unless the entry says otherwise: an elementwise result or
        a reduction is a new array whose shape the inputs' shapes decide; a view's shape is
        decided by its array's shape (and static attributes)."""
        if self.shape in ("elementwise", "reduce") and not self.view:
            self.fresh = True
            self.value_feeds = self.value_feeds or True
        elif self.view is True:
            self.value_feeds = self.value_feeds or (0,)
        if self.jit is None and self.scalar is SAME:
            self.jit = True

    def is_view(self, attrs: dict) -> bool:
        """Whether a node of these attributes may share memory with its first input."""
        return bool(self.view(attrs)) if callable(self.view) else self.view

    def feeds_value(self, position: int) -> bool:
        """Whether input `position`'s value reaches only the output's value (`value_feeds`)."""
        return self.value_feeds is True or position in self.value_feeds

    @property
    def array_params(self) -> list[Param]:
        return [p for p in self.params if p.kind != STATIC]

    def static_defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params if p.kind == STATIC}


RULES: dict[str, Rule] = {}
BY_CALLABLE: dict[Hashable, str] = {}  # the NumPy callable's `identity` -> rule name
BY_METHOD: dict[str, str] = {}  # ndarray method or attribute name -> rule name
_KEEP_ALIVE: list = []
_TWINS: list[tuple[str, str, Callable | None]] = []  # (dotted name, rule name, convention)
# of twins not registered yet
CONVENTIONS: dict[int, Callable] = {}  # id(twin callable) -> its call in the rule's parameters


def parse_params(spec: str) -> tuple[Param, ...]:
    """'x, [arrays], axis=None, *args' -> Params: a plain name is an array input, `[name]` a list
    of arrays, `*name` the remaining positional arguments (arrays), `name=literal` a static with
    that default, `name=...` a static that must be given."""
    params = []
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        if item.startswith("*"):
            params.append(Param(item[1:], SEQ, varargs=True))
        elif item.startswith("["):
            params.append(Param(item.strip("[]"), SEQ))
        elif "=" in item:
            name, default = (s.strip() for s in item.split("=", 1))
            value = ast.literal_eval(default)  # `...`: a static with no default
            params.append(Param(name, STATIC, _NO_DEFAULT if value is Ellipsis else value))
        else:
            params.append(Param(item, ARRAY))
    return tuple(params)


def defrule(
    name: str,
    params: str,
    emit: Callable,
    *,
    numpy: tuple = (),
    methods: tuple[str, ...] = (),
    vjp: dict[str, Callable] | None = None,
    jvp: dict[str, Callable] | None = None,
    **facts,
) -> Rule:
    """Register one primitive. `numpy` lists the callables that denote it, `methods` the ndarray
    methods and attributes. Returns the rule (also reachable as `RULES[name]`)."""
    if name in RULES:
        raise ValueError(f"rule {name!r} registered twice")
    vjp = dict(vjp or {})
    if jvp is DIAGONAL:
        jvp = diagonal(vjp)
    elif jvp is LINEAR:
        jvp = dict.fromkeys(vjp, LINEAR)
    rule = Rule(
        name,
        parse_params(params),
        emit,
        vjp,
        dict(jvp or {}),
        callables=tuple(numpy),
        **facts,
    )
    for kind in ("vjp", "jvp"):
        unknown = set(getattr(rule, kind)) - {p.name for p in rule.params}
        if unknown:
            raise ValueError(
                f"rule {name!r}: {kind.upper()} for unknown parameters {sorted(unknown)}"
            )
    for reserved, what in (("g", "cotangent"), ("t", "tangent")):
        if any(p.name == reserved for p in rule.params):
            raise ValueError(
                f"rule {name!r}: {reserved!r} names the {what} in templates; rename the param"
            )
    RULES[name] = rule
    if rule.helper is not None and getattr(emit, "calls", None) == rule.helper.__name__:
        numpy = rule.callables = (rule.helper, *numpy)  # source that calls it (an emitted
        # gradient) lowers back to this rule
    for fn in numpy:
        BY_CALLABLE[identity(fn)] = name
        _KEEP_ALIVE.append(fn)
    for m in methods:
        BY_METHOD[m] = name
    for twin in rule.twins:
        dotted_name, convention = twin if isinstance(twin, tuple) else (twin, None)
        _TWINS.append((dotted_name, name, convention))
    return rule


class _Marker:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


LINEAR: Any = _Marker("LINEAR")  # JVP: the rule applied to the tangent (see the docstring)
DIAGONAL: Any = _Marker("DIAGONAL")  # JVP: the VJP templates, tangent for cotangent
SAME: Any = _Marker("SAME")  # scalar: the NumPy spelling computes the same on numbers


def diagonal(vjp: dict[str, Callable]) -> dict[str, Callable]:
    """JVP templates of an elementwise rule from its VJP templates: its Jacobian is diagonal, so
    the tangent is multiplied by the factor the cotangent is (`g` in the template becomes `t`)."""
    return {name: _tangent_for_cotangent(template) for name, template in vjp.items()}


def _tangent_for_cotangent(template: Callable) -> Callable:
    params = inspect.signature(template).parameters

    def jvp(t, **args):
        return template(g=t, **args)

    P = inspect.Parameter
    rest = [P(n, P.KEYWORD_ONLY) for n in params if n != "g"]
    jvp.__signature__ = inspect.Signature([P("t", P.POSITIONAL_OR_KEYWORD), *rest])
    return jvp


def identity(fn: Any) -> Hashable:
    """What tells a callable: its id, or a ufunc's method's ufunc and name (Python makes a new
    bound method `np.maximum.accumulate` at each look-up)."""
    if isinstance(getattr(fn, "__self__", None), np.ufunc):
        return (id(fn.__self__), fn.__name__)
    return id(fn)


def rule_for_callable(fn: Any) -> Rule | None:
    name = BY_CALLABLE.get(identity(fn))
    if name is None and _resolve_twins():
        name = BY_CALLABLE.get(identity(fn))
    return RULES[name] if name is not None else None


def imported(dotted_name: str) -> Any:
    """The object of this dotted name (`"scipy.special.gammaln"`) where its module has been
    imported (none is imported here), else None."""
    module_name, attrs = dotted_name, []
    while module_name and module_name not in sys.modules:  # (`scipy.stats.norm.cdf`: a method
        module_name, _, attr = module_name.rpartition(".")  # of an object of scipy.stats)
        attrs.insert(0, attr)
    found = sys.modules.get(module_name)
    for attr in attrs:  # (a module's from its `__dict__`: a lazy one's `__getattr__` would
        lazy = isinstance(found, types.ModuleType)  # import more, SciPy's submodules)
        found = vars(found).get(attr) if lazy else getattr(found, attr, None)
    return found


def _resolve_twins() -> bool:
    """Register the twins (`Rule.twins`) of libraries imported since: whether any was.
    Nothing is imported here, so `import symgrad` never imports SciPy."""
    found = []
    for twin in _TWINS:
        dotted_name, name, convention = twin
        fn = imported(dotted_name)
        if fn is not None and identity(fn) not in BY_CALLABLE:
            BY_CALLABLE[identity(fn)] = name
            if convention is not None:
                CONVENTIONS[id(fn)] = convention
            _KEEP_ALIVE.append(fn)
        if fn is not None:
            found.append(twin)
    for twin in found:
        _TWINS.remove(twin)
    return bool(found)


# emitters: how a rule is spelled in emitted source -------------------------------------------


def dotted(path: str) -> ast.expr:
    """`a.b.c` as an expression."""
    head, *rest = path.split(".")
    node: ast.expr = ast.Name(head, ast.Load())
    for part in rest:
        node = ast.Attribute(node, part, ast.Load())
    return node


def literal(value: Any) -> ast.expr:
    """A static Python value as an expression."""
    if isinstance(value, tuple):
        return ast.Tuple([literal(v) for v in value], ast.Load())
    if isinstance(value, list):
        return ast.List([literal(v) for v in value], ast.Load())
    if isinstance(value, np.dtype):  # (its scalar type's name: np.zeros(3, np.float64))
        value = value.type
    if isinstance(value, type):  # a dtype: float, np.float32
        module = "np." if value.__module__ == "numpy" else ""
        return dotted(module + value.__name__)
    if isinstance(value, (int, float, str)) and type(value).__module__ not in ("builtins", "numpy"):
        value = next(t(value) for t in (bool, int, float, str) if isinstance(value, t))  # (an
        # IntEnum's member, a float of a subclass: its repr, `<Mode.A: 1>`, is no source)
    if isinstance(value, float) and not math.isfinite(value):  # (emitted modules import np)
        return dotted("np.nan") if math.isnan(value) else literal_inf(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def literal_inf(value: float) -> ast.expr:
    return dotted("np.inf") if value > 0 else ast.UnaryOp(ast.USub(), dotted("np.inf"))


def call(path: str, method: str | None = None) -> Callable:
    """Emit as a call `path(arrays..., static=value, ...)`, statics only when not default; or,
    given the name of the array `method` that computes the same and the attribute `array` (the
    first operand is known to be an array: `symgrad.passes.methods`), as `a.method(...)`; a
    node with the attribute `builtin` (Python's `abs`, `min`, `max` the user called, which
    keep Python numbers Python numbers) as that builtin's call."""

    def emit(args: list[ast.expr], attrs: dict, rule: Rule) -> ast.expr:
        if attrs.get("builtin"):
            return ast.Call(ast.Name(attrs["builtin"], ast.Load()), args, [])
        keywords = [
            ast.keyword(p.name, literal(attrs[p.name]))
            for p in rule.params
            if p.kind == STATIC and attrs.get(p.name, p.default) != p.default
        ]
        keywords += [ast.keyword(k, literal(v)) for k, v in attrs.get("kwargs", ())]
        positional = []
        for p, a in zip(rule.array_params, args):
            positional.extend(a.elts if p.varargs else [a])
        if method is not None and attrs.get("array"):
            return ast.Call(ast.Attribute(positional[0], method, ast.Load()), [], keywords)
        return ast.Call(dotted(path), positional, keywords)

    emit.calls = path  # what it calls, in the rule's own parameter order
    emit.method = method
    return emit


_BINOPS = {  # symbol: the operator's AST node, and what it computes on Python numbers
    "+": (ast.Add, operator.add),
    "-": (ast.Sub, operator.sub),
    "*": (ast.Mult, operator.mul),
    "/": (ast.Div, operator.truediv),
    "**": (ast.Pow, operator.pow),
    "@": (ast.MatMult, operator.matmul),
    "%": (ast.Mod, operator.mod),
    "//": (ast.FloorDiv, operator.floordiv),
    "&": (ast.BitAnd, operator.and_),
    "|": (ast.BitOr, operator.or_),
    "^": (ast.BitXor, operator.xor),
    "<<": (ast.LShift, operator.lshift),
    ">>": (ast.RShift, operator.rshift),
}
_UNARYOPS = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Invert: operator.invert,
    ast.Not: operator.not_,
}


def numba_agrees(rule: Rule, ins: dict) -> bool:
    """Whether Numba computes the rule on inputs of these Avals (by parameter) as NumPy does,
    as far as integers go: NumPy raises OverflowError where a Python int does not fit the
    dtype of an integer array or number it meets (`uint8_array + 300`, `int8_a[i] * 1000`), and
    Numba wraps it; so no Python int meets one of a dtype it does not fit (its value known) or
    of another dtype than int64 (not known); and the rule's own `ints_differ`."""
    avals = [a for v in ins.values() for a in (v if isinstance(v, list) else [v])]
    ints = [a for a in avals if a is not None and a.dtype is not None and a.dtype.kind in "iu"]
    typed = [a.dtype for a in ints if a.kind != PYTHON]
    for a in ints:
        if a.kind != PYTHON or not typed:
            continue
        if a.value is None and any(d.name != "int64" for d in typed):
            return False
        if type(a.value) is int and any(
            not np.iinfo(d).min <= a.value <= np.iinfo(d).max for d in typed
        ):
            return False
    return rule.ints_differ is None or not rule.ints_differ(ins)


def int_division_jit(ins: dict, attrs: dict) -> bool:
    """`Rule.jit` of `//` and `%`: Numba's (NumPy's error model) give 0 where Python's ints
    raise ZeroDivisionError, so not of two Python ints by a divisor not known to be nonzero."""
    a, b = ins["x1"], ins["x2"]
    python_ints = all(
        v is not None and v.kind == PYTHON and v.dtype is not None and v.dtype.kind in "iub"
        for v in (a, b)
    )
    return not python_ints or b.value is not None and b.value != 0


def binop(symbol: str) -> Callable:
    node, python = _BINOPS[symbol]

    def emit(args, attrs, rule):
        return ast.BinOp(args[0], node(), args[1])

    emit.python = python  # the spelling on Python numbers (constant folding, static Avals)
    return emit


def unaryop(op: type) -> Callable:
    def emit(args, attrs, rule):
        return ast.UnaryOp(op(), args[0])

    emit.python = _UNARYOPS[op]
    return emit


_CMPOPS = {  # symbol: the comparison's AST node, and what it computes on Python numbers
    "<": (ast.Lt, operator.lt),
    "<=": (ast.LtE, operator.le),
    ">": (ast.Gt, operator.gt),
    ">=": (ast.GtE, operator.ge),
    "==": (ast.Eq, operator.eq),
    "!=": (ast.NotEq, operator.ne),
}


def compare(symbol: str) -> Callable:
    node, python = _CMPOPS[symbol]

    def emit(args, attrs, rule):
        return ast.Compare(args[0], [node()], [args[1]])

    emit.python = python  # (constant folding: `np.ndim(x) != 1` of a known rank)
    return emit
