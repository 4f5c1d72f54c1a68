"""ode (SPEC §8.9): s fixed steps of RK4 on f(y)_0 = x_0, f(y)_i = x_i y_{i-1} from y = 0 over
[0, 2], a Python loop; `gradient` is `torch.autograd` of the last entry."""

import torch

from pytorch_objectives import tensor, values


def f(x, y):
    return torch.cat([x[:1], x[1:] * y[:-1]])


def runge_kutta(x, s):
    h = 2.0 / s
    y = torch.zeros_like(x)
    for _ in range(s):
        k1 = f(x, y)
        k2 = f(x, y + h / 2 * k1)
        k3 = f(x, y + h / 2 * k2)
        k4 = f(x, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


def gradient(x, s):
    (dx,) = torch.autograd.grad(runge_kutta(x, s)[-1], x)
    return dx


FUNCTIONS = {"primal": runge_kutta, "gradient": gradient}


def prepare(function, input):
    return tensor(input["x"], requires_grad=function == "gradient"), int(input["s"])


def output(function, value):
    return values(value)
