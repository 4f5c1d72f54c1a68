"""NumPy's scalar types called as functions: `np.float32(x)`, `np.float64(s)`, `np.int64(n)`.

One primitive, `scalar_type`, its static `dtype` the type's name: x in that dtype, a NumPy
number where x is a number or a 0-d array, an ndarray where x has an axis (as NumPy gives:
`np.float32(a)` of a vector is `a.astype(np.float32)`). A float type passes the cotangent
through (the caller's `fit` gives it x's dtype); an integer or bool type passes none.
"""

from __future__ import annotations

import ast

import numpy as np

from symgrad.ir.avals import ARRAY, SCALAR, Aval
from symgrad.rules.build import ops
from symgrad.rules.table import defrule, dotted

TYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16")
TYPES += ("uint32", "uint64", "bool_")


def _emit(args: list[ast.expr], attrs: dict, rule) -> ast.expr:
    return ast.Call(dotted(f"np.{attrs['dtype']}"), args, [])


def _convention(name: str):
    """np.<name>(x) in the rule's parameters (np.float64() is 0.0, as NumPy's)."""

    def convention(x=0, /):
        return (x,), {"dtype": name}

    return convention


def _exact(dtype: str) -> bool:
    return np.dtype(getattr(np, dtype)).kind in "fc"


def _on_symbols(sp, x, dtype):
    """The value on SymPy values, for the proofs (`symgrad.checks.sym_array`): a float type's
    is x (truncation to an integer type is proved nowhere: its derivative is none)."""
    if not _exact(dtype):
        raise NotImplementedError(f"np.{dtype} of SymPy values")
    return x


def _aval(ins: dict, attrs: dict):
    x = ins["x"]
    if x is None or x.shape is None:
        return NotImplemented
    dtype = np.dtype(getattr(np, attrs["dtype"]))
    return Aval(x.shape, dtype, ARRAY if x.shape else SCALAR)


defrule(
    "scalar_type",
    "x, dtype=...",
    _emit,
    vjp={"x": lambda g, x, dtype: g if _exact(dtype) else ops.zeros_like(x)},
    jvp={
        "x": lambda t, x, dtype: (
            ops.scalar_type(t, dtype=dtype) if _exact(dtype) else ops.zeros_like(x)
        )
    },
    shape="first",
    aval=_aval,
    fresh=True,
    value_feeds=(0,),
    symbolic=_on_symbols,
    math="v for a float type (nothing through an integer or bool one)",
    examples=(
        "np.float64(x[1]) * x | x: 3",
        "np.float64(x) ** 2 | x: 2x2",
    ),
    twins=tuple((f"numpy.{name}", _convention(name)) for name in TYPES),
)
