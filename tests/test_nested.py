"""Nested differentiation: a differentiated function that calls symgrad's own transformations.

`symgrad.grad(phi)` (made outside or inside the function), `value_and_grad` and `symgrad.jvp`
called in f are spliced into f's graph, so grad(f) and jvp(f) differentiate through them
(reverse or forward over reverse or forward). Checked against central differences of f, which
runs the inner transformation as a plain call.
"""

from __future__ import annotations

import numpy as np
import pytest

import symgrad

SOURCE = """
import symgrad


def phi(x, c):
    return np.sum(1.0 / np.linalg.norm(x - c, axis=1))


dphi = symgrad.grad(phi)
vphi = symgrad.value_and_grad(phi, argnums=(0, 1))


def charges(w):
    return np.array([[10.0, 10.0 - w], [10.0, 0.0]])


def made_outside(w):
    return np.sum(dphi(np.array([0.0, 8.0]), charges(w)) ** 2)


def made_inside(w):
    return np.sum(symgrad.grad(phi, argnums=1)(np.array([0.5, 8.0]), charges(w)) ** 3)


def value_and_both(w):
    value, (dx, dc) = vphi(np.array([1.0, 7.0]) * w, charges(w))
    return value * np.sum(dx) + np.sum(dc * dc)


def forward_inside(w):
    x, c = np.array([0.0, 8.0]), charges(w)
    _, d0 = symgrad.jvp(phi, (x, c), (np.array([1.0, 0.0]), None))
    _, d1 = symgrad.jvp(phi, (x, c), (np.array([0.0, 1.0]), None))
    return d0 * d0 + d1 * d1


def particle(w):
    x, v, c = np.array([0.0, 8.0]), np.array([0.75, 0.0]), charges(w)
    while x[1] > 0.0:
        a = -dphi(x, c)
        x = x + 0.1 * v
        v = v + 0.1 * a
    return x[0] ** 2


def jacobian_inside(w):
    return np.sum(symgrad.jacfwd(phi)(np.array([0.0, 8.0]), charges(w)))


def jvp_of_a_nested_def(x):
    def cube(y):
        return np.sum(y ** 3)
    return symgrad.jvp(cube, (x,), (x,))[1]


def grad_of_a_lambda(x):
    square = lambda y: np.sum(y ** 2)  # noqa: E731
    return symgrad.grad(square)(x)[0]
"""

CASES = ["made_outside", "made_inside", "value_and_both", "forward_inside", "particle"]


@pytest.fixture
def module(make_fn):
    return make_fn(SOURCE)


@pytest.mark.parametrize("name", CASES)
def test_through_an_inner_transformation(module, name):
    f = getattr(module, name)
    for w in (0.0, 0.3):
        symgrad.check_grads(f, (w,), 0, modes=("rev", "fwd"))


def test_the_inner_gradient_is_code_of_the_outer_one(module):
    source = symgrad.grad(module.particle).source
    assert "while " in source and "np.linalg.norm" in source
    code = [s for s in source.splitlines() if not s.strip().startswith("#")]
    assert not [s for s in code if "dphi" in s]  # spliced in (comments quote the line)
    assert "symgrad" not in source.split('"""')[2]  # the module imports NumPy alone


def test_a_jacobian_inside_is_refused_with_its_place(module):
    with pytest.raises(symgrad.SymgradError, match=r"jacfwd of phi.*only grad and value_and_grad"):
        symgrad.grad(module.jacobian_inside)(0.0)


@pytest.mark.parametrize("name", ["jvp_of_a_nested_def", "grad_of_a_lambda"])
def test_a_function_defined_inside_is_refused_by_name(module, name):
    # jvp's raised AttributeError ('LocalFunction' object has no attribute '__qualname__')
    with pytest.raises(symgrad.SymgradError, match="defined inside the differentiated function"):
        symgrad.grad(getattr(module, name))(np.array([0.3, -0.5, 0.8]))


def test_an_inner_change_recompiles_the_outer(make_fn):
    m = make_fn(
        """
        import symgrad
        SCALE = 2.0

        def phi(x):
            return SCALE * np.sum(x ** 3)

        def f(x):
            return np.sum(symgrad.grad(phi)(x) * x)
        """
    )
    g = symgrad.grad(m.f)
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(g(x), 2.0 * 9 * x**2)
    m.SCALE = 1.0
    np.testing.assert_allclose(g(x), 9 * x**2)
