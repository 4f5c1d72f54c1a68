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


try:
    from scipy import special
except ImportError:  # SciPy is optional
    special = None


def scipy_special(x):
    return np.sum(special.gammaln(x) + special.digamma(x) * special.erf(x) + special.expit(x))


@pytest.mark.skipif(special is None, reason="SciPy is not installed")
def test_scipy_special_functions_are_twins_once_imported():
    x = np.linspace(0.5, 2.0, 5)
    symgrad.check_grads(scipy_special, (x,), (0,))
    g = symgrad.grad(scipy_special)
    g(x)
    assert "_polygamma(x" in g.source and "special." not in g.source
