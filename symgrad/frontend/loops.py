"""Lowering loops: a `for` loop becomes one `loop` node owning its body's graph.

A loop goes over `range(...)`, the rows of an array (`for row in X`) or of a list a loop filled,
`enumerate(X)`, `zip(X, Y)` or `enumerate(zip(X, Y))` (an index loop reading row k of each; as
many steps as the shortest), or a tuple or list the source spells out (`for w in (W1, W2)`:
its length is part of the source, so the body is lowered once per element).

Contract: `lower_for(lowerer, stmt)` lowers the body once, into a graph of its own whose params
are the loop index, the carried variables (assigned in the body and bound before the loop: their
values flow from one iteration to the next) and the captured values (read in the body, bound
before it, never assigned there), and whose outputs are the carried variables' next values. The
enclosing graph gets a `loop` node and one `item` per carried variable, rebound to its final
value, so the emitted code is a loop whatever the trip count. Variables holding one array are
carried once, with every name holding it, and the body is lowered again where it changes an
array that names it does not carry hold (`symgrad.frontend.carried`). A
name first bound inside the loop (a target too) that code after it reads is stacked, step by
step, and holds its last row after the loop (`_lasts`), as Python's holds the last step's.

A loop whose first step binds what the next steps read (`if t == 0: h = ...`, or a name
bound to None before it) has that step lowered on its own before it (`_first_step`), and a
test of its index that its range decides (`t == 0` from its second step) is known in its body
(`lower._counted`).

`break` and `continue` are rewritten first (`symgrad.frontend.jumps`). A body that can break
has one more output, last: whether to leave the loop after this iteration (attribute `breaks`
on the node); the carried outputs are then the values at the break. A `while True:` needs one.
"""

from __future__ import annotations

import ast
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from symgrad import tree
from symgrad.errors import SymgradError, UnsupportedSyntaxError
from symgrad.frontend import aliases, carried, liveness, raises
from symgrad.frontend.aliases import BodyEnv
from symgrad.frontend.jumps import FLAGS, STOP, desugar
from symgrad.frontend.local_functions import LocalFunction
from symgrad.frontend.source import own_nodes
from symgrad.frontend.subscripts import getitem
from symgrad.frontend.values import Stacked, Unbound, is_const, is_number
from symgrad.ir import Graph
from symgrad.rules import Value
from symgrad.rules.build import needs_constant, python_ints

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer


class Appender:
    """A list bound to `[]` before a loop whose body appends one value to it per iteration: a
    stacked output of the loop (as `ys` of JAX's scan). After the loop the name holds a
    `Stacked` value."""

    def __init__(self, name: str, graph: Graph):
        self.name, self.graph, self.value = name, graph, None
        self.front: bool | None = None  # whether each step's value goes first (`xs.insert(0,
        # v)`: the rows reversed after the loop, the discounted returns of RL code)

    def append(self, lw: _Lowerer, value: Any, e: ast.AST, front: bool = False) -> None:
        """The step's value appended (`front`: inserted first); in a branch of an if
        (`lw.branch`), the value that branch appends, which the if gives out
        (`branches.lower_if`): every branch appending once appends once per step."""
        if self.front is not None and self.front != front:
            raise lw.error(
                e,
                f"the loop both appends to {self.name} and inserts into it at 0",
                "Fill it one way, and reverse it after the loop where needed.",
                cls=UnsupportedSyntaxError,
            )
        self.front = front
        hidden = appended_in_branch(self.name)
        if lw.branch and self.name not in lw.src.lists and not dict.__contains__(lw.env, hidden):
            dict.__setitem__(lw.env, hidden, value)
            return
        if lw.graph is not self.graph or self.value is not None:
            if self.name in lw.src.lists:  # a comprehension's: an if or a second for
                raise lw.error(
                    e,
                    "a list comprehension, or min() or max() of a generator, with an if "
                    "clause or several for clauses is not supported (sum() of one is)",
                    "Select with np.where, nest one comprehension in another, or write the "
                    "loop with a running total.",
                    cls=UnsupportedSyntaxError,
                )
            raise lw.error(
                e,
                f"{self.name}.append must run exactly once in every iteration",
                "Append at the top level of the loop body, once.",
                cls=UnsupportedSyntaxError,
            )
        self.value = value.value if isinstance(value, Stacked) else value  # (a list's rows)


def appended_in_branch(name: str) -> str:
    """The name (no source's) of what a branch of an if appends to a loop's list `name`."""
    return f"<{name}.append>"


@dataclass(frozen=True)
class AppendTo:
    """`xs.append` (or `xs.insert`, of index 0), waiting to be called."""

    appender: Appender
    method: str = "append"


def holds_items(lw: _Lowerer, xs: Stacked, e: ast.AST) -> Value:
    """A list a loop filled, as a truth (`if xs:`, `bool(xs)`): whether it holds an item."""
    return lw.call_rule("greater", (lw.call_rule("len", (xs.value,), {}, e), 0), {}, e)


def appended_names(stmts: list[ast.stmt]) -> list[str]:
    """Names `xs` of the `xs.append(...)` calls in a block, in order (and of `xs.insert(0,
    ...)`: a value per step too, first)."""
    out: dict[str, None] = {}
    for stmt in stmts:
        for node in ast.walk(stmt):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
            ):
                continue
            first = node.args[0] if node.args else None
            at_0 = isinstance(first, ast.Constant) and type(first.value) is int and not first.value
            if node.func.attr == "append" or node.func.attr == "insert" and at_0:
                out.setdefault(node.func.value.id)
    return list(out)


def assigned_names(stmts: list[ast.stmt]) -> list[str]:
    """Names a block binds, in order of first binding (loop targets included)."""
    out: dict[str, None] = {}
    for stmt in stmts:
        for node in own_nodes(stmt):  # (not a nested def's own names)
            targets = []
            if isinstance(node, ast.FunctionDef):
                out.setdefault(node.name)
            elif isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For)):
                targets = [node.target]
            for t in targets:
                for name in _bound_by(t):
                    out.setdefault(name)
    return list(out)


