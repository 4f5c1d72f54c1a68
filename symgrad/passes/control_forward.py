"""Forward mode through loops and branches: structured nodes that carry tangents beside values.

Contract: `forward_structured(graph, node, tangents, live, forward, exact)` is called by the
forward pass (`symgrad.passes.forward`) for a `loop`, `while`, `cond`, `loop_vjp` or `cond_vjp`
node with an active operand; `exact(i)` gives the tangent of operand i of exactly i's shape (a
tangent in `tangents` may have a smaller shape that broadcasts to its value's, the tangent of
`x + b` being `x_dot`). The new node's tangent operands are those exact tangents, or zeros of the
operand's shape: in a sub-graph, `forward` takes each tangent param to have its param's shape, so
one of a smaller shape would be silently wrong under a reduction, an index or a matmul.

It adds a new node of the same kind in place of `node`, whose sub-graphs also compute tangents (a
loop carries the tangents of its carried values beside them, a branch computes its outputs'
tangents), moves the old node's items over to it, removes the old node, and returns {item: its
tangent item} for the outputs that carry tangents (items without one are no longer live: their
users treat them as constants). A loop body's outputs after its carried values and stacked outputs
(recorded branch decisions, the flag of a loop that can break) have no tangents and stay last, as
do a cond's recorded decisions (attribute `n_decisions`).

Forward over reverse: a loop that records a tape keeps recording it, and its tape item maps to
itself in the result (attribute `dotted`: the carried values that now have tangents). The
tangent of the `loop_vjp` reading that tape walks the same tape backwards through the JVP of its
body, carrying the tangents of the running cotangents beside them and summing the tangents of
the captured values' cotangents; it reads the carried values' tangents from the tape, and the
forward loop records those it reads and no others (attribute `taped`: the carried positions on
the tape). The tangent of a `cond_vjp` runs the JVP of the same branch's VJP.
"""

from __future__ import annotations

import copy
from typing import Callable

from symgrad.ir import Graph
from symgrad.ir.structured import Cond, Loop, LoopVjp
from symgrad.passes.activity import active as active_nodes
from symgrad.passes.control import _active_operands, _arrange, _inert_outputs, _operands
from symgrad.passes.dce import dce
from symgrad.rules import Value, building, ops


