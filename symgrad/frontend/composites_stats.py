"""NumPy's statistics and integration functions that are compositions of primitives
(`symgrad.frontend.composites`), each lowered as NumPy computes it.

Contract: `np.ptp(a, axis, keepdims)` is max minus min; `np.nanmean` is `np.nansum` (a
rule) over the count of the entries that are not NaN (a slice of NaN alone: NaN, as NumPy's);
`np.median(a, axis)` of a constant axis (or None) is the mean of the middle entry of np.sort
(or two), NaN where the slice holds a NaN, as NumPy's; `np.quantile(a, q, axis)` and
`np.percentile` of constant q (a number or a list) are NumPy's 'linear' interpolation between
the two entries of np.sort around (n - 1) q; `np.cov(m, rowvar=True, bias, ddof)` is
NumPy's product of the centred rows (in float64) over the count less ddof (at least 0),
squeezed; `np.trapezoid(y, x, dx, axis)` is NumPy's sum of
`d * (y[1:] + y[:-1]) / 2.0` along the axis (with x, along the last axis). Their other options
are refused with what to write instead.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

import numpy as np

from symgrad.frontend.composites import along, composite, flag, not_constant
from symgrad.frontend.subscripts import getitem
from symgrad.frontend.values import is_const

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer


def _axis(lw: _Lowerer, e: ast.AST, axis: Any, what: str) -> int | None:
    if axis is None or isinstance(axis, int) and not isinstance(axis, bool):
        return axis
    raise not_constant(lw, e, axis, f"{what}'s axis must be an int (or None) known when compiling")


def _refuse(lw: _Lowerer, e: ast.AST, what: str, **given) -> None:
    """Refuse the options given a value other than their default (None or False)."""
    for name, value in given.items():
        if value is not None and value is not False:
            raise lw.error(e, f"{what}'s {name}= is not supported")


def _kept(lw: _Lowerer, e: ast.AST, keepdims: Any, a, value, axis: int | None) -> Any:
    """value, a's reduction along axis (every axis: None), with the axes it reduced kept, of
    length 1, where keepdims (a constant) is true, as NumPy's."""
    if not flag(lw, e, keepdims, "keepdims="):
        return value
    if axis is not None:
        return lw.call_rule("expand_dims", (value,), {"axis": axis}, e)
    ones = lw.call_rule("sum", (a,), {"keepdims": True}, e)  # (of a's rank: all ones)
    return lw.call_rule("reshape", (value, lw.call_rule("shape", (ones,), {}, e)), {}, e)


@composite(np.ptp)
def _ptp(lw: _Lowerer, e: ast.AST, a, axis=None, out=None, keepdims=False) -> Any:
    _refuse(lw, e, "np.ptp", out=out)
    reduce = {"axis": _axis(lw, e, axis, "np.ptp"), "keepdims": keepdims}
    high, low = (lw.call_rule(f, (a,), reduce, e) for f in ("max", "min"))
    return lw.binop(ast.Sub(), high, low, e)


def _not_nan(lw: _Lowerer, a: Any, e: ast.AST) -> Any:
    return lw.call_rule("logical_not", (lw.call_rule("isnan", (a,), {}, e),), {}, e)


@composite(np.nanmean)
def _nanmean(lw: _Lowerer, e: ast.AST, a, axis=None, dtype=None, out=None, keepdims=False) -> Any:
    _refuse(lw, e, "np.nanmean", dtype=dtype, out=out)
    reduce = {"axis": _axis(lw, e, axis, "np.nanmean"), "keepdims": keepdims}
    total = lw.call_rule("nansum", (a,), reduce, e)  # (a rule of its own)
    count = lw.call_rule("sum", (_not_nan(lw, a, e),), reduce, e)
    dtype = lw.call_rule("dtype", (total,), {}, e)  # (NumPy divides in the sum's dtype)
    return lw.binop(ast.Div(), total, lw.call_rule("astype", (count, dtype), {}, e), e)


