"""Lowering: a Python function's AST to an IR graph, by interpreting it over symbolic values.

Contract: `lower(fn)` returns a `Graph` whose params are fn's parameters and whose one output is
its return value. Expressions evaluate to frontend values: a `Value` (a graph node), a Python
constant known at compile time (numbers, strings, None, tuples of constants, folded at once), a
tuple or list of values, a Python object found by name (a module, a NumPy function, a user
function), or a bound method. NumPy callables and ndarray methods become rule applications; user
functions are read and inlined (any depth, tuple results included); anything else is refused with
a `SymgradError` naming the construct and its place.

`_Lowerer` is the walk: statements, names, attributes, operators and the binding of names. It
hands the rest to a module each, as free functions taking the lowerer: calls
(`symgrad.frontend.calls`), subscripts and element assignment (`symgrad.frontend.subscripts`),
`for` and `while` loops (`symgrad.frontend.loops`), `if` and `a if c else b`
(`symgrad.frontend.branches`).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import copy
import inspect
import keyword
import operator
import re
import types
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from symgrad import tree
from symgrad.errors import (
    Loc,
    NeedsConstant,
    SymgradError,
    UnknownCallableError,
    UnsupportedSyntaxError,
)
from symgrad.frontend import (
    aliases,
    fence,
    local_functions,
    prints,
    raises,
    reduction_options,
    sequences,
    subscripts,
)
from symgrad.frontend.aliases import Memory
from symgrad.frontend.booleans import identity_or_membership, lower_boolop, lower_chain, pick
from symgrad.frontend.branches import fold_returns, lower_if, lower_ifexp
from symgrad.frontend.calls import (
    DICT_READS,
    lower_call,
    lower_custom,
    record_attribute,
    set_attribute,
    super_attribute,
)
from symgrad.frontend.loops import Appender, AppendTo, assigned_names, lower_for, lower_while
from symgrad.frontend.reads import FreeArray, Reads, holds_arrays, plain_array
from symgrad.frontend.source import FunctionSource
from symgrad.frontend.subscripts import CONTAINERS, OBJECTS, getitem, setitem
from symgrad.frontend.values import (
    LIST_CHANGES,
    Limits,
    ListAppend,
    Method,
    Stacked,
    Unbound,
    Withheld,
    is_callable_constant,
    is_const,
)
from symgrad.ir import Graph
from symgrad.ir.names import fresh
from symgrad.rules import BY_METHOD, RULES, Value
from symgrad.rules.build import add_bound, bind
from symgrad.rules.table import ARRAY, SEQ
from symgrad.syntax import rename

_BINOP_RULES = {
    ast.Add: "add",
    ast.Sub: "subtract",
    ast.Mult: "multiply",
    ast.Div: "divide",
    ast.Pow: "power",
    ast.MatMult: "matmul",
    ast.FloorDiv: "floor_divide",
    ast.Mod: "remainder",
    ast.BitAnd: "bitwise_and",
    ast.BitOr: "bitwise_or",
    ast.BitXor: "bitwise_xor",
    ast.LShift: "left_shift",
    ast.RShift: "right_shift",
}
_PY_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
}
_BITWISE = ("bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift")
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


def _complex(v: Any) -> bool:
    """Whether v is a complex number, array or type (a dtype), or a tuple or list holding one."""
    if isinstance(v, (tuple, list)):
        return any(map(_complex, v))
    if isinstance(v, type):
        return issubclass(v, (complex, np.complexfloating))
    return isinstance(v, (complex, np.complexfloating)) or (
        isinstance(v, np.ndarray) and v.dtype.kind == "c"
    )


_REAL = (  # the hint where a complex number turns up: the rules are those of real functions
    "symgrad differentiates real-valued code: its rules (abs, **, exp) are those of real "
    "functions. Write the real and imaginary parts as two float arrays."
)
_IN_PLACE = {  # ndarray methods that change the array in place: what to write instead
    "sort": "b = np.sort(a, axis=...)",
    "fill": "b = np.full_like(a, value)",
    "partition": "b = np.sort(a, axis=...)",
    "put": "b = a.copy(); b[index] = values",
}


_INSTEAD = {  # ndarray attributes with no rule: what to write instead
    "tolist": "Instead: keep the array ({0}), or float({0}[i]) of an entry.",
}


def _const_slice(index: Any) -> bool:
    """A slice whose bounds and step are known when compiling (`params[:-1]`)."""
    parts = (index.start, index.stop, index.step) if isinstance(index, slice) else None
    return parts is not None and all(p is None or is_const(p) for p in parts)


def _constant_defaults(fn: Callable) -> dict[str, Any]:
    """fn's parameters' defaults that are numbers, strings, None or tuples of them, by name."""
    params = inspect.signature(fn).parameters.values()
    return {p.name: p.default for p in params if p.default is not p.empty and _literal(p.default)}


def _literal(v: Any) -> bool:
    if type(v) is tuple:
        return all(_literal(x) for x in v)
    return v is None or type(v) in (bool, int, float, complex, str)


_FLIPPED = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE}


def _counted(counts: dict, op: ast.cmpop, left: Any, right: Any) -> bool | None:
    """A comparison of a loop's index (`counts`: its first value and step, ints) with an int
    that its range decides: `t == 0` in `for t in range(1, n)` is False at every step (a loop
    whose first step is lowered on its own, `loops._first_step`, tests it so); else None."""
    if isinstance(right, Value) and right.id in counts and type(left) is int:
        op, left, right = _FLIPPED.get(type(op), type(op))(), right, left
    if not (isinstance(left, Value) and left.id in counts and type(right) is int):
        return None
    first, step = counts[left.id]
    if step < 0:  # (t <= first: the same, of -t >= -first)
        first, right = -first, -right
        op = _FLIPPED.get(type(op), type(op))()
    if right < first and isinstance(op, (ast.Eq, ast.NotEq, ast.Gt, ast.GtE, ast.Lt, ast.LtE)):
        return isinstance(op, (ast.NotEq, ast.Gt, ast.GtE))  # (t >= first > right)
    if right == first and isinstance(op, (ast.Lt, ast.GtE)):
        return isinstance(op, ast.GtE)
    return None


def _note_builtins(reads: Reads, src: FunctionSource) -> None:
    """Note what reading src took for builtins: the module's globals of their names."""
    scope = src.fn.__globals__
    for name in src.builtins:
        if name in scope:
            reads.note(scope, name, scope[name])
        else:
            reads.note_absent(scope, name)


