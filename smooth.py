import numpy as np


def smooth(x):
    return np.sum(np.log1p(x**2) * np.tanh(x))
