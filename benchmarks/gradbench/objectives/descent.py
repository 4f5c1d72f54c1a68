"""GradBench's gradient descent (cpp/gradbench/gd.hpp, SPEC §8.13), shared by particle and
saddle: plain Python on a list of floats, never differentiated.

argmin(f, df, x0): from x0 with step 1e-5, stop when |df| <= 1e-5 or a step moves x by at most
1e-5; a step that lowers f is taken (and after ten taken in a row the step doubles), one that
does not halves the step. argmax is argmin of -f.
"""

import math


def argmin(fun, grad, x0):
    """GradBench's gradient descent (cpp/gradbench/gd.hpp) on a list of floats: plain Python."""
    x = list(x0)
    fx = fun(x)
    g = grad(x)
    i = 0
    eta = 1e-5
    while True:
        if _norm(g) <= 1e-5:
            return x
        if i == 10:
            eta *= 2
            i = 0
        else:
            x_prime = [xj - eta * gj for xj, gj in zip(x, g)]
            if _distance(x, x_prime) <= 1e-5:
                return x
            fx_prime = fun(x_prime)
            if fx_prime < fx:
                x = x_prime
                fx = fx_prime
                g = grad(x)
                i += 1
            else:
                eta /= 2
                i = 0


def _norm(v):
    """math.sqrt(sum(a * a for a in v)), the terms added in the same order (no generator: the
    descent asks at every step, on one or two numbers)."""
    total = 0
    for a in v:
        total += a * a
    return math.sqrt(total)


def _distance(u, v):
    """math.sqrt(sum((a - b) * (a - b) for a, b in zip(u, v))), in the same order."""
    total = 0
    for a, b in zip(u, v):
        total += (a - b) * (a - b)
    return math.sqrt(total)


def argmax(fun, grad, x0):
    return argmin(lambda x: -fun(x), lambda x: [-gj for gj in grad(x)], x0)