def _bound_by(target: ast.expr):
    """The names an assignment target binds: the name itself, each of a tuple's or list's,
    and the array an element assignment changes (`y` of `y[i] = v`), but not the names its
    index reads (`i`, `np` of `y[np.array(...)] = v`)."""
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for item in target.elts:
            yield from _bound_by(item)
    elif isinstance(target, (ast.Starred, ast.Subscript, ast.Attribute)):
        yield from _bound_by(target.value)


def lower_for(lw: _Lowerer, s: ast.For) -> None:
    it = _Iteration(lw, s)
    if it.static is not None:  # a tuple or list the source spells out: one body per element
        _lower_unrolled(lw, s, it.static)
        return
    targets = assigned_names([ast.Assign([s.target], ast.Constant(0))])
    if not _first_step(lw, s, it, targets):
        _lower_loop(lw, s, "loop", it, targets)


def _first_step(lw: _Lowerer, s: ast.For, it: _Iteration, targets: list[str]) -> bool:
    """A loop whose body reads a name before it binds it, bound by no code before the loop (an
    RNN's `if t == 0: h = np.tanh(x[0])` / `else: h = np.tanh(W @ h + x[t])`), or binds one
    that holds None before it (`prev = None`, `if prev is not None: ...`, `prev = h`): its
    first step lowered before it, the body once with the first index (a test of the index,
    or of None, known there), binding the names for the steps after it, then the loop from
    its second step, after which its target is its last index's, as Python's (True: lowered
    so). Where the loop's length is known only when the function runs, a check before the
    first step raises a SymgradError where it is 0 (Python's would run no step). Not where
    the body breaks, or a range's step is not a constant (False): there the read is refused,
    as any read of a name before its binding."""
    first = _read_first(lw, s, targets)
    start, stop, step = it.bounds
    if not first or type(step) is not int:
        return False
    stmts, breaks = desugar(s.body)
    if breaks or type(start) is type(stop) is int and not range(start, stop, step):
        return False
    if type(start) is not int or type(stop) is not int:
        empty = lw.call_rule("less_equal" if step > 0 else "greater_equal", (stop, start), {}, s)
        _runs_a_step(lw, s, empty, first)
    with _flags_kept(lw):
        it.bind_step(start)
        lw.block(stmts)
    after = _plus(lw, start, step, s)
    if type(stop) is int and type(after) is int and not range(after, stop, step):
        return True
    it.bounds = (after, stop, step)
    _lower_loop(lw, s, "loop", it, targets)
    inward = -1 if step > 0 else 1  # (the last index: start + (stop - start - 1) // step * step)
    span = _plus(lw, lw.binop(ast.Sub(), stop, start, s), inward, s)
    steps = lw.binop(ast.FloorDiv(), span, step, s)
    it.bind_step(_plus(lw, start, lw.binop(ast.Mult(), steps, step, s), s))
    return True


def _plus(lw: _Lowerer, a: Any, b: Any, s: ast.stmt) -> Any:
    return a + b if type(a) is type(b) is int else lw.binop(ast.Add(), a, b, s)


def _read_first(lw: _Lowerer, s: ast.For | ast.While, targets: list[str]) -> list[str]:
    """The names a loop's steps bind (not its targets) that a step reads before binding and
    no code before the loop bound, or that hold None before it."""
    binds = [n for n in assigned_names(s.body) if n not in targets]  # (each step binds those)
    first = [n for n in binds if not _bound(lw, n) and liveness.read_first(s.body, n)]
    return first + [n for n in binds if _bound(lw, n) and lw.env[n] is None]


def _runs_a_step(lw: _Lowerer, s: ast.stmt, empty: Any, first: list[str]) -> None:
    """A check raising where `empty` (a loop whose first step is lowered on its own runs
    none), as Python's loop would run no step."""
    said = f"symgrad: the loop on line {s.lineno} ran no step, and symgrad runs its first "
    said += f"step on its own (it binds {first[0]}, which the next steps read)"
    raises.check(lw, s, empty, ValueError, (said,))


def lower_while(lw: _Lowerer, s: ast.While) -> None:
    """A while loop, its first step lowered on its own before it where a step reads what an
    earlier one binds (`h = None`, then `if h is None:` in the body), as `_first_step` a for
    loop's, the loop's test checked true before it where it is known only when it runs."""
    first = _read_first(lw, s, [])
    stmts, breaks = desugar(s.body) if first else ([], True)
    if first and not breaks and not s.orelse:
        stops = lw.expr(ast.copy_location(ast.UnaryOp(ast.Not(), s.test), s.test))
        if not is_const(stops):
            _runs_a_step(lw, s, stops, first)
        if not is_const(stops) or not stops:
            with _flags_kept(lw):
                lw.block(stmts)
    _lower_loop(lw, s, "while", None, [])


def _lower_loop(lw: _Lowerer, s, op: str, it: _Iteration | None, targets: list[str]) -> None:
    """A `loop` (`it` gives its range and its names) or `while` node for statement s. The body
    is lowered again (a few times at most) while it changes arrays held by names it does not
    carry, or names it carries as one array part ways without changing it."""
    again = carried.Again([], set(), {})
    bound = [n for n in targets if _bound(lw, n)]  # (a target bound before: its message)
    skip = {*targets, *appended_names(s.body)}
    held = carried.containers(lw, assigned_names(s.body), skip)  # `state = (h, c)`
    while True:
        more = _lower_loop_once(lw, s, op, it, targets, again, bound, held)
        if not more:
            break
        again.carry += [n for n in more.carry if n not in again.carry]
        again.apart |= more.apart
        again.numbers |= more.numbers
        again.unowned |= more.unowned
        again.unbound.update(more.unbound)
    for name, c in held.items():  # the container of the leaves' values after the loop
        lw.env[name] = lw.made(c.value(lw.env)) if c.mutable else c.value(lw.env)
        for leaf in c.leaves:
            dict.pop(lw.env, leaf)


def _bound(lw, name: str) -> bool:
    """Whether a name is bound to a value that reading it gives (not an `Unbound`)."""
    try:
        return not isinstance(lw.env[name], Unbound)
    except KeyError:
        return False


