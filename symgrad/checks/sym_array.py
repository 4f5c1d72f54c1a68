"""SymArray: a NumPy array type whose entries are SymPy expressions.

Contract: a `SymArray` is an object-dtype ndarray that takes part in NumPy's dispatch protocols
(`__array_ufunc__`, `__array_function__`), so unmodified NumPy code — a user's function, or the
gradient symgrad emitted for it — runs on it and returns exact SymPy expressions. Ufuncs use the
SymPy form of their rule-table entry (`np.tanh` is `sp.tanh`). Comparisons give booleans: where
they depend on the symbols they are decided inside `decide_at(values)` by substituting the values
(so code with masks and branches follows the branch that point takes), and raise `Undecided`
outside it. Python floats become the exact rationals they are written as (or the constant, π, ln 2,
..., whose nearest double they are). Linear algebra NumPy cannot do on objects (inv, solve, det,
norm, std, slogdet, cholesky, eigh of 2x2 matrices) is done with SymPy matrices, and so is what
a rule-table entry implements for itself (`Rule.symbolic`: svd, qr); np.sort follows the order
at the point.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import sympy as sp

from symgrad.rules import RULES, rule_for_callable
from symgrad.rules.table import CONVENTIONS

_AT: ContextVar["_Point | None"] = ContextVar("symgrad_decide_at", default=None)
_RELATIONS = {
    np.greater: sp.Gt,
    np.less: sp.Lt,
    np.greater_equal: sp.Ge,
    np.less_equal: sp.Le,
    np.equal: sp.Eq,
    np.not_equal: sp.Ne,
}


class Undecided(TypeError):
    """A comparison whose outcome depends on the symbols, outside a `decide_at` context."""


class _Point:
    def __init__(self, values: dict):
        self.values = values
        self.decisions = 0  # comparisons that depended on the symbols


@contextmanager
def decide_at(values: dict):
    """Decide comparisons by substituting `values` (symbol -> number) into them. Yields an
    object whose `.decisions` counts the comparisons that needed the substitution."""
    point = _Point(values)
    token = _AT.set(point)
    try:
        yield point
    finally:
        _AT.reset(token)


_CONSTANTS = {
    float(c): c
    for c in (
        sp.pi,
        sp.E,
        sp.log(2),
        sp.log(10),
        1 / sp.log(2),
        1 / sp.log(10),
        sp.sqrt(2),
        sp.sqrt(sp.pi),
        1 / sp.sqrt(sp.pi),
    )
}


def exact(x):
    """A Python or NumPy number as the exact SymPy number it is written as; a float that is the
    double nearest to a known constant (π, e, ln 2, ln 10, √2, √π, ...) as that constant."""
    if isinstance(x, (bool, np.bool_, int, np.integer)):
        return sp.Integer(int(x))
    if isinstance(x, (float, np.floating)):
        return _CONSTANTS.get(float(x)) or sp.Rational(repr(float(x)))
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


def _truth(value) -> bool:
    return _decide(sp.Ne(sp.sympify(value), 0))


def _number(value) -> sp.Basic:
    """The value where `decide_at` puts the symbols, for operations that are constant nearby."""
    at = _AT.get()
    value = sp.sympify(value)
    if value.free_symbols and at is not None:
        at.decisions += 1
        value = value.subs(at.values)
    if value.free_symbols:
        raise Undecided(f"cannot evaluate {value} without a point")
    return value


def _decide(relation: sp.Basic) -> bool:
    """A relation's truth value: as it stands, or where `decide_at` puts the symbols."""
    at = _AT.get()
    if relation not in (sp.true, sp.false) and at is not None:
        at.decisions += 1
        relation = relation.subs(at.values)
    if relation not in (sp.true, sp.false):
        raise Undecided(f"cannot decide {relation} without a point")
    return relation == sp.true


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


_PICKS = {
    np.maximum: lambda x, y: x if _decide(sp.Ge(x, y)) else y,
    np.minimum: lambda x, y: x if _decide(sp.Le(x, y)) else y,
}


def _reduce(binary, a, axis=None, dtype=None, out=None, keepdims=False, **unused):
    """A reduction by a binary object ufunc, one axis at a time (object reductions of
    non-reorderable ufuncs take one axis)."""
    axes = range(a.ndim) if axis is None else (axis,) if np.ndim(axis) == 0 else axis
    for ax in sorted((ax % a.ndim for ax in axes), reverse=True):
        a = binary.reduce(a, axis=ax, keepdims=True)
    return (
        a
        if keepdims
        else a.reshape(
            [n for k, n in enumerate(a.shape) if k not in {ax % max(a.ndim, 1) for ax in axes}]
        )
    )


_PICKED = {  # a binary object ufunc's methods as NumPy's maximum and minimum do them
    "__call__": lambda binary, *args, **kwargs: binary(*args, **kwargs),
    "reduce": _reduce,
    "accumulate": lambda binary, a, axis=0, **unused: binary.accumulate(a, axis=axis),
}