def lower(
    fn: Callable,
    reads: Reads | None = None,
    trees: dict | None = None,
    aux: list | None = None,
    out: list | None = None,
    rules: bool = True,
) -> Graph:
    """The IR graph of fn: one param per parameter, one output (its return value). What it
    read from outside fn (globals, closure cells, helpers' code) is noted in `reads`. A
    parameter given a `symgrad.tree.Treedef` in `trees` (by position) is that container, with
    one param per array or float leaf (`leaf_names`) and its other leaves as constants. Given
    a list `aux`, fn returns `(value, aux)` (JAX's has_aux): the outputs are the value, then
    the aux's array leaves, and `aux` receives its layout (`Layout`). Given a list `out`, fn may
    return a container (as vjp, jvp and the Jacobians allow): the outputs are its array and
    float leaves, in flatten order, and `out` receives its layout. A function with a custom
    derivative (`symgrad.custom_vjp`) is lowered as a call to it: its rule inlined; without
    `rules` (a function compiled, not differentiated: `jit`), as the function itself, as
    JAX's jit runs it."""
    custom = fn if getattr(fn, "symgrad_custom", None) and rules else None
    fn = fn if custom is None else custom.fun
    src = fence.read(fn)
    reads = reads if reads is not None else Reads()
    reads.note(fn, "__code__", fn.__code__)  # (its defaults: `api._compile`)
    _note_builtins(reads, src)
    graph = Graph(src.tree.name, src.file, src.tree.lineno)
    env = {}
    a = src.tree.args
    args = a.posonlyargs + a.args + a.kwonlyargs
    trees = trees or {}
    names = leaf_names([arg.arg for arg in args], trees)
    for k, arg in enumerate(args):
        if k not in trees:
            env[arg.arg] = Value(graph.param(arg.arg, src.locate(arg)))
            continue
        leaves = [
            static[0] if static else Value(graph.param(names[k].pop(0), src.locate(arg)))
            for static in trees[k].statics()
        ]
        env[arg.arg] = tree.unflatten(trees[k], leaves)
    held = {args[k].arg for k in trees}  # (the emitted function's too, where they end its
    graph.defaults = {  # parameters: not of a container's, a method's self, nor a constant)
        k: v for k, v in _constant_defaults(fn).items() if k not in held
    }
    memory = Memory()
    memory.records = {id(r) for k, d in trees.items() for r in tree.records(env[args[k].arg], d)}
    memory.rules = rules
    if custom is None:
        lowerer = _Lowerer(graph, src, env, (fn.__code__,), memory, reads)
        aliases.checked_in_blocks(lowerer)
        result = lowerer.run()
        aliases.apart_from_later(graph)
    else:
        positional = [env[arg.arg] for arg in a.posonlyargs + a.args]
        keywords = {arg.arg: env[arg.arg] for arg in a.kwonlyargs}
        lowerer = _Lowerer(graph, src, env, (), memory, reads)
        result = lower_custom(lowerer, custom, tuple(positional), keywords, src.tree)
    where = src.locate(src.tree.body[-1])
    if result is None:  # (`return fill(out, x)` of a helper that returns nothing)
        raise SymgradError(
            f"{fn.__qualname__} returns None, not an array or a number",
            where,
            hint="Return the array or number computed (`fill(out, x); return out`).",
        )
    extra: list = []
    if aux is not None:
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            raise SymgradError(
                f"{fn.__qualname__} has an aux but does not return a pair (value, aux)", where
            )
        leaves, treedef = tree.flatten(result[1], is_leaf=lambda v: isinstance(v, Stacked))
        _returnable(graph, fn, result[1], treedef, where)
        result = result[0]
        rows = tuple(i for i, v in enumerate(leaves) if isinstance(v, Stacked))
        leaves = [v.value if isinstance(v, Stacked) else v for v in leaves]  # (the stacks)
        aux.append(Layout(treedef, [() if isinstance(v, Value) else (v,) for v in leaves], rows))
        extra = [v.id for v in leaves if isinstance(v, Value)]
    elif out is not None and tree.is_tree(result):
        leaves, treedef = tree.flatten(result)
        _returnable(graph, fn, result, treedef, where)
        dynamic = [isinstance(v, Value) or not tree.is_static(v) for v in leaves]
        out.append(Layout(treedef, [() if d else (v,) for v, d in zip(leaves, dynamic)]))
        graph.outputs = [_Lowerer.as_node(graph, v, where) for v, d in zip(leaves, dynamic) if d]
        for path, v in zip(treedef.paths(), leaves):  # {"loss": ...}: loss, loss_bar, loss_dot
            if isinstance(v, Value) and graph[v.id].name is None:
                key = str(path[-1])
                ok = key.isidentifier() and not keyword.iskeyword(key)
                graph[v.id].name = key if ok else "out_" + "_".join(map(str, path))
        return graph
    graph.outputs = [_Lowerer.as_node(graph, result, where), *extra]
    return graph


_INDEX_TRICKS = {id(np.c_): "np.c_", id(np.r_): "np.r_", id(np.s_): "np.s_"}  # (NumPy's objects)
_INDEX_TRICKS_INSTEAD = {
    "np.c_": "Join the columns with np.hstack([X, ones[:, None]]) or np.concatenate(..., axis=1).",
    "np.r_": "Join the pieces with np.concatenate([a, b]) (np.arange(n) for a range).",
    "np.s_": "Index the array itself: x[1:3], or keep a slice object: slice(1, 3).",
}


def _folds(v: Any) -> bool:
    """Whether an operator on v computes now, when compiling: a constant, or a NumPy int or
    bool an argument compiled as a constant gives (`axis=k - 2` of an `np.int64` k), whose
    NumPy type the result keeps, as the function computes it."""
    return is_const(v) or isinstance(v, (np.integer, np.bool_))


def _returnable(graph: Graph, fn: Callable, result: Any, treedef, where) -> None:
    """Refuse a container returned that holds what only the frontend has: a list a loop
    filled (`Stacked`), a method not called."""
    for record in tree.records(result, treedef):  # (the frontend's own, not the user's)
        if isinstance(record, Stacked):
            raise SymgradError(
                f"{fn.__qualname__} returns {record.name}, a list a loop filled",
                where,
                hint=f"Return np.stack({record.name}) (one array), or a list or tuple "
                "written out item by item.",
            )
        if isinstance(record, Method):
            _Lowerer.as_node(graph, record, where)  # (refused, as any output but arrays)


@dataclass(frozen=True)
class Layout:
    """Where a container a function returns comes from (the aux beside its value, or its
    output): its structure, and per leaf `()` for the next output of the graph or
    `(constant,)`."""

    treedef: tree.Treedef
    slots: list
    rows: tuple[int, ...] = ()  # the leaves that are lists a loop filled: their stacks' rows

    @property
    def n_outputs(self) -> int:
        return sum(not s for s in self.slots)

    def build(self, outputs, constants: bool = True) -> Any:
        """The container around `outputs`, its constants in place (None with `constants`
        False: the leaves of its derivatives), a list a loop filled the list of its rows."""
        values = iter(outputs)
        leaves = [(s[0] if constants else None) if s else next(values) for s in self.slots]
        for i in self.rows:
            leaves[i] = list(leaves[i])
        return tree.unflatten(self.treedef, leaves)


