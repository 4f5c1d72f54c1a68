"""Products that contract or tile axes: np.tensordot over given pairs of axes, and np.kron.

Contract. `np.tensordot(a, b, axes)`, axes an int k (a's last k axes against b's first k) or a
pair of axes lists (a's axes[0][j] against b's axes[1][j]) known when compiling, is bilinear;
its result has a's free axes, then b's. B[a](v) contracts v's trailing axes (b's free ones)
with b's free axes and puts what is left in a's order (`_tensordot_vjp_a`); B[b](v) likewise.
`np.kron(a, b)` (the shapes padded to one rank) is bilinear too: each entry of a scales a block
of b's shape, so B[a](v) is each block of v summed against b, B[b](v) the blocks, each times
its entry of a, summed (`_kron_vjp_a`, `_kron_vjp_b`). Each helper is linear in the cotangent
and in the other operand: differentiable again, through the product and the other helper.
"""

import numpy as np

from symgrad.errors import SymgradError
from symgrad.ir.avals import ARRAY, PYTHON, Aval, result_dtype, strong_dtype
from symgrad.rules import runtime
from symgrad.rules.build import Value, ops, undecided
from symgrad.rules.linalg import bilinear, operand_like
from symgrad.rules.table import LINEAR, call, defrule


def _static_axes(axes):
    """np.tensordot's axes as an attribute: an int, or a pair of tuples of ints."""
    if isinstance(axes, int) and not isinstance(axes, bool) and axes >= 0:
        return axes
    if isinstance(axes, (tuple, list)) and len(axes) == 2:
        pair = tuple((k,) if isinstance(k, int) else tuple(k) for k in axes)
        if all(type(k) is int for side in pair for k in side) and len(pair[0]) == len(pair[1]):
            return pair
    message = (
        "np.tensordot's axes must be a count or two lists of axes of one length, known when "
        "the function is compiled"
    )
    raise undecided(axes, message) if isinstance(axes, Value) else SymgradError(message)


def _tensordot_adapt(a, b, axes=2):
    return (a, b), {"axes": _static_axes(axes)}


def _tensordot_aval(ins: dict, attrs: dict) -> Aval | None:
    """a's free axes, then b's; a 0-d ndarray where none is left (as np.tensordot's)."""
    a, b = ins["a"], ins["b"]
    if a is None or b is None or a.shape is None or b.shape is None or PYTHON in (a.kind, b.kind):
        return None
    try:
        on_a, on_b = runtime._tensordot_pairs(len(a.shape), len(b.shape), attrs["axes"])
    except ZeroDivisionError:  # (an axis of a 0-d operand: NumPy raises)
        return None
    free_a = tuple(n for k, n in enumerate(a.shape) if k not in on_a)
    return Aval(
        free_a + tuple(n for k, n in enumerate(b.shape) if k not in on_b), strong_dtype(a, b), ARRAY
    )


defrule(
    "tensordot",
    "a, b, axes=2",
    call("np.tensordot"),
    numpy=(np.tensordot, np.linalg.tensordot),
    adapt=_tensordot_adapt,
    vjp={
        "a": lambda g, a, b, axes: ops.tensordot_vjp_a(g, a, b, axes=axes),
        "b": lambda g, a, b, axes: ops.tensordot_vjp_b(g, a, b, axes=axes),
    },
    jvp=LINEAR,
    aval=_tensordot_aval,
    fresh=True,
    value_feeds=True,
    math="B[a](v) = v contracted with b over b's free axes, in a's order; likewise for b",
    examples=(
        "np.tensordot(a, b) | a: 2x3x4, b: 3x4x2",
        "np.tensordot(a, b, axes=1) | a: 3x4, b: 4x2",
        "np.tensordot(a, b, axes=([1, 0], [0, 2])) | a: 3x2x2, b: 2x4x3",
        "np.tensordot(a, b, (1, 0)) | a: 3x4, b: 4x2",
        "np.tensordot(a, b, axes=0) | a: 2, b: 3",
    ),
)


