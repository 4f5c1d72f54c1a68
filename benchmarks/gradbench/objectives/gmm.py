"""GradBench `gmm`: the log-posterior of a Gaussian mixture model, and its gradient by symgrad.

Input: points `x` (N x D), weight logits `alpha` (K), means `mu` (K x D), `q` (K x D, the log of
the diagonal of each precision factor), `l` (K x D(D-1)/2, its strictly-lower part packed column
by column), and the Wishart prior's `m` and `gamma`. Component j's precision factor Q_j is lower
triangular with Q_j[r, r] = exp(q[j, r]) and Q_j[r, c] = l[j, idx(r, c)] for r > c, where the
strictly-lower entries run (1,0), (2,0), ..., (D-1,0), (2,1), ... (column by column).

    beta[i, j] = alpha[j] + sum_r q[j, r] - 1/2 |Q_j (x_i - mu_j)|^2
    F = -N D/2 log(2 pi) + sum_i LSE_j beta[i, j] - N LSE(alpha) + log Wishart prior

`objective` returns F (a float); `jacobian` returns dF/d{alpha, mu, q, l}, each in its input's
shape, computed by `symgrad.grad` of the same function with respect to the dict of parameters.
"""

from __future__ import annotations

import math

import numpy as np
from objectives.backend import BACKEND

import symgrad
from symgrad.passes.fuse import AXIS_FOLD_MAX


def logsumexp(v, axis):
    """log(sum(exp(v), axis)) with the maximum taken out first (beta runs into the thousands)."""
    top = np.max(v, axis=axis, keepdims=True)
    return np.squeeze(top, axis=axis) + np.log(np.sum(np.exp(v - top), axis=axis))


def precision_factors(q, l):
    """The K lower-triangular factors Q_j (K x D x D): exp(q) on the diagonal, l below it."""
    k, d = q.shape
    cols, rows = np.triu_indices(d, 1)  # (c, r) with c < r in column-by-column order of (r, c)
    diag = np.arange(d)
    Qs = np.zeros((k, d, d))
    Qs[:, diag, diag] = np.exp(q)
    # One fancy-index assignment. (The same fill as a loop over (r, c), one entry at a time, is
    # differentiated correctly but its backward loop is ~200x slower: it re-runs the fill and adds
    # a full-size l_bar per entry: repro loop-fill-backward.)
    Qs[:, rows, cols] = l
    return Qs


def log_gamma_d(a, d):
    """The multivariate log-gamma function log Gamma_d(a)."""
    return 0.25 * d * (d - 1) * math.log(math.pi) + sum(
        math.lgamma(a + 0.5 * (1 - r)) for r in range(1, d + 1)
    )


def log_wishart_prior(q, l, m, gamma):
    """log of the Wishart prior W(I / gamma^2, D + m + 1) on every precision matrix Q_j^T Q_j."""
    k, d = q.shape
    nu = d + m + 1
    const = nu * d * (math.log(gamma) - 0.5 * math.log(2.0)) - log_gamma_d(0.5 * nu, d)
    frobenius = np.sum(np.exp(q) ** 2) + np.sum(l**2)
    return k * const - 0.5 * gamma**2 * frobenius + m * np.sum(q)


def gmm_objective(params, x, m, gamma):
    alpha, mu, q, l = params["alpha"], params["mu"], params["q"], params["l"]
    n, d = x.shape
    Qs = precision_factors(q, l)
    # Q_j (x_i - mu_j) = Q_j x_i - Q_j mu_j for all i, j: one batched matrix product (BLAS).
    # (np.einsum("jrc,jic->jir", Qs, centred, optimize=True) is differentiated as well, its
    # derivatives' einsums with the same optimize=; without optimize= NumPy's einsum does not
    # use BLAS, and the gradient is ~6x slower than with matmul.)
    # Expanding Q_j (x_i - mu_j) rather than multiplying the centred points x[None] - mu[:, None]
    # saves ~30% of the gradient at 64_100: there symgrad's backward forms the K x N x D cotangent
    # of the centred points with a second batched product, then sums it over the points.
    Qmu = np.einsum("jrc,jc->jr", Qs, mu)
    Qx = x @ np.transpose(Qs, (0, 2, 1))  # (K, N, D): row i of block j is Q_j x_i
    Qx -= Qmu[:, None, :]  # Q_j (x_i - mu_j)
    beta = (alpha + np.sum(q, axis=1))[:, None] - 0.5 * np.einsum("jir,jir->ji", Qx, Qx)  # (K, N)
    return (
        -0.5 * n * d * math.log(2.0 * math.pi)
        + np.sum(logsumexp(beta, axis=0))
        - n * logsumexp(alpha, axis=0)
        + log_wishart_prior(q, l, m, gamma)
    )


gmm_gradient = symgrad.grad(gmm_objective, backend=BACKEND)


def _compile():
    """Compile the gradient for the parameters' dict at define time (not timed); each new shape
    is still specialised on its first (timed) call, as jax.jit does. On the Numba backend, a
    sum along some axes is added up in its loop nest below `AXIS_FOLD_MAX` entries and by NumPy
    above (symgrad.passes.fuse), so the nests come in three forms here, by whether the K x N x D
    and K x N arrays are past that size: one shape of each is compiled (the machine code serves
    every shape of the same form)."""
    rng = np.random.default_rng(0)
    shapes = [(2, 4, 3)]  # K, N, D
    if BACKEND == "numba":
        n = AXIS_FOLD_MAX // 10 + 1
        shapes += [(5, n, 3), (11, n, 3)]  # K N D past it, then K N too
    for k, n, d in shapes:
        params = {
            "alpha": rng.random(k),
            "mu": rng.random((k, d)),
            "q": rng.random((k, d)),
            "l": rng.random((k, d * (d - 1) // 2)),
        }
        gmm_gradient(params, rng.random((n, d)), 0, 1.0)


_compile()


def objective(params, x, m, gamma):
    return gmm_objective(params, x, m, gamma)


def jacobian(params, x, m, gamma):
    return gmm_gradient(params, x, m, gamma)


FUNCTIONS = {"objective": objective, "jacobian": jacobian}

KEYS = ("alpha", "mu", "q", "l")


def prepare(function, input):
    params = {key: np.asarray(input[key], dtype=np.float64) for key in KEYS}
    k, d = len(input["alpha"]), int(input["d"])
    params["mu"] = params["mu"].reshape(k, d)
    params["q"] = params["q"].reshape(k, d)
    params["l"] = params["l"].reshape(k, d * (d - 1) // 2)
    x = np.asarray(input["x"], dtype=np.float64).reshape(-1, d)
    return params, x, int(input["m"]), float(input["gamma"])


def output(function, value):
    if function == "objective":
        return float(value)
    return {key: np.asarray(value[key], dtype=np.float64).tolist() for key in KEYS}
