"""Forward mode through loops and branches of values broadcast against constants.

The tangent of `x + np.zeros((4, 3))` is just `x_dot` (a smaller shape that broadcasts to the
value's). A loop or branch takes that value as an operand, and its sub-graph's tangent param is
taken to have the operand's shape, so the forward pass broadcasts the tangent first: otherwise
`np.sum` of it inside the branch was `x.size` times too small. These pin jvp (with a None tangent
for some arguments), linearize, jacfwd, hessian and `check_grads` in both modes against central
differences and the gradient, on both sides of each branch.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import symgrad
from tests.conftest import load_module, moved

RNG = np.random.default_rng(7)

FUNCTIONS = """
def fw1(x):
    v = x + np.zeros((4, 3))
    if np.sum(x) > 0:
        c = np.sum(v)
    else:
        c = np.sum(v ** 2)
    return c


def fw2(x):
    b = np.zeros((3, 4)) + x[0]
    for k in range(1):
        b = b + np.sum(b)
    return np.sum(b)


def fw3(x, y):
    z = x - np.mean(y)
    if np.sum(x) > 0:
        c = np.sum(z)
    else:
        c = np.sum(z ** 2)
    return c


def fw4(x, v):
    c = v[3] if x > 0 else v[0]
    return c * x


def captured_in_a_loop(x, y):
    z = x * 2.0 - np.mean(y)
    c = 0.0
    for i in range(2):
        c = c + np.sum(np.cos(z) * z[0])
    return c


def branch_in_a_loop(x, y):
    v = x + np.zeros((2, 3))
    s = 0.0
    for i in range(2):
        if np.sum(v) > 0:
            s = s + np.sum(np.sin(v) * y)
        else:
            s = s + np.sum(v[1] ** 2)
    return s


def matmul_in_a_branch(x, w):
    v = x + np.zeros((2, 3))
    if np.sum(x) > 0:
        c = np.sum(np.tanh(v @ w))
    else:
        c = np.sum(np.sin(v[1]) * v[0])
    return c


def carried_through_a_while(x):
    v = x + np.zeros((2, 3))
    k = 0
    while k < 3:
        v = v + np.mean(v) ** 2
        k = k + 1
    return np.sum(np.tanh(v))


def updated_in_a_branch(x):
    v = np.zeros((3, 2)) + x
    if x > 0:
        v = v * x
    return np.sum(np.sin(v) ** 2)
"""


def normal(*shape):
    return RNG.standard_normal(shape)


def signed(s, *shape):
    return s * (np.abs(normal(*shape)) + 0.1)


CASES = {  # name: (function, arguments); each branch is taken by one of a pair
    "fw1_true": ("fw1", lambda: (0.5,)),
    "fw1_false": ("fw1", lambda: (-0.5,)),
    "fw2": ("fw2", lambda: (np.array([0.3, -0.7, 0.9]),)),
    "fw2_negative": ("fw2", lambda: (np.array([-0.3, -0.7, 0.9]),)),
    "fw3_true": ("fw3", lambda: (signed(1, 3), normal(2, 3))),
    "fw3_false": ("fw3", lambda: (signed(-1, 3), normal(2, 3))),
    "fw4_true": ("fw4", lambda: (0.5, normal(5))),
    "fw4_false": ("fw4", lambda: (-0.5, normal(5))),
    "captured": ("captured_in_a_loop", lambda: (normal(3), normal(2, 3))),
    "branch_in_loop_true": ("branch_in_a_loop", lambda: (signed(1, 3), normal(2, 3))),
    "branch_in_loop_false": ("branch_in_a_loop", lambda: (signed(-1, 3), normal(2, 3))),
    "matmul_true": ("matmul_in_a_branch", lambda: (signed(1, 3), normal(3, 2))),
    "matmul_false": ("matmul_in_a_branch", lambda: (signed(-1, 3), normal(3, 2))),
    "while": ("carried_through_a_while", lambda: (0.3 * normal(3),)),
    "updated_true": ("updated_in_a_branch", lambda: (0.7,)),
    "updated_false": ("updated_in_a_branch", lambda: (-0.7,)),
}


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    return load_module(tmp_path_factory.mktemp("forward_broadcast"), FUNCTIONS)


def case(m, name):
    fn, make = CASES[name]
    return getattr(m, fn), make()


def tangent_like(a):
    t = normal(*np.shape(a))
    return float(t) if isinstance(a, float) else t


def central(f, args, tangents, eps=1e-6):
    """The derivative of f at args along tangents (None: held fixed), by central differences."""
    plus, minus = moved(args, tangents, eps), moved(args, tangents, -eps)
    return (np.asarray(f(*plus)) - np.asarray(f(*minus))) / (2 * eps)


def close(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=float), b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(CASES))
def test_both_modes_agree_with_central_differences(m, name):
    f, args = case(m, name)
    symgrad.check_grads(f, args, tuple(range(len(args))), modes=("rev", "fwd"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_jvp_along_every_subset_of_the_arguments(m, name):
    """A None tangent for an argument: the others' tangents alone, still of the right shape."""
    f, args = case(m, name)
    for mask in itertools.product((False, True), repeat=len(args)):
        if not any(mask):
            continue
        tangents = [tangent_like(a) if on else None for a, on in zip(args, mask)]
        out, out_dot = symgrad.jvp(f, args, tangents)
        close(out, f(*args))
        assert np.shape(out_dot) == np.shape(out)
        close(out_dot, central(f, args, tangents))