def _lower_loop_once(
    lw, s, op: str, it, targets: list[str], again: carried.Again, bound=(), held=None
) -> carried.Again | None:
    loc = lw.src.locate(s)
    stmts, breaks = desugar(s.body)
    held = held or {}
    names = [n for n in assigned_names(s.body) if n not in held]
    names += [leaf for c in held.values() for leaf in c.leaves]
    kept = [  # the names whose values flow from one iteration to the next
        n
        for n in names
        if n in lw.env
        and n not in targets
        and n not in again.unbound
        and not isinstance(lw.env[n], Unbound)  # bound only by an earlier loop: local here
    ]
    kept += [n for n in again.carry if n not in kept]
    slots = carried.slots(lw, s, kept, again, aliases.may_update(s.body))
    stacked = [n for n in appended_names(s.body) if n in lw.env and _fillable(lw.env[n])]
    before = {n: lw.env[n] for n in stacked}  # what each list holds before the loop
    for name in stacked:
        _refuse_held(lw, s, name, before[name])
        _hold_items(lw, name, before[name], loc)
    captured: list[tuple[str, int]] = []
    attrs: dict = {"n_carried": len(slots), "n_stacked": len(stacked)}
    read = [n.id for n in ast.walk(s.test) if isinstance(n, ast.Name)] if op == "while" else []
    for name in stacked:  # (lowered once, the test would read the list as it is before)
        if name in read:
            raise lw.error(
                s.test,
                f"the condition reads {name}, which the loop appends to: symgrad stacks what "
                "a loop appends, and a test of it would not see it grow",
                f"Count the iterations in a variable of their own (n = n + 1) and test that, "
                f"or loop a known number of times: for _ in range(...): {name}.append(...).",
                cls=UnsupportedSyntaxError,
            )
    if op == "while":
        attrs["cond"] = _condition_graph(lw, s, slots, captured, breaks, held)
    body = Graph(f"{lw.graph.name}.{op}", lw.graph.file, s.lineno)
    env = BodyEnv(lw, body, [])
    index = Value(body.param(it.index_name, loc)) if it is not None else None
    params = [env.param(slot.spelt, slot.value, loc) for slot in slots]
    for slot, param in zip(slots, params):
        env.bind_group(slot.names, param)
        if isinstance(slot.value, Value):
            env.slot_inits[param.id] = slot.value.id
        if slot.names[0] in again.numbers:
            lw.memory.kinds[(body, param.id)] = None
        if slot.names[0] in again.unowned:
            body[param.id].attrs["owned"] = False
    for name, unbound in again.unbound.items():
        dict.__setitem__(env, name, unbound)
    for name, c in held.items():
        c.bind(lw, env, body, name)
    for name, nid in captured:  # the condition's captured values come first, in its order
        env.capture(name, Value(nid))
    appenders = [Appender(name, body) for name in stacked]
    for a in appenders:
        dict.__setitem__(env, a.name, a)
    child = lw.scope(body, env)
    rows = [(lw.graph, q.id) for q in it.sequences] if it is not None else []
    for key in rows:  # changing them in place would change the rows the loop reads
        lw.memory.iterated[key] = f"the loop on line {loc.line} goes over its rows"
    try:
        if it is not None:
            it.bind_targets(child, env, index)
        child.block(stmts)
    finally:
        for key in rows:
            lw.memory.iterated.pop(key, None)
    for a in appenders:
        if a.value is None:
            raise lw.error(
                s,
                f"the loop appends to {a.name} in some steps only: a list a loop fills gets one "
                "item in every iteration",
                "Append once in each branch of the if, or once after it.",
                cls=UnsupportedSyntaxError,
            )
        if isinstance(a.value, (tuple, list, dict)) and not is_const(a.value):
            kind = type(a.value).__name__  # (a comprehension's item: its `items` list)
            raise lw.error(
                s,
                f"a loop that fills a list appends arrays and numbers; this one appends a {kind}",
                f"Fill a list per item of the {kind} (hs.append(h); cs.append(c)), or stack "
                "them into one array per step.",
                cls=UnsupportedSyntaxError,
            )
    carried.unpack(lw, s, env, held)
    more = carried.check_body(lw, s, env, slots, params, again)
    if more:
        return more
    carried.refuse_appended_and_updated(lw, s, body, env, slots, params, appenders)
    finals = [dict.__getitem__(env, slot.names[0]) for slot in slots]
    carried.refuse_changed_then_dropped(lw, s, body, slots, params, finals)
    carried.refuse_views_changed_next(lw, s, body, slots, params, finals)
    skip = set(kept) | set(bound) | set(again.unbound)
    lasts, held_after = _lasts(lw, s, env, targets + names, skip, index, finals)
    outs = finals + [a.value for a in appenders] + list(lasts.values())
    attrs["n_stacked"] += len(lasts)
    stop = dict.__getitem__(env, STOP) if breaks else False
    if op == "while" and not isinstance(stop, Value) and not stop:
        cond = attrs["cond"]
        if cond[cond.outputs[0]].op == "const":
            raise lw.error(
                s.test,
                "this while loop never ends: its condition is always true and no break can run",
                "Leave the loop with a break (while True: ... if converged: break).",
                cls=UnsupportedSyntaxError,
            )
    if isinstance(stop, Value) or stop:  # the body's last output: whether to leave the loop
        outs.append(stop)
        attrs["breaks"] = True
    for v in outs:
        if isinstance(v, LocalFunction) or callable(v) and not isinstance(v, Value):
            raise lw.error(  # (`fs.append(lambda v: v * k)`)
                s,
                f"this loop carries or appends a function ({getattr(v, 'name', v)}): the "
                "values a loop carries from step to step, or appends to a list, are arrays and "
                "numbers",
                "Call the function inside the loop and keep its value: ys.append(f(x)).",
                cls=UnsupportedSyntaxError,
            )
        if tree.is_tree(v) and not isinstance(v, (tuple, list, dict)):  # (`ps.append(P(w))`)
            raise lw.error(
                s,
                f"this loop carries or appends a {type(v).__name__} object: the values a loop "
                "carries from step to step, or appends to a list, are arrays and numbers",
                "Keep its arrays in lists of their own (ws.append(w)) and make the objects "
                "after the loop, or carry the object's arrays by name.",
                cls=UnsupportedSyntaxError,
            )
    body.outputs = [child.as_node(body, v, loc) for v in outs]
    if op == "while":  # the condition takes every value the body captured too
        for name, _ in env.captured[len(captured) :]:
            attrs["cond"].param(name, loc)
    bounds = [lw.as_node(lw.graph, b, loc) for b in it.bounds] if it is not None else []
    inits = [lw.as_node(lw.graph, slot.value, loc) for slot in slots]
    operands = inits + [nid for _, nid in env.captured]
    attrs.update(n_operands=len(operands), body=body)
    loop = lw.graph.add(op, [*bounds, *operands], attrs, loc)
    _views_carried_across_updates(lw, s, body, slots, params, finals)
    items = []
    for k, slot in enumerate(slots):
        item = Value(lw.graph.add("item", (loop,), {"index": k}, loc, name=slot.spelt))
        items.append(item)
        if isinstance(slot.value, Value) and lw.memory.was_changed(body, params[k].id, True):
            lw.memory.maybe.add(lw.memory.first(lw.graph, slot.value.id))  # the first iteration's
        if carried.changed_in_place(lw.memory, body, params[k], finals[k]):
            aliases.update(lw, slot.value, item, s, slot.names[0])
        elif isinstance(finals[k], Value) and finals[k].id == params[k].id:
            item = slot.value  # every iteration gives the array back: the one from before
        elif isinstance(slot.value, Value):
            why = f"before the loop on line {loc.line} (if it ran no iteration)"
            lw.memory.may_be[(lw.graph, item.id)] = (slot.value.id, why)
        for name in slot.names:
            lw.env[name] = item
    for slot, final in zip(slots, finals):  # a list whose last item is the loop's result
        last = carried.object_of(lw.memory, body, final)
        result = lw.env[slot.names[0]]
        for a in appenders:
            if last is not None and carried.object_of(lw.memory, body, a.value) == last:
                if isinstance(result, Value):
                    lw.memory.appended[lw.memory.first(lw.graph, result.id)] = a.name
    shared = carried.list_items_are_arrays(lw, env, appenders, slots, params, items, loc)
    aliases.carry_out_unsure(lw, env, zip(finals, items))
    carried.mark_unsure(lw, s, env, slots, params, finals, items)
    for j, name in enumerate(stacked):
        item = lw.graph.add("item", (loop,), {"index": len(slots) + j}, loc, name=name)
        front = any(a.front for a in appenders if a.name == name)
        value = _after_items(lw, before[name], Value(item), s, front)
        lw.env[name] = Stacked(value, name, shared.get(name) or _held(before[name], name, loc))
    for j, (name, value) in enumerate(lasts.items()):  # its value in each step: the last one's
        at = {"index": len(slots) + len(stacked) + j}
        steps = Value(lw.graph.add("item", (loop,), at, loc, name=f"{name}_steps"))
        none = lw.call_rule("equal", (lw.call_rule("len", (steps,), {}, s), 0), {}, s)
        said = f"symgrad: {name} is read after the loop on line {loc.line}, which ran no step "
        said += "(symgrad reads a name a loop binds where the loop ends)"  # (not NumPy's -1)
        raises.check(lw, s, none, ValueError, (said,))
        last = getitem(lw, steps, -1, s)
        lw.memory.lasts.add((lw.graph, last.id))
        counted = index is not None and isinstance(value, Value) and value.id == index.id
        lw.env[name] = lw.call_rule("int", (last,), {}, s) if counted else last  # (Python's int)
    for name, unbound in again.unbound.items():
        lw.env[name] = unbound
    for name in targets + names:
        if name in lasts:
            continue
        if name in bound and name not in kept and name not in again.unbound:
            lw.env[name] = Unbound(
                f"is the target of the loop on line {loc.line}, whose last value symgrad does not "
                "keep after the loop (Python's is the last step's, or the value from before "
                "where the loop runs no step)",
                f"Keep it in a name of your own in the loop ({name}_last = {name}, bound before "
                "the loop too), and read that.",
            )
        elif name in held_after and (env.body, held_after[name]) in lw.memory.lasts:
            lw.env[name] = Unbound(
                f"is bound only inside the loop on line {loc.line}, in a loop nested in it, "
                "where symgrad reads it as that loop's last step's value, which a loop of no "
                "step (the last `for j in range(i + 1, n)`) does not give",
                f"Bind {name} before the loops ({name} = 0.0), so that it has a value whichever "
                "way they run.",
            )
        elif name in held_after:
            lw.env[name] = Unbound(
                f"is bound only inside the loop on line {loc.line}, to what may be an array "
                "something else holds after it too (a row or a view of an array, or one the "
                "loop carries: of a vector, a number), which a change in place after the loop "
                "would reach",
                f"Bind a copy in the loop ({name} = {name}.copy()), or bind {name} before it.",
            )
        elif name not in kept and name not in again.unbound:
            lw.env[name] = Unbound(f"is bound only inside the loop on line {loc.line}")
    return None


