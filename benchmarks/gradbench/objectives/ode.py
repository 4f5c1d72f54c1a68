"""GradBench `ode`: a fixed-step Runge–Kutta solve of cmpad's `an_ode` (SPEC §8.9).

Input: `x` (n floats) and `s` (the number of steps). With f(y)_0 = x_0 and
f(y)_i = x_i · y_{i−1}, h = 2 / s and y = 0, each of the s steps is

    k1 = f(y); k2 = f(y + h/2·k1); k3 = f(y + h/2·k2); k4 = f(y + h·k3)
    y  = y + h/6 · (k1 + 2 k2 + 2 k3 + k4)

`primal` is y (n floats); `gradient` is ∇_x y_{n−1}, the gradient of the last entry, from
symgrad's reverse mode through the RK4 loop. On the Numba backend the primal is run as
`symgrad.jit` of the same function (its loop compiled, as JAX's tool runs its primal under
`jax.jit`): one loop nest per step.
"""

import numpy as np
from objectives.backend import BACKEND, compiled

import symgrad
from symgrad.emit.compiled import LOOP_ARRAY_MAX


def f(x, y):
    z = np.zeros_like(y)
    z[0] = x[0]
    z[1:] = x[1:] * y[:-1]
    return z


def runge_kutta(x, s):
    h = 2.0 / s
    y = np.zeros_like(x)
    for _ in range(s):
        k1 = f(x, y)
        k2 = f(x, y + h / 2 * k1)
        k3 = f(x, y + h / 2 * k2)
        k4 = f(x, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


def last(x, s):
    return runge_kutta(x, s)[-1]


_grad_last = symgrad.grad(last, backend=BACKEND)
_primal = compiled(runge_kutta)


def primal(x, s):
    return _primal(x, s)


def gradient(x, s):
    return _grad_last(x, s)


FUNCTIONS = {"primal": primal, "gradient": gradient}


def _compile():
    """Compile the primal and the gradient at define time (not timed), as in lse.py, in each
    form their machine code takes: one step or more, and n at most `LOOP_ARRAY_MAX` or past it
    (the backward loop's tape: rows of an array, or a list of them), n as large as the
    smallest workload's (a small array's updates are written otherwise)."""
    for n in (1000, LOOP_ARRAY_MAX + 1):
        for s in (1, 2):
            primal(np.linspace(1.0, 2.0, n), s)
            gradient(np.linspace(1.0, 2.0, n), s)


_compile()


def prepare(function, input):
    return np.asarray(input["x"], dtype=np.float64), int(input["s"])


def output(function, value):
    return [float(v) for v in value]