def _sorted(lw: _Lowerer, e: ast.AST, a, axis: int | None) -> tuple:
    """(a sorted along axis, that axis, its length, where a slice holds a NaN): a of axis
    None flattened first, as NumPy's median and quantiles take it."""
    flat = lw.call_rule("ravel", (a,), {}, e) if axis is None else a
    on = 0 if axis is None else axis
    ordered = lw.call_rule("sort", (flat,), {"axis": on}, e)
    n = getitem(lw, lw.call_rule("shape", (ordered,), {}, e), on, e)
    nan = lw.call_rule("any", (lw.call_rule("isnan", (a,), {}, e),), {"axis": axis}, e)
    return ordered, on, n, nan


def _unless_nan(lw: _Lowerer, e: ast.AST, nan, value) -> Any:
    """value, NaN where its slice holds one (a NumPy number of a 0-d result, as NumPy's)."""
    return getitem(lw, lw.call_rule("where", (nan, np.nan, value), {}, e), (), e)


@composite(np.median)
def _median(
    lw: _Lowerer, e: ast.AST, a, axis=None, out=None, overwrite_input=False, keepdims=False
) -> Any:
    _refuse(lw, e, "np.median", out=out)
    axis = _axis(lw, e, axis, "np.median")
    ordered, on, n, nan = _sorted(lw, e, a, axis)
    low = lw.binop(ast.FloorDiv(), lw.binop(ast.Sub(), n, 1, e), 2, e)
    high = lw.binop(ast.Add(), lw.binop(ast.FloorDiv(), n, 2, e), 1, e)
    middle = along(lw, ordered, slice(low, high), on, e)  # (one entry, or two: their mean)
    found = _unless_nan(lw, e, nan, lw.call_rule("mean", (middle,), {"axis": on}, e))
    return _kept(lw, e, keepdims, a, found, axis)


def _quantiles(name: str, scale: float):
    """np.quantile's lowering (np.percentile's: of q / 100)."""

    def lowering(
        lw: _Lowerer,
        e: ast.AST,
        a,
        q,
        axis=None,
        out=None,
        overwrite_input=False,
        method="linear",
        keepdims=False,
        *,
        weights=None,
        interpolation=None,
    ) -> Any:
        _refuse(lw, e, name, interpolation=interpolation, out=out, weights=weights)
        if not is_const(method):
            raise not_constant(lw, e, method, f"{name}'s method= must be known when compiling")
        if method != "linear":
            raise lw.error(e, f"{name}'s method={method!r} is not supported (its default is)")
        qs = q if isinstance(q, (list, tuple)) else [q]
        if not is_const(qs) or not all(isinstance(v, (int, float)) for v in qs):
            raise not_constant(
                lw, e, q, f"{name}'s q must be a number (or a list of them) known when compiling"
            )
        fractions = [v / scale for v in qs]
        if any(not 0.0 <= f <= 1.0 for f in fractions):
            raise lw.error(e, f"{name}'s q must be in [0, {scale:g}]")
        strong = isinstance(q, (list, tuple, np.generic))  # (NumPy's array of q is float64: so
        if strong:  # is then the quantile of float32 entries; a Python number's is float32)
            fractions = [lw.numpy_number(np.float64(f), e) for f in fractions]
        axis = _axis(lw, e, axis, name)
        ordered, on, n, nan = _sorted(lw, e, a, axis)
        found = [_unless_nan(lw, e, nan, _lerped(lw, e, ordered, n, f, on)) for f in fractions]
        found = [_kept(lw, e, keepdims, a, value, axis) for value in found]
        if isinstance(q, (list, tuple)):
            return lw.call_rule("stack", (found,), {}, e)  # (the q axis first, as NumPy's)
        return found[0]

    return lowering


composite(np.quantile)(_quantiles("np.quantile", 1.0))
composite(np.percentile)(_quantiles("np.percentile", 100.0))


