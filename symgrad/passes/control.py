"""Reverse mode through loops and branches: a tape of the carried values, the body's VJP run back.

Contract: `reverse_loop(graph, loop, item_cts, live, reverse)` is called by the reverse pass when
it reaches a `loop` (or `while`) node whose outputs (`item` nodes) have cotangents
`item_cts[(loop, k)]`. It marks the loop to record a tape (each iteration's index, carried values
and branch decisions, in order), takes the VJP of the body with respect to the carried and
captured params that carry gradient (a fixpoint: a carried value becomes active when an active
value flows into it), and adds a `loop_vjp` node that replays the tape backwards: each step
recomputes that iteration's body from its taped values and applies the body's VJP, so memory is
O(iterations x carried state). The body's `if`s on computed values are not decided again: the
forward loop records each decision (`symgrad.passes.decisions`; the body's outputs
`n_carried + n_stacked` on, attribute `n_decisions`), and the VJP reads it from the tape. It
returns (input node, cotangent contribution) pairs for the loop's active inputs. An output
without a cotangent gets zeros of its shape (`output`: its item, made again if a pass removed
it). A loop that can break (attribute `breaks`: its body's last output says whether to leave)
tapes the iterations that ran, the last one included, and its flag has neither cotangent nor
tangent.

`reverse_cond(graph, cond, ...)` does the same for a `cond`: a `cond_vjp` node on the same
condition, whose branches are the VJPs of the cond's branches; the decisions of `if`s nested in
them are outputs of the forward cond, read by the VJP. `as_cond` rewrites a `cond_vjp` as the
`cond` it is, so that reverse mode runs through a gradient's branches (reverse over reverse);
a gradient's loop (`loop_vjp`) has no reverse mode yet. Forward mode through these nodes is in
`symgrad.passes.control_forward`.
"""

from __future__ import annotations

import copy
from typing import Callable

from symgrad.ir import Graph
from symgrad.ir.structured import Cond, Loop
from symgrad.passes import tape
from symgrad.passes.activity import active as active_nodes
from symgrad.passes.decisions import NAME, find, hoist, is_decision, replay
from symgrad.rules import Value, building, ops


def reverse_loop(graph: Graph, loop, item_cts: dict, live: set, reverse: Callable) -> list:
    view = Loop(loop)
    body, k, n_stacked = view.body, view.k, view.n_stacked
    plain = copy.copy(body)  # the carried values and stacked outputs: those with gradients
    plain.outputs = [*view.next_carried, *view.stacked]
    operands, first = _operands(loop)  # a for loop's body takes the index first
    seeds = [j for j, i in enumerate(operands) if i in live]
    wrt = _active_operands(body, k, seeds, first, "vjp")
    if not wrt:
        return []
    at = first + k  # the decisions' params follow the carried values', as on the tape

    def build(variant: Graph, n: int) -> Graph:
        return reverse(variant, [at + j - k + (n if j >= k else 0) for j in wrt], seed="params")

    vjp_body, kept = replay(plain, find(plain), at, build)
    tape.prune(vjp_body)  # loops it recomputes may carry values it does not need
    names = [body[p].name for p in view.operand_params]
    for j, p in enumerate(vjp_body.params[len(vjp_body.params) - k - n_stacked :][:k]):
        vjp_body[p].name = names[j] + "_bar"  # the cotangents carried backwards
    taped, shaped = tape.trim(graph, loop, vjp_body, first, k)
    decisions = [hoist(body, path, pred) for path, pred in kept]
    body.outputs = [*body.outputs[: k + n_stacked], *decisions, *body.outputs[k + n_stacked :]]
    loop.attrs.update(tape=True, n_decisions=len(decisions))
    tape_index = {"index": k + n_stacked}
    tape_item = graph.add("item", (loop.id,), tape_index, loop.loc, name="tape", order=loop.order)
    body_params = view.carried_params
    bars = []  # the cotangents of the carried values, then of the stacked outputs
    with building(graph, loop.loc, backward=True):
        for j in range(k + n_stacked):
            g = item_cts.get((loop.id, j))
            if g is None:  # no gradient: zeros of the value's shape (the initial value's
                alike = j < k and tape.same_meta(body, view.next_carried[j], body_params[j])
                like = Value(operands[j]) if alike else output(graph, loop, j)  # where every
                g = ops.zeros_like(like).id  # iteration keeps it: x = x[1:] does not)
            bars.append(g)
    outs = tuple(
        ("state", j, names[j] + "_bar") if j < k else ("acc", j - k, names[j] + "_bar") for j in wrt
    )
    attrs = {"n_operands": len(operands) + len(shaped) + n_stacked, "n_carried": k}
    attrs.update(n_stacked=n_stacked, n_seeds=k + n_stacked, outs=outs, body=vjp_body)
    attrs["n_tape"] = first + len(taped) + len(kept)
    inputs = (tape_item, *bars, *operands[k:], *shaped)
    back = graph.add("loop_vjp", inputs, attrs, loop.loc, backward=True)
    out = []
    for r, j in enumerate(wrt):
        if operands[j] in live:
            item = graph.add("item", (back,), {"index": r}, loop.loc, backward=True)
            out.append((operands[j], item))
    return out


