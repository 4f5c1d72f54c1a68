"""Building IR from rule applications: argument binding, and `Value`, the handle templates use.

Contract: `add_node(graph, rule, args, kwargs)` binds a call against the rule's parameters (arrays
become inputs, Python numbers given for arrays become `const` nodes, statics become attributes) and
adds one node. VJP templates are plain Python over `Value`s: `g * (1 - ans ** 2)` or
`ops.sum(g, axis=0)` add nodes to the graph being built (set with `building(...)`), so every
backward function is itself made of primitives and can be differentiated again.
"""

from __future__ import annotations

import copy
import inspect
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np

from symgrad.errors import Loc, NeedsConstant, SymgradError
from symgrad.ir import Graph
from symgrad.ir.index import Dyn, Slice
from symgrad.rules.table import ARRAY, RULES, SEQ, STATIC, Rule

_SIGNATURES: dict[str, inspect.Signature] = {}
_MISSING = object()  # default of a static that must be given (kept positional-friendly)


def signature(rule: Rule) -> inspect.Signature:
    sig = _SIGNATURES.get(rule.name)
    if sig is None:
        P = inspect.Parameter
        params = [
            P(
                p.name,
                P.POSITIONAL_OR_KEYWORD,
                default=_MISSING if p.default is P.empty else p.default,
            )
            if p.kind == STATIC
            else P(p.name, P.VAR_POSITIONAL)
            if p.varargs
            else P(p.name, P.POSITIONAL_OR_KEYWORD)
            for p in rule.params
        ]
        if rule.kwargs:
            params.append(P("kwargs", P.VAR_KEYWORD))
        sig = inspect.Signature(params)
        _SIGNATURES[rule.name] = sig
    return sig


class Value:
    """A graph value inside a template or the frontend: arithmetic builds primitive nodes."""

    __slots__ = ("id",)

    def __init__(self, nid: int):
        self.id = nid

    def __repr__(self) -> str:
        return f"Value({self.id})"

    def __add__(self, o):
        return apply("add", self, o)

    def __radd__(self, o):
        return apply("add", o, self)

    def __sub__(self, o):
        return apply("subtract", self, o)

    def __rsub__(self, o):
        return apply("subtract", o, self)

    def __mul__(self, o):
        return apply("multiply", self, o)

    def __rmul__(self, o):
        return apply("multiply", o, self)

    def __truediv__(self, o):
        return apply("divide", self, o)

    def __rtruediv__(self, o):
        return apply("divide", o, self)

    def __pow__(self, o):
        return apply("power", self, o)

    def __rpow__(self, o):
        return apply("power", o, self)

    def __matmul__(self, o):
        return apply("matmul", self, o)

    def __rmatmul__(self, o):
        return apply("matmul", o, self)

    def __neg__(self):
        return apply("negative", self)

    def __gt__(self, o):
        return apply("greater", self, o)

    def __lt__(self, o):
        return apply("less", self, o)

    def __ge__(self, o):
        return apply("greater_equal", self, o)

    def __le__(self, o):
        return apply("less_equal", self, o)

    def __bool__(self):
        """A value known only when the function runs cannot decide what is compiled
        (`if not include_initial:` in a composition, `0 if bias else 1`): where it is an
        argument, a call compiles the function again with it as a constant
        (`NeedsConstant`); else an error naming the call that asked (`deciding`), never
        Python's truth of the handle."""
        what = (_DECIDING.get() or (None, None, "symgrad"))[2]
        raise undecided(self, f"{what} decides on a value known only when the function runs")

    @property
    def T(self):
        return apply("transpose", self)

    @property
    def shape(self):
        return apply("shape", self)

    def __getitem__(self, index):
        items = index if isinstance(index, tuple) else (index,)
        parts: list[Value] = []

        def static(item):
            if isinstance(item, Value):
                parts.append(item)
                return Dyn(len(parts) - 1)
            if isinstance(item, slice):
                return Slice(static(item.start), static(item.stop), static(item.step))
            return item

        spec = tuple(static(i) for i in items)
        return apply("getitem", self, parts, index=spec)


