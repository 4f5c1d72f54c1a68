"""Method spellings: a value known to be an array written with its method or attribute.

Contract: `spell_methods(graph)` sets, on every node of the typed graph (and of the graphs its
structured nodes own) whose rule's emitter has an array `method` (`symgrad.rules.table.call`:
`np.sum` is `.sum`; transpose's `.T`, a cast's `.astype`) and whose first operand's Aval is an
array, the attribute `array`: the node is then emitted `g.sum(axis=0)`, `a.T`,
`a.astype(d)`, not `np.sum(g, axis=0)`, `np.transpose(a)`, `np.array(a, dtype=d)`. Both
compute the same; the method skips the dispatch `np.sum` goes through first (about 2 µs a
call, much of a small gradient's time), and `np.array` would compute a Dask array. Run it
last, on a specialised graph: no rewrite is written for the attribute.
"""

from __future__ import annotations

from symgrad.ir import Graph
from symgrad.ir.avals import ARRAY
from symgrad.ir.graph import subgraphs
from symgrad.rules import RULES


def spell_methods(graph: Graph) -> Graph:
    for node in graph.nodes():
        for inner in subgraphs(node):
            spell_methods(inner)
        rule = RULES.get(node.op)
        if rule is None or not getattr(rule.emit, "method", None) or not node.inputs:
            continue
        aval = graph[node.inputs[0]].aval
        if aval is not None and aval.kind == ARRAY and "array" not in node.attrs:
            node.attrs = {**node.attrs, "array": True}
    return graph
