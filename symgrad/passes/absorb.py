"""A loop nest's results added into slices of an array of zeros made for them, in the loop.

Contract: `absorb(graph, zeros)` folds into one `fused` node (`symgrad.passes.fuse`) the chain of
slice updates of a fresh array of zeros (`zeros`: its `zeros_like`, `zeros` or `index_add` node)
by that node's results: `g = np.zeros_like(x); g[:-1] = a; g[1:] += b`, or `_index_add(x, a,
[:-1])` for the first two (the backward pass of reads `x[:-1]`, `x[1:]`), are added in the loop
itself, at the slices' offsets (`g[i + 1] += b_i`), and the array is a result of the loop
(`attrs["scatters"]`: per array, its shape, dtype and (body output, offset per axis) of each
value added in); no array is made for a or b. Setting the first slice of zeros is adding to it.
Nests that read or update slices themselves (`symgrad.passes.stencils`) take such chains in as
members where they can; this serves the rest (a chain after work too sparse for one).
"""

from __future__ import annotations

from symgrad.ir import Graph
from symgrad.ir.avals import ARRAY, Aval
from symgrad.ir.index import Slice


def absorb(graph: Graph, zeros) -> None:
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
        if "scatters" in src.attrs or "frames" in src.attrs:  # one array of zeros per loop,
            break  # and a nest of slices writes its results itself (`symgrad.emit.framed`)
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