def _contracted(of_a: bool):
    """`_tensordot_vjp_a` (`of_a`) or `_tensordot_vjp_b` where the operands' ranks are known:
    the np.tensordot and the transpose (where it moves an axis) they choose."""

    def specialise(ins: dict):
        a, b = ins["a"], ins["b"]
        if a is None or b is None or a.shape is None or b.shape is None:
            return None

        def template(ct, a, b, axes):
            ranks = (len(ins["a"].shape), len(ins["b"].shape))
            pairs, order = runtime._tensordot_vjp_plan(*ranks, axes, of_a)
            pairs = tuple(tuple(side) for side in pairs)
            out = ops.tensordot(ct, b, axes=pairs) if of_a else ops.tensordot(a, ct, axes=pairs)
            return out if order == tuple(range(len(order))) else ops.transpose(out, axes=order)

        return template

    return specialise


_HELPER_SHAPES = (("2x2", "2x3x4", "3x4x2", 2), ("2x4", "3x2x2", "2x4x3", ((1, 0), (0, 2))))
defrule(
    "tensordot_vjp_a",
    "ct, a, b, axes=2",
    call("_tensordot_vjp_a"),
    helper=runtime._tensordot_vjp_a,
    shape_reads=(1,),  # a's rank alone
    vjp={
        "ct": lambda g, b, axes: ops.tensordot(g, b, axes=axes),
        "b": lambda g, ct, b, axes: ops.tensordot_vjp_b(ct, g, b, axes=axes),
    },
    jvp=LINEAR,
    aval=operand_like("a", "b", strong=True),
    specialise=_contracted(of_a=True),
    math="B[a](v) of tensordot",
    examples=tuple(
        f"_tensordot_vjp_a(ct, a, b, axes={k}) | ct: {c}, a: {a} const, b: {b}"
        for c, a, b, k in _HELPER_SHAPES
    ),
)
defrule(
    "tensordot_vjp_b",
    "ct, a, b, axes=2",
    call("_tensordot_vjp_b"),
    helper=runtime._tensordot_vjp_b,
    shape_reads=(2,),  # b's rank alone
    vjp={
        "ct": lambda g, a, axes: ops.tensordot(a, g, axes=axes),
        "a": lambda g, ct, a, axes: ops.tensordot_vjp_a(ct, a, g, axes=axes),
    },
    jvp=LINEAR,
    aval=operand_like("b", "a", strong=True),
    specialise=_contracted(of_a=False),
    math="B[b](v) of tensordot",
    examples=tuple(
        f"_tensordot_vjp_b(ct, a, b, axes={k}) | ct: {c}, a: {a}, b: {b} const"
        for c, a, b, k in _HELPER_SHAPES
    ),
)


def _kron_aval(ins: dict, attrs: dict) -> Aval | None:
    """The shapes padded to one rank, multiplied axis by axis."""
    a, b = ins["a"], ins["b"]
    if a is None or b is None or not a.known or not b.known or PYTHON in (a.kind, b.kind):
        return None
    rank = max(len(a.shape), len(b.shape))
    sa = (1,) * (rank - len(a.shape)) + a.shape
    sb = (1,) * (rank - len(b.shape)) + b.shape
    shape = tuple(m * n for m, n in zip(sa, sb))
    return Aval(shape, result_dtype(a, b), ARRAY)


bilinear(
    "kron",
    call("np.kron"),
    (np.kron,),
    (),
    "B[a](v) = each block of v summed against b;  B[b](v) = the blocks, each times its a, summed",
    runtime._kron_vjp_a,
    runtime._kron_vjp_b,
    (
        "np.kron(a, b) | a: 2x3, b: 3x2",
        "np.kron(a, b) | a: 3, b: 2x2",
        "np.kron(a, b) | a: 2x2, b: 3",
    ),
    (("6x6", "2x3", "3x2"), ("2x6", "3", "2x2"), ("2x6", "2x2", "3")),
    aval=_kron_aval,
)
