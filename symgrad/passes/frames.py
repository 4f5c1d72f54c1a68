"""Where each value of a loop nest lives in the nest's index space: frames, and reads at offsets.

Contract. A compiled loop nest (`symgrad.passes.fuse`) runs over a shape S, its index i (one
per axis). A value of the nest of shape s has a `Frame` in that space: per axis of S, either a
range [lo, hi) (an axis of the value: its entry along it is i - lo) or a point (an axis the
value lacks, as `z[0]` lacks z's first); it is computed at the indices of its frame. A bound is
an affine `Bound` of the axis's length n, `n * k + c` with k 0 or 1, so that the text of a nest
(`symgrad.emit.kernels`) serves other lengths where the slices of the source were written
from the end (`x[:-1]`). `region(frame, index, shape)` is the frame of the part of a value
that a static basic index (ints and slices of step 1, `static_index`) selects: what a
slice `w[1:]` reads, what an update `z[1:] = v` writes. `offset(reader, source)` is how far
from the reader's index a value of frame `source` is read where the reader, of frame
`reader`, reads its entries in order (`w[1:]` at the entries of z[:-1]: one index on): per
axis the difference of the lower bounds (an `Offset`), None where the two do not match axis
for axis (a range read at a point: no fixed offset).

A value read at an offset computed in the same loop nest must be computed before it is read:
at an index the nest reaches first. `direction(offsets)` is the order that does so for all of
them, 1 (each index from the first, the offsets before it in lexicographic order) or -1 (from
the last), or None where they need both.
"""

from __future__ import annotations

from typing import NamedTuple

from symgrad.ir.index import Slice


class Bound(NamedTuple):
    """n * k + c, n the length of the nest's axis."""

    k: int
    c: int

    def at(self, n: int) -> int:
        return self.k * n + self.c

    def plus(self, c: int) -> "Bound":
        return Bound(self.k, self.c + c)


class Axis(NamedTuple):
    """A range [lo, hi) of a nest's axis, or the point lo (hi None)."""

    lo: Bound
    hi: Bound | None

    @property
    def point(self) -> bool:
        return self.hi is None


Frame = tuple  # of Axis, one per axis of the nest
Offset = tuple  # of (k, c) per axis: n * k + c


def full(shape: tuple) -> Frame:
    """The frame of a value of the nest's own shape."""
    return tuple(Axis(Bound(0, 0), Bound(1, 0)) for _ in shape)


def static_index(index: tuple, rank: int) -> tuple | None:
    """The index with a full slice for each axis it leaves out, where it is static and basic:
    ints and slices of ints of step 1 (no None, Ellipsis or runtime part); else None."""
    if len(index) > rank:
        return None
    for it in index:
        if type(it) is int:
            continue
        if not isinstance(it, Slice) or it.step not in (None, 1):
            return None
        if not all(b is None or type(b) is int for b in (it.start, it.stop)):
            return None
    return tuple(index) + (Slice(),) * (rank - len(index))


def ranged(frame: Frame) -> list[int]:
    """The nest's axes that are the value's own, in order."""
    return [d for d, a in enumerate(frame) if not a.point]


def region(frame: Frame, index: tuple, shape: tuple, nest: tuple) -> Frame | None:
    """The frame of `value[index]` for a value of this frame and shape (index: `static_index`),
    in a nest of shape `nest`; None where it selects nothing."""
    out = list(frame)
    for a, (d, it) in enumerate(zip(ranged(frame), index)):
        lo, hi, n = frame[d].lo, frame[d].hi, shape[a]
        if type(it) is int:
            if not -n <= it < n:
                return None
            out[d] = Axis(lo.plus(it) if it >= 0 else hi.plus(it), None)
            continue
        start, stop, _ = slice(it.start, it.stop).indices(n)
        if stop <= start:
            return None
        out[d] = Axis(_bound(it.start, start, lo, hi, n), _bound(it.stop, stop, lo, hi, n))
    frame_out = tuple(out)
    return frame_out if _agrees(frame_out, frame, index, shape, nest) else None


def _bound(written, at: int, lo: Bound, hi: Bound, n: int) -> Bound:
    """A slice's bound (as written: None, from the start, from the end) at entry `at` of an
    axis of length n spanning [lo, hi), as a Bound of the nest's axis."""
    if at == 0:
        return lo
    if at == n:
        return hi
    return lo.plus(at) if written >= 0 else hi.plus(at - n)


def _agrees(out: Frame, frame: Frame, index: tuple, shape: tuple, nest: tuple) -> bool:
    """Whether the region's bounds, evaluated at the nest's lengths, are what the index
    selects (a check of `_bound`'s arithmetic)."""
    for a, (d, it) in enumerate(zip(ranged(frame), index)):
        lo, n = frame[d].lo.at(nest[d]), shape[a]
        if type(it) is int:
            if out[d].lo.at(nest[d]) != lo + it % n:
                return False
        else:
            start, stop, _ = slice(it.start, it.stop).indices(n)
            if (out[d].lo.at(nest[d]), out[d].hi.at(nest[d])) != (lo + start, lo + stop):
                return False
    return True


def within(frame: Frame, nest: tuple) -> bool:
    """Whether the frame lies in the nest's index space."""
    for a, n in zip(frame, nest):
        lo = a.lo.at(n)
        hi = lo + 1 if a.point else a.hi.at(n)
        if not 0 <= lo < hi <= n:
            return False
    return True


def offset(reader: Frame, source: Frame) -> Offset | None:
    """Per axis, where the reader at index i finds the entry it reads of a value of the
    source frame: i + offset (see the module docstring)."""
    if [a.point for a in reader] != [a.point for a in source]:
        return None
    return tuple((s.lo.k - r.lo.k, s.lo.c - r.lo.c) for r, s in zip(reader, source))


def at(off: Offset, nest: tuple) -> tuple[int, ...]:
    return tuple(k * n + c for (k, c), n in zip(off, nest))


def direction(offsets, nest: tuple) -> int | None:
    """1 or -1 (see the module docstring), or None."""
    signs = set()
    for off in offsets:
        for v in at(off, nest):
            if v:
                signs.add(1 if v < 0 else -1)  # read before: computed first from the start
                break
    return None if len(signs) > 1 else (signs.pop() if signs else 1)


def lengths(frame: Frame, nest: tuple) -> tuple[int, ...]:
    """The value's shape: the length of each of its axes."""
    return tuple(a.hi.at(n) - a.lo.at(n) for a, n in zip(frame, nest) if not a.point)
