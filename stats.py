# stats.py
import numpy as np


def fisher(r):
    return np.sum(np.arctanh(r) ** 2)


def running(a, w):
    return np.sum(np.cumulative_prod(a, axis=1) * w)


def running_flat(a):
    return np.sum(np.cumulative_prod(a))
