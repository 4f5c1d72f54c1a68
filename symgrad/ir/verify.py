"""Structural checks of a graph, run after every pass in tests.

Contract: `verify(graph)` raises `AssertionError` naming the first broken invariant: every input
exists, networkx edges mirror `Node.inputs` position by position, the graph is acyclic, params are
`param` nodes in order, outputs exist, and every op is a structural op or a rule-table entry. A
structured node's graphs agree with its attributes (`symgrad.rules.control`): a loop's body
takes its index, carried and captured values and gives the next carried values, its stacked
rows, its recorded decisions (and its flag to leave); a backward loop's body takes a tape entry
as the forward loop records it, the captured values, the running cotangents and the rows, and
gives one output per entry of `outs`; a branch's graphs give as many outputs as each other.
"""

from __future__ import annotations

import networkx as nx

from symgrad.ir.graph import Graph, subgraphs

STRUCTURAL = {"param", "const"}


def verify(graph: Graph, known_ops=None) -> None:
    assert nx.is_directed_acyclic_graph(graph.nx), f"{graph.name}: the graph has a cycle"
    for node in graph.nodes():
        for i in node.inputs:
            assert i in graph, f"{graph.name}: node {node.id} ({node.op}) uses missing node {i}"
        edges = sorted((d["pos"], u) for u, _, d in graph.nx.in_edges(node.id, data=True))
        assert edges == list(enumerate(node.inputs)), (
            f"{graph.name}: edges of node {node.id} ({node.op}) do not match its inputs"
        )
        if known_ops is not None:
            assert node.op in STRUCTURAL or node.op in known_ops, f"unknown op {node.op!r}"
    for k, p in enumerate(graph.params):
        assert graph[p].op == "param" and graph[p].attrs["index"] == k, f"param {k} is broken"
    for o in graph.outputs + graph.checks:
        assert o in graph, f"{graph.name}: output or check {o} is not in the graph"
    for node in graph.nodes():
        if node.op in _STRUCTURED:
            _STRUCTURED[node.op](graph, node)
        for sub in subgraphs(node):
            verify(sub, known_ops)


def _loop(graph: Graph, node) -> None:
    a, body = node.attrs, node.attrs["body"]
    first, start = (1, 3) if node.op == "loop" else (0, 0)
    k, n_stacked = a["n_carried"], a.get("n_stacked", 0)
    where = f"{graph.name}: {node.op} {node.id}"
    assert len(body.params) == first + len(node.inputs) - start, f"{where}: body params"
    extra = a.get("n_decisions", 0) + (1 if a.get("breaks") else 0)
    assert len(body.outputs) == k + n_stacked + extra, f"{where}: body outputs"
    assert all(0 <= j < k + len(a.get("dotted", ())) for j in a.get("taped", ())), where


def _loop_vjp(graph: Graph, node) -> None:
    a, body = node.attrs, node.attrs["body"]
    where = f"{graph.name}: loop_vjp {node.id}"
    n_state, n_stacked = a["n_carried"], a["n_stacked"]
    m = len(node.inputs) - 1 - n_state - n_stacked
    assert m >= 0, f"{where}: fewer inputs than running cotangents and rows"
    assert len(body.params) == a["n_tape"] + m + n_state + n_stacked, f"{where}: body params"
    assert len(body.outputs) == len(a["outs"]), f"{where}: one body output per entry of outs"
    tape = graph[node.inputs[0]]
    loop = graph[tape.inputs[0]] if tape.op == "item" else None
    if loop is not None and loop.op in ("loop", "while") and loop.attrs.get("tape"):
        la = loop.attrs
        entry = (loop.op == "loop") + len(la.get("taped", range(la["n_carried"])))
        entry += la.get("n_decisions", 0)
        assert a["n_tape"] == entry, f"{where}: its tape entries are not what {loop.id} records"


def _cond(graph: Graph, node) -> None:
    a = node.attrs
    where = f"{graph.name}: {node.op} {node.id}"
    if node.op == "cond":
        counts = {len(b.outputs) for b in a["branches"]}
        assert len(counts) == 1, f"{where}: branches give different numbers of outputs"
    for b, ps in zip(a["branches"], a["params"]):
        assert len(ps) <= len(b.params), f"{where}: a branch lacks params for its operands"


_STRUCTURED = {
    "loop": _loop,
    "while": _loop,
    "loop_vjp": _loop_vjp,
    "cond": _cond,
    "cond_vjp": _cond,
}