def _views_carried_across_updates(lw: _Lowerer, s, body: Graph, slots, params, finals) -> None:
    """A carried name holding a view of an array the loop changes in place (or, by `+=`, may:
    of a number, rebound) where a step may change it (`liveness.held_at`: not bound again
    before the change in that step): a view from before the loop (`r = A[0]` before it,
    `A[0] = ...` in it), or one a step ends with for the next (`r = A[0]` at a step's end, in
    a branch too: `aliases.bases_of`). Python's name sees the change, the body's param
    for it does not. An entry read by ints (of a vector a number, of a matrix a row) is
    checked, when the module runs, to be a number (`aliases.checked_entry`); another view (a
    slice) is refused. An RNN's `h = H[0]`, `h = np.tanh(W @ h + x[t])`, `H[t + 1] = h` binds h
    again before each change: nothing to check."""
    memory = lw.memory
    for k, slot in enumerate(slots):
        if not (isinstance(slot.value, Value) and isinstance(finals[k], Value)):
            continue
        if not memory.was_changed(body, params[k].id, True):  # (or, of a number, rebound)
            continue
        outer = aliases.views_of(lw.graph, slot.value.id)
        ends = {params[k].id, finals[k].id}
        places = memory.updated_at.get(memory.first(body, params[k].id)) or _changes(s, slot)
        innermost = [
            w for w in places if not any(v is not w and liveness.contains(w, v) for v in places)
        ]
        for j, other in enumerate(slots):
            init, final = other.value, finals[j]
            before = isinstance(init, Value) and init.id in outer
            ended = isinstance(final, Value) and final.id not in ends
            ended = ended and bool(aliases.bases_of(body, final.id) & ends)
            if not (before or ended):
                continue
            name = other.names[0]
            if not any(liveness.held_at(s.body, name, w) for w in innermost or [s]):
                continue  # (bound again before each change)
            graph, view = (lw.graph, init) if before else (body, final)
            if aliases.entry_read(graph, view.id):
                aliases.checked_entry(graph, view)
                continue
            raise lw.error(
                s,
                f"the loop carries {name}, a view of an array it changes in place, into a "
                "step that changes the array before it binds the name again: Python's view "
                "sees the change, which symgrad does not follow from step to step",
                f"Copy it where the old values are meant ({name} = {name}.copy()), or take "
                "it again after the change.",
                cls=UnsupportedSyntaxError,
            )


