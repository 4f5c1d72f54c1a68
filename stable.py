import numpy as np
import symgrad


@symgrad.custom_vjp
def log1pexp(x):
    return np.log1p(np.exp(x))


def log1pexp_fwd(x):
    return log1pexp(x), x


def log1pexp_bwd(x, g):
    return (g * (1 - 1 / (1 + np.exp(x))),)


log1pexp.defvjp(log1pexp_fwd, log1pexp_bwd)


@symgrad.custom_vjp
def clip_gradient(x):
    return x


def clip_fwd(x):
    return x, None


def clip_bwd(res, g):
    return (np.clip(g, -1.0, 1.0),)


clip_gradient.defvjp(clip_fwd, clip_bwd)


@symgrad.custom_jvp
def safe_norm(x):
    return np.sqrt(np.sum(x * x))


@safe_norm.defjvp
def safe_norm_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    n = safe_norm(x)
    return n, np.where(n == 0.0, 0.0, np.sum(x * t) / np.where(n == 0.0, 1.0, n))


def softplus_loss(x):
    return np.sum(log1pexp(x) * x)


def clipped_loss(x):
    return np.sum(clip_gradient(3.0 * x) ** 2)
