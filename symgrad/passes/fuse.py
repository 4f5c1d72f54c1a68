"""Fusion: clusters of elementwise work become `fused` nodes, one loop nest each when compiled.

Contract: `fuse(graph)` rewrites a specialised graph (every Aval known) in place, for a backend
that compiles loops (`symgrad.emit.kernels`). A cluster is a set of elementwise nodes of one
array shape whose rules can be spelled on numbers (`Rule.scalar`), joined along their edges,
with the reductions (`Rule.fold`: sum, mean, along any static axes) of its members. Its inputs from
outside broadcast to its shape (resolved statically) or are numbers. A cluster is worth a loop
when it holds two computations or more (a fold counts). Each cluster becomes one `fused` node
(`symgrad.rules.control`): its inputs are the values the cluster reads from outside, its `body`
a graph of the elementwise work on one entry (params for those inputs, outputs the members
read outside the cluster, then the operands of its `folds`: (op, axes, keepdims) each), and
`item`s stand for its results.

Clusters never make a cycle: a set of nodes joins only where no path leaves it and comes back
(through nodes outside, a cluster counting as one node) and no member reads a fold of its own
cluster (the total is known only after the loop). In loop bodies and branches, a cluster that
adds up a total is a loop too: a step's `np.sum(x[i : i + k] * w)` is one call, with no array
made for its temporaries (a chain of elementwise work alone, Numba's array expressions already
compute in one loop where the loop runs compiled). So is a cluster of a backward loop's body
(`loop_vjp`) whose every value read outside it is added, entry for entry, into the running
cotangent of a value the loop captures (`_added`: `w_bar += g * x[i : i + k]`, or at a view of
it, `x_bar[i : i + k] += g * w`, where the shapes decide that the view has the value's shape):
the nest adds them in where it computes them (`symgrad.emit.scatter.into`), and no array is
made for them at each step.

A loop's results added into slices of an array of zeros made for them (`g = np.zeros_like(x);
g[:-1] = a; g[1:] += b`, or `_index_add(x, a, [:-1])` for the first two: the backward pass of
reads `x[:-1]`, `x[1:]`) are added in the loop
itself, at the slices' offsets (`g[i + 1] += b_i`), and the array is a result of the loop
(`attrs["scatters"]`: per array, its shape, dtype and (body output, offset per axis) of each
value added in); no array is made for a or b. Setting the first slice of zeros is adding to it.
"""

from __future__ import annotations

import math

from symgrad.ir import Graph
from symgrad.ir.avals import ARRAY, PYTHON, SCALAR, Aval, broadcast
from symgrad.ir.graph import subgraphs
from symgrad.ir.index import Slice
from symgrad.ir.structured import LoopVjp
from symgrad.rules import RULES
from symgrad.rules.indexing import basic, region


def fuse(graph: Graph, body: bool = False, added: frozenset = frozenset()) -> Graph:
    """Rewrite each cluster worth a loop as a `fused` node, in graph and in the graphs its
    loops and branches own (`body`; `added`: the values a backward loop's step adds into its
    running cotangents); returns graph."""
    for members, folds in _clusters(graph):
        work = len(folds) + sum(1 for m in members if graph[m].op != "const")
        if work >= 2 and (folds or not body) or not folds and _all_added(graph, members, added):
            _rewrite(graph, members, folds)
    for node in list(graph.nodes()):
        if node.id in graph and node.op in ("zeros_like", "zeros", "index_add"):
            _absorb(graph, node)
    for node in graph.nodes():
        if node.op != "fused":
            for sub in subgraphs(node):
                fuse(sub, body=True, added=_added(node) if node.op == "loop_vjp" else frozenset())
    return graph


def _all_added(graph: Graph, members: list[int], added: frozenset) -> bool:
    """Whether every value of the cluster read outside it is added into a running cotangent."""
    inside = set(members)
    read = [
        m for m in members if m in graph.outputs or any(u not in inside for u in graph.users(m))
    ]
    return bool(read) and all(m in added for m in read)


