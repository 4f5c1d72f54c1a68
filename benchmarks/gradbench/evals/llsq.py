"""llsq: t_i = -1 + 2i/(n-1), r_i = sign(t_i) - sum_j x_j t_i^j, primal = sum r^2 / 2."""

import numpy as np

FUNCTIONS = ("primal", "gradient")
SIZES = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8196, 16392]
EXAMPLES = [
    ("primal", {"x": [0.5, -1.0, 2.0], "n": 5}, 13.625),
    ("gradient", {"x": [0.5, -1.0, 2.0], "n": 5}, [7.5, -5.5, 5.5]),
]


def _inputs(sizes, m):
    np.random.seed(31337)
    return [(f"n={n},m={m}", {"x": np.random.rand(m).tolist(), "n": n}) for n in sizes]


def workloads():
    return _inputs(SIZES, 128)


def small_workloads():
    return _inputs([2, 3, 16], 4) + _inputs([16], 128)[:1]


def reference(function, input):
    x, n = np.asarray(input["x"], dtype=np.float64), input["n"]
    t = np.array([-1 + 2 * i / (n - 1) for i in range(n)])
    powers = np.ones((n, len(x)))
    for j in range(1, len(x)):
        powers[:, j] = powers[:, j - 1] * t
    r = np.sign(t) - powers @ x
    if function == "primal":
        return float(0.5 * r @ r)
    return (-(r @ powers)).tolist()
