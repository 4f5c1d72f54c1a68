"""Sliding windows: `np.lib.stride_tricks.sliding_window_view` along one axis, the sums that
are its backward function, and the correlation and convolution of vectors that products of
windows are (`symgrad.passes.correlations` writes them so).

A window view of x along `axis` holds, at position i of that axis and j of a new last axis,
x[i + j]: every entry of x appears in up to `window_shape` windows, so the cotangent of x is the
sum of each window's cotangent put back where the window lies (`_window_sums`). Both are linear
and each is the other's transpose. symgrad's loop vectorisation (`symgrad.passes.vectorise`)
writes a step's `x[i : i + k]` as row i of the windows; users may call the view themselves.
"""

from __future__ import annotations

import numpy as np

from symgrad.errors import SymgradError
from symgrad.ir.avals import ARRAY, Aval, result_dtype
from symgrad.rules import runtime, runtime_compiled
from symgrad.rules.build import ops
from symgrad.rules.table import LINEAR, call, defrule


def _one_axis(attrs):
    k, axis = attrs["window_shape"], attrs["axis"]
    if type(k) is not int or k < 1 or not (axis is None or type(axis) is int):
        raise SymgradError(
            "sliding_window_view is differentiated for one window length (a positive int) "
            f"along one axis, not window_shape={k!r}, axis={axis!r}"
        )


def _like_x(ins: dict, attrs: dict) -> Aval | None:
    """x's shape, the cotangent's dtype."""
    ct, x = ins["ct"], ins["x"]
    if ct is None or x is None or x.shape is None or ct.dtype is None:
        return None
    return Aval(x.shape, ct.dtype, ARRAY)


defrule(
    "windows",
    "x, window_shape=..., axis=None",
    call("np.lib.stride_tricks.sliding_window_view"),
    numpy=(np.lib.stride_tricks.sliding_window_view,),
    validate=_one_axis,
    vjp={
        "x": lambda g, x, window_shape, axis: ops.window_sums(
            g, x, window_shape=window_shape, axis=axis
        )
    },
    jvp=LINEAR,
    view=True,
    math="B[x](v) = Σ_j of v[..., j] added back at offset j along the axis",
    examples=(
        "np.lib.stride_tricks.sliding_window_view(x, 3) | x: 5",
        "np.lib.stride_tricks.sliding_window_view(x, 2, axis=1) | x: 2x4",
        "np.lib.stride_tricks.sliding_window_view(x, window_shape=4, axis=0) | x: 5x2",
    ),
)
defrule(
    "window_sums",
    "ct, x, window_shape=..., axis=None",
    call("_window_sums"),
    helper=runtime._window_sums,
    validate=_one_axis,
    shape_reads=(1,),  # x's shape alone
    aval=_like_x,
    vjp={"ct": lambda g, window_shape, axis: ops.windows(g, window_shape=window_shape, axis=axis)},
    jvp=LINEAR,
    math="the windows of v: B[ct](v) = sliding_window_view(v, window_shape, axis)",
    examples=(
        "_window_sums(ct, x, 3) | ct: 3x3, x: 5 const",
        "_window_sums(ct, x, 3, 0) | ct: 2x3, x: 4 const",
        "_window_sums(ct, x, 2, axis=1) | ct: 2x3x2, x: 2x4 const",
        "_window_sums(ct, x, 4, axis=0) | ct: 2x2x4, x: 5x2 const",
    ),
)


def _lengths(combine, name: str):
    """The Aval rule of np.<name> of two vectors, whose length is combine(n, k); a length
    below 1 is refused (np.correlate's v longer than a: NumPy swaps them)."""

    def aval(ins: dict, attrs: dict) -> Aval | None:
        a, v = ins["a"], ins["v"]
        if a is None or v is None or a.shape is None or v.shape is None or a.dtype is None:
            return None
        if len(a.shape) != 1 or len(v.shape) != 1 or None in (*a.shape, *v.shape):
            return None
        n = combine(a.shape[0], v.shape[0])
        if n < 1:
            raise SymgradError(
                f"np.{name}(a, v) of a of length {a.shape[0]} and v of {v.shape[0]} is not "
                "supported (v longer than a)",
                hint=f"np.{name}(v, a)[::-1] is the same: pass the longer one first.",
            )
        return Aval((n,), result_dtype(a, v), ARRAY)

    return aval


defrule(
    "correlate",
    "a, v",
    call("_correlate"),
    helper=runtime._correlate,
    compiled_helper=runtime_compiled._correlate,
    aval=_lengths(lambda n, k: n - k + 1, "correlate"),
    fresh=True,
    vjp={"a": lambda g, v: ops.convolve(g, v), "v": lambda g, a: ops.correlate(a, g)},
    jvp=LINEAR,
    math="B[a](v') = v' convolved with v (full);  B[v](v') = a correlated with v' (valid)",
    examples=(
        "_correlate(a, v) | a: 6, v: 3",
        "_correlate(a, v) | a: 4, v: 4",
        "np.correlate(a, v) | a: 5, v: 2",
    ),
)
defrule(
    "convolve",
    "a, v",
    call("_convolve"),
    helper=runtime._convolve,
    compiled_helper=runtime_compiled._convolve,
    aval=_lengths(lambda n, k: n + k - 1, "convolve"),
    fresh=True,
    vjp={"a": lambda g, v: ops.correlate(g, v), "v": lambda g, a: ops.correlate(g, a)},
    jvp=LINEAR,
    math="B[a](v') = v' correlated with v (valid);  B[v](v') = v' correlated with a (valid)",
    examples=(
        "_convolve(a, v) | a: 5, v: 3",
        "_convolve(a, v) | a: 2, v: 4",
        "np.convolve(a, v, mode='full') | a: 3, v: 3",
    ),
)