def _added(node) -> frozenset:
    """The values a `loop_vjp`'s step adds, entry for entry, into the running cotangent of a
    captured value x: a body output of x's shape and dtype (`acc += v`), or v of an output
    `index_add(x, v, index)` of a basic index whose region has v's shape where the shapes
    decide it (`acc[index] += v`, a view of acc: broadcasting nothing)."""
    view = LoopVjp(node)
    body, out = view.body, set()
    for r, (kind, pos, _) in enumerate(view.outs):
        if kind != "acc":
            continue
        o, x = body.outputs[r], body[view.captured_params[pos]]
        if body.users(o) or body.outputs.count(o) != 1:
            continue
        v = body[o].inputs[1] if body[o].op == "index_add" else o
        shape = _shape(body[v].aval)
        if shape is None or body[v].aval.dtype != x.aval.dtype:
            continue
        if v == o:
            out |= {v} if shape == x.aval.shape else set()
        elif body[o].inputs[0] == x.id and body.users(v) == [o] and v not in body.outputs:
            parts = {"parts": [body[p].aval for p in body[o].inputs[2:]]}
            out |= {v} if basic(parts, body[o].attrs) and region(body, body[o]) == shape else set()
    return frozenset(out)


def _shape(aval) -> tuple[int, ...] | None:
    """The shape of a non-empty array of numbers whose Aval is known, else None."""
    ok = isinstance(aval, Aval) and aval.known and aval.kind == ARRAY and aval.dtype.kind in "biuf"
    return aval.shape if ok and aval.shape and math.prod(aval.shape) > 0 else None


def _operand(aval, shape: tuple[int, ...]) -> bool:
    """Whether a value of this Aval can be read entry by entry in a loop over `shape`."""
    if not (isinstance(aval, Aval) and aval.known and aval.dtype.kind in "biuf"):
        return False
    if aval.kind in (PYTHON, SCALAR):
        return True
    return aval.kind == ARRAY and broadcast([aval.shape, shape]) == shape


def _elementwise(graph: Graph, node) -> tuple[int, ...] | None:
    """The loop shape of an elementwise node a loop can compute, else None."""
    rule = RULES.get(node.op)
    if rule is None or rule.shape != "elementwise" or rule.scalar is None:
        return None
    if node.attrs.get("kwargs"):
        return None
    shape = _shape(node.aval)
    if shape is None or not all(_operand(graph[i].aval, shape) for i in node.inputs):
        return None
    return shape


AXIS_FOLD_MAX = 1 << 16  # entries: a total along some axes (an array of them) is added up in
# the loop below this size, where it saves a call; above it, NumPy's vectorised reduction beats
# the loop's adding into an array (measured: the MLP rows of benchmarks/bench_table.py)


def _fold(graph: Graph, node) -> bool:
    """A sum or mean of an array along static axes (no dtype or other keywords): of every
    axis, or of a small array (`AXIS_FOLD_MAX`)."""
    rule = RULES.get(node.op)
    if rule is None or rule.fold is None or node.attrs.get("kwargs") or not node.inputs:
        return False
    shape = _shape(graph[node.inputs[0]].aval)
    if shape is None or not (isinstance(node.aval, Aval) and node.aval.known):
        return False
    reduced = _axes(node.attrs.get("axis"), len(shape))
    every = reduced == tuple(range(len(shape)))
    return reduced is not None and (every or math.prod(shape) <= AXIS_FOLD_MAX)


def _axes(axis, rank: int) -> tuple[int, ...] | None:
    """The axes a reduction's `axis` attribute names, sorted and non-negative (None: every
    axis), or None where it names none of the array's clearly."""
    if axis is None:
        return tuple(range(rank))
    named = (axis,) if isinstance(axis, int) else axis
    if not isinstance(named, tuple) or not all(type(a) is int and -rank <= a < rank for a in named):
        return None
    out = tuple(sorted({a % rank for a in named}))
    return out if len(out) == len(named) else None


class _Clusters:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.position = {n.id: k for k, n in enumerate(graph.nodes())}
        self.of: dict[int, int] = {}  # node -> cluster
        self.members: dict[int, set[int]] = {}
        self.shape: dict[int, tuple] = {}
        self.folds: set[int] = set()

    def legal(self, nodes: set[int]) -> bool:
        """No member reads a fold among them, and no path leaves them and comes back, counting
        each other cluster as one node (it runs as one call: a path into one of its members
        and out of another is a path through it)."""
        g = self.graph
        if any(i in nodes and i in self.folds for m in nodes for i in g[m].inputs):
            return False
        stack = [u for m in nodes for u in g.users(m) if u not in nodes]
        seen: set[int] = set()
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            unit = self.members[self.of[n]] if n in self.of else {n}
            seen |= unit
            for m in unit:
                for u in g.users(m):
                    if u in nodes:
                        return False
                    if u not in seen:
                        stack.append(u)
        return True

    def join(self, nid: int, shape: tuple, candidates: list[int]) -> None:
        """Put nid in a new cluster, with each candidate cluster that can join it."""
        nodes = {nid}
        for c in candidates:
            trial = nodes | self.members[c]
            if self.legal(trial):
                nodes = trial
                del self.members[c]
        cid = nid
        self.members[cid], self.shape[cid] = nodes, shape
        for m in nodes:
            self.of[m] = cid


