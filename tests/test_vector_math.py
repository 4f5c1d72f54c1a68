"""The Numba backend's vectorised math (`symgrad.rules.runtime_vector`): each function's source
compiled as an emitted module compiles it (inlined into a loop that Numba compiles with
error_model="numpy"), about 2,000 points per function against mpmath (50 digits: at most 1 ulp
off) and special values against NumPy (NaN where NumPy's is, infinities and signed zeros
bitwise, the rest within 1 ulp); and a large nest's gradient, which calls them, against the
NumPy backend's."""

from __future__ import annotations

import inspect
import types
import warnings

import mpmath
import numpy as np
import pytest

import symgrad
from symgrad.errors import SpecialisationWarning
from symgrad.rules import runtime_vector

numba = pytest.importorskip("numba")

FUNCS = {
    "exp": (np.exp, mpmath.exp),
    "expm1": (np.expm1, mpmath.expm1),
    "log": (np.log, mpmath.log),
    "log1p": (np.log1p, mpmath.log1p),
    "tanh": (np.tanh, mpmath.tanh),
    "sin": (np.sin, mpmath.sin),
    "cos": (np.cos, mpmath.cos),
}
BOUND = 2.0**21  # sin and cos: exact below it, nan beyond (a nest's second pass computes them)

SPECIAL = np.array(
    [
        0.0,
        -0.0,
        np.inf,
        -np.inf,
        np.nan,
        1.0,
        -1.0,
        0.5,
        -0.5,
        2.0,
        -2.0,
        5e-324,
        -5e-324,
        1e-310,
        -1e-310,
        2.2250738585072014e-308,
        -2.2250738585072014e-308,
        1e-20,
        -1e-20,
        2.0**-54,
        -(2.0**-54),
        2.0**-53,
        -(2.0**-53),
        7.450580596923828e-09,
        0.625,
        -0.625,
        22.0,
        -22.0,
        22.1,
        -22.1,
        38.0,
        -38.0,
        -40.0,
        -41.0,
        709.78,
        709.782712893384,
        709.7827128933841,
        710.0,
        1e300,
        1.7976931348623157e308,
        -708.4,
        -745.1332191019411,
        -745.1332191019412,
        -746.0,
        -1e300,
        -1.7976931348623157e308,
        -0.9999999999999999,
        -1.0000000000000002,
        0.9999999999999999,
        1.0000000000000002,
        2.0**53,
        -(2.0**53),
    ]
)


def _compile():
    ns = {"np": np}
    for name, obj in vars(runtime_vector).items():
        if isinstance(obj, types.FunctionType):
            exec(inspect.getsource(obj), ns)
            ns[name] = numba.njit(forceinline=True, error_model="numpy")(ns[name])
    loops = {}
    for fn in FUNCS:
        f = ns["_v" + fn]

        @numba.njit(error_model="numpy")
        def loop(x, f=f):
            out = np.empty_like(x)
            for i in range(x.shape[0]):
                out[i] = f(x[i])
            return out

        loops[fn] = loop
    return loops


@pytest.fixture(scope="module")
def loops():
    return _compile()


def _logu(rng, n, lo, hi, signed=True):
    m = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    return m * rng.choice([-1.0, 1.0], n) if signed else m


def sample_points(fn, seed=2024):
    r = np.random.default_rng(seed)
    if fn == "exp":
        p = [
            r.uniform(-745.0, 709.78, 800),
            _logu(r, 600, 1e-20, 1.0),
            r.uniform(-5, 5, 400),
            _logu(r, 200, 1e-300, 1e-20),
        ]
    elif fn == "expm1":
        p = [
            _logu(r, 700, 1e-300, 1.0),
            r.uniform(-40, 709.78, 600),
            r.uniform(-3, 3, 500),
            _logu(r, 200, 1e-9, 1e-2),
        ]
    elif fn == "log":
        p = [
            np.exp2(r.uniform(-1022, 1023, 800)) * r.uniform(1, 2, 800),
            1 + _logu(r, 500, 1e-16, 0.5),
            r.uniform(0, 10, 400),
            _logu(r, 300, 5e-324, 2.2250738585072014e-308, False),
        ]
    elif fn == "log1p":
        p = [
            -_logu(r, 400, 1e-300, 0.999, False),
            _logu(r, 400, 1e-300, 1.0, False),
            -1 + _logu(r, 300, 1e-16, 1.0, False),
            _logu(r, 400, 1.0, 1e308, False),
            r.uniform(-0.9, 3, 500),
        ]
    elif fn == "tanh":
        p = [
            _logu(r, 600, 1e-300, 1.0),
            r.uniform(-3, 3, 600),
            _logu(r, 500, 1.0, 30.0),
            r.uniform(-0.7, 0.7, 300),
        ]
    else:  # sin, cos: near multiples of pi/2 too, where the reduction loses most
        near = np.pi / 2 * r.integers(1, 1 << 20, 400) + r.normal(0, 1e-9, 400)
        p = [_logu(r, 500, 1e-300, 1.0), r.uniform(-10, 10, 500), _logu(r, 600, 1.0, BOUND), near]
    finite_special = SPECIAL[np.isfinite(SPECIAL) & (np.abs(SPECIAL) <= BOUND)]
    return np.concatenate(p + [finite_special])


