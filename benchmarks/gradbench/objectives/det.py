"""det: the determinant of an ell x ell matrix by expansion by minors (cmpad det_by_minor).

det(M) = sum over j of (-1)^j M[0, j] det(minor of M without row 0 and column j), accumulated
left to right; the gradient is the cofactor matrix, flattened row-major.

The natural formulation recurses on the minor, and so does the C++ reference (with "next
row/column" lists mutated around each recursive call); symgrad refuses recursion. Here the same
expansion tree is evaluated level by level, from the bottom up, with NumPy: level d holds one
node per ordered choice of columns for rows 0 .. d-1 (ell! / (ell - d)! nodes), each node the
determinant of the minor of rows d .. ell-1 and its remaining columns. A node of level d adds up
its ell - d children (remaining column j removed) times M[d, j-th remaining column], adding for
even j and subtracting for odd j, left to right; the bottom level (rows ell-3 .. ell-1) is the
expansion of each 3 x 3 minor written out. Every node is computed, as the recursion does (about
e * ell! multiply-adds, O(ell!)): minors that appear under several nodes are not shared. The
integer tables saying which columns remain at each node (`tables`) depend on ell alone; they are
plain NumPy, rebuilt in every call.

The top of the tree is a loop: det_by_minor expands along row 0 and evaluates each of the ell
minors' trees in turn, so a level holds at most (ell - 1)!/6 values (4.8 MB at ell = 11), not
ell!/6 (53 MB). With the whole tree at once, page faults took most of the time at ell = 11:
GradBench's total (primal and gradient at ell = 5 .. 11) was 4.3 s on the Numba backend, 1.8 s
with the loop; each ell up to 10 takes 1 to 60 ms more (the loop's own overhead).

Over all permutations (the Futhark tool's form, ell * ell! products) costs more and does not fit
in memory at ell = 11 without chunking.
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


def tree_det(M, n, rems):
    """det of the n x n matrix M by expansion by minors, level by level; n >= 3."""
    c = rems[n - 3]
    x, y, z = M[n - 3], M[n - 2], M[n - 1]
    a, b, e = c[0], c[1], c[2]
    ya, yb, ye = y[a], y[b], y[e]
    za, zb, ze = z[a], z[b], z[e]
    val = x[a] * (yb * ze - ye * zb) - x[b] * (ya * ze - ye * za) + x[e] * (ya * zb - yb * za)
    for d in range(n - 4, -1, -1):
        k = n - d
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


def det_by_minor(A, ell, rems, others):
    """det of A (ell * ell entries, row-major) by expansion by minors along row 0, each minor
    (columns others[j]) by tree_det; ell >= 4."""
    M = np.reshape(A, (ell, ell))
    total = M[0, 0] * tree_det(M[1:, others[0]], ell - 1, rems)
    for j in range(1, ell):
        minor = tree_det(M[1:, others[j]], ell - 1, rems)
        if j % 2 == 0:
            total = total + M[0, j] * minor
        else:
            total = total - M[0, j] * minor
    return total


def det_small(A, ell):
    """det for ell = 1, 2 or 3, the expansion written out."""
    if ell == 1:
        return A[0]
    if ell == 2:
        return A[0] * A[3] - A[1] * A[2]
    return (
        A[0] * (A[4] * A[8] - A[5] * A[7])
        - A[1] * (A[3] * A[8] - A[5] * A[6])
        + A[2] * (A[3] * A[7] - A[4] * A[6])
    )


def tables(ell):
    """The integer tables of det_by_minor: minor_tables(ell - 1), and others[j] the columns
    other than j."""
    others = np.array([[c for c in range(ell) if c != j] for j in range(ell)], dtype=np.int8)
    return minor_tables(ell - 1), others


_grad_by_minor = symgrad.grad(det_by_minor, backend=BACKEND)
_grad_small = symgrad.grad(det_small, backend=BACKEND)


def primal(A, ell):
    if ell < 4:
        return det_small(A, ell)
    return det_by_minor(A, ell, *tables(ell))


def gradient(A, ell):
    if ell < 4:
        return _grad_small(A, ell)
    return _grad_by_minor(A, ell, *tables(ell))


FUNCTIONS = {"primal": primal, "gradient": gradient}


def prepare(function, input):
    return (np.asarray(input["A"], dtype=np.float64), int(input["ell"]))


def output(function, value):
    return float(value) if function == "primal" else np.asarray(value, dtype=np.float64).tolist()
