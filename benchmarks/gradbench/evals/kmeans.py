"""The fake eval's side of GradBench `kmeans` (SPEC section 8.6), in plain NumPy.

Inputs: `points` (N x D) and `centroids` (K x D).

    cost(C) = sum_i min_j |P_i - C_j|^2
    dir_j   = J_j / H_j = C_j - mean(P_i : i in S_j),  S_j = the points whose nearest centroid is j

(J_j = sum_{i in S_j} 2 (C_j - P_i), H_j = 2 |S_j| on every coordinate; ties go to the lowest
index.) `cost` answers a number, `dir` a K x D list. The reference computes both directly, the
direction in the closed form above.

Generation: `numpy.random.seed(31337)` (legacy MT19937) once, then for each workload in sending
order points = `numpy.random.rand(N, D)` and centroids = the last K points. Descriptions
"k={k},n={n},d={d}", sorted by k n d.
"""

from __future__ import annotations

import numpy as np

FUNCTIONS = ("cost", "dir")

SIZES = (  # (k, n, d) in sending order
    (10, 1000, 8),
    (10, 1000, 16),
    (10, 10000, 8),
    (100, 1000, 8),
    (10, 10000, 16),
    (100, 1000, 16),
    (100, 10000, 8),
    (1000, 1000, 8),
    (100, 10000, 16),
    (1000, 1000, 16),
    (1000, 10000, 8),
    (1000, 10000, 16),
)


def _generate(sizes) -> list[tuple[str, dict]]:
    np.random.seed(31337)
    result = []
    for k, n, d in sizes:
        points = np.random.rand(n, d)
        centroids = points[-k:]
        result.append(
            (f"k={k},n={n},d={d}", {"points": points.tolist(), "centroids": centroids.tolist()})
        )
    return result


def workloads() -> list[tuple[str, dict]]:
    return _generate(SIZES)


def small_workloads() -> list[tuple[str, dict]]:
    return _generate(((2, 10, 2), (3, 20, 3), (5, 40, 4), (4, 4, 3)))


_EXAMPLE = {"points": [[0, 0], [1, 0], [0, 1], [5, 5], [6, 5]], "centroids": [[0.5, 0.5], [5, 4]]}

EXAMPLES = [
    ("cost", _EXAMPLE, 4.5),
    ("dir", _EXAMPLE, [[1 / 6, 1 / 6], [-0.5, -1.0]]),
    ("cost", _generate(SIZES[:1])[0][1], 609.3389875892321),
]


def _nearest(points: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each point, its nearest centroid's index (the lowest on ties) and squared distance."""
    best = np.full(len(points), np.inf)
    index = np.zeros(len(points), dtype=np.int64)
    for j, c in enumerate(centroids):
        dist = np.sum((points - c) ** 2, axis=1)
        closer = dist < best  # strict: ties stay with the lower index
        best[closer] = dist[closer]
        index[closer] = j
    return index, best


def reference(function: str, input: dict):
    points = np.asarray(input["points"], dtype=np.float64)
    centroids = np.asarray(input["centroids"], dtype=np.float64).reshape(-1, points.shape[1])
    index, best = _nearest(points, centroids)
    if function == "cost":
        return float(np.sum(best))
    result = np.zeros_like(centroids)
    for j in range(len(centroids)):
        members = points[index == j]
        if len(members):  # an empty cluster has J = H = 0: no direction (cannot happen here)
            result[j] = centroids[j] - members.mean(axis=0)
    return result.tolist()
