"""The cross product of 3-vectors (np.cross), along the last axis, stacks broadcasting.

Contract: `np.cross(a, b)` of vectors of length 3 (the last axis; the leading axes broadcast)
is bilinear, and a × b is antisymmetric: ⟨v, a × b⟩ = ⟨b × v, a⟩ = ⟨v × a, b⟩, so
B[a](v) = b × v and B[b](v) = v × a, the cotangents summed back over broadcast axes. Vectors of
length 2 (whose cross product NumPy 2 deprecates) and the axisa, axisb, axisc and axis keywords
have no rule: move the vectors' axis last first (np.moveaxis).
"""

import numpy as np

from symgrad.errors import SymgradError
from symgrad.ir.avals import ARRAY, Aval, broadcast
from symgrad.rules.build import ops
from symgrad.rules.table import LINEAR, call, defrule


def _last_axis(attrs):
    given = [  # (axis=-1: np.linalg.cross's default, the last)
        k
        for k in ("axisa", "axisb", "axisc", "axis")
        if attrs[k] not in (-1, None if k == "axis" else -1)
    ]
    if given:
        raise SymgradError(
            f"np.cross's {given[0]} is not supported: the vectors lie along the last axis",
            hint="Move the vectors' axis last first: np.cross(np.moveaxis(a, k, -1), ...).",
        )


def _aval(ins, attrs):
    """The broadcast of the stacks, the vectors' axis (3) last."""
    a, b = ins["a"], ins["b"]
    if any(x is None or x.shape is None or x.dtype is None for x in (a, b)):
        return None
    shape = broadcast([a.shape, b.shape])
    if shape is None or shape[-1:] != (3,):
        return None
    return Aval(shape, np.result_type(a.dtype, b.dtype), ARRAY)


def _float_arrays(ins, attrs):
    """Numba's np.cross takes arrays of floats (`Rule.jit`)."""
    return all(
        x is not None and x.kind == ARRAY and x.rank and x.dtype is not None and x.dtype.kind == "f"
        for x in (ins["a"], ins["b"])
    )


defrule(
    "cross",
    "a, b, axisa=-1, axisb=-1, axisc=-1, axis=None",
    call("np.cross"),
    numpy=(np.cross, np.linalg.cross),
    validate=_last_axis,
    aval=_aval,
    jit=_float_arrays,
    broadcasts=True,
    fresh=True,
    value_feeds=True,
    vjp={"a": lambda g, b: ops.cross(b, g), "b": lambda g, a: ops.cross(g, a)},
    jvp=LINEAR,
    math="B[a](v) = b × v;  B[b](v) = v × a (vectors of 3 along the last axis; summed over "
    "broadcast axes)",
    examples=(
        "np.cross(a, b) | a: 3, b: 3",
        "np.cross(a, b) | a: 4x3, b: 3",
        "np.cross(a, np.cross(a, b)) | a: 2x1x3, b: 4x3",
    ),
)