class _Builder:
    def __init__(self, graph: Graph, loc: Loc | None, data: dict):
        self.graph, self.loc, self.data = graph, loc, data


_CURRENT: ContextVar[_Builder | None] = ContextVar("symgrad_builder", default=None)
_DECIDING: ContextVar[tuple | None] = ContextVar("symgrad_deciding", default=None)


@contextmanager
def deciding(graph: Graph, loc: Loc | None, what: str):
    """Inside this block, a `Value` asked for its truth is an error of `what` (a call the
    frontend lowers), located at loc, naming the parameter it is, where it is one."""
    token = _DECIDING.set((graph, loc, what))
    try:
        yield
    finally:
        _DECIDING.reset(token)


@contextmanager
def building(graph: Graph, loc: Loc | None = None, **data):
    """Templates called inside this block add nodes to `graph`, located at `loc`, with `data`."""
    token = _CURRENT.set(_Builder(graph, loc, data))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def apply(name: str, *args, **kwargs) -> Value:
    """Apply the primitive `name` in the graph being built."""
    b = _CURRENT.get()
    if b is None:
        raise RuntimeError("rule templates run only inside building(graph)")
    return Value(add_node(b.graph, RULES[name], args, kwargs, b.loc, **b.data))


def location() -> Loc | None:
    """Where the nodes being built are located (a template's error points there)."""
    b = _CURRENT.get()
    return None if b is None else b.loc


def splice(sub: Graph, arguments: list) -> list[Value]:
    """A copy of graph `sub` added to the graph being built, its params bound to `arguments`
    (Values, in order): the Values of its outputs. The copies keep their own locations (the
    lines of the function `sub` was lowered from) and take the building flags; the graphs its
    nodes own are copied too, and its checks become the graph's."""
    b = _CURRENT.get()
    if b is None:
        raise RuntimeError("splice runs only inside building(graph)")
    sub = copy.deepcopy(sub)
    ids = {p: a.id for p, a in zip(sub.params, arguments)}
    for node in sub.nodes():
        if node.op != "param":
            inputs = [ids[i] for i in node.inputs]
            loc = node.loc or b.loc
            ids[node.id] = b.graph.add(node.op, inputs, node.attrs, loc, name=node.name, **b.data)
    b.graph.checks += [ids[c] for c in sub.checks]
    return [Value(ids[o]) for o in sub.outputs]


class _Ops:
    """`ops.tanh(x)`, `ops.sum(g, axis=0)`: every rule as a builder function, for templates."""

    def __getattr__(self, name: str):
        if name not in RULES:
            raise AttributeError(name)
        return lambda *args, **kwargs: apply(name, *args, **kwargs)


ops = _Ops()


def const_of(graph: Graph, v: Any) -> Any:
    """The compile-time value of v (a Python literal, or a Value of a const node, or a tuple or
    list of them), else raise."""
    if isinstance(v, Value):
        if graph.is_const(v.id):
            return graph.const_value(v.id)
        node = graph[v.id]  # (`np.int64(2)` written in the function: that NumPy number)
        if node.op == "scalar_type" and graph.is_const(node.inputs[0]):
            return np.dtype(node.attrs["dtype"]).type(graph.const_value(node.inputs[0]))
        raise _NotConst
    if type(v) in (tuple, list):  # (`axis=(0, k)`: every entry known)
        return type(v)(const_of(graph, x) for x in v)
    return v


def python_ints(v: Any) -> Any:
    """An option known when compiling with its NumPy ints and bools as Python's (`n=np.int64(2)`,
    `axis=np.int32(-1)`, an argument's): what an option is, not a value computed on (whose
    NumPy type NumPy's promotion reads), so checks of `int` and the emitted literal hold."""
    if isinstance(v, (np.integer, np.bool_)):
        return v.item()
    if type(v) in (tuple, list):
        return type(v)(python_ints(x) for x in v)
    return v


def is_const(v: Any) -> bool:
    """True if v is known when compiling: a Python value or a Value of a const node."""
    b = _CURRENT.get()
    return not isinstance(v, Value) or b is not None and b.graph.is_const(v.id)


