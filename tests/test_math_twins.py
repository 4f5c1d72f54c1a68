"""Python's math functions on floats are their NumPy twins: each one a rule lists among its
callables differentiates as the rule does, against central differences."""

import math

import numpy as np
import pytest

import symgrad
from symgrad.checks.examples import example_function, parse_example, sample
from symgrad.rules import RULES

TWINS = sorted(
    (fn.__name__, name)
    for name, rule in RULES.items()
    for fn in rule.callables
    if getattr(fn, "__module__", None) == "math"
)


def test_the_usual_math_functions_are_twins():
    names = {twin for twin, _ in TWINS}
    assert {"exp", "log", "sqrt", "sin", "cos", "tanh", "atan2", "pow", "fabs"} <= names


@pytest.mark.parametrize("twin, name", TWINS, ids=[t for t, _ in TWINS])
def test_a_math_function_differentiates_as_its_numpy_twin(twin, name):
    rule = RULES[name]
    params = [p.name for p in rule.array_params]
    inputs = ", ".join(f"{p}: f {rule.domain.get(p, 'real')}" for p in params)
    expr, spec = parse_example(f"math.{twin}({', '.join(params)}) * {params[0]} | {inputs}")
    f = example_function(expr, spec)
    args = [sample(i, np.random.default_rng(1)) for i in spec]
    symgrad.check_grads(f, args, tuple(range(len(args))))
    assert math.isclose(symgrad.value_and_grad(f)(*args)[0], f(*args), rel_tol=1e-12)


def test_math_constants_are_folded():
    f = example_function("math.pi * x + math.e * x ** 2", parse_example("x | x: f")[1])
    g = symgrad.grad(f)
    assert math.isclose(g(2.0), math.pi + 4 * math.e)
    assert "3.14159" in g.source


def python_builtins(x, y):
    n = round(y * 3.0)  # an int: it counts
    return (
        math.log(y, 2)
        + math.log(y, y + 1.0)
        + pow(y, 3)
        + round(y, 1) * y
        + math.radians(y) * math.degrees(y)
        + np.sum(x[:n])
        + (np.sum(x) if (x > -5).all() and not (x > 5).any() else 0.0)
    )


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_round_pow_and_a_logarithms_base(backend):
    # round(), pow() and math.log(x, base) were refused, and so were x.any() and x.all()
    if backend == "numba":
        pytest.importorskip("numba")
    x = np.array([0.3, -0.7, 1.1, 0.4, 2.0, -1.2])
    for y in (0.9, 1.7):
        symgrad.check_grads(python_builtins, (x, y), (0, 1), backend=backend)
        value = symgrad.value_and_grad(python_builtins, backend=backend)(x, y)[0]
        assert math.isclose(value, python_builtins(x, y), rel_tol=1e-12)


def integral(x):
    n = x.shape[0]
    k = math.floor(n / 2) + math.ceil(n / 5) - math.trunc(-1.5) + round(2.5)
    k = k + int(math.fmod(7.0, 3.0)) + math.factorial(3) - math.comb(4, 2)
    return np.sum(x[:k]) * math.sqrt(2.0) + math.floor(np.sum(x)) * x[0]


def test_integral_math_functions_and_calls_on_constants():
    # math.floor, math.ceil and math.trunc were refused, and any math function of constants
    x = np.arange(9.0) * 0.3 + 0.1
    symgrad.check_grads(integral, (x,))
    assert symgrad.jit(integral)(x) == integral(x)


def rounded(a, x):
    return round(a, 2) + np.sum(x * round(float(x[0]), 1)) + np.sum(round(x[1], 2) * x)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_round_to_digits_is_pythons(backend):
    # round(2.675, 2) was np.round's 2.68 (an np.float64), where Python's gives 2.67
    if backend == "numba":
        pytest.importorskip("numba")
    x = np.array([0.3555, -0.7, 1.1])
    got, want = symgrad.jit(rounded, backend=backend)(2.675, x), rounded(2.675, x)
    assert got == want and type(got) is type(want)
    symgrad.check_grads(rounded, (2.6712, x), (0, 1), backend=backend)  # (off a rounding step)


def test_a_math_function_of_constants_that_raises_says_so(make_fn):
    m = make_fn("import math\n\ndef f(x):\n    return np.sum(x) * math.log(-1.0)\n")
    with pytest.raises(symgrad.SymgradError, match="log of these constants raises: math domain"):
        symgrad.grad(m.f)(np.ones(2))


