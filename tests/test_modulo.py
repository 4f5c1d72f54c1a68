"""`%` and `divmod`: on loop indices (no gradient) and on arrays (np.remainder)."""

import numpy as np
import pytest

import symgrad


def alternating(x):
    s = 0.0
    for i in range(x.shape[0]):
        if i % 2 == 1:
            s = s + x[i] ** 2
        q, r = divmod(i, 3)
        s = s + x[i] * q - r * x[i]
    return s + np.sum(x % 0.7) + np.sum(np.mod(x, x[0] + 1.0))


def test_modulo_computes_and_differentiates_as_python():
    x = np.linspace(0.1, 2.0, 7)
    symgrad.check_grads(alternating, (x,), (0,))
    assert symgrad.value_and_grad(alternating)(x)[0] == pytest.approx(alternating(x), rel=1e-12)
