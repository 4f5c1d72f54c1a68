"""CuPy arrays: the emitted gradient runs on the GPU (its results CuPy arrays, no copy to the host),
and agrees with the gradient on NumPy arrays. Skipped without CuPy or without a GPU.

NumPy parameters with CuPy data are made CuPy arrays first (`symgrad.foreign`), so the gradients
of NumPy parameters come back as CuPy arrays too.
"""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from tests.fixtures.array_fns import filled, logistic, mlp, recurrent, taps

cp = pytest.importorskip("cupy")


def _gpu() -> bool:
    try:
        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:  # CuPy installed, no driver or no device
        return False


pytestmark = pytest.mark.skipif(not _gpu(), reason="no GPU")


def _on_gpu_and_equal(got, want, rtol=1e-10) -> None:
    for g, w in zip(got, want):
        assert isinstance(g, cp.ndarray)
        assert g.shape == np.shape(w) and g.dtype == np.asarray(w).dtype
        np.testing.assert_allclose(cp.asnumpy(g), w, rtol=rtol, atol=rtol * 1e-2)


def _data(rng, n=512, d=4):
    X = rng.standard_normal((n, d))
    return X, (rng.random(n) < 0.5).astype(float)


def test_mlp_all_on_the_gpu():
    rng = np.random.default_rng(0)
    X, _ = _data(rng)
    y = (rng.random((len(X), 1)) < 0.5).astype(float)
    params = [rng.standard_normal(s) for s in [(4, 8), (8,), (8, 1), (1,)]]
    grad = symgrad.grad(mlp, argnums=(0, 1, 2, 3))
    on_gpu = [cp.asarray(a) for a in [*params, X, y]]
    _on_gpu_and_equal(grad(*on_gpu), grad(*params, X, y))


def test_numpy_parameters_and_gpu_data():
    X, y = _data(np.random.default_rng(1))
    w = np.linspace(-1, 1, 4)
    value_and_grad = symgrad.value_and_grad(logistic, argnums=(0, 1))
    value, (w_bar, b_bar) = value_and_grad(w, 0.3, cp.asarray(X), cp.asarray(y))
    want_value, (want_w, want_b) = value_and_grad(w, 0.3, X, y)
    _on_gpu_and_equal([value, w_bar, b_bar], [want_value, want_w, np.float64(want_b)])


def test_loop_carrying_data():
    rng = np.random.default_rng(2)
    X, _ = _data(rng)
    w = 0.5 * rng.standard_normal(4)
    grad = symgrad.grad(recurrent, argnums=(0, 1))
    _on_gpu_and_equal(grad(cp.asarray(w), 0.7, cp.asarray(X)), grad(w, 0.7, X))


def test_elements_assigned_in_a_loop():
    rng = np.random.default_rng(3)
    X, _ = _data(rng)
    w = rng.standard_normal(4)
    grad = symgrad.grad(filled)
    _on_gpu_and_equal([grad(cp.asarray(w), cp.asarray(X))], [grad(w, X)])


def test_float32_stays_float32():
    X, y = _data(np.random.default_rng(4))
    X, y, w = X.astype(np.float32), y.astype(np.float32), np.ones(4, np.float32)
    grad = symgrad.grad(logistic)
    got = grad(cp.asarray(w), 0.1, cp.asarray(X), cp.asarray(y))
    _on_gpu_and_equal([got], [grad(w, 0.1, X, y)], rtol=1e-5)


def test_an_array_made_from_a_shape_is_made_on_the_gpu():
    rng = np.random.default_rng(4)
    w, x = rng.standard_normal(5), rng.standard_normal(400)
    want = symgrad.grad(taps)(w, x)
    _on_gpu_and_equal([symgrad.grad(taps)(w, cp.asarray(x))], [want])
