# filters.py
import numpy as np


def conv1d(x, w):
    out = np.zeros(len(x) - len(w) + 1)
    for i in range(len(x) - len(w) + 1):
        out[i] = np.sum(x[i : i + len(w)] * w)
    return np.sum(out**2)
