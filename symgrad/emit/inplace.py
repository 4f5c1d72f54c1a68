"""Updates in place: which `setitem`s the emitted code writes as `x[i] = v`, copying nothing.

In the IR, `a[i] = v` is a new array, a copy of `a` with `v` at `i` (`_setitem(a, np.s_[i], v)`):
values never change, so the backward pass can read any of them. The copy costs `a.size`, so a loop
filling an array element by element would take quadratic time. The code generator writes such an
update as `x[i] = v` on x itself, and the result under x's name, where no code can tell:

1. x owns its memory, alone: it is made in the graph being written by an op that always returns a
   new array (`symgrad.passes.aliasing.fresh`), or it is a loop body's param that the loop hands
   over (below). Never a function argument, a constant, a value a loop or branch captures, a view,
   or a value that may share memory with another (a branch's or a helper's result).
2. Nothing reads, after the update, a value computed before it that may share x's memory (x
   itself, a view of it): not a later statement (a value written inline is read where it is
   written), not an output (the value returned, a loop body's next carried value or stacked
   row), not a loop or branch that runs later, which includes the backward pass and its
   recomputation. A read of the shape or dtype alone does not count, an update changes neither
   (`aliasing.reads_value`: `np.shape(x)`, `np.zeros_like(x)`, `np.shape(x[0])`). A value read
   late only because it is written inline into a later statement (`_unbroadcast(g[i], s) * w`
   after `g[i] = 0.0`) is written as a statement before the update instead, where it can be.
3. Neither v nor the index shares memory with x.

A loop (`loop`, `while`, or the backward loop `loop_vjp` with its running cotangents) hands
carried value j to its body for updating in place when the tape does not record j and the body
keeps j to itself: its next value j shares memory with nothing but param j and arrays the body
made, and no other output (carried, stacked, a decision) shares memory with it or with param j.
Each iteration then owns the array it updates. If (1) and (2) hold for the initial value, the
loop standing for the update, the loop updates that array and its result is the same array;
otherwise, when the body does update j, the loop starts from a copy (`np.copy(x)`, once, in
`Plan.copied`). Branches hand nothing over: an update in a branch copies unless it updates an
array the branch made.

The same rules let an elementwise `x + v`, `x - v`, `x * v` or `x / v` of the function's own
graph (not a loop's or branch's) be written `x += v` (and so on), its result under x's name,
where x is a statement's array (not a temporary written inline, which NumPy reuses itself)
of at least `symgrad.emit.frees.FREED` bytes, of the result's shape and dtype: no array is
made for the result, and x's memory is not held beside it (a logsumexp's `beta -= top`; NumPy
reads a v that overlaps x before writing). So is a ufunc of one operand, `np.exp(x, out=x)`,
where x may be a temporary too (written as a statement then): a logsumexp's gradient
`t1 = x - a; np.exp(t1, out=t1)` makes one array of x's size, not two.

A loop's stacked row that may share memory with an array its body changes in place (`s[2 * i]`
of a state `s` the step then updates) is written into its stack where it is computed, before the
update (`Plan.early`): as an array's row, or a copy appended to a list. It is then no later read
of that array, and does not keep the loop from handing the array over.

`plan(graph, nested, inline_of, private, rows)` decides for one graph (`private`: the params handed
over to it; `rows`: the outputs that are only stacked rows) and, recursively, for the graphs its
loops and branches own (`Plan.subplans`, by `id(graph)`). `inline_of(graph, nested)` gives the
values the code generator writes inline; an update and its x are written as statements
(`Plan.forced`). Before deciding, `schedule` moves each update after the other reads of x where that
passes no use of the update (it changes the nodes' `order` only, not what they compute).
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from symgrad.emit.frees import FREED
from symgrad.ir import Graph
from symgrad.ir.avals import ARRAY, PYTHON, SCALAR, nbytes
from symgrad.ir.graph import subgraphs
from symgrad.ir.structured import Loop, LoopVjp, schema
from symgrad.passes.aliasing import fresh, meta_use, reads_value
from symgrad.rules import RULES
from symgrad.rules.table import ARRAY as ARRAY_PARAM

INF = float("inf")
_LOOPS = ("loop", "while", "loop_vjp")


@dataclass
class Plan:
    updates: list[int] = field(default_factory=list)  # setitems written in place, in order
    forced: set[int] = field(default_factory=set)  # values written as statements of their own
    subplans: dict[int, "Plan"] = field(default_factory=dict)  # id(sub-graph) -> its plan
    handed: dict[int, dict[int, bool]] = field(default_factory=dict)  # loop -> {input: exact}
    copied: dict[int, set[int]] = field(default_factory=dict)  # loop -> inputs copied first
    mutated: set[int] = field(default_factory=set)  # the buffers changed in place
    origins: dict[int, frozenset] = field(default_factory=dict)
    inline: set[int] = field(default_factory=set)  # inline_of(graph, nested), as plan() read it
    early: set[int] = field(default_factory=set)  # stacked rows written where computed


def plan(
    graph: Graph, nested: bool, inline_of: Callable, private=frozenset(), rows=frozenset()
) -> Plan:
    schedule(graph)
    inline = inline_of(graph, nested)
    p = Plan(inline=inline)
    for node in list(graph.nodes()):
        if node.op == "setitem" or not nested and _augmentable(graph, node, inline):
            _try_update(graph, node, inline, private, p, rows)
        elif node.op in _LOOPS:
            _try_loop(graph, node, inline, private, p, inline_of, rows)
        for sub in subgraphs(node):
            if id(sub) not in p.subplans:
                p.subplans[id(sub)] = plan(sub, True, inline_of)
    p.origins = _origins(graph, private, p)
    written = set(graph.ids()) - (inline - p.forced)
    p.early = {r for r in rows if r in written and p.origins[r] & p.mutated}
    return p


def _try_update(graph: Graph, node, inline: set, private, p: Plan, rows) -> None:
    x = node.inputs[0]
    origins = _origins(graph, private, p)
    if not _owned(graph, origins[x], private):
        return
    forced = _settle(graph, node.id, 0, origins, inline, p.forced | {node.id, x}, rows)
    if forced is not None:
        p.updates.append(node.id)
        p.mutated |= origins[x]
        p.forced = forced - ({x} if graph[x].op == "param" else set())


AUGMENTED = {"add": ast.Add, "subtract": ast.Sub, "multiply": ast.Mult, "divide": ast.Div}


@functools.cache
def unary_ufunc(op: str) -> bool:
    """Whether the rule is a NumPy ufunc of one operand spelt as a call of it (`np.exp(x)`,
    not `-x`), which writes into its operand given as `out=`."""
    rule = RULES.get(op)
    fn = rule.callables[0] if rule is not None and rule.callables else None
    if not isinstance(fn, np.ufunc) or fn.nin != 1 or fn.nout != 1 or rule.helper is not None:
        return False
    if [p.kind for p in rule.params] != [ARRAY_PARAM]:  # (`*args`: a list of operands)
        return False
    spelt = rule.emit([ast.Name("x", ast.Load())], {}, rule)
    return isinstance(spelt, ast.Call) and len(spelt.args) == 1 and not spelt.keywords


def _augmentable(graph: Graph, node, inline: set) -> bool:
    """An elementwise `x op v` that `x op= v` computes, or `f(x)` of a ufunc f that
    `f(x, out=x)` does: x a large array of the result's Aval; for `x op v`, a statement
    already (one written inline is a temporary NumPy reuses itself for the operator; made a
    statement, it would be computed, and held, earlier), where a ufunc call makes a new array
    whatever its operand (`np.exp(x - a)`: x - a is written as a statement, and exp's result
    takes its place)."""
    unary = len(node.inputs) == 1 and unary_ufunc(node.op)
    if not unary and (node.op not in AUGMENTED or len(node.inputs) != 2):
        return False
    if node.attrs or not unary and node.inputs[0] in inline:
        return False
    aval, x = node.aval, graph[node.inputs[0]].aval
    return aval is not None and aval.kind == ARRAY and x == aval and (nbytes(aval) or 0) >= FREED


def _owned(graph: Graph, origin: frozenset, private) -> bool:
    """Rule 1: one buffer, made here by an op that makes arrays or handed over."""
    if len(origin) != 1:
        return False
    (b,) = origin
    return b in private if graph[b].op == "param" else fresh(graph[b].op)


def _settle(graph, mutator: int, k_in: int, origins: dict, inline: set, forced: set, rows=()):
    """The values to write as statements so that rules 2 and 3 hold for `mutator` changing its
    input k_in in place (a value read late because it is written inline into a later statement
    is computed before the update instead, where it can be; so is a stacked row, `rows`, to be
    written where it is computed), or None if they cannot hold."""
    post = graph.descendants_of([mutator])
    order = {n.id: k for k, n in enumerate(graph.nodes())}
    while True:
        pos = _positions(graph, inline - forced)
        late = _late_reads(graph, mutator, k_in, origins, pos, post, rows)
        if late is None:
            return None
        if not late:
            return forced
        if any(r not in inline or r in forced or order[r] > order[mutator] for r in late):
            return None
        forced = forced | {_first_made(graph, r, inline, order[mutator], order) for r in late}


def _first_made(graph: Graph, r: int, inline: set, before: int, order: dict) -> int:
    """The value to write as a statement for r to be read where it is: r, or the first new
    array r flows into through values written inline (`_unbroadcast(a[i], s) * 2.0`)."""
    c = r
    while not fresh(graph[c].op):
        users = set(graph.users(c))
        if len(users) != 1 or c in graph.outputs:
            return r
        (u,) = users
        if u not in inline or order[u] > before:
            return r
        c = u
    return c


def _late_reads(graph, mutator: int, k_in: int, origins: dict, pos: Callable, post: set, rows=()):
    """The nodes that read, after `mutator`, a value computed before it that may share the memory
    it changes (None if an output is such a value, or mutator reads it through another input),
    a stacked row (`rows`) reading itself where it is written."""
    buffer = origins[graph[mutator].inputs[k_in]]
    at = pos(mutator)
    late, memo = set(), {}
    for i in graph.ids():
        if i in post or not origins[i] & buffer:
            continue
        if i in rows:  # (its row is written where it is computed)
            if pos(i) > at:
                late.add(i)
        elif i in graph.outputs:
            return None
        for u in sorted(set(graph.users(i))):
            user = graph[u]
            if user.op == "item":
                continue
            for k, j in enumerate(user.inputs):
                if j != i or not reads_value(graph, user, k, memo):
                    continue
                if u == mutator:
                    if k != k_in:
                        return None
                elif pos(u) > at:
                    late.add(u)
    return late


def _positions(graph: Graph, inline: set) -> Callable[[int], float]:
    """When each value is computed, in statements of the emitted code: a statement's index, a
    value written inline where its (last) user is, an output at the end, a param before all."""
    statements = [
        n.id for n in graph.nodes() if n.op not in ("param", "item") and n.id not in inline
    ]
    at = {nid: k for k, nid in enumerate(statements)}
    memo: dict[int, float] = {}

    def pos(nid: int) -> float:
        if nid in at:
            return at[nid]
        if nid not in memo:
            node = graph[nid]
            if node.op == "item":
                memo[nid] = at[node.inputs[0]]
            elif node.op in ("param", "const"):
                memo[nid] = -1
            else:
                ends = [INF] if nid in graph.outputs else []
                memo[nid] = max([pos(u) for u in graph.users(nid)] + ends, default=INF)
        return memo[nid]

    return pos


def _carried(node) -> list[tuple[int, int, int]]:
    """(input position, body param, body output) of each value a loop carries and may update."""
    view = schema(node)
    if isinstance(view, Loop):
        taped = set(view.taped) if view.records else set()
        parts = zip(view.carried_inputs, view.carried_params, view.next_carried)
        return [part for j, part in enumerate(parts) if j not in taped]
    state, inputs = view.state_params, view.state_inputs
    return [
        (inputs[s], state[s], view.body.outputs[r])
        for r, (kind, s, _) in enumerate(view.outs)
        if kind == "state"
    ]


def _kept(node) -> list[int]:
    """The body outputs that outlive an iteration beside the carried ones: every other output of
    a forward loop (stacked rows, decisions); a backward loop adds its sums up as it goes."""
    body = node.attrs["body"]
    if node.op != "loop_vjp":
        return list(body.outputs)
    return [o for o, (kind, _, _) in zip(body.outputs, node.attrs["outs"]) if kind == "state"]


def _rows(node) -> frozenset:
    """The body outputs of a forward loop that are only its stacked rows (`Plan.early`)."""
    view = schema(node)
    if not isinstance(view, Loop):
        return frozenset()
    outputs = list(view.body.outputs)
    return frozenset(o for o in view.stacked if outputs.count(o) == 1)


def _try_loop(graph, node, inline, private, p: Plan, inline_of, rows=()) -> None:
    origins = _origins(graph, private, p)
    body = node.attrs["body"]
    alone = {}  # carried inputs the loop may change in place: the statements that needs
    for k, _, _ in _carried(node):
        if _owned(graph, origins[node.inputs[k]], private):
            forced = _settle(graph, node.id, k, origins, inline, p.forced, rows)
            if forced is not None:
                alone[k] = forced
    candidates = _carried(node)
    while True:
        handed = frozenset(q for _, q, _ in candidates)
        sub = plan(body, True, inline_of, handed, _rows(node))
        kept = [o for o in _kept(node) if o not in sub.early]
        exact, ok = {}, []
        for k, param, out in candidates:
            mine = sub.origins[out]
            made = {b for b in mine if body[b].op not in ("param", "const")}
            others = [sub.origins[o] for o in kept if o != out or kept.count(out) > 1]
            if mine <= made | {param} and not any(o & (mine | {param}) for o in others):
                ok.append((k, param, out))
                exact[k] = mine == {param}
        if len(ok) == len(candidates):
            break
        candidates = ok
    p.subplans[id(body)] = sub
    p.handed[node.id] = {k: exact[k] for k, _, _ in candidates if k in alone}
    p.copied[node.id] = {k for k, q, _ in candidates if k not in alone and q in sub.mutated}
    for k, q, _ in candidates:
        if k in alone and q in sub.mutated:
            p.forced |= alone[k]
            p.mutated |= origins[node.inputs[k]]


def _origins(graph: Graph, private, p: Plan) -> dict[int, frozenset]:
    """For each value, the buffers it may share memory with: its own (a node that may make a new
    array), a param's; an update in place, a loop's carried value handed over, x's; a forward
    loop's stacked output, its own; a carried value it does not hand over, its own and those of
    the inputs it may come from (`_carried_through`)."""
    updates = set(p.updates)
    out: dict[int, frozenset] = {}
    for node in graph.nodes():
        n = node.id
        own = frozenset((n,))
        if node.op in ("param", "const") or fresh(node.op) and n not in updates:
            out[n] = own
        elif getattr(node.aval, "kind", None) in (SCALAR, PYTHON):
            out[n] = own  # a number (`y[i - 1]` of a vector): a copy, not a view
        elif n in updates:
            out[n] = out[node.inputs[0]]
        elif node.op == "item" and fresh(graph[node.inputs[0]].op):
            out[n] = own  # a result of a loop nest (`fused`), made by it
        elif node.op == "item":
            src = graph[node.inputs[0]]
            k = _carried_input(src, node.attrs["index"])
            exact = p.handed.get(src.id, {}).get(k)
            if k in p.copied.get(src.id, ()):  # a copy made for the loop, and updated there
                out[n] = own
            elif exact is not None:
                out[n] = out[src.inputs[k]] | (frozenset() if exact else own)
            elif _stacked(src, node.attrs["index"]):  # its rows, copied into an array
                out[n] = own
            elif k is not None and (through := _carried_through(src, k, p)) is not None:
                out[n] = own.union(*(out[i] for i in through))
            else:
                out[n] = own.union(*(out[i] for i in src.inputs))
        else:
            shared = [out[i] for k, i in enumerate(node.inputs) if not meta_use(node, k)]
            out[n] = own.union(*shared)
    return out


def _stacked(node, index: int) -> bool:
    """Whether item `index` of node is a stacked output of a forward loop (a new array)."""
    view = schema(node)
    return isinstance(view, Loop) and view.k <= index < view.n_results


def _carried_through(node, k: int, p: Plan) -> set[int] | None:
    """The inputs of a forward loop (planned in p) whose memory its carried value of input k may
    share, where the loop hands it no array: its initial value's, and those whose params its next
    value may share, step after step (None where the loop is not planned yet)."""
    view = schema(node)
    sub = p.subplans.get(id(view.body)) if isinstance(view, Loop) else None
    if sub is None or not sub.origins:
        return None
    carried = dict(zip(view.carried_params, view.carried_inputs))
    captured = dict(zip(view.captured_params, view.captured_inputs))
    nexts = dict(zip(view.carried_inputs, view.next_carried))
    through, todo = {k}, [k]
    while todo:
        for b in sub.origins[nexts[todo.pop()]]:
            if b in captured:
                through.add(captured[b])
            elif b in carried and carried[b] not in through:
                through.add(carried[b])
                todo.append(carried[b])
    return {node.inputs[i] for i in through}


def _carried_input(node, index: int) -> int | None:
    """The input position of the carried value that item `index` of node is, if any."""
    view = schema(node)
    if isinstance(view, Loop) and index < view.k:
        return view.carried_inputs[index]
    if isinstance(view, LoopVjp) and view.outs[index][0] == "state":
        return view.state_inputs[view.outs[index][1]]
    return None


def schedule(graph: Graph) -> None:
    """Move each setitem after the value reads of its x, and of values that may share x's memory,
    that do not depend on it, where that moves it past no use of its own."""
    for node in list(graph.nodes()):
        if node.op != "setitem":
            continue
        post, needed = graph.descendants_of([node.id]), graph.ancestors_of([node.id])
        shared, late, memo = {node.inputs[0]}, set(), {}
        for n in graph.nodes():
            if n.id in post:
                continue
            if any(i in shared and reads_value(graph, n, k, memo) for k, i in enumerate(n.inputs)):
                late.add(n.id)
                if not fresh(n.op):
                    shared.add(n.id)
        before = graph.ancestors_of(late - needed) - needed
        before = [i for i in before if graph[i].op not in ("param", "const")]
        if not before:
            continue
        target = max(graph[i].order for i in before) + 0.5
        first_use = min((graph[u].order for u in graph.users(node.id)), default=INF)
        if node.order < target < first_use:
            graph.set_order(node.id, target)
