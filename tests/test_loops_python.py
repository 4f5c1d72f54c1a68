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
