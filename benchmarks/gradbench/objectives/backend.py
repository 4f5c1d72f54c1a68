"""The symgrad backend the objectives' derivatives use: `numpy` (the default) or `numba`, as
`tool.py --backend` chose (it sets `SYMGRAD_GRADBENCH_BACKEND` before any objective imports),
the Jacobian transforms (ht's `jacfwd`) included.
`compiled(f)` is the primal an objective times, where that measures no slower than f itself:
`symgrad.jit` of f, as JAX's tool runs its primal under `jax.jit`. On the NumPy backend that is
f's emitted forward pass, specialised for its arguments' shapes (updates in place, large
temporaries freed early: measured against f, in one process, 0.92-0.99x on lse, 0.96-1.03x on
ode, 0.80-0.86x on lstm, 0.99-1.0x on llsq and kmeans; gmm's was 10-20% slower and stays f);
on the Numba backend its loops and elementwise work compiled (llsq 0.08-0.44x, kmeans 0.95x)."""

import os

import symgrad

BACKEND = os.environ.get("SYMGRAD_GRADBENCH_BACKEND", "numpy")


def compiled(fn):
    return symgrad.jit(fn, backend=BACKEND)
