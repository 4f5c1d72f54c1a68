"""Batching: one run of a JVP or VJP graph for a whole batch of seeds (a Jacobian's columns).

Contract: `batch(graph, seeds)` rewrites, in place, every node computed from the params `seeds`
so that it works on values with one more, trailing axis (column k belongs to seed k), following
`symgrad.rules.batching`: an elementwise node gets a length-1 trailing axis on its other operands,
a subscript one more `:`, a primitive with a batching rule its batched function, and any other
primitive emitted as a call is applied column by column (`_per_column`). It returns False, having
changed nothing, when some node cannot be batched (loops, branches, primitives with list inputs
or written as operators other than the elementwise ones); the caller then loops over the seeds.
`plan` finds the rewrites without making them and `apply` makes them, for graphs batched all
or none. Run it after `simplify`: shape reasoning does not know about the batch axis.
"""

from __future__ import annotations

from symgrad.ir import Graph
from symgrad.ir.avals import INDICES
from symgrad.ir.index import Dyn, Slice
from symgrad.rules import RULES
from symgrad.rules.elementwise import python_pick
from symgrad.rules.nondiff import TUPLES
from symgrad.rules.table import SEQ, STATIC


def batch(graph: Graph, seeds: list[int]) -> bool:
    steps = plan(graph, seeds)
    if steps is not None:
        apply(graph, steps)
    return steps is not None


def apply(graph: Graph, steps: list) -> None:
    """Carry out the rewrites `plan` found."""
    for step in steps:
        step(graph)


def plan(graph: Graph, seeds: list[int]) -> list | None:
    """The rewrites, one per node computed from the seeds; None if one of them cannot batch.
    Planning changes nothing, so several graphs can be batched all or none."""
    batched = set(seeds)
    steps = []
    for node in graph.nodes():
        hits = [pos for pos, i in enumerate(node.inputs) if i in batched]
        if not hits:
            continue
        rule = RULES[node.op]
        if rule.structured:
            return None
        names = [p.name for p in rule.array_params]
        first = {"getitem": 1, "index_add": 2}.get(node.op)  # the index's first runtime part
        if first is not None and any(_a_tuple(graph, i) is None for i in node.inputs[first:]):
            return None  # (a tuple of index arrays of a length not known)
        if node.op == "getitem" and hits == [0]:  # the index's runtime parts are not batched
            steps.append(_index(node.id, first))
        elif node.op == "index_add" and hits == [1]:
            steps.append(_index(node.id, first, template=0, like=1))
        elif rule.nondiff:
            return None  # a shape or comparison of a batched value
        elif any(p.kind == SEQ for p in rule.params):  # a list of arrays, the rule's one input
            if len(rule.array_params) != 1 or rule.array_params[0].name not in rule.batch:
                return None
            fn, kwargs = rule.batch[rule.array_params[0].name]
            steps.append(_call(node.id, fn, {**kwargs, "batched": tuple(hits)}))
        elif rule.shape == "elementwise":
            steps.append(_elementwise(node.id, [p for p in range(len(names)) if p not in hits]))
        elif _batched_names(names, hits) in rule.batch:
            fn, kwargs = rule.batch[_batched_names(names, hits)]
            steps.append(_call(node.id, fn, kwargs))
        elif len(hits) == 1 and getattr(rule.emit, "calls", None):
            steps.append(_call(node.id, "_per_column", {}, of=rule.emit.calls, column=hits[0]))
        else:
            return None
        batched.add(node.id)
    return steps


def _batched_names(names: list[str], hits: list[int]):
    """The key of `Rule.batch` for these batched inputs: a name, or a tuple of names."""
    return names[hits[0]] if len(hits) == 1 else tuple(names[p] for p in hits)


def _rewire(graph: Graph, nid: int, pos: int, new: int) -> None:
    """Make `new` operand `pos` of node nid."""
    inputs = graph[nid].inputs
    graph.set_inputs(nid, inputs[:pos] + (new,) + inputs[pos + 1 :])


def _derived(graph: Graph, like: int, op: str, inputs, attrs) -> int:
    """A new node computed just before node `like`, in its place in the listing."""
    ref = graph[like]
    return graph.add(
        op, inputs, attrs, ref.loc, backward=ref.backward, tangent=ref.tangent, order=ref.order
    )


