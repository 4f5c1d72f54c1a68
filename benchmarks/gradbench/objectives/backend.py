"""The symgrad backend the objectives' derivatives use: `numpy` (the default) or `numba`, as
`tool.py --backend` chose (it sets `SYMGRAD_GRADBENCH_BACKEND` before any objective imports).
The Jacobian transforms (`jacfwd`) always use NumPy's: symgrad does not compile them yet.
`compiled(f)` is the primal an objective times: on the Numba backend `symgrad.jit` of f (its
loops and elementwise work compiled, as JAX's tool runs its primal under `jax.jit`), else f."""

import os

import symgrad

BACKEND = os.environ.get("SYMGRAD_GRADBENCH_BACKEND", "numpy")


def compiled(fn):
    return symgrad.jit(fn, backend=BACKEND) if BACKEND == "numba" else fn
