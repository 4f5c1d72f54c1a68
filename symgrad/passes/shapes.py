"""Shape classes: which values are known to have the same shape, without knowing any shape.

Contract: `shape_classes(graph)` maps each node to a key; two nodes with equal keys have equal
shapes at run time, and the key `SCALAR` means 0-d. Elementwise ops take the common key of their
array inputs (scalars broadcast away); full reductions are scalar; `broadcast_to`, `reshape`,
`unbroadcast` and `fit` to the shape of `a` take a's key. Anything else is its own class. Passes
use this to drop unbroadcasts and broadcasts that cannot change a shape.
"""

from __future__ import annotations

from symgrad.ir import Graph
from symgrad.rules import RULES

SCALAR = "scalar"
_LIKE_SECOND = {"unbroadcast", "fit"}  # (ct, x): the result has x's shape
_TO_SHAPE = {"broadcast_to", "reshape"}  # (v, shape(a)): the result has a's shape


def shape_classes(graph: Graph) -> dict[int, object]:
    keys: dict[int, object] = {}
    for node in graph.nodes():
        keys[node.id] = _key(graph, node, keys)
    return keys


def _key(graph: Graph, node, keys) -> object:
    op = node.op
    if op == "const":
        v = node.attrs["value"]
        return SCALAR if isinstance(v, (int, float, bool)) else node.id
    if op in _LIKE_SECOND:
        return keys[node.inputs[1]]
    if op in _TO_SHAPE:
        src = graph[node.inputs[1]]
        return keys[src.inputs[0]] if src.op == "shape" else node.id
    rule = RULES.get(op)
    if rule is None:
        return node.id
    if rule.shape == "scalar":
        return SCALAR
    if rule.shape == "reduce":
        return SCALAR if node.attrs.get("axis") is None and not node.attrs.get("keepdims") \
            else node.id
    if rule.shape == "elementwise":
        found = {keys[i] for i in node.inputs} - {SCALAR}
        if not found:
            return SCALAR
        return found.pop() if len(found) == 1 else node.id
    return node.id
