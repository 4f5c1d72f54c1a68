"""SymArray: a NumPy array type whose entries are SymPy expressions.

Contract: a `SymArray` is an object-dtype ndarray that takes part in NumPy's dispatch protocols
(`__array_ufunc__`, `__array_function__`), so unmodified NumPy code — a user's function, or the
gradient symgrad emitted for it — runs on it and returns exact SymPy expressions. Ufuncs use the
SymPy form of their rule-table entry (`np.tanh` is `sp.tanh`); comparisons give 1/0 (or a
Piecewise while undecided), and inside `at_point(s)` they are decided at s = 0, so code with
masks and branches follows the branch the point takes. Python floats become the exact rationals
they are written as. Linear algebra NumPy cannot do on objects (inv, solve, det, norm, std) is
done with SymPy matrices.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import sympy as sp

from symgrad.rules import RULES

_POINT: ContextVar[sp.Symbol | None] = ContextVar("symgrad_point", default=None)
_RELATIONS = {np.greater: sp.Gt, np.less: sp.Lt, np.greater_equal: sp.Ge,
              np.less_equal: sp.Le, np.equal: sp.Eq, np.not_equal: sp.Ne}


@contextmanager
def at_point(s: sp.Symbol):
    """Decide comparisons at s = 0 (the expressions are a point plus s times a direction)."""
    token = _POINT.set(s)
    try:
        yield
    finally:
        _POINT.reset(token)


def exact(x):
    """A Python or NumPy number as the exact SymPy number it is written as."""
    if isinstance(x, (bool, np.bool_)):
        return sp.Integer(int(x))
    if isinstance(x, (int, np.integer)):
        return sp.Integer(int(x))
    if isinstance(x, (float, np.floating)):
        return sp.Rational(repr(float(x)))
    return x


def symarray(values) -> "SymArray":
    """An array (or scalar) of SymPy expressions or numbers, as a SymArray."""
    arr = np.empty(np.shape(values), dtype=object)
    flat = np.asarray(values, dtype=object).reshape(-1)
    for i, v in enumerate(flat):
        arr.reshape(-1)[i] = sp.sympify(exact(v))
    return arr.view(SymArray)


def _plain(x):
    """An operand as NumPy sees it inside the protocols: object ndarrays of SymPy values."""
    if isinstance(x, SymArray):
        return x.view(np.ndarray)
    if isinstance(x, np.ndarray) and x.dtype != object:
        return symarray(x).view(np.ndarray) if x.dtype.kind in "biuf" else x
    if isinstance(x, (bool, int, float, np.number, np.bool_)):
        return exact(x)
    return x


def _wrap(result):
    if isinstance(result, np.ndarray):
        return result.view(SymArray) if result.dtype == object else result
    if isinstance(result, sp.Basic):
        return np.asarray(result, dtype=object).view(SymArray)
    return result


def _decide(relation: sp.Basic):
    """1 or 0 for a decided relation; at a point, decided at s = 0; else 1/0 as a Piecewise."""
    if relation in (sp.true, sp.false):
        return sp.Integer(relation == sp.true)
    s = _POINT.get()
    if s is not None:
        at = relation.subs(s, 0)
        if at in (sp.true, sp.false):
            return sp.Integer(at == sp.true)
    return sp.Piecewise((1, relation), (0, True))


def _elementwise(fn, args):
    result = np.frompyfunc(fn, len(args), 1)(*args)
    return result


def _ufunc_forms() -> dict:
    forms = {}
    for rule in RULES.values():
        if rule.sympy is None:
            continue
        for fn in rule.callables:
            if isinstance(fn, np.ufunc) and fn not in _RELATIONS:
                forms[fn] = rule.sympy
    return forms


_FORMS = _ufunc_forms()


class SymArray(np.ndarray):
    """An object-dtype array of SymPy expressions that NumPy code runs on unchanged."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        args = [_plain(x) for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(_plain(o) for o in kwargs["out"])
        if method == "__call__" and ufunc in _RELATIONS:
            rel = _RELATIONS[ufunc]
            result = _elementwise(lambda a, b: _decide(rel(a, b)), args)
            if all(v in (0, 1) and isinstance(v, sp.Integer) for v in np.ravel(result)):
                return np.asarray(result, dtype=bool) if np.ndim(result) else bool(result)
            return _wrap(result)
        if method == "__call__" and ufunc in _FORMS:
            form = _FORMS[ufunc]
            return _wrap(_elementwise(lambda *a: form(sp, *a), args))
        result = getattr(ufunc, method)(*args, **kwargs)
        return None if method == "at" else _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        impl = _FUNCTIONS.get(func)
        if impl is not None:
            return impl(*args, **kwargs)
        args = tuple(_plain_deep(a) for a in args)
        kwargs = {k: _plain_deep(v) for k, v in kwargs.items()}
        return _wrap(func._implementation(*args, **kwargs))


def _plain_deep(x):
    if isinstance(x, (list, tuple)):
        return type(x)(_plain_deep(v) for v in x)
    return x.view(np.ndarray) if isinstance(x, SymArray) else x


def _batched(fn, a, *rest):
    """Apply fn (on SymPy matrices) over the leading axes of stacked matrices."""
    a = np.asarray(_plain(a), dtype=object)
    lead = a.shape[:-2]
    out = []
    for idx in np.ndindex(*lead):
        out.append(fn(sp.Matrix(a[idx]), *(np.asarray(_plain(r), dtype=object)[idx]
                                            if np.ndim(r) > 2 else r for r in rest)))
    if not lead:
        return out[0]
    stacked = np.empty(lead + np.shape(np.asarray(out[0], dtype=object)), dtype=object)
    for k, idx in enumerate(np.ndindex(*lead)):
        stacked[idx] = np.asarray(out[k], dtype=object)
    return stacked


def _inv(a):
    return _wrap(np.asarray(_batched(lambda m: np.array(m.inv(), dtype=object), a),
                            dtype=object))


def _det(a):
    return _wrap(_batched(lambda m: m.det(), a))


def _solve(a, b):
    b_plain = np.asarray(_plain(b), dtype=object)
    vector = b_plain.ndim == 1
    inv = np.asarray(_batched(lambda m: np.array(m.inv(), dtype=object), a), dtype=object)
    result = inv @ (b_plain[..., None] if vector else b_plain)
    return _wrap(result[..., 0] if vector else result)


def _where(condition, x=None, y=None):
    c, x, y = (_plain(v) for v in (condition, x, y))
    pick = lambda c_, x_, y_: x_ if c_ else y_  # noqa: E731
    if np.asarray(c).dtype == object:  # undecided conditions stay symbolic
        pick = lambda c_, x_, y_: sp.Piecewise((x_, sp.Ne(c_, 0)), (y_, True))  # noqa: E731
    return _wrap(_elementwise(pick, (c, x, y)))


def _norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 (NumPy's name)
    return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))


def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kwargs):
    return np.sqrt(np.var(a, axis=axis, ddof=ddof, keepdims=keepdims))


def _clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None):  # noqa: A002
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    if lo is not None:
        a = np.maximum(a, lo)
    return np.minimum(a, hi) if hi is not None else a


_FUNCTIONS = {np.linalg.inv: _inv, np.linalg.det: _det, np.linalg.solve: _solve,
              np.where: _where, np.linalg.norm: _norm, np.std: _std, np.clip: _clip}
