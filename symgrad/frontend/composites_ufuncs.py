"""A ufunc's methods, `np.subtract.outer(x, y)`, `np.add.reduce(a, axis)`,
`np.logaddexp.reduce(a)`, `np.multiply.accumulate(a)`, as the primitives they are
(`symgrad.frontend.composites`).

Contract: `ufunc.outer(a, b)` of a binary ufunc in the rule table (a comparison's too) is the
ufunc of a's entries along new leading axes and b's along the last ones: a reshaped to
`shape(a) + (1,) * ndim(b)`, broadcast against b (of two numbers, a number, as NumPy's).
`ufunc.reduce(a, axis=0, keepdims=False)` is the reduction NumPy's ufunc computes: add's
`np.sum`, multiply's `np.prod`, maximum's `np.max`, minimum's `np.min`, logical_and's `np.all`,
logical_or's `np.any`, and logaddexp's `log Σ exp` (the rule of scipy.special.logsumexp: NumPy
folds pairwise, so its value may differ in the last bits). `ufunc.accumulate(a, axis=0)` of add
and multiply is `np.cumsum` and `np.cumprod`; of maximum and minimum it is its own rule
(`symgrad.rules.sorting`). Other options (dtype, out, initial, where) are refused by name.
`np.float_power(x1, x2)` is x1 made a float64 (`np.float64(x1)`), to the power x2.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

import numpy as np

from symgrad.errors import UnsupportedSyntaxError
from symgrad.frontend.composites import composite
from symgrad.rules import RULES

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer

_REDUCTIONS = {
    np.add: "sum",
    np.multiply: "prod",
    np.maximum: "max",
    np.minimum: "min",
    np.logical_and: "all",
    np.logical_or: "any",
    np.logaddexp: "logsumexp",
}
_RUNNING = {np.add: "cumsum", np.multiply: "cumprod"}  # (maximum's and minimum's: rules)


def _outer(ufunc: np.ufunc, rule: str):
    def lowering(lw: _Lowerer, e: ast.AST, A, B) -> Any:
        ones = lw.binop(ast.Mult(), (1,), lw.call_rule("ndim", (B,), {}, e), e)
        shape = lw.binop(ast.Add(), lw.call_rule("shape", (A,), {}, e), ones, e)
        return lw.call_rule(rule, (lw.call_rule("reshape", (A, shape), {}, e), B), {}, e)

    composite(ufunc.outer)(lowering)


def _reduce(ufunc: np.ufunc, rule: str):
    def lowering(lw: _Lowerer, e: ast.AST, array, axis=0, keepdims=False, **options) -> Any:
        _no_options(lw, e, ufunc, "reduce", options)
        reduce = {"axis": axis, "keepdims": keepdims} if keepdims else {"axis": axis}
        return lw.call_rule(rule, (array,), reduce, e)

    composite(ufunc.reduce)(lowering)


def _accumulate(ufunc: np.ufunc, rule: str):
    def lowering(lw: _Lowerer, e: ast.AST, array, axis=0, **options) -> Any:
        _no_options(lw, e, ufunc, "accumulate", options)
        return lw.call_rule(rule, (array,), {"axis": axis}, e)

    composite(ufunc.accumulate)(lowering)


def _no_options(lw: _Lowerer, e: ast.AST, ufunc: np.ufunc, method: str, options: dict):
    if options:
        raise lw.error(
            e,
            f"np.{ufunc.__name__}.{method}'s {', '.join(sorted(options))}= is not supported",
            "Pass the array and its axis (and keepdims for reduce); cast the result after.",
            cls=UnsupportedSyntaxError,
        )


for _rule in list(RULES.values()):
    for _fn in _rule.callables:
        if isinstance(_fn, np.ufunc) and _fn.nin == 2 and _fn.nout == 1:
            _outer(_fn, _rule.name)  # (np.equal.outer(labels, classes) too: a one-hot mask)
for _fn, _name in _REDUCTIONS.items():
    _reduce(_fn, _name)
for _fn, _name in _RUNNING.items():
    _accumulate(_fn, _name)


@composite(np.float_power)
def _float_power(lw: _Lowerer, e: ast.AST, x1, x2) -> Any:
    base = lw.call_rule("scalar_type", (x1,), {"dtype": "float64"}, e)
    return lw.call_rule("power", (base, x2), {}, e)
