# solver.py
import numpy as np


def newton_sqrt(a, tol):
    x = a
    while True:
        x_new = 0.5 * (x + a / x)
        err = np.max(np.abs(x_new - x))
        x = x_new
        if err < tol:
            break
    return np.sum(x)


def capped(x, limit):
    s = 0.0
    for i in range(len(x)):
        if x[i] < 0:
            continue
        s = s + x[i] ** 2
        if s > limit:
            break
    return s
