"""Lowering: a Python function's AST to an IR graph, by interpreting it over symbolic values.

Contract: `lower(fn)` returns a `Graph` whose params are fn's parameters and whose one output is
its return value. Expressions evaluate to frontend values: a `Value` (a graph node), a Python
constant known at compile time (numbers, strings, None, tuples of constants, folded at once), a
tuple or list of values, a Python object found by name (a module, a NumPy function, a user
function), or a bound method. NumPy callables and ndarray methods become rule applications; user
functions are read and inlined (any depth, tuple results included); anything else is refused with
a `SymgradError` naming the construct and its place.
"""

from __future__ import annotations

import ast
import builtins
import operator
import types
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from symgrad.errors import Loc, SymgradError, UnknownCallableError, UnsupportedSyntaxError
from symgrad.frontend import fence
from symgrad.frontend.branches import fold_returns, lower_if, lower_ifexp
from symgrad.frontend.loops import Appender, AppendTo, Stacked, Unbound, lower_for, lower_while
from symgrad.frontend.source import FunctionSource, read_function
from symgrad.ir import Graph
from symgrad.ir.index import Dyn, Slice
from symgrad.rules import BY_METHOD, RULES, Value, rule_for_callable
from symgrad.rules.build import add_bound, bind
from symgrad.rules.table import ARRAY, SEQ

_BINOP_RULES = {
    ast.Add: "add",
    ast.Sub: "subtract",
    ast.Mult: "multiply",
    ast.Div: "divide",
    ast.Pow: "power",
    ast.MatMult: "matmul",
    ast.FloorDiv: "floor_divide",
}
_PY_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_CMP_RULES = {
    ast.Gt: "greater",
    ast.Lt: "less",
    ast.GtE: "greater_equal",
    ast.LtE: "less_equal",
    ast.Eq: "equal",
    ast.NotEq: "not_equal",
}
_PY_CMPS = {op: getattr(operator, f) for op, f in zip(_CMP_RULES, "gt lt ge le eq ne".split())}
_PROPERTIES = {"T", "shape", "ndim", "size", "dtype"}
_CONST_TYPES = (int, float, bool, complex, str, type(None), type(Ellipsis))
_BUILTIN_RULES = {abs: "abs", len: "len"}
_FOLDS = {sum: ("sum", "add"), min: ("min", "minimum"), max: ("max", "maximum")}


@dataclass(frozen=True)
class Method:
    """`x.name` for a graph value x, waiting to be called."""

    receiver: Value
    name: str


def is_const(v: Any) -> bool:
    if isinstance(v, (tuple, list)):
        return all(is_const(x) for x in v)
    if isinstance(v, type):  # a dtype given as a type: float, np.float32
        return v in (float, int, bool, complex) or issubclass(v, np.generic)
    return isinstance(v, _CONST_TYPES)


def lower(fn: Callable) -> Graph:
    """The IR graph of fn: one param per parameter, one output (its return value)."""
    src = read_function(fn)
    fence.check(src)
    graph = Graph(src.tree.name, src.file, src.tree.lineno)
    env = {}
    a = src.tree.args
    for arg in a.posonlyargs + a.args + a.kwonlyargs:
        env[arg.arg] = Value(graph.param(arg.arg, src.locate(arg)))
    result = _Lowerer(graph, src, env, stack=(fn.__code__,)).run()
    graph.outputs = [_Lowerer.as_node(graph, result, src.locate(src.tree.body[-1]))]
    return graph


