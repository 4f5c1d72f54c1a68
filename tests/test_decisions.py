"""Branch decisions are recorded where they are taken and replayed by the gradient, not decided
again: a loop tapes each iteration's decisions, an `if` nested in a branch is decided by an
output of the enclosing `if`. Gradients against central differences in both modes."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from symgrad.frontend import lower
from symgrad.ir.verify import verify
from symgrad.passes import reverse
from tests.conftest import load_module

RNG = np.random.default_rng(7)

FUNCTIONS = """
def relu_rnn(W, x, n):
    h = x
    for i in range(n):
        z = W @ h
        if np.sum(z) > 0:
            h = np.tanh(z)
        else:
            h = 0.5 * z
    return np.sum(h ** 2)


def on_the_carried_value(x, n):
    s = 0.0
    for i in range(n):
        if s * np.sum(x) > 0.3:
            s = s * 0.5 + np.sum(np.sin(x * i))
        else:
            s = s + np.sum(x ** 2) * 0.5
    return s


def elif_in_a_loop(x, w):
    s = 0.0
    for i in range(len(x)):
        if x[i] > 1.0:
            s = s + np.sum(w) * x[i] ** 2
        elif x[i] < -0.5:
            s = s - np.sum(w ** 2) * x[i]
        elif x[i] < 0.2:
            s = s * np.cos(x[i])
        else:
            s = s + np.exp(x[i] * w[0])
    return s


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


def while_with_a_branch(x, tol):
    y = x
    err = 1.0
    while err > tol:
        if np.max(y) > 1.0:
            y_new = 0.5 * y
        else:
            y_new = y * y
        err = np.max(np.abs(y_new - y))
        y = y_new
    return np.sum(y)


def conditional_expression(x, w):
    total = 0.0
    for v in x:
        total = total + (np.tanh(v * w) if v * w > 0 else 0.1 * v * w)
    return total


def nested_loops(A, v, n):
    total = 0.0
    for i in range(n):
        u = v
        for j in range(3):
            if np.sum(u) > 0:
                u = np.tanh(A @ u)
            else:
                u = np.sin(A @ u) * 0.5
        if np.sum(A[i] * u) > 0:
            total = total + np.sum(u * A[i])
        else:
            total = total - np.sum(u ** 2)
    return total


def counted(x):
    s = 0.0
    positives = 0
    for i in range(len(x)):
        if x[i] > 0:
            positives = positives + 1
        s = s + np.sin(x[i]) * x[i]
    return s * 1.0


def one_condition_twice(x, w):
    c = np.sum(x) > 0
    a = x * w
    if c:
        a = np.tanh(a)
    b = w
    if c:
        b = b * x
    return np.sum(a * b)
