import numpy as np

from symgrad.rules import ops
from symgrad.rules.table import LINEAR, call, defrule


def _cumulative_prod_vjp(g, a, ans, axis):
    """Each input entry scales every later output entry: a reversed cumulative sum of g times
    the output, over the entry (no entry of a may be 0)."""
    return ops.flip(ops.cumsum(ops.flip(g * ans, axis=axis), axis=axis), axis=axis) / a


defrule(
    "cumulative_prod",
    "a, axis=...",
    call("np.cumulative_prod"),
    numpy=(np.cumulative_prod,),
    vjp={"a": _cumulative_prod_vjp},
    jvp={"a": lambda t, a, ans, axis: ans * ops.cumsum(t / a, axis=axis)},
    shape="first",  # the output has the shape of input 0
    math="flip(cumsum(flip(v ⊙ y))) / x, y the saved output",
    examples=(
        "np.cumulative_prod(a, axis=1) | a: 3x4 positive",
        "np.cumulative_prod(a, axis=-1) | a: 2x3x4 positive",
    ),
)
