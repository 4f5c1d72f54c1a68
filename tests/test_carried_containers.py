"""A loop carries a tuple, list or dict of arrays and numbers that its body binds anew (an LSTM's
`state = (h, c)`, a gradient step's `params = {"w": ..., "b": ...}`) leaf by leaf
(`symgrad.frontend.carried.Container`): values against the function's own, gradients (reverse
and forward) against central differences, on both backends; a container whose structure the
body changes is refused, naming it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import symgrad
from tests.conftest import BACKENDS, load_module

X = np.array([0.3, -1.4, 2.0])

SOURCE = """
from typing import NamedTuple


class State(NamedTuple):
    h: object
    c: object

    def energy(self):
        return np.sum(self.h**2) * np.sum(self.c)

    @property
    def hc(self):
        return self.h * self.c


def lstm(x, W):
    state = (np.zeros(3), np.zeros(3))
    for t in range(4):
        h, c = state
        c2 = np.tanh(W @ h + x) + c
        state = (np.tanh(c2), c2)
    return np.sum(state[0]) + np.sum(state[1] ** 2)


def named(x, W):
    state = State(x * 0.5, np.zeros(3))
    for t in range(3):
        c2 = np.tanh(W @ state.h) + state.c
        state = State(np.tanh(c2), c2)
    return np.sum(state.h * state.c)


def named_methods(x, W):
    state = State._make([x * 0.5, np.ones(3)])
    for t in range(3):
        state = state._replace(h=np.tanh(W @ state.hc) + 0.1 * state.energy())
    return state.energy() + np.sum(state._asdict()["c"])


def steps(x, W):
    params = {"w": x * 1.0, "b": 0.5}
    for it in range(3):
        pred = W @ params["w"] + params["b"]
        params = {"w": params["w"] - 0.1 * (W.T @ pred), "b": params["b"] - 0.1 * np.sum(pred)}
    return np.sum(params["w"] ** 2) + params["b"]


def tested(x, W):
    s = (x, 0.0)
    while np.sum(s[0] ** 2) < 50.0:
        a, n = s
        s = (a * 1.5 + 0.1, n + np.sum(W @ a))
    return np.sum(s[0]) + s[1]


def branches(x, W):
    st = [x, x * 2.0]
    for t in range(4):
        if np.sum(st[0]) > 0.0:
            st = [st[1] * 0.5, st[0] + 1.0]
        else:
            st = [np.sin(W @ st[0]), st[1]]
    return np.sum(st[0] * st[1])


def nested(x, W):
    st = (x, (x * 0.5, 1.0))
    for i in range(2):
        for j in range(3):
            a, (b, k) = st
            st = (b * 0.9, (np.cos(W @ a), k * 1.5))
        st = (st[0] + 1.0, st[1])
    return np.sum(st[0] + st[1][0] ** 2) * st[1][1]


def grows(x, W):
    st = (x,)
    for t in range(2):
        st = (st[0], W @ x)
    return np.sum(st[0])


def reordered(x, W):
    st = {"a": x, "b": W @ x}
    for t in range(2):
        st = {"b": st["b"] * 2.0, "a": st["a"]}
    return sum(k * np.sum(v) for k, v in enumerate(st.values()))


def changed_through_a_name(x, W):
    st = (x * 1.0, W @ x)
    for t in range(3):
        a = st[0]
        st = (st[1], a)
        a *= 2.0
    return np.sum(st[0])


def drops(x, W):
    st = {"a": x, "b": x}
    for t in range(2):
        st = {"a": st["a"] * 2.0}
    return np.sum(st["a"])
"""

CARRIED = ["lstm", "named", "named_methods", "steps", "tested", "branches", "nested"]


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    return load_module(tmp_path_factory.mktemp("containers"), SOURCE)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", CARRIED)
def test_a_loop_carries_a_container_leaf_by_leaf(m, name, backend):
    f = getattr(m, name)
    W = np.array([[0.5, 0.1, 0.0], [0.2, 0.4, -0.3], [0.0, 0.3, 0.6]])
    for x in (X, -X):
        assert symgrad.jit(f, backend=backend)(x, W) == pytest.approx(f(x, W), rel=1e-12)
        symgrad.check_grads(f, (x, W), modes=("rev", "fwd"), backend=backend)


def test_the_carried_leaves_are_named_after_the_container(m):
    g = symgrad.grad(m.lstm)
    g(X, np.eye(3))
    assert "state_0 = np.tanh(c2)" in g.source and "state_1 = c2" in g.source


@pytest.mark.parametrize(
    "name, match",
    [
        ("grows", r"binds 'st' to a tuple of 2, where it held a tuple of 1 before it"),
        ("drops", r"binds 'st' to a dict of 1, where it held a dict of 2 before it"),
        # the dict rebuilt with its keys in the body's order took them in the first one's
        ("reordered", r"binds 'st' to a dict of its keys in another order than before it"),
        # (it said "binds 'st' to a Unbound")
        ("changed_through_a_name", r"'st' may share memory with a, which line \d+ changes"),
    ],
)
def test_a_container_whose_structure_the_loop_changes_is_refused(m, name, match):
    with pytest.raises(symgrad.UnsupportedSyntaxError, match=match):
        symgrad.grad(getattr(m, name))(X, np.eye(3))


def test_values_a_loop_carries_that_only_each_other_need_go_together(make_fn):
    # the recomputed loop dropped b (no item read) before acc, whose next value reads b:
    # "could not specialise ... (KeyError: 3)", the module for any shapes run instead
    m = make_fn(
        """
        def f(x):
            a, b = x, 2.0 * x
            acc = 0.0
            for t in range(2):
                w = 1.0
                for v in (a, b):
                    acc = acc + w * np.sum(v)
                    w = 10.0
                a, b = a, b
            return acc
        """
    )
    x = np.array([1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.allclose(symgrad.grad(m.f)(x), [42.0, 42.0])
    symgrad.check_grads(m.f, (x,), modes=("rev", "fwd"))
