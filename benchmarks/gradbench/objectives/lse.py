"""lse: log-sum-exp with the max shift, written from max, exp, sum and log."""

import numpy as np
from objectives.backend import BACKEND

import symgrad


def logsumexp(x):
    a = np.max(x)
    return a + np.log(np.sum(np.exp(x - a)))


FUNCTIONS = {"primal": logsumexp, "gradient": symgrad.grad(logsumexp, backend=BACKEND)}


def prepare(function, input):
    return (np.asarray(input["x"], dtype=np.float64),)


def output(function, value):
    return float(value) if function == "primal" else value.tolist()
