"""Functions with no gradient: comparisons, rounding, index-valued and array-creating functions.

Contract: these are primitives like any other, emitted as the same NumPy call, but their output
carries no cotangent (the reverse pass stops there), so using them costs the gradient nothing.
They accept any keyword argument, passed on verbatim (keywords must be compile-time constants).
"""

import numpy as np

from symgrad.rules.table import attribute, call, compare, defrule

_COMPARE = {
    "greater": ">",
    "less": "<",
    "greater_equal": ">=",
    "less_equal": "<=",
    "equal": "==",
    "not_equal": "!=",
}
for _name, _symbol in _COMPARE.items():
    defrule(
        _name,
        "x1, x2",
        compare(_symbol),
        numpy=(getattr(np, _name),),
        nondiff=True,
        shape="elementwise",
    )

_ELEMENTWISE = (
    "sign",
    "floor",
    "ceil",
    "rint",
    "trunc",
    "round",
    "isnan",
    "isinf",
    "isfinite",
    "logical_not",
    "logical_and",
    "logical_or",
    "logical_xor",
    "heaviside",
)
for _name in _ELEMENTWISE:
    defrule(
        _name,
        "*args",
        call(f"np.{_name}"),
        numpy=(getattr(np, _name),),
        nondiff=True,
        kwargs=True,
        shape="elementwise",
        methods=("round",) if _name == "round" else (),
    )

_OTHER = (
    "argmax",
    "argmin",
    "argsort",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "zeros",
    "ones",
    "full",
    "empty",
    "arange",
    "eye",
    "identity",
    "linspace",
    "any",
    "all",
    "count_nonzero",
    "nonzero",
    "diag_indices",
    "tril_indices",
    "triu_indices",
    "floor_divide",
    "searchsorted",
    "digitize",
)
for _name in _OTHER:
    defrule(
        _name,
        "*args",
        call(f"np.{_name}"),
        numpy=(getattr(np, _name),),
        nondiff=True,
        kwargs=True,
        methods=(_name,) if _name in ("argmax", "argmin", "argsort") else (),
    )

defrule(
    "broadcast_shapes",
    "*shapes",
    call("np.broadcast_shapes"),
    numpy=(np.broadcast_shapes,),
    nondiff=True,
)
defrule("shape_size", "shape", call("np.prod"), nondiff=True, shape="scalar")
defrule("shape", "a", call("np.shape"), numpy=(np.shape,), methods=("shape",), nondiff=True)
defrule(
    "size", "a", call("np.size"), numpy=(np.size,), methods=("size",), nondiff=True, shape="scalar"
)
defrule(
    "ndim", "a", call("np.ndim"), numpy=(np.ndim,), methods=("ndim",), nondiff=True, shape="scalar"
)
defrule("dtype", "a", attribute("dtype"), methods=("dtype",), nondiff=True)