def output(graph: Graph, node, index: int) -> Value:
    """Output `index` of a loop or cond: its item, made (a forward node) if a pass removed it
    as unused: a zero cotangent still takes that output's shape."""
    for u in graph.users(node.id):
        if graph[u].op == "item" and graph[u].attrs["index"] == index:
            return Value(u)
    return Value(graph.add("item", (node.id,), {"index": index}, node.loc, order=node.order))


def _active_operands(body: Graph, k: int, seeds: list[int], first: int, kind: str) -> list[int]:
    """Operand positions (carried first, then captured) that carry gradient through the body:
    the active ones, and each carried value an active value flows into (through differentiable
    inputs: a flag set by a comparison carries none)."""
    active = set(seeds)
    while True:
        reached = active_nodes(body, [body.params[first + j] for j in active], kind=kind)
        grown = active | {j for j in range(k) if body.outputs[j] in reached}
        if grown == active:
            return sorted(active)
        active = grown


def reverse_cond(graph: Graph, cond, item_cts: dict, live: set, reverse: Callable) -> list:
    """Differentiate a `cond`: a `cond_vjp` node running, on the same condition, the VJP of each
    branch with respect to the operands it reads that carry gradient (zeros for the others).
    The decisions of the `if`s nested in a branch become outputs of `cond`, and operands of
    the `cond_vjp` (after the cond's own), read by the VJP of that branch."""
    pred, *operands = cond.inputs
    active = [j for j, i in enumerate(operands) if i in live and not is_decision(graph, i)]
    if not active:
        return []
    seeds = []
    branches = cond.attrs["branches"]
    wrt_params = [[p for p, j in enumerate(ps) if j in active] for ps in cond.attrs["params"]]
    inert = _inert_outputs(branches, wrt_params, "vjp")
    with building(graph, cond.loc, backward=True):
        for k in range(len(branches[0].outputs)):
            g = item_cts.get((cond.id, k))
            if g is None:  # no gradient; a seed of the right shape unless no branch reads it
                g = graph.const(0.0) if k in inert else ops.zeros_like(output(graph, cond, k)).id
            seeds.append(g)
    vjps, kept = [], []
    for branch, wrt in zip(branches, wrt_params):
        build = lambda variant, n, wrt=wrt: reverse(variant, wrt, seed="params")  # noqa: E731
        vjp, keep = replay(branch, find(branch), len(branch.params), build)
        vjps.append(vjp)
        kept.append(keep)
    nested, params = [], []  # the decisions taken inside the branches, as operands
    for b, keep in enumerate(kept):
        ps = cond.attrs["params"][b]
        for path, p in keep:
            ps = (*ps, len(operands) + len(nested))
            nested.append(hoist(graph, ((cond.id, b), *path), p))
        params.append(ps)
    if nested and graph[pred].op != "param" and graph[pred].name is None:
        graph[pred].name = NAME  # like the decisions it leads to
    wrts = [tuple(active.index(ps[p]) for p in wrt) for ps, wrt in zip(params, wrt_params)]
    attrs = {
        "n_operands": len(operands) + len(nested) + len(seeds),
        "n_captured": len(operands) + len(nested),
        "n_seeds": len(seeds),
        "branches": tuple(vjps),
        "params": tuple(params),
        "wrt": tuple(wrts),
        "outs": tuple((j, "_bar") for j in active),
    }
    inputs = (pred, *operands, *nested, *seeds)
    back = graph.add("cond_vjp", inputs, attrs, cond.loc, backward=True)
    return [
        (operands[j], graph.add("item", (back,), {"index": r}, cond.loc, backward=True))
        for r, j in enumerate(active)
    ]