class _Lowerer:
    """Interprets one function body; inlined calls get a _Lowerer of their own."""

    def __init__(self, graph: Graph, src: FunctionSource, env: dict, stack: tuple):
        self.graph, self.src, self.env, self.stack = graph, src, env, stack
        fn = src.fn
        self.globals = fn.__globals__
        self.closure = dict(
            zip(fn.__code__.co_freevars, (c.cell_contents for c in fn.__closure__ or ()))
        )

    def run(self) -> Any:
        return self.block(fold_returns(self.src.tree.body))

    def block(self, stmts: list[ast.stmt]) -> Any:
        """Lower statements in order; the value of the last (a `return`'s value)."""
        result = None
        for stmt in stmts:
            try:
                result = self.stmt(stmt)
            except SymgradError as e:
                if e.loc is None:
                    raise type(e)(e.message, self.src.locate(stmt), e.hint) from None
                raise
        return result

    def error(self, node: ast.AST, message: str, hint: str | None = None, cls=SymgradError):
        return cls(message, self.src.locate(node), hint)

    # statements -----------------------------------------------------------------------------
    def stmt(self, s: ast.stmt) -> Any:
        if isinstance(s, ast.Return):
            return self.expr(s.value)
        if isinstance(s, ast.Assign):
            first = len(self.graph)
            value = self.expr(s.value)
            for target in s.targets:
                self.bind(target, value, first, s)
        elif isinstance(s, ast.AnnAssign):
            if s.value is not None:
                self.bind(s.target, self.expr(s.value), len(self.graph), s)
        elif isinstance(s, ast.AugAssign):
            first = len(self.graph)
            value = self.binop(s.op, self.expr(s.target), self.expr(s.value), s)
            self.bind(s.target, value, first, s)
        elif isinstance(s, ast.Expr):
            self.expr(s.value)  # a docstring, or a call whose value is unused (and so dropped)
        elif isinstance(s, ast.For):
            lower_for(self, s)
        elif isinstance(s, ast.If):
            lower_if(self, s)
        elif isinstance(s, ast.While):
            lower_while(self, s)
        elif isinstance(s, (ast.Pass, ast.Assert)):
            pass  # asserts check the caller's arguments; the gradient does not repeat them
        else:
            raise self.error(
                s, f"the statement {type(s).__name__} is not supported", cls=UnsupportedSyntaxError
            )
        return None

    def bind(self, target: ast.expr, value: Any, first: int, s: ast.stmt) -> None:
        if isinstance(target, ast.Name):
            if isinstance(value, Value) and value.id >= first:
                node = self.graph[value.id]
                if node.name is None and node.op != "param" and target.id.isidentifier():
                    node.name = target.id
            self.env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = self.unpack(value, len(target.elts), target)
            for t, v in zip(target.elts, items):
                self.bind(t, v, first, s)
        elif isinstance(target, ast.Subscript):
            self.setitem(target, value)
        else:
            raise self.error(
                target, "this assignment target is not supported", cls=UnsupportedSyntaxError
            )

    def unpack(self, value: Any, n: int, where: ast.AST) -> list:
        if isinstance(value, (tuple, list)):
            if len(value) != n:
                raise self.error(where, f"cannot unpack {len(value)} values into {n} names")
            return list(value)
        if isinstance(value, Value):  # a runtime sequence, e.g. x.shape
            return [
                self.call_rule("getitem", (value, []), {"index": (i,)}, where) for i in range(n)
            ]
        raise self.error(where, f"cannot unpack {type(value).__name__}")

    # expressions ----------------------------------------------------------------------------
    def expr(self, e: ast.expr) -> Any:
        method = getattr(self, "e_" + type(e).__name__, None)
        if method is None:
            raise self.error(
                e, f"the expression {type(e).__name__} is not supported", cls=UnsupportedSyntaxError
            )
        return method(e)

    def e_IfExp(self, e: ast.IfExp) -> Any:
        return lower_ifexp(self, e)

    def e_Constant(self, e: ast.Constant) -> Any:
        return e.value

    def e_Tuple(self, e: ast.Tuple) -> tuple:
        return tuple(self.expr(x) for x in e.elts)

    def e_List(self, e: ast.List) -> list:
        return [self.expr(x) for x in e.elts]

    def e_Name(self, e: ast.Name) -> Any:
        name = e.id
        for scope in (self.env, self.closure, self.globals, vars(builtins)):
            if name in scope:
                if scope is not self.env:
                    return self.outside(scope[name], name, e)
                value = scope[name]
                if isinstance(value, Unbound):
                    raise self.error(
                        e,
                        f"{name!r} {value.reason}",
                        f"Bind {name} so that it has one value whichever way the code runs.",
                        cls=UnsupportedSyntaxError,
                    )
                return value
        raise self.error(e, f"name {name!r} is not defined", cls=UnknownCallableError)

    def outside(self, obj: Any, name: str, e: ast.AST) -> Any:
        """A value from the function's closure, globals or builtins, as a frontend value."""
        if is_const(obj):
            return obj
        if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
            return obj.item()
        if isinstance(obj, np.ndarray):
            raise self.error(
                e,
                f"the array {name!r} comes from outside the function",
                "Pass it as an argument: emitted gradients are standalone code "
                "and do not embed arrays.",
            )
        return obj

    def e_Attribute(self, e: ast.Attribute) -> Any:
        base = self.expr(e.value)
        if isinstance(base, Appender) and e.attr == "append":
            return AppendTo(base)
        if isinstance(base, Value):
            if e.attr in _PROPERTIES:
                return self.call_rule(BY_METHOD[e.attr], (base,), {}, e)
            if e.attr in BY_METHOD or e.attr in ("copy", "astype", "reshape", "transpose"):
                return Method(base, e.attr)
            raise self.error(
                e, f"the array attribute .{e.attr} is not supported", cls=UnknownCallableError
            )
        if is_const(base) or isinstance(base, (tuple, list)):
            raise self.error(e, f"attribute .{e.attr} of a constant is not supported")
        try:
            return self.outside(getattr(base, e.attr), e.attr, e)
        except AttributeError:
            raise self.error(
                e,
                f"{getattr(base, '__name__', base)!s} has no attribute {e.attr!r}",
                cls=UnknownCallableError,
            ) from None

    def e_Subscript(self, e: ast.Subscript) -> Any:
        base = self.expr(e.value)
        index = self.expr(e.slice) if not isinstance(e.slice, ast.Slice) else self.e_Slice(e.slice)
        if isinstance(base, (tuple, list)) and is_const(index):
            return base[index]
        if isinstance(base, Stacked):  # an item of a list a loop filled: a row of the stack
            base = base.value
        if not isinstance(base, Value):
            raise self.error(e, "subscript of a non-array value is not supported")
        return self.getitem(base, index, e)

    def e_Slice(self, e: ast.Slice) -> slice:
        parts = [None if p is None else self.expr(p) for p in (e.lower, e.upper, e.step)]
        return slice(*parts)

    def setitem(self, target: ast.Subscript, value: Any) -> None:
        """`a[index] = value`: a new array, bound to `a` and to every other name for the old one;
        names holding a view of the old one (which NumPy would change too) become unbound."""
        name = target.value.id if isinstance(target.value, ast.Name) else None
        old = self.env[name] if name in self.env else None
        if not isinstance(old, Value) or not owned(self.graph, old.id):
            raise self.error(
                target,
                "only arrays the function created can be assigned to element by element",
                "Make the array first (np.zeros_like(x), x.copy(), ...): symgrad does not "
                "change the caller's arrays, or arrays seen through a view.",
                cls=UnsupportedSyntaxError,
            )
        index = self.expr(target.slice) if not isinstance(target.slice, ast.Slice) else None
        parts, spec = self.index_spec(
            index if index is not None else self.e_Slice(target.slice), target
        )
        new = self.call_rule("setitem", (old, value, parts), {"index": spec}, target)
        loc = self.src.locate(target)
        for k, v in list(self.env.items()):
            if not isinstance(v, Value):
                continue
            node = self.graph[v.id]
            if v.id == old.id:
                self.env[k] = new
            elif node.op in RULES and RULES[node.op].view and node.inputs[:1] == (old.id,):
                self.env[k] = Unbound(loc, f"is a view of {name}, which line {loc.line} changed")

    def index_spec(self, index: Any, e: ast.AST) -> tuple[list, tuple]:
        """The graph values an index reads (`parts`) and its static form (`spec`)."""
        items = index if isinstance(index, tuple) else (index,)
        parts: list = []

        def static(item):
            if isinstance(item, slice):
                return Slice(static(item.start), static(item.stop), static(item.step))
            if isinstance(item, (Value, list)):
                parts.append(self.as_value(item, e))
                return Dyn(len(parts) - 1)
            if isinstance(item, (int, type(None), type(Ellipsis))) and not isinstance(item, bool):
                return item
            raise self.error(e, f"index {item!r} is not supported")

        spec = tuple(static(i) for i in items)
        if not isinstance(index, tuple):
            spec = spec[:1]
        return parts, spec

    def getitem(self, base: Value, index: Any, e: ast.AST) -> Value:
        parts, spec = self.index_spec(index, e)
        return self.call_rule("getitem", (base, parts), {"index": spec}, e)

    def e_UnaryOp(self, e: ast.UnaryOp) -> Any:
        v = self.expr(e.operand)
        if is_const(v):
            ops = {
                ast.USub: operator.neg,
                ast.UAdd: operator.pos,
                ast.Not: operator.not_,
                ast.Invert: operator.invert,
            }
            return ops[type(e.op)](v)
        if isinstance(e.op, ast.USub):
            return self.call_rule("negative", (v,), {}, e)
        if isinstance(e.op, ast.UAdd):
            return v
        raise self.error(
            e,
            f"the operator {type(e.op).__name__} on arrays is not supported",
            "Use np.logical_not for boolean arrays.",
            UnsupportedSyntaxError,
        )

    def e_BinOp(self, e: ast.BinOp) -> Any:
        return self.binop(e.op, self.expr(e.left), self.expr(e.right), e)

    def binop(self, op: ast.operator, left: Any, right: Any, e: ast.AST) -> Any:
        if is_const(left) and is_const(right) and type(op) in _PY_BINOPS:
            return _PY_BINOPS[type(op)](left, right)
        name = _BINOP_RULES.get(type(op))
        if name is None:
            raise self.error(
                e,
                f"the operator {type(op).__name__} is not supported on arrays",
                "Supported on arrays: + - * / // ** @.",
                UnsupportedSyntaxError,
            )
        return self.call_rule(name, (left, right), {}, e)

    def e_Compare(self, e: ast.Compare) -> Any:
        if len(e.ops) != 1:
            raise self.error(
                e,
                "chained comparisons are not supported",
                "Compare two values at a time.",
                UnsupportedSyntaxError,
            )
        left, right = self.expr(e.left), self.expr(e.comparators[0])
        name = _CMP_RULES.get(type(e.ops[0]))
        if name is None:
            raise self.error(
                e,
                f"the comparison {type(e.ops[0]).__name__} is not supported",
                "Use ==, !=, <, <=, > or >=.",
                UnsupportedSyntaxError,
            )
        if is_const(left) and is_const(right):
            return _PY_CMPS[type(e.ops[0])](left, right)
        return self.call_rule(name, (left, right), {}, e)

    # calls ----------------------------------------------------------------------------------
    def e_Call(self, e: ast.Call) -> Any:
        callee = self.expr(e.func)
        args = tuple(self.expr(a) for a in e.args)
        kwargs = {k.arg: self.expr(k.value) for k in e.keywords}
        if None in kwargs:
            raise self.error(e, "**kwargs in a call is not supported", cls=UnsupportedSyntaxError)
        if isinstance(callee, Method):
            return self.call_method(callee, args, kwargs, e)
        if isinstance(callee, AppendTo) and len(args) == 1 and not kwargs:
            callee.appender.append(self, args[0], e)
            return None
        if args and isinstance(args[0], Stacked):  # np.stack(xs), np.array(xs), len(xs)
            if callee in (np.stack, np.array, np.asarray, len) and not kwargs:
                return (
                    args[0].value
                    if callee is not len
                    else self.call_rule("len", (args[0].value,), {}, e)
                )
        rule = rule_for_callable(callee)
        if rule is None and callee in _BUILTIN_RULES:
            rule = RULES[_BUILTIN_RULES[callee]]
        if (
            rule is not None
            and rule.name == "asarray"
            and args
            and not is_const(args[0])
            and isinstance(args[0], (list, tuple))
        ):
            rule = RULES["stack"]  # np.array([a, b]) of arrays stacks them
        if rule is not None:
            return self.call_rule(rule.name, args, kwargs, e)
        if callee in _FOLDS and not kwargs:
            return callee(*args) if is_const(args) else self.fold(callee, args, e)
        if callee is float or callee is int:
            if len(args) == 1 and is_const(args[0]):
                return callee(args[0])
            if callee is float and len(args) == 1:
                return args[0]
        if isinstance(callee, types.FunctionType) and not _is_library(callee):
            return self.inline(callee, args, kwargs, e)
        if callee is np.split:
            return self.split(args, kwargs, e)
        what = (
            getattr(callee, "__qualname__", None)
            or getattr(callee, "__name__", None)
            or type(callee).__name__
        )
        module = getattr(callee, "__module__", None)
        full = f"{module}.{what}" if module and module != "builtins" else what
        raise self.error(
            e,
            f"cannot differentiate a call to {full}",
            "symgrad knows the NumPy functions in its rule table "
            "(symgrad.rules.RULES) and Python functions defined in source files.",
            cls=UnknownCallableError,
        )

    def fold(self, fn, args: tuple, e: ast.AST) -> Any:
        """Python's sum, min and max: over a tuple or list of values, elementwise (`sum` adds
        them up from 0); over one array, along its first axis, as Python iterates it."""
        reduce_rule, binary_rule = _FOLDS[fn]
        if len(args) == 1 and isinstance(args[0], Value):
            return self.call_rule(reduce_rule, (args[0],), {"axis": 0}, e)
        items = list(args[0]) if len(args) == 1 else list(args)
        if not items:
            raise self.error(e, f"{fn.__name__}() of an empty sequence")
        total = 0 if fn is sum else items.pop(0)
        for item in items:
            total = self.call_rule(binary_rule, (total, item), {}, e)
        return total

    def call_method(self, m: Method, args: tuple, kwargs: dict, e: ast.AST) -> Any:
        if m.name == "copy" and not args and not kwargs:
            return self.call_rule("copy", (m.receiver,), {}, e)
        if m.name in ("reshape", "transpose") and len(args) > 1:
            args = (args,)
        if m.name == "transpose" and args:
            kwargs = {"axes": args[0]}
            args = ()
        if m.name == "astype":
            return self.call_rule("astype", (m.receiver,) + args, kwargs, e)
        return self.call_rule(BY_METHOD[m.name], (m.receiver,) + args, kwargs, e)

    def split(self, args: tuple, kwargs: dict, e: ast.AST) -> list:
        values = dict(zip(("ary", "indices_or_sections", "axis"), args), **kwargs)
        sections = values.get("indices_or_sections")
        if not is_const(sections) or isinstance(sections, (float, str)):
            raise self.error(e, "np.split needs a constant number of sections or split indices")
        n = sections if isinstance(sections, int) else len(sections) + 1
        attrs = {
            "sections": tuple(sections) if isinstance(sections, list) else sections,
            "axis": values.get("axis", 0),
        }
        return [
            self.call_rule("split_part", (values["ary"],), dict(attrs, part=i), e) for i in range(n)
        ]

    def inline(self, fn: types.FunctionType, args: tuple, kwargs: dict, e: ast.AST) -> Any:
        if fn.__code__ in self.stack:
            raise self.error(
                e,
                f"recursive call to {fn.__qualname__} is not supported",
                cls=UnsupportedSyntaxError,
            )
        src = read_function(fn)
        fence.check(src)
        import inspect

        try:
            bound = inspect.signature(fn).bind(*args, **kwargs)
        except TypeError as err:
            raise self.error(e, f"bad call to {fn.__qualname__}: {err}") from None
        bound.apply_defaults()
        env = {}
        for name, value in bound.arguments.items():
            env[name] = self.outside(value, name, e) if not _is_frontend(value) else value
        return _Lowerer(self.graph, src, env, self.stack + (fn.__code__,)).run()

    def call_rule(self, name: str, args: tuple, kwargs: dict, e: ast.AST) -> Value:
        rule = RULES[name]
        loc = self.src.locate(e)
        try:
            if rule.adapt is not None:  # a NumPy calling convention (einsum's subscripts first)
                args, kwargs = rule.adapt(*args, **kwargs)
            values = bind(rule, args, kwargs)
        except SymgradError as err:
            raise SymgradError(err.message, loc, err.hint) from None
        for p in rule.params:
            if p.kind == ARRAY:
                values[p.name] = self.as_value(values[p.name], e, p.name in rule.vjp)
            elif p.kind == SEQ:
                seq = values[p.name]
                if not isinstance(seq, (tuple, list)):
                    raise self.error(e, f"{name} expects a list or tuple of arrays")
                values[p.name] = [self.as_value(x, e, p.name in rule.vjp) for x in seq]
        return Value(add_bound(self.graph, rule, values, loc))

    def as_value(self, v: Any, e: ast.AST, data: bool = False) -> Any:
        """An argument for an array parameter. Constants stay Python values. A sequence holding
        graph values is, for a differentiable parameter (`data`), an array built with np.stack
        (as NumPy reads `[a, b]`), and otherwise a tuple or list (a shape, an index list)."""
        if isinstance(v, (tuple, list)) and data and is_const(v):  # helpers expect arrays
            values = {"a": list(v), "dtype": None}
            return Value(add_bound(self.graph, RULES["asarray"], values, self.src.locate(e)))
        if isinstance(v, (tuple, list)) and not is_const(v):
            if data:
                return self.call_rule("stack", ([self.as_value(x, e, True) for x in v],), {}, e)
            kind = "make_list" if isinstance(v, list) else "make_tuple"
            return self.call_rule(kind, tuple(v), {}, e)
        if isinstance(v, Stacked):
            raise self.error(
                e,
                f"{v.name} is a list a loop filled; symgrad reads it as np.stack({v.name})",
                f"Write np.stack({v.name}) (or {v.name}[i], len({v.name})).",
                cls=UnsupportedSyntaxError,
            )
        if isinstance(v, Method) or not (isinstance(v, Value) or is_const(v)):
            raise self.error(e, f"{getattr(v, '__name__', type(v).__name__)} is not an array")
        return v

    @staticmethod
    def as_node(graph: Graph, v: Any, loc: Loc) -> int:
        if isinstance(v, Value):
            return v.id
        if is_const(v) and not isinstance(v, (tuple, list)):
            return graph.const(v, loc)
        raise SymgradError(
            f"the function must return one array or number (it returns a {type(v).__name__})", loc
        )


