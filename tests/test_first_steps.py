"""A loop whose first step binds a name the next steps read (`if t == 0: h = ...` / `else: h =
step(h)`): refused as a read before the binding until symgrad lowered the first step on its own
(`symgrad.frontend.loops._first_step`). Values against the function, gradients in both modes
against central differences, on both backends."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from tests.conftest import BACKENDS, on_backends


def rnn(W, x):
    for t in range(x.shape[0]):
        if t == 0:
            h = np.tanh(x[t])
        else:
            h = np.tanh(W @ h + x[t])
    return np.sum(h**2)


def over_rows(W, x):
    for t, xt in enumerate(x):
        if t == 0:
            h = np.tanh(xt)
        else:
            h = np.tanh(W @ h + xt)
        y = h * 2.0  # (bound before it is read, every step: not carried)
    return np.sum(h) + np.sum(y**2) + t


def zipped(W, x, u):
    for t, (xt, ut) in enumerate(zip(x, u)):
        if t == 0:
            h = np.tanh(xt * ut)
        else:
            h = np.tanh(W @ h + xt * ut)
        c = np.cos(h) if t == 0 else c + np.cos(h)  # noqa: F821 (bound at step 0)
    return np.sum(h * c)


def from_one(W, x):
    for t in range(1, x.shape[0]):
        if t > 1:
            z = x[t] + h  # noqa: F821 (bound at the first step)
        else:
            z = x[t]
        h = np.sin(W @ z)
    return np.sum(h)


def running(x):
    for t in range(len(x)):
        if t == 0:
            s, m = x[0], x[0]
        else:
            s = s + x[t]
            m = np.maximum(m, x[t]) * 1.5
    return s * m


def nested(W, x):
    total = 0.0
    for i in range(2):
        for t in range(x.shape[0]):
            if t == 0:
                h = np.tanh(x[t] * (i + 1))
            else:
                h = np.tanh(W @ h + x[t])
        total = total + np.sum(h)
    return total


def counted(x, n):
    for t in range(n):
        if t == 0:
            s = x * 1.0
        else:
            s = np.sin(s) + x
    return np.sum(s)


CASES = {
    "rnn": (rnn, 2),
    "over_rows": (over_rows, 2),
    "zipped": (zipped, 3),
    "from_one": (from_one, 2),
    "running": (running, 1),
    "nested": (nested, 2),
}


def _args(n, rng=None):
    rng = rng or np.random.default_rng(3)
    W, x, u = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    return (W, x, u)[:n] if n > 1 else (x[:, 0],)


@pytest.mark.parametrize("name, backend", on_backends(CASES, ["rnn", "zipped", "running"]))
def test_a_first_step_binding_what_the_next_read(name, backend):
    fn, n = CASES[name]
    args = _args(n)
    symgrad.check_grads(fn, args, tuple(range(len(args))), modes=("rev", "fwd"), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_length_known_when_it_runs(backend):
    x = np.array([0.3, -0.2, 0.5])
    for n in (1, 2, 4):  # (one step: the loop after the first runs none)
        symgrad.check_grads(counted, (x, n), backend=backend)
    g = symgrad.grad(counted, backend=backend)
    with pytest.raises(symgrad.SymgradError, match="ran no step, and symgrad runs its first step"):
        g(x, 0)  # (Python's runs no step, and its read of s is a NameError)


def test_second_order_through_a_first_step():
    args = _args(2)
    symgrad.check_grads(rnn, args, (0, 1), order=2, modes=("fwd",))


def test_the_first_step_stands_before_the_loop():
    source = symgrad.grad(rnn).source
    first, loop = source.index("h = np.tanh(x[0])"), source.index("for t in range(1, ")
    assert first < loop


def test_where_no_first_step_is_lowered_the_read_is_refused(make_fn):
    mod = make_fn(
        """
        def never_bound(x):
            for t in range(3):
                s = s + x[t]
            return s


        def breaks(x):
            for t in range(3):
                if t == 0:
                    h = x * 1.0
                else:
                    h = np.sin(h)
                if np.sum(h) > 5.0:
                    break
            return np.sum(h)


        def in_a_while(x):
            k = 0
            while k < 3:
                if k == 0:
                    h = x * 1.0
                else:
                    h = np.sin(h)
                k += 1
            return np.sum(h)
        """
    )
    x = np.array([0.1, 0.2, 0.3])
    for fn in (mod.never_bound, mod.breaks, mod.in_a_while):
        with pytest.raises(symgrad.UnsupportedSyntaxError, match="read before the function binds"):
            symgrad.grad(fn)(x)
