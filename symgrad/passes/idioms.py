"""Idioms whose derivative is known to be simpler than their chain rule: stop what cannot matter.

Contract: `stop_shifts(graph)` finds the max shift that users write for numerical stability,
`m = np.max(z, axis, keepdims=True)` used as `z - m`, in a log-sum-exp
`m + np.log(np.sum(np.exp(z - m), axis, keepdims=True))` (or, summed without keepdims, with m's
kept axes dropped: `m[:, 0] + np.log(np.sum(np.exp(z - m), axis=1))`, `np.squeeze(m, axis) +
...`) or a softmax
`np.exp(z - m) / np.sum(np.exp(z - m), axis, keepdims=True)`. Either value is the same for any
shift m that is one number per slice summed (m keeps the reduced axes, or they are z's leading
axes: `np.max(z, axis=1)` without keepdims lines up with z's columns, not its rows), so its
derivative with respect to m is exactly zero; the chain rule would compute it
anyway (the gradient of `max` and two cancelling terms, five passes over z). Those uses of m
become `stop_gradient(m)`: the code computes the same values, and no cotangent or tangent flows
into m from them. Uses of m elsewhere are left as they are.
"""

from __future__ import annotations

from symgrad.ir import Graph
from symgrad.ir.index import Slice


def stop_shifts(graph: Graph) -> Graph:
    for node in list(graph.nodes()):
        if node.op == "add":
            for k in (0, 1):
                m, log = node.inputs[k], node.inputs[1 - k]
                if graph[log].op != "log":
                    continue
                total = graph[log].inputs[0]
                squeezed = _squeezed(graph, m, total)  # m[:, 0] of the m the sum reads
                if squeezed is None and not _shifted_sum(graph, total, m):
                    continue
                s = _shift_of(graph, total)
                e = graph[total].inputs[0]
                if (
                    _only(graph, s, {e})
                    and _only(graph, e, {total})
                    and _only(graph, total, {log})
                    and _only(graph, log, {node.id})
                    and (squeezed is None or _only(graph, m, {node.id}))
                ):
                    shift = m if squeezed is None else squeezed
                    _stop(graph, node.id if squeezed is None else m, shift)
                    _stop(graph, s, shift)
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
    same = all(mx.attrs.get(a) == reduced.get(a) for a in ("axis", "keepdims"))
    return mx.op == "max" and same and _constant_along_sums(mx.attrs)


def _constant_along_sums(attrs: dict) -> bool:
    """Whether `z - m`, m = max(z, axis, keepdims), shifts each slice the sum adds up by one
    number: m keeps the reduced axes (keepdims), or has none (axis None), or they are z's
    leading axes, m's axes then lining up with z's last ones. (`np.max(z, axis=1)` of a square
    z without keepdims lines up with z's columns, `z - m` shifting each row by every m[j].)"""
    axis = attrs.get("axis")
    if attrs.get("keepdims") or axis is None:
        return True
    axes = axis if isinstance(axis, tuple) else (axis,)
    return all(type(a) is int for a in axes) and sorted(axes) == list(range(len(axes)))


def _squeezed(graph: Graph, m: int, total: int) -> int | None:
    """M for m = M[:, 0] or np.squeeze(M, axis), where total = sum(exp(z - M), axis) without
    keepdims and M = max(z, axis, keepdims=True): m holds M's values, with the axes the sum
    drops dropped."""
    node, s = graph[m], _shift_of(graph, total)
    if node.op not in ("getitem", "squeeze") or s is None or node.inputs[0] != graph[s].inputs[1]:
        return None
    mx, reduced = graph[node.inputs[0]], graph[total].attrs
    if mx.op != "max" or not mx.attrs.get("keepdims") or reduced.get("keepdims"):
        return None
    axis = mx.attrs.get("axis")
    axes = (axis,) if isinstance(axis, int) else axis
    if reduced.get("axis") != axis or not isinstance(axes, tuple):
        return None
    if node.op == "squeeze":  # (without an axis, it would drop other axes of length 1 too)
        dropped = node.attrs.get("axis")
        return mx.id if dropped is not None and dropped in (axis, axes) else None
    index = node.attrs.get("index", ())
    if len(node.inputs) != 1 or not all(type(a) is int and a >= 0 for a in axes):
        return None
    ints = tuple(d for d, it in enumerate(index) if type(it) is int)
    full = all(it == Slice() for d, it in enumerate(index) if d not in ints)
    zeros = all(index[d] in (0, -1) for d in ints)
    return mx.id if full and zeros and ints == tuple(sorted(axes)) else None


def _stop(graph: Graph, user: int, m: int) -> None:
    """Make `user` read stop_gradient(m) where it reads m."""
    node = graph[user]
    if graph[m].op == "stop_gradient" or m not in node.inputs:
        return
    stopped = graph.add("stop_gradient", (m,), {}, graph[m].loc, order=graph[m].order)
    graph.set_inputs(user, tuple(stopped if i == m else i for i in node.inputs))
