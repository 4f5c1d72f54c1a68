"""llsq: half the squared residual of a degree m-1 polynomial fit of sign(t) on [-1, 1]."""

import numpy as np
from objectives.backend import BACKEND, compiled

import symgrad
from symgrad.emit.compiled import LOOP_ARRAY_MAX


def llsq(x, n):
    t = np.linspace(-1.0, 1.0, n)
    power = np.ones(n)  # t ** j, by a running product as the references form it
    fit = np.zeros(n)
    for j in range(x.shape[0]):
        fit = fit + x[j] * power
        power = power * t
    r = np.sign(t) - fit
    return 0.5 * np.sum(r * r)


FUNCTIONS = {"primal": compiled(llsq), "gradient": symgrad.grad(llsq, backend=BACKEND)}


def _compile():
    """Compile the primal and the gradient at define time (not timed), as in lse.py, in both
    forms their machine code takes: n at most `LOOP_ARRAY_MAX` or past it (the backward loop's
    tape: rows of an array, or a list of them)."""
    for n in (16, LOOP_ARRAY_MAX + 1):
        for f in FUNCTIONS.values():
            f(np.linspace(0.0, 1.0, 3), n)


_compile()


def prepare(function, input):
    return (np.asarray(input["x"], dtype=np.float64), int(input["n"]))


def output(function, value):
    return float(value) if function == "primal" else value.tolist()