def _changes(s, slot) -> list[ast.stmt]:
    """The statements of loop s that may change a carried array in place by one of its names
    (`y += ...`, `y[0] = ...`, `y[1:] *= ...`): the places of a change that `Memory.updated_at`
    does not hold (a `+=` symgrad took for a new value, or an update in a branch)."""
    found = []
    for n in ast.walk(s):
        if isinstance(n, ast.AugAssign):
            targets = [n.target]
        elif isinstance(n, ast.Assign):  # (an element assignment; `y = ...` binds y anew)
            targets = [t for t in n.targets if isinstance(t, ast.Subscript)]
        else:
            continue
        if any(set(slot.names) & set(_bound_by(t)) for t in targets):
            found.append(n)
    return found


def _lasts(lw: _Lowerer, s, env, names: list[str], skip: set, index, finals) -> tuple:
    """The names (of `names`, not in `skip`: carried, bound before the loop) that the body
    binds, to an array or a number, and code after the loop reads (a target first bound by
    the loop, `mid` of a bisection): their values at the end of each step, by name. The loop
    stacks them, and each name holds its last row after it, as Python's does (a check raising
    a SymgradError where the loop ran no step, where Python's is a NameError). Not a value that
    may be an array something else holds after the loop (the range's index aside: a number): a body
    param (a carried or captured array, a row of what the loop goes over), a view of one, or
    a carried value's next one (`t = s` with s carried), which Python's name would hold
    itself, the stack a copy of it: (the values by name, the values so left out by name)."""
    end, read_last = (s.end_lineno, s.end_col_offset), lw.src.read_last()
    body = env.body
    shared = {*body.params, *(v.id for v in finals if isinstance(v, Value))}
    out: dict[str, Any] = {}
    left_out: dict[str, int] = {}
    for name in names:
        value = dict.get(env, name)
        unread = not lw.src.moved and read_last.get(name, end) <= end
        if name in skip or unread or name in out:
            continue
        if not liveness.seen_after(lw.src.tree, s, name):  # (rebound before it is read: the
            continue  # second `for i` after an inner `for i` that may run no step)
        counted = index is not None and isinstance(value, Value) and value.id == index.id
        if is_number(value) or counted:
            out[name] = value
        elif isinstance(value, Value):
            alone = value.id not in shared and aliases.base_of(body, value.id) not in shared
            if alone and aliases.owned(body, value.id):
                out[name] = value
            else:
                left_out[name] = value.id
    return out, left_out


def _refuse_held(lw: _Lowerer, s: ast.stmt, name: str, items: Any) -> None:
    """Refuse a loop filling a list that is not the function's own, or that another name or
    container holds too: the loop binds `name` alone to what it fills (`Stacked`), where
    Python's list grows for every holder (`ys = xs`; a caller's list)."""
    if isinstance(items, list) and lw.memory.maker(items) is None:
        raise lw.error(
            s,
            f"the loop appends to {name}, an argument's or a global's list, whose change the "
            "caller would see, which is not supported",
            f"Make a list of your own (xs = list({name})), fill it, and return it.",
            cls=UnsupportedSyntaxError,
        )
    scope, where = lw, ""
    while scope is not None:
        for other, v in dict.items(scope.env):
            inside = v if isinstance(v, (list, tuple)) else ()
            inside = v.values() if isinstance(v, dict) else inside
            if (other != name or where) and (v is items or any(x is items for x in inside)):
                raise lw.error(
                    s,
                    f"the loop appends to {name}, which {other}{where} holds too: symgrad fills "
                    f"{name} alone, where Python's list grows for every name holding it",
                    f"Append to one name and bind the other after the loop ({other} = {name}).",
                    cls=UnsupportedSyntaxError,
                )
        if scope.enclosing is not None:
            scope = scope.enclosing
        else:
            scope, where = scope.parent, " (a caller)"


def _fillable(v: Any) -> bool:
    """Whether a loop may fill this list: empty, or holding arrays and numbers (`xs = [x0]`),
    or filled by an earlier loop (a `Stacked`): the loop appends the rows after them."""
    items_ok = isinstance(v, list) and all(isinstance(x, Value) or is_number(x) for x in v)
    return items_ok or isinstance(v, Stacked)


def _held(before: Any, name: str, loc) -> str | None:
    """Why an array the list held before the loop may not be changed in place (None: none)."""
    if isinstance(before, Stacked):
        return before.shared
    if not any(isinstance(x, Value) for x in before):
        return None
    return (
        f"the list {name} holds it (filled by the loop on line {loc.line}: a list holds the "
        "array, not a copy)"
    )


def _hold_items(lw: _Lowerer, name: str, before: Any, loc) -> None:
    """The arrays a list holds before a loop fills it stay its items: changing them in place
    (in the loop or after it) would change its rows, which symgrad stacked as they were."""
    reason = _held(before, name, loc)
    if reason is None or not isinstance(before, list):
        return
    for x in before:
        if isinstance(x, Value):
            lw.memory.mark_unsure(lw.graph, aliases.base_of(lw.graph, x.id), reason)
            lw.memory.mark_unsure(lw.graph, x.id, reason)


