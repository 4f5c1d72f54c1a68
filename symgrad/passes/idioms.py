"""Idioms whose derivative is known to be simpler than their chain rule: stop what cannot matter.

Contract: `stop_shifts(graph)` finds the max shift that users write for numerical stability,
`m = np.max(z, axis, keepdims=True)` used as `z - m`, in a log-sum-exp
`m + np.log(np.sum(np.exp(z - m), axis, keepdims=True))` or a softmax
`np.exp(z - m) / np.sum(np.exp(z - m), axis, keepdims=True)`. Either value is the same for any
shift m, so its derivative with respect to m is exactly zero; the chain rule would compute it
anyway (the gradient of `max` and two cancelling terms, five passes over z). Those uses of m
become `stop_gradient(m)`: the code computes the same values, and no cotangent or tangent flows
into m from them. Uses of m elsewhere are left as they are.
"""

from __future__ import annotations

from symgrad.ir import Graph


def stop_shifts(graph: Graph) -> Graph:
    for node in list(graph.nodes()):
        if node.op == "add":
            for k in (0, 1):
                m, log = node.inputs[k], node.inputs[1 - k]
                if graph[log].op != "log" or not _shifted_sum(graph, graph[log].inputs[0], m):
                    continue
                total = graph[log].inputs[0]
                s = _shift_of(graph, total)
                e = graph[total].inputs[0]
                if (
                    _only(graph, s, {e})
                    and _only(graph, e, {total})
                    and _only(graph, total, {log})
                    and _only(graph, log, {node.id})
                ):
                    _stop(graph, node.id, m)
                    _stop(graph, s, m)
        if node.op == "divide":
            e, total = node.inputs
            s = _exp_shift(graph, e)
            if s is None or not _shifted_sum(graph, total, None) or s != _shift_of(graph, total):
                continue
            if (
                _only(graph, s, {e})
                and _only(graph, e, {total, node.id})
                and _only(graph, total, {node.id})
            ):
                _stop(graph, s, graph[s].inputs[1])
    return graph


def _only(graph: Graph, nid: int, users: set[int]) -> bool:
    """Whether nid is used by those nodes alone, and is not an output: what the shift changes
    in it reaches nothing but the idiom."""
    return set(graph.users(nid)) <= users and nid not in graph.outputs + graph.checks


def _exp_shift(graph: Graph, nid: int) -> int | None:
    """s for nid = exp(s), s = z - m with m = max(z, ...), else None."""
    node = graph[nid]
    if node.op != "exp":
        return None
    s = graph[node.inputs[0]]
    if s.op != "subtract":
        return None
    z, m = s.inputs
    mx = graph[m]
    if mx.op not in ("max", "stop_gradient") or mx.op == "max" and mx.inputs[0] != z:
        return None
    return s.id


def _shift_of(graph: Graph, total: int) -> int | None:
    return _exp_shift(graph, graph[total].inputs[0]) if graph[total].op == "sum" else None


def _shifted_sum(graph: Graph, total: int, m: int | None) -> bool:
    """total = sum(exp(z - m), axis, keepdims) over the axes m = max(z, axis, keepdims) took."""
    s = _shift_of(graph, total)
    if s is None:
        return False
    shift = graph[s].inputs[1]
    if m is not None and shift != m:
        return False
    mx = graph[shift]
    if mx.op == "stop_gradient":
        mx = graph[mx.inputs[0]]
    reduced = graph[total].attrs
    return mx.op == "max" and all(mx.attrs.get(a) == reduced.get(a) for a in ("axis", "keepdims"))


def _stop(graph: Graph, user: int, m: int) -> None:
    """Make `user` read stop_gradient(m) where it reads m."""
    node = graph[user]
    if graph[m].op == "stop_gradient" or m not in node.inputs:
        return
    stopped = graph.add("stop_gradient", (m,), {}, graph[m].loc, order=graph[m].order)
    graph.set_inputs(user, tuple(stopped if i == m else i for i in node.inputs))
