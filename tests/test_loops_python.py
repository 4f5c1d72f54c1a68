"""Loops over what Python iterates: reversed ranges and sequences, enumerate, zip."""

import numpy as np
import pytest

import symgrad


def reversed_everything(a, lo, hi):
    s = 0.0
    for i in reversed(range(lo, hi, 3)):
        s = s * 0.5 + a[i]
    for i in reversed(range(hi - 1, lo - 1, -2)):
        s = s * 0.7 + a[i]
    for k, x in enumerate(reversed(a)):
        s = s + k * x
    for i in reversed(range(a.shape[0])):
        s = s * 0.9 + a[i] ** 2
    return s


def zipped_three(a, b, c):
    s = 0.0
    for k, (x, y, z) in enumerate(zip(a, b, c)):
        s = s + k * x * y + z
    return s


A = np.random.default_rng(1).standard_normal(9)


@pytest.mark.parametrize("lo, hi", [(0, 9), (1, 8), (2, 2), (5, 3), (0, 1), (1, 9)])
def test_reversed_walks_back_as_python_does(lo, hi):
    symgrad.check_grads(reversed_everything, (A, lo, hi), (0,))
    value = symgrad.value_and_grad(reversed_everything)(A, lo, hi)[0]
    assert value == pytest.approx(reversed_everything(A, lo, hi), rel=1e-12)


def test_enumerate_over_zip_of_three():
    symgrad.check_grads(zipped_three, (A, A[::-1].copy(), A**2), (0, 1, 2))


def zipped_reversed(a, b):
    s = 0.0
    for x, y in zip(reversed(a), b[1:]):
        s = s * 0.5 + x * y
    for k, (x, y) in enumerate(zip(a, reversed(b[:5]))):
        s = s + k * x * y
    return s


def test_zip_of_reversed_sequences():
    # `reversed(...)` inside zip was "cannot differentiate a call to reversed"
    b = A[::-1] ** 2
    assert symgrad.jit(zipped_reversed)(A, b) == pytest.approx(zipped_reversed(A, b), rel=1e-12)
    symgrad.check_grads(zipped_reversed, (A, b), (0, 1), modes=("rev", "fwd"))


def counted_from(a, first):
    s = 0.0
    for i, x in enumerate(a, start=1):
        s = s + i * x**2
    for k, x in enumerate(reversed(a[:4]), first):  # a start computed when it runs
        s = s + k * x
    for j, c in enumerate([0.5, 2.0], 3):  # a list spelled out
        s = s + j * c * a[j]
    return s


@pytest.mark.parametrize("first", [0, 2, -3])
def test_enumerate_counts_from_its_start(first):
    # enumerate(xs, start) was refused
    symgrad.check_grads(counted_from, (A, first), (0,), modes=("rev", "fwd"))
    value = symgrad.value_and_grad(counted_from)(A, first)[0]
    assert value == pytest.approx(counted_from(A, first), rel=1e-12)


def tuple_at_run_time(a, b, c):
    t = (a, b, c)
    s = 0.0
    for i in range(3):
        s = s + np.sum(t[i] ** 2) * (i + 1)
    return s + np.sum(t[-1])


def pick_one(a, b, k):
    return np.sum((a, b)[k] * 2.0)


def test_a_tuple_indexed_at_run_time_picks_as_python_does():
    a, b, c = np.random.default_rng(2).standard_normal((3, 4))
    symgrad.check_grads(tuple_at_run_time, (a, b, c), (0, 1, 2))
    assert symgrad.value_and_grad(tuple_at_run_time)(a, b, c)[0] == pytest.approx(
        tuple_at_run_time(a, b, c), rel=1e-12
    )
    g = symgrad.grad(pick_one, argnums=(0, 1))
    for k in (0, 1, -1, -2):
        ga, gb = g(a, b, k)
        assert np.array_equal(ga, 2.0 * np.ones(4) * (k % 2 == 0))
        assert np.array_equal(gb, 2.0 * np.ones(4) * (k % 2 == 1))
    with pytest.raises(IndexError, match="out of range"):
        g(a, b, 2)


LINKS = (1.0, 0.5, 0.25)


def planar_arm(thetas):
    x, angle = 0.0, 0.0
    for length, theta in zip(LINKS, thetas):
        angle = angle + theta
        x = x + length * np.cos(angle)
    return x


def test_zip_of_a_constant_tuple_of_numbers_and_an_array():
    # refused: "a for loop goes over range(), an array, enumerate() or zip(), not a tuple"
    for thetas in (np.array([0.3, -0.2, 0.5]), np.array([0.3, -0.2])):  # (zip: the shortest)
        assert symgrad.jit(planar_arm)(thetas) == pytest.approx(planar_arm(thetas), rel=1e-15)
        symgrad.check_grads(planar_arm, (thetas,), modes=("rev", "fwd"))
