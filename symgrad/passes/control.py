"""Reverse mode through a loop: a tape of the carried values, and the body's VJP run backwards.

Contract: `reverse_loop(graph, loop, item_cts, live, reverse)` is called by the reverse pass when
it reaches a `loop` node whose outputs (`item` nodes) have cotangents `item_cts[(loop, k)]`. It
marks the loop to record a tape (each iteration's index and carried values, in order), takes the
VJP of the body with respect to the carried and captured params that carry gradient (a fixpoint:
a carried value becomes active when an active value flows into it), and adds a `loop_vjp` node
that replays the tape backwards: each step recomputes that iteration's body from its taped
values and applies the body's VJP, so memory is O(iterations × carried state). It returns
(input node, cotangent contribution) pairs for the loop's active inputs.
"""

from __future__ import annotations

from typing import Callable

from symgrad.ir import Graph
from symgrad.rules import Value, building, ops


def reverse_loop(graph: Graph, loop, item_cts: dict, live: set, reverse: Callable) -> list:
    body: Graph = loop.attrs["body"]
    k = loop.attrs["n_carried"]
    first = 1 if loop.op == "loop" else 0  # a for loop's body takes the index first
    operands = loop.inputs[3:] if loop.op == "loop" else loop.inputs
    wrt = _active_operands(body, k, [j for j, i in enumerate(operands) if i in live], first)
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


def _active_operands(body: Graph, k: int, seeds: list[int], first: int) -> list[int]:
    """Operand positions (carried first, then captured) that carry gradient through the body:
    the active ones, and each carried value an active value flows into."""
    active = set(seeds)
    while True:
        reached = body.descendants_of([body.params[first + j] for j in active])
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
    with building(graph, cond.loc, backward=True):
        for k in range(len(cond.attrs["branches"][0].outputs)):
            g = item_cts.get((cond.id, k))
            seeds.append(g if g is not None else ops.zeros_like(Value(items[k])).id)
    branches, wrts = [], []
    for branch, params in zip(cond.attrs["branches"], cond.attrs["params"]):
        wrt = [p for p, j in enumerate(params) if j in active]
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
