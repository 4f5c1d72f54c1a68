"""Reads past updates (`symgrad.passes.disjoint`): a read of an updated array where the update
did not write reads the array before it; the same values."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad


def first_of_zeroed(x):
    z = x * 2.0
    z[1:] = 0.0
    return z[0] + np.sum(x)


def overlapping(x):  # z[1] was written: it stays a read of z
    z = x * 2.0
    z[1:] = 0.0
    return z[1] + z[0]


def read_twice(x):  # the update is read whole too: it stays, and z[0] reads it
    z = x * 2.0
    z[1:] = 0.0
    return z[0] + np.sum(z)


@pytest.mark.parametrize(
    "fn, past", [(first_of_zeroed, True), (overlapping, False), (read_twice, False)]
)
def test_a_read_past_an_update_computes_the_same_values(fn, past):
    x = np.random.default_rng(4).standard_normal(5)
    f = symgrad.jit(fn)
    assert f(x) == pytest.approx(fn(x.copy()), rel=1e-14)
    assert ("] = 0.0" not in f.source) == past, f.source
    symgrad.check_grads(fn, (x,), 0)


def test_a_backward_step_reads_a_cotangents_entry_without_copying_it():
    """The RK4 solve's backward loop zeroes the tail of a cotangent and reads its head: it
    reads the head of the cotangent before, and copies nothing for that."""

    def rate(x, y):
        z = np.zeros_like(y)
        z[0] = x[0]
        z[1:] = x[1:] * y[:-1]
        return z

    def step_sum(x, s):
        h = 2.0 / s
        y = np.zeros_like(x)
        for _ in range(s):
            k1 = rate(x, y)
            k2 = rate(x, y + h / 2 * k1)
            y = y + h / 2 * (k1 + k2)
        return y[-1]

    x = np.linspace(1.0, 2.0, 6)
    symgrad.check_grads(step_sum, (x, 3), 0)
    g = symgrad.grad(step_sum)
    g(x, 3)
    assert ".copy()" not in g.source, g.source