def _after_items(lw: _Lowerer, before: Any, filled: Value, s: ast.stmt, front: bool) -> Value:
    """The rows of a list a loop filled: those it held before (`xs = [x0]`), then the loop's;
    where each step inserted its value first (`front`), the loop's reversed, then those."""
    if front:
        filled = lw.call_rule("flip", (filled,), {"axis": 0}, s)
    if isinstance(before, Stacked):
        head = before.value
    elif before:
        head = lw.call_rule("stack", ([lw.as_value(x, s, True) for x in before],), {}, s)
    else:
        return filled
    rest = getitem(lw, lw.call_rule("shape", (head,), {}, s), slice(1, None), s)
    shape = lw.binop(ast.Add(), (lw.call_rule("len", (filled,), {}, s),), rest, s)
    filled = lw.call_rule("reshape", (filled, shape), {}, s)  # (the loop's rows of none, in a
    rows = [filled, head] if front else [head, filled]  # module for any shapes: no row's shape)
    return lw.call_rule("concatenate", (rows,), {}, s)


def _condition_graph(lw: _Lowerer, s: ast.While, slots, captured, breaks, held) -> Graph:
    """The graph of a while loop's condition: params the carried values, then what it reads.
    A loop that can break may test a constant true value (`while True:`)."""
    loc = lw.src.locate(s.test)
    graph = Graph(f"{lw.graph.name}.while_cond", lw.graph.file, s.lineno)
    env = BodyEnv(lw, graph, captured)
    for slot in slots:
        env.bind_group(slot.names, env.param(slot.spelt, slot.value, loc))
    for name, c in held.items():
        dict.__setitem__(env, name, c.value(env))
    test = lw.scope(graph, env).expr(s.test)
    if not isinstance(test, Value):
        if not (breaks and isinstance(test, (bool, int, float)) and test):
            raise lw.error(
                s.test,
                "a while loop's condition must change as the loop runs",
                "The loop would run never or forever; test a value the loop changes, or "
                "write while True: and leave the loop with a break.",
                cls=UnsupportedSyntaxError,
            )
        test = Value(graph.const(test, loc))
    graph.outputs = [test.id]
    return graph


def _lower_unrolled(lw: _Lowerer, s: ast.For, items: list) -> None:
    """A loop over a tuple or list the source spells out: the body once per element, until a
    break that runs whatever the values (a break on a runtime value is refused)."""
    stmts, breaks = desugar(s.body)
    with _flags_kept(lw):
        for value in items:  # (an item whose array an earlier element's body changed: as it is)
            lw.bind(s.target, _as_it_is(lw, value), len(lw.graph), s)
            lw.block(stmts)
            stop = dict.__getitem__(lw.env, STOP) if breaks else False
            if isinstance(stop, Value):
                if _is_call_of(lw, s.iter, range):  # (unrolled for the keys made from its index)
                    what = "range() that reads a dict by keys made from its index (unrolled)"
                    hint = (
                        "Read the dict's arrays into a list before the loop (Ws = [p[f'W{i}'] "
                        "for i in range(n)]) and index that list in a loop of its own."
                    )
                else:
                    what = "a tuple or list spelled out in the source"
                    hint = "Stack the items into an array and loop over its rows."
                raise lw.error(
                    s,
                    f"a break on a runtime value in a loop over {what} is not supported",
                    hint,
                    cls=UnsupportedSyntaxError,
                )
            if stop:
                break


@contextmanager
def _flags_kept(lw: _Lowerer):
    """The jump flags of a loop around (`symgrad.frontend.jumps`) as they were, after a body
    lowered in the scope around its loop (an unrolled step's flags are its own)."""
    saved = {flag: dict.get(lw.env, flag, _MISSING) for flag in FLAGS}
    try:
        yield
    finally:
        for flag, value in saved.items():
            if value is _MISSING:
                dict.pop(lw.env, flag, None)
            else:
                dict.__setitem__(lw.env, flag, value)


_MISSING = object()


def _as_it_is(lw: _Lowerer, v: Any) -> Any:
    """An item of a tuple or list spelled out (or of its enumerate pairs), each array as it is
    now: `for z in (a, a)` changes the one array twice."""
    if isinstance(v, Value):
        return Value(lw.memory.latest.get(lw.memory.first(lw.graph, v.id), v.id))
    if isinstance(v, tuple) and not hasattr(type(v), "_fields"):
        return tuple(_as_it_is(lw, x) for x in v)
    return v


def _unreversed(lw: _Lowerer, it: ast.expr) -> ast.expr:
    """`reversed(...)` (also inside `enumerate(...)`) as the iteration it is: a range walked
    back (`range(b - 1, a - 1, -1)` for `range(a, b)`; a constant step's last element first),
    or `xs[::-1]`, the rows or items of xs from the last."""
    if not isinstance(it, ast.Call):
        return it
    fn = lw.expr(it.func)
    if fn is enumerate and it.args:
        inner = _unreversed(lw, it.args[0])
        if inner is it.args[0]:
            return it
        return ast.copy_location(ast.Call(it.func, [inner, *it.args[1:]], it.keywords), it)
    if fn is zip and not it.keywords:  # zip(reversed(xs), ys): the rows of xs[::-1]
        args = [_unreversed(lw, a) if _is_call_of(lw, a, reversed) else a for a in it.args]
        if all(a is b for a, b in zip(args, it.args)):
            return it
        return ast.copy_location(ast.Call(it.func, args, []), it)
    if fn is not reversed or len(it.args) != 1 or it.keywords:
        return it
    arg = it.args[0]
    if not _is_call_of(lw, arg, range):
        whole = ast.Slice(None, None, ast.Constant(-1))
        return ast.copy_location(ast.Subscript(arg, whole, ast.Load()), it)
    parts = list(arg.args) if not arg.keywords else []
    if len(parts) == 1:
        parts = [ast.Constant(0), parts[0]]
    a, b, *step = parts
    c = lw.expr(step[0]) if step else 1
    if not isinstance(c, int) or c == 0:
        raise lw.error(arg, "reversed(range(...)) needs a step known when compiling")

    def op(left, kind, right):
        return ast.BinOp(left, kind(), right)

    inward, one, steps = (ast.Sub if c > 0 else ast.Add), ast.Constant(1), ast.Constant(c)
    if abs(c) == 1:
        last = op(b, inward, one)  # b - 1 (walking down: b + 1)
    else:  # a + (b - a - 1) // c * c
        span = op(op(b, ast.Sub, a), inward, one)
        last = op(a, ast.Add, op(op(span, ast.FloorDiv, steps), ast.Mult, steps))
    bounds = [last, op(a, inward, one), ast.Constant(-c)]
    call = ast.Call(ast.Name("range", ast.Load()), bounds, [])
    return ast.fix_missing_locations(ast.copy_location(call, it))