def leaf_names(args: list[str], trees: dict) -> dict[int, list[str]]:
    """Per container parameter (by position), the names of its array and float leaves, in
    flatten order: a leaf's last key where that names no other leaf or parameter
    (`params["W1"]` is `W1`), else its path joined (`params["layers"][0][1]` is `layers_0_1`,
    prefixed with the parameter's name where the path starts with an index or meets a
    parameter's name)."""
    paths = {k: [p for p, s in zip(d.paths(), d.statics()) if not s] for k, d in trees.items()}
    last = [str(p[-1]) for ps in paths.values() for p in ps if p]
    taken = set(args) - {args[k] for k in trees}
    out, exact = {}, set()
    for k, ps in paths.items():
        names = []
        for p in ps:
            short = str(p[-1]) if p else args[k]
            if short.isidentifier() and not keyword.iskeyword(short):
                if last.count(short) == 1 and short not in taken:
                    exact.add((k, len(names)))
                    names.append(short)
                    continue
            joined = "_".join(map(str, p))
            if not joined[:1].isalpha() or joined in args or keyword.iskeyword(joined):
                joined = f"{args[k]}_{joined}"  # (`params["def"]`: params_def)
            names.append("".join(c if c.isalnum() or c == "_" else "_" for c in joined))
        out[k] = names
    seen = taken | {out[k][i] for k, i in exact}  # (a key's own name first: `d["a_b"]` is
    for k, names in out.items():  # a_b, `d["a-b"]` a_b_1)
        for i, name in enumerate(names):
            n = 1
            while (k, i) not in exact and names[i] in seen:
                names[i], n = f"{name}_{n}", n + 1
            seen.add(names[i])
    return out


def _own_names(e: ast.DictComp, env: dict) -> ast.DictComp:
    """A copy of the comprehension whose variables have names no other code reads (`v_1` for
    `v`), as Python gives a comprehension a scope of its own: a function defined before it
    reads the enclosing `v`, a lambda made in it the comprehension's (its last value). Its
    first iterable is the enclosing scope's, as it stands."""
    bound = assigned_names([ast.Assign([g.target], ast.Constant(0)) for g in e.generators])
    taken = set(env) | {n.id for n in ast.walk(e) if isinstance(n, ast.Name)}
    fresh = {}
    for name in bound:
        k = 1
        while f"{name}_{k}" in taken:
            k += 1
        fresh[name] = f"{name}_{k}"
        taken.add(fresh[name])
    first = e.generators[0].iter
    copied = copy.deepcopy(e)
    rename(copied, fresh)
    copied.generators[0].iter = first
    return copied


def _is_range(e: ast.expr) -> bool:
    return (
        isinstance(e, ast.Call)
        and isinstance(e.func, ast.Name)
        and e.func.id == "range"
        and not e.keywords
        and 1 <= len(e.args) <= 3
    )


