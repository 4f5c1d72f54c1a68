"""Dead code: the nodes that no output or check of a graph needs, removed.

Contract: `dce(graph)` removes in place every node that is not a param and that no output or
check depends on (the graphs structured nodes own are left as they are).
"""

from __future__ import annotations

from symgrad.ir import Graph


def dce(graph: Graph) -> None:
    keep = graph.ancestors_of(graph.outputs + graph.checks) | set(graph.params)
    graph.remove([nid for nid in graph.ids() if nid not in keep])