def value_of(v: Any) -> Any:
    """The compile-time value of a constant argument inside a template (see `is_const`)."""
    b = _CURRENT.get()
    return b.graph.const_value(v.id) if isinstance(v, Value) else v


def is_none(v: Any) -> bool:
    """True if v is the constant None (an omitted optional array argument)."""
    b = _CURRENT.get()
    return (
        v is None
        or isinstance(v, Value)
        and b is not None
        and b.graph.is_const(v.id)
        and (b.graph.const_value(v.id) is None)
    )


def updated_from(v: Any, op: str) -> Any:
    """Inside a template: the value a chain of `op` nodes (updates of their first input: `x[i]
    = w`) started from, v itself where v is no such node's."""
    b = _CURRENT.get()
    while isinstance(v, Value) and b is not None and b.graph[v.id].op == op:
        v = Value(b.graph[v.id].inputs[0])
    return v


class _NotConst(Exception):
    pass


def bind(rule: Rule, args: tuple, kwargs: dict) -> dict[str, Any]:
    """The arguments by the rule's parameter, defaults applied (`kwargs`: the keywords a rule
    passes on to NumPy)."""
    bound = _bound(rule, args, kwargs)
    if bound is not None:
        return bound
    try:
        bound = signature(rule).bind(*args, **kwargs)
    except TypeError as e:
        unsupported = _numpys_own(rule, kwargs)
        if unsupported is not None:
            takes = ", ".join(p.name for p in rule.params)
            raise SymgradError(
                f"{unsupported[0]}'s argument {unsupported[1]!r} is not supported (symgrad's "
                f"{rule.name} takes {takes})"
            ) from None
        raise SymgradError(f"bad arguments to {rule.name}: {e}") from None
    bound.apply_defaults()
    missing = [k for k, v in bound.arguments.items() if v is _MISSING]
    if missing:
        raise SymgradError(f"{rule.name} needs the argument {missing[0]!r}")
    return dict(bound.arguments)


def _numpys_own(rule: Rule, kwargs: dict) -> tuple[str, str] | None:
    """(np.f, a keyword) that the NumPy function a rule denotes takes and the rule does not
    (np.diff's `prepend`), or None: a call NumPy accepts is not the user's mistake."""
    if not rule.callables:
        return None
    fn = rule.callables[0]
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # (a ufunc's: none to read)
        return None
    name = f"{(getattr(fn, '__module__', None) or 'numpy').replace('numpy', 'np', 1)}.{fn.__name__}"
    names = {p.name for p in rule.params}
    return next(((name, k) for k in kwargs if k not in names and k in params), None)


def _bound(rule: Rule, args: tuple, kwargs: dict) -> dict[str, Any] | None:
    """`bind`'s result, worked out without `inspect` (it runs for every node a template adds):
    None where a parameter is `*args` or an argument does not fit (`inspect` says why)."""
    params = rule.params
    if len(args) > len(params) or any(p.varargs for p in params):
        return None
    out: dict[str, Any] = {}
    for k, p in enumerate(params):
        if k < len(args) and p.name not in kwargs:
            out[p.name] = args[k]
        elif k >= len(args) and p.name in kwargs:
            out[p.name] = kwargs[p.name]
        elif k >= len(args) and p.kind == STATIC and p.default is not inspect.Parameter.empty:
            out[p.name] = p.default
        else:
            return None
    extra = {k: v for k, v in kwargs.items() if k not in out}
    if extra and not rule.kwargs:
        return None
    if rule.kwargs:
        out["kwargs"] = extra
    return out


def add_node(graph: Graph, rule: Rule, args: tuple, kwargs: dict, loc: Loc | None, **data) -> int:
    """Bind `args`/`kwargs` to the rule's parameters and add its node; return the node id."""
    return add_bound(graph, rule, bind(rule, args, kwargs), loc, **data)


