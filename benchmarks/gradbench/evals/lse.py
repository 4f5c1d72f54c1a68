"""lse: primal = max(x) + log(sum(exp(x - max(x)))); gradient = softmax(x)."""

import numpy as np

FUNCTIONS = ("primal", "gradient")
SIZES = [2500 * 2**i for i in range(10)]  # 2500 ... 1280000
EXAMPLES = [
    ("primal", {"x": [1.0, 2.0, 3.0]}, 3.4076059644443806),
    (
        "gradient",
        {"x": [1.0, 2.0, 3.0]},
        [0.09003057317038046, 0.24472847105479764, 0.6652409557748218],
    ),
]


def _inputs(sizes):
    np.random.seed(31337)
    return [(f"n={n}", {"x": np.random.rand(n).tolist()}) for n in sizes]


def workloads():
    return _inputs(SIZES)


def small_workloads():
    return _inputs([1, 5, 40])


def reference(function, input):
    x = np.asarray(input["x"], dtype=np.float64)
    shifted = np.exp(x - x.max())
    if function == "primal":
        return float(x.max() + np.log(shifted.sum()))
    return (shifted / shifted.sum()).tolist()
