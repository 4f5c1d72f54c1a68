"""Reads past updates: `z = x.copy(); z[1:] = v; z[0]` reads x; reads of a stack's part.

Contract: `read_past(rw, node)` (a `symgrad.passes.simplify` rewriter whose graph has its
Avals) gives, for a `getitem` that alone reads a `setitem`'s result, the same read of the
array before the update where the two indices are static and select disjoint parts of the
first axis (an int, or a slice of ints or None with step 1 or none, each), else None. The
update then has no reader left and goes: a backward pass that zeroes a slice of a cotangent
and reads another entry (`g[1:] = 0.0` then `g[0]`) makes no copy of it for that. (Where the
update has other readers it stays, and reading the array before it would cost a copy.)
`read_joined(rw, node)` gives, for `np.stack(arrays)[k]` (a static int k, stacked along the
first axis), arrays[k] itself where it has the read's Aval (no dtype promoted by the stack):
a function returning `np.stack([e0, e1])` whose caller reads row 0 computes e0 alone.
"""

from __future__ import annotations

from symgrad.ir.avals import ARRAY, Aval
from symgrad.ir.index import Slice


def read_past(rw, node) -> int | None:
    g = rw.g
    if node.op != "getitem" or len(node.inputs) != 1:
        return None
    update = g[node.inputs[0]]
    if update.op != "setitem" or len(update.inputs) != 2:
        return None
    if not g.read_alone_by(update.id, node.id):
        return None  # (read by more, the update stays, and x read after it would be copied)
    x = g[update.inputs[0]].aval
    if not (isinstance(x, Aval) and x.known and x.kind == ARRAY and x.shape):
        return None
    written = _positions(update.attrs["index"], x.shape[0])
    read = _positions(node.attrs["index"], x.shape[0])
    if written is None or read is None or written & read:
        return None
    return rw.new(node, "getitem", (update.inputs[0],), dict(node.attrs))


def _positions(index: tuple, n: int) -> set[int] | None:
    """The positions along the first axis (of length n) that a one-item static index selects."""
    if len(index) != 1:
        return None
    (it,) = index
    if type(it) is int:
        return {it % n} if -n <= it < n else None
    if isinstance(it, Slice) and all(b is None or type(b) is int for b in it):
        if it.step not in (None, 1):
            return None
        return set(range(n)[slice(*it)])
    return None


def read_joined(rw, node) -> int | None:
    g = rw.g
    if node.op != "getitem" or len(node.inputs) != 1:
        return None
    join = g[node.inputs[0]]
    index = node.attrs["index"]
    if join.op != "stack" or join.attrs.get("axis", 0) != 0 or len(index) != 1:
        return None
    (k,) = index
    n = len(join.inputs)
    if type(k) is not int or not -n <= k < n:
        return None
    part = join.inputs[k % n]
    known = isinstance(node.aval, Aval) and node.aval.known
    return part if known and g[part].aval == node.aval else None
