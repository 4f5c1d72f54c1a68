"""gmm (SPEC §8.2): the log-posterior of a Gaussian mixture model with a Wishart prior, and its
gradient with respect to alpha, mu, q and l by `jax.grad`.

Component j's precision factor Q_j is lower triangular: exp(q_j) on its diagonal and l_j below
it, packed column by column ((1,0), (2,0), ..., (2,1), ...). The centred points are laid out
(K, N, D), the components' axis first, the batch axis of the product with Q_j (with the points'
axis first, XLA's batched product took 4x as long at 64_100_1000). m and gamma are static
arguments (Python numbers: the prior's constant is computed in Python)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from jax_objectives import array, blocking

KEYS = ("alpha", "mu", "q", "l")


def precision_factors(q, l):
    k, d = q.shape
    cols, rows = np.triu_indices(d, 1)  # (c, r), c < r, in column-by-column order of (r, c)
    Qs = jnp.zeros((k, d, d)).at[:, rows, cols].set(l)
    return Qs + jnp.exp(q)[:, :, None] * jnp.eye(d)


def log_wishart_prior(q, l, m, gamma):
    k, d = q.shape
    nu = d + m + 1
    log_gamma_d = 0.25 * d * (d - 1) * math.log(math.pi) + sum(
        math.lgamma(0.5 * nu + 0.5 * (1 - r)) for r in range(1, d + 1)
    )
    const = nu * d * (math.log(gamma) - 0.5 * math.log(2.0)) - log_gamma_d
    frobenius = jnp.sum(jnp.exp(q) ** 2) + jnp.sum(l**2)
    return k * const - 0.5 * gamma**2 * frobenius + m * jnp.sum(q)


def gmm_objective(alpha, mu, q, l, x, m, gamma):
    n, d = x.shape
    Qs = precision_factors(q, l)
    centred = x[None, :, :] - mu[:, None, :]  # (K, N, D): x_i - mu_j
    Qx = jnp.einsum("kij,knj->kni", Qs, centred)  # Q_j (x_i - mu_j), a batched product
    beta = (alpha + jnp.sum(q, axis=1))[:, None] - 0.5 * jnp.sum(Qx**2, axis=2)  # (K, N)
    return (
        -0.5 * n * d * math.log(2.0 * math.pi)
        + jnp.sum(logsumexp(beta, axis=0))
        - n * logsumexp(alpha)
        + log_wishart_prior(q, l, m, gamma)
    )


FUNCTIONS = {
    "objective": blocking(jax.jit(gmm_objective, static_argnums=(5, 6))),
    "jacobian": blocking(
        jax.jit(jax.grad(gmm_objective, argnums=(0, 1, 2, 3)), static_argnums=(5, 6))
    ),
}


def prepare(function, input):
    k, d = len(input["alpha"]), int(input["d"])
    shapes = {"alpha": (k,), "mu": (k, d), "q": (k, d), "l": (k, d * (d - 1) // 2)}
    params = [np.asarray(input[key], dtype=np.float64).reshape(shapes[key]) for key in KEYS]
    x = np.asarray(input["x"], dtype=np.float64).reshape(-1, d)
    return (*map(array, params), array(x), int(input["m"]), float(input["gamma"]))


def output(function, value):
    if function == "objective":
        return float(value)
    return {key: np.asarray(v).tolist() for key, v in zip(KEYS, value)}
