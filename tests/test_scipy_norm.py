"""`scipy.stats.norm`'s cdf, sf, pdf and logpdf (`symgrad.frontend.composites_norm`): a
Black-Scholes price and a Gaussian likelihood as they are written (each was "cannot compile a
call to ... norm_gen.cdf"), their values SciPy's up to rounding and their gradients central
differences'."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from tests.conftest import BACKENDS

stats = pytest.importorskip("scipy.stats")
norm = stats.norm


def black_scholes(S, K, T, r, sigma):
    d1 = (np.log(S / K) + (r + 0.5 * sigma**2) * T) / (sigma * np.sqrt(T))
    d2 = d1 - sigma * np.sqrt(T)
    return np.sum(S * norm.cdf(d1) - K * np.exp(-r * T) * norm.cdf(d2))


def gaussian_nll(mu, sigma, x):
    return -np.sum(norm.logpdf(x, loc=mu, scale=sigma))


def densities(x, mu):
    return np.sum(stats.norm.pdf(x, mu, 2.0) + norm.sf(x, mu) * norm.cdf(x) + norm.logpdf(x))


X = np.random.default_rng(5).standard_normal(12)
CASES = [
    (black_scholes, (np.array([100.0, 95.0]), np.array([100.0, 105.0]), 1.0, 0.05, 0.2)),
    (gaussian_nll, (0.3, 1.5, X)),
    (densities, (X, 0.2)),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fn", "args"), CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_the_normal_distributions_functions_are_scipys(fn, args, backend):
    assert symgrad.jit(fn, backend=backend)(*args) == pytest.approx(fn(*args), rel=1e-12)
    argnums = tuple(range(len(args)))
    symgrad.check_grads(fn, args, argnums, modes=("rev", "fwd"), backend=backend)
    assert "import scipy" not in symgrad.grad(fn, backend=backend).source
