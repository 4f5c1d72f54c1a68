"""Dask arrays: the emitted gradient is a lazy Dask computation, run on a `distributed.LocalCluster`
of worker processes with a small memory limit each, and agrees with the gradient on NumPy arrays.

Parameters are NumPy arrays and Python floats, the data Dask arrays (`symgrad.foreign`): the
gradients come back as lazy Dask arrays that one `dask.compute` computes together, reading each
chunk of the data once.
"""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

import symgrad
from symgrad.errors import SymgradError
from tests.fixtures.array_fns import (
    activations,
    filled,
    gathered,
    logistic,
    mlp,
    of_dict,
    recurrent,
    taps,
)

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
import dask  # noqa: E402 (after the skip)

MEMORY = "300MiB"  # per worker


@pytest.fixture(scope="module")
def client():
    """One cluster for the module: 2 worker processes of 1 thread, `MEMORY` each."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            memory_limit=MEMORY,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def _data(rng, n=2000, d=4, chunk=500):
    X = rng.standard_normal((n, d))
    y = (rng.random(n) < 0.5).astype(float)
    return X, y, da.from_array(X, chunks=(chunk, d)), da.from_array(y, chunks=chunk)


def _lazy_and_equal(got, want) -> None:
    """Each result is a lazy Dask array; computed together, they equal `want`."""
    assert all(isinstance(g, da.Array) for g in got)
    values = dask.compute(*got)
    for g, w in zip(values, want):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_mlp(client):
    rng = np.random.default_rng(0)
    X, _, Xd, _ = _data(rng)
    y = (rng.random((len(X), 1)) < 0.5).astype(float)
    yd = da.from_array(y, chunks=(500, 1))
    params = [rng.standard_normal(s) for s in [(4, 8), (8,), (8, 1), (1,)]]
    grad = symgrad.grad(mlp, argnums=(0, 1, 2, 3))
    got = grad(*params, Xd, yd)
    assert "X: dask Array float64[2000,4]" in grad.source  # the module for this signature
    _lazy_and_equal(got, grad(*params, X, y))


def test_logistic_regression_value_and_grad(client):
    X, y, Xd, yd = _data(np.random.default_rng(1))
    w, b = np.linspace(-1, 1, 4), 0.3  # b a Python float: its gradient a 0-d Dask array
    value_and_grad = symgrad.value_and_grad(logistic, argnums=(0, 1))
    value, (w_bar, b_bar) = value_and_grad(w, b, Xd, yd)
    want_value, (want_w, want_b) = value_and_grad(w, b, X, y)
    _lazy_and_equal([value, w_bar, b_bar], [want_value, want_w, want_b])


def test_loop_carrying_data(client):
    rng = np.random.default_rng(2)
    X, _, Xd, _ = _data(rng)
    w = 0.5 * rng.standard_normal(4)
    grad = symgrad.grad(recurrent, argnums=(0, 1))
    _lazy_and_equal(grad(w, 0.7, Xd), grad(w, 0.7, X))
    assert "for " in grad.source  # the loop stays a loop


def test_dict_of_parameters(client):
    X, y, Xd, yd = _data(np.random.default_rng(3))
    grad = symgrad.grad(of_dict)
    params = {"w": np.ones(4), "b": np.zeros(())}  # a 0-d NumPy array: made a Dask one
    got, want = grad(params, Xd, yd), grad(params, X, y)
    _lazy_and_equal([got["w"], got["b"]], [want["w"], want["b"]])


def make_rows(block_info=None, log=None, d=4):
    """A chunk of rows, made from its position alone, its making counted in the file `log`."""
    start, stop = block_info[None]["array-location"][0]
    with open(log, "a") as f:
        f.write(f"{start}\n")
    return np.random.default_rng(start).standard_normal((stop - start, d))


def test_one_pass_over_the_data(client, tmp_path):
    """Making the gradients reads nothing; computing them reads each chunk of X once, though
    the loss and both gradients read X (forward z = X @ w, backward X.T @ z_bar)."""
    log = tmp_path / "chunks.log"
    log.touch()
    n, chunk = 4000, 500
    chunks = ((chunk,) * (n // chunk), (4,))
    X = da.map_blocks(make_rows, log=str(log), chunks=chunks, meta=np.ones((0, 0)))
    y = (X[:, 0] > 0).astype(float)
    value, (w_bar, b_bar) = symgrad.value_and_grad(logistic, argnums=(0, 1))(np.ones(4), 0.1, X, y)
    assert log.read_text() == ""
    dask.compute(value, w_bar, b_bar)
    starts = log.read_text().split()
    assert sorted(map(int, starts)) == list(range(0, n, chunk))


def _peak_memory() -> int:
    """A worker's peak resident memory: VmHWM (getrusage's maximum counts the test process
    too, which a worker spawned from it inherits)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))


