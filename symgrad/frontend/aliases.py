"""Python's aliasing during lowering: which names hold one array, and what an update changes.

The IR is functional: `a[i] = v`, and `a += v` on an ndarray, give a new value. Lowering keeps
Python's meaning by rebinding. A graph `Value` bound to names stands for one Python object, so an
update in place (`update`) rebinds every name holding the old value to the new one: names of the
function being lowered, of the functions that inlined it (its callers, in the same graph), and
items of tuples and lists; names holding a view of the old value become `Unbound`.

A loop body or a branch is a scope of its own (`BodyEnv`), over a graph of its own, whose params
stand for values of the enclosing scope. `identity(env, name)` says which object a name holds
there, following captured params out to the scope that made the object, so that loops and
branches can find every name holding an array they change (`holders`) and carry them all.

Contract: `Memory` is what one lowering knows beyond the names: for each value, the first value
of its object (`origin`), the objects changed in place in each scope (`changed`, with their
`latest` value), the values whose identity depends on how the code ran (`unsure`, with the
reason), the arrays a loop goes over (`iterated`), and what a body's params are known to be
(`kinds`, see `array_kind`). An update through an unsure or iterated array is refused with a
located `UnsupportedSyntaxError`; `augmented` decides what `a += v` means. `owned` says
whether a value is an array the function made (not an argument's memory, a constant or a view),
the only kind that may be written element by element; an update keeps the ownership of the
array it changes.
"""

from __future__ import annotations

import ast
import dataclasses
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from symgrad import tree
from symgrad.errors import UnsupportedSyntaxError
from symgrad.frontend.liveness import placed, read_after
from symgrad.frontend.local_functions import LocalFunction
from symgrad.frontend.reads import free_origin
from symgrad.frontend.values import Stacked, Unbound, is_const
from symgrad.ir import Graph
from symgrad.ir.index import Dyn
from symgrad.ir.structured import Loop
from symgrad.rules import RULES, Value
from symgrad.rules.build import add_bound

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer


class Memory:
    """Object identities for one lowering; keys are (graph, value id) pairs."""

    def __init__(self):
        self.rules = True  # custom derivative rules inlined (differentiated), or their functions
        self.origin: dict[tuple, tuple] = {}
        self.changed: set[tuple] = set()
        self.maybe: set[tuple] = set()  # objects `+=` may have changed in place (type unknown)
        self.may_be: dict[tuple, tuple[int, str]] = {}  # value -> an array it may be, and why
        self.latest: dict[tuple, int] = {}  # a changed object: its value now
        self.iterated: dict[tuple, str] = {}  # arrays a loop goes over the rows of: why
        self.updated_at: dict[tuple, list] = {}  # an object changed in place: where (AST nodes)
        self.unsure: dict[tuple, str] = {}
        self.kinds: dict[tuple, str | None] = {}  # a body's params: `array_kind` of its value
        self.lasts: set[tuple] = set()  # a name's last value after a loop (a row of its steps)
        self.records: set[int] = set()  # dataclass instances holding parameters (by id)
        self.objects: dict[int, tuple] = {}  # records the function made (a class called), by
        # id: (the record, the graph of the block that made it, where its attributes may be set)
        self.appended: dict[tuple, str] = {}  # a loop's result that its list's last item is
        self.made: dict[int, tuple] = {}  # dicts and lists the function made, by id: (the
        # container, the graph of the block that made it), which `d[k] = v` may change there

    def maker(self, container: Any) -> Graph | None:
        """The graph of the block that made this dict or list (`made`), or None: one the
        function did not make (an argument's, a global's, a copy a body reads)."""
        made = self.made.get(id(container))
        return made[1] if made is not None and made[0] is container else None

    def first(self, graph: Graph, nid: int) -> tuple:
        """The first value of the object `nid` holds (itself unless an update made it)."""
        key = (graph, nid)
        return self.origin.get(key, key)

    def was_changed(self, graph: Graph, nid: int, maybe: bool = False) -> bool:
        """Whether an update changed the object in place (or, with `maybe`, may have)."""
        return (graph, nid) in self.changed or maybe and (graph, nid) in self.maybe

    def mark_unsure(self, graph: Graph, nid: int, reason: str) -> None:
        held = self.unsure.get((graph, nid))
        if held is None or isinstance(held, Checkable) and not isinstance(reason, Checkable):
            self.unsure[(graph, nid)] = reason  # (a reason no check lifts wins)