class _Iteration:
    """What a `for` iterates over: `range(...)`; an array's rows; `enumerate(xs)`; `zip(xs, ys)`
    (as many steps as the shortest has rows), enumerated or not; or a tuple or list spelled out
    (`static`)."""

    def __init__(self, lw: _Lowerer, s: ast.For):
        self.lw, self.s, self.static = lw, s, None
        it, target = _unreversed(lw, s.iter), s.target
        fn = lw.expr(it.func) if isinstance(it, ast.Call) else None
        self.start = _start(lw, it) if fn is enumerate else 0  # enumerate(xs, start=1)
        if fn not in (range, enumerate, zip) or it.keywords and fn is not enumerate:
            fn = None  # (another call: the sequence it gives, `itertools.combinations(...)`)
        nodes = (it.args[:1] if fn is enumerate else it.args) if fn is not None else [it]
        if fn is enumerate and len(nodes) == 1 and _is_call_of(lw, nodes[0], zip):
            nodes = nodes[0].args  # enumerate(zip(xs, ys)): the rows of each, and the index
        args = [self._sequence(a, fn) for a in nodes] if fn is not None else []
        if fn is range:
            self.bounds, self.sequences = _range_bounds(lw, it, args), []
            self.index_name = _name(lw, target, "a loop over range() binds one name")
            self.enumerated = False
            if _reads_containers(lw, s.body, self.index_name):  # (`W, b = params[i]`)
                if not all(type(b) is int for b in self.bounds):
                    raise lw.error(
                        it,
                        "this loop reads a list of containers (tuples, lists, dicts) at its "
                        "index, which symgrad unrolls, one body per item: its range must be "
                        "known when compiling, and this one's is known only when it runs",
                        "Loop over the list's length, range(len(params)), or over the list "
                        "itself: for W, b in params.",
                        cls=UnsupportedSyntaxError,
                    )
                steps = range(*self.bounds)
                if 0 < len(steps) <= UNROLLED_MAX:
                    self.static = list(steps)  # one body per index: an int there
                return
            if _keys_of(s.body, self.index_name):
                for b in self.bounds:  # (`range(1, n_layers + 1)`: for n_layers's value)
                    given = _argument_of(lw.graph, b)
                    if given is not None:
                        raise needs_constant(lw.graph, given, _KEYS_NEED, lw.src.locate(it))
                if all(type(b) is int for b in self.bounds):
                    steps = range(*self.bounds)
                    if len(steps) <= UNROLLED_MAX:
                        self.static = list(steps)  # one body per index: an int there
            return
        self.enumerated = fn is enumerate and len(args) >= 1
        if self.enumerated:
            if not (isinstance(target, ast.Tuple) and len(target.elts) == 2):
                raise lw.error(target, "enumerate() gives pairs: for i, x in enumerate(xs)")
            self.index_name = _name(lw, target.elts[0], "the index of enumerate() is one name")
            sequences = args
        elif fn is zip and args:
            self.index_name, sequences = "k", args
        else:
            self.index_name, sequences = "k", [lw.expr(it)]
        sequences = [q.value if isinstance(q, Stacked) else q for q in sequences]  # its rows
        if len(sequences) == 1 and isinstance(sequences[0], dict):  # a dict of parameters
            sequences = [list(sequences[0])]  # (its keys, in order)
        if sequences and all(isinstance(q, (tuple, list)) for q in sequences):
            items = sequences[0] if len(sequences) == 1 else list(zip(*sequences))
            self.static = list(enumerate(items, self.start)) if self.enumerated else items
            if self.enumerated and not isinstance(self.start, int):
                raise lw.error(it, "enumerate() of a list spelled out counts from a constant")
            return
        sequences = [  # zip(LENGTHS, xs) of a constant tuple of numbers: its array's rows
            lw.as_value(q, n, True) if isinstance(q, (tuple, list)) and _numbers(q) else q
            for q, n in zip(sequences, nodes)
        ]
        for seq, node in zip(sequences, nodes):
            if not isinstance(seq, Value):
                raise lw.error(
                    node,
                    f"a for loop goes over range(), an array, enumerate() or zip(), not a "
                    f"{type(seq).__name__}",
                    cls=UnsupportedSyntaxError,
                )
        self.sequences = sequences
        lengths = [lw.call_rule("len", (seq,), {}, it) for seq in sequences]
        stop = lengths[0]
        for n in lengths[1:]:
            stop = lw.call_rule("minimum", (stop, n), {}, it)
        self.bounds = (0, stop, 1)

    def _sequence(self, node: ast.expr, fn) -> Any:
        """What one argument of range(), enumerate() or zip() is; in a zip, a range() of
        constants is its ints (`zip(range(3), layers)`, a list spelled out beside lists)."""
        lw = self.lw
        if fn is not range and _is_call_of(lw, node, range) and not node.keywords:
            bounds = [lw.expr(a) for a in node.args]
            if all(type(b) is int for b in bounds):
                return tuple(range(*bounds))
            raise lw.error(
                node,
                f"range() inside {fn.__name__}() needs bounds known when compiling",
                "Loop over the range itself and read the other sequences by its index: "
                "for i in range(n): v = ys[i].",
                cls=UnsupportedSyntaxError,
            )
        return lw.expr(node)

    def bind_step(self, index: Any) -> None:
        """Bind the loop's names as its step at `index` of the range binds them, in the scope
        around the loop (`_first_step`: the first step's, and the last's after the loop): the
        range's int, or the row of each sequence there."""
        lw, s = self.lw, self.s
        if not self.sequences:
            lw.bind(s.target, index, len(lw.graph), s)
            return
        rows = [getitem(lw, seq, index, s) for seq in self.sequences]
        target = s.target
        if self.enumerated:
            dict.__setitem__(lw.env, self.index_name, _plus(lw, self.start, index, s))
            target = target.elts[1]
        lw.bind(target, rows[0] if len(rows) == 1 else tuple(rows), 0, s)

    def bind_targets(self, child: _Lowerer, env: BodyEnv, index: Value) -> None:
        """Bind the loop's names in the body: the index, and the rows the sequences give (an
        index of a range of int bounds counted, `lower._counted`)."""
        target, s = self.s.target, self.s
        first, step = self.bounds[0], self.bounds[2]
        if type(first) is int and type(step) is int:
            child.counts[index.id] = (first, step)
        if not self.sequences:
            dict.__setitem__(env, self.index_name, index)
            return
        rows = [
            getitem(child, env.capture(self.lw.graph[seq.id].name or "xs", seq), index, s)
            for seq in self.sequences
        ]
        if self.enumerated:
            start = self.start  # (a value computed outside the loop: captured)
            if isinstance(start, Value):
                start = env.capture(self.lw.graph[start.id].name or "start", start)
            zero = isinstance(start, int) and start == 0
            count = index if zero else child.binop(ast.Add(), index, start, s)
            if type(start) is int and type(first) is int and isinstance(count, Value):
                child.counts[count.id] = (first + start, 1)
            dict.__setitem__(env, self.index_name, count)
            target = target.elts[1]
        child.bind(target, rows[0] if len(rows) == 1 else tuple(rows), 0, s)