try:
    from scipy import special
except ImportError:  # SciPy is optional
    special = None


def scipy_special(x):
    return np.sum(special.gammaln(x) + special.digamma(x) * special.erf(x) + special.expit(x))


def call_price(S, K, T, r, sigma):  # Black-Scholes, as finance code writes it
    d1 = (np.log(S / K) + (r + 0.5 * sigma**2) * T) / (sigma * np.sqrt(T))
    d2 = d1 - sigma * np.sqrt(T)
    return np.sum(S * special.ndtr(d1) - K * np.exp(-r * T) * special.ndtr(d2))


def tails(x):  # (far in a tail: erfc, not 1 - erf)
    return np.sum(special.erfc(x) * 1e17 + math.erfc(x[0]) * special.ndtr(-x) * 1e20)


@pytest.mark.skipif(special is None, reason="SciPy is not installed")
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_the_normal_distribution_function_and_erfc_are_scipys(backend):
    pytest.importorskip(backend)
    S = np.array([90.0, 100.0, 110.0])
    symgrad.check_grads(call_price, (S, 100.0, 1.0, 0.05, 0.2), (0, 4), order=2, backend=backend)
    x = np.array([0.3, 2.0, 6.0, 7.5])
    symgrad.check_grads(tails, (x,), modes=("rev", "fwd"), backend=backend)
    assert symgrad.jit(tails, backend=backend)(x) == pytest.approx(tails(x), rel=1e-14)


@pytest.mark.skipif(special is None, reason="SciPy is not installed")
def test_scipy_special_functions_are_twins_once_imported():
    x = np.linspace(0.5, 2.0, 5)
    symgrad.check_grads(scipy_special, (x,), (0,))
    g = symgrad.grad(scipy_special)
    g(x)
    assert "_polygamma(x" in g.source and "special." not in g.source


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("twin, name", TWINS, ids=[t for t, _ in TWINS])
def test_a_math_function_gives_pythons_float(twin, name, backend, make_fn):
    """math.exp(s) of a Python float is a Python float, which NumPy takes weakly: s times a
    float32 array stays float32 (np.exp(s), a float64 NumPy number, made it float64)."""
    pytest.importorskip(backend)
    rule = RULES[name]
    args = ", ".join("s" for _ in rule.array_params)
    m = make_fn(
        f"import math\n\ndef f(s, x):\n    return np.sum(math.{twin}({args}) * x)\n\n"
        f"def g(s):\n    return math.{twin}({args})\n"
    )
    s, x = 1.4 if name == "arccosh" else 0.4, np.array([1.5, -0.5], np.float32)  # (in domain)
    value, (ds, dx) = symgrad.value_and_grad(m.f, argnums=(0, 1), backend=backend)(s, x)
    assert type(value) is type(m.f(s, x)) and value == pytest.approx(m.f(s, x), rel=1e-6)
    assert type(ds) is float and dx.dtype == np.float32
    assert type(symgrad.jit(m.g, backend=backend)(s)) is type(m.g(s))  # (math.isnan's a bool)


def test_a_math_function_of_a_float32_number_computes_in_float64(make_fn):
    """Python converts the number to a float first: math.exp(np.float32(100)) is finite,
    where np.exp of it overflowed float32 (inf, and an inf gradient)."""
    m = make_fn("import math\n\ndef f(x):\n    return math.exp(x[0]) * 1e-40 + math.sqrt(x[1])\n")
    x = np.array([100.0, 2.0], np.float32)
    value, gradient = symgrad.value_and_grad(m.f)(x)
    assert value == m.f(x) and type(value) is float
    assert gradient.dtype == np.float32 and np.all(np.isfinite(gradient))


def builtins_in_a_loop(x):
    s = x[0] * 0.0
    for i in range(len(x)):
        s = s + abs(i - 2) * x[i] + min(i, 2) * x[i] + max(x[i], 0.1) * abs(x[i])
    return s


