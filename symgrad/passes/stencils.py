"""A loop nest's members beyond elementwise work: slices read, slices updated, arrays filled.

Contract. Besides elementwise work (`symgrad.passes.fuse`), a cluster of one loop nest may hold
nodes of three more `role`s, each with a static basic index (`frames.static_index`):

- "view": `w[index]` of a member w, which the nest reads where its reader needs it: at its own
  index, or at an offset (`y[:-1]` read for `z[1:]`: y at i - 1);
- "update": `z[index] = v` (a `setitem` of z, in the nest or not) or `index_add(x, v, index)`
  (zeros like x with v at the index), of a v of the result's dtype: the result is v inside the
  region the index selects and z (or 0) elsewhere, an entry of it computed at each index;
- "filled": an array a constructor fills with one number (`Rule.fill`: np.zeros_like).

`layout(graph, members, roles)` places the members in the nest's index space (`frames`): the
nest's shape is the largest of its members', every member of that shape spans it, an update's
value lies where the update writes it, and elementwise work where its operands lie (`_place`).
It gives the `Layout` (per member its frame, per update its region, per read of a member
through a view or as an update's value the member read and the offset, the order the nest
runs in), or None where the members cannot be placed so: a member placed nowhere, a read of no
fixed offset, a view of a view, reads at offsets that need both orders and cross axes. A nest
whose reads at an offset go along its last axis alone runs from its first index where it can
(`_retimed`): each member computed as many indices ahead as the values read from it need (its
frame moved back by as many, the axis starting below 0), where that keeps no value longer than
one index or the offsets need both orders.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from symgrad.ir.avals import ARRAY, PYTHON, Aval
from symgrad.passes import frames as fr
from symgrad.rules import RULES

ELEMENTWISE, VIEW, UPDATE, FILLED = "elementwise", "view", "update", "filled"


def _array(aval) -> tuple | None:
    """The shape of a non-empty array of numbers whose Aval is known, else None."""
    ok = isinstance(aval, Aval) and aval.known and aval.kind == ARRAY and aval.dtype.kind in "biuf"
    return aval.shape if ok and aval.shape and math.prod(aval.shape) > 0 else None


def _number_aval(aval) -> bool:
    return isinstance(aval, Aval) and aval.known and aval.dtype.kind in "biuf"


def role(graph, node) -> str | None:
    """The node's role in a nest other than elementwise work (see the module docstring)."""
    op = node.op
    if op == "getitem" and len(node.inputs) == 1 and _number_aval(node.aval):
        shape = _array(graph[node.inputs[0]].aval)
        if shape is not None and fr.static_index(node.attrs["index"], len(shape)) is not None:
            return VIEW
    elif op in ("setitem", "index_add") and len(node.inputs) == 2:
        shape = _array(node.aval)
        v = graph[node.inputs[1]].aval
        if shape is None or fr.static_index(node.attrs["index"], len(shape)) is None:
            return None
        same = _number_aval(v) and (
            v.dtype == node.aval.dtype or v.kind == PYTHON and node.aval.dtype.kind == "f"
        )
        return UPDATE if same else None
    elif op in RULES and RULES[op].fill is not None and not node.attrs.get("kwargs"):
        return FILLED if _array(node.aval) is not None else None
    return None


def data_inputs(node, kind: str) -> range | tuple:
    """The positions of a member's inputs whose values it reads (not a shape's: zeros like x)."""
    if kind == ELEMENTWISE:
        return range(len(node.inputs))
    if kind == VIEW:
        return (0,)
    if kind == UPDATE:
        return (0, 1) if node.op == "setitem" else (1,)
    return ()


class Layout(NamedTuple):
    shape: tuple  # the nest's
    frames: dict  # member (not a view) -> its Frame
    regions: dict  # update -> the Frame of the region it writes
    reads: dict  # (member, input position) -> (member read, Offset): through a view, or a value
    order: int  # 1: from the first index; -1: from the last
    start: int = 0  # the first index of the last axis (below 0 where work is retimed)


def layout(graph, members, roles: dict) -> Layout | None:
    cells = [m for m in members if roles[m] != VIEW]
    shapes = {m: graph[m].aval.shape for m in cells}
    rank = max(len(s) for s in shapes.values())
    top = [s for s in shapes.values() if len(s) == rank]
    nest = tuple(max(s[d] for s in top) for d in range(rank))
    frames = {m: fr.full(nest) for m in cells if shapes[m] == nest}
    while True:
        placed = [m for m in cells if m not in frames and _place(graph, m, roles, frames, nest)]
        if not placed:
            break
    if len(frames) < len(cells):
        return None
    for m in cells:
        if not fr.within(frames[m], nest) or fr.lengths(frames[m], nest) != shapes[m]:
            return None
    regions = {m: _region(graph, m, frames[m], nest) for m in cells if roles[m] == UPDATE}
    if None in regions.values():  # an update of no entry (`x[:0]`'s cotangent): no frame
        return None
    reads = {}
    for m in cells:
        node = graph[m]
        for pos in data_inputs(node, roles[m]):
            i = node.inputs[pos]
            reader = regions[m] if roles[m] == UPDATE and pos == 1 else frames[m]
            if roles.get(i) == VIEW:
                w = graph[i].inputs[0]
                if w not in frames:  # a view of a view, or of a value the nest does not make
                    return None
                source = _view(graph, i, frames[w], nest)
            elif i in frames:
                w, source = i, frames[i]
            else:
                continue
            off = None if source is None or reader is None else fr.offset(reader, source)
            if off is None or fr.lengths(source, nest) != fr.lengths(reader, nest):
                return None
            if not any(fr.at(off, nest)):  # (the same index for these lengths: `x[-1]` at 2)
                off = tuple((0, 0) for _ in off)
            reads[(m, pos)] = (w, off)
    order = fr.direction([off for _, off in reads.values()], nest)
    if order != 1:  # from the first index where that keeps no value longer than one index
        retimed = _retimed(cells, frames, regions, reads, nest)
        near = retimed is not None and all(c >= -1 for _, o in retimed.reads.values() for _, c in o)
        if retimed is not None and (order is None or near):
            return retimed
    if order is None:
        return None
    return Layout(nest, frames, regions, reads, order)