def test_data_larger_than_a_worker_memory(client):
    """320 MB of data, made lazily, through workers of 300 MiB: the same numbers as the gradient
    written by hand in Dask, computed in the same pass."""
    n, d = 800_000, 50
    rng = da.random.default_rng(0)
    X = rng.standard_normal((n, d), chunks=(50_000, d))
    y = (X[:, 0] > 0).astype(float)
    w, b = np.full(d, 0.01), 0.0
    assert X.nbytes > 300 * 2**20
    w_bar, b_bar = symgrad.grad(logistic, argnums=(0, 1))(w, b, X, y)
    residual = 1 / (1 + np.exp(-(X @ w + b))) - y
    by_hand = (X.T @ residual / n + 1e-2 * w, residual.mean())
    got = dask.compute(w_bar, b_bar, *by_hand)
    np.testing.assert_allclose(got[0], got[2], rtol=1e-9)
    np.testing.assert_allclose(got[1], got[3], rtol=1e-9)
    if sys.platform == "linux":
        assert max(client.run(_peak_memory).values()) < 300 * 2**20


def test_numpy_module_updates_in_place_and_dask_module_does_not(client):
    rng = np.random.default_rng(4)
    X, _, Xd, _ = _data(rng)
    w = rng.standard_normal(4)
    grad = symgrad.grad(filled)
    want = grad(w, X)
    numpy_source = grad.source
    (got,) = dask.compute(grad(w, Xd))
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert "s[i] = " in numpy_source and "np.copy" not in grad.source
    assert "s[i] = " not in grad.source and "_setitem(" in grad.source
    grad(w, X)  # the NumPy module again, as it was
    assert grad.source == numpy_source


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="no numba")
def test_numba_backend_runs_the_numpy_module_on_dask(client):
    X, y, Xd, yd = _data(np.random.default_rng(5))
    w = np.ones(4)
    grad = symgrad.grad(logistic, argnums=(0, 1), backend="numba")
    _lazy_and_equal(grad(w, 0.2, Xd, yd), symgrad.grad(logistic, argnums=(0, 1))(w, 0.2, X, y))
    assert "numba" not in grad.source


def test_what_dask_lacks_is_a_symgrad_error_naming_the_line():
    _, _, Xd, _ = _data(np.random.default_rng(6))
    with pytest.raises(SymgradError) as e:
        symgrad.grad(gathered)(np.ones(3), Xd)
    message = str(e.value)
    assert "grad_gathered cannot run on dask arrays" in message
    assert "np.add.at" in message and "np.sum(X @ w[np.array([0, 0, 1, 2])])" in message


def test_unknown_lengths_are_refused_with_what_to_do():
    _, _, Xd, yd = _data(np.random.default_rng(7))
    keep = Xd[:, 0] > 0  # rows Dask cannot count before computing
    with pytest.raises(SymgradError, match=r"argument 'X' is an array of shape \(nan, 4\)") as e:
        symgrad.grad(logistic)(np.ones(4), 0.1, Xd[keep], yd[keep])
    assert "compute_chunk_sizes()" in str(e.value)


def test_an_array_made_from_a_shape_is_made_like_the_data(client):
    """`np.zeros(n - k + 1)` in the function is `np.zeros_like(x, shape=..., dtype=...)` in the
    module for Dask data: a Dask array like the others (on CuPy, made on the GPU)."""
    rng = np.random.default_rng(4)
    w, x = rng.standard_normal(5), rng.standard_normal(400)
    g = symgrad.grad(taps)
    want = g(w, x)
    _lazy_and_equal([g(w, da.from_array(x, chunks=100))], [want])
    assert "np.zeros_like(x, shape=(396,), dtype='float64')" in g.source


def test_jacobians_and_hessians_of_dask_arrays(client):
    """jacrev, jacfwd with respect to a Dask array, and hessian of one raised Dask's
    NotImplementedError: the unit arrays they start from were set on their diagonal by an
    assignment Dask does not take. (Not specialised for Dask: computed with NumPy.)"""
    rng = np.random.default_rng(3)
    X, y, Xd, yd = _data(rng, n=40, d=3, chunk=15)
    w = rng.standard_normal(3)
    wd = da.from_array(w, chunks=2)
    pairs = [
        (jac(activations, argnums=(0, 1))(wd, Xd), jac(activations, argnums=(0, 1))(w, X))
        for jac in (symgrad.jacrev, symgrad.jacfwd)
    ]
    pairs.append(
        ((symgrad.hessian(logistic)(wd, 0.1, Xd, yd),), (symgrad.hessian(logistic)(w, 0.1, X, y),))
    )
    for got, want in pairs:
        for g, w_ in zip(got, want):
            np.testing.assert_allclose(np.asarray(g), w_, rtol=1e-10, atol=1e-12)