def _at_values(a) -> np.ndarray:
    """The float values of an array's entries where `decide_at` puts the symbols."""
    return np.frompyfunc(lambda v: float(_number(v)), 1, 1)(_plain(a)).astype(float)


def _ordering(fn):
    """argmax, argsort, ...: computed on the values where `decide_at` puts the symbols."""
    return lambda a, *args, **kwargs: fn(_at_values(a), *args, **kwargs)


class SymArray(np.ndarray):
    """An object-dtype array of SymPy expressions that NumPy code runs on unchanged."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        args = [
            x if k == 1 and method in ("at", "reduceat") else _plain(x)  # indices stay
            for k, x in enumerate(inputs)
        ]
        if "out" in kwargs:
            kwargs["out"] = tuple(_plain(o) for o in kwargs["out"])
        if method == "__call__" and ufunc in _RELATIONS:
            rel = _RELATIONS[ufunc]
            result = np.frompyfunc(lambda a, b: _decide(rel(a, b)), 2, 1)(*args)
            return np.asarray(result, dtype=bool) if np.ndim(result) else bool(result)
        if ufunc in _PICKS and method in _PICKED and _AT.get() is not None:
            pick = np.frompyfunc(_PICKS[ufunc], 2, 1)  # the winner at the point, not Max(...)
            return _wrap(_PICKED[method](pick, *args, **kwargs))
        if ufunc in _FORMS and method == "__call__":
            form = _FORMS[ufunc]
            return _wrap(np.frompyfunc(lambda *a: form(sp, *a), ufunc.nin, 1)(*args, **kwargs))
        if ufunc in (np.maximum, np.minimum) and method in ("reduce", "accumulate"):  # np.max
            form = _FORMS[ufunc]
            folded = np.frompyfunc(lambda x, y: form(sp, x, y), 2, 1)  # (Max(x, y) of symbols)
            return _wrap(_PICKED[method](folded, *args, **kwargs))
        result = getattr(ufunc, method)(*args, **kwargs)
        return None if method == "at" else _wrap(result)

    def astype(self, dtype, *args, **kwargs):
        kind = np.dtype(dtype).kind
        plain = self.view(np.ndarray)
        if kind == "b":
            return np.frompyfunc(_truth, 1, 1)(plain).astype(bool)
        if kind in "iu":  # truncation is constant near a non-integer point
            return np.frompyfunc(lambda v: int(_number(v)), 1, 1)(plain).astype(dtype)
        return self.copy()

    def clip(self, min=None, max=None, out=None, **kwargs):  # noqa: A002 (NumPy's names)
        return _clip(self, min, max)

    def __array_function__(self, func, types, args, kwargs):
        impl = _FUNCTIONS.get(func)
        if impl is not None:
            return impl(*args, **kwargs)
        rule = rule_for_callable(func)
        if rule is not None and rule.symbolic is not None:  # the rule's own (`Rule.symbolic`)
            out = rule.symbolic(sp, *(_plain(a) for a in args), **kwargs)
            return type(out)(*map(_wrap, out)) if isinstance(out, tuple) else _wrap(out)
        return _wrap(func._implementation(*args, **kwargs))  # its ufuncs dispatch back here


def _batched(fn, a, *rest):
    """Apply fn (on SymPy matrices) over the leading axes of stacked matrices."""
    a = np.asarray(_plain(a), dtype=object)
    lead = a.shape[:-2]
    out = []
    for idx in np.ndindex(*lead):
        out.append(
            fn(
                sp.Matrix(a[idx]),
                *(np.asarray(_plain(r), dtype=object)[idx] if np.ndim(r) > 2 else r for r in rest),
            )
        )
    if not lead:
        return out[0]
    stacked = np.empty(lead + np.shape(np.asarray(out[0], dtype=object)), dtype=object)
    for k, idx in enumerate(np.ndindex(*lead)):
        stacked[idx] = np.asarray(out[k], dtype=object)
    return stacked


def _inv(a):
    return _wrap(np.asarray(_batched(lambda m: np.array(m.inv(), dtype=object), a), dtype=object))


def _pinv(a, rcond=None, hermitian=False):
    return _wrap(np.asarray(_batched(lambda m: np.array(m.pinv(), dtype=object), a), dtype=object))


def _det(a):
    return _wrap(_batched(lambda m: m.det(), a))


def _solve(a, b):
    b_plain = np.asarray(_plain(b), dtype=object)
    vector = b_plain.ndim == 1
    inv = np.asarray(_batched(lambda m: np.array(m.inv(), dtype=object), a), dtype=object)
    result = inv @ (b_plain[..., None] if vector else b_plain)
    return _wrap(result[..., 0] if vector else result)


def _slogdet(a):
    """(sign, log |det|), the sign decided where `decide_at` puts the symbols."""
    det = _plain(_det(a))
    sign = np.frompyfunc(lambda d: sp.sign(_number(d)), 1, 1)(det)
    log = np.frompyfunc(lambda d, s: sp.log(s * d), 2, 1)(det, sign)
    return type(np.linalg.slogdet(np.eye(1)))(_wrap(sign), _wrap(log))


def _symmetric(a, upper: bool):
    """The symmetric matrices the lower (or upper) triangles of a make, as NumPy reads them."""
    a = np.asarray(_plain(a), dtype=object)
    tri = np.triu(a) if upper else np.tril(a)
    return tri + np.swapaxes(np.triu(a, 1) if upper else np.tril(a, -1), -1, -2)


def _cholesky(a, upper=False):
    chol = lambda m: np.array(m.cholesky(hermitian=False), dtype=object)  # noqa: E731
    lower = np.asarray(_batched(chol, _symmetric(a, upper)), dtype=object)
    return _wrap(np.swapaxes(lower, -1, -2) if upper else lower)


def _eigh2(m):
    """The eigenvalues (ascending) and unit eigenvectors of a symmetric 2x2 SymPy matrix."""
    if m.shape != (2, 2):
        raise NotImplementedError("np.linalg.eigh of symbols: 2x2 matrices only")
    p, q, r = m[0, 0], m[1, 0], m[1, 1]
    h = sp.sqrt(((p - r) / 2) ** 2 + q**2)
    w = [(p + r) / 2 - h, (p + r) / 2 + h]
    v = np.empty((2, 2), dtype=object)
    for k, lam in enumerate(w):
        n = sp.sqrt(q**2 + (lam - p) ** 2)
        v[0, k], v[1, k] = q / n, (lam - p) / n
    return np.array(w, dtype=object), v


def _eigh(a, UPLO="L"):
    sym = _symmetric(a, UPLO == "U")
    parts = [_eigh2(sp.Matrix(sym[idx])) for idx in np.ndindex(*sym.shape[:-2])]
    w = np.array([p[0] for p in parts], dtype=object).reshape(sym.shape[:-1])
    v = np.array([p[1] for p in parts], dtype=object).reshape(sym.shape)
    return type(np.linalg.eigh(np.eye(1)))(_wrap(w), _wrap(v))


def _sort(a, axis=-1, kind=None, **unused):
    """np.sort: the entries in the order of their values where `decide_at` puts the symbols."""
    return np.take_along_axis(a, _ordering(np.argsort)(a, axis=axis), axis)


def _where(condition, x=None, y=None):
    c, x, y = (_plain(v) for v in (condition, x, y))
    pick = np.frompyfunc(lambda c_, x_, y_: x_ if _truth(c_) else y_, 3, 1)
    return _wrap(pick(c, x, y))


def _norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 (NumPy's name)
    """The 2-norm (Frobenius) and a vector's p-norms, as NumPy defines them."""
    reduce = {"axis": axis, "keepdims": keepdims}
    if ord in (None, "fro", 2):
        return np.sqrt(np.sum(x * x, **reduce))
    if ord == 1:
        return np.sum(np.abs(x), **reduce)
    if ord in (np.inf, -np.inf):
        return (np.max if ord > 0 else np.min)(np.abs(x), **reduce)
    p = sp.nsimplify(ord)
    return np.sum(np.abs(x) ** p, **reduce) ** (1 / p)


