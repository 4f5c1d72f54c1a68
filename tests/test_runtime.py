"""The runtime helpers emitted modules carry (symgrad.rules.runtime), against NumPy itself."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import symgrad
from symgrad.rules.runtime import _fit, _index_add

ROWS = [  # (rows of x, tail of its shape, how many reads): both sides of the bincount cut-off
    (3, (2,), 5),
    (10, (4,), 100),
    (10, (8,), 1000),
    (100, (2, 3), 3000),
    (50, (), 600),
    (7, (65,), 2000),  # rows wider than 64 entries: np.add.at itself
    (40, (1,), 600),  # and rows of one entry
    (6, (0,), 600),  # and rows of none
]


@pytest.mark.parametrize("n, tail, reads", ROWS)
def test_index_add_at_rows_is_np_add_at(n, tail, reads):
    """`x[rows]`'s cotangent, `rows` one int array (negative and repeated entries, int64, int8
    or uint32), v of the read's shape, broadcast, a number, or with an unpickled float64 dtype
    (as a cached Numba function returns): the very sums np.add.at makes."""
    rng = np.random.default_rng(reads)
    x = np.zeros((n, *tail))
    signed = rng.integers(-n, n, reads)
    for rows in (signed, signed.astype(np.int8), (signed % n).astype(np.uint32)):
        odd = pickle.loads(pickle.dumps(np.dtype(np.float64)))
        read = rng.standard_normal((reads, *tail))
        for v in (read, read.view(odd), rng.standard_normal(tail), 2.5):
            want = np.zeros_like(x)
            np.add.at(want, rows, v)
            got = _index_add(x, np.s_[rows], v)
            assert got.dtype == want.dtype and np.array_equal(got, want)


def test_index_add_out_of_bounds_raises_as_numpy_does():
    x = np.zeros((40, 30))
    for rows in (np.array([0, 40] * 300), np.array([-41] * 600)):
        with pytest.raises(IndexError):
            _index_add(x, rows, np.ones((600, 30)))


def _nearest_cost(points, centroids):
    nearest = np.argmin(np.sum((points[:, None, :] - centroids[None, :, :]) ** 2, axis=2), axis=1)
    return np.sum((points - centroids[nearest]) ** 2)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_gather_of_rows_differentiates_through_the_row_sums(backend):
    """k-means' cost: centroids[nearest] read 400 times, its cotangent added at the rows."""
    if backend == "numba":
        pytest.importorskip("numba")
    rng = np.random.default_rng(5)
    points, centroids = rng.standard_normal((400, 3)), rng.standard_normal((6, 3))
    symgrad.check_grads(_nearest_cost, (points, centroids), 1)
    g = symgrad.grad(_nearest_cost, argnums=1, backend=backend)
    nearest = np.argmin(((points[:, None] - centroids[None]) ** 2).sum(axis=2), axis=1)
    want = np.zeros_like(centroids)
    np.add.at(want, nearest, -2 * (points - centroids[nearest]))
    np.testing.assert_allclose(g(points, centroids), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("g", [2.5, np.float64(2.5), np.array(2.5), np.array([1.0, 1.5]), 2])
def test_fit_to_a_python_number_is_a_python_float(g):
    """A Python number's gradient is a Python float: a total as it is (a compiled nest returns
    a Python float, a NumPy module a NumPy number), an array summed."""
    out = _fit(g, 0.1)
    assert type(out) is float and out == float(np.sum(g))


@pytest.mark.parametrize(
    "n, k",
    [(1, 1), (5, 1), (7, 3), (6, 6), (600, 5), (1100, 31), (1100, 1000), (40, 39), (3000, 1500)],
)
def test_the_numba_backends_correlate_and_convolve_are_numpys(n, k):
    """`symgrad.rules.runtime_compiled`'s helpers, compiled as its modules compile them, give
    np.correlate's and np.convolve's results up to the order of additions: both vectors
    either way round, blocks of outputs cut anywhere, float32 in float32, and NumPy's own
    result where the loops would not be faster or the dtypes differ."""
    numba = pytest.importorskip("numba")
    from symgrad.emit.codegen import _source
    from symgrad.rules import runtime_compiled as rc

    namespace = {"np": np, "numba": numba}
    for name in ("_correlate", "_convolve"):
        exec(_source(getattr(rc, name)), namespace)
    for name in rc.NJIT:
        namespace[name] = numba.njit(error_model="numpy")(getattr(rc, name))
    rng = np.random.default_rng(n * 7 + k)
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-4)):
        a, v = rng.standard_normal(n).astype(dtype), rng.standard_normal(k).astype(dtype)
        got, want = namespace["_correlate"](a, v), np.correlate(a, v, mode="valid")
        assert got.dtype == want.dtype and np.allclose(got, want, rtol=rtol, atol=rtol)
        for x, y in ((a, v), (v, a)):
            got, want = namespace["_convolve"](x, y), np.convolve(x, y)
            assert got.dtype == want.dtype and np.allclose(got, want, rtol=rtol, atol=rtol)
    a, v = rng.standard_normal(n), rng.standard_normal(k).astype(np.float32)  # (NumPy's)
    assert np.allclose(namespace["_correlate"](a, v), np.correlate(a, v, mode="valid"))
