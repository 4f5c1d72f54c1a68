"""Activity analysis: which values depend on the differentiated inputs and reach the output.

Contract: `active(graph, wrt)` is the set of nodes that (a) depend on a param in `wrt` through
differentiable inputs of differentiable rules and (b) are ancestors of an output. Only these get
cotangents, so nothing is computed for inputs nobody asked about, or past a comparison or argmax.
"""

from __future__ import annotations

from symgrad.ir import Graph
from symgrad.rules import RULES, split_inputs


def diff_inputs(graph: Graph, nid: int) -> list[tuple[str, int | None, int]]:
    """(param name, position in a sequence or None, input node) for each differentiable input."""
    node = graph[nid]
    rule = RULES[node.op]
    out = []
    for name, ids in split_inputs(rule, node.inputs, node.attrs).items():
        if name not in rule.vjp:
            continue
        if isinstance(ids, list):
            out.extend((name, k, i) for k, i in enumerate(ids))
        else:
            out.append((name, None, ids))
    return out


def active(graph: Graph, wrt: list[int]) -> set[int]:
    depends: set[int] = set(wrt)
    for node in graph.nodes():
        if node.op in ("param", "const") or RULES[node.op].nondiff:
            continue
        if any(i in depends for _, _, i in diff_inputs(graph, node.id)):
            depends.add(node.id)
    return depends & graph.ancestors_of(graph.outputs)
