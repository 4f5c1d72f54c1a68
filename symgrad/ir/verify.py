"""Structural checks of a graph, run after every pass in tests.

Contract: `verify(graph)` raises `AssertionError` naming the first broken invariant: every input
exists, each node's users are the nodes using it, once per operand, and networkx edges mirror
`Node.inputs` position by position, the graph is acyclic, params are `param` nodes in order,
outputs exist, and every op is a structural op or a rule-table entry. A
structured node's graphs agree with its attributes (`symgrad.ir.structured`'s `check`): a
loop's body takes its index, carried and captured values and gives the next carried values,
its stacked rows, its recorded decisions (and its flag to leave); a backward loop's body takes
a tape entry as the forward loop records it, the captured values, the running cotangents and
the rows, and gives one output per entry of `outs`; a branch's graphs give as many outputs as
each other.
"""

from __future__ import annotations

from symgrad.ir.graph import Graph, subgraphs
from symgrad.ir.structured import schema

STRUCTURAL = {"param", "const"}


def verify(graph: Graph, known_ops=None) -> None:
    import networkx as nx  # (not imported with symgrad: compiling never needs it)

    assert nx.is_directed_acyclic_graph(graph.nx), f"{graph.name}: the graph has a cycle"
    uses: dict[int, list[int]] = {nid: [] for nid in graph.ids()}
    for node in graph.nodes():
        for i in node.inputs:
            uses.setdefault(i, []).append(node.id)
    for node in graph.nodes():
        for i in node.inputs:
            assert i in graph, f"{graph.name}: node {node.id} ({node.op}) uses missing node {i}"
        edges = sorted((d["pos"], u) for u, _, d in graph.nx.in_edges(node.id, data=True))
        assert edges == list(enumerate(node.inputs)), (
            f"{graph.name}: edges of node {node.id} ({node.op}) do not match its inputs"
        )
        assert graph.users(node.id) == sorted(uses[node.id]), (
            f"{graph.name}: the users of node {node.id} ({node.op}) do not match their inputs"
        )
        if known_ops is not None:
            assert node.op in STRUCTURAL or node.op in known_ops, f"unknown op {node.op!r}"
    for k, p in enumerate(graph.params):
        assert graph[p].op == "param" and graph[p].attrs["index"] == k, f"param {k} is broken"
    for o in graph.outputs + graph.checks:
        assert o in graph, f"{graph.name}: output or check {o} is not in the graph"
    for node in graph.nodes():
        view = schema(node)
        if view is not None:
            view.check(graph)
        for sub in subgraphs(node):
            verify(sub, known_ops)