def builtins_of_a_number(v):
    return abs(v) + min(v, 2.0) * max(v, 0.5, -v)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_abs_min_and_max_of_python_numbers_give_python_numbers(backend):
    """Python's abs, min and max were NumPy's (np.abs(i - 2) an np.int64), which made a float32
    total float64 (4.6999998 where 4.7), and a Python float's value an np.float64."""
    pytest.importorskip(backend)
    x = np.array([0.3, -0.5, 0.7, 1.2], np.float32)
    value, gradient = symgrad.value_and_grad(builtins_in_a_loop, backend=backend)(x)
    assert type(value) is type(builtins_in_a_loop(x)) and value == builtins_in_a_loop(x)
    assert gradient.dtype == np.float32
    symgrad.check_grads(builtins_in_a_loop, (x.astype(float),), modes=("rev", "fwd"))
    value, slope = symgrad.value_and_grad(builtins_of_a_number, backend=backend)(3.0)
    assert type(value) is float and value == builtins_of_a_number(3.0) and slope == 3.0


def python_min(x, y):
    return min(x, y) * 3.0 + max(y, x, 0.25)


@pytest.mark.parametrize("x, y", [(0.5, np.nan), (np.nan, 0.5), (0.5, 0.5), (0.7, 0.2)])
def test_python_min_and_max_pick_as_python_does(x, y):
    """min(0.5, nan) is 0.5 in Python (the first, which nan does not beat): its gradient was
    NumPy's minimum's (0, 0, as neither beats the other) where 3 goes to the first."""
    value, (dx, dy) = symgrad.value_and_grad(python_min, argnums=(0, 1))(x, y)
    want = python_min(x, y)
    assert value == want or np.isnan(value) and np.isnan(want)
    second_min = y < x  # (Python's min keeps the first unless the second beats it)
    kept = "y" if not x > y else "x"  # (max(y, x, 0.25): y first, then x, then 0.25)
    kept = kept if not 0.25 > max(y, x) else "constant"
    wx = 3.0 * (not second_min) + (kept == "x")
    wy = 3.0 * second_min + (kept == "y")
    assert (dx, dy) == (wx, wy)


def mapped_min(v):
    return min(v, 0.5) * v + abs(v)


def test_vmap_of_python_min_maps_numpys():
    """A batch of values took Python's min of arrays (ValueError: the truth of an array)."""
    v = np.array([0.3, 0.9, -0.5])
    got = symgrad.vmap(symgrad.grad(mapped_min))(v)
    np.testing.assert_allclose(got, [symgrad.grad(mapped_min)(float(e)) for e in v])


def row_max(x):
    return max(x[0], x[1]) * 2.0


def row_min(x):
    return min(x[0], x[1]) * 2.0


@pytest.mark.parametrize("fn", [row_max, row_min])
def test_vmap_of_python_min_and_max_picks_as_python_in_each_row(fn):
    """A batch computed np.maximum and np.minimum: a NaN second operand came through (nan
    where Python's max keeps the first: 0.6)."""
    xs = np.array([[0.3, np.nan], [0.5, 0.2], [np.nan, 0.1], [0.4, 0.4], [0.1, 0.5]])
    want = [fn(row) for row in xs]
    np.testing.assert_array_equal(symgrad.vmap(fn)(xs), want)


def gammas_and_betas(x, a):
    return np.sum(special.gamma(x) + special.betaln(x, a) + special.beta(x, 2.0)) + math.gamma(a[0])


def logits(p, x):
    return np.sum(special.logit(p) + special.log_expit(x) * p)


@pytest.mark.skipif(special is None, reason="SciPy is not installed")
def test_gamma_beta_and_logits_are_compositions():
    # (each was "cannot compile a call to gamma", and math.gamma too; Γ of a negative x has
    # the sign of SciPy's)
    x, a = np.array([0.5, 1.7, -0.5, -1.5]), np.array([1.5, 0.7, 2.0, 0.3])
    symgrad.check_grads(gammas_and_betas, (np.abs(x), a), (0, 1), modes=("rev", "fwd"))
    f = symgrad.jit(gammas_and_betas)
    assert f(np.abs(x), a) == pytest.approx(gammas_and_betas(np.abs(x), a), rel=1e-13)
    np.testing.assert_allclose(symgrad.jit(special_gamma)(x), special.gamma(x), rtol=1e-13)
    p, z = np.array([0.1, 0.5, 0.9]), np.array([-800.0, 0.0, 30.0])
    symgrad.check_grads(logits, (p, z), (0, 1), modes=("rev", "fwd"))
    assert np.isfinite(symgrad.jit(logits)(p, z))


def special_gamma(x):
    return special.gamma(x)
