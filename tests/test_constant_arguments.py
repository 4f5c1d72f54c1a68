"""An argument that is no array and no float, where a NumPy function takes it as a constant
(`def f(x, axis=-1)` passing it on as an axis, `np.diff(x, n)`), is compiled as that constant,
for its value (as `jax.jit`'s static arguments): each was refused ("must be a constant known
when the function is compiled"). Other int arguments (a loop's trip count) stay arguments."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from tests.conftest import BACKENDS


def softmax(z, axis=-1):
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def squared_softmax(x, axis=-1):
    return np.sum(softmax(x, axis) ** 2 * x)


def differences(x, axis, n, steps):
    s = np.sum(np.diff(np.max(x, axis=axis), n) ** 2)
    for _ in range(steps):
        s = s * 0.5
    return s


def diffs(x, n):
    return np.diff(x, n)


def of_parameters(params, x, axis):
    return np.sum(np.max(params["w"] * x, axis=axis) ** 2)


RNG = np.random.default_rng(3)
X = RNG.standard_normal((4, 5))


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_axis_given_as_an_argument_is_compiled_for_its_value(backend):
    g = symgrad.grad(squared_softmax, backend=backend)
    for axis in (0, 1, -1):
        symgrad.check_grads(squared_softmax, (X, axis), 0, modes=("rev", "fwd"), backend=backend)
        want = symgrad.grad(_along(axis), backend=backend)(X)
        np.testing.assert_allclose(g(X, axis), want, rtol=1e-12)
    np.testing.assert_allclose(g(X), g(X, -1), rtol=1e-12)  # (its default)
    assert symgrad.jit(squared_softmax, backend=backend)(X, 0) == pytest.approx(
        squared_softmax(X, 0), rel=1e-12
    )


def _along(axis):
    """squared_softmax with the axis written in."""
    return {0: _along_0, 1: _along_1, -1: _along_1}[axis]


def _along_0(x):
    return np.sum(softmax(x, 0) ** 2 * x)


def _along_1(x):
    return np.sum(softmax(x, 1) ** 2 * x)


def test_only_the_arguments_taken_as_constants_are_compiled_as_them():
    g = symgrad.grad(differences)
    symgrad.check_grads(differences, (X, 1, 2, 3), 0, modes=("rev", "fwd"))
    g(X, 0, 1, 3)
    assert g._constants == (1, 2)  # axis and n; steps, a trip count, stays an argument
    assert "def grad_differences(x, steps):" in g.source
    assert "Compiled for the constants axis=0, n=1 (no parameters of their own" in g.source
    h = symgrad.hessian(differences)(X, 0, 1, 2).reshape(20, 20)
    np.testing.assert_allclose(h, h.T, atol=1e-12)


def test_every_transformation_takes_them():
    x = X[0]
    _, t = symgrad.jvp(differences, (X, 1, 1, 2), (X, None, None, None))
    assert t == pytest.approx(np.sum(symgrad.grad(differences)(X, 1, 1, 2) * X), rel=1e-10)
    _, vjp_fn = symgrad.vjp(differences, X, 1, 1, 2)
    np.testing.assert_allclose(vjp_fn(1.0)[0], symgrad.grad(differences)(X, 1, 1, 2))
    for jacobian in (symgrad.jacrev, symgrad.jacfwd):
        np.testing.assert_allclose(jacobian(diffs)(x, 2), np.diff(np.eye(5), 2, axis=0))
    mapped = symgrad.vmap(squared_softmax, in_axes=(0, None))(np.stack([X, 2 * X]), 0)
    np.testing.assert_allclose(mapped, [squared_softmax(X, 0), squared_softmax(2 * X, 0)])
    params = {"w": RNG.standard_normal((4, 5))}
    symgrad.check_grads(of_parameters, (params, X, 1), (0, 1))
    source = symgrad.emit_module(squared_softmax, args=(X, 0))
    assert (
        "Compiled for the constant axis=0 (no parameter" in source and "axis=0, keepdims" in source
    )


def norms(x, ord):
    return np.linalg.norm(x, ord)


def test_a_float_given_as_a_constant_is_one_and_an_axis_raises_as_numpys():
    # (a parameter that NumPy takes as a constant is one whatever its type: np.inf as ord)
    for ord in (np.inf, 3.0, 1):
        symgrad.check_grads(norms, (X[0], ord), 0, modes=("rev", "fwd"))
    with pytest.raises(TypeError):
        squared_softmax(X, 0.0)
    with pytest.raises(TypeError):  # (NumPy's error, as the function raises it)
        symgrad.grad(squared_softmax)(X, 0.0)
    with pytest.raises(symgrad.SymgradError, match="must be a constant known"):
        symgrad.emit_module(squared_softmax)  # (no call gives its value)


def with_a_weight(x, w=None, axis=0):
    s = np.sum(np.max(x, axis=axis + 0))  # (an axis computed: every int and None a constant)
    return s if w is None else s + np.sum(w * x)


def test_a_constant_given_an_array_later_is_an_argument_again():
    g = symgrad.grad(with_a_weight)
    assert g(X, None, 1).shape == X.shape and g._constants == (1, 2)
    symgrad.check_grads(with_a_weight, (X, X, 0), (0, 1))  # (was "a container argument holds
    np.testing.assert_allclose(g(X, X, 0), symgrad.grad(with_a_weight)(X, X, 0))  # a ndarray")
