"""`*args` and `**kwargs`: a function the differentiated one calls may take them (a tuple and a
dict of what the call passes), and a call may pass `f(*xs, **kw)` the items of a tuple, list or
dict (a PyTorch-style `__call__(self, *args, **kwargs)` returning `self.forward(...)`). Each was
refused ("*args/**kwargs parameters are not supported", "a starred expression")."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from tests.conftest import BACKENDS


class Module:
    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)


class Linear(Module):
    def __init__(self, W):
        self.W = W

    def forward(self, x, scale=1.0):
        return np.tanh(self.W @ x) * scale


def apply(f, *xs, **opts):
    return f(*xs, **opts)


def horner(x, *coeffs):
    s = 0.0
    for c in coeffs:
        s = s * x + c
    return s


def summed(x, scale=1.0):
    return np.sum(x) * scale


def through_a_module(layer, x):
    return np.sum(layer(x, scale=2.0)) + np.sum(apply(np.multiply, x, x))


def through_helpers(x, y):
    cs = (1.0, -2.0, 0.5)
    opts = {"scale": 3.0}
    return (
        np.sum(horner(x, *cs))
        + np.sum(horner(x, 3.0, y))
        + np.sum(x * y) * apply(summed, x, **opts)
        + apply(summed, *[y])
    )


RNG = np.random.default_rng(5)
X, Y = RNG.standard_normal(3), RNG.standard_normal(3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_star_arguments_pass_their_items(backend):
    layer = Linear(RNG.standard_normal((3, 3)))
    assert symgrad.jit(through_a_module, backend=backend)(layer, X) == pytest.approx(
        through_a_module(layer, X), rel=1e-12
    )
    symgrad.check_grads(through_a_module, (layer, X), (1,), modes=("rev", "fwd"), backend=backend)
    symgrad.check_grads(through_helpers, (X, Y), (0, 1), modes=("rev", "fwd"), backend=backend)


def test_what_stars_cannot_pass_is_refused(make_fn):
    m = make_fn(
        """
        def twice(*xs):
            return xs[0] * 2.0

        def f(x):
            return np.sum(twice(*x))

        def g(x):
            rows = []
            for i in range(2):
                rows.append(x * i)
            return np.sum(twice(*rows))

        def h(*xs):
            return np.sum(xs[0])
        """
    )
    with pytest.raises(symgrad.UnsupportedSyntaxError, match=r"\*x passes the items of a tuple"):
        symgrad.grad(m.f)(X)
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="a list a loop filled"):
        symgrad.grad(m.g)(X)
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="of the function differentiated"):
        symgrad.grad(m.h)(X)
