"""det: the determinant of an ell x ell matrix by expansion by minors (cmpad det_by_minor).

det(M) = sum over j of (-1)^j M[0, j] det(minor of M without row 0 and column j), accumulated
left to right; the gradient is the cofactor matrix, flattened row-major.

The natural formulation recurses on the minor, and so does the C++ reference (with "next
row/column" lists mutated around each recursive call); symgrad refuses recursion
(/tmp/gb_repro/det_recursion.py). Here the same expansion tree is evaluated level by level,
from the bottom up, with NumPy: level d holds one node per ordered choice of columns for rows
0 .. d-1 (ell! / (ell - d)! nodes), each node the determinant of the minor of rows d .. ell-1 and
its remaining columns. A node of level d adds up its ell - d children (remaining column j
removed) times M[d, j-th remaining column], adding for even j and subtracting for odd j, left to
right; the bottom level (rows ell-3 .. ell-1) is the expansion of each 3 x 3 minor written out.
Every node is computed, as the recursion does (about e * ell! multiply-adds, O(ell!)): minors
that appear under several nodes are not shared. The integer tables saying which columns remain
at each node (`minor_tables`) depend on ell alone; they are plain NumPy, rebuilt in every call.

Over all permutations (the Futhark tool's form, ell * ell! products) costs more and does not fit
in memory at ell = 11 without chunking; the tree needs at most ell!/6 values per level.
"""

import numpy as np
from objectives.backend import BACKEND

import symgrad


def minor_tables(ell):
    """rems[d] (ell - d, N_d) for d = 0 .. ell - 3: column t holds the remaining columns of node
    t of level d, increasing; child j of node t (its j-th remaining column removed) is node
    j * N_d + t of level d + 1."""
    rems = [np.arange(ell, dtype=np.int8)[:, None]]
    for d in range(ell - 3):
        k = ell - d
        rem = rems[-1]
        rems.append(np.concatenate([rem[np.arange(k) != j] for j in range(k)], axis=1))
    return rems


def det_by_minor(A, ell, rems):
    """det of A (ell * ell entries, row-major) by expansion by minors; ell >= 3."""
    M = np.reshape(A, (ell, ell))
    c = rems[ell - 3]
    x, y, z = M[ell - 3], M[ell - 2], M[ell - 1]
    a, b, e = c[0], c[1], c[2]
    ya, yb, ye = y[a], y[b], y[e]
    za, zb, ze = z[a], z[b], z[e]
    val = x[a] * (yb * ze - ye * zb) - x[b] * (ya * ze - ye * za) + x[e] * (ya * zb - yb * za)
    for d in range(ell - 4, -1, -1):
        k = ell - d
        children = np.reshape(val, (k, -1))
        rem = rems[d]
        row = M[d]
        val = row[rem[0]] * children[0]
        for j in range(1, k):
            if j % 2 == 0:
                val = val + row[rem[j]] * children[j]
            else:
                val = val - row[rem[j]] * children[j]
    return val[0]


def det_small(A, ell):
    """det for ell = 1 or 2, where the tree has no 3 x 3 bottom level."""
    if ell == 1:
        return A[0]
    return A[0] * A[3] - A[1] * A[2]


_grad_by_minor = symgrad.grad(det_by_minor, backend=BACKEND)
_grad_small = symgrad.grad(det_small, backend=BACKEND)


def primal(A, ell):
    if ell < 3:
        return det_small(A, ell)
    return det_by_minor(A, ell, minor_tables(ell))


def gradient(A, ell):
    if ell < 3:
        return _grad_small(A, ell)
    return _grad_by_minor(A, ell, minor_tables(ell))


FUNCTIONS = {"primal": primal, "gradient": gradient}


def prepare(function, input):
    return (np.asarray(input["A"], dtype=np.float64), int(input["ell"]))


def output(function, value):
    return float(value) if function == "primal" else np.asarray(value, dtype=np.float64).tolist()
