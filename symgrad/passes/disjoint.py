"""Reads past updates (`z = x.copy(); z[1:] = v; z[0]` reads x), of updates, of stacks.

Contract: `read_past(rw, node)` (a `symgrad.passes.simplify` rewriter whose graph has its
Avals) gives, for a `getitem` that alone reads a `setitem`'s result, the same read of the
array before the update where the two indices are static and select disjoint parts of the
first axis (an int, or a slice of ints or None with step 1 or none, each), else None. The
update then has no reader left and goes: a backward pass that zeroes a slice of a cotangent
and reads another entry (`g[1:] = 0.0` then `g[0]`) makes no copy of it for that. (Where the
update has other readers it stays, and reading the array before it would cost a copy.)
`past(graph, node)` is that array before the update, whatever else reads it.
`read_written(rw, node)` gives, for a read of exactly what an update wrote (the same static
index), the value written, where it is a number broadcast (a seed) and has the read's Aval.
`read_joined(rw, node)` gives, for `np.stack(arrays)[k]` (a static int k, stacked along the
first axis), arrays[k] itself where it has the read's Aval (no dtype promoted by the stack):
a function returning `np.stack([e0, e1])` whose caller reads row 0 computes e0 alone.
"""

from __future__ import annotations

from symgrad.ir.avals import ARRAY, Aval
from symgrad.ir.index import Slice
from symgrad.rules import RULES


def read_past(rw, node) -> int | None:
    g = rw.g
    x = past(g, node)
    if x is None or not g.read_alone_by(node.inputs[0], node.id):
        return None  # (read by more, the update stays, and x read after it would be copied)
    return rw.new(node, "getitem", (x,), dict(node.attrs))


def read_written(rw, node) -> int | None:
    """v for `(x[i] = v)[i]`, a static i, where v is a number broadcast or an array made full
    of one (a seed: `g[0] = 1.0`) with the read's Aval: the value just written. (A value
    computed stays read from the array: `x[i] += v` twice updates x in place.)"""
    g = rw.g
    update = _read_of(g, node, "setitem")
    if update is None or len(update.inputs) != 2 or update.attrs != node.attrs:
        return None
    v = g[update.inputs[1]]
    filled = v.op in RULES and RULES[v.op].fill is not None
    if not (filled or v.op == "broadcast_to" and g[v.inputs[0]].op == "const"):
        return None
    known = isinstance(node.aval, Aval) and node.aval.known
    return v.id if known and v.aval == node.aval else None


def past(g, node) -> int | None:
    """The array x a `getitem` of `x[i] = v` reads past (see the module docstring), else None."""
    update = _read_of(g, node, "setitem")
    if update is None or len(update.inputs) != 2:
        return None
    x = g[update.inputs[0]].aval
    if not (isinstance(x, Aval) and x.known and x.kind == ARRAY and x.shape):
        return None
    written = _positions(update.attrs["index"], x.shape[0])
    read = _positions(node.attrs["index"], x.shape[0])
    if written is None or read is None or written & read:
        return None
    return update.inputs[0]


def _read_of(g, node, op: str):
    """The node a static read (`getitem` with no runtime index part) reads, where it is an
    `op` node, else None."""
    if node.op != "getitem" or len(node.inputs) != 1:
        return None
    source = g[node.inputs[0]]
    return source if source.op == op else None


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
    join = _read_of(g, node, "stack")
    index = node.attrs["index"]
    if join is None or join.attrs.get("axis", 0) != 0 or len(index) != 1:
        return None
    (k,) = index
    n = len(join.inputs)
    if type(k) is not int or not -n <= k < n:
        return None
    part = join.inputs[k % n]
    known = isinstance(node.aval, Aval) and node.aval.known
    return part if known and g[part].aval == node.aval else None
