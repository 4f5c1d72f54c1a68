"""A cluster of a loop nest (`symgrad.passes.fuse`) rewritten as one `fused` node.

Contract: `rewrite(graph, members, folds, roles)` replaces a cluster by a `fused` node
(`symgrad.rules.control`) and `item`s standing for its results: its inputs are the values the
cluster reads from outside, its `body` a graph of the work on one entry (params for those
inputs, outputs the members read outside the cluster, then the operands of its `folds`: (op,
axes, keepdims) each). A cluster reading or updating slices (`roles`, `symgrad.passes.stencils`)
gets a param per value read from outside and frame it is read in, an update becomes a `setitem`
of its copy (an `index_add` one of zeros like x), an array filled a node of no inputs with its
`fill`, and a member read at an offset a `getitem` of its copy with that `offset`; the fused
node holds each body node's frame (`frames`), each update's region (`regions`) and the order
its loop runs in (`order`). A view read outside the cluster stays, reading the item of the
value it views. `prune(graph, fused)` drops the results of such a node nothing reads (a value
another nest read for its shape alone) and the work only they needed.
"""

from __future__ import annotations

from symgrad.ir import Graph
from symgrad.ir.avals import ARRAY, Aval
from symgrad.passes import frames as fr
from symgrad.passes.stencils import ELEMENTWISE, FILLED, UPDATE, VIEW, layout
from symgrad.rules import RULES


def axes(axis, rank: int) -> tuple[int, ...] | None:
    """The axes a reduction's `axis` attribute names, sorted and non-negative (None: every
    axis), or None where it names none of the array's clearly."""
    if axis is None:
        return tuple(range(rank))
    named = (axis,) if isinstance(axis, int) else axis
    if not isinstance(named, tuple) or not all(type(a) is int and -rank <= a < rank for a in named):
        return None
    out = tuple(sorted({a % rank for a in named}))
    return out if len(out) == len(named) else None


def rewrite(graph: Graph, members: list[int], folds: list[int], roles: dict) -> None:
    """Replace one cluster by a `fused` node and its items."""
    inside = set(members) | set(folds)
    views = [m for m in members if roles.get(m) == VIEW]
    cells = [m for m in members if roles.get(m) != VIEW]
    lay = layout(graph, members, {m: roles.get(m, ELEMENTWISE) for m in members}) if roles else None
    kept = [v for v in views if _read_outside(graph, v, inside)]  # kept too, reading an item
    used_outside = [
        m
        for m in cells
        if _read_outside(graph, m, inside) or any(graph[v].inputs[0] == m for v in kept)
    ]
    first = graph[members[0]]
    body = Graph(f"{graph.name}_fused", graph.file, graph.line)
    built = _Body(graph, body, lay)
    for m in cells:
        built.member(m, roles.get(m, ELEMENTWISE))
    copies = built.copies
    body.outputs = [copies[m] for m in used_outside] + [copies[graph[f].inputs[0]] for f in folds]
    results = used_outside + folds
    shape = lay.shape if lay else graph[members[0]].aval.shape
    how = tuple(
        (
            graph[f].op,
            axes(graph[f].attrs.get("axis"), len(graph[graph[f].inputs[0]].aval.shape)),
            bool(graph[f].attrs.get("keepdims")),
        )
        for f in folds
    )
    attrs = {"body": body, "shape": shape, "folds": how}
    if lay is not None:
        attrs.update(frames=built.frames, regions=built.regions, order=lay.order)
        attrs["start"] = lay.start
    fused = graph.add(
        "fused",
        built.reads,
        attrs,
        first.loc,
        backward=first.backward,
        tangent=first.tangent,
        aval=tuple(graph[r].aval for r in results),
    )
    graph.set_order(fused, min(graph[r].order for r in results))
    for k, r in enumerate(results):
        old = graph[r]
        item = graph.add(
            "item",
            (fused,),
            {"index": k},
            old.loc,
            name=old.name,
            cot_of=old.cot_of,
            tan_of=old.tan_of,
            backward=old.backward,
            tangent=old.tangent,
            aval=old.aval,
        )
        graph.set_order(item, old.order)
        graph.replace_uses(r, item)
    graph.remove(inside - set(kept))


def prune(graph: Graph, fused) -> None:
    """Drop the results of a nest nothing reads (a value another nest read for its shape
    alone: `np.zeros_like(t)`), and the work only they needed."""
    body = fused.attrs["body"]
    items = {graph[u].attrs["index"]: u for u in graph.users(fused.id)}
    n_arrays = len(body.outputs) - len(fused.attrs["folds"])
    keep = [k for k in range(len(body.outputs)) if k in items or k >= n_arrays]
    if len(keep) == len(body.outputs) or not keep:
        return
    body.outputs = [body.outputs[k] for k in keep]
    fused.aval = tuple(fused.aval[k] for k in keep)
    for new, k in enumerate(keep):
        if k in items:
            graph[items[k]].attrs["index"] = new
    needed = body.ancestors_of(body.outputs) | set(body.outputs) | set(body.params)
    body.remove({n.id for n in body.nodes() if n.id not in needed})


