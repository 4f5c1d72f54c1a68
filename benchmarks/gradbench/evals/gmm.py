"""The fake eval's side of GradBench `gmm` (SPEC section 8.2), in plain NumPy.

Inputs: `d`, `k`, `n`, points `x` (N x D), `m` (0), `gamma` (1.0), weight logits `alpha` (K),
means `mu` (K x D), `q` (K x D: log of the diagonal of Q_j) and `l` (K x D(D-1)/2: the strictly
lower part of Q_j, packed column by column: (1,0), (2,0), ..., (D-1,0), (2,1), ...).

    beta[i][j] = alpha[j] + sum_r q[j][r] - 1/2 |Q_j (x[i] - mu[j])|^2
    nu = D + m + 1
    F = -N D/2 log(2 pi) + sum_i LSE_j beta[i][j] - N LSE(alpha)
        + K (nu D (log gamma - 1/2 log 2) - logGamma_D(nu / 2))
        - gamma^2 / 2 sum_j (sum_r exp(q[j][r])^2 + sum_s l[j][s]^2) + m sum_j sum_r q[j][r]

Generation: for each workload a fresh `numpy.random.default_rng(31337)`, then x (N x D), alpha
(K), mu (K x D uniforms on [0, 1)), q (K x D), l (K x D(D-1)/2), standard normals otherwise,
in that order; m = 0, gamma = 1, N = 1000. Descriptions "{d}_{k}_{n}", (d, k) pairs sorted by
d k, ties by (d, k).

`objective` answers a number; `jacobian` an object {alpha, mu, q, l} in the inputs' shapes.
The reference objective is a plain loop over the components; the reference gradient is central
differences of it, for inputs with at most `MAX_FD_PARAMETERS` parameters; beyond, `check`
compares the Jacobian's products with three random directions with central differences.
"""

from __future__ import annotations

import math

import numpy as np
from fake_eval import directional

FUNCTIONS = ("objective", "jacobian")

N = 1000
DS = (2, 10, 20, 32, 64)
KS = (5, 10, 25, 50, 100)
MAX_FD_PARAMETERS = 100
KEYS = ("alpha", "mu", "q", "l")