class BodyEnv(dict):
    """A loop body's or a branch's names: its own, else the enclosing scope's, where a graph
    value read for the first time becomes a captured param of the body (one param per value,
    however many names it goes by)."""

    def __init__(self, lw: _Lowerer, body: Graph, captured: list):
        super().__init__()
        self.outer, self.outer_graph, self.body, self.captured = lw.env, lw.graph, body, captured
        self.memory: Memory = lw.memory
        self.outer_ids: dict[int, int] = {}  # captured param -> the enclosing scope's value
        self.read_as: dict[str, Value] = {}  # names read from the enclosing scope: their param
        self.slot_inits: dict[int, int] = {}  # a loop's carried param -> its value before
        self.inward: dict[str, Any] = {}  # containers read from the enclosing scope (`_inward`)

    def __contains__(self, name) -> bool:
        return dict.__contains__(self, name) or name in self.outer

    def __getitem__(self, name: str) -> Any:
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        value = self.outer[name]
        if isinstance(value, Value):
            param = self.capture(name, value)
            now = self.current(param, value)
            dict.__setitem__(self, name, now)
            self.read_as[name] = param
            return now
        if name not in self.inward:  # (one copy, which an update in the body changes too)
            self.inward[name] = self._inward(name, value)
        return self.inward[name]

    def _inward(self, name: str, value: Any) -> Any:
        """A tuple, list, filled list or container of parameters (a dict, a NamedTuple, a
        dataclass or a method's self) of the enclosing scope, holding this body's params for
        its graph values (a list a copy: appending to it here is refused), each named after its
        key or field."""
        if isinstance(value, Value):
            return self.current(self.capture(name, value), value)
        if isinstance(value, tuple) and hasattr(type(value), "_fields"):  # a NamedTuple
            return type(value)(*(self._inward(k, v) for k, v in zip(value._fields, value)))
        if isinstance(value, (tuple, list)) and not is_const(value):
            return type(value)(self._inward(name, v) for v in value)
        if isinstance(value, Stacked):
            return Stacked(self.capture(name, value.value), value.name)
        if isinstance(value, dict):
            return {k: self._inward(_named(k, name), v) for k, v in value.items()}
        if id(value) in self.memory.records:  # a dataclass (or self) of parameters: a copy
            inward = object.__new__(type(value))
            for k, v in vars(value).items():
                object.__setattr__(inward, k, self._inward(k, v))
            self.memory.records.add(id(inward))
            return inward
        return value

    def capture(self, name: str, value: Value) -> Value:
        """The param of the body standing for `value` of the enclosing graph."""
        for k, (_, nid) in enumerate(self.captured):
            if nid == value.id:
                return Value(self.body.params[len(self.body.params) - len(self.captured) + k])
        self.captured.append((name, value.id))
        param = self.param(name, value)
        self.outer_ids[param.id] = value.id
        return param

    def current(self, param: Value, outer: Value) -> Any:
        """What the body reads for `outer`, captured as `param`: the array as an update in
        place in the body left it (read through another name, a container, a record), or,
        for a view of an array the body changed, an `Unbound` (as a view read after its
        base changed is, in one block)."""
        latest = self.memory.latest.get(self.memory.first(self.body, param.id))
        if latest is not None:
            return Value(latest)
        base = base_of(self.outer_graph, outer.id)
        for k, (_, nid) in enumerate(self.captured):
            held = self.body.params[len(self.body.params) - len(self.captured) + k]
            if nid == base != outer.id and self.memory.was_changed(self.body, held):
                return Unbound(
                    "is a view of an array this loop or if changed in place",
                    "A view sees its array's changes in NumPy: take it again after the change "
                    "(v = a[1:]), or copy it before where the old values are meant.",
                )
        return param

    def views_of_captured(self, nid: int) -> set[int]:
        """The body's params for views (in the enclosing graph) of the array that the body's
        param nid stands for."""
        outer = self.outer_ids.get(nid)
        if outer is None:
            return set()
        views = views_of(self.outer_graph, outer)
        return {p for p, o in self.outer_ids.items() if o in views and p != nid}

    def param(self, name: str, outer: Any, loc=None) -> Value:
        """A new param of the body for the enclosing scope's value `outer`."""
        param = self.body.param(name, loc)
        if isinstance(outer, Value):
            self.body[param].attrs["owned"] = owned(self.outer_graph, outer.id)
            memory, key = self.memory, (self.body, param)
            reason = memory.unsure.get((self.outer_graph, outer.id))
            if reason is not None:
                memory.unsure[key] = reason
            memory.kinds[key] = array_kind(self.outer_graph, outer.id, memory)
        return Value(param)

    def bind_group(self, names: list[str], param: Value) -> None:
        """Bind every name of `names` (one object outside) to the body's `param` for it."""
        for name in names:
            dict.__setitem__(self, name, param)


def _named(key: Any, name: str) -> str:
    """A captured value's name: its key where that is a name, else its container's."""
    return key if isinstance(key, str) and key.isidentifier() else name


_PURE_CALLS = {"range", "len", "enumerate", "zip", "sum", "min", "max", "abs", "float", "int"}


def may_update(stmts: list[ast.stmt]) -> bool:
    """Whether a block may change an array in place: it assigns to elements, uses an augmented
    assignment, calls a function that is not NumPy's, a builtin's or `append`, or gives a
    NumPy function an `out=`."""
    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, ast.AugAssign):
                return True
            if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
                return True
            if isinstance(node, ast.Call):
                if any(k.arg == "out" for k in node.keywords):
                    return True
                f = node.func
                if isinstance(f, ast.Name) and f.id not in _PURE_CALLS:
                    return True
                if isinstance(f, ast.Attribute) and not (
                    f.attr == "append"
                    or isinstance(f.value, ast.Name)
                    and f.value.id in ("np", "numpy")
                ):
                    return True
    return False


def visible(env: dict) -> list[str]:
    """Every name a scope can read, its own first."""
    names = dict.fromkeys(dict.keys(env))
    while isinstance(env, BodyEnv):
        env = env.outer
        names.update(dict.fromkeys(dict.keys(env)))
    return list(names)


def identity(env: dict, name: str) -> tuple | None:
    """Which object `name` holds in scope `env` (None: not a graph value), as (scope, value id)
    of the scope that made it, so that names of nested scopes compare. Reads capture nothing."""
    while isinstance(env, BodyEnv) and not dict.__contains__(env, name):
        env = env.outer
    value = dict.get(env, name)
    if not isinstance(value, Value):
        return None
    return value_identity(env, value.id)


