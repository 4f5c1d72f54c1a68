import numpy as np


def model(x, w):
    h = np.tanh(x @ w)
    return np.sum(h ** 2)


def squash(x, A):
    return np.tanh(A @ x)


def cube(x):
    return x ** 3


def potential(x):
    return np.sum(np.exp(x)) + np.sum(x ** 2) ** 2


def absolute(x):
    return np.abs(x)


def relu(x):
    return np.maximum(x, 0.0)


def sign_times(x):
    return np.sign(x) * x


def looped(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sin(x[i]) * x[i]
    return s
