# layers.py
import numpy as np


def normalise(v, axis=-1, eps=1e-6):
    mu = v.mean(axis=axis, keepdims=True)
    return (v - mu) / np.sqrt(v.var(axis=axis, keepdims=True) + eps), mu
