"""lse (SPEC §8.7): log-sum-exp from max, exp, sum and log; its gradient by `torch.autograd`."""

import torch

from pytorch_objectives import tensor, values


def logsumexp(x):
    a = torch.max(x)
    return a + torch.log(torch.sum(torch.exp(x - a)))


def gradient(x):
    (dx,) = torch.autograd.grad(logsumexp(x), x)
    return dx


FUNCTIONS = {"primal": logsumexp, "gradient": gradient}


def prepare(function, input):
    return (tensor(input["x"], requires_grad=function == "gradient"),)


def output(function, value):
    return values(value)