def value_identity(env: dict, nid: int) -> tuple:
    while isinstance(env, BodyEnv) and nid in env.outer_ids:
        env, nid = env.outer, env.outer_ids[nid]
    return (id(env), nid)


def holders(env: dict, name: str) -> list[str]:
    """The names visible in `env` holding the same object as `name` (itself included)."""
    key = identity(env, name)
    if key is None:
        return [name]
    return [n for n in visible(env) if identity(env, n) == key]


def _scopes(lw: _Lowerer):
    """The lowerer and the ones that inlined it, innermost first: every scope of this graph."""
    while lw is not None:
        yield lw
        lw = lw.parent


def others(lw: _Lowerer, value: Value, name: str) -> list[tuple[dict, str]]:
    """What else holds `value`'s object besides the name `name`: (scope, name) pairs of names
    of this scope or of a caller, holding it or a tuple or list with it."""
    return _holding(lw, {value.id}, name)


def _holding(lw: _Lowerer, ids: set[int], name: str) -> list[tuple[dict, str]]:
    return [
        (scope.env, k)
        for scope in _scopes(lw)
        for k, v in _names(scope.env)
        if (k != name or scope is not lw) and any(_holds(v, i) for i in ids)
    ]


def _names(env: dict) -> list[tuple[str, Any]]:
    """The names a scope holds values by: its own, and in a body the containers it read from
    the enclosing scope (`BodyEnv.inward`), which hold the body's values."""
    own = list(dict.items(env))
    held = getattr(env, "inward", {})
    return own + [(k, v) for k, v in held.items() if not dict.__contains__(env, k)]


def _a_default_holding(lw: _Lowerer, ids: set[int]) -> str | None:
    """The name of a local function (a def or a lambda bound to a name, of this scope or a
    caller's) one of whose defaults holds one of `ids`."""
    for scope in _scopes(lw):
        for v in dict.values(scope.env):
            if isinstance(v, LocalFunction):
                defaults = [p.default for p in v.signature.parameters.values()]
                if any(_holds(d, i) for d in defaults for i in ids):
                    return v.name
    return None


def _held_and_read(lw: _Lowerer, nid: int, place: tuple | None) -> bool:
    """Whether a name or container holds nid and may be read after the update at `place`
    (`symgrad.frontend.liveness`; a caller's name, or one of another function's source, is
    taken as read), or a statement read nid before an update made while it is evaluated (a
    caller's, calling the function that makes it; this one's, where the update has no place:
    `np.add.at` in an expression, a tuple target)."""
    graph = lw.graph
    for scope in _scopes(lw):
        midway = scope is not lw or place is None
        if midway and scope.graph is graph and nid >= scope.stmt_first:
            return True
        for k, v in _names(scope.env):
            if not _holds(v, nid):
                continue
            if scope.src.tree is not lw.src.tree or read_after(lw.src.tree, k, place):
                return True
    return False


def _holds(v: Any, nid: int, seen: set | None = None) -> bool:
    if isinstance(v, Value):
        return v.id == nid
    if isinstance(v, (tuple, list)):
        return any(_holds(x, nid, seen) for x in v)
    if type(v) is dict:
        return any(_holds(x, nid, seen) for x in v.values())
    attributes = _attributes(v, seen := set() if seen is None else seen)
    return any(_holds(x, nid, seen) for x in attributes.values())


def _attributes(v: Any, seen: set) -> dict:
    """The attributes of a record (a dataclass instance, a NamedTuple aside, or an object of
    the user's class: a method's self, a layer it holds), which may hold graph values; {} for
    anything else, or for a record of `seen` (one met already: a cycle), which it joins."""
    if isinstance(v, type) or id(v) in seen:
        return {}
    if not (dataclasses.is_dataclass(v) or tree.is_object(v)):
        return {}
    seen.add(id(v))
    return getattr(v, "__dict__", {})


def _replaced(
    v: Any, old: int, new: Value, views: set[int] = frozenset(), why=None, seen=None
) -> Any:
    """v with the value `old` replaced by `new` in it (in a tuple, a list, a dict, a record's
    attributes), and the values in `views` (views of old) by `why`, an `Unbound`; a list, a
    dict or a record changed in place (one object, however many names hold it)."""
    seen = set() if seen is None else seen
    if isinstance(v, Value):
        return new if v.id == old else why if v.id in views else v
    if isinstance(v, tuple):
        items = [_replaced(x, old, new, views, why, seen) for x in v]
        if all(a is b for a, b in zip(items, v)):
            return v
        return type(v)(*items) if hasattr(type(v), "_fields") else tuple(items)  # (NamedTuple)
    if isinstance(v, list):
        v[:] = [_replaced(x, old, new, views, why, seen) for x in v]
    if type(v) is dict:
        for k, x in v.items():
            v[k] = _replaced(x, old, new, views, why, seen)
    for k, x in list(_attributes(v, seen).items()):
        replaced = _replaced(x, old, new, views, why, seen)
        if replaced is not x:
            object.__setattr__(v, k, replaced)  # (a frozen dataclass's too: lowering's own)
    return v


