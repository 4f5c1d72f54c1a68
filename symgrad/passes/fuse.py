"""Fusion: clusters of elementwise work become `fused` nodes, one loop nest each when compiled.

Contract: `fuse(graph)` rewrites a specialised graph (every Aval known) in place, for a backend
that compiles loops (`symgrad.emit.kernels`). A cluster is a set of elementwise nodes of one
array shape (of several where it reads slices: below) whose rules can be spelled on numbers
(`Rule.scalar`), joined along their edges, with the reductions (`Rule.fold`: sum, mean, max,
min, along any static axes) of its members. Its inputs from outside broadcast to its shape
(resolved statically) or are numbers. A cluster is worth a loop when it holds two computations
or more (a fold counts), or, outside loop bodies, one that reads an array broadcast to its
shape such that NumPy runs it in short inner loops (`_broadcasts`).

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
made for them at each step. So is a cluster of a forward loop's body computing the v of a
carried array's `out = out + v` (`summed`: an array the loop alone reads, untaped), the
addition itself kept out of it: the nest adds v into the carried array in place
(`symgrad.emit.scatter.into_carried`), where each step made an array as large as out.

A cluster may also read and update slices (`symgrad.passes.stencils`): read its members through
static slices (`y[:-1]`), update slices of them or of arrays of zeros it fills (`z[0] = x0;
z[1:] = x[1:] * y[:-1]`, the backward pass's `index_add`), and compute elementwise work on
numbers read at single entries (`g[0] + w[0]`), its members then of several shapes, each placed
in the nest's index space (`stencils.layout`; the fused node's `frames` and `regions` by body
node, and the `order` its loop runs in); a member read at an offset is a `getitem` of its copy
in the body with that `offset`. Such a cluster is worth a loop with one computation, in a loop
body too: Numba spells slices updated with arrays, and arrays of zeros, as many passes and
arrays of their own. Two clusters of work never join through a node that reads one of them at
an offset (`_Clusters.join`); a backward pass so gets one nest recomputing the forward values
from the first index and one computing the cotangents from the last. Results of such a nest
nothing reads (read by another nest for their shape alone) are dropped.

Where NumPy runs its AVX-512 loops on this CPU (`numpy_simd`), an elementwise function it
computes with them (`Rule.simd`: exp, log, tanh, ...) on an array is left to NumPy outside loop
bodies, at any size (`_vectorised`): its call computes it 4-70x faster than a nest calling the C
library per entry (Numba from PyPI has no vectorised math library), and the work around it still
runs in nests. That holds where the clusters without such functions make at most one more
array for each function left out of a nest (a logsumexp's `np.exp(x - a)`: its array is made
anyway; measured, one thread, 640,000 entries: 1.0 against 9.0 ms); where they would make
many (the elementwise chain's gradient, one pass without them, five arrays more with them: 61
against 49 ms), the nests compute them.

A loop's results added into slices of an array of zeros made for them are added in the loop
itself where no nest takes the updates in (`symgrad.passes.absorb`). Each cluster becomes one
`fused` node (`symgrad.passes.fused_nodes`).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from symgrad.ir import Graph
from symgrad.ir.avals import ARRAY, PYTHON, SCALAR, Aval, broadcast
from symgrad.ir.graph import subgraphs
from symgrad.ir.structured import Loop, LoopVjp
from symgrad.passes import frames
from symgrad.passes.absorb import absorb
from symgrad.passes.aliasing import fresh
from symgrad.passes.avals import input_avals
from symgrad.passes.dce import dce
from symgrad.passes.fused_nodes import axes, prune, rewrite
from symgrad.passes.stencils import ELEMENTWISE, VIEW, data_inputs, layout, role
from symgrad.rules import RULES
from symgrad.rules.indexing import basic, region
from symgrad.rules.table import numba_agrees

VECTOR_MIN = 1 << 16  # entries of a nest whose exp, log and tanh are vectorised (`Rule.vector`):
# 0.4 s more to compile per function, 5-10 ns less per entry. Not in loop bodies: counting a
# body's entries over its steps made the RNN's tanh step 0.8 ms faster (200 steps of 256), but
# GradBench's lstm compiled its many small step nests anew where the steps crossed the
# threshold, inside timed first calls: 2.5 s and 7.8 s (its whole total had been 0.65 s)


def fuse(graph: Graph, body: bool = False, added=frozenset(), apart=frozenset()) -> Graph:
    """Rewrite each cluster worth a loop as a `fused` node, in graph and in the graphs its
    loops and branches own (`body`; `added`: the values a loop's step adds into its running
    cotangents or carried arrays; `apart`: the additions into carried arrays, `summed`, which
    join no cluster); returns graph."""
    found = _worth(graph, _found(graph, apart, False), body, added)
    taken = set()  # the nodes NumPy computes much faster, in loop nests as clustered
    if not body and numpy_simd():
        taken = {m for members, _, _ in found for m in members if _vectorised_node(graph, graph[m])}
    if taken:  # left to NumPy where that makes at most one more array for each
        split = _worth(graph, _found(graph, apart, True), body, added)
        if _made(graph, split) - _made(graph, found) <= len(taken):
            found = split
    for members, folds, roles in found:
        rewrite(graph, members, folds, roles)
    for node in list(graph.nodes()):
        if node.op == "fused" and "frames" in node.attrs:
            prune(graph, node)
        elif node.op == "fused" and math.prod(node.attrs["shape"]) >= VECTOR_MIN:
            node.attrs["vector"] = True  # (its exp, log, tanh: `Rule.vector`)
    dce(graph)  # (slices a nest reads through the arrays they slice)
    for node in list(graph.nodes()):
        if node.id in graph and node.op in ("zeros_like", "zeros", "index_add"):
            absorb(graph, node)
    for node in graph.nodes():
        if node.op == "loop":  # `out = out + v`: v added into the carried array (`summed`)
            sums = summed(graph, node)
            fuse(node.attrs["body"], True, frozenset(sums.values()), frozenset(sums))
        elif node.op != "fused":
            for sub in subgraphs(node):
                fuse(sub, body=True, added=_added(node) if node.op == "loop_vjp" else frozenset())
    return graph


def _found(graph: Graph, apart: frozenset, vectorised: bool) -> list:
    """The clusters (`_clusters`), those reading slices sparsely (`_dense`) made work alone."""
    plain: set[int] = set()  # nodes of clusters reading slices not worth a loop: work alone
    while True:
        found, sparse = _clusters(graph, plain, apart, vectorised), set()
        for members, _, roles in found:
            if roles and not _dense(graph, members, roles):
                sparse |= set(members)
        if not sparse:
            return found
        plain |= sparse


def _worth(graph: Graph, found: list, body: bool, added: frozenset) -> list:
    """The clusters worth a loop."""
    out = []
    for members, folds, roles in found:
        work = len(folds) + sum(1 for m in members if m not in roles and graph[m].op != "const")
        if roles:  # slices read or updated, arrays filled: worth a loop with any work
            worth = work >= 1
        else:
            worth = work >= 2 and (folds or not body)
            worth = worth or not folds and _all_added(graph, members, added)
            worth = worth or not body and work == 1 and _broadcasts(graph, members)
        if worth:
            out.append((members, folds, roles))
    return out


def _made(graph: Graph, found: list) -> int:
    """How many arrays the graph's code makes with these clusters as loop nests: a value of a
    nest read outside it, or one NumPy computes."""
    of = {m: k for k, (members, _, _) in enumerate(found) for m in members}
    count = 0
    for node in graph.nodes():
        if not (isinstance(node.aval, Aval) and node.aval.kind == ARRAY) or node.op == "param":
            continue
        c = of.get(node.id)
        read = node.id in graph.outputs or any(of.get(u, -1) != c for u in graph.users(node.id))
        count += c is None or read
    return count


SHORT_RUN_MAX = 64  # entries: see _broadcasts


def _broadcasts(graph: Graph, members: list[int]) -> bool:
    """Whether some member reads an array broadcast to its shape such that NumPy's iterator
    runs it in inner loops of at most `SHORT_RUN_MAX` entries (`_run`): one loop nest beats it
    (measured, one thread: a (1000, 5, 2) `x[:, None, :] - mu[None, :, :]`, runs of 2, 127
    against 17 us). Longer runs stay NumPy's: its loop is as fast, and where it updates an
    operand in place (`scores += np.sum(c**2, axis=1)`, a (10000, 1000) array) the nest's new
    array costs more (measured: GradBench kmeans' cost 48 against 80 ms)."""
    for m in members:
        shape = graph[m].aval.shape
        operands = [graph[i].aval for i in graph[m].inputs]
        arrays = [a.shape for a in operands if isinstance(a, Aval) and a.kind == ARRAY]
        if any(a not in ((), shape) for a in arrays) and _run(shape, arrays) <= SHORT_RUN_MAX:
            return True
    return False


def _run(shape: tuple[int, ...], operands: list[tuple[int, ...]]) -> int:
    """The entries of one inner loop of NumPy's iterator computing an array of `shape` from
    arrays of these shapes: the last axes along which each operand is broadcast or not alike
    (axes of length 1 aside), merged into one."""

    def how(d: int) -> tuple[bool, ...]:  # per operand: broadcast along axis d
        return tuple(len(a) + d < len(shape) or a[d - len(shape)] != shape[d] for a in operands)

    axes = [d for d in range(len(shape)) if shape[d] != 1]
    run = 1
    for d in reversed(axes):
        if how(d) != how(axes[-1]):
            break
        run *= shape[d]
    return run


def _dense(graph: Graph, members: list[int], roles: dict) -> bool:
    """Whether some elementwise work of a cluster reading or updating slices spans half its
    nest or more along every axis: its loop then fills arrays mostly with work, not with the
    zeros or copies around a few entries or rows updated (`g[1] = ...` stays NumPy's)."""
    lay = layout(graph, members, {m: roles.get(m, ELEMENTWISE) for m in members})
    if lay is None:
        return False
    spans = [
        math.prod(frames.lengths(lay.frames[m], lay.shape))
        for m in members
        if m not in roles and graph[m].op != "const" and len(graph[m].aval.shape) == len(lay.shape)
    ]
    return 2 * max(spans, default=0) >= math.prod(lay.shape)


def summed(graph: Graph, node) -> dict[int, int]:
    """For a `loop` node of graph, {body output `p + v`: v} of each carried array p that the
    loop may update in place and each step adds v to, entry for entry (`out = out + w[j] *
    x[j : j + m]`): p's initial value is a new array (`aliasing.fresh`, or a nest's result)
    the loop alone reads, its tape does not record p, and its body reads p only there (not
    as another carried value's next one) and `p + v` only as p's next value, v of p's shape
    and dtype (and no carried value's next one). A nest computing v then adds it
    into p's array (`symgrad.emit.scatter.into`) where the step would make a new one."""
    view, out = Loop(node), {}
    body = view.body
    for j, (i, p) in enumerate(zip(view.carried_inputs, view.carried_params)):
        o, init = body.outputs[j], graph[node.inputs[i]]
        made = fresh(init.op) or init.op == "item" and graph[init.inputs[0]].op == "fused"
        if not made or graph.users(init.id) != [node.id] or init.id in graph.outputs:
            continue
        if view.records and j in view.taped or body[o].op != "add" or body.users(p) != [o]:
            continue
        if p in body.outputs:  # (carried on as another value: `b, c = c, f(b) + c`)
            continue
        if body.users(o) or body.outputs.count(o) != 1 or o in body.checks:
            continue
        others = [v for v in body[o].inputs if v != p]
        if len(others) == 1 and others[0] in body.outputs:  # (v carried on too: `c = v`)
            continue
        if len(others) == 1 and body[o].inputs.count(p) == 1:
            shape, v = _shape(body[p].aval), others[0]
            if shape is not None and _shape(body[v].aval) == shape == _shape(body[o].aval):
                if body[v].aval.dtype == body[p].aval.dtype == body[o].aval.dtype:
                    out[o] = v
    return out


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
    ok = isinstance(aval, Aval) and aval.known and aval.kind == ARRAY and numbas(aval.dtype)
    return aval.shape if ok and aval.shape and math.prod(aval.shape) > 0 else None


NOT_NUMBAS = frozenset(map(np.dtype, (np.float16, np.longdouble, np.clongdouble))) - {
    np.dtype(np.float64),  # (where long double is a double: Windows)
    np.dtype(np.complex128),
}  # the dtypes Numba has not: float16 (NumPy's for an int8's sqrt too) and long double


def numbas(dtype) -> bool:
    """Whether compiled code computes in the dtype: a bool, int or float Numba has."""
    return dtype.kind in "biuf" and dtype not in NOT_NUMBAS


def _operand(aval, shape: tuple[int, ...]) -> bool:
    """Whether a value of this Aval can be read entry by entry in a loop over `shape`."""
    if not (isinstance(aval, Aval) and aval.known and numbas(aval.dtype)):
        return False
    if aval.kind in (PYTHON, SCALAR):
        return True
    return aval.kind == ARRAY and broadcast([aval.shape, shape]) == shape


def _elementwise(graph: Graph, node, vectorised: bool = False) -> tuple[int, ...] | None:
    """The loop shape of an elementwise node a loop can compute, else None; with
    `vectorised`, None too for one NumPy computes much faster (`_vectorised`: a loop
    compiled whole computes it on numbers in any case, so in loop bodies it is not asked)."""
    rule = RULES.get(node.op)
    if rule is None or rule.shape != "elementwise" or rule.scalar is None:
        return None
    if node.attrs.get("kwargs"):
        return None
    shape = _shape(node.aval)
    if shape is None or not all(_operand(graph[i].aval, shape) for i in node.inputs):
        return None
    if not numba_agrees(rule, input_avals(graph, node, rule)):
        return None
    return None if vectorised and _vectorised(rule, node.aval) else shape


def _vectorised_node(graph: Graph, node) -> bool:
    """Whether a loop nest could compute the node, but NumPy much faster (`_vectorised`)."""
    return _elementwise(graph, node) is not None and _vectorised(RULES[node.op], node.aval)


def _vectorised(rule, aval: Aval) -> bool:
    """Whether NumPy computes the rule on an array of this Aval much faster than a loop nest
    (`Rule.simd`, on a CPU it runs those loops on: `numpy_simd`), at any size: a nest's text,
    and so its machine code, serves every length (measured, one thread: `np.exp(x - a)` and
    its sum 6.5 us in a nest, 4.0 us as NumPy calls at 1024 entries, 21 against 6.7 us at
    4096; at 16 entries 1.1 against 1.9 us, which costs less than compiling other nests anew
    for each size: a second or so in the first call). A large nest's own exp, log and tanh
    (`Rule.vector`, `VECTOR_MIN`) are still 1.2-1.5x slower than NumPy's: the nests stay as
    they are (a nest writing a tanh and its derivative made one array more than NumPy's
    tanh between two nests, 10% slower on the layer-norm MLP's)."""
    return aval.dtype.name in rule.simd and numpy_simd()


@functools.cache
def numpy_simd() -> bool:
    """Whether NumPy runs its AVX-512 loops on this CPU (`Rule.simd`): its dispatch of np.exp
    on float64 (`numpy.lib.introspect`, NumPy 2.1 and later; older ones: no)."""
    try:
        from numpy.lib.introspect import opt_func_info
    except ImportError:
        return False
    found = opt_func_info(func_name="^exp$", signature="^float64$").get("exp", {})
    return any(t["current"].startswith(("X86_V4", "AVX512")) for t in found.values())


def _on_numbers(graph: Graph, node) -> bool:
    """Whether node is elementwise work on numbers a loop can compute: a member of a nest only
    where it reads an entry the nest computes (`w[0] + v`, an update's value at one index)."""
    rule = RULES.get(node.op)
    if rule is None or rule.shape != "elementwise" or rule.scalar is None:
        return False
    aval = node.aval
    if node.attrs.get("kwargs") or not (isinstance(aval, Aval) and aval.known):
        return False
    return aval.shape == () and all(_operand(graph[i].aval, ()) for i in node.inputs)


AXIS_FOLD_MAX = 1 << 16  # entries: a total along some axes (an array of them) is added up in
# the loop below this size, where it saves a call; above it, NumPy's vectorised reduction beats
# the loop's adding into an array (measured: the MLP rows of benchmarks/bench_table.py)
SHORT_FOLD_MAX = 64  # entries: a reduction along the last axes of at most this many entries is
# folded at any size: NumPy runs one short inner loop per total (measured, one thread: the sum
# of squares of a (1000, 25, 10) array along its last axis 880 us, folded 171 us; along a last
# axis of 1000 entries NumPy's vectorised sum is 1.8x faster than the loop's)


def _fold(graph: Graph, node) -> bool:
    """A reduction with a `Rule.fold` (sum, mean, max, min) of an array along static axes (no
    dtype or other keywords) whose dtype it folds: of every axis, of a small array
    (`AXIS_FOLD_MAX`), or of few entries along its last axes (`SHORT_FOLD_MAX`)."""
    rule = RULES.get(node.op)
    if rule is None or rule.fold is None or node.attrs.get("kwargs") or not node.inputs:
        return False
    shape = _shape(graph[node.inputs[0]].aval)
    if shape is None or not (isinstance(node.aval, Aval) and node.aval.known):
        return False
    if not rule.fold.takes(graph[node.inputs[0]].aval.dtype.kind):
        return False
    reduced = axes(node.attrs.get("axis"), len(shape))
    if reduced is None:
        return False
    last = reduced == tuple(range(len(shape) - len(reduced), len(shape)))
    short = last and math.prod(shape[d] for d in reduced) <= SHORT_FOLD_MAX
    return len(reduced) == len(shape) or short or math.prod(shape) <= AXIS_FOLD_MAX


class _Clusters:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.position = {n.id: k for k, n in enumerate(graph.nodes())}
        self.of: dict[int, int] = {}  # node -> cluster
        self.members: dict[int, set[int]] = {}
        self.folds: set[int] = set()
        self.roles: dict[int, str] = {}  # members other than elementwise work (`stencils`)

    def legal(self, nodes: set[int]) -> bool:
        """No member reads a fold among them, no path leaves them and comes back, counting
        each other cluster as one node (it runs as one call: a path into one of its members
        and out of another is a path through it), and, where they read or update slices or
        fill arrays, one loop nest can compute them (`stencils.layout`)."""
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
        return self.placed(nodes) is not None

    def placed(self, nodes: set[int]):
        """The layout of nodes (`stencils.layout`; True where none is needed: elementwise work
        of one shape), or None where they cannot be placed in one nest."""
        if not any(m in self.roles for m in nodes):
            return True
        cells = sorted((m for m in nodes if m not in self.folds), key=self.position.__getitem__)
        return layout(self.graph, cells, {m: self.roles.get(m, ELEMENTWISE) for m in cells})

    def join(self, nid: int, candidates: list[int], alone: bool = True) -> None:
        """Put nid in a new cluster, with each candidate cluster that can join it (`alone`:
        even where none can). Two clusters of work join through nid only where neither reads
        the other at an offset: that would tie the order of each one's loop to the other's
        (a backward pass's recomputation of its forward values runs from the first index, the
        cotangents of the values it shifts from the last) for the saving of one array."""
        nodes = {nid}
        for c in candidates:
            trial = nodes | self.members[c]
            if self.legal(trial) and not self._tied(nodes, self.members[c], trial):
                nodes = trial
                del self.members[c]
        if len(nodes) == 1 and not alone:
            return
        cid = nid
        self.members[cid] = nodes
        for m in nodes:
            self.of[m] = cid

    def _tied(self, a: set[int], b: set[int], trial: set[int]) -> bool:
        """Whether a and b both hold work and one reads the other at an offset."""
        work = [any(m not in self.roles and m not in self.folds for m in part) for part in (a, b)]
        if not all(work) or len(a) == 1:
            return False
        lay = self.placed(trial)
        return lay is not True and any(
            (m in a) != (w in a) and any(k or c for k, c in off)
            for (m, _), (w, off) in lay.reads.items()
        )


def _clusters(
    graph: Graph, plain=frozenset(), apart=frozenset(), vectorised: bool = False
) -> list[tuple[list[int], list[int], dict]]:
    """Each cluster: (its members, its folds, the roles of its members other than
    elementwise work), in graph order; the nodes in `plain` join as elementwise work alone,
    if at all, those in `apart` none; with `vectorised`, nodes NumPy computes much faster
    (`_vectorised`) none."""
    cl = _Clusters(graph)
    for node in graph.nodes():
        if node.id in apart:
            continue
        kind = None if node.id in plain else role(graph, node)
        kind = kind or (ELEMENTWISE if _elementwise(graph, node, vectorised) else None)
        numbers = kind is None and node.id not in plain and _on_numbers(graph, node)
        kind = ELEMENTWISE if numbers else kind
        if kind == VIEW:  # joins the cluster of the value it reads, if any (`stencils`)
            w = node.inputs[0]
            if w in cl.of and cl.roles.get(w) != VIEW and w not in cl.folds:
                c = cl.of[w]
                if c in cl.members:
                    cl.roles[node.id] = VIEW
                    cl.members[c].add(node.id)
                    cl.of[node.id] = c
        elif kind is not None:
            if kind != ELEMENTWISE:
                cl.roles[node.id] = kind
            near = dict.fromkeys(
                cl.of[i]
                for k in data_inputs(node, kind)
                if (i := node.inputs[k]) in cl.of and _joins(graph, node, kind, i, cl.roles)
            )
            near = [c for c in near if c in cl.members]
            if numbers:  # only in a nest reading or updating slices (`stencils`)
                near = [c for c in near if any(m in cl.roles for m in cl.members[c])]
            cl.join(node.id, near, alone=not numbers)
        elif _fold(graph, node) and node.inputs[0] in cl.of:
            c = cl.of[node.inputs[0]]
            if cl.roles.get(node.inputs[0]) == VIEW:
                continue
            if c in cl.members and cl.legal(cl.members[c] | {node.id}):
                cl.members[c].add(node.id)
                cl.of[node.id] = c
                cl.folds.add(node.id)
    out = []
    for nodes in cl.members.values():
        inside = nodes - cl.folds
        read = {i for m in inside for i in graph[m].inputs if i in inside}
        views = {m for m in inside if cl.roles.get(m) == VIEW and m not in read}
        nodes = nodes - views  # views nothing in the cluster reads
        if any(graph[m].op != "const" for m in nodes):
            order = sorted(nodes, key=cl.position.__getitem__)
            folds = [m for m in order if m in cl.folds]
            roles = {m: cl.roles[m] for m in order if m in cl.roles}
            out.append(([m for m in order if m not in cl.folds], folds, roles))
    return sorted(out, key=lambda c: cl.position[c[0][0]])


def _joins(graph: Graph, node, kind: str, i: int, roles: dict) -> bool:
    """Whether node may join the cluster of its operand i: elementwise work the cluster of an
    operand of its own shape (a value, or a view of one); an update, that of its array or
    value; a view, that of the value it reads."""
    if kind != ELEMENTWISE:
        return True
    shape = graph[i].aval.shape if isinstance(graph[i].aval, Aval) else None
    return shape == node.aval.shape