def ulp_error(y, v):
    """|y - v| in units of ulp(v) (ulp of the exact value, 2**-1074 floor)."""
    if v == 0:
        return 0.0 if y == 0 else np.inf
    e = max(mpmath.frexp(v)[1] - 53, -1074)
    return float(abs(mpmath.mpf(float(y)) - v) / mpmath.ldexp(1, e))


@pytest.mark.parametrize("fn", list(FUNCS))
def test_vs_mpmath(loops, fn):
    mpf_fn = FUNCS[fn][1]
    x = sample_points(fn)
    with np.errstate(all="ignore"):
        y = loops[fn](x)
    worst, worst_x = 0.0, None
    with mpmath.workdps(50):
        for xi, yi in zip(x.tolist(), y.tolist()):
            if fn in ("log", "log1p") and xi <= (0.0 if fn == "log" else -1.0):
                continue  # domain edges: see test_special
            v = mpf_fn(mpmath.mpf(xi))
            if abs(v) > mpmath.mpf(np.finfo(np.float64).max):
                assert np.isinf(yi), (fn, xi, yi)
                continue
            err = ulp_error(yi, v)
            if err > worst:
                worst, worst_x = err, xi
    assert worst <= 1.0, f"{fn}: max error {worst:.3f} ulp at x={worst_x!r}"


@pytest.mark.parametrize("fn", list(FUNCS))
def test_special(loops, fn):
    special = SPECIAL[~(np.abs(SPECIAL) > BOUND) | np.isinf(SPECIAL)] if fn in "sincos" else SPECIAL
    with np.errstate(all="ignore"):
        y = loops[fn](special)
        ref = FUNCS[fn][0](special)
    assert np.array_equal(np.isnan(y), np.isnan(ref)), (fn, SPECIAL, y, ref)
    m = ~np.isnan(ref)
    y, ref, x = y[m], ref[m], special[m]
    exact = ~np.isfinite(ref) | (ref == 0) | ~np.isfinite(y) | (y == 0)
    bad = exact & (y.view(np.int64) != ref.view(np.int64))  # inf, +-0: bitwise
    assert not bad.any(), (fn, x[bad], y[bad], ref[bad])
    with np.errstate(invalid="ignore"):
        close = np.abs(y - ref) <= np.spacing(np.abs(ref))
    assert np.all(close[~exact] & (np.signbit(y) == np.signbit(ref))[~exact]), fn


def test_a_large_nest_calls_them_and_agrees_with_the_numpy_backend(make_fn):
    mod = make_fn(
        """
        def chain(x):
            return np.sum(np.exp(np.tanh(x) * x) / (1 + x**2) + np.log1p(x**2) * np.expm1(-x**2))
        """
    )
    x = np.random.default_rng(0).uniform(-3, 3, 1 << 16)
    fast = symgrad.grad(mod.chain, backend="numba")
    got, want = fast(x), symgrad.grad(mod.chain)(x)
    assert "_vexp(" in fast.source and "_vtanh(" in fast.source, fast.source
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    small = symgrad.grad(mod.chain, backend="numba")
    small(x[:100])  # (a nest of 100 entries: the C library's, compiled sooner)
    assert "_vexp" not in small.source


def test_sin_and_cos_beyond_their_bound_are_the_c_librarys(make_fn):
    """A nest with sin and cos of arguments beyond 2**21 (or infinite) runs again with the C
    library's functions: NumPy's results, where the vectorised ones gave nan."""
    mod = make_fn("def f(x):\n    return np.sum(np.sin(x) * np.cos(2 * x) + np.exp(-x * x))\n")
    x = np.random.default_rng(1).uniform(-4, 4, 1 << 16)
    g = symgrad.value_and_grad(mod.f, backend="numba")
    for big in (None, 3.5e6, 1e300):
        y = x.copy()
        if big is not None:
            y[[5, 700]] = big, -big
        with np.errstate(over="ignore"):  # ((1e300)**2)
            (value, grad), want = g(y), symgrad.value_and_grad(mod.f)(y)
        np.testing.assert_allclose(grad, want[1], rtol=1e-13, atol=1e-15)
        assert np.isclose(value, want[0], rtol=1e-12)
    assert "_vsin(" in g.source and "if beyond:" in g.source, g.source


def test_names_of_the_users_never_hide_a_nests_own(make_fn):
    """Locals named `beyond`, `abs`, `_vsin` or `_vexp` in a large nest with sin and exp: the
    nest's count, the builtin and the vectorised functions keep their names."""
    mod = make_fn(
        """
        def f(x):
            beyond = x * 0.5
            abs = np.exp(-x * beyond)
            _vsin = np.sin(beyond) * abs
            _vexp = np.cos(x) + _vsin
            return np.sum(_vexp)
        """
    )
    x = np.random.default_rng(2).uniform(-3, 3, (256, 256))
    x[0, 0], x[-1, -1] = 1e300, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpecialisationWarning)
        with np.errstate(over="ignore", invalid="ignore"):
            got = symgrad.value_and_grad(mod.f, backend="numba")(x)
            want = symgrad.value_and_grad(mod.f)(x)
    assert np.allclose(got[0], want[0], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12, atol=1e-15)