def _elementwise(nid: int, unbatched: list[int]):
    def step(graph: Graph) -> None:
        picked = graph[nid].attrs.get("builtin")  # (Python's abs, min, max: NumPy's on a batch,
        if picked:  # Python's pick column by column: `elementwise.python_pick`)
            graph[nid].attrs = {**graph[nid].attrs, "builtin": ""}
        for pos in unbatched:
            i = graph[nid].inputs[pos]
            if graph.is_const(i) and isinstance(graph.const_value(i), (int, float, bool)):
                continue  # a Python number broadcasts as it is
            rank = getattr(graph[i].aval, "rank", None)
            if rank == 0:
                continue  # (so does a 0-d value)
            if rank is None and _maybe_a_number(graph, i):  # which `_unmapped` keeps one (its
                attrs = {"fn": "_unmapped", "n_arrays": 1}  # dtype is weak: float32 * 2.0 is
                unmapped = _derived(graph, nid, "batched", (i,), attrs)  # float32)
            else:
                unmapped = _derived(graph, nid, "expand_dims", (i,), {"axis": -1})
            _rewire(graph, nid, pos, unmapped)
        if picked in ("min", "max"):  # (node nid rewritten in place: its users keep it)
            add = lambda op, inputs: _derived(graph, nid, op, inputs, {})  # noqa: E731
            op, inputs = python_pick(picked, *graph[nid].inputs, add)
            graph[nid].op, graph[nid].attrs = op, {}
            graph.set_inputs(nid, inputs)

    return step


def _maybe_a_number(graph: Graph, nid: int) -> bool:
    """Whether a value may be a Python number when it runs: a param, a number, or Python's
    arithmetic on such values (a NumPy function's value is an array or a NumPy scalar)."""
    todo, seen = [nid], set()
    while todo:
        node = graph[todo.pop()]
        if node.id in seen or node.op == "param":
            continue
        seen.add(node.id)
        if node.op == "const":
            if not isinstance(node.attrs["value"], (int, float, complex)):
                return False
        elif getattr(RULES[node.op].emit, "python", None) is None:  # (no Python operator)
            return False
        else:
            todo.extend(node.inputs)
    return True


def _a_tuple(graph: Graph, nid: int) -> int | None:
    """How many index arrays a runtime part of an index is a tuple of (np.triu_indices'),
    0 where it is one array or int; None where it is such a tuple of a length not known."""
    aval = graph[nid].aval
    if getattr(aval, "kind", None) == INDICES:
        return len(aval.parts)
    return None if graph[nid].op in TUPLES else 0


def _index(nid: int, first: int, template: int | None = None, like: int | None = None):
    """A subscript (or the scatter of one), its index's runtime parts from input `first` on,
    with a trailing `:` for the batch axis; a scatter's template array first gets the batch
    axis of the values it receives."""

    def step(graph: Graph) -> None:
        _spliced(graph, nid, first)
        node = graph[nid]
        node.attrs = dict(node.attrs, index=tuple(node.attrs.get("index", ())) + (Slice(),))
        if template is not None:
            x, v = node.inputs[template], node.inputs[like]
            shaped = _derived(graph, nid, "batched", (x, v), {"fn": "_with_batch", "n_arrays": 2})
            _rewire(graph, nid, template, shaped)

    return step


def _spliced(graph: Graph, nid: int, first: int) -> None:
    """Each runtime part of node nid's index that is a tuple of index arrays (`x[iu]` of
    `iu = np.triu_indices(n)`) as its arrays, one part each (`x[iu[0], iu[1]]`): after it, the
    batch axis's `:` would make NumPy read the tuple as one array indexing one axis."""
    node = graph[nid]
    parts = node.inputs[first:]
    if not any(_a_tuple(graph, p) for p in parts):
        return
    spread, new = {}, []  # part k -> the Dyns of its arrays; the parts afterwards
    for k, p in enumerate(parts):
        if not _a_tuple(graph, p):
            spread[k] = (Dyn(len(new)),)
            new.append(p)
            continue
        spread[k] = ()
        for j, aval in enumerate(graph[p].aval.parts):
            spread[k] += (Dyn(len(new)),)
            new.append(_derived(graph, nid, "getitem", (p,), {"index": (j,), "n_parts": 0}))
            graph[new[-1]].aval = aval

    def item(it):
        if isinstance(it, Slice):
            return (Slice(*(item(b)[0] if isinstance(b, Dyn) else b for b in it)),)
        return spread[it.k] if isinstance(it, Dyn) else (it,)

    index = tuple(x for it in node.attrs["index"] for x in item(it))
    graph.set_inputs(nid, node.inputs[:first] + tuple(new))
    node.attrs = dict(node.attrs, index=index, n_parts=len(new))


def _call(nid: int, fn: str, kwargs: dict, **extra):
    """The node becomes a call of the batched function `fn` on the same operands, the rule's
    static attributes (and `kwargs`) passed as keywords."""

    def step(graph: Graph) -> None:
        node = graph[nid]
        rule = RULES[node.op]
        statics = {
            p.name: node.attrs[p.name]
            for p in rule.params
            if p.kind == STATIC and node.attrs.get(p.name, p.default) != p.default
        }
        passed = tuple({**statics, **dict(node.attrs.get("kwargs", ())), **kwargs}.items())
        node.op = "batched"
        node.attrs = {"fn": fn, "n_arrays": len(node.inputs), "kwargs": passed, **extra}

    return step