def _retimed(cells: list[int], frames: dict, regions: dict, reads: dict, nest: tuple):
    """The layout running from the first index of a nest whose reads at an offset go along
    its last axis alone (by a number of indices), each member computed that many indices
    ahead that every value it reads is computed at the same index or before: where m reads w
    at i + d, w runs at least d indices ahead of m (the longest such chain, `ahead[w]`). The
    frames and regions move back by their member's lead, the offsets by the difference; the
    last axis then starts below 0. None where an offset crosses other axes."""
    last = len(nest) - 1
    for _, off in reads.values():
        if any(off[d] != (0, 0) for d in range(last)) or off[last][0]:
            return None
    ahead, position = dict.fromkeys(cells, 0), {m: k for k, m in enumerate(cells)}
    for (m, _), (w, off) in sorted(reads.items(), key=lambda r: -position[r[0][0]]):
        ahead[w] = max(ahead[w], ahead[m] + off[last][1])  # (m's readers came before)
    moved = {m: _moved(f, -ahead[m]) for m, f in frames.items()}
    spans = {u: _moved(f, -ahead[u]) for u, f in regions.items()}
    offsets = {}
    for (m, pos), (w, off) in reads.items():
        k, c = off[last]
        later = (*off[:last], (k, c + ahead[m] - ahead[w]))
        offsets[(m, pos)] = (w, later if any(fr.at(later, nest)) else off[:last] + ((0, 0),))
    start = min(f[last].lo.at(nest[last]) for f in moved.values())
    return Layout(nest, moved, spans, offsets, 1, min(start, 0))


def _moved(frame, by: int):
    """The frame moved along the last axis by `by` indices."""
    *rest, axis = frame
    hi = None if axis.hi is None else axis.hi.plus(by)
    return (*rest, fr.Axis(axis.lo.plus(by), hi))


def _place(graph, m: int, roles: dict, frames: dict, nest: tuple) -> bool:
    """Give member m a frame, if one is to be had, the first of: where an update in the nest
    writes it (first in graph order); where an update of an array placed would write it, or
    the work of m's shape it feeds (`_ahead`: the update the nest is likely to take in); the
    frame of its operand in the nest of its shape (an update's: of the array it updates);
    that of a reader in the nest of its shape; where its first read through a view reads.
    Returns whether it placed m."""
    node, shape = graph[m], graph[m].aval.shape
    users = sorted(graph.users(m))
    for u in users:
        if roles.get(u) == UPDATE and u in frames and graph[u].inputs[1] == m:
            return _put(frames, m, _region(graph, u, frames[u], nest))
    if _put(frames, m, _ahead(graph, m, roles, frames, nest)):
        return True
    kind = roles[m]
    same = [node.inputs[k] for k in data_inputs(node, kind) if not (kind == UPDATE and k == 1)]
    for i in same:
        if i in frames and graph[i].aval.shape == shape:
            return _put(frames, m, frames[i])
    for u in users:
        if u in frames and graph[u].aval.shape == shape and roles.get(u) != VIEW:
            reads = data_inputs(graph[u], roles[u])
            if roles[u] != UPDATE or graph[u].inputs[0] == m and 0 in reads:
                return _put(frames, m, frames[u])
    if kind == ELEMENTWISE:
        for i in node.inputs:
            w = graph[i].inputs[0] if roles.get(i) == VIEW else None
            if w in frames:
                return _put(frames, m, _view(graph, i, frames[w], nest))
    return False


AHEAD = 4  # nodes of work followed from a value to the update that writes it (`_ahead`)


def _ahead(graph, m: int, roles: dict, frames: dict, nest: tuple):
    """The region an update outside the nest writes of an array placed (or of zeros of the
    nest's shape), that writes m or work of m's shape computed from it (up to `AHEAD` nodes
    on), the first found; else None."""
    seen, todo = {m}, [m]
    while todo and len(seen) <= AHEAD:
        v = todo.pop(0)
        for u in sorted(graph.users(v)):
            node = graph[u]
            if u in roles or u in seen:  # (a member: placed by these rules in its turn)
                continue
            if role(graph, node) == UPDATE and node.inputs[1] == v:
                base = node.inputs[0] if node.op == "setitem" else None
                if base in frames:
                    return _region(graph, u, frames[base], nest)
                if base is None and node.aval.shape == nest:
                    return _region(graph, u, fr.full(nest), nest)
            elif node.aval == graph[v].aval and RULES[node.op].shape == "elementwise":
                seen.add(u)
                todo.append(u)
    return None


def _put(frames: dict, m: int, frame) -> bool:
    if frame is None:
        return False
    frames[m] = frame
    return True


def _view(graph, view: int, frame, nest: tuple):
    """The frame of what a view reads of a value of this frame."""
    w = graph[view].inputs[0]
    shape = graph[w].aval.shape
    return fr.region(frame, fr.static_index(graph[view].attrs["index"], len(shape)), shape, nest)


def _region(graph, update: int, frame, nest: tuple):
    node = graph[update]
    shape = node.aval.shape
    return fr.region(frame, fr.static_index(node.attrs["index"], len(shape)), shape, nest)