def add_bound(graph: Graph, rule: Rule, values: dict, loc: Loc | None, **data) -> int:
    """Add a node for arguments already bound to the rule's parameters (see `bind`)."""
    values = dict(values)
    inputs: list[int] = []
    attrs: dict[str, Any] = {}

    def as_input(v: Any) -> int:
        if isinstance(v, Value):
            return v.id
        return graph.add("const", (), {"value": v}, loc, **data)

    for k, v in _positional(graph, rule, values).items():
        attrs.setdefault("kwargs", [])
        attrs["kwargs"].append((k, _static(graph, rule, k, v, loc)))
    if "kwargs" in attrs:
        attrs["kwargs"] = tuple(attrs["kwargs"])
    for p in rule.params:
        v = values[p.name]
        if p.kind == ARRAY:
            inputs.append(as_input(v))
        elif p.kind == SEQ:
            seq = list(v) if isinstance(v, (list, tuple)) else [v]
            attrs["n_" + p.name] = len(seq)
            inputs.extend(as_input(x) for x in seq)
        else:
            attrs[p.name] = _static(graph, rule, p.name, v, loc)
    if rule.validate is not None:
        try:
            rule.validate(attrs)
        except SymgradError as e:
            raise SymgradError(e.message, loc, e.hint) from None
    return graph.add(rule.name, inputs, attrs, loc, **data)


def _positional(graph: Graph, rule: Rule, values: dict) -> dict:
    """The keyword arguments of a `*args` rule (NumPy's constructors) that stay keywords (they
    must be static). One whose value is computed (`dtype=x.dtype`) is passed by position where
    the NumPy function takes it so (`np.zeros(n, x.dtype)`), after the defaults of the
    parameters before it that the call leaves out: it becomes an input, as in a call written
    so."""
    kwargs = values.pop("kwargs", {})
    computed = [k for k, v in kwargs.items() if isinstance(v, Value) and not graph.is_const(v.id)]
    seq = next((p.name for p in rule.params if p.kind == SEQ), None)
    if not computed or seq is None or not rule.callables:
        return kwargs
    try:
        params = list(inspect.signature(rule.callables[0]).parameters.values())
    except (TypeError, ValueError):
        return kwargs
    args, names = list(values[seq]), [p.name for p in params]
    for k in sorted((k for k in computed if k in names), key=names.index):
        at = names.index(k)
        if params[at].kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD or at < len(args):
            continue
        gap = params[len(args) : at]
        if any(p.name in kwargs or p.default is inspect.Parameter.empty for p in gap):
            continue
        args += [p.default for p in gap] + [kwargs.pop(k)]
    values[seq] = args
    return kwargs


def _static(graph: Graph, rule: Rule, name: str, v: Any, loc: Loc | None) -> Any:
    try:
        return python_ints(const_of(graph, v))
    except _NotConst:
        message = (
            f"argument {name!r} of {rule.name} must be a constant known when the function is "
            "compiled (a literal, a module-level constant, or an argument that is no array "
            "nor float, given to a call)"
        )
        raise needs_constant(graph, v, message, loc) from None


def undecided(v: Any, message: str) -> NeedsConstant:
    """`needs_constant` of a value a rule's adapter, or a composition, cannot decide on,
    located at the call being lowered (`deciding`)."""
    graph, loc, _ = _DECIDING.get() or (None, location(), "")
    return needs_constant(graph, v, message, loc)


def needs_constant(graph: Graph, v: Any, message: str, loc: Loc | None) -> NeedsConstant:
    """The error of a value computed (v) where a constant is needed: naming the parameter v is,
    where it is one (`NeedsConstant.param`: a call compiles the function again with that
    argument as a constant, `symgrad.api.Compiled`)."""
    error = NeedsConstant(message, loc)
    held = graph is not None and isinstance(v, Value) and v.id in graph
    node = graph[v.id] if held else None
    error.param = node.name if node is not None and node.op == "param" else None
    return error


def split_inputs(rule: Rule, node_inputs: tuple, attrs: dict) -> dict[str, Any]:
    """Regroup a node's flat inputs by parameter: {name: id} for arrays, {name: [ids]} for seqs."""
    out: dict[str, Any] = {}
    pos = 0
    for p in rule.params:
        if p.kind == ARRAY:
            out[p.name] = node_inputs[pos]
            pos += 1
        elif p.kind == SEQ:
            n = attrs["n_" + p.name]
            out[p.name] = list(node_inputs[pos : pos + n])
            pos += n
    return out