def _reads_containers(lw: _Lowerer, body: list[ast.stmt], index: str) -> bool:
    """Whether the body reads, at the loop's index, a list or tuple of containers (`W, b =
    params[i]` of a list of pairs, `layers[i]["W"]`), whose items, of structures or shapes of
    their own, no array stacks: known when compiling where the loop is unrolled."""
    for node in (n for stmt in body for n in ast.walk(stmt)):
        if not (isinstance(node, ast.Subscript) and isinstance(node.value, _NAMED)):
            continue
        if not any(isinstance(n, ast.Name) and n.id == index for n in ast.walk(node.slice)):
            continue
        base = node.value
        if isinstance(base, ast.Name) and base.id in lw.env:
            held = lw.env[base.id]
        elif isinstance(base, ast.Name) and base.id in lw.src.local_names():
            continue  # (bound later in the function: read as it is there)
        else:  # (a global's or a module's: `PARAMS[i]`, `config.PARAMS[i]`)
            held = lw.expr(base)
        if isinstance(held, (list, tuple)) and any(tree.is_tree(v) for v in held):
            return True
    return False


_NAMED = (ast.Name, ast.Attribute)


def _keys_of(body: list[ast.stmt], index: str) -> bool:
    """Whether the body makes a string from the loop's index (`params[f"W{i}"]`, `params["W"
    + str(i)]`, `params.get("W%d" % i)`, `key = "W{}".format(i)`): a dict's key, known when
    compiling where the loop is unrolled."""

    def stringly(node: ast.AST) -> bool:
        if isinstance(node, ast.JoinedStr):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return node.func.id == "str"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            return node.func.attr == "format" and isinstance(node.func.value, ast.Constant)
        sides = (node.left, node.right) if isinstance(node, ast.BinOp) else ()
        return any(isinstance(x, ast.Constant) and isinstance(x.value, str) for x in sides)

    messages = {id(n.msg) for stmt in body for n in ast.walk(stmt) if isinstance(n, ast.Assert)}
    messages |= {id(n.exc) for stmt in body for n in ast.walk(stmt) if isinstance(n, ast.Raise)}
    todo = list(body)
    while todo:
        node = todo.pop()
        if id(node) in messages:  # (an assertion's message is no key)
            continue
        if stringly(node):
            if any(isinstance(n, ast.Name) and n.id == index for n in ast.walk(node)):
                return True
        todo.extend(ast.iter_child_nodes(node))
    return False


_KEYS_NEED = "a loop making dict keys from its index has bounds known when compiling"


def _argument_of(graph: Graph, bound: Any) -> Value | None:
    """The argument a loop's bound is computed from alone (`n_layers + 1`), which a call
    compiles as its value where it is an int (`NeedsConstant`), or None."""
    if not isinstance(bound, Value):
        return None
    found = graph.ancestors_of([bound.id])
    params = [n for n in found if graph[n].op == "param"]
    plain = all(graph[n].op in ("param", "const") or graph[n].op in _ARITHMETIC for n in found)
    return Value(params[0]) if len(params) == 1 and plain else None


_ARITHMETIC = ("add", "subtract", "multiply", "floor_divide", "negative")  # (of ints)


UNROLLED_MAX = 1024  # steps: a longer loop making keys from its index stays a loop (refused
# where it reads a dict by them), its bodies too many to write out


def _numbers(items) -> bool:
    """Whether a tuple or list spelled out holds numbers alone (constants, not bools)."""
    return bool(items) and all(is_number(v) for v in items)


def _start(lw: _Lowerer, it: ast.Call) -> Any:
    """The `start` of `enumerate(xs, start)` (0 where not given): an int, or one computed."""
    given = it.args[1:] + [k.value for k in it.keywords if k.arg == "start"]
    if len(it.args) > 2 or any(k.arg != "start" for k in it.keywords) or len(given) > 1:
        raise lw.error(it, "enumerate() takes a sequence and a start", cls=UnsupportedSyntaxError)
    start = lw.expr(given[0]) if given else 0
    if not (isinstance(start, Value) or isinstance(start, int) and not isinstance(start, bool)):
        raise lw.error(given[0], "enumerate()'s start is an integer")
    return start


def _is_call_of(lw: _Lowerer, node: ast.expr, fn) -> bool:
    return isinstance(node, ast.Call) and not node.keywords and lw.expr(node.func) is fn


def _name(lw: _Lowerer, target: ast.expr, message: str) -> str:
    if not isinstance(target, ast.Name):
        raise lw.error(target, message, cls=UnsupportedSyntaxError)
    return target.id


def _range_bounds(lw: _Lowerer, it: ast.Call, args: list) -> tuple:
    args = [python_ints(a) for a in args]  # (an argument's np.int64, compiled as a constant)
    for a, node in zip(args, it.args):
        if not (isinstance(a, Value) or (isinstance(a, int) and not isinstance(a, bool))):
            raise lw.error(node, "range() takes integers")
    if not 1 <= len(args) <= 3:
        raise SymgradError("range() takes 1 to 3 arguments", lw.src.locate(it))
    return (0, args[0], 1) if len(args) == 1 else (*args, 1)[:3]
