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


def all_four(x, loc, scale):
    return (
        norm.cdf(x, loc, scale)
        + norm.sf(x, loc, scale) * norm.pdf(x, loc, scale)
        + norm.logpdf(x, loc, scale)
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_float64_and_nan_where_the_scale_is_not_positive_as_scipys(backend):
    # (a float32 x gave float32 cdf and sf, where SciPy's are float64; a scale of 0 gave 1/0)
    x = np.array([0.1, -0.7, 1.3], dtype=np.float32)
    for scale in (1.5, np.array([2.0, 0.0, -1.0])):
        with np.errstate(divide="ignore", invalid="ignore"):
            got, want = (
                symgrad.jit(all_four, backend=backend)(x, 0.2, scale),
                all_four(x, 0.2, scale),
            )
        assert got.dtype == want.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert type(symgrad.jit(all_four, backend=backend)(0.4, 0.0, 1.0)) is np.float64


def test_compiling_imports_no_submodule_of_scipy(tmp_path):
    # (looking for scipy.stats.norm's methods read `scipy.stats` of SciPy's lazy module,
    # which imports it: 15 ms more for each first gradient of a process with SciPy imported)
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "probe.py"
    script.write_text(
        "import sys, numpy as np, scipy, symgrad\n"
        "def g(x):\n    return x ** 2\n"
        "def f(x):\n    return np.sum(g(x))\n"
        "symgrad.grad(f)(np.ones(3))\n"
        "print('scipy.stats' in sys.modules)\n"
    )
    root = str(Path(__file__).parents[1])
    env = {"PYTHONPATH": root, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "False", out.stderr
