"""What a loop's tape records: the carried values its backward loop reads, and no others.

Contract: `trim(graph, loop, vjp_body, first, k)` is called by `symgrad.passes.control` once the
VJP graph of a loop's body is built (params `[*index, *carried, *decisions, *captured, *state,
*rows]`, `first` the index params, `k` the carried values). It keeps on the tape the carried
values whose value the VJP reads (recomputation of the body included) and removes the params of
the others from `vjp_body`; it records the kept positions as the loop's attribute `taped` and
returns them, with the loop inputs to add to the backward loop as captured values (each gets a
new param after the captured ones).

A carried value the VJP reads only for its shape and dtype (`fit` to it, `zeros_like` of it:
`symgrad.passes.aliasing.meta_use`) is not taped either when every iteration's value has the
shape, dtype and type of its initial value: the body's next value is the param itself updated
by `setitem` (`out[i] = v`), through loops and branches that do the same. Those reads then take
the initial value, captured by the backward loop. So a loop filling an array element by element
tapes only its index, and the array can be updated in place (`symgrad.emit.inplace`).

`untape(graph, back)` takes off the tape what the body of `loop_vjp` node `back` no longer
reads once simplified for known shapes (the values its `fit`s read for their shape alone).
"""

from __future__ import annotations

from symgrad.ir import Graph
from symgrad.ir.structured import Loop
from symgrad.passes.aliasing import value_read
from symgrad.passes.dce import dce


def trim(graph: Graph, loop, vjp_body: Graph, first: int, k: int) -> tuple[list[int], list[int]]:
    view = Loop(loop)
    body, carried = view.body, view.carried_params
    entry = vjp_body.params[first : first + k]
    n_before_state = len(vjp_body.params) - k - view.n_stacked
    taped, shaped = [], []
    for j, p in enumerate(entry):
        if not vjp_body.users(p):
            continue
        if not value_read(vjp_body, p) and same_meta(body, view.next_carried[j], carried[j]):
            shaped.append(j)
        else:
            taped.append(j)
    params = list(vjp_body.params)
    for j in shaped:  # the initial value, captured: its shape and dtype are every iteration's
        q = vjp_body.param(vjp_body[entry[j]].name)
        vjp_body.set_order(q, vjp_body[entry[j]].order)
        vjp_body.replace_uses(entry[j], q)
        params.insert(n_before_state, q)
        n_before_state += 1
    dropped = {entry[j] for j in range(k) if j not in taped}
    vjp_body.remove(dropped)
    vjp_body.params = [p for p in params if p not in dropped]
    for position, p in enumerate(vjp_body.params):
        vjp_body[p].attrs["index"] = position
    loop.attrs["taped"] = tuple(taped)
    return taped, [loop.inputs[view.carried_inputs[j]] for j in shaped]


def recorder(graph: Graph, back):
    """The forward loop whose tape `loop_vjp` node `back` walks, where `back` alone reads it
    (so what the tape holds can change), else None."""
    item = graph[back.inputs[0]]
    loop = graph[item.inputs[0]] if item.op == "item" else None
    if loop is None or loop.op not in ("loop", "while") or graph.users(item.id) != [back.id]:
        return None
    return loop


def untape(graph: Graph, back) -> None:
    """Take off the tape of the loop that `loop_vjp` node `back` walks the carried values its
    body no longer reads (a typed VJP needs no value for its shape alone), then the carried
    values nothing needs any more (`prune`)."""
    a, body = back.attrs, back.attrs["body"]
    loop = recorder(graph, back)
    if loop is None:
        return
    first, taped = Loop(loop).counted, Loop(loop).taped  # the entry: the index, the taped values
    unread = [r for r in range(len(taped)) if not body.users(body.params[first + r])]
    if not unread:
        return
    body.remove([body.params[first + r] for r in unread])
    body.params = [p for p in body.params if p in body]
    for position, p in enumerate(body.params):
        body[p].attrs["index"] = position
    loop.attrs["taped"] = tuple(j for r, j in enumerate(taped) if r not in unread)
    a["n_tape"] -= len(unread)
    prune(graph)


