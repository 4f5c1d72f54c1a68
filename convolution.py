# convolution.py
import numpy as np


def conv(x, w):
    k = len(w)
    out = np.zeros(len(x) - k + 1)
    for i in range(len(x) - k + 1):
        out[i] = np.sum(x[i : i + k] * w)
    return np.sum(out**2)
