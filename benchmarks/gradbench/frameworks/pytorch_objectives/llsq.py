"""llsq (SPEC §8.8): half the squared residual of a degree m-1 polynomial fit of sign(t) on
[-1, 1] at n points; its gradient by `torch.autograd`."""

import torch

from pytorch_objectives import tensor, values


def llsq(x, n):
    t = torch.linspace(-1.0, 1.0, n, dtype=torch.float64)
    powers = torch.vander(t, N=x.shape[0], increasing=True)  # t_i ** j, j = 0 .. m-1
    r = torch.sign(t) - powers @ x
    return 0.5 * torch.sum(r * r)


def gradient(x, n):
    (dx,) = torch.autograd.grad(llsq(x, n), x)
    return dx


FUNCTIONS = {"primal": llsq, "gradient": gradient}


def prepare(function, input):
    return tensor(input["x"], requires_grad=function == "gradient"), int(input["n"])


def output(function, value):
    return values(value)