def same_meta(graph: Graph, nid: int, param: int) -> bool:
    """Whether value nid of graph has the shape, dtype and type of `param`: it is param, or
    param updated by `setitem`s, loops carrying it so and branches giving it so."""
    node = graph[nid]
    if nid == param:
        return True
    if node.op == "setitem":
        return same_meta(graph, node.inputs[0], param)
    if node.op != "item":
        return False
    src, index = graph[node.inputs[0]], node.attrs["index"]
    if src.op in ("loop", "while"):
        view = Loop(src)
        return (
            index < view.k
            and same_meta(graph, src.inputs[view.carried_inputs[index]], param)
            and same_meta(view.body, view.next_carried[index], view.carried_params[index])
        )
    if src.op == "cond":
        for branch, ps in zip(src.attrs["branches"], src.attrs["params"]):
            alike = [
                q for q, j in zip(branch.params, ps) if same_meta(graph, src.inputs[1 + j], param)
            ]
            if not any(same_meta(branch, branch.outputs[index], q) for q in alike):
                return False
        return True
    return False


def prune(graph: Graph) -> None:
    """Drop from each loop of graph the carried values nothing needs: no item of them is read,
    its tape does not record them, and nothing needed (its other outputs, its condition, the
    next value of a carried value needed) is computed from them; values that need only each
    other go together. A loop recomputed by a backward pass often carries an array only its
    own next value needs (the VJP reads its shape from the initial value), and it need not be
    computed, nor taped."""
    for node in list(graph.nodes()):
        if node.op in ("loop", "while") and "dotted" not in node.attrs:
            _drop(graph, node, _unneeded(graph, node))


def _unneeded(graph: Graph, loop) -> set[int]:
    view = Loop(loop)
    body, k, params = view.body, view.k, view.carried_params
    needed = set(view.taped) if view.records else set()
    for u in graph.users(loop.id):
        j = graph[u].attrs["index"]
        if j < k and (graph.users(u) or u in graph.outputs):
            needed.add(j)
    cond = loop.attrs.get("cond")
    if cond is not None:
        needed |= {j for j in range(k) if cond.users(cond.params[j])}
    roots = body.outputs[k:] + body.checks
    while True:
        reached = body.ancestors_of(roots + [view.next_carried[j] for j in needed])
        grown = needed | {j for j in range(k) if params[j] in reached}
        if grown == needed:
            return set(range(k)) - needed
        needed = grown


def _drop(graph: Graph, loop, dropped: set[int]) -> None:
    """Remove the carried values `dropped`: their operands, body params and outputs,
    condition params, and items; the items, tape positions and params after each move down.
    All at once: one may be read by the next value of another dropped one (`acc + sum(b)`,
    neither needed), whose param would be gone before it."""
    if not dropped:
        return
    view = Loop(loop)
    a, body, start = loop.attrs, view.body, view.first_carried
    params = [body.params.index(view.carried_params[j]) for j in sorted(dropped)]
    kept = [j for j in range(view.k) if j not in dropped]
    for u in graph.users(loop.id):
        index = graph[u].attrs["index"]
        if index in dropped:
            graph.remove([u])
        elif index < view.k:
            graph[u].attrs["index"] = kept.index(index)
        else:
            graph[u].attrs["index"] = index - len(dropped)
    gone = {start + j for j in dropped}
    graph.set_inputs(loop.id, [i for k, i in enumerate(loop.inputs) if k not in gone])
    body.outputs = [o for k, o in enumerate(body.outputs) if k not in dropped]
    dce(body)  # what only the dropped values needed
    for position in reversed(params):
        _drop_param(body, position)
    if "cond" in a:
        for j in sorted(dropped, reverse=True):
            _drop_param(a["cond"], j)
    a["n_carried"] -= len(dropped)
    a["n_operands"] = len(loop.inputs) - start
    if "taped" in a:
        a["taped"] = tuple(t - sum(d < t for d in dropped) for t in a["taped"])


def _drop_param(g: Graph, position: int) -> None:
    p = g.params.pop(position)
    g.remove([p])
    for k, q in enumerate(g.params):
        g[q].attrs["index"] = k
