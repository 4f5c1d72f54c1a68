"""`functools.partial` objects differentiated (`symgrad.partials`): `grad(partial(loss, X=X,
y=y))`, JAX's way of fixing a loss's data, was refused ("it is a partial, not a Python
function with source"). A keyword it binds is a keyword-only parameter, the value bound its
default; a positional value it binds is read as a global is."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import symgrad
from tests.conftest import BACKENDS


def loss(w, X, y, reg=0.1):
    r = X @ w - y
    return np.sum(r**2) + reg * np.sum(w**2)


def scaled(w, b, *, X, scale=2.0):
    return np.sum(np.tanh(X @ w + b)) * scale


RNG = np.random.default_rng(8)
X, Y, W = RNG.standard_normal((5, 3)), RNG.standard_normal(5), RNG.standard_normal(3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_partial_is_its_function_of_what_it_leaves_unbound(backend):
    data = functools.partial(loss, X=X, y=Y)
    value, _ = symgrad.value_and_grad(data, backend=backend)(W)
    assert value == pytest.approx(data(W), rel=1e-12)
    symgrad.check_grads(data, (W,), 0, modes=("rev", "fwd"), backend=backend)
    with_reg = functools.partial(loss, y=Y)  # (reg after a keyword bound: keyword-only)
    symgrad.check_grads(with_reg, (W, X), (0, 1), backend=backend)
    weights_bound = functools.partial(loss, W, X)  # (the positional ones: y and reg left)
    symgrad.check_grads(weights_bound, (Y,), 0, backend=backend)
    keyword_only = functools.partial(scaled, X=X, scale=3.0)
    symgrad.check_grads(keyword_only, (W, 0.2), (0, 1), modes=("rev", "fwd"), backend=backend)
    np.testing.assert_allclose(symgrad.hessian(data)(W), 2 * X.T @ X + 0.2 * np.eye(3), rtol=1e-10)


def test_its_module_takes_the_arrays_it_binds():
    g = symgrad.grad(functools.partial(loss, X=X, y=Y))
    g(W)
    assert "def grad_loss_partial(w, X, y, reg=0.1):" in g.source  # (its keywords'
    # values the defaults: a call may give another, as to Python's partial)
    np.testing.assert_allclose(g(W, X=2 * X), symgrad.grad(loss)(W, 2 * X, Y), rtol=1e-12)


def named_clash(func, w, scale=2.0):  # (a parameter named as the made function's helpers)
    return np.sum(w**2) * scale * func


def test_a_partial_changed_is_made_again():
    # (a keyword bound anew, and new defaults of its function, were not seen: the function
    # made for the partial held what it had; a lambda's raised a SyntaxError)
    data = functools.partial(loss, X=X, y=Y)
    g = symgrad.grad(data)
    g(W)
    data.keywords["X"] = 3 * X
    np.testing.assert_allclose(g(W), symgrad.grad(loss)(W, 3 * X, Y), rtol=1e-12)
    clash = functools.partial(named_clash, 0.5)
    np.testing.assert_allclose(symgrad.grad(clash)(W), 2 * W * 2.0 * 0.5, rtol=1e-12)
    named_clash.__defaults__ = (7.0,)
    try:
        np.testing.assert_allclose(symgrad.grad(clash)(W), 2 * W * 7.0 * 0.5, rtol=1e-12)
    finally:
        named_clash.__defaults__ = (2.0,)
    got = symgrad.grad(functools.partial(lambda w, c: np.sum(w * c), c=2.0))(W)  # (a lambda's:
    np.testing.assert_array_equal(got, np.full_like(W, 2.0))  # refused before)