def _inert_outputs(branches, wrts: list, kind: str) -> set[int]:
    """The outputs of a cond that no branch computes from its active params `wrts` (a flag set
    True or False, a comparison): they have no tangent, and their cotangent seeds go unread."""
    inert = set(range(len(branches[0].outputs)))
    for branch, wrt in zip(branches, wrts):
        live = active_nodes(branch, [branch.params[p] for p in wrt], kind=kind)
        inert -= {k for k, o in enumerate(branch.outputs) if o in live}
    return inert


def _operands(node) -> tuple[list[int], int]:
    """A structured node's operands (after its bounds or condition) and its body's index count."""
    if node.op == "cond":
        return list(node.inputs[1:]), 0
    view = Loop(node)
    return [node.inputs[i] for i in view.operand_inputs], int(view.counted)


def _arrange(g: Graph, first: int, k: int, m: int, active, carried_dots, extra=False) -> None:
    """Order a body's params as its loop passes them: index, carried, carried tangents,
    captured, captured tangents. With `extra` (a while loop's condition), the tangent params
    are added (unused) first."""
    if extra:
        for j in active:
            g.param(g[g.params[first + j]].name + "_dot")
    base, dots = g.params[: first + k + m], g.params[first + k + m :]
    dot_of = dict(zip(active, dots))
    order = [
        *base[: first + k],
        *(dot_of[j] for j in carried_dots),
        *base[first + k :],
        *(dot_of[j] for j in active if j >= k),
    ]
    g.params = order
    for position, p in enumerate(order):
        g[p].attrs["index"] = position


def as_cond(graph: Graph, node) -> None:
    """Rewrite a `cond_vjp` in place as the `cond` it is, so that it can be differentiated as
    one (reverse over reverse): its operands then its seeds are the cond's operands, and each
    branch gives every output (zeros where the cond_vjp's writes zeros for it). The outputs
    keep their names (the cotangents of the operands)."""
    a, view = node.attrs, Cond(node)
    n, outs = view.n_captured, a["outs"]
    operands = [node.inputs[i] for i in view.captured_inputs]
    branches, params = [], []
    for branch, ps, wrt in zip(a["branches"], a["params"], a["wrt"]):
        b = copy.deepcopy(branch)
        ps = [*ps, *(n + s for s in range(view.n_seeds))]
        outputs = []
        for r, (j, _) in enumerate(outs):
            if r in wrt:
                outputs.append(b.outputs[wrt.index(r)])
                continue
            if j not in ps:
                b.param(graph[operands[j]].name or "t")
                ps.append(j)
            with building(b, node.loc, backward=True):
                outputs.append(ops.zeros_like(Value(b.params[ps.index(j)])).id)
        b.outputs = outputs
        branches.append(b)
        params.append(tuple(ps))
    for u in graph.users(node.id):
        item = graph[u]
        if item.name is None and item.cot_of is None:
            item.cot_of = operands[outs[item.attrs["index"]][0]]
    node.op = "cond"
    node.attrs = {"n_operands": len(node.inputs) - 1, "branches": tuple(branches)}
    node.attrs["params"] = tuple(params)
