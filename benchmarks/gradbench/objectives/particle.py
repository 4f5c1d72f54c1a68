"""particle: a charged particle falls through the field of two charges (Siskind & Pearlmutter).

simulate(w) runs Euler steps of a particle under the force -grad_x phi(x), phi(x) = sum over the
charges c of 1 / |x - c|, one charge at (10, 10 - w) and one at (10, 0), from x = (0, 8) with
velocity (0.75, 0), dt = 0.1, until it crosses the axis x_1 = 0; it returns the squared first
coordinate of the crossing point (interpolated back to the axis). The answer is argmin_w
simulate(w) from w = 0 by GradBench's gradient descent (`objectives.descent`, plain Python,
never differentiated), which uses d simulate / dw.

Nested AD: the inner derivative, grad_x phi, is taken inside simulate, and the outer
derivative, d/dw, differentiates simulate through its while loop and the inner gradient. The
function name gives the modes, outer then inner: r is reverse (symgrad.grad), f is forward
(symgrad.jvp).

The points are pairs of floats (x0, x1), as GradBench's C++ tools write them (a Point struct):
with 2-element NumPy arrays (x - charges, np.linalg.norm(..., axis=1)) every one of the 353
Euler steps pays NumPy's per-call overhead, and the answer is the same: rr took about 5 s a call
with arrays, against about 1 s with floats.

The inner gradient is `symgrad.grad(phi)` (reverse) or two `symgrad.jvp(phi, ...)` calls along
the unit vectors (forward), called inside simulate; symgrad splices them into simulate's graph,
so the outer transformation differentiates through them.
"""

import math

from objectives.backend import BACKEND, compiled
from objectives.descent import argmin

import symgrad


def phi(x0, x1, w):
    """The potential at (x0, x1) of the charges at (10, 10 - w) and (10, 0)."""
    return 1.0 / math.sqrt((x0 - 10.0) ** 2 + (x1 - (10.0 - w)) ** 2) + 1.0 / math.sqrt(
        (x0 - 10.0) ** 2 + x1**2
    )


grad_phi = symgrad.grad(phi, argnums=(0, 1))


def grad_phi_forward(x0, x1, w):
    """grad_x phi by forward mode: one JVP per coordinate."""
    _, g0 = symgrad.jvp(phi, (x0, x1, w), (1.0, 0.0, None), backend=BACKEND)
    _, g1 = symgrad.jvp(phi, (x0, x1, w), (0.0, 1.0, None), backend=BACKEND)
    return g0, g1


def _simulation(inner_grad):
    """simulate, with grad_x phi from `inner_grad` (a closure cell symgrad reads through)."""

    def simulate(w):
        """The squared crossing point for charge offset w."""
        x0, x1 = 0.0, 8.0
        v0, v1 = 0.75, 0.0
        dt = 0.1
        while True:
            g0, g1 = inner_grad(x0, x1, w)
            x0 = x0 + dt * v0
            x1 = x1 + dt * v1
            if x1 <= 0.0:
                break
            v0 = v0 - dt * g0
            v1 = v1 - dt * g1
        tau = -x1 / v1
        return (x0 + tau * v0) ** 2

    return simulate


simulate_r = _simulation(grad_phi)  # the inner gradient by reverse mode
simulate_f = _simulation(grad_phi_forward)  # by forward mode


def _descend(f, df, w0):
    """argmin_w f(w) from w0 by GradBench's descent (on [w])."""
    return argmin(lambda x: f(x[0]), lambda x: [df(x[0])], [w0])[0]


_primal_r = compiled(simulate_r)  # what the descent calls for f (compiled on Numba's backend)
_primal_f = compiled(simulate_f)
_reverse_r = symgrad.grad(simulate_r, backend=BACKEND)
_reverse_f = symgrad.grad(simulate_f, backend=BACKEND)


def _forward_r(w):
    return symgrad.jvp(simulate_r, (w,), (1.0,), backend=BACKEND)[1]


def _forward_f(w):
    return symgrad.jvp(simulate_f, (w,), (1.0,), backend=BACKEND)[1]


def rr(w0):
    return _descend(_primal_r, _reverse_r, w0)


def rf(w0):
    return _descend(_primal_f, _reverse_f, w0)


def fr(w0):
    return _descend(_primal_r, _forward_r, w0)


def ff(w0):
    return _descend(_primal_f, _forward_f, w0)


FUNCTIONS = {"rr": rr, "ff": ff, "fr": fr, "rf": rf}


def _compile():
    """Compile what the four functions call at define time (not timed), at another w than
    the eval's: on the Numba backend, the machine code of every loop they run."""
    for f in (_primal_r, _primal_f, _reverse_r, _reverse_f, _forward_r, _forward_f):
        f(0.25)


_compile()


def prepare(function, input):
    return (float(input["w"]),)


def output(function, value):
    return float(value)