def _lerped(lw: _Lowerer, e: ast.AST, ordered, n, q: Any, on: int) -> Any:
    """NumPy's 'linear' quantile q of the sorted slices: at the virtual index (n - 1) q, its
    two neighbours (the last where it is the last) blended by its fraction, as `_lerp` does
    (from the nearer one)."""
    v = lw.binop(ast.Mult(), lw.binop(ast.Sub(), n, 1, e), q, e)
    low = lw.call_rule("int", (lw.call_rule("floor", (v,), {}, e),), {}, e)
    last = lw.binop(ast.Sub(), n, 1, e)
    high = lw.call_rule("minimum", (lw.binop(ast.Add(), low, 1, e), last), {"builtin": "min"}, e)
    t = lw.binop(ast.Sub(), v, low, e)
    below, above = along(lw, ordered, low, on, e), along(lw, ordered, high, on, e)
    d = lw.binop(ast.Sub(), above, below, e)
    up = lw.binop(ast.Add(), below, lw.binop(ast.Mult(), d, t, e), e)
    down = lw.binop(ast.Sub(), above, lw.binop(ast.Mult(), d, lw.binop(ast.Sub(), 1, t, e), e), e)
    half = lw.call_rule("greater_equal", (t, 0.5), {}, e)
    return lw.call_rule("where", (half, down, up), {}, e)


@composite(np.cov)
def _cov(
    lw: _Lowerer,
    e: ast.AST,
    m,
    y=None,
    rowvar=True,
    bias=False,
    ddof=None,
    fweights=None,
    aweights=None,
    *,
    dtype=None,
) -> Any:
    _refuse(lw, e, "np.cov", y=y, fweights=fweights, aweights=aweights, dtype=dtype)
    if not is_const(rowvar):
        raise not_constant(lw, e, rowvar, "np.cov's rowvar must be known when compiling")
    if not rowvar:
        raise lw.error(
            e,
            "np.cov(m, rowvar=False) is not supported",
            "Give it the variables as rows: np.cov(m.T).",
        )
    if ddof is not None and not (is_const(ddof) and type(ddof) is int):
        raise not_constant(lw, e, ddof, "np.cov's ddof must be an int known when compiling")
    ddof = (0 if bias else 1) if ddof is None else ddof
    x = lw.call_rule("astype", (lw.call_rule("atleast_2d", (m,), {}, e), np.float64), {}, e)
    mean = lw.call_rule("mean", (x,), {"axis": 1}, e)
    centred = lw.binop(ast.Sub(), x, getitem(lw, mean, (slice(None), None), e), e)
    n = getitem(lw, lw.call_rule("shape", (x,), {}, e), 1, e)
    fact = lw.call_rule("maximum", (lw.binop(ast.Sub(), n, ddof, e), 0), {}, e)  # (NumPy's)
    product = lw.binop(ast.MatMult(), centred, lw.call_rule("transpose", (centred,), {}, e), e)
    scaled = lw.binop(ast.Mult(), product, lw.binop(ast.Div(), 1, fact, e), e)
    return lw.call_rule("squeeze", (scaled,), {}, e)


@composite(np.trapezoid)
def _trapezoid(lw: _Lowerer, e: ast.AST, y, x=None, dx=1.0, axis=-1) -> Any:
    axis = _axis(lw, e, axis, "np.trapezoid")
    if axis is None:
        raise lw.error(e, "np.trapezoid's axis must be an int")
    if x is None:
        d = dx
    elif axis == -1:
        d = lw.call_rule("diff", (x,), {"axis": -1}, e)
    else:
        raise lw.error(
            e,
            "np.trapezoid(y, x, axis=...) along another axis than the last is not supported",
            "Move the axis last first: np.trapezoid(np.moveaxis(y, axis, -1), x).",
        )
    ends = [along(lw, y, part, axis, e) for part in (slice(1, None), slice(None, -1))]
    heights = lw.binop(ast.Add(), *ends, e)
    areas = lw.binop(ast.Div(), lw.binop(ast.Mult(), d, heights, e), 2.0, e)
    return lw.call_rule("sum", (areas,), {"axis": axis}, e)
