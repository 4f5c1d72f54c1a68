"""`recompute=True` of grad, value_and_grad and vjp: a specialised module's loop tapes only the
values it carries, and each backward step recomputes the rest of its forward step, as the
shape-polymorphic module does (less memory, more time). Each program is checked against
central differences on both backends, and for what its backward loop recomputes."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import symgrad
from tests.conftest import BACKENDS


def gated(W, U, xs):  # a step of several values that its VJP reads, as an LSTM's gates
    h = np.zeros(W.shape[0])
    loss = 0.0
    for t in range(xs.shape[0]):
        a = W @ h + U @ xs[t]
        g = 1.0 / (1.0 + np.exp(-a))
        c = np.tanh(a) * g
        h = np.sin(c) + 0.5 * h
        loss = loss + np.sum(h**2)
    return loss


def layered(W, xs):  # a loop in a loop: layers at each time step
    h = np.zeros(W.shape[1])
    for t in range(xs.shape[0]):
        x = xs[t]
        for k in range(W.shape[0]):
            x = np.tanh(W[k] @ x + h)
        h = x
    return h


def inputs(n=5, m=3, T=6, seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((n, n)) * 0.4,
        rng.standard_normal((n, m)) * 0.4,
        rng.standard_normal((T, m)),
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_recomputed_gradients_are_right(backend):
    W, U, xs = inputs()
    symgrad.check_grads(gated, (W, U, xs), (0, 1, 2), backend=backend, recompute=True)
    rng = np.random.default_rng(1)
    stack, steps = rng.standard_normal((3, 4, 4)) * 0.5, rng.standard_normal((5, 4))
    symgrad.check_grads(layered, (stack, steps), (0, 1), backend=backend, recompute=True)


def test_recomputing_gives_the_taped_gradient(backend="numpy"):  # (Numba's: the test above)
    args = inputs(8, 4, 10)
    taped = symgrad.value_and_grad(gated, argnums=(0, 1), backend=backend)(*args)
    again = symgrad.value_and_grad(gated, argnums=(0, 1), backend=backend, recompute=True)
    value, grads = again(*args)
    assert value == taped[0]
    for a, b in zip(grads, taped[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def backward(compiled, args) -> str:
    compiled(*args)
    return compiled.source.split("# backward pass")[1]


def test_the_backward_loop_recomputes_what_the_default_tapes():
    args = inputs()
    assert "np.exp(" not in backward(symgrad.grad(gated), args)  # exp(-a) taped
    recomputing = symgrad.grad(gated, recompute=True)
    assert "np.exp(" in backward(recomputing, args)
    assert repr(recomputing) == "<symgrad grad of gated argnums=0 recompute=True>"


def peak(f, args) -> int:
    f(*args)
    tracemalloc.start()
    try:
        f(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_recomputing_holds_less_memory():
    args = inputs(64, 8, 200)
    taped = peak(symgrad.grad(gated, argnums=(0, 1)), args)
    recomputed = peak(symgrad.grad(gated, argnums=(0, 1), recompute=True), args)
    assert recomputed < 0.75 * taped


def test_vjp_recomputes():
    rng = np.random.default_rng(2)
    stack, steps = rng.standard_normal((3, 4, 4)) * 0.5, rng.standard_normal((5, 4))
    out, f_vjp = symgrad.vjp(layered, stack, steps, recompute=True)
    ct = rng.standard_normal(out.shape)
    expected = symgrad.vjp(layered, stack, steps)[1](ct)
    for a, b in zip(f_vjp(ct), expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_recompute_is_an_option_of_reverse_mode():
    with pytest.raises(symgrad.SymgradError, match="recompute is an option of grad"):
        symgrad.Compiled(gated, 0, "jvp", recompute=True)
    with pytest.raises(symgrad.SymgradError, match="recompute must be True or False"):
        symgrad.grad(gated, recompute="yes")


def test_emit_recomputes_on_the_command_line(capsys):
    from symgrad.cli import main

    target = f"{__file__}:gated"
    assert main(["emit", target, "--args", "W: 5x5, U: 5x3, xs: 6x3", "--recompute"]) == 0
    assert "np.exp(" in capsys.readouterr().out.split("# backward pass")[1]
    assert main(["emit", target, "--args", "W: 5x5, U: 5x3, xs: 6x3"]) == 0
    assert "np.exp(" not in capsys.readouterr().out.split("# backward pass")[1]
