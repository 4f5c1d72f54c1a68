"""kmeans (SPEC §8.6): the k-means cost and dir = J / H, J its gradient with respect to the
centroids and H its Hessian's diagonal, both from one `jax.jvp` of `jax.grad` along ones
(forward over reverse: the Hessian is diagonal, so H 1 is its diagonal).

Squared distances are expanded, |P_i|^2 - 2 P_i . C_j + |C_j|^2, so the N x K matrix comes from
one matrix product rather than an N x K x D broadcast."""

import jax
import jax.numpy as jnp
import numpy as np

from jax_objectives import array, blocking


def cost(points, centroids):
    squared = (
        jnp.sum(points**2, axis=1)[:, None]
        - 2.0 * points @ centroids.T
        + jnp.sum(centroids**2, axis=1)[None, :]
    )
    return jnp.sum(jnp.min(squared, axis=1))


def direction(points, centroids):
    gradient = jax.grad(cost, argnums=1)
    J, H = jax.jvp(lambda c: gradient(points, c), (centroids,), (jnp.ones_like(centroids),))
    return J / H


FUNCTIONS = {"cost": blocking(jax.jit(cost)), "dir": blocking(jax.jit(direction))}


def prepare(function, input):
    points = np.asarray(input["points"], dtype=np.float64)
    d = points.shape[-1]
    centroids = np.asarray(input["centroids"], dtype=np.float64).reshape(-1, d)
    return array(points), array(centroids)


def output(function, value):
    return float(value) if function == "cost" else np.asarray(value).tolist()