"""


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    return load_module(tmp_path_factory.mktemp("decisions"), FUNCTIONS)


def normal(*shape):
    return RNG.standard_normal(shape)


X6 = np.array([1.4, -0.8, 0.1, 0.6, -0.2, 1.1])
CASES = {
    "relu_rnn": ("relu_rnn", lambda: (normal(3, 3) * 0.8, normal(3), 6), (0, 1)),
    "relu_rnn_0": ("relu_rnn", lambda: (normal(3, 3), normal(3), 0), (0, 1)),
    "relu_rnn_1": ("relu_rnn", lambda: (normal(3, 3), normal(3), 1), (0, 1)),
    "on_the_carried_value": ("on_the_carried_value", lambda: (np.array([0.4, 0.7]), 6), 0),
    "elif_in_a_loop": ("elif_in_a_loop", lambda: (X6, np.array([0.3, -0.4])), (0, 1)),
    "chain_neg": ("chain", lambda: (normal(3), -0.5), (0, 1)),
    "chain_0": ("chain", lambda: (normal(3), 0.5), (0, 1)),
    "chain_1": ("chain", lambda: (normal(3), 1.5), (0, 1)),
    "chain_2": ("chain", lambda: (normal(3), 2.5), (0, 1)),
    "while_with_a_branch": ("while_with_a_branch", lambda: (np.array([1.8, 0.9, 2.4]), 1e-3), 0),
    "conditional_expression": ("conditional_expression", lambda: (X6, 0.7), (0, 1)),
    "nested_loops": ("nested_loops", lambda: (normal(3, 3) * 0.7, normal(3), 3), (0, 1)),
    "counted": ("counted", lambda: (X6,), 0),
    "one_condition_twice": ("one_condition_twice", lambda: (normal(3), normal(3)), (0, 1)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradients_match_central_differences(case, m):
    name, args, argnums = CASES[case]
    symgrad.check_grads(getattr(m, name), args(), argnums, modes=("rev", "fwd"))


def code(source: str) -> list[str]:
    """The lines of the emitted function (not its helpers), comments left out."""
    body = source.split("\n\n\n")[-1]
    return [line for line in body.splitlines() if not line.strip().startswith("#")]


def test_a_loop_tapes_its_decisions_and_the_backward_loop_reads_them(m):
    lines = code(symgrad.grad(m.relu_rnn, argnums=(0, 1)).source)
    assert sum("np.sum(z" in line and "> 0" in line for line in lines) == 1  # decided once
    text = "\n".join(lines)
    assert "        cond = np.sum(z) > 0\n        if cond:\n" in text
    assert "        tape.append((i, h, cond))\n        h = h_1\n" in text
    assert "    for i_1, h_2, cond_1 in reversed(tape):\n" in text
    assert "        if cond_1:\n" in text


def test_decisions_on_the_carried_value_are_those_of_the_forward_pass(m):
    lines = code(symgrad.grad(m.on_the_carried_value).source)
    assert sum("> 0.3" in line for line in lines) == 1
    assert "    for i_1, s_2, cond_1 in reversed(tape):" in lines


def test_nested_decisions_are_outputs_of_the_enclosing_if(m):
    source = symgrad.grad(m.chain, argnums=(0, 1)).source
    lines = code(source)
    for test in ("t < 0", "t < 1", "t < 2"):
        assert sum(test in line for line in lines) == 1, test
    forward = source.split("# backward pass")[0]
    assert "        cond_1 = t < 1\n        if cond_1:\n            y = x * x\n" in forward
    loop = code(symgrad.grad(m.elif_in_a_loop).source)
    for test in ("x[i] > 1.0", "x[i] < -0.5", "x[i] < 0.2"):
        assert sum(test in line for line in loop) == 1, test
    assert any("tape.append((i, s, cond, cond_1, cond_2))" in line for line in loop)


def test_each_loop_replays_its_own_decisions(m):
    lines = code(symgrad.grad(m.nested_loops, argnums=(0, 1)).source)
    # the inner loop runs again in each step of the outer backward loop, from the outer tape:
    # it records its decisions on a tape of its own, which its backward loop reads
    assert sum("np.sum(A[i" in line and "> 0" in line for line in lines) == 1
    assert sum("tape" in line and ".append(" in line for line in lines) == 2
    assert sum("np.sum(u" in line and "> 0" in line for line in lines) == 2  # runs twice


def test_while_loops_and_conditional_expressions_replay_too(m):
    lines = code(symgrad.grad(m.while_with_a_branch).source)
    assert sum("np.max(y" in line and "> 1.0" in line for line in lines) == 1
    lines = code(symgrad.grad(m.conditional_expression, argnums=(0, 1)).source)
    assert sum("> 0" in line for line in lines) == 1


def test_decisions_the_gradient_does_not_need_are_not_taped(m):
    text = "\n".join(code(symgrad.grad(m.counted).source))
    # nor is `positives`: the backward loop never reads it
    assert "tape.append((i, s))" in text and "cond" not in text


def test_one_condition_read_twice_is_one_variable(m):
    lines = code(symgrad.grad(m.one_condition_twice, argnums=(0, 1)).source)
    assert sum("np.sum(x) > 0" in line for line in lines) == 1


def test_graphs_with_recorded_decisions_verify(m):
    for fn, wrt in ((m.elif_in_a_loop, [0, 1]), (m.chain, [0]), (m.nested_loops, [0, 1])):
        verify(reverse(lower(fn), wrt))


def test_a_condition_computed_outside_the_branch_deciding_on_it_is_taped(make_fn):
    mod = make_fn(
        "def f(x, n):\n    s = 0.0\n    for i in range(n):\n        c = x[i] > 0\n"
        "        if s > 1.0:\n            if c:\n                s = s + x[i] ** 2\n"
        "        else:\n            s = s + np.sin(x[i])\n    return s\n"
    )
    source = symgrad.grad(mod.f).source
    assert sum("x[i] > 0" in line for line in code(source)) == 1
    assert "tape.append((i, s, cond, c))" in source
    symgrad.check_grads(mod.f, (np.array([0.9, 1.3, -0.4, 0.8, 0.5]), 5), 0, modes=("rev", "fwd"))