def owned(graph: Graph, nid: int) -> bool:
    """Whether the value is an array the function made itself (not an argument, a constant or
    a view of one), so that assigning to its elements changes nothing the caller can see."""
    node = graph[nid]
    if node.attrs.get("owned") is False:  # an update in place of an array it does not own
        return False
    if node.op in ("param", "const"):
        return node.attrs.get("owned", False)
    if node.op == "item":
        src = graph[node.inputs[0]]
        k = node.attrs["index"]
        if src.op in ("loop", "while"):  # a carried variable's final (or initial) value
            loop = Loop(src)
            if k >= loop.k:  # a stacked output: an array the loop made
                return True
            return owned(graph, src.inputs[loop.carried_inputs[k]])
        return all(  # a branch's value: one it made, or a value from before the if
            owned(graph, src.inputs[1 + params[branch[out].attrs["index"]]])
            if branch[out].op == "param"
            else owned(branch, out)
            for branch, params in zip(src.attrs["branches"], src.attrs["params"])
            for out in branch.outputs[k : k + 1]
        )
    rule = RULES[node.op]
    if rule.itself:  # the array itself (np.asarray) or a new one: its owner's, a new one of
        source = graph[node.inputs[0]]  # a list or number written out (np.array([1.0, 2.0]))
        if source.op == "const" and not isinstance(source.attrs["value"], np.ndarray):
            return True
        return owned(graph, node.inputs[0])
    return not rule.is_view(node.attrs)


def what(name: str) -> str:
    """An array by the name holding it ("": one no single name stands for)."""
    return f"the array {name}" if name else "an array"


def update(lw: _Lowerer, old: Value, new: Value, where: ast.AST, name: str) -> None:
    """The object `old` of the name `name` ("" for an array no one name stands for) now holds
    `new`: rebind every name and item holding it, in this scope and its callers'; names holding
    a view of it become unbound."""
    memory, graph = lw.memory, lw.graph
    reason = unsure(lw, old.id, new) or iterated(lw, old.id)
    if reason is not None:
        raise lw.error(
            where,
            f"this changes {what(name)} in place, but {reason}",
            "Make the array the names share explicit (one name, or x.copy() where a copy is "
            "meant), so that one object is changed whichever way the code runs.",
            cls=UnsupportedSyntaxError,
        )
    origin = memory.first(graph, old.id)
    if origin in lw.waiting:
        raise lw.error(
            where,
            f"this changes {what(name)} in place, which the statement calling this function "
            "read before the call and uses after it: Python's use sees the change",
            "Call the function in a statement of its own, before the statement that reads the "
            "array (or pass it a copy).",
            cls=UnsupportedSyntaxError,
        )
    held = _a_default_holding(lw, {old.id} | views_of(graph, old.id))
    if held is not None:
        raise lw.error(
            where,
            f"this changes {what(name)} in place, which a default of the local function {held} "
            "holds (or a view of it): Python's default is that object, which symgrad does not "
            "follow",
            "Pass the array to the function as an argument where it is called.",
            cls=UnsupportedSyntaxError,
        )
    memory.origin[(graph, new.id)] = origin
    memory.updated_at.setdefault(origin, []).append(where)
    if not owned(graph, old.id):  # still the argument's (or a view's) memory
        graph[new.id].attrs["owned"] = False
    memory.changed.add(origin)
    memory.latest[origin] = new.id
    views = views_of(graph, old.id)
    if isinstance(lw.env, BodyEnv):  # (views from before the loop or if, its params here)
        views |= lw.env.views_of_captured(origin[1]) if origin[0] is graph else set()
    entries = [v for v in views if entry_read(graph, v)]  # of a vector numbers, read before
    place = placed(lw.src.tree, where) if entries else None
    for v in entries:  # (`old = a[0]; a[1] = 5.0`): where held and read, checked when it runs
        views.discard(v)
        if _held_and_read(lw, v, place):
            checked_entry(graph, Value(v))
    line = lw.src.locate(where).line
    _unbind_what_it_may_be(lw, old, name, line)
    why = Unbound(
        f"is a view of {what(name)}, which line {line} changed",
        "A view sees its array's changes in NumPy: take it again after the change (v = a[1:]), "
        "or copy it before the change where the old values are meant (v = a[1:].copy()).",
    )
    for scope in _scopes(lw):
        env = scope.env
        for k, v in _names(env):
            replaced = _replaced(v, old.id, new, views, why)  # (a view in a list: an item
            if replaced is not v:  # that reading is an error)
                if dict.__contains__(env, k):
                    dict.__setitem__(env, k, replaced)
                else:  # (a container read from the enclosing scope: a tuple made anew)
                    env.inward[k] = replaced