@pytest.mark.parametrize("name", sorted(CASES))
def test_linearize_matches_jvp(m, name):
    f, args = case(m, name)
    tangents = [tangent_like(a) for a in args]
    _, f_jvp = symgrad.linearize(f, *args)
    close(f_jvp(*tangents), central(f, args, tangents))


@pytest.mark.parametrize("name", sorted(CASES))
def test_jacfwd_equals_the_gradient(m, name):
    f, args = case(m, name)
    for k in range(len(args)):
        jac, g = symgrad.jacfwd(f, k)(*args), symgrad.grad(f, k)(*args)
        assert np.shape(jac) == np.shape(args[k])
        close(jac, g)


def numeric_hessian(f, args, k, eps=1e-5):
    """d grad_k f / d args[k] by central differences of symgrad's gradient."""
    g = symgrad.grad(f, k)
    x = np.asarray(args[k], dtype=float)
    cols = []
    for e in np.eye(x.size):
        tangents = [None] * len(args)
        tangents[k] = float(e[0]) if isinstance(args[k], float) else e.reshape(x.shape)
        cols.append(central(g, args, tangents, eps))
    return np.stack(cols, axis=-1).reshape(x.shape + x.shape)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hessian_matches_central_differences_of_the_gradient(m, name):
    f, args = case(m, name)
    for k in range(len(args)):
        h = symgrad.hessian(f, k)(*args)
        np.testing.assert_allclose(h, numeric_hessian(f, args, k), rtol=1e-5, atol=1e-6)


def test_the_reported_values(m):
    """The numbers of the report: 12 (not 1) for fw1 at 0.5, 156 (not 24) for fw2 along e0, and
    fw3 along y alone (the tangent of z is a scalar that enters the branch)."""
    assert symgrad.jvp(m.fw1, (0.5,), (1.0,))[1] == pytest.approx(12.0)
    assert symgrad.jacfwd(m.fw1)(0.5) == pytest.approx(12.0)
    x = np.array([0.3, -0.7, 0.9])
    assert symgrad.jvp(m.fw2, (x,), (np.eye(3)[0],))[1] == pytest.approx(156.0)
    x, y, ty = np.array([0.5, 0.2, 0.1]), normal(2, 3), normal(2, 3)
    _, out_dot = symgrad.jvp(m.fw3, (x, y), (None, ty))
    assert out_dot == pytest.approx(-x.size * np.mean(ty))


def test_a_tangent_of_the_operand_shape_enters_unchanged(make_fn):
    """Where the tangent provably has its value's shape, nothing is broadcast: the emitted code of
    programs that were right before stays the same."""
    f = make_fn(
        """
        def f(x, w):
            v = np.sin(x) * w
            if np.sum(x) > 0:
                c = np.sum(v)
            else:
                c = np.sum(v ** 2)
            return c
        """
    ).f
    _, f_jvp = symgrad.linearize(f, normal(3), normal(3))
    assert "broadcast_to" not in f_jvp.source
