"""gmm (SPEC §8.2): the log-posterior of a Gaussian mixture model with a Wishart prior, and its
gradient with respect to alpha, mu, q and l by `torch.autograd`.

Component j's precision factor Q_j is lower triangular: exp(q_j) on its diagonal and l_j below
it, packed column by column ((1,0), (2,0), ..., (2,1), ...). The centred points are laid out
(K, N, D), the components' axis first, the batch axis of the product with Q_j, as in the JAX
tool's objective."""

import math

import torch

from pytorch_objectives import tensor, values

KEYS = ("alpha", "mu", "q", "l")


def precision_factors(q, l):
    k, d = q.shape
    cols, rows = torch.triu_indices(d, d, 1)  # (c, r), c < r, in column-by-column order of (r, c)
    Qs = q.new_zeros(k, d, d)
    Qs[:, rows, cols] = l
    return Qs + torch.diag_embed(torch.exp(q))


def log_wishart_prior(q, l, m, gamma):
    k, d = q.shape
    nu = d + m + 1
    log_gamma_d = 0.25 * d * (d - 1) * math.log(math.pi) + sum(
        math.lgamma(0.5 * nu + 0.5 * (1 - r)) for r in range(1, d + 1)
    )
    const = nu * d * (math.log(gamma) - 0.5 * math.log(2.0)) - log_gamma_d
    frobenius = torch.sum(torch.exp(q) ** 2) + torch.sum(l**2)
    return k * const - 0.5 * gamma**2 * frobenius + m * torch.sum(q)


def gmm_objective(alpha, mu, q, l, x, m, gamma):
    n, d = x.shape
    Qs = precision_factors(q, l)
    centred = x[None, :, :] - mu[:, None, :]  # (K, N, D): x_i - mu_j
    Qx = torch.einsum("kij,knj->kni", Qs, centred)  # Q_j (x_i - mu_j), a batched product
    beta = (alpha + torch.sum(q, dim=1))[:, None] - 0.5 * torch.sum(Qx**2, dim=2)  # (K, N)
    return (
        -0.5 * n * d * math.log(2.0 * math.pi)
        + torch.sum(torch.logsumexp(beta, dim=0))
        - n * torch.logsumexp(alpha, dim=0)
        + log_wishart_prior(q, l, m, gamma)
    )


def jacobian(alpha, mu, q, l, x, m, gamma):
    return torch.autograd.grad(gmm_objective(alpha, mu, q, l, x, m, gamma), (alpha, mu, q, l))


FUNCTIONS = {"objective": gmm_objective, "jacobian": jacobian}


def prepare(function, input):
    k, d = len(input["alpha"]), int(input["d"])
    shapes = {"alpha": (k,), "mu": (k, d), "q": (k, d), "l": (k, d * (d - 1) // 2)}
    differentiated = function == "jacobian"
    params = [tensor(input[key]).reshape(shapes[key]) for key in KEYS]
    x = tensor(input["x"]).reshape(-1, d)
    return (
        *(p.requires_grad_(differentiated) for p in params),
        x,
        int(input["m"]),
        float(input["gamma"]),
    )


def output(function, value):
    if function == "objective":
        return values(value)
    return {key: values(v) for key, v in zip(KEYS, value)}
