"""Branches stay branches: `if`/`elif`/`else` and conditional expressions on runtime values."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from symgrad.frontend import lower
from symgrad.ir import to_text
from symgrad.ir.verify import verify
from symgrad.passes import reverse
from tests.conftest import BACKENDS, load_module

BRANCHES = """
def on_data(x, w):
    y = x * w
    if np.sum(x) > 0:
        y = np.tanh(y) * w
    else:
        y = y ** 2
    return np.sum(y)


def on_flag(x, flag):
    if flag:
        z = np.exp(x)
    else:
        z = np.log1p(x * x)
    return np.sum(z)


def chain(x, t):
    if t < 0:
        y = -x
    elif t < 1:
        y = x * x
    elif t < 2:
        y = np.sin(x)
    else:
        y = x ** 3
    return np.sum(y * t)


def conditional_expression(x, c):
    z = np.sin(x) if c > 0 else np.cos(x) * x
    return np.sum(z)


def different_variables(x, w):
    a = x
    b = w
    if np.max(x) > 0.5:
        a = a * w
    else:
        b = b * x
    return np.sum(a * b)


def in_a_loop(x, n):
    s = 0.0
    for i in range(n):
        if i < 2:
            s = s + np.sum(x ** i)
        else:
            s = s - np.sum(np.sin(x * i))
    return s


def early_returns(x, w):
    y = x * w
    if np.sum(y) > 0:
        return np.sum(np.tanh(y))
    z = y**2
    if np.max(z) > 4.0:
        return np.sum(z) * 0.5
    return np.sum(z * w)


def relu_by_hand(x):
    total = 0.0
    for v in x:
        total = total + (v if v > 0 else 0.1 * v)
    return total
"""


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    return load_module(tmp_path_factory.mktemp("branches"), BRANCHES)


X = np.array([0.3, -0.8, 1.1])
CASES = {
    "data_true": ("on_data", (X, np.array([0.5, -1.0, 2.0])), (0, 1)),
    "data_false": ("on_data", (-X - 1, np.array([0.5, -1.0, 2.0])), (0, 1)),
    "flag_true": ("on_flag", (X, True), 0),
    "flag_false": ("on_flag", (X, False), 0),
    **{f"chain_{t}": ("chain", (X, t), (0, 1)) for t in (-0.5, 0.5, 1.5, 2.5)},
    "ifexp_true": ("conditional_expression", (X, 1.0), 0),
    "ifexp_false": ("conditional_expression", (X, -1.0), 0),
    "different_true": ("different_variables", (X, X[::-1].copy()), (0, 1)),
    "different_false": ("different_variables", (X - 1, X[::-1].copy()), (0, 1)),
    "in_a_loop": ("in_a_loop", (np.array([0.3, 0.7]), 5), 0),
    "relu_by_hand": ("relu_by_hand", (X,), 0),
    **{
        f"early_returns_{k}": ("early_returns", (np.array([1.0, 2.0]), w), (0, 1))
        for k, w in enumerate([np.array([0.5, 0.3]), np.array([-0.5, -0.3]), np.array([-2.5, 0.3])])
    },
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_branch_gradients_match_central_differences(case, m, backend):
    name, args, argnums = CASES[case]
    symgrad.check_grads(getattr(m, name), args, argnums, modes=("rev", "fwd"), backend=backend)


def test_the_emitted_gradient_replays_the_branch_the_forward_pass_took(m):
    source = symgrad.grad(m.on_data, argnums=(0, 1)).source
    forward, backward = source.split("# backward pass")
    assert "t1 = np.sum(x) > 0\n    if t1:" in forward
    code = [line for line in backward.splitlines() if not line.strip().startswith("#")]
    assert "    if t1:" in code and not any("np.sum(x) > 0" in line for line in code)


def test_branches_are_nested_graphs_in_the_ir(m):
    graph = lower(m.chain)
    verify(graph)
    text = to_text(graph)  # if, and two elifs nested in the elses
    assert text.count("= cond ") == 3 and text.count("{ lambda") == 7
    verify(reverse(graph, [0, 1]))


def test_a_constant_condition_picks_its_branch_when_compiling(make_fn):
    mod = make_fn(
        "DEBUG = False\n\n\ndef f(x):\n    if DEBUG:\n        x = x * 2\n    return np.sum(x)\n"
    )
    source = symgrad.grad(mod.f).source
    assert "if " not in source.split("def grad_f")[1]


def test_symgrad_check_says_which_branch_it_proved(m):
    report = symgrad.check(m.on_data, X, np.array([0.5, -1.0, 2.0]), argnums=(0, 1))
    assert report.ok and "checked on the branch they take" in str(report), str(report)


def test_a_name_bound_in_one_branch_only_cannot_be_read_after(make_fn):
    mod = make_fn(
        "def f(x):\n    if np.sum(x) > 0:\n        y = x * 2\n    else:\n        z = x\n"
        "    return np.sum(y)\n"
    )
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="one branch of the if"):
        symgrad.grad(mod.f).source


def pair(a, b):
    if a > 0:
        return a * b, np.sin(b)
    return b, a * a


def nested_pair(x):
    if x[0] > 0:
        return (x[0], (x[1], x[2]))
    return (x[1], (x[0] * x[2], x[2]))


def through_a_pair(x):
    a, (b, c) = nested_pair(x)
    p, q = pair(x[0], x)
    p = p + a * b * c
    if np.sum(x) > 0:
        r = [x * 2.0, np.sin(x)]
    else:
        r = [x**2, x]
    return np.sum(p + q) + np.sum(r[0] * r[1])


@pytest.mark.parametrize("x", [np.array([0.5, 1.0, 2.0]), np.array([-0.5, -1.0, 0.5])])
def test_branches_that_give_tuples_of_one_length(x):
    # "a branch gives <return> a tuple ... Branches may only choose between arrays and numbers"
    value, _ = symgrad.value_and_grad(through_a_pair)(x)
    assert value == pytest.approx(through_a_pair(x), rel=1e-12)
    symgrad.check_grads(through_a_pair, (x,), 0, modes=("rev", "fwd"))
