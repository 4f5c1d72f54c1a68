import numpy as np


def f(x, w):
    h = np.tanh(x @ w)
    return np.sum(h ** 2)


def g(x):
    with open("log.txt", "a"):
        x = 2 * x
    return np.sum(x)