def forward_structured(
    graph: Graph, node, tangents: dict, live: set, forward: Callable, exact: Callable
) -> dict:
    """Forward mode through a loop or a cond: a new node of the same kind whose sub-graphs also
    compute tangents (a loop carries the tangents of its carried values beside them), in place
    of `node`. Its tangent operands are `exact(i)`, or zeros of i's shape where i has no tangent.
    Returns {new item: its tangent item} for the outputs that carry tangents."""
    if node.op in _BACKWARD:
        return _BACKWARD[node.op](graph, node, tangents, live, forward, exact)
    operands, first = _operands(node)
    k = node.attrs.get("n_carried", 0)
    seeds = [j for j, i in enumerate(operands) if i in tangents]
    if node.op == "cond":
        active = seeds
        n_out, n_stacked = len(node.attrs["branches"][0].outputs), 0
        wrts = [[p for p, j in enumerate(ps) if j in active] for ps in node.attrs["params"]]
        inert = _inert_outputs(node.attrs["branches"], wrts, "jvp")
        inert |= set(range(n_out - node.attrs.get("n_decisions", 0), n_out))  # recorded ones
        dotted = [j for j in range(n_out) if j not in inert]  # the outputs that get tangents
        branches, params = [], []
        for branch, ps, wrt in zip(node.attrs["branches"], node.attrs["params"], wrts):
            new_branch = forward(branch, wrt, body=True)
            outs = new_branch.outputs  # a flag, a comparison, a decision: no tangent
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
        dce(new_body)
        attrs = dict(node.attrs, body=new_body, n_carried=k + len(carried_dots))
        attrs.update(n_stacked=2 * n_stacked, dotted=tuple(carried_dots))
        if "cond" in attrs:
            attrs["cond"] = copy.deepcopy(attrs["cond"])
            _arrange(attrs["cond"], 0, k, len(operands) - k, active, carried_dots, extra=True)
    with building(graph, node.loc, tangent=True, order=node.order):
        dot_in = [
            exact(operands[j]) if operands[j] in tangents else ops.zeros_like(Value(operands[j])).id
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
    k_new = attrs.get("n_carried", 0)

    def place(index: int) -> tuple[int, int | None]:
        if node.op == "cond":
            return index, n_out + dotted.index(index) if index in dotted else None
        if index < k:  # a carried value, and its tangent if it carries one
            return index, k + carried_dots.index(index) if index in carried_dots else None
        if index == k + n_stacked:  # the tape, holding the carried values' tangents too
            return k_new + 2 * n_stacked, TAPE
        return k_new + index - k, k_new + n_stacked + index - k  # a stacked output, its tangent

    return _replace_items(graph, node, new, place, live)


TAPE = -1  # where a tape's tangent would be: it records its loop's tangents (attribute `dotted`)


def _replace_items(graph: Graph, node, new: int, place: Callable, live: set):
    """Move node's items over to `new` (the same item nodes, so their users and shape classes
    stay) and remove node: `place(index)` gives an item's new index and its tangent's (None:
    no tangent; TAPE: a tape, which maps to itself in the result)."""
    old_items = {graph[u].attrs["index"]: u for u in graph.users(node.id) if graph[u].op == "item"}
    out = {}
    for index, item in old_items.items():
        new_index, dot_index = place(index)
        graph.set_inputs(item, (new,))
        graph[item].attrs["index"] = new_index
        if dot_index is None:  # no tangent: its users treat it as a constant
            live.discard(item)
        elif dot_index == TAPE:
            out[item] = item
        else:
            dot = graph.add("item", (new,), {"index": dot_index}, node.loc, tangent=True)
            graph[dot].tan_of = item
            out[item] = dot
    graph.remove([node.id])
    return out


def _reorder(g: Graph, order: list[int]) -> None:
    g.params = list(order)
    for position, p in enumerate(order):
        g[p].attrs["index"] = position


def _forward_loop_vjp(
    graph: Graph, node, tangents: dict, live: set, forward: Callable, exact: Callable
) -> dict:
    """The tangent of a backward loop: a `loop_vjp` over the same tape, carrying the tangents
    of its running cotangents beside them and accumulating the tangents of its sums. Each step
    reads the tangents of that iteration's carried values from the tape (the forward loop
    records them when it carries them: attribute `dotted`), and runs the JVP of the body."""
    a, view = node.attrs, LoopVjp(node)
    body, outs, ps = view.body, view.outs, view.body.params
    n_tape, n_state, n_stacked, m = view.n_tape, view.n_state, view.n_stacked, view.n_captured
    tape = node.inputs[0]
    state_in, rows_in, captured_in = (
        [node.inputs[i] for i in part]
        for part in (view.state_inputs, view.row_inputs, view.captured_inputs)
    )
    entry, captured, state, rows = (
        view.entry_params,
        view.captured_params,
        view.state_params,
        view.row_params,
    )
    forward_loop = Loop(graph[graph[tape].inputs[0]])
    loop, first = forward_loop.node, forward_loop.counted
    dotted = loop.attrs["dotted"] if tangents.get(tape) == tape else ()
    k_loop = forward_loop.k - len(dotted)  # its carried values before their tangents
    on_tape = list(loop.attrs.get("taped", range(k_loop)))  # those its tape records
    candidates = [(j, entry[first + on_tape.index(j)]) for j in dotted if j in on_tape]
    taped = [p for _, p in candidates]
    active_captured = [c for c in range(m) if captured_in[c] in tangents]
    active_rows = [r for r in range(n_stacked) if rows_in[r] in tangents]
    active_state = {s for s in range(n_state) if state_in[s] in tangents}
    while True:  # a running cotangent an active value flows into is active too
        seeds = taped + [captured[c] for c in active_captured] + [rows[r] for r in active_rows]
        reached = active_nodes(body, seeds + [state[s] for s in sorted(active_state)], "jvp")
        grown = active_state | {
            pos
            for r, (kind, pos, _) in enumerate(outs)
            if kind == "state" and body.outputs[r] in reached
        }
        if grown == active_state:
            break
        active_state = grown
    active_state = sorted(active_state)
    wrt_nodes = taped + [captured[c] for c in active_captured] + [state[s] for s in active_state]
    wrt_nodes += [rows[r] for r in active_rows]
    new_body = forward(body, [ps.index(p) for p in wrt_nodes], body=True)
    dot_of = dict(zip(wrt_nodes, new_body.params[len(ps) :]))
    dots = lambda nodes: [dot_of[p] for p in nodes]  # noqa: E731
    out_dots = new_body.outputs[len(outs) :]
    dotted_outs = [
        r
        for r, (kind, pos, _) in enumerate(outs)
        if (pos in active_state if kind == "state" else body.outputs[r] in reached)
    ]
    new_body.outputs = [*new_body.outputs[: len(outs)], *(out_dots[r] for r in dotted_outs)]
    dce(new_body)
    kept = [(j, p) for j, p in candidates if new_body.users(dot_of[p])]  # tangents it reads
    new_body.remove(dot_of[p] for _, p in candidates if (_, p) not in kept)
    if dotted:  # the forward loop records those tangents, and no others
        loop.attrs["taped"] = (*on_tape, *(k_loop + dotted.index(j) for j, _ in kept))
    n_carried = len(on_tape)
    _reorder(
        new_body,
        [
            *entry[: first + n_carried],
            *dots([p for _, p in kept]),
            *entry[first + n_carried :],
            *captured,
            *dots([captured[c] for c in active_captured]),
            *state,
            *dots([state[s] for s in active_state]),
            *rows,
            *dots([rows[r] for r in active_rows]),
        ],
    )
    new_outs = list(outs)
    for r in dotted_outs:
        kind, pos, name = outs[r]
        new_outs.append(
            (kind, n_state + active_state.index(pos) if kind == "state" else pos, name + "_dot")
        )
    with building(graph, node.loc, tangent=True, order=node.order):

        def dot(i: int) -> int:
            return exact(i) if i in tangents else ops.zeros_like(Value(i)).id

        state_dots = [dot(state_in[s]) for s in active_state]
        row_dots = [dot(rows_in[r]) for r in active_rows]
        captured_dots = [dot(captured_in[c]) for c in active_captured]
    inputs = [tape, *state_in, *state_dots, *rows_in, *row_dots, *captured_in, *captured_dots]
    attrs = dict(a, body=new_body, outs=tuple(new_outs), n_operands=len(inputs) - 1)
    attrs.update(n_carried=n_state + len(active_state), n_stacked=n_stacked + len(active_rows))
    attrs.update(n_seeds=attrs["n_carried"] + attrs["n_stacked"], n_tape=n_tape + len(kept))
    new = graph.add("loop_vjp", inputs, attrs, node.loc, backward=node.backward, order=node.order)

    def place(r: int) -> tuple[int, int | None]:
        return r, len(outs) + dotted_outs.index(r) if r in dotted_outs else None

    return _replace_items(graph, node, new, place, live)


def _forward_cond_vjp(
    graph: Graph, node, tangents: dict, live: set, forward: Callable, exact: Callable
) -> dict:
    """The tangent of a branch's VJP: a `cond_vjp` on the same condition whose branches are
    the JVPs of its branches, computing the tangents of the cotangents beside them."""
    a, view = node.attrs, Cond(node)
    n, outs, pred = view.n_captured, a["outs"], node.inputs[0]
    operands = [node.inputs[i] for i in view.captured_inputs]
    seeds = [node.inputs[i] for i in view.seed_inputs]
    dot_ops = [j for j in range(n) if operands[j] in tangents]
    dot_seeds = [s for s in range(len(seeds)) if seeds[s] in tangents]
    reached_results: set[int] = set()
    forwards = []
    for branch, ps, wrt in zip(a["branches"], a["params"], a["wrt"]):
        n_cap = len(ps)
        wrt_params = [q for q, j in enumerate(ps) if j in dot_ops] + [n_cap + s for s in dot_seeds]
        reached = active_nodes(branch, [branch.params[q] for q in wrt_params], "jvp")
        reached_results |= {r for i, r in enumerate(wrt) if branch.outputs[i] in reached}
        forwards.append((forward(branch, wrt_params, body=True), wrt_params))
    dotted = sorted(reached_results)
    branches, params, wrts = [], [], []
    for (new_branch, wrt_params), branch, ps, wrt in zip(
        forwards, a["branches"], a["params"], a["wrt"]
    ):
        n_cap, old = len(ps), branch.params
        dot_params = new_branch.params[len(old) :]
        n_cap_dots = sum(q < n_cap for q in wrt_params)
        _reorder(
            new_branch,
            [*old[:n_cap], *dot_params[:n_cap_dots], *old[n_cap:], *dot_params[n_cap_dots:]],
        )
        params.append((*ps, *(n + dot_ops.index(ps[q]) for q in wrt_params if q < n_cap)))
        values, dots = new_branch.outputs[: len(wrt)], new_branch.outputs[len(wrt) :]
        keep = [i for i, r in enumerate(wrt) if r in reached_results]
        new_branch.outputs = [*values, *(dots[i] for i in keep)]
        dce(new_branch)
        wrts.append((*wrt, *(len(outs) + dotted.index(wrt[i]) for i in keep)))
        branches.append(new_branch)
    with building(graph, node.loc, tangent=True, order=node.order):
        op_dots = [exact(operands[j]) for j in dot_ops]
        seed_dots = [exact(seeds[s]) for s in dot_seeds]
    inputs = [pred, *operands, *op_dots, *seeds, *seed_dots]
    new_outs = (*outs, *((outs[r][0], outs[r][1] + "_dot") for r in dotted))
    attrs = dict(a, branches=tuple(branches), params=tuple(params), wrt=tuple(wrts), outs=new_outs)
    attrs.update(n_operands=len(inputs) - 1, n_captured=n + len(dot_ops))
    attrs["n_seeds"] = len(seeds) + len(dot_seeds)
    new = graph.add("cond_vjp", inputs, attrs, node.loc, backward=node.backward, order=node.order)

    def place(r: int) -> tuple[int, int | None]:
        return r, len(outs) + dotted.index(r) if r in dotted else None

    return _replace_items(graph, node, new, place, live)


_BACKWARD = {"loop_vjp": _forward_loop_vjp, "cond_vjp": _forward_cond_vjp}
