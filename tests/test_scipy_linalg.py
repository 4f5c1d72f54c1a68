"""SciPy's Cholesky and triangular solves (`symgrad.frontend.composites_scipy`): Gaussian-process
code as it is written (each was "cannot compile a call to scipy.linalg..."), its values SciPy's
up to rounding and its gradients central differences', the triangle SciPy reads the one the
gradient falls on."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from tests.conftest import BACKENDS

scipy_linalg = pytest.importorskip("scipy.linalg")


def gp_nll(A, y):
    K = A @ A.T + np.eye(len(y))
    L = scipy_linalg.cholesky(K, lower=True)
    alpha = scipy_linalg.solve_triangular(L, y, lower=True)
    return 0.5 * alpha @ alpha + np.sum(np.log(np.diag(L)))


def gp_cho(A, y):
    K = A @ A.T + np.eye(len(y))
    c, low = scipy_linalg.cho_factor(K)
    a = scipy_linalg.cho_solve((c, low), y)
    U = scipy_linalg.cholesky(K)
    return y @ a + np.sum(np.log(np.diag(U))) + np.sum(scipy_linalg.solve(K, y, assume_a="pos"))


def triangles(M, y):
    return (
        np.sum(scipy_linalg.solve_triangular(M, y, trans=1) ** 2)
        + np.sum(scipy_linalg.solve_triangular(M, y, lower=True, unit_diagonal=True))
        + np.sum(scipy_linalg.solve(M, y))
    )


def one_triangle_read(K, y):  # K not symmetric: SciPy reads one triangle of it
    return (
        np.sum(scipy_linalg.cholesky(K))
        + np.sum(scipy_linalg.cholesky(K, lower=True) ** 2)
        + np.sum(scipy_linalg.solve(K, y, assume_a="sym"))
        + np.sum(scipy_linalg.solve(K, y, assume_a="pos", lower=True))
    )


def stacked(S, B):  # a stack of matrices (each transposed alone: the whole stack was)
    L = scipy_linalg.cholesky(S, lower=True)
    U = scipy_linalg.cholesky(S)
    c, low = scipy_linalg.cho_factor(S)
    return (
        np.sum(scipy_linalg.solve(S, B, assume_a="pos") ** 2)
        + np.sum(scipy_linalg.solve(S, B, assume_a="sym", lower=True))
        + np.sum(scipy_linalg.solve_triangular(L, B, lower=True, unit_diagonal=True))
        + np.sum(scipy_linalg.solve_triangular(U, B, trans="T"))
        + np.sum(scipy_linalg.cho_solve((c, low), B))
        + np.sum(c)  # (the other triangle S's entries, as SciPy leaves them)
    )


RNG = np.random.default_rng(0)
A, Y = RNG.standard_normal((4, 3)), RNG.standard_normal(4)
B = RNG.standard_normal((4, 4))
K = B @ B.T + 4 * np.eye(4) + 0.3 * RNG.standard_normal((4, 4))
M = RNG.standard_normal((4, 4)) + 4 * np.eye(4)
C = RNG.standard_normal((3, 3, 3))
S = C @ np.swapaxes(C, -1, -2) + 3 * np.eye(3)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "fn, args",
    [
        (gp_nll, (A, Y)),
        (gp_cho, (A, Y)),
        (triangles, (M, Y)),
        (one_triangle_read, (K, Y)),
        (stacked, (S, RNG.standard_normal((3, 3, 2)))),
    ],
    ids=["gp_nll", "gp_cho", "triangles", "one_triangle_read", "stacked"],
)
def test_scipy_linalg_is_scipys(fn, args, backend):
    assert symgrad.jit(fn, backend=backend)(*args) == pytest.approx(fn(*args), rel=1e-12)
    symgrad.check_grads(fn, args, (0, 1), modes=("rev", "fwd"), backend=backend)


def test_what_scipy_linalg_cannot_be_is_refused(make_fn):
    m = make_fn(
        """
        import scipy.linalg

        def f(K, y):
            return np.sum(scipy.linalg.solve(K, y, assume_a="banded"))
        """
    )
    with pytest.raises(symgrad.SymgradError, match="assume_a='banded' is not supported"):
        symgrad.grad(m.f)(K, Y)
