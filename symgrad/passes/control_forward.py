"""Forward mode through loops and branches: structured nodes that carry tangents beside values.

Contract: `forward_structured(graph, node, tangents, live, forward)` is called by the forward
pass (`symgrad.passes.forward`) for a `loop`, `while` or `cond` node with an active operand. It
adds a new node of the same kind, in place of `node`, whose sub-graphs also compute tangents (a
loop carries the tangents of its carried values beside them, a branch computes its outputs'
tangents), points the users of the old node's items at the new node's, and returns {new item:
its tangent item} for the outputs that carry tangents. A loop body's outputs after its carried
values and stacked outputs (recorded branch decisions, the flag of a loop that can break) have
no tangents and stay last.
"""

from __future__ import annotations

import copy
from typing import Callable

from symgrad.ir import Graph
from symgrad.passes.control import _active_operands, _arrange, _inert_outputs, _operands
from symgrad.passes.simplify import dce
from symgrad.rules import Value, building, ops


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
        n_all = len(body.outputs)  # then decisions, and whether to leave the loop
        values, dots = new_body.outputs[:n_all], new_body.outputs[n_all:]
        new_body.outputs = [
            *values[:k],
            *(dots[j] for j in carried_dots),  # carried, their tangents
            *values[k:n_out],
            *dots[k:n_out],  # stacked outputs, their tangents
            *values[n_out:],  # decisions, whether to leave the loop (no tangents)
        ]
        if n_all > n_out:
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
