"""A Python loop of a specialised NumPy module keeps its tape and stacked outputs in arrays
(`symgrad.emit.compiled.ArrayRows`), walked back by step (`symgrad.emit.control._Walk`): the
index recomputed from the step, h before a step read from h after the one before, the rows of
an outer product read at the index as a slice of the captured array. Each program here is
checked against central differences and its source for the form it should take."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad


def strided(W, U, xs):
    h = np.zeros(W.shape[0])
    loss = 0.0
    for t in range(1, xs.shape[0], 2):
        h = np.tanh(W @ h + U @ xs[t])
        loss = loss + np.sum(h**2)
    return loss


def walked_back(W, U, xs):
    h = np.zeros(W.shape[0])
    loss = 0.0
    for t in range(xs.shape[0] - 1, -1, -1):
        h = np.tanh(W @ h + U @ xs[t])
        loss = loss + np.sum(h**2)
    return loss


def states(W, U, xs):
    h = np.zeros_like(W[0])
    hs = []
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
        hs.append(h)
    H = np.stack(hs)
    return np.sum(H[1:] * H[:-1]) + np.sum(np.sin(H))


def two_carried(W, U, xs):
    h = np.zeros(W.shape[0])
    c = np.ones(W.shape[0])
    for t in range(xs.shape[0]):
        c = c * np.sin(W @ h + U @ xs[t])
        h = np.tanh(c) + h
    return np.sum(h * c)


def big_rows(W, U, xs):  # rows past ROW_MAX stay in lists: a copy per step costs more
    h = np.zeros(W.shape[1])
    for t in range(xs.shape[0]):
        h = np.tanh(h * W[0] + U[0] * xs[t, 0])
    return np.sum(h)


FORMS = {  # program -> text its source holds
    strided: ["tape_h_1[k + 1] = h_2", "t_1 = 1 + k_1 * 2", "xs[1 : 7 : 2]"],
    walked_back: ["for t in range(6, -1, -1):", "t_1 = 6 - k_1", "xs_rows[k_1] = xs[t_1]"],
    states: ["hs[t] = h_2", "tape_h_1[t + 1] = h_2", ".T @ xs\n"],
    two_carried: ["for t_1 in reversed(range(7)):"],
}


@pytest.mark.parametrize("fn", list(FORMS), ids=lambda f: f.__name__)
def test_a_loop_tapes_into_arrays_and_its_gradient_is_right(fn):
    rng = np.random.default_rng(5)
    args = (0.5 * rng.standard_normal((4, 4)), rng.standard_normal((4, 3)))
    args += (rng.standard_normal((7, 3)),)
    symgrad.check_grads(fn, args, (0, 1))
    g = symgrad.grad(fn, (0, 1))
    g(*args)
    assert "tape.append" not in g.source and "np.stack" not in g.source
    for text in FORMS[fn]:
        assert text in g.source, (text, g.source)
    if fn is not states:  # (whose np.stack of no rows fails in Python too)
        np.testing.assert_array_equal(g(*args[:2], args[2][:0])[0], 0 * args[0])  # no step


def test_rows_too_large_stay_in_lists():
    from symgrad.emit.compiled import ROW_MAX

    rng = np.random.default_rng(6)
    for n, arrays in ((8, True), (ROW_MAX + 1, False)):
        args = (rng.standard_normal((1, n)), rng.standard_normal((1, n)))
        args += (rng.standard_normal((3, 1)),)
        g = symgrad.grad(big_rows, (0, 1))
        g(*args)
        assert ("tape.append" not in g.source) == arrays, g.source
    symgrad.check_grads(big_rows, args, (0, 1))


def test_a_float32_loop_keeps_its_dtype():
    rng = np.random.default_rng(7)
    W, U, xs = (rng.standard_normal(s).astype(np.float32) for s in ((4, 4), (4, 3), (5, 3)))
    args = [W, U]
    g = symgrad.grad(states, (0, 1))
    dW, dU = g(*args, xs)
    assert dW.dtype == dU.dtype == np.float32 and "np.empty((5, 4), np.float32)" in g.source
    want = symgrad.grad(states, (0, 1))(*(a.astype(np.float64) for a in (*args, xs)))
    np.testing.assert_allclose(dW, want[0], rtol=1e-4, atol=1e-5)