def augmented(lw: _Lowerer, old: Value, new: Value, where: ast.AST, name: str, op: str) -> bool:
    """`name op= ...` made `new` from `old`, the value `name` held. True: an update in place,
    done (an ndarray others hold: they see it). False: `name` alone is to be rebound (a value
    nobody else holds, where in place or not is all one), after the names that would see an
    update in place (holders of the array, of views of it, of the array it is a view of) were
    made unbound, where symgrad cannot tell an ndarray from a number. Refused where the array's
    identity is unsure or a loop goes over its rows."""
    memory, graph = lw.memory, lw.graph
    if not owned(graph, old.id):  # if an ndarray, still the argument's (or a view's) memory
        graph[new.id].attrs["owned"] = False
    base = base_of(graph, old.id)
    if graph[base].op == "param" and not isinstance(lw.env, BodyEnv):
        _checked_apart(lw, base, f"`{name} {op}= ...` ({where_in(lw.src.locate(where))})")
    bases = sorted(bases_of(graph, old.id))  # base, and a loop result's initial view
    reason = unsure(lw, old.id, new)
    for b in bases:  # (what a loop's result may be, if it ran no iteration, may be unsure)
        reason = reason or unsure(lw, b, new) or iterated(lw, b) or _from_outside(lw, b)
    if reason is not None:
        raise lw.error(
            where,
            f"`{name} {op}= ...` changes {name} in place if it is an ndarray, but {reason}",
            f"Write {name} = {name} {op} ... for a new value.",
            cls=UnsupportedSyntaxError,
        )
    refuse_if_appended(
        lw, old, name, where, f"`{name} {op}= ...` would change", f"write {name} = {name} {op} ..."
    )
    ids = {old.id} | {i for b in bases for i in {b} | views_of(graph, b)}
    holders = _holding(lw, ids, name)
    known = base == old.id and array_kind(graph, old.id, memory) is not None
    if not known:
        for b in bases:
            memory.maybe.add(memory.first(graph, b))
    _unbind_what_it_may_be(lw, old, name, lw.src.locate(where).line)
    outside = [w for b in bases for w in _outside(lw, b, placed(lw.src.tree, where.target))]
    entry = None if known or not outside else _entry_it_starts_as(lw, old.id)
    if entry is not None:  # (`s = b[i]`, then `s -= ...` in a loop: a number of a vector,
        checked_entry(*entry)  # which the module checks when it runs, rebound)
        outside = []
    for b in bases if entry is None else ():  # (an argument an alias changes: `v -= ...` of
        _argument_apart(lw, b, f"`{name} {op}= ...` ({where_in(lw.src.locate(where))})")
    if outside:  # (`x, v = x0, v0`, f(a, a); a name, or a list's item, from before a loop or if)
        why = (
            "which symgrad cannot follow into the loop or if"
            if known
            else "and symgrad cannot tell an ndarray from a number here"
        )
        raise lw.error(
            where,
            f"`{name} {op}= ...` changes {name} in place if it is an ndarray, and "
            f"{', '.join(outside)}, from before this loop or if, would see it, {why}",
            f"Write {name} = {name} {op} ... for a new value (or hold a copy: {name}.copy()).",
            cls=UnsupportedSyntaxError,
        )
    if known:  # (the same array: `y = np.zeros_like(x); y += x`, then `z = y; z *= 3.0`)
        memory.kinds[(graph, new.id)] = array_kind(graph, old.id, memory)
    if not holders:  # no other name sees the change now; but a loop's next iteration may
        memory.maybe.add(memory.first(graph, old.id))  # (`carried.mark_unsure`: `u = x` after)
        return False
    if known:
        update(lw, old, new, where, name)
        return True
    line = lw.src.locate(where).line
    for env, k in holders:
        dict.__setitem__(
            env,
            k,
            Unbound(
                f"may share memory with {name}, which line {line} changes with `{name} {op}= "
                "...`: in place for an ndarray, not for a number, and symgrad cannot tell which "
                "it is",
                f"Write {name} = {name} {op} ... to make a new value, or {name}[...] {op}= ... "
                "to change the array every name holding it sees.",
            ),
        )
    return False


def refuse_if_appended(lw: _Lowerer, old: Value, name: str, where, what: str, instead: str):
    """Refuse a change in place (`what` would change the item; or do `instead`) of the array
    `name` holds where a loop's list holds it as an item."""
    holder = list_holding(lw, old)
    if holder is not None:
        raise lw.error(
            where,
            f"{name} (or an array sharing its memory) was appended to {holder}, which holds "
            f"that array, not a copy: {what} the list's item too",
            f"Append a copy ({holder}.append({name}.copy())), or {instead}.",
            cls=UnsupportedSyntaxError,
        )


def list_holding(lw: _Lowerer, value: Value) -> str | None:
    """The name of a loop's list to which an iteration appended `value`'s array (as it was
    when the loop's body began, or as it is), a view of it, or the array it views, seen from
    this function, the functions that inlined it and the loop bodies it is in; or of which
    a loop that ran before holds the last item (`Memory.appended`)."""
    for level, nid in _levels(lw, value.id):
        held = lw.memory.appended.get(lw.memory.first(level.graph, base_of(level.graph, nid)))
        if held is not None:
            return held
        scope = level
        while scope is not None:
            env = scope.env
            while env is not None:
                for k, v in dict.items(env):
                    appender = getattr(v, "appender", v)  # `xs` or its bound `xs.append`
                    held = getattr(appender, "value", None)
                    if getattr(appender, "graph", None) is level.graph and isinstance(held, Value):
                        if base_of(level.graph, held.id) == base_of(level.graph, nid):
                            return getattr(appender, "name", k)
                env = getattr(env, "outer", None)
            scope = scope.parent
    return None