def generate(d: int, k: int, n: int, m: int = 0, gamma: float = 1.0) -> dict:
    """One input as the spec draws it (a fresh PCG64 seeded 31337 each time)."""
    rng = np.random.default_rng(31337)
    x = rng.standard_normal((n, d))
    alpha = rng.standard_normal(k)
    mu = rng.uniform(size=(k, d))
    q = rng.standard_normal((k, d))
    l = rng.standard_normal((k, d * (d - 1) // 2))
    return {
        "d": d,
        "k": k,
        "n": n,
        "x": x.tolist(),
        "m": m,
        "gamma": gamma,
        "alpha": alpha.tolist(),
        "mu": mu.tolist(),
        "q": q.tolist(),
        "l": l.tolist(),
    }


def workloads() -> list[tuple[str, dict]]:
    pairs = sorted(((d, k) for d in DS for k in KS), key=lambda p: (p[0] * p[1], p[0], p[1]))
    return [(f"{d}_{k}_{N}", generate(d, k, N)) for d, k in pairs]


def small_workloads() -> list[tuple[str, dict]]:
    sizes = ((2, 3, 10), (3, 2, 7), (4, 3, 12), (5, 2, 6))
    return [(f"{d}_{k}_{n}", generate(d, k, n)) for d, k, n in sizes]


EXAMPLE_2 = {
    "d": 2,
    "k": 2,
    "n": 2,
    "m": 0,
    "gamma": 1.0,
    "x": [[0.5, -0.3], [1.0, 0.2]],
    "alpha": [0.1, -0.2],
    "mu": [[0.0, 0.1], [0.5, 0.5]],
    "q": [[0.2, -0.1], [0.0, 0.3]],
    "l": [[0.4], [-0.5]],
}
EXAMPLE_3 = {
    "d": 3,
    "k": 2,
    "n": 2,
    "m": 2,
    "gamma": 0.7,
    "x": [[0.5, -0.3, 0.2], [1.0, 0.2, -0.4]],
    "alpha": [0.1, -0.2],
    "mu": [[0.0, 0.1, 0.2], [0.5, 0.5, 0.5]],
    "q": [[0.2, -0.1, 0.05], [0.0, 0.3, -0.2]],
    "l": [[0.4, 0.1, -0.3], [-0.5, 0.2, 0.6]],
}

EXAMPLES = [
    ("objective", EXAMPLE_2, -12.0742018351885),
    (
        "jacobian",
        EXAMPLE_2,
        {
            "alpha": [-0.1354026555, 0.1354026555],
            "mu": [[1.087949742, 0.0846286744], [0.7066482195, -1.0909660554]],
            "q": [[-1.2981804214, 0.1409707353], [-0.1647546049, -1.4408943681]],
            "l": [[-0.5436133101], [0.698153802]],
        },
    ),
    ("objective", EXAMPLE_3, -38.67069864495524),
    ("objective", generate(2, 5, 1000), -3916.464821054466),
    ("objective", generate(10, 25, 1000), -30857.5336794227),
]


def _arrays(input: dict) -> dict:
    d, k = int(input["d"]), len(input["alpha"])
    return {
        "x": np.asarray(input["x"], dtype=np.float64).reshape(-1, d),
        "alpha": np.asarray(input["alpha"], dtype=np.float64).reshape(k),
        "mu": np.asarray(input["mu"], dtype=np.float64).reshape(k, d),
        "q": np.asarray(input["q"], dtype=np.float64).reshape(k, d),
        "l": np.asarray(input["l"], dtype=np.float64).reshape(k, d * (d - 1) // 2),
    }


def _lse(v: np.ndarray) -> float:
    top = np.max(v)
    return float(top + np.log(np.sum(np.exp(v - top))))


def objective(x, alpha, mu, q, l, m: int, gamma: float) -> float:
    """F, written out plainly: Q_j built entry by entry, one component at a time."""
    n, d = x.shape
    k = len(alpha)
    beta = np.empty((n, k))
    for j in range(k):
        Q = np.zeros((d, d))
        for r in range(d):
            Q[r, r] = math.exp(q[j, r])
        for c in range(d):
            for r in range(c + 1, d):
                Q[r, c] = l[j, c * d - c * (c + 1) // 2 + (r - c - 1)]
        z = (x - mu[j]) @ Q.T  # row i: Q_j (x_i - mu_j)
        beta[:, j] = alpha[j] + np.sum(q[j]) - 0.5 * np.sum(z * z, axis=1)
    slse = sum(_lse(beta[i]) for i in range(n))
    nu = d + m + 1
    log_gamma_d = 0.25 * d * (d - 1) * math.log(math.pi) + sum(
        math.lgamma(0.5 * nu + 0.5 * (1 - r)) for r in range(1, d + 1)
    )
    prior = (
        k * (nu * d * (math.log(gamma) - 0.5 * math.log(2.0)) - log_gamma_d)
        - 0.5 * gamma**2 * (float(np.sum(np.exp(q) ** 2)) + float(np.sum(l**2)))
        + m * float(np.sum(q))
    )
    return -0.5 * n * d * math.log(2.0 * math.pi) + slse - n * _lse(alpha) + prior


def gradient(a: dict, m: int, gamma: float, h: float = 1e-5) -> dict:
    """Central differences of `objective` in float64, one parameter at a time."""
    result = {}
    for key in KEYS:
        g = np.zeros_like(a[key])
        for index in np.ndindex(*a[key].shape):
            values = []
            for step in (h, -h):
                b = {name: v.copy() for name, v in a.items()}
                b[key][index] += step
                values.append(objective(b["x"], b["alpha"], b["mu"], b["q"], b["l"], m, gamma))
            g[index] = (values[0] - values[1]) / (2 * h)
        result[key] = g.tolist()
    return result


def reference(function: str, input: dict):
    a = _arrays(input)
    m, gamma = int(input["m"]), float(input["gamma"])
    if function == "objective":
        return objective(a["x"], a["alpha"], a["mu"], a["q"], a["l"], m, gamma)
    if sum(a[key].size for key in KEYS) > MAX_FD_PARAMETERS:
        return None
    return gradient(a, m, gamma)


def check(function: str, input: dict, output) -> list[str] | None:
    """Where the Jacobian has too many entries for `reference`'s central differences: its
    products with three random directions against central differences of `objective` along
    them (float64)."""
    if function == "objective":
        return None
    a = _arrays(input)
    m, gamma = int(input["m"]), float(input["gamma"])
    sizes = [a[key].size for key in KEYS]
    theta = np.concatenate([a[key].ravel() for key in KEYS])
    gradient = np.concatenate([np.asarray(output[key], dtype=np.float64).ravel() for key in KEYS])

    def loss(points):
        out = []
        for point in points:
            parts = dict(zip(KEYS, np.split(point, np.cumsum(sizes)[:-1])))
            b = {key: parts[key].reshape(a[key].shape) for key in KEYS}
            out.append(objective(a["x"], b["alpha"], b["mu"], b["q"], b["l"], m, gamma))
        return np.array(out)

    return directional(loss, theta, gradient)
