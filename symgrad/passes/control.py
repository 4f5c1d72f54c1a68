"""Reverse mode through a loop: a tape of the carried values, and the body's VJP run backwards.

Contract: `reverse_loop(graph, loop, item_cts, live, reverse)` is called by the reverse pass when
it reaches a `loop` node whose outputs (`item` nodes) have cotangents `item_cts[(loop, k)]`. It
marks the loop to record a tape (each iteration's index and carried values, in order), takes the
VJP of the body with respect to the carried and captured params that carry gradient (a fixpoint:
a carried value becomes active when an active value flows into it), and adds a `loop_vjp` node
that replays the tape backwards: each step recomputes that iteration's body from its taped
values and applies the body's VJP, so memory is O(iterations × carried state). It returns
(input node, cotangent contribution) pairs for the loop's active inputs. A loop that can break
(attribute `breaks`: its body's last output says whether to leave) tapes the iterations that
ran, the last one included, and its flag has neither cotangent nor tangent.
"""

from __future__ import annotations

import copy
from typing import Callable

from symgrad.ir import Graph
from symgrad.passes.activity import active as active_nodes
from symgrad.passes.simplify import dce
from symgrad.rules import Value, building, ops


def reverse_loop(graph: Graph, loop, item_cts: dict, live: set, reverse: Callable) -> list:
    body: Graph = loop.attrs["body"]
    if loop.attrs.get("breaks"):  # its last output, whether to leave the loop, has no gradient
        body = copy.copy(body)
        body.outputs = body.outputs[:-1]
    k = loop.attrs["n_carried"]
    first = 1 if loop.op == "loop" else 0  # a for loop's body takes the index first
    operands = loop.inputs[3:] if loop.op == "loop" else loop.inputs
    seeds = [j for j, i in enumerate(operands) if i in live]
    wrt = _active_operands(body, k, seeds, first, "vjp")
    if not wrt:
        return []
    vjp_body = reverse(body, [first + j for j in wrt], seed="params")
    n_stacked = loop.attrs.get("n_stacked", 0)
    loop.attrs["tape"] = True
    tape_index = {"index": k + n_stacked}
    tape = graph.add("item", (loop.id,), tape_index, loop.loc, name="tape", order=loop.order)
    items = {graph[u].attrs["index"]: u for u in graph.users(loop.id) if graph[u].op == "item"}
    bars = []  # the cotangents of the carried values, then of the stacked outputs
    with building(graph, loop.loc, backward=True):
        for j in range(k + n_stacked):
            g = item_cts.get((loop.id, j))
            like = operands[j] if j < k else items[j]
            bars.append(g if g is not None else ops.zeros_like(Value(like)).id)
    n_seeds = k + n_stacked
    attrs = {"n_operands": len(operands) + n_stacked, "n_carried": k, "n_stacked": n_stacked}
    attrs.update(n_seeds=n_seeds, body=vjp_body, wrt=tuple(wrt), indexed=bool(first))
    inputs = (tape, *bars, *operands[k:])
    back = graph.add("loop_vjp", inputs, attrs, loop.loc, backward=True)
    out = []
    for r, j in enumerate(wrt):
        if operands[j] in live:
            item = graph.add("item", (back,), {"index": r}, loop.loc, backward=True)
            out.append((operands[j], item))
    return out


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
    branch with respect to the operands it reads that carry gradient (zeros for the others)."""
    pred, *operands = cond.inputs
    active = [j for j, i in enumerate(operands) if i in live]
    if not active:
        return []
    items = {graph[u].attrs["index"]: u for u in graph.users(cond.id) if graph[u].op == "item"}
    seeds = []
    wrt_params = [[p for p, j in enumerate(ps) if j in active] for ps in cond.attrs["params"]]
    inert = _inert_outputs(cond.attrs["branches"], wrt_params, "vjp")
    with building(graph, cond.loc, backward=True):
        for k in range(len(cond.attrs["branches"][0].outputs)):
            g = item_cts.get((cond.id, k))
            if g is None:  # no gradient; a seed of the right shape unless no branch reads it
                g = graph.const(0.0) if k in inert else ops.zeros_like(Value(items[k])).id
            seeds.append(g)
    branches, wrts = [], []
    for branch, params, wrt in zip(cond.attrs["branches"], cond.attrs["params"], wrt_params):
        branches.append(reverse(branch, wrt, seed="params"))
        wrts.append(tuple(params[p] for p in wrt))
    attrs = {
        "n_operands": len(operands) + len(seeds),
        "n_captured": len(operands),
        "n_seeds": len(seeds),
        "branches": tuple(branches),
        "params": cond.attrs["params"],
        "wrt": tuple(wrts),
        "active": tuple(active),
    }
    back = graph.add("cond_vjp", (pred, *operands, *seeds), attrs, cond.loc, backward=True)
    return [
        (operands[j], graph.add("item", (back,), {"index": r}, cond.loc, backward=True))
        for r, j in enumerate(active)
    ]


def forward_structured(graph: Graph, node, tangents: dict, live: set, forward: Callable) -> dict:
    """Forward mode through a loop or a cond: a new node of the same kind whose sub-graphs also
    compute tangents (a loop carries the tangents of its carried values beside them), in place
    of `node`. Returns {new item: its tangent item} for the outputs that carry tangents."""
    operands, first = _operands(node)
    k = node.attrs.get("n_carried", 0)
    seeds = [j for j, i in enumerate(operands) if i in tangents]
    if node.op == "cond":
        active = seeds
        n_out, n_stacked = len(node.attrs["branches"][0].outputs), 0
        wrts = [[p for p, j in enumerate(ps) if j in active] for ps in node.attrs["params"]]
        inert = _inert_outputs(node.attrs["branches"], wrts, "jvp")
        dotted = [j for j in range(n_out) if j not in inert]  # the outputs that get tangents
        branches, params = [], []
        for branch, ps, wrt in zip(node.attrs["branches"], node.attrs["params"], wrts):
            new_branch = forward(branch, wrt, body=True)
            if inert:  # a flag, a comparison: no tangent
                outs = new_branch.outputs
                new_branch.outputs = outs[:n_out] + [outs[n_out + j] for j in dotted]
                dce(new_branch)
            branches.append(new_branch)
            params.append(ps + tuple(len(operands) + active.index(ps[p]) for p in wrt))
        attrs = dict(node.attrs, branches=tuple(branches), params=tuple(params))
    else:
        body = node.attrs["body"]
        active = _active_operands(body, k, seeds, first, "jvp")
        new_body = forward(body, [first + j for j in active], body=True)
        carried_dots = [j for j in active if j < k]
        _arrange(new_body, first, k, len(operands) - k, active, carried_dots)
        n_stacked = node.attrs.get("n_stacked", 0)
        n_out = k + n_stacked
        breaks = int(node.attrs.get("breaks", False))  # a last output: whether to leave
        values, dots = new_body.outputs[: n_out + breaks], new_body.outputs[n_out + breaks :]
        new_body.outputs = [
            *values[:k],
            *(dots[j] for j in carried_dots),  # carried, their tangents
            *values[k:n_out],
            *dots[k:n_out],  # stacked outputs, their tangents
            *values[n_out:],  # whether to leave the loop (no tangent)
        ]
        if breaks:
            dce(new_body)
        attrs = dict(node.attrs, body=new_body, n_carried=k + len(carried_dots))
        attrs["n_stacked"] = 2 * n_stacked
        if "cond" in attrs:
            attrs["cond"] = copy.deepcopy(attrs["cond"])
            _arrange(attrs["cond"], 0, k, len(operands) - k, active, carried_dots, extra=True)
    with building(graph, node.loc, tangent=True, order=node.order):
        dot_in = [
            tangents[operands[j]]
            if operands[j] in tangents
            else ops.zeros_like(Value(operands[j])).id
            for j in active
        ]
    if node.op == "cond":
        inputs = [node.inputs[0], *operands, *dot_in]
    else:
        carried_in = [d for j, d in zip(active, dot_in) if j < k]
        captured_in = [d for j, d in zip(active, dot_in) if j >= k]
        bounds = node.inputs[: 3 * first]
        inputs = [*bounds, *operands[:k], *carried_in, *operands[k:], *captured_in]
    attrs["n_operands"] = len(inputs) - (3 * first if node.op != "cond" else 1)
    new = graph.add(node.op, inputs, attrs, node.loc, order=node.order)
    old_items = {graph[u].attrs["index"]: u for u in graph.users(node.id) if graph[u].op == "item"}
    out = {}
    k_new = attrs.get("n_carried", 0)
    for index, old in old_items.items():
        if node.op == "cond":
            new_index = index
            dot_index = n_out + dotted.index(index) if index in dotted else None
        elif index < k:  # a carried value, and its tangent if it carries one
            new_index = index
            dot_index = k + carried_dots.index(index) if index in carried_dots else None
        else:  # a stacked output, after the carried tangents; its tangents after it
            new_index, dot_index = k_new + index - k, k_new + n_stacked + index - k
        item = graph.add("item", (new,), {"index": new_index}, node.loc, name=graph[old].name)
        graph.replace_uses(old, item)
        if dot_index is not None or node.op != "cond":
            live.add(item)
        if dot_index is not None:
            dot = graph.add("item", (new,), {"index": dot_index}, node.loc, tangent=True)
            graph[dot].tan_of = item
            out[item] = dot
    return out


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
    if node.op == "loop":
        return list(node.inputs[3:]), 1
    if node.op == "cond":
        return list(node.inputs[1:]), 0
    return list(node.inputs), 0


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
