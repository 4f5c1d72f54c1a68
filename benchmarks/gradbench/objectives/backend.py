"""The symgrad backend the objectives' derivatives use: `numpy` (the default) or `numba`, as
`tool.py --backend` chose (it sets `SYMGRAD_GRADBENCH_BACKEND` before any objective imports).
The Jacobian transforms (`jacfwd`) always use NumPy's: symgrad does not compile them yet.
`compiled(f)` is the primal an objective times: `symgrad.jit` of f, as JAX's tool runs its
primal under `jax.jit`. On the NumPy backend that is f's emitted forward pass, specialised for
its arguments' shapes (updates in place, large temporaries freed early, products in the
layout BLAS takes: measured 0.65x f's time on lse at n = 1.28e6, 0.71x on ode at n = 1e5,
0.80-0.86x on lstm, at most 1.05x on the smallest workloads); on the Numba backend its loops and
elementwise work compiled."""

import os

import symgrad

BACKEND = os.environ.get("SYMGRAD_GRADBENCH_BACKEND", "numpy")


def compiled(fn):
    return symgrad.jit(fn, backend=BACKEND)