def carry_out_unsure(lw: _Lowerer, env: BodyEnv, outputs) -> None:
    """At the end of a loop body or branch (`env`): what is unsure there is unsure outside
    too: the values it captured, and the items (`outputs`: pairs of its value and the item
    after the loop or if) of its unsure values."""
    memory = lw.memory
    for param, outer in env.outer_ids.items():
        reason = memory.unsure.get((env.body, param))
        if reason is not None:
            memory.mark_unsure(lw.graph, outer, reason)
    for value, item in outputs:
        if isinstance(value, Value) and isinstance(item, Value):
            reason = memory.unsure.get((env.body, value.id))
            if reason is not None:
                memory.mark_unsure(lw.graph, item.id, reason)
            base = base_of(env.body, value.id)
            if base != value.id and base in env.outer_ids:  # a view of an array from outside
                reason = "a view of it, made in a loop or branch, may be held afterwards"
                if entry_read(env.body, value.id):  # `y[i - 1] if i > 0 else 1.0`: a number
                    reason = Checkable(reason, [(env.body, value, lw.graph, item.id)])
                for key in ((lw.graph, env.outer_ids[base]), (lw.graph, item.id)):
                    held = memory.unsure.get(key)
                    if isinstance(held, Checkable) and isinstance(reason, Checkable):
                        held.checks += reason.checks
                    else:
                        memory.mark_unsure(*key, reason)


class Checkable(str):
    """Why a value is unsure (`Memory.unsure`) where a check when the module runs can make it
    sure: the entries read by ints that a branch or loop gave out (of a vector numbers, of a
    matrix rows: views), which an update of their array in place makes `checked_entry`s."""

    def __new__(cls, text: str, checks: list):
        made = super().__new__(cls, text)
        made.checks = checks
        return made


def unsure(lw: _Lowerer, nid: int, new: Value) -> str | None:
    """Why an update of nid in place (to `new`) is refused (`Memory.unsure`), None where nothing
    is, or where checking, when the module runs, the entries a branch or loop gave out
    suffices: those a name or a container still holds, or a statement being lowered may read
    after the update (`(A[0] if c else x) + incr(A)`), are checked from now on; one that only
    what the update writes reads (`y[i] = x[i] + (y[i - 1] if i else 0.0)`) is read before it,
    as NumPy reads it (a value in an expression has one reader, its enclosing expression)."""
    graph = lw.graph
    reason = lw.memory.unsure.get((graph, nid))
    if not isinstance(reason, Checkable):
        return reason
    for body, value, home, item in reason.checks:
        if home is graph:
            readers = set(graph.users(item))
            read = bool(readers) and readers <= graph.ancestors_of([new.id]) | {new.id}
            pending = any(s.graph is graph and item >= s.stmt_first for s in _scopes(lw))
            kept = _holding(lw, {item}, None) or pending and not read
        else:  # (an update in a loop or branch after the one that gave it out: checked)
            kept = True
        if kept:
            checked_entry(body, value)
    return None


def checked_entry(graph: Graph, value: Value, what: str | None = None) -> None:
    """Read `value`, an entry read by ints (`entry_read`), as the number it is of a vector:
    the module checks, when it runs, that it is one (of a matrix it is a row, a view, which
    would see a later change of its array: `symgrad.rules.runtime._check_entry`), once. The
    check's message names it by `what`, or by its array's name and its line."""
    if any(graph[c].op == "check_entry" and graph[c].inputs[0] == value.id for c in graph.checks):
        return
    node = graph[value.id]
    loc = node.loc
    if what is None:
        base = graph[base_of(graph, value.id)]
        what = f"{base.name}[...]" if base.name else "an entry read"
        what += f" ({where_in(loc)})"
    index = [Value(i) for i in node.inputs[1:]] if node.op == "getitem" else []
    check = add_bound(graph, RULES["check_entry"], {"v": value, "index": index, "what": what}, loc)
    graph.checks.append(check)


def _checked_apart(lw: _Lowerer, param: int, what: str) -> None:
    """An argument the function may change in place (`x += v`: an ndarray's update, which
    symgrad makes a new value): the module checks, when it runs, that no other argument
    shares its memory (`f(a, a)`), whose value Python's update would change too, once."""
    graph = lw.graph
    others = [Value(p) for p in graph.params if p != param]  # (none yet: `apart_from_later`)
    if any(graph[c].op == "check_apart" and graph[c].inputs[0] == param for c in graph.checks):
        return
    values = {"x": Value(param), "others": others, "what": what}
    graph.checks.append(add_bound(graph, RULES["check_apart"], values, graph[param].loc))


def apart_from_later(graph: Graph) -> None:
    """Each argument changed in place (`_checked_apart`) checked apart from the params made
    after its check too: the arrays read from outside that the function reads after the
    change (`x += 1.0; ... L[0] @ x` of a global list holding x), once lowering is done."""
    for c in list(graph.checks):
        node = graph[c]
        if node.op != "check_apart":
            continue
        later = [Value(p) for p in graph.params if p not in node.inputs]
        if later:
            values = {"x": Value(node.inputs[0]), "others": later, "what": node.attrs["what"]}
            graph.checks.append(add_bound(graph, RULES["check_apart"], values, node.loc))
        if len(node.inputs) == 1:  # (of no other param: checks nothing)
            graph.checks.remove(c)


def checked_in_blocks(lw: _Lowerer) -> None:
    """An argument changed in place (`x += v`) inside a loop or an if, where the value
    `augmented` sees is the body's own: checked apart from the other arguments as at the top
    level (`_checked_apart`), from the function's start."""
    graph = lw.graph
    params = {graph[p].name: p for p in graph.params}
    for stmt in lw.src.tree.body:
        if not isinstance(stmt, (ast.For, ast.While, ast.If)):
            continue
        for node in ast.walk(stmt):
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                name = node.target.id
                held = dict.get(lw.env, name)
                if name in params and isinstance(held, Value) and held.id == params[name]:
                    op = AUG_SPELLING.get(type(node.op), "")
                    where = where_in(lw.src.locate(node))
                    _checked_apart(lw, params[name], f"`{name} {op}= ...` ({where})")


