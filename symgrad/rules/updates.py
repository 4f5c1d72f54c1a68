"""What an augmented assignment leaves in its target: `a += w` on an ndarray is NumPy's update in
place, on a number a new number; `np.f(..., out=a, casting=...)` is the same update, cast
as it says (NumPy's 'same_kind' or 'unsafe').

Contract: the frontend lowers `a op= w` (a name's, not an element's: `x[i] += w` is a
`setitem`, which casts and broadcasts into x itself) to `updated(a op w, a)`. For an ndarray
`a`, NumPy writes the result into a: it keeps a's shape (a result of another shape, `w` having
more axes, raises), a's dtype (cast by the 'same_kind' rule: a float32 total stays float32, an
int one refuses a float) and stays an ndarray (a 0-d array stays one, where `a + w` is a NumPy
number). For a number (a Python or NumPy scalar), `a op= w` is `a = a op w`. Specialised code
drops the node where the Avals show that `a op w` already is what the update leaves (the same
shape and dtype, an ndarray, or `a` a number); what a cannot hold raises when it runs, as in NumPy.
"""

from __future__ import annotations

import numpy as np

from symgrad.ir.avals import ARRAY, PYTHON, SCALAR, Aval
from symgrad.rules import runtime
from symgrad.rules.build import ops
from symgrad.rules.table import LINEAR, call, defrule


def _aval(ins: dict, attrs: dict) -> Aval | None:
    """a's shape and dtype for an ndarray a, v's Aval for a number; None where v's shape or
    dtype is one a cannot hold (a loop's first step may see a number there, which its fixed
    point joins with the array it becomes): the helper decides when it runs, raising as
    NumPy raises."""
    v, a = ins["v"], ins["a"]
    if a is None or a.kind is None:
        return None
    if a.kind in (SCALAR, PYTHON):
        return v
    if v is None or v.shape is None or a.shape is None or v.shape != a.shape:
        return None
    casting = attrs.get("casting", "same_kind")
    if v.dtype is None or a.dtype is None or not np.can_cast(v.dtype, a.dtype, casting):
        return None
    return Aval(a.shape, a.dtype, ARRAY)


def _as_is(ins: dict):
    """v itself where the Avals show the update leaves it as it is (`_aval`'s cases)."""
    v, a = ins["v"], ins["a"]
    if v is not None and a is not None and a.kind in (SCALAR, PYTHON):
        return lambda v, a: v
    held = _aval(ins, {})  # (by 'same_kind': an unsafe cast is left to the helper)
    if held is None or not (held.known and v.known):
        return None  # (what a cannot hold: the helper raises, as NumPy does)
    if v.dtype != held.dtype:  # (a float32 total: the sum cast back, as NumPy's update casts it)
        dtype = held.dtype.type  # (spelt np.float32)
        return lambda v, a: ops.astype(v, dtype)
    return (lambda v, a: v) if v.kind == ARRAY else lambda v, a: ops.asarray(v)  # (of a 0-d a)


defrule(
    "updated",
    "v, a, what='', casting='same_kind'",
    call("_updated"),
    helper=runtime._updated,
    vjp={"v": lambda g: g},
    jvp=LINEAR,
    shape_reads=(1,),
    value_feeds=(0,),
    itself=True,  # (no view: no name holds a op w, nor another node, at lowering)
    aval=_aval,
    specialise=_as_is,
    batch={"v": ("_updated_batched", {}), ("v", "a"): ("_updated_batched", {"both": True})},
    examples=("_updated(v, a) | v: 3x4, a: 3x4 const",),
    math="v: the value itself, in a's shape and dtype where a is an ndarray (`a += w`)",
)
