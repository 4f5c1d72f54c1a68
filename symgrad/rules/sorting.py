"""Sorting and gathering along an axis: np.sort, np.take_along_axis.

Contract: np.take_along_axis(x, indices, axis) reads entries of x; its cotangent is zeros like x
with v added where each entry was read (`_take_along_axis_vjp`; repeated indices accumulate), and
the two are each other's adjoints. np.sort(a, axis) is np.take_along_axis(a, np.argsort(a, axis),
axis): the permutation is constant where the entries are distinct, so its backward function sends
each entry of v back to the place its sorted entry came from (at ties, to one of them: sort is not
differentiable there). All are linear in the array they move (`LINEAR`).
np.maximum.accumulate(a, axis) and np.minimum.accumulate(a, axis), the running extremes, read
one entry each, found by `_running_pick` (the last entry so far equal to the extreme): v goes
back there, and the tangent is read there.
"""

import math

import numpy as np

from symgrad.errors import SymgradError
from symgrad.ir.avals import ARRAY, Aval
from symgrad.rules import runtime
from symgrad.rules.build import ops
from symgrad.rules.table import LINEAR, call, defrule


def _sort_aval(ins: dict, attrs: dict) -> Aval | None:
    """a's shape, or its size as one axis for axis=None (a 0-d array sorts only so)."""
    a = ins["a"]
    if a is None or a.shape is None or a.dtype is None:
        return None
    if attrs["axis"] is None:
        n = None if None in a.shape else math.prod(a.shape)
        return Aval((n,), a.dtype, ARRAY)
    return Aval(a.shape, a.dtype, ARRAY) if a.shape else None


def _array(a: Aval | None) -> bool:
    """An ndarray with an axis: Numba sorts its last axis (`Rule.jit`), with no keyword."""
    return a is not None and a.kind == ARRAY and bool(a.rank)


def _order(a, axis, kind):
    return ops.argsort(a, axis=axis) if kind is None else ops.argsort(a, axis=axis, kind=kind)


defrule(
    "sort",
    "a, axis=-1, kind=None",
    call("np.sort"),
    numpy=(np.sort,),
    vjp={"a": lambda g, a, axis, kind: ops.take_along_axis_vjp(g, a, _order(a, axis, kind), axis)},
    jvp={"a": lambda t, a, axis, kind: ops.take_along_axis(t, _order(a, axis, kind), axis)},
    aval=_sort_aval,
    jit=lambda ins, attrs: attrs["axis"] == -1 and attrs["kind"] is None and _array(ins["a"]),
    fresh=True,
    value_feeds=True,
    math="each entry of v back where its sorted entry came from (argsort; at ties, to one)",
    examples=(
        "np.sort(a) | a: 3x4",
        "np.sort(a, axis=0) | a: 3x4",
        "np.sort(a, axis=None) | a: 2x3",
    ),
)
defrule(
    "take_along_axis",
    "arr, indices, axis=-1",
    call("np.take_along_axis"),
    numpy=(np.take_along_axis,),
    vjp={
        "arr": lambda g, arr, indices, axis: ops.take_along_axis_vjp(g, arr, indices, axis),
    },
    jvp=LINEAR,
    math="zeros like x, v added where each entry was read",
    examples=(
        "np.take_along_axis(a, np.argsort(a, axis=1), axis=1) | a: 3x4",
        "np.take_along_axis(a, np.argmax(a, axis=0, keepdims=True), axis=0) | a: 3x4",
        "np.take_along_axis(a, np.argsort(b, axis=None)[::-1], None) | a: 2x3, b: 2x3 const",
    ),
)
defrule(
    "take_along_axis_vjp",
    "ct, x, indices, axis=-1",
    call("_take_along_axis_vjp"),
    helper=runtime._take_along_axis_vjp,
    vjp={"ct": lambda g, indices, axis: ops.take_along_axis(g, indices, axis)},
    jvp=LINEAR,
    math="np.take_along_axis of v (each is the other's adjoint)",
    examples=("_take_along_axis_vjp(ct, x, np.argsort(x), -1) | ct: 3x4, x: 3x4 const",),
)


def _running_aval(ins: dict, attrs: dict) -> Aval | None:
    """A running extreme's, in a's shape and dtype; its pick's, intp (an axis: ufuncs
    accumulate along one)."""
    a = ins["a"]
    if a is None or a.shape is None or a.dtype is None or not a.shape:
        return None
    return Aval(a.shape, a.dtype if "extremes" not in ins else np.dtype(np.intp), ARRAY)


def _int_axis(attrs):
    if type(attrs["axis"]) is not int:
        raise SymgradError(
            f"a ufunc's accumulate takes one axis, an int known when compiling, not "
            f"axis={attrs['axis']!r}"
        )


def _running(name: str) -> None:
    """The rule of np.<name>.accumulate."""
    defrule(
        f"{name}_accumulate",
        "a, axis=0",
        call(f"np.{name}.accumulate"),
        numpy=(getattr(np, name).accumulate,),
        validate=_int_axis,
        vjp={
            "a": lambda g, a, ans, axis: ops.take_along_axis_vjp(
                g, a, ops.running_pick(a, ans, axis=axis), axis
            )
        },
        jvp={
            "a": lambda t, a, ans, axis: ops.take_along_axis(
                t, ops.running_pick(a, ans, axis=axis), axis
            )
        },
        aval=_running_aval,
        fresh=True,
        value_feeds=True,
        math="each entry of v back where its running extreme came from (at ties, the last)",
        examples=(
            f"np.{name}.accumulate(a) | a: 6",
            f"np.{name}.accumulate(a, axis=1) | a: 3x4",
            f"np.{name}.accumulate(a, 0) | a: 4x2",
        ),
    )


_running("maximum")
_running("minimum")
defrule(
    "running_pick",
    "a, extremes, axis=0",
    call("_running_pick"),
    helper=runtime._running_pick,
    nondiff=True,
    fresh=True,
    aval=_running_aval,
)
