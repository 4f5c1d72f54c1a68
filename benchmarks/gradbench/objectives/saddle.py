"""saddle: a min-max point of f(p, q) = (p0^2 + p1^2) - (q0^2 + q1^2) by nested gradient descent.

inner(p) = max_q f(p, q), found by GradBench's gradient ascent (§8.13) from q = start with
grad_q f (the inner derivative); p* = argmin_p inner(p) by the descent from p = start with
grad_p inner (the outer derivative, through the whole inner ascent: its while loop, its branches
and its calls of grad_q f); q* = argmax_q f(p*, q) from start with the inner mode again. The
answer is [p*_0, p*_1, q*_0, q*_1]. The function name gives the modes, outer then inner: r is
reverse (symgrad.grad), f is forward (symgrad.jvp, one tangent per coordinate). The outer descent
(`objectives.descent`) is plain Python and never differentiated; the inner ascent
(`max_r`, `max_f`) is the code that the outer derivative differentiates.

The points are pairs of floats, as GradBench's C++ tools write them (objective(x1, y1, x2, y2));
2-element NumPy arrays would pay NumPy's per-call overhead in every step of both loops.

The inner derivative is `grad_q` (a `symgrad.grad` object) or `symgrad.jvp(f, ...)` along each
unit vector, called inside the ascent; symgrad splices them into its graph, so the outer
transformation differentiates through them.
"""

import math

from objectives.backend import BACKEND, compiled
from objectives.descent import argmax, argmin

import symgrad


def f(p0, p1, q0, q1):
    return (p0 * p0 + p1 * p1) - (q0 * q0 + q1 * q1)


# The inner derivative, grad_q f (the final argmax calls it, or grad_q_forward, directly).
grad_q = symgrad.grad(f, argnums=(2, 3), backend=BACKEND)


def grad_q_forward(p0, p1, q0, q1):
    """grad_q f by forward mode: one JVP per coordinate of q."""
    _, g0 = symgrad.jvp(f, (p0, p1, q0, q1), (None, None, 1.0, 0.0), backend=BACKEND)
    _, g1 = symgrad.jvp(f, (p0, p1, q0, q1), (None, None, 0.0, 1.0), backend=BACKEND)
    return g0, g1


def _ascent(inner_grad):
    """max_q, with grad_q f from `inner_grad` (a closure cell symgrad reads through)."""

    def max_q(p0, p1, s0, s1):
        """max_q f(p, q) by gradient ascent from q = s (gd.hpp's argmax, then f there)."""
        q0, q1 = s0, s1
        fq = f(p0, p1, q0, q1)
        g0, g1 = inner_grad(p0, p1, q0, q1)
        eta = 1e-5
        i = 0
        while True:
            if math.sqrt(g0 * g0 + g1 * g1) <= 1e-5:
                break
            if i == 10:
                eta = eta * 2
                i = 0
            else:
                n0 = q0 + eta * g0
                n1 = q1 + eta * g1
                if math.sqrt((q0 - n0) ** 2 + (q1 - n1) ** 2) <= 1e-5:
                    break
                fn = f(p0, p1, n0, n1)
                if fn > fq:
                    q0, q1, fq = n0, n1, fn
                    g0, g1 = inner_grad(p0, p1, q0, q1)
                    i = i + 1
                else:
                    eta = eta / 2
                    i = 0
        return f(p0, p1, q0, q1)

    return max_q


max_r = _ascent(grad_q)  # the inner derivative by reverse mode
max_f = _ascent(grad_q_forward)  # by forward mode


_primal = {max_r: compiled(max_r), max_f: compiled(max_f)}  # the outer descent's f
_outer_reverse_r = symgrad.grad(max_r, argnums=(0, 1), backend=BACKEND)
_outer_reverse_f = symgrad.grad(max_f, argnums=(0, 1), backend=BACKEND)


def _solve(inner_max, outer_grad, inner_grad, start):
    """[p*, q*]: the outer descent over p, then the ascent over q at p*."""
    s0, s1 = start

    primal = _primal[inner_max]

    def outer(p):
        return primal(p[0], p[1], s0, s1)

    def outer_d(p):
        return outer_grad(p[0], p[1], s0, s1)

    p = argmin(outer, outer_d, start)

    def final(q):
        return f(p[0], p[1], q[0], q[1])

    def final_d(q):
        return inner_grad(p[0], p[1], q[0], q[1])

    q = argmax(final, final_d, start)
    return [p[0], p[1], q[0], q[1]]


def _forward(fun):
    """d fun / d(p0, p1) by forward mode: one symgrad.jvp per coordinate of p."""

    def outer_grad(p0, p1, s0, s1):
        d0 = symgrad.jvp(fun, (p0, p1, s0, s1), (1.0, 0.0, None, None), backend=BACKEND)[1]
        d1 = symgrad.jvp(fun, (p0, p1, s0, s1), (0.0, 1.0, None, None), backend=BACKEND)[1]
        return [d0, d1]

    return outer_grad


def rr(start):
    return _solve(max_r, _outer_reverse_r, grad_q, start)


def ff(start):
    return _solve(max_f, _forward(max_f), grad_q_forward, start)


def fr(start):
    return _solve(max_r, _forward(max_r), grad_q, start)


def rf(start):
    return _solve(max_f, _outer_reverse_f, grad_q_forward, start)


FUNCTIONS = {"rr": rr, "ff": ff, "fr": fr, "rf": rf}


def _compile():
    """Compile the four functions at define time (not timed), from another start than the
    eval's: on the Numba backend, the machine code of every loop they run."""
    for f in FUNCTIONS.values():
        f([0.5, 0.5])


_compile()


def prepare(function, input):
    return ([float(v) for v in input["start"]],)


def output(function, value):
    return [float(v) for v in value]