def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kwargs):
    return np.sqrt(np.var(a, axis=axis, ddof=ddof, keepdims=keepdims))


def _clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None):  # noqa: A002
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    if lo is not None:
        a = np.maximum(a, lo)
    return np.minimum(a, hi) if hi is not None else a


_FUNCTIONS = {
    **{fn: _ordering(fn) for fn in (np.argmax, np.argmin, np.argsort)},
    np.linalg.inv: _inv,
    np.linalg.pinv: _pinv,
    np.linalg.det: _det,
    np.linalg.solve: _solve,
    np.linalg.slogdet: _slogdet,
    np.linalg.cholesky: _cholesky,
    np.linalg.eigh: _eigh,
    np.where: _where,
    np.sort: _sort,
    np.linalg.norm: _norm,
    np.std: _std,
    np.clip: _clip,
}


class _Typed:
    """A NumPy scalar type (np.float64) for code running on SymPy values: called, its rule's
    form on them (`Rule.symbolic`), where NumPy would take a Python float or int of the value;
    as a dtype (`np.zeros(n, np.float64)`), the type's."""

    def __init__(self, scalar_type: type, rule):
        self.dtype = np.dtype(scalar_type)
        self.scalar_type, self.rule = scalar_type, rule

    def __call__(self, *args, **kwargs):
        convention = CONVENTIONS.get(id(self.scalar_type))
        if convention is not None:
            args, kwargs = convention(*args, **kwargs)
        return self.rule.symbolic(sp, *args, **kwargs)


class _NumPyOnSymbols:
    """The `np` of code running on SymPy values: NumPy, but its scalar types denoting a rule
    with a symbolic form (`np.float64(x)`: `Rule.symbolic`) are `_Typed`."""

    def __getattr__(self, name: str):
        attr = getattr(np, name)
        rule = rule_for_callable(attr) if isinstance(attr, type) else None
        if rule is not None and rule.symbolic is not None:
            return _Typed(attr, rule)
        return attr


NUMPY_ON_SYMBOLS = _NumPyOnSymbols()