class _Lowerer:
    """Interprets one function body; loop bodies, branches and inlined calls get a _Lowerer of
    their own (an inlined call's `parent` is its caller's, in the same graph)."""

    def __init__(
        self,
        graph: Graph,
        src: FunctionSource,
        env: dict,
        stack: tuple,
        memory: Memory,
        reads: Reads,
        parent=None,
        enclosing=None,
    ):
        self.graph, self.src, self.env, self.stack = graph, src, env, stack
        self.memory, self.reads, self.parent = memory, reads, parent
        self.enclosing = enclosing  # a loop body's or branch's: the lowerer of the enclosing scope
        self.branch = False  # a branch of an if: what it appends to a loop's list, the if gives
        self.read_now: Counter = Counter()  # the values names gave in the statement being lowered
        self.stmt_first = 0  # the graph's first node of that statement
        self.waiting: frozenset = frozenset()  # objects the callers' statements read, not used yet
        self.counts: dict[int, tuple[int, int]] = {}  # a loop's index in its body: (its first
        # value, its step), ints (`_counted`)
        fn = src.fn
        self.globals = fn.__globals__
        self.cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))

    def scope(self, graph: Graph, env: dict) -> _Lowerer:
        """A lowerer for a loop body, a branch or a condition: a scope over a graph of its own."""
        return type(self)(graph, self.src, env, self.stack, self.memory, self.reads, None, self)

    def inlined(self, src: FunctionSource, env: dict, frame: Any) -> _Lowerer:
        """A lowerer for a call this one inlines: the callee's names, in this graph (`frame`:
        what the call is on the stack of calls inlined, `calls._frame`)."""
        stack = self.stack + (frame,)
        self.reads.note(src.fn, "__code__", src.fn.__code__)
        self.reads.note(src.fn, "__defaults__", src.fn.__defaults__)
        self.reads.note(src.fn, "__kwdefaults__", src.fn.__kwdefaults__)
        _note_builtins(self.reads, src)
        child = type(self)(self.graph, src, env, stack, self.memory, self.reads, parent=self)
        child.counts = self.counts  # (the same graph's values)
        child.waiting = self.waiting_for(env.values())
        return child

    def running(self, code) -> bool:
        """Whether a call of this code is being inlined, on any object (`calls._frame`)."""
        return any(f is code or isinstance(f, tuple) and f[0] is code for f in self.stack)

    def waiting_for(self, arguments) -> frozenset:
        """The objects whose values this statement read by name before the call it is making
        and has not used yet (`a` of `a + incr(a)`; not the call's own arguments), and those
        its callers' statements wait for: a change in place by the call would be one Python's
        later use sees (`aliases.update` refuses it)."""
        graph = self.graph
        used = Counter(
            i for n in range(self.stmt_first, graph._next) if n in graph for i in graph[n].inputs
        )
        passed = Counter(v.id for v in arguments if isinstance(v, Value))
        left = [i for i, c in self.read_now.items() if c - used[i] - passed[i] > 0]
        return self.waiting | {self.memory.first(graph, i) for i in left}

    def run(self) -> Any:
        try:
            return self.block(fold_returns(self.src.tree.body))
        except SymgradError:
            if not raises.always_raises(self.graph):
                raise
            return 0.0  # (it raises on every call before: what follows, never run, need not
            # compile, and the path's value is none)

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
        self.read_now, self.stmt_first = Counter(), self.graph._next
        if isinstance(s, ast.Return):
            return self.expr(s.value)
        if isinstance(s, ast.Assign):
            first = len(self.graph)
            value = self.expr(s.value)
            if len(s.targets) == 1:  # (the update itself reads the value: NumPy reads it first)
                self.bind(s.targets[0], value, first, s)
                return None
            with self.pending([value]) as held:  # (`a[1:] = b = a[:-1]`: b a stale view)
                for target in s.targets:
                    self.bind(target, self.assigned(held[0], target, value), first, s)
        elif isinstance(s, ast.AnnAssign):
            if s.value is not None:
                self.bind(s.target, self.expr(s.value), len(self.graph), s)
        elif isinstance(s, ast.AugAssign):
            self.augassign(s)
        elif isinstance(s, ast.Expr):
            if not prints.only_prints(self, s.value):  # (left out, as asserts are)
                self.expr(s.value)  # a docstring, or a call whose value is unused (dropped)
        elif isinstance(s, ast.For):
            lower_for(self, s)
        elif isinstance(s, ast.If):
            lower_if(self, s)
        elif isinstance(s, ast.While):
            lower_while(self, s)
        elif isinstance(s, ast.FunctionDef):
            local_functions.define(self, s)
        elif isinstance(s, ast.Raise):
            raises.lower_raise(self, s)
        elif isinstance(s, ast.Assert):
            raises.lower_assert(self, s)
        elif isinstance(s, ast.Pass):
            pass
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
            stars = [k for k, t in enumerate(target.elts) if isinstance(t, ast.Starred)]
            if stars:  # `n, *rest = x.shape`
                items = sequences.starred(self, value, len(target.elts), stars, target)
            else:
                items = self.unpack(value, len(target.elts), target)
            items = list(items)
            with self.pending(list(items)) as held:  # (`a[:3], a[3:] = a[3:], a[:3]`)
                for k, t in enumerate(target.elts):
                    t = t.value if isinstance(t, ast.Starred) else t
                    self.bind(t, self.assigned(held[k], t, items[k]), first, s)
        elif isinstance(target, ast.Subscript):
            setitem(self, target, value)
        elif isinstance(target, ast.Attribute):
            set_attribute(self, self.expr(target.value), target, value)
        else:
            raise self.error(
                target, "this assignment target is not supported", cls=UnsupportedSyntaxError
            )

    def augassign(self, s: ast.AugAssign) -> None:
        """`a += v` (or -=, *=, ...): on an ndarray, an update in place that every name holding
        `a` sees; on a number, a new value for `a` alone (`symgrad.frontend.aliases.augmented`
        decides, or makes unbound the names that would see the change if it cannot tell)."""
        first = len(self.graph)
        old = self.expr(s.target)
        if isinstance(s.target, ast.Subscript) and isinstance(old, Value):
            subscripts.refuse_augmented_item(self, s.target)
        value = self.binop(s.op, old, self.expr(s.value), s, augmented=True)
        name = s.target.id if isinstance(s.target, ast.Name) else None
        if name is not None and isinstance(old, Value) and isinstance(value, Value):
            op = aliases.AUG_SPELLING[type(s.op)]  # a's shape and dtype, where an ndarray's:
            value = self.call_rule("updated", (value, old), {"what": f"`{name} {op}= ...`"}, s)
            if aliases.augmented(self, old, value, s, name, op):
                return
        self.bind(s.target, value, first, s)

    def unpack(self, value: Any, n: int, where: ast.AST) -> list:
        if isinstance(value, (tuple, list)):
            if len(value) != n:
                raise self.error(where, f"cannot unpack {len(value)} values into {n} names")
            return list(value)
        if isinstance(value, Value):  # a runtime sequence, e.g. x.shape
            return [
                self.call_rule("getitem", (value, []), {"index": (i,)}, where) for i in range(n)
            ]
        if isinstance(value, Stacked):
            raise self.error(
                where,
                f"cannot unpack {value.name}, a list a loop filled (its length is known when "
                "it runs)",
                f"Read its items by index ({value.name}[0], {value.name}[1]).",
                UnsupportedSyntaxError,
            )
        raise self.error(where, f"cannot unpack {type(value).__name__}")

    # expressions ----------------------------------------------------------------------------
    def expr(self, e: ast.expr) -> Any:
        method = getattr(self, "e_" + type(e).__name__, None)
        if method is None:
            raise self.error(
                e, f"the expression {type(e).__name__} is not supported", cls=UnsupportedSyntaxError
            )
        return method(e)

    def e_DictComp(self, e: ast.DictComp) -> dict:
        """`{k: f(v) for k, v in params.items() if ...}` over containers known when compiling
        (a dict's keys or items, a tuple or list, a range of constants): the dict of each
        item's key and value, its variables its own (`comprehended`)."""
        out: dict = {}
        e = _own_names(e, self.env)

        def each() -> None:
            key = self.expr(e.key)
            if not is_const(key):
                raise self.error(
                    e.key,
                    "a dict's keys must be constants known when compiling",
                    cls=UnsupportedSyntaxError,
                )
            out[key] = self.expr(e.value)

        self.comprehended(e.generators, each, e)
        return self.made(out)

    def comprehended(self, generators: list[ast.comprehension], each, e: ast.expr) -> None:
        """`each()` once per item the generators give, their targets bound, unrolled: each
        goes over a container known when compiling, and each `if` is decided then."""
        if not generators:
            each()
            return
        gen = generators[0]
        items = self.expr(gen.iter) if not _is_range(gen.iter) else self.constant_range(gen.iter)
        if isinstance(items, dict):
            items = list(items)
        if gen.is_async or not isinstance(items, (tuple, list, range)):
            raise self.error(
                gen.iter,
                "a dict comprehension goes over a dict's keys or items, a tuple, a list or a "
                "range known when compiling (its keys are known then)",
                "Write the dict out, or go over the container of parameters itself.",
                cls=UnsupportedSyntaxError,
            )
        for item in items:  # (its names its own, `_own_names`: a lambda made here reads them)
            self.bind(gen.target, item, len(self.graph), e)
            tests = [self.expr(t) for t in gen.ifs]
            if any(isinstance(t, Value) for t in tests):
                raise self.error(
                    gen.ifs[0],
                    "a dict comprehension's if decides on a value known only when the code "
                    "runs (which keys the dict has would depend on it)",
                    "Keep every key, and choose each value with np.where.",
                    cls=UnsupportedSyntaxError,
                )
            if all(tests):
                self.comprehended(generators[1:], each, e)

    def constant_range(self, e: ast.Call) -> range:
        args = [self.expr(a) for a in e.args]
        if not all(type(a) is int for a in args):
            raise self.error(
                e,
                "a dict comprehension over a range of bounds known only when the code runs",
                "Its keys are known then only: build an array, or a list with a comprehension.",
                cls=UnsupportedSyntaxError,
            )
        return range(*args)

    def e_IfExp(self, e: ast.IfExp) -> Any:
        return lower_ifexp(self, e)

    def e_Lambda(self, e: ast.Lambda) -> Any:
        return local_functions.define_lambda(self, e)

    def e_BoolOp(self, e: ast.BoolOp) -> Any:
        return lower_boolop(self, e)

    def e_Constant(self, e: ast.Constant) -> Any:
        if _complex(e.value):
            raise self.error(e, f"the complex number {e.value!r} is not supported", _REAL)
        return e.value

    def e_JoinedStr(self, e: ast.JoinedStr) -> str:
        """An f-string of values known when compiling (`f"W{i}"` of an unrolled loop's index:
        a dict's key), as Python formats it."""
        out = []
        for part in e.values:
            if not isinstance(part, ast.FormattedValue):
                out.append(self.expr(part))
                continue
            value = self.expr(part.value)
            if not is_const(value):
                raise self.error(
                    part,
                    "an f-string of a value computed when the function runs is not supported",
                    "Strings play no part in a gradient; a dict's key made from a loop's index "
                    "is known when compiling in a loop over range() of constants.",
                    cls=UnsupportedSyntaxError,
                )
            convert = {-1: lambda v: v, 115: str, 114: repr, 97: ascii}[part.conversion]
            spec = self.expr(part.format_spec) if part.format_spec is not None else ""
            out.append(format(convert(value), spec))
        return "".join(out)

    def e_Dict(self, e: ast.Dict) -> dict:
        """A dict of values by constant keys (a container, as an argument may be), `**d` of a
        dict known when compiling spread into it."""
        out: dict = {}
        for k, v in zip(e.keys, e.values):
            if k is None:
                spread = self.expr(v)
                if not isinstance(spread, dict):
                    raise self.error(
                        v,
                        f"** of a {type(spread).__name__} in a dict: only a dict's items spread",
                        cls=UnsupportedSyntaxError,
                    )
                out.update(spread)
                continue
            key = self.expr(k)
            if not is_const(key):
                raise self.error(
                    k,
                    "a dict's keys must be constants known when compiling",
                    cls=UnsupportedSyntaxError,
                )
            out[key] = self.expr(v)
        return self.made(out)

    def e_Tuple(self, e: ast.Tuple) -> tuple:
        return tuple(self.expr(x) for x in e.elts)

    def e_List(self, e: ast.List) -> list:
        return self.made([self.expr(x) for x in e.elts])

    def made(self, container: dict | list) -> dict | list:
        """A dict or list this block made, which `d[k] = v` may change (`subscripts.setitem`)."""
        self.memory.made[id(container)] = (container, self.graph)
        return container

    def e_Name(self, e: ast.Name) -> Any:
        name = e.id
        if name not in self.env and name in self.cells:
            try:
                value = self.cells[name].cell_contents
            except ValueError:
                raise self.error(e, f"{name!r} is not bound yet where it is defined") from None
            self.reads.note_cell(self.cells[name], value)
            return self.outside(value, name, e, (self.cells[name], None))
        if name not in self.env and name in self.src.local_names():
            raise self.error(
                e,
                f"{name!r} is read before the function binds it (a name the function binds is "
                "its own everywhere in it, as in Python, never a global's)",
                f"Bind {name} before this line (before the loop, where a step reads what an "
                "earlier one bound: symgrad lowers a for loop's first step on its own, but not "
                "a while loop's nor one that breaks).",
                cls=UnsupportedSyntaxError,
            )
        for scope in (self.env, self.globals, vars(builtins)):
            if name in scope:
                if scope is not self.env:
                    if scope is self.globals:
                        self.reads.note(scope, name, scope[name])
                    else:  # a builtin, until the module defines that name
                        self.reads.note_absent(self.globals, name)
                    held = (scope, name) if scope is self.globals else None
                    return self.outside(scope[name], name, e, held)
                value = scope[name]
                if isinstance(value, Value):
                    self.read_now[value.id] += 1
                if isinstance(value, Unbound):
                    raise self.error(
                        e,
                        f"{name!r} {value.reason}",
                        value.hint
                        or f"Bind {name} so that it has one value whichever way the code runs.",
                        cls=UnsupportedSyntaxError,
                    )
                return value
        raise self.error(e, f"name {name!r} is not defined", cls=UnknownCallableError)

    def numpy_number(self, v: np.generic, e: ast.AST) -> Any:
        """A NumPy number from outside the function: a float one as written in the function
        (`np.float64(0.05)`: a float32 array times it is float64, as NumPy computes it); an
        int or bool one as the Python number (a length, a loop's bound: known statically)."""
        if v.dtype.kind != "f":
            return v.item()
        return self.call_rule("scalar_type", (v.item(),), {"dtype": v.dtype.name}, e)

    def outside(self, obj: Any, name: str, e: ast.AST, held: tuple | None = None) -> Any:
        """A value from the function's closure, globals or builtins, as a frontend value; an
        array a module's global or a closure cell holds (`held`: where it is read from), an
        argument of the module after the function's own, read when each call is made
        (`free`)."""
        if _complex(obj):
            what = "a complex dtype" if isinstance(obj, type) else f"complex ({obj!r})"
            raise self.error(e, f"{name!r} is {what}, which is not supported", _REAL)
        if is_const(obj):
            return obj
        if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
            return self.numpy_number(obj, e)
        if held is not None and plain_array(obj):
            where, key = held
            self.reads.note_array(where, key)
            return self.free(FreeArray(where, key), name, e)
        if held is not None and holds_arrays(obj):  # (its contents noted: `Reads.note`)
            return self.holding(obj, name, FreeArray(*held), e)
        if isinstance(obj, np.ndarray):
            raise self.error(
                e,
                f"the array {name!r} comes from outside the function",
                "Pass it as an argument: emitted gradients are standalone code "
                "and do not embed arrays.",
            )
        return obj

    def holding(self, obj: Any, name: str, at: FreeArray, e: ast.AST) -> Any:
        """A list, tuple or dict from outside (`at`) holding arrays, at any depth (`PARAMS =
        [(W1, b1), (W2, b2)]`, a closure's `data = {"X": X, "y": y}`): the same container, each
        array in it a free array's param (`free`, named after its place: `PARAMS_1_0`), read
        when each call is made, as a global array is. A change of it is refused, as of any
        list the function did not make; a new item or array in it makes the gradient stale
        (`Reads`)."""
        if plain_array(obj):
            return self.free(at, re.sub(r"\W", "_", "_".join(map(str, (name, *at.path)))), e)
        if type(obj) in (list, tuple, dict):
            items = obj.items() if type(obj) is dict else enumerate(obj)
            inner = {k: self.holding(v, name, at.within(k), e) for k, v in items}
            return inner if type(obj) is dict else type(obj)(inner.values())
        return obj

    def free(self, key: FreeArray, name: str, e: ast.AST) -> Value:
        """The value of the free array `key` here: a param of the function's graph (made at
        its first read, named after the global or cell), captured by the loop bodies and
        branches that read it, as a name of the function's is."""
        slot = repr(key)  # (no source can spell it)
        if slot in self.env:
            return self.env[slot]
        if self.parent is not None:  # an inlined call: the caller's graph
            value = self.parent.free(key, name, e)
        elif self.enclosing is not None:  # a body or branch: its param for the outer value
            self.enclosing.free(key, name, e)
            return self.env[slot]
        else:
            taken = {self.graph[p].name for p in self.graph.params}
            value = Value(self.graph.param(fresh(name, taken), self.src.locate(e)))
            self.graph[value.id].attrs["free"] = key
        dict.__setitem__(self.env, slot, value)
        return value

    def filling(self, base: Appender, e: ast.AST) -> SymgradError:
        """The error of a use of a list inside the loop that fills it, other than an append
        per step and a read of its last item (`symgrad.frontend.trajectories`)."""
        return self.error(
            e,
            f"{base.name} is the list this loop fills: symgrad stacks what it appends after "
            f"the loop, and a use of it inside the loop other than one {base.name}.append per "
            f"step and a read of its last item, {base.name}[-1], would not see it grow",
            f"Keep what you read in a variable of its own (x = ...; {base.name}.append(x)), "
            "or read the list after the loop.",
            cls=UnsupportedSyntaxError,
        )

    def e_Attribute(self, e: ast.Attribute) -> Any:
        base = self.expr(e.value)
        if isinstance(base, (np.finfo, np.iinfo)) and not e.attr.startswith("_"):
            return self.outside(getattr(base, e.attr), e.attr, e)  # np.finfo(np.float32).eps
        if isinstance(base, Limits):  # np.finfo(x.dtype).eps
            return self.call_rule("type_limit", (base.dtype,), {"of": base.of, "attr": e.attr}, e)
        if isinstance(base, Appender) and e.attr in ("append", "insert"):
            return AppendTo(base, e.attr)
        if isinstance(base, Appender):
            raise self.filling(base, e)
        if isinstance(base, list) and e.attr in ("append", *LIST_CHANGES):
            return self.list_append(base, e)
        if isinstance(base, (list, dict)) and e.attr == "copy":
            return base.copy  # (a new container of the same items: `calls.lower_call`)
        if isinstance(base, Value):
            if e.attr in _PROPERTIES:
                return self.call_rule(BY_METHOD[e.attr], (base,), {}, e)
            if e.attr == "mT":  # (NumPy 2's: the last two axes swapped)
                return self.call_rule("swapaxes", (base,), {"axis1": -1, "axis2": -2}, e)
            if e.attr in BY_METHOD or e.attr in ("copy", "astype", "reshape", "transpose", "take"):
                return Method(base, e.attr)
            if e.attr in _IN_PLACE:
                raise self.error(
                    e,
                    f"{ast.unparse(e.value)}.{e.attr}() changes the array in place, which is not "
                    "supported",
                    f"Make a new array instead: {_IN_PLACE[e.attr]}.",
                    cls=UnsupportedSyntaxError,
                )
            if self.graph[base.id].op == "param":  # (maybe a dataclass, compiled as one)
                raise self.error(
                    e,
                    f"{ast.unparse(e.value)} is read as an array, which has no attribute .{e.attr}",
                    f"{OBJECTS} {CONTAINERS}",
                    cls=UnsupportedSyntaxError,
                )
            hint = _INSTEAD.get(e.attr, "").format(ast.unparse(e.value))
            raise self.error(
                e,
                f"the array attribute .{e.attr} is not supported",
                hint or None,
                cls=UnknownCallableError,
            )
        if isinstance(base, dict) and e.attr in DICT_READS:
            return getattr(base, e.attr)  # of a container of parameters
        if hasattr(type(base), "_fields") and e.attr in type(base)._fields:
            return getattr(base, e.attr)  # a NamedTuple's field
        if id(base) in self.memory.records or hasattr(type(base), "_fields"):
            return record_attribute(self, base, e)  # a dataclass (or self), a NamedTuple
        if isinstance(base, str) and not e.attr.startswith("_") and hasattr(str, e.attr):
            return getattr(base, e.attr)  # a string's method (`"W{}".format(i)`, a key's)
        if is_const(base) or isinstance(base, (tuple, list)):
            raise self.error(e, f"attribute .{e.attr} of a constant is not supported")
        if isinstance(base, Stacked):  # (`out.append(...)` after the loop that filled out)
            raise self.error(
                e,
                f"{base.name}.{e.attr} after the loop that filled {base.name}: symgrad reads "
                f"the list a loop filled as the array of its items (np.stack({base.name})), "
                "which a loop fills alone",
                f"Append inside the loop, or join after it: np.concatenate([np.stack("
                f"{base.name}), row[None]]).",
                cls=UnsupportedSyntaxError,
            )
        if isinstance(base, super):  # its parents' method, or property's getter inlined
            return super_attribute(self, base, e)
        try:
            value = getattr(base, e.attr)
        except AttributeError:
            raise self.error(
                e,
                f"{getattr(base, '__name__', base)!s} has no attribute {e.attr!r}",
                cls=UnknownCallableError,
            ) from None
        self.reads.note(base, e.attr, value)
        held = (base, e.attr) if isinstance(base, types.ModuleType) else None
        return self.outside(value, e.attr, e, held)

    def list_append(self, items: list, e: ast.Attribute) -> Any:
        """`xs.append` (or `extend`, `insert`, `pop`: `LIST_CHANGES`, the list's own method,
        run when lowering) on a list made in this scope. A list made before a loop or an if
        (other than one a loop fills, empty before it) cannot change inside it."""
        name = e.value.id if isinstance(e.value, ast.Name) else None
        if isinstance(self.env, aliases.BodyEnv) and not dict.__contains__(self.env, name):
            raise self.error(
                e,
                f"{e.attr} of {name or 'a list'}, made before this loop or if, is not supported",
                "A loop may fill a list that is empty before it, appending once per iteration "
                "(xs = [] ... for ...: xs.append(v)); build other lists where they are used.",
                cls=UnsupportedSyntaxError,
            )
        self.refuse_unmade(items, f"{e.attr} of", e)
        return ListAppend(items) if e.attr == "append" else getattr(items, e.attr)

    def refuse_unmade(self, items: list, what: str, e: ast.AST) -> None:
        """Refuse a change of a list the function did not make (`Memory.made`): an argument's
        or a global's (`self.hist`), whose change the caller would see; symgrad's would not."""
        if self.memory.maker(items) is None:
            name = ast.unparse(e.value) if isinstance(e, ast.Attribute) else "the list"
            raise self.error(
                e,
                f"{what} {name}, an argument's or a global's list, whose change the caller "
                "would see, is not supported",
                f"Make a list of your own (xs = list({name})), and return it.",
                cls=UnsupportedSyntaxError,
            )

    def e_Subscript(self, e: ast.Subscript) -> Any:
        base = self.expr(e.value)
        index = self.index(e.slice)
        if isinstance(base, (tuple, list)) and (is_const(index) or _const_slice(index)):
            try:
                found = base[index]  # (a slice: a new list or tuple)
            except (IndexError, TypeError) as err:  # (as Python's, known when compiling)
                what = f"a {type(base).__name__} of {len(base)} items"
                hint = (
                    "symgrad reads the last item of the list a loop fills before the loop "
                    "(the loop may read it before its first append): give the list its first "
                    "item before the loop"
                    if getattr(e, "trajectory", False)
                    else None
                )
                raise self.error(e, f"{ast.unparse(e)} of {what}: {err}", hint) from None
            item = self.readable(found, e)
            return self.made(item) if isinstance(index, slice) and isinstance(item, list) else item
        if isinstance(base, (tuple, list)) and isinstance(index, Value):  # known when run
            return pick(self, base, index, e)
        if isinstance(base, dict) and is_const(index):  # a container of parameters
            if index not in base:
                raise self.error(e, f"the key {index!r} is not in the dict", cls=SymgradError)
            return self.readable(base[index], e)
        if isinstance(base, dict):
            raise self.error(
                e,
                "a dict read with a key computed when the function runs is not supported",
                "Its keys must be known when compiling: loop over the dict (for k in d) or "
                "over a tuple of its keys, or keep the arrays in a list read by index.",
                cls=UnsupportedSyntaxError,
            )
        if isinstance(base, Appender):
            raise self.filling(base, e)
        shared = base.shared if isinstance(base, Stacked) else None
        if isinstance(base, Stacked) and isinstance(index, slice):  # (`hs[1:]`: a list still,
            rows = getitem(self, base.value, index, e)  # its rows those of the stack's slice)
            if shared is not None:
                self.memory.mark_unsure(self.graph, rows.id, shared)
            return Stacked(rows, base.name, shared)
        if isinstance(base, Stacked):  # an item of a list a loop filled: a row of the stack
            base = base.value
        if not isinstance(base, Value):
            what = _INDEX_TRICKS.get(id(base))
            if what is not None:
                raise self.error(e, f"{what}[...] is not supported", _INDEX_TRICKS_INSTEAD[what])
            raise self.error(e, "subscript of a non-array value is not supported")
        item = getitem(self, base, index, e)
        if shared is not None:  # the item may be that array: no update of it in place
            self.memory.mark_unsure(self.graph, item.id, shared)
        return item

    def e_Slice(self, e: ast.Slice) -> slice:
        parts = [None if p is None else self.expr(p) for p in (e.lower, e.upper, e.step)]
        return slice(*parts)

    def e_UnaryOp(self, e: ast.UnaryOp) -> Any:
        v = self.expr(e.operand)
        if _folds(v):
            ops = {
                ast.USub: operator.neg,
                ast.UAdd: operator.pos,
                ast.Not: operator.not_,
                ast.Invert: operator.invert,
            }
            return ops[type(e.op)](v)
        if isinstance(e.op, ast.USub):
            return self.call_rule("negative", (v,), {}, e)
        if isinstance(e.op, ast.UAdd):  # a new array, as NumPy's +a makes
            return self.call_rule("positive", (v,), {}, e)
        if isinstance(e.op, ast.Not) and isinstance(v, Stacked):  # (a list a loop filled: empty)
            return self.call_rule("equal", (self.call_rule("len", (v.value,), {}, e), 0), {}, e)
        if isinstance(e.op, ast.Not):  # of a condition (of an array, Python's error)
            return self.call_rule("not", (v,), {}, e)
        # ~ as Python's: of a mask, of an argument (a mask given), of an ndarray the function
        # made (~np.eye(n, dtype=bool)); not of a number symgrad may hold as NumPy's where
        # Python's is a bool (~True is -2)
        argument = isinstance(v, Value) and self.graph[v.id].op == "param"
        array = isinstance(v, Value) and aliases.array_kind(self.graph, v.id, self.memory)
        if isinstance(e.op, ast.Invert) and (self.boolean(v) or argument or array):
            return self.call_rule("invert", (v,), {}, e)
        raise self.error(
            e,
            f"the operator {type(e.op).__name__} on arrays is not supported",
            "~ takes a mask (~(x > 0), ~mask of an argument); else use np.logical_not.",
            UnsupportedSyntaxError,
        )

    def index(self, e: ast.expr) -> Any:
        """A subscript's index: `range(...)` there is the array of its ints, as NumPy reads
        it (`logp[range(n), labels]`, `y[range(n)] = v`)."""
        items = e.elts if isinstance(e, ast.Tuple) else [e]
        parts = [self._index_item(item) for item in items]
        return tuple(parts) if isinstance(e, ast.Tuple) else parts[0]

    def _index_item(self, item: ast.expr) -> Any:
        is_range = isinstance(item, ast.Call) and not item.keywords
        if is_range and isinstance(item.func, ast.Name) and self.expr(item.func) is range:
            return self.call_rule("arange", tuple(self.expr(a) for a in item.args), {}, item)
        return self.expr(item)

    def e_BinOp(self, e: ast.BinOp) -> Any:
        return self.binop(e.op, self.expr(e.left), self.expr(e.right), e)

    def binop(
        self, op: ast.operator, left: Any, right: Any, e: ast.AST, augmented: bool = False
    ) -> Any:
        if _folds(left) and _folds(right) and type(op) in _PY_BINOPS:
            try:
                return _PY_BINOPS[type(op)](left, right)
            except (TypeError, ValueError, ArithmeticError) as err:  # ([1] + 2, 1 / 0)
                raise self.error(e, f"{type(err).__name__}: {err}") from None
        joined = sequences.binop(self, op, left, right, e, augmented)
        if joined is not NotImplemented:
            return joined
        name = _BINOP_RULES.get(type(op))
        if name in _BITWISE and not self.bitwise(left, right):
            name = None  # (`&` of floats: Python's TypeError, never a gradient of zeros)
        if name is None:
            raise self.error(
                e,
                f"the operator {type(op).__name__} is not supported on arrays",
                "Supported on arrays: + - * / // ** @ %, and & | ^ << >> of masks and ints.",
                UnsupportedSyntaxError,
            )
        return self.call_rule(name, (left, right), {}, e)

    def bitwise(self, left: Any, right: Any) -> bool:
        """Whether `&`, `|`, `^`, `<<` and `>>` take these operands: two masks the function
        computed, results of these operators, or constant bools or ints, of which one may be an
        argument (`mask & flag`: a mask given; of floats NumPy raises, as for the function);
        or a value and a constant int (`i & 1`, `n >> 1`: of ints; NumPy raises for a float,
        as Python does)."""
        ints = [isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (left, right)]
        made = [isinstance(v, Value) and self.graph[v.id].op in _BITWISE for v in (left, right)]
        masks = [self.boolean(v) or m for v, m in zip((left, right), made)]
        given = [isinstance(v, Value) and self.graph[v.id].op == "param" for v in (left, right)]
        return all(masks) or any(masks) and any(given) or any(ints)

    def boolean(self, v: Any) -> bool:
        """Whether v is a mask the function computed (a comparison, `np.isnan`, a logical or
        bitwise op of masks) or a constant bool or int, which `&`, `|`, `^` and `~` take."""
        if isinstance(v, (bool, int, np.bool_, np.integer)):
            return True
        if not isinstance(v, Value):
            return False
        rule = RULES.get(self.graph[v.id].op)
        return rule is not None and rule.mask

    def e_Compare(self, e: ast.Compare) -> Any:
        if len(e.ops) != 1:
            return lower_chain(self, e)
        left, right = self.expr(e.left), self.expr(e.comparators[0])
        if isinstance(e.ops[0], (ast.Is, ast.IsNot, ast.In, ast.NotIn)):  # known now
            return identity_or_membership(self, e.ops[0], left, right, e)
        name = _CMP_RULES.get(type(e.ops[0]))
        if name is None:
            raise self.error(
                e,
                f"the comparison {type(e.ops[0]).__name__} is not supported",
                "Use ==, !=, <, <=, > or >=.",
                UnsupportedSyntaxError,
            )
        if _folds(left) and _folds(right):
            return bool(_PY_CMPS[type(e.ops[0])](left, right))
        known = _counted(self.counts, e.ops[0], left, right)
        if known is not None:
            return known
        equality = isinstance(e.ops[0], (ast.Eq, ast.NotEq))  # (`act == np.sin`: identity)
        if equality and is_callable_constant(left) and is_callable_constant(right):
            return bool(_PY_CMPS[type(e.ops[0])](left, right))
        return self.call_rule(name, (left, right), {}, e)

    def e_Call(self, e: ast.Call) -> Any:
        return lower_call(self, e)

    # rule applications ----------------------------------------------------------------------
    def call_rule(self, name: str, args: tuple, kwargs: dict, e: ast.AST) -> Value:
        rule = RULES[name]
        if rule.shape == "reduce" and reduction_options.OPTIONS & kwargs.keys():
            return reduction_options.lower(self, name, args, kwargs, e)  # (np.sum(x, where=m))
        loc = self.src.locate(e)
        try:
            if rule.adapt is not None:  # a NumPy calling convention (einsum's subscripts first)
                args, kwargs = rule.adapt(*args, **kwargs)
            values = bind(rule, args, kwargs)
        except TypeError as err:  # the adapter's signature: a keyword it does not take
            detail = str(err).split(") ", 1)[-1]  # (not the adapter's own name)
            raise SymgradError(f"bad arguments to {name}: {detail}", loc) from None
        except NeedsConstant:  # (located, naming the argument it is)
            raise
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

    @contextlib.contextmanager
    def pending(self, values: list):
        """`values`, about to be assigned, held in the scope while earlier targets are: an
        update in place by one of them rebinds what they hold of its array, and makes a view
        of it `Unbound`, as it does a name's (`aliases.update`)."""
        key = f"<pending {id(values)}>"  # (no name: nothing reads it)
        dict.__setitem__(self.env, key, values)
        try:
            yield values
        finally:
            dict.pop(self.env, key, None)

    def assigned(self, v: Any, target: ast.AST, before: Any) -> Any:
        """v, about to be assigned to target, unless an earlier target's update made it stale:
        an error, but for an entry read with ints, read before the update as `before` and
        checked (`aliases.checked_entry`). (The update itself checks the entries a name holds,
        as `y[0], y[2] = y[2], y[0]` holds them while its targets are assigned; this takes an
        entry another way made stale: an array the updated one may be.)"""
        if not isinstance(v, Unbound) or isinstance(v, Withheld):
            return v
        if isinstance(before, Value) and aliases.entry_read(self.graph, before.id):
            loc = self.src.locate(target)
            what = f"the value assigned to {ast.unparse(target)} ({aliases.where_in(loc)})"
            aliases.checked_entry(self.graph, before, what)
            return before
        raise self.error(
            target,
            f"the value assigned to {ast.unparse(target)} {v.reason}",
            "Copy it first (v.copy()), or assign in statements of their own.",
            cls=UnsupportedSyntaxError,
        )

    def readable(self, v: Any, e: ast.AST) -> Any:
        """v, read from a container, unless it (or an item of it) is `Unbound`: an error."""
        items = v if isinstance(v, (tuple, list)) else [v]
        for item in items:
            if isinstance(item, Unbound):
                raise self.error(
                    e,
                    f"{ast.unparse(e)} {item.reason}",
                    item.hint or "Read the array itself, or keep a copy: v.copy().",
                    cls=UnsupportedSyntaxError,
                )
        return v

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
        if isinstance(v, (np.integer, np.bool_)):  # (an argument compiled as a constant, an
            dtype = {"dtype": v.dtype.name}  # axis too: its NumPy type kept, as NumPy's
            return self.call_rule("scalar_type", (v.item(),), dtype, e)  # promotion reads it)
        if isinstance(v, Appender):
            raise self.filling(v, e)
        if isinstance(v, Stacked):
            raise self.error(
                e,
                f"{v.name} is a list a loop filled; symgrad reads it as np.stack({v.name})",
                f"Write np.stack({v.name}) (or {v.name}[i], len({v.name})).",
                cls=UnsupportedSyntaxError,
            )
        self.readable(v, e)
        if isinstance(v, np.generic) and v.dtype.kind in "biuf":  # (a dict's, a container's)
            return self.numpy_number(v, e)  # as a global name's is (`outside`)
        if isinstance(v, np.ndarray):  # (an item of a global list, a dict's entry)
            raise self.error(
                e,
                f"{ast.unparse(e)} reads an array from outside the function (one a global "
                "or a closure's container holds)",
                "Pass it as an argument: emitted gradients are standalone code "
                "and do not embed arrays.",
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
            f"the function must return one array or number (it returns a {type(v).__name__})",
            loc,
            hint="A function returning (value, aux) is differentiated with has_aux=True "
            "(symgrad.grad(f, has_aux=True)); symgrad.vjp, symgrad.jvp and the Jacobians take "
            "array and container outputs.",
        )
