"""The gradients a function returns: arrays of their own, of their arguments' types.

Contract: `own_outputs(graph, typed)` makes each output of a simplified gradient graph a new
array: a `fit` whose value is an argument (after `1.0 * y` became `y`, say), a constant, a
view, or a value another output also returns gets a copy; the same gradient asked for twice
(`argnums=(0, 0)`) is two arrays. In a `typed` graph (a specialisation), a `fit` whose value
already has its argument's Aval is that value, unless a loop or branch gives it (its value may
be a read-only broadcast; a backward loop's sum for a captured value is its own array).
"""

from __future__ import annotations

from symgrad.ir import Graph
from symgrad.ir.avals import PYTHON, SCALAR
from symgrad.passes import specialise
from symgrad.rules import RULES


def _named(graph: Graph, nid: int | None) -> bool:
    """Whether the emitted code names this value after the source (`x`, `x_bar`, `x_bar_dot`),
    as `symgrad.ir.names` does, rather than a temporary `tN`."""
    if nid is None or nid not in graph:
        return False
    node = graph[nid]
    return (
        bool(node.name)
        or node.op == "param"
        or _named(graph, node.cot_of)
        or _named(graph, node.tan_of)
    )


def _accumulated(graph: Graph, item) -> bool:
    """An item that is a backward loop's sum for a captured value: an array of its own."""
    src = graph[item.inputs[0]]
    return src.op == "loop_vjp" and src.attrs["outs"][item.attrs["index"]][0] == "acc"


def _a_number(node, typed: bool) -> bool:
    """Whether a typed graph's node is a number, Python's or NumPy's: no one changes it in
    place, so it is returned as it is (np.copy of a NumPy number is a 0-d array)."""
    return typed and node.aval is not None and node.aval.kind in (PYTHON, SCALAR)


def own_outputs(graph: Graph, typed: bool = False) -> None:
    """Make each gradient a new array: a `fit` whose value is an argument (after `1.0 * y`
    became `y`, say), a constant, a view, or a value another output also returns gets a copy.
    In a `typed` graph, a `fit` whose value has its argument's Aval already is that value,
    unless a loop or branch gives it."""
    seen: set[int] = set()
    for k in range(len(graph.outputs)):  # (replace_uses makes a new list of outputs)
        o = graph.outputs[k]
        if o in graph.outputs[:k] and not _a_number(graph[o], typed):  # argnums=(0, 0): the
            twice = graph[o]  # same gradient twice, as two arrays (a number as it is, twice)
            op, ins = ("fit", twice.inputs) if twice.op == "fit" else ("copy", (o,))
            graph.outputs[k] = o = graph.add(
                op, ins, {}, twice.loc, backward=True, cot_of=twice.cot_of, aval=twice.aval
            )
        node = graph[o]
        if node.op != "fit":
            continue
        v = value = node.inputs[0]
        vnode = graph[v]
        # a new array: not an argument, a constant or a value the function also returns (a
        # number, Python's or NumPy's, which no one changes in place, is returned as it is)
        fresh = vnode.op not in ("param", "const") and v not in graph.outputs
        number = _a_number(vnode, typed)
        viewed = vnode.op in RULES and RULES[vnode.op].is_view(vnode.attrs)
        if not number and (not fresh or v in seen or viewed):
            v = graph.add("copy", (v,), {}, vnode.loc, backward=node.backward, tangent=node.tangent)
            graph[v].aval = vnode.aval
            graph.set_inputs(o, (v,) + node.inputs[1:])
        seen.add(value)
        if graph[v].op == "item" and not _accumulated(graph, graph[v]):  # a loop's or branch's
            continue  # value may be a read-only broadcast: `_fit` copies it then
        if typed and specialise.fitted(graph[v].aval, graph[node.inputs[1]].aval):
            graph.replace_uses(o, v)
            if not _named(graph, v):  # `b_bar`, not `t1`
                kept = graph[v]
                kept.name, kept.cot_of, kept.tan_of = node.name, node.cot_of, node.tan_of
