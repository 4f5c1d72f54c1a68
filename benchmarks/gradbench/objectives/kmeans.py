"""GradBench `kmeans`: the k-means cost, and its gradient divided by its Hessian's diagonal.

Input: `points` (N x D) and `centroids` (K x D).

    cost(C) = sum_i min_j |P_i - C_j|^2
    dir     = J / H,  J = d cost / dC,  H = the diagonal of the Hessian of cost w.r.t. C

The cost is written as k-means is in NumPy: each point's nearest centroid by `argmin` over the
N x K matrix of (shifted) squared distances, then the sum of squared distances to those. `argmin`
carries no derivative, so the gradient is the scatter-add of 2 (C_j - P_i) over each centroid's
points, the same as through `min` (ties go to the lowest index, as in the C++ reference).

`cost` returns a float. `dir` takes J from `symgrad.grad` and H by nested AD, as the JAX tool
does: forward over reverse, the `symgrad.jvp` of the gradient along an all-ones direction (the
Hessian is diagonal, so H 1 is its diagonal); one call gives J and H together.
"""

from __future__ import annotations

import numpy as np
from objectives.backend import BACKEND, compiled

import symgrad


def nearest_centroids(points, centroids):
    """For each point, the index of its nearest centroid (N,): argmin_j |P_i - C_j|^2, which is
    argmin_j |C_j|^2 - 2 P_i . C_j (|P_i|^2 is the same for every j)."""
    scores = -2.0 * points @ centroids.T  # (N, K)
    scores += np.sum(centroids**2, axis=1)
    return np.argmin(scores, axis=1)


def kmeans_cost(points, centroids):
    nearest = nearest_centroids(points, centroids)
    return np.sum((points - centroids[nearest]) ** 2)


kmeans_gradient = symgrad.grad(kmeans_cost, argnums=1, backend=BACKEND)
_cost = compiled(kmeans_cost)


def cost(points, centroids):
    return _cost(points, centroids)


def dir(points, centroids):
    J, H = symgrad.jvp(
        kmeans_gradient, (points, centroids), (None, np.ones_like(centroids)), backend=BACKEND
    )
    return J / H


FUNCTIONS = {"cost": cost, "dir": dir}


def _compile():
    """Compile the cost and both derivatives at define time (not timed); each new shape is
    still specialised on its first (timed) call, as jax.jit does."""
    rng = np.random.default_rng(0)
    points = rng.random((5, 2))
    cost(points, points[-2:])
    dir(points, points[-2:])


_compile()


def prepare(function, input):
    points = np.asarray(input["points"], dtype=np.float64)
    centroids = np.asarray(input["centroids"], dtype=np.float64)
    return points.reshape(len(points), -1), centroids.reshape(len(centroids), points.shape[-1])


def output(function, value):
    if function == "cost":
        return float(value)
    return np.asarray(value, dtype=np.float64).tolist()
