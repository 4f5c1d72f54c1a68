"""np.convolve and np.correlate in each of NumPy's modes, as compositions of the two window
primitives (`symgrad.frontend.composites`; rules `convolve`, its 'full' mode, and `correlate`,
its 'valid' mode, in `symgrad.rules.windows`).

Contract: np.correlate(a, v) of real vectors is np.convolve(a, v[::-1]) in every mode. The
'valid' and 'same' modes are slices of the 'full' result, m and n the shorter and the longer
length (NumPy's, checked for every pair of lengths below 9): 'valid' is full[m - 1 : n]; 'same'
is n entries from (m - 1) // 2, or for np.correlate of v longer than a from m // 2, which is
min(len(a) // 2, (len(v) - 1) // 2) of either. The lengths are the arrays' when the function
runs, so a module for any shapes slices as NumPy does.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

import numpy as np

from symgrad.frontend.composites import composite
from symgrad.frontend.subscripts import getitem

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer

_MODES = ("full", "same", "valid")


@composite(np.convolve)
def _convolve(lw: _Lowerer, e: ast.AST, a, v, mode="full") -> Any:
    a, v = _vectors(lw, e, a, v, mode, "convolve")
    full = lw.call_rule("convolve", (a, v), {}, e)
    return full if mode == "full" else _middle(lw, e, full, a, v, mode, correlated=False)


@composite(np.correlate)
def _correlate(lw: _Lowerer, e: ast.AST, a, v, mode="valid") -> Any:
    a, v = _vectors(lw, e, a, v, mode, "correlate")
    if mode == "valid":
        return lw.call_rule("correlate", (a, v), {}, e)
    full = lw.call_rule("convolve", (a, lw.call_rule("flip", (v,), {"axis": 0}, e)), {}, e)
    return full if mode == "full" else _middle(lw, e, full, a, v, mode, correlated=True)


def _vectors(lw: _Lowerer, e: ast.AST, a, v, mode, name: str) -> tuple:
    """a and v as vectors (a list spelled out: its array; a number: one entry, as NumPy reads
    it), the mode checked."""
    if mode not in _MODES:
        raise lw.error(e, f"np.{name}'s mode must be one of {_MODES} written in the source")
    return tuple(lw.call_rule("atleast_1d", (u,), {}, e) for u in (a, v))  # (a number: one)


def _middle(lw: _Lowerer, e: ast.AST, full, a, v, mode: str, correlated: bool) -> Any:
    """The 'same' or 'valid' entries of the 'full' result."""
    la, lv = (lw.call_rule("len", (u,), {}, e) for u in (a, v))
    shorter = lw.call_rule("minimum", (la, lv), {"builtin": "min"}, e)  # (Python's min)
    longer = lw.call_rule("maximum", (la, lv), {"builtin": "max"}, e)
    if mode == "valid":
        return getitem(lw, full, slice(lw.binop(ast.Sub(), shorter, 1, e), longer), e)
    if correlated:  # (m // 2 where v is the longer, else (m - 1) // 2)
        halves = (lw.binop(ast.FloorDiv(), la, 2, e), _half(lw, lv, e))
        half = lw.call_rule("minimum", halves, {"builtin": "min"}, e)
    else:
        half = _half(lw, shorter, e)
    return getitem(lw, full, slice(half, lw.binop(ast.Add(), half, longer, e)), e)


def _half(lw: _Lowerer, n: Any, e: ast.AST) -> Any:
    return lw.binop(ast.FloorDiv(), lw.binop(ast.Sub(), n, 1, e), 2, e)  # (n - 1) // 2
