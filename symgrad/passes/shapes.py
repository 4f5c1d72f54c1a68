"""Shape classes: which values are known to have the same shape, without knowing any shape.

Contract: `shape_classes(graph)` maps each node to a key, a frozenset of "atoms" (nodes whose
shapes are unknown), meaning "the broadcast of the atoms' shapes"; equal keys mean equal shapes at
run time (broadcasting is commutative, associative and idempotent), and the empty key `SCALAR`
means 0-d. Elementwise ops take the union of their array inputs' keys; full reductions are
scalar; a shape-valued node (`shape(a)`, `broadcast_shapes`) has the key of the shape it holds,
and `broadcast_to`, `reshape` and `unbroadcast` to such a shape take that key, as `fit` to `a`
takes a's; the tangent of a loop's or branch's output has that output's. Passes use this to
drop unbroadcasts and broadcasts that cannot change a shape.
"""

from __future__ import annotations

from symgrad.ir import Graph
from symgrad.rules import RULES

SCALAR: frozenset = frozenset()
_TO_SHAPE = {"broadcast_to", "reshape", "unbroadcast"}  # (v, shape): the result has that shape
_UNION = {"broadcast_shapes"}


def shape_classes(graph: Graph) -> dict[int, frozenset]:
    keys: dict[int, frozenset] = {}
    for node in graph.nodes():
        keys[node.id] = shape_key(graph, node, keys)
    return keys


def shape_classes_again(graph: Graph, keys: dict, rewired: set[int]) -> dict[int, frozenset]:
    """What `shape_classes(graph)` returns, given `keys`, its result for the graph before
    rewrites that added nodes (their keys in `keys`), removed nodes and changed the inputs of
    the nodes `rewired` (and of structured nodes): those nodes, the nodes reading a value whose
    key changed and the tangents of loops' outputs (keyed by what they are tangents of) get
    their keys again, in the same order, and the others keep theirs."""
    out: dict[int, frozenset] = {}
    moved: set[int] = set()
    for node in graph.nodes():
        nid = node.id
        old = keys.get(nid)
        if (
            old is None
            or nid in rewired
            or node.op == "item"
            or any(i in moved for i in node.inputs)
            or node.op not in ("param", "const")
            and RULES[node.op].structured
        ):
            key = shape_key(graph, node, out)
            if key != old:
                moved.add(nid)
            out[nid] = key
        else:
            out[nid] = old
    return out


_HOLDS_SHAPE = {"shape", "broadcast_shapes"}


def shape_key(graph: Graph, node, keys) -> frozenset:
    """The key of one node, given the keys of its inputs."""
    op, own = node.op, frozenset((node.id,))
    if op == "const":
        v = node.attrs["value"]
        return SCALAR if isinstance(v, (int, float, bool)) else own
    if op == "item" and node.tan_of in keys:  # the tangent of a loop's or branch's output
        return keys[node.tan_of]
    if op in ("shape", "fit"):
        return keys[node.inputs[0] if op == "shape" else node.inputs[1]]
    if op in _TO_SHAPE:  # only a shape taken from an array says which array's shape it is
        target = node.inputs[1]
        return keys[target] if graph[target].op in _HOLDS_SHAPE else own
    if op in _UNION:
        return frozenset().union(*(keys[i] for i in node.inputs))
    if op == "getitem" and graph[node.inputs[0]].op in _HOLDS_SHAPE:
        return SCALAR if isinstance(node.attrs["index"][0], int) else own  # one dimension
    rule = RULES.get(op)
    if rule is None:
        return own
    if rule.shape == "scalar":
        return SCALAR
    if rule.shape == "first":
        return keys[node.inputs[0]]
    if rule.shape == "reduce":
        full = node.attrs.get("axis") is None and not node.attrs.get("keepdims")
        return SCALAR if full else own
    if rule.shape == "elementwise":
        return frozenset().union(*(keys[i] for i in node.inputs))
    return own