def _clusters(graph: Graph) -> list[tuple[list[int], list[int]]]:
    """Each cluster worth a loop: (its elementwise members, its folds), in graph order."""
    cl = _Clusters(graph)
    for node in graph.nodes():
        shape = _elementwise(graph, node)
        if shape is not None:
            near = dict.fromkeys(
                cl.of[i] for i in node.inputs if i in cl.of and cl.shape[cl.of[i]] == shape
            )
            cl.join(node.id, shape, [c for c in near if c in cl.members])
        elif _fold(graph, node) and node.inputs[0] in cl.of:
            c = cl.of[node.inputs[0]]
            if c in cl.members and cl.legal(cl.members[c] | {node.id}):
                cl.members[c].add(node.id)
                cl.of[node.id] = c
                cl.folds.add(node.id)
    out = []
    for nodes in cl.members.values():
        if any(graph[m].op != "const" for m in nodes):
            order = sorted(nodes, key=cl.position.__getitem__)
            folds = [m for m in order if m in cl.folds]
            out.append(([m for m in order if m not in cl.folds], folds))
    return sorted(out, key=lambda c: cl.position[c[0][0]])


def _rewrite(graph: Graph, members: list[int], folds: list[int]) -> None:
    """Replace one cluster by a `fused` node and its items."""
    inside = set(members) | set(folds)
    shape = graph[members[0]].aval.shape
    reads: list[int] = []
    for m in members:
        for i in graph[m].inputs:
            if i not in inside and i not in reads and not _number_const(graph, i):
                reads.append(i)
    used_outside = [
        m
        for m in members
        if m in graph.outputs or m in graph.checks or any(u not in inside for u in graph.users(m))
    ]
    first = graph[members[0]]
    body = Graph(f"{graph.name}_fused", graph.file, graph.line)
    copies: dict[int, int] = {}
    for r in reads:
        copies[r] = body.param(graph[r].name or "a", graph[r].loc)
        body[copies[r]].aval = graph[r].aval
    for m in members:
        node = graph[m]
        for i in node.inputs:
            if i not in copies:  # a number
                copies[i] = body.const(graph.const_value(i), graph[i].loc)
                body[copies[i]].aval = graph[i].aval
        copies[m] = body.add(
            node.op,
            [copies[i] for i in node.inputs],
            node.attrs,
            node.loc,
            name=node.name,
            backward=node.backward,
            tangent=node.tangent,
            aval=node.aval,
        )
    body.outputs = [copies[m] for m in used_outside] + [copies[graph[f].inputs[0]] for f in folds]
    results = used_outside + folds
    how = tuple(
        (
            graph[f].op,
            _axes(graph[f].attrs.get("axis"), len(shape)),
            bool(graph[f].attrs.get("keepdims")),
        )
        for f in folds
    )
    fused = graph.add(
        "fused",
        reads,
        {"body": body, "shape": shape, "folds": how},
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
    graph.remove(inside)


def _absorb(graph: Graph, zeros) -> None:
    """Fold the chain of slice updates of a fresh array of zeros by one fused node's results
    into that node (see the module docstring), where there is one."""
    found = _chain(graph, zeros)
    if found is None:
        return
    fused, steps, last, gone = found
    body = fused.attrs["body"]
    old = {graph[u].attrs["index"]: u for u in graph.users(fused.id)}
    moved = [graph[v].attrs["index"] for v, _ in steps]  # arrays, now added in the loop
    results = [k for k in range(len(body.outputs)) if k not in moved]  # the arrays left, folds
    body.outputs = [body.outputs[k] for k in results + moved]
    added = tuple((len(results) + j, offsets) for j, (_, offsets) in enumerate(steps))
    dest = graph[last].aval
    fused.attrs["scatters"] = ((dest.shape, dest.dtype, added),)
    fused.aval = (*(fused.aval[k] for k in results), dest)
    for new, k in enumerate(results):
        if k in old:
            graph[old[k]].attrs["index"] = new
    node = graph[last]
    item = graph.add(
        "item",
        (fused.id,),
        {"index": len(results)},
        node.loc,
        name=node.name,
        cot_of=node.cot_of,
        backward=node.backward,
        tangent=node.tangent,
        aval=dest,
    )
    graph.set_order(item, node.order)
    graph.replace_uses(last, item)
    graph.remove(gone | {v for v, _ in steps})


def _chain(graph: Graph, zeros):
    """(the fused node, [(its item added in, offsets)], the last update, the chain's nodes)
    of the updates of `zeros` by one fused node's results, or None."""
    dest = zeros.aval
    if not (isinstance(dest, Aval) and dest.known and dest.kind == ARRAY):
        return None
    if zeros.attrs.get("kwargs") or zeros.id in graph.outputs or zeros.id in graph.checks:
        return None
    z, fused, steps, gone = zeros.id, None, [], {zeros.id}
    if zeros.op == "index_add":  # `index_add(x, v, index)`: zeros like x, v at the index
        step = (zeros.inputs[1], z, zeros.attrs["index"], set()) if len(zeros.inputs) == 2 else None
    else:  # setting a slice of zeros is adding to it
        step = _set(graph, z, _users(graph, z)) or _add(graph, z, _users(graph, z))
    while step is not None:
        value, update, index, nodes = step
        src = graph[graph[value].inputs[0]] if graph[value].op == "item" else None
        offsets = _offsets(index, dest.shape)
        if src is None or src.op != "fused" or fused not in (None, src) or offsets is None:
            break
        if "scatters" in src.attrs:  # one array of zeros per loop
            break
        starts, shape = offsets
        if shape != src.attrs["shape"] or graph[value].aval != Aval(shape, dest.dtype, ARRAY):
            break
        if len(graph.users(value)) != 1 or value in graph.outputs:
            break
        fused = src
        steps.append((value, starts))
        gone |= nodes
        z = update
        step = None if z in graph.outputs or z in graph.checks else _add(graph, z, _users(graph, z))
    return (fused, steps, z, gone) if steps else None


def _users(graph: Graph, z: int) -> list:
    return [graph[u] for u in graph.users(z)]


def _set(graph: Graph, z: int, users: list):
    """`z[index] = v` of a static index, z's only use: (v, the update, index, its nodes)."""
    if len(users) != 1 or users[0].op != "setitem" or len(users[0].inputs) != 2:
        return None
    s = users[0]
    return (s.inputs[1], s.id, s.attrs["index"], {s.id}) if s.inputs[0] == z else None


def _add(graph: Graph, z: int, users: list):
    """`z[index] = z[index] + v` of a static index, z's only uses."""
    reads = [u for u in users if u.op == "getitem" and len(u.inputs) == 1]
    sets = [u for u in users if u.op == "setitem" and len(u.inputs) == 2 and u.inputs[0] == z]
    if len(users) != 2 or len(reads) != 1 or len(sets) != 1:
        return None
    r, s = reads[0], sets[0]
    total = graph[s.inputs[1]]
    if total.op != "add" or r.id not in total.inputs or graph.users(r.id) != [total.id]:
        return None
    if graph.users(total.id) != [s.id] or r.attrs["index"] != s.attrs["index"]:
        return None
    value = total.inputs[1] if total.inputs[0] == r.id else total.inputs[0]
    return value, s.id, s.attrs["index"], {r.id, total.id, s.id}


def _offsets(index: tuple, shape: tuple):
    """(start per axis, the region's shape) of an index of slices with static bounds and step
    1 (fewer slices than axes: the rest whole), else None."""
    if len(index) > len(shape) or not all(isinstance(it, Slice) for it in index):
        return None
    starts, region = [], []
    for d, n in enumerate(shape):
        it = index[d] if d < len(index) else Slice()
        if not all(b is None or type(b) is int for b in it) or it.step not in (None, 1):
            return None
        start, stop, _ = slice(*it).indices(n)
        starts.append(start)
        region.append(max(stop - start, 0))
    return tuple(starts), tuple(region)


def _number_const(graph: Graph, nid: int) -> bool:
    """A constant number, written into the loop as a literal."""
    node = graph[nid]
    return node.op == "const" and isinstance(node.attrs["value"], (bool, int, float))