def _read_outside(graph: Graph, m: int, inside: set[int]) -> bool:
    return m in graph.outputs or m in graph.checks or any(u not in inside for u in graph.users(m))


class _Body:
    """The body graph of a fused node, built member by member: its params (one per value
    read from outside and frame read in), its nodes, each member's copy (`copies`); with a
    layout (`stencils`), each node's frame (`frames`), each update's region (`regions`), and
    for each member read at an offset a `getitem` of its copy with that `offset`."""

    def __init__(self, graph: Graph, body: Graph, lay):
        self.graph, self.body, self.lay = graph, body, lay
        self.copies: dict[int, int] = {}
        self.reads: list[int] = []  # the fused node's inputs, one per param
        self.params: dict[tuple, int] = {}
        self.shifted: dict[tuple, int] = {}
        self.frames: dict[int, tuple] = {}
        self.regions: dict[int, tuple] = {}

    def member(self, m: int, kind: str) -> None:
        graph, body, lay = self.graph, self.body, self.lay
        node = graph[m]
        frame = lay.frames[m] if lay else None
        data = dict(loc=node.loc, name=node.name, aval=node.aval)
        data.update(backward=node.backward, tangent=node.tangent)
        if kind == FILLED:
            nid = body.add(node.op, (), {"fill": RULES[node.op].fill}, **data)
        elif kind == UPDATE:
            if node.op == "setitem":
                base = self.operand(m, 0, frame)
            else:  # index_add: zeros like x, v at the index
                base = body.add("zeros_like", (), {"fill": 0}, node.loc, aval=node.aval)
                self.frames[base] = frame
            value = self.operand(m, 1, lay.regions[m])
            nid = body.add("setitem", (base, value), node.attrs, **data)
            self.regions[nid] = lay.regions[m]
        else:
            ins = [self.operand(m, k, frame) for k in range(len(node.inputs))]
            nid = body.add(node.op, ins, node.attrs, **data)
        if lay is not None:
            self.frames[nid] = frame
        self.copies[m] = nid

    def operand(self, m: int, pos: int, frame) -> int:
        """The body node member m reads at input position pos, in this frame."""
        graph, body = self.graph, self.body
        i = graph[m].inputs[pos]
        if self.lay is not None and (m, pos) in self.lay.reads:
            w, off = self.lay.reads[(m, pos)]
            if not any(c for _, c in off) and not any(k for k, _ in off):
                return self.copies[w]
            if (w, off, frame) not in self.shifted:
                at = body.add("getitem", (self.copies[w],), {"offset": off}, aval=graph[w].aval)
                self.shifted[(w, off, frame)] = at
                self.frames[at] = frame
            return self.shifted[(w, off, frame)]
        if i in self.copies:
            return self.copies[i]
        if _number_const(graph, i):
            c = body.const(graph.const_value(i), graph[i].loc)
            body[c].aval = graph[i].aval
            return c
        if self.lay is not None:  # a slice of an array from outside: that array, read there
            i, frame = _unviewed(graph, i, frame, self.lay.shape) or (i, frame)
        if (i, frame) not in self.params:
            p = body.param(graph[i].name or "a", graph[i].loc)
            body[p].aval = graph[i].aval
            self.params[(i, frame)] = p
            self.reads.append(i)
            if self.lay is not None:
                self.frames[p] = frame
        return self.params[(i, frame)]


def _unviewed(graph: Graph, view: int, frame, nest: tuple):
    """(the array, its frame) where a value read from outside in this frame is a slice of an
    array (every index item a slice: `x[1:]` read at the entries of z[1:] is x read at i), so
    that the nest reads the array itself, once per index where two slices of it agree; else
    None."""
    node = graph[view]
    if node.op != "getitem" or len(node.inputs) != 1:
        return None
    base = graph[node.inputs[0]].aval
    if not (isinstance(base, Aval) and base.known and base.kind == ARRAY):
        return None
    index = fr.static_index(node.attrs["index"], len(base.shape))
    axes = fr.ranged(frame)
    if index is None or any(type(it) is int for it in index) or len(axes) != len(base.shape):
        return None
    if fr.lengths(frame, nest) != node.aval.shape:
        return None
    out = list(frame)
    for d, it, n in zip(axes, index, base.shape):
        lo, length = frame[d].lo, nest[d]
        start = slice(it.start, it.stop).indices(n)[0]
        if it.start is not None and it.start < 0 and start == n + it.start and n == length:
            begin = fr.Bound(lo.k - 1, lo.c - it.start)  # (from the end: the length cancels)
        else:
            begin = fr.Bound(lo.k, lo.c - start)
        end = fr.Bound(begin.k + 1, begin.c) if n == length else begin.plus(n)
        if not {begin.k, end.k} <= {0, 1} or begin.at(length) != lo.at(length) - start:
            return None
        out[d] = fr.Axis(begin, end)
    return node.inputs[0], tuple(out)


def _number_const(graph: Graph, nid: int) -> bool:
    """A constant number, written into the loop as a literal."""
    node = graph[nid]
    return node.op == "const" and isinstance(node.attrs["value"], (bool, int, float))