AUG_SPELLING = {  # an augmented assignment's operator, as its message spells it
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.FloorDiv: "//",
    ast.Mod: "%",
}


def where_in(loc) -> str:
    return f"line {loc.line} of {os.path.basename(loc.file)}" if loc else "the function"


def _unbind_what_it_may_be(lw: _Lowerer, old: Value, name: str, line: int) -> None:
    """Before `name`'s array `old` changes in place: the names holding an array it may be
    (`Memory.may_be`: the array a loop's name held before it, if it ran no iteration, or
    another loop result that may be that array too), the array that one is a view of, or a
    view of those, cannot be read afterwards."""
    may_be = lw.memory.may_be
    for (graph, first), (second, why) in list(may_be.items()):
        if graph is not lw.graph or old.id not in (first, second):
            continue
        other = second if old.id == first else first
        others = {other} | {  # other loop results that may be that array too
            v for (g, v), (w, _) in may_be.items() if g is graph and w == second and v != old.id
        }
        ids = set()
        for base in others | {b for o in others for b in bases_of(lw.graph, o)}:
            ids |= {base} | views_of(lw.graph, base)  # `r = y[1]`: y changes with r
        for env, k in _holding(lw, ids, name):
            dict.__setitem__(
                env, k, Unbound(f"may be {what(name)}, {why}, and line {line} changed it")
            )


def base_of(graph: Graph, nid: int) -> int:
    """The array a view reads (through views of views), or the value itself."""
    node = graph[nid]
    while node.op in RULES and RULES[node.op].is_view(node.attrs) and node.inputs:
        node = graph[node.inputs[0]]
    return node.id


def bases_of(graph: Graph, nid: int, seen: set | None = None) -> set[int]:
    """The values of graph that nid may be or view: `base_of`, and for a loop's or a branch's
    result, also what its initial value and its body's (or branches') value may be, mapped
    out through the params (`x = y[0]` in a nested loop: y, from outside it)."""
    seen = set() if seen is None else seen
    base = base_of(graph, nid)
    out = {base}
    node = graph[base]
    if node.op != "item" or (id(graph), base) in seen:
        return out
    seen.add((id(graph), base))
    src, k = graph[node.inputs[0]], node.attrs["index"]
    if src.op in ("loop", "while") and k < Loop(src).k:
        loop = Loop(src)
        operands = [src.inputs[i] for i in loop.operand_inputs]
        body, params = loop.body, loop.operand_params
        out |= bases_of(graph, operands[k], seen)
        for b in _params_among(body, bases_of(body, body.outputs[k], seen)):
            j = params.index(b) if b in params else -1
            if j >= 0:  # a carried or captured value: its operand, and for
                out |= bases_of(graph, operands[j], seen)  # a carried one, what it becomes
                if j < loop.k and j != k:
                    for item in _items(graph, src.id, j):
                        out |= bases_of(graph, item, seen)
    elif src.op == "cond":
        for branch, ps in zip(src.attrs["branches"], src.attrs["params"]):
            if k < len(branch.outputs):
                inner = bases_of(branch, branch.outputs[k], seen)
                for b in _params_among(branch, inner):
                    out |= bases_of(graph, src.inputs[1 + ps[branch.params.index(b)]], seen)
                for j in {j for j, o in enumerate(branch.outputs) if o in inner and j != k}:
                    for item in _items(graph, src.id, j):  # (another output it views)
                        out |= bases_of(graph, item, seen)
    return out


def _items(graph: Graph, nid: int, k: int) -> list[int]:
    """The `item` nodes reading output k of node nid (a loop's or a branch's)."""
    return [u for u in graph.users(nid) if graph[u].op == "item" and graph[u].attrs["index"] == k]


def _params_among(graph: Graph, ids: set[int]) -> list[int]:
    return [i for i in ids if graph[i].op == "param"]


def iterated(lw: _Lowerer, nid: int) -> str | None:
    """Why changing the array `nid` in place is refused when a loop goes over its rows (or over
    the array a view of it reads): Python's loop would read the changed rows."""
    for level, at in _levels(lw, nid):
        reason = lw.memory.iterated.get((level.graph, base_of(level.graph, at)))
        if reason is not None:
            return reason
    return None


def _levels(lw: _Lowerer, nid: int):
    """(lowerer, value id) of the array `nid` in this scope and in each enclosing one, as far
    out as it (or the array it is a view of) comes from: through the params of loop bodies and
    branches."""
    while lw is not None:
        yield lw, nid
        nid = base_of(lw.graph, nid)
        while lw.parent is not None:  # the callers of an inlined function: the same graph
            lw = lw.parent
        env = lw.env
        if not isinstance(env, BodyEnv):
            return
        nid = env.outer_ids.get(nid, env.slot_inits.get(nid))
        if nid is None:
            return
        lw = lw.enclosing


def _from_outside(lw: _Lowerer, nid: int) -> str | None:
    """Why an update in place of the array nid is refused where it is one the function reads
    from outside (a global's, a closure's: `b = G; b += 1.0`), which Python's update changes
    for every later call and the emitted code, computing a new value, would not; else None."""
    for level, at in _levels(lw, nid):  # (a helper's parameter too: `bump(G)`)
        node = level.graph[base_of(level.graph, at)]
        if node.op == "param" and "free" in node.attrs:
            where = free_origin(node.attrs["free"], node.name)
            return f"it may be {where}, read from outside the function, which would change"
    return None


