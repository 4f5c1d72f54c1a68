"""hello: the protocol's smoke test. `double` is the derivative of `square`."""

import symgrad


def square(x):
    return x * x


FUNCTIONS = {"square": square, "double": symgrad.grad(square)}


def prepare(function, input):
    return (float(input),)


def output(function, value):
    return float(value)
