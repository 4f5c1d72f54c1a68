# refused.py
import numpy as np


def spectrum(x):
    return np.sum(np.fft.fft(x).real)


def first_positive(x):
    for i in range(len(x)):
        if x[i] > 0:
            return x[i] ** 2
    return 0.0