def owned(graph: Graph, nid: int) -> bool:
    """Whether the value is an array the function made itself (not an argument, a constant or
    a view of one), so that assigning to its elements changes nothing the caller can see."""
    node = graph[nid]
    if node.op in ("param", "const"):
        return node.attrs.get("owned", False)
    if node.op == "item":
        src = graph[node.inputs[0]]
        k = node.attrs["index"]
        if src.op in ("loop", "while"):  # a carried variable's final (or initial) value
            return owned(graph, src.inputs[(3 if src.op == "loop" else 0) + k])
        return all(  # a branch's value: one it made, or a value from before the if
            owned(graph, src.inputs[1 + params[branch[out].attrs["index"]]])
            if branch[out].op == "param"
            else owned(branch, out)
            for branch, params in zip(src.attrs["branches"], src.attrs["params"])
            for out in branch.outputs[k : k + 1]
        )
    return not RULES[node.op].view


def _is_library(fn: types.FunctionType) -> bool:
    module = fn.__module__ or ""
    return module.split(".")[0] in ("numpy", "symgrad", "scipy")


def _is_frontend(v: Any) -> bool:
    if isinstance(v, (tuple, list)):
        return all(_is_frontend(x) for x in v)
    return isinstance(v, (Value, Method)) or is_const(v)
