"""Copies dropped, for code that changes no array in place.

Contract: `uncopied(graph)` points the users of each `copy` node (`np.copy(x)`, `x.copy()`, and
those `symgrad.passes.outputs` adds so that each gradient is an array of its own) at the value
copied, in the graph and in every graph its structured nodes own, and removes the copies. For a
module emitted without updates in place (`emit_module(..., in_place=False)`, a specialisation
for arrays of another library, `symgrad.foreign`) a copy protects nothing: no line changes the
array copied or the copy. Dask's arrays cannot change at all, and NumPy's `np.copy` of one is
not Dask's: it would compute the array.
"""

from __future__ import annotations

from symgrad.ir import Graph
from symgrad.ir.graph import subgraphs
from symgrad.passes.dce import dce


def uncopied(graph: Graph) -> Graph:
    for node in list(graph.nodes()):
        for sub in subgraphs(node):
            uncopied(sub)
        if node.op == "copy":
            graph.replace_uses(node.id, node.inputs[0])
    dce(graph)
    return graph
