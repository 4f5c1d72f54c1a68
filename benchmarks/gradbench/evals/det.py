"""det: determinant by expansion by minors (spec §8.10, cmpad det_by_minor).

Input {"A": ell * ell floats, row-major, "ell": ell}. primal: det(A); gradient: the cofactor
matrix (-1)^(i+j) det(A without row i and column j), flattened row-major. Inputs: numpy's
legacy generator seeded 31337 once, then A = rand(ell^2) for ell = 5 .. 11, described "5" ..
"11". The reference is LAPACK's determinant (np.linalg.det) and, for the gradient, central
differences of it: det is linear in each entry, so they are exact up to rounding.
"""

import numpy as np

FUNCTIONS = ("primal", "gradient")
SIZES = list(range(5, 12))
EXAMPLE = {"A": [2.0, 1.0, 0.0, 1.0, 3.0, 1.0, 0.0, 1.0, 4.0], "ell": 3}


def _inputs(sizes):
    np.random.seed(31337)
    return [(str(ell), {"A": np.random.rand(ell * ell).tolist(), "ell": ell}) for ell in sizes]


EXAMPLES = [
    ("primal", EXAMPLE, 18.0),
    ("gradient", EXAMPLE, [11.0, -4.0, 1.0, -4.0, 8.0, -2.0, 1.0, -2.0, 5.0]),
    ("primal", _inputs([5])[0][1], 0.004911350094511796),  # the first default workload
]


def workloads():
    return _inputs(SIZES)


def small_workloads():
    return _inputs([2, 3, 4])


def reference(function, input):
    ell = input["ell"]
    A = np.asarray(input["A"], dtype=np.float64).reshape(ell, ell)
    if function == "primal":
        return float(np.linalg.det(A))
    h = 1e-3
    cofactors = np.zeros(ell * ell)
    for k in range(ell * ell):
        up, down = A.copy(), A.copy()
        up.flat[k] += h
        down.flat[k] -= h
        cofactors[k] = (np.linalg.det(up) - np.linalg.det(down)) / (2 * h)
    return cofactors.tolist()
