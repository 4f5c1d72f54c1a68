"""Reverse mode through loops and branches that compute values nobody reads: found by fuzzing.

Each program once raised an internal error (a KeyError, a NetworkXError, a NumPy casting error in
the emitted code). The causes: replaying a loop's or branch's decisions removed every unused node
of the body (a later decision's `if`, an output whose zero cotangent takes its shape), and an
integer counter a loop carries beside an active array counted as active. Gradients against
central differences in both modes, on each branch, and second order by forward over reverse.
"""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from symgrad.emit import emit_module, load
from symgrad.frontend import lower
from symgrad.passes.activity import active
from symgrad.passes.dce import dce
from symgrad.passes.reverse import reverse
from tests.conftest import load_module

FUNCTIONS = """
def unused_branch_value_in_a_loop(x, c):
    for k in range(2):
        v = x
        if c < 0.5:
            v = v * 2.0
        else:
            c = c * c
    return c


def elif_chain_of_passes(x):
    y = x * 1.0
    if x[0] > 0.0:
        y = y * 2.0
    elif x[1] > 0.0:
        pass
    elif x[2] > 0.0:
        pass
    return np.sum(y)


def unused_values_and_decisions_in_a_while(x, y):
    k = 0
    while k < 2:
        k += 1
        x = 0.5 * x + np.tanh(x)
        v = np.stack([x, x if k > 1 else y])
        if k >= 1:
            pass
    return np.sum(x ** 2)


def unused_list_in_a_loop_that_breaks(x):
    s = x * 2.0
    k = 0
    while True:
        k += 1
        acc = []
        for j in range(1):
            acc.append(x[j])
            s *= 0.5
        if k >= 3:
            break
        if np.sum(x) > 1.0:
            break
    return np.sum(s)


def unused_branch_value(x, c):
    v = x
    if c < 0.5:
        v = v * 2.0
    else:
        c = c * c
    return c


def unused_list(x):
    s = x * 2.0
    acc = []
    for j in range(2):
        acc.append(x[j])
        s = s * 0.5
    return np.sum(s)


def int_counter_read_by_a_later_loop(y):
    k = 0
    while k < 2:
        k += 1
        if np.sum(y) <= -0.5:
            pass
    m = np.sum(y)
    for i in range(2):
        m = m * 0.5
        if k != 1:
            pass
    return m


def int_counter_multiplying_a_later_loop(y):
    k = 0
    while k < 2:
        k += 1
        if np.sum(y) <= -0.5:
            pass
    m = np.sum(y)
    for i in range(2):
        m = m * k
    return m
"""

X = np.array([0.3, -0.7, 0.9])

CASES = [  # (function, args, argnums): each branch the program can take
    ("unused_branch_value_in_a_loop", (X, 0.3), (0, 1)),
    ("unused_branch_value_in_a_loop", (X, 0.7), (0, 1)),
    ("elif_chain_of_passes", (X,), (0,)),
    ("elif_chain_of_passes", (np.array([-0.3, 0.7, 0.9]),), (0,)),
    ("elif_chain_of_passes", (np.array([-0.3, -0.7, 0.9]),), (0,)),
    ("elif_chain_of_passes", (-X - 1.0,), (0,)),
    ("unused_values_and_decisions_in_a_while", (X, X + 1.0), (0, 1)),
    ("unused_list_in_a_loop_that_breaks", (X,), (0,)),
    ("unused_list_in_a_loop_that_breaks", (X + 1.0,), (0,)),
    ("int_counter_read_by_a_later_loop", (X,), (0,)),
    ("int_counter_read_by_a_later_loop", (X - 1.0,), (0,)),
    ("int_counter_multiplying_a_later_loop", (X,), (0,)),
]


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    return load_module(tmp_path_factory.mktemp("control_regressions"), FUNCTIONS)


@pytest.mark.parametrize("name, args, argnums", CASES)
def test_gradients_match_central_differences(m, name, args, argnums):
    symgrad.check_grads(getattr(m, name), args, argnums, modes=("rev", "fwd"))


@pytest.mark.parametrize("name, args, argnums", CASES[::2])
def test_second_derivatives_by_forward_over_reverse(m, name, args, argnums):
    symgrad.check_grads(getattr(m, name), args, argnums, order=2, modes=("fwd",))


def test_an_int_counter_beside_an_active_array_gets_no_cotangent(m):
    fn = m.int_counter_multiplying_a_later_loop
    graph = lower(fn)
    live = active(graph, graph.params)
    counters = [n.id for n in graph.nodes() if n.op == "item" and n.name == "k"]
    assert counters and not live & set(counters)
    assert "k_bar" not in symgrad.grad(fn).source


@pytest.mark.parametrize("name, args", [("unused_branch_value", (X, 0.3)), ("unused_list", (X,))])
def test_a_zero_cotangent_of_a_removed_output_takes_its_shape(m, name, args):
    """A pass may remove the unused item of a loop's or branch's output; the reverse pass makes
    it again for the shape of that output's zero cotangent."""
    fn = getattr(m, name)
    graph = lower(fn)
    dce(graph)  # the unused `v`, `acc`
    wrt = list(range(len(args)))
    source = emit_module(reverse(graph, wrt), "grad_fn", "The gradient.")
    expected = symgrad.grad(fn, argnums=tuple(wrt))(*args)
    for got, want in zip(load(source, "grad_fn")(*args), expected):
        np.testing.assert_allclose(got, want)


def _dead_sum_beside_a_stack(x, y, a):
    u1 = x
    x = np.zeros_like(u1)
    xs4 = []
    for _ in range(2):
        xs4.append(y)
        x += u1  # nobody reads x: its running cotangent is zero, but u1's adds it
    return np.mean(xs4[0])


def test_a_running_cotangent_the_body_hands_on_as_is_starts_before_the_loop():
    """The backward loop's cotangent of u1 adds x's running cotangent as it is (the body's
    output is the param itself): x_bar must be made before the loop though nothing else reads
    it (the control fuzzer, seed 99150: a NameError in the emitted code)."""
    rng = np.random.default_rng(0)
    args = (rng.standard_normal(3), rng.standard_normal((2, 3)), -0.006)
    symgrad.check_grads(_dead_sum_beside_a_stack, args, (0, 1, 2))
    value, (gx, gy, ga) = symgrad.value_and_grad(_dead_sum_beside_a_stack, (0, 1, 2))(*args)
    assert not gx.any() and ga == 0.0
    np.testing.assert_allclose(gy, np.full((2, 3), 1 / 6))
