"""Values of one graph computed again in another: a backward loop's body and the forward body
of its loop (`symgrad.passes.residuals`), or two runs of one nested loop.

Contract: `ancestry_ok(g, r, to_other)` says whether node r of graph g is computed from params
that `to_other` maps (to params of another graph) by plain primitives alone: no backward or
tangent node, no loop or branch. `copy_node(g, other, r, to_other, keys)` gives the node of
`other` computing what r computes, matching node by node as CSE does (`keys`: other's nodes by
`Node.key`, updated), and made there with what it needs where `other` lacks it.
"""

from __future__ import annotations

from symgrad.ir import Graph
from symgrad.rules import RULES


def ancestry_ok(g: Graph, r: int, to_other: dict) -> bool:
    for a in g.ancestors_of([r]):
        node = g[a]
        if node.op == "param" and a not in to_other:
            return False
        if node.backward or node.tangent:
            return False
        if node.op not in ("param", "const") and RULES[node.op].structured:
            return False
    return True


def copy_node(g: Graph, other: Graph, r: int, to_other: dict, keys: dict, make=True) -> int | None:
    """(None where other lacks a node and `make` is false.)"""
    made = dict(to_other)
    needed = g.ancestors_of([r])
    for node in g.nodes():
        if node.id not in needed or node.id in made:
            continue
        inputs = tuple(made[i] for i in node.inputs)
        probe = type(node)(-1, node.op, inputs, node.attrs)
        nid = keys.get(probe.key())
        if nid is None:
            if not make:
                return None
            nid = other.add(node.op, inputs, dict(node.attrs), node.loc, name=node.name)
            keys[other[nid].key()] = nid
        made[node.id] = nid
    return made[r]