def _entry_it_starts_as(lw: _Lowerer, nid: int) -> tuple | None:
    """(graph, value) of the entry read by ints (`entry_read`: `b[i]`) that nid is, itself or
    as the value a loop carries from it, where it is one."""
    for level, at in _levels(lw, nid):
        node = level.graph[at]
        if node.op != "param":
            return (level.graph, Value(at)) if entry_read(level.graph, at) else None
    return None


def _outside(lw: _Lowerer, nid: int, place: tuple | None) -> list[str]:
    """Names of enclosing scopes holding the array `nid` (in a tuple or list too), the array it
    views or a view of it, or the array it may be (`Memory.may_be`), other than the names this
    scope binds to it: an update in place here would reach them (a name read here as a value
    of its own would not see it either). Names of this function that nothing reads after the
    update at `place` (`liveness.read_after`: `x, v = x0, v0` before a loop updating v, x0 and
    v0 read no more) are left out: in place or not, what the function reads is the same."""
    here = {nid, base_of(lw.graph, nid)} | views_of(lw.graph, base_of(lw.graph, nid))
    seen = {k for _, k in _holding(lw, here, None)}  # names this scope's updates reach
    found = []
    for level, at in list(_levels(lw, nid))[1:]:
        base = base_of(level.graph, at)
        ids = {at, base} | views_of(level.graph, base)
        may = lw.memory.may_be.get((level.graph, at))  # a loop's result: its initial array
        if may is not None:
            other = base_of(level.graph, may[0])
            ids |= {may[0], other} | views_of(level.graph, other)
        holding = [k for _, k in _holding(level, ids, None)]
        mine = level.src.tree is lw.src.tree  # (this function's: its reads are known; of a
        callers = not _differentiated(lw)  # helper, its caller reads what its params hold)
        read = [k for k in holding if not mine or read_after(lw.src.tree, k, place, callers)]
        found += [k for k in read if k not in seen]
        seen |= set(holding)
    return found


def _differentiated(lw: _Lowerer) -> bool:
    """Whether lw lowers the function differentiated (a scope of it: its arguments are the
    caller's, which the emitted code never changes), not a helper it calls."""
    while lw.enclosing is not None:
        lw = lw.enclosing
    return lw.parent is None


def _argument_apart(lw: _Lowerer, nid: int, what: str) -> None:
    """Where the array nid is, in the function differentiated, one of its arguments (through
    the enclosing scopes of loops and branches), checked apart from the others when the module
    runs (`_checked_apart`): an update in place through another name changes it."""
    for level, at in _levels(lw, nid):
        base = base_of(level.graph, at)
        top = level.parent is None and level.enclosing is None
        if top and level.graph[base].op == "param":
            _checked_apart(level, base, what)


def views_of(graph: Graph, nid: int) -> set[int]:
    """Values that may share memory with nid: views of it, and views of those."""
    out: set[int] = set()
    stack = [nid]
    while stack:
        for user in graph.users(stack.pop()):
            node = graph[user]
            if user not in out and node.op in RULES and RULES[node.op].is_view(node.attrs):
                if node.inputs[:1] and node.inputs[0] in (nid, *out):
                    out.add(user)
                    stack.append(user)
    return out


def entry_read(graph: Graph, nid: int) -> bool:
    """Whether nid reads entries by ints or arrays of them (`y[i]`, `y[idx]`): of a vector a
    number, or an index array's copy (of a matrix, `A[0]` would be a row, a view: symgrad
    reads it as the copy it is of a vector); or by an empty index, `s[()]`: of a 0-d array
    a number (of one with axes, the whole array's view)."""
    node = graph[nid]
    if node.op != "getitem" or "index" not in node.attrs:
        return False
    index = node.attrs["index"]
    return all(type(it) is int or isinstance(it, Dyn) for it in index)


def array_kind(graph: Graph, nid: int, memory: Memory) -> str | None:
    """What the value is known to be without running: "axes" (an ndarray with an axis),
    "array" (an ndarray, maybe 0-d: `+=` on it is in place too) or None (maybe a number), from
    its rule's `ndarray` fact, an elementwise rule's operands, or a body param's outer value."""
    node = graph[nid]
    if node.op == "param" or (graph, nid) in memory.kinds:  # (an update in place: its array's)
        return memory.kinds.get((graph, nid))
    rule = RULES.get(node.op)
    first = graph[node.inputs[0]] if node.inputs else None
    if rule is None:
        return None
    if rule.ndarray == "axes" or rule.ndarray == "shape" and _has_an_axis(first):
        return "axes"
    if rule.ndarray == "like" and array_kind(graph, first.id, memory) == "axes":
        return "axes"
    if rule.ndarray is not None:
        return "array"
    if (rule.shape == "elementwise" or rule.itself) and any(
        array_kind(graph, i, memory) == "axes" for i in node.inputs
    ):
        return "axes"
    return None


def _has_an_axis(shape) -> bool:
    """Whether a shape argument (a node) has an axis: an int, or a tuple of at least one."""
    if shape is None:
        return False
    if shape.op == "const":
        value = shape.attrs["value"]
        return isinstance(value, int) or isinstance(value, (tuple, list)) and len(value) > 0
    return shape.op in ("make_tuple", "make_list", "len") and len(shape.inputs) > 0
