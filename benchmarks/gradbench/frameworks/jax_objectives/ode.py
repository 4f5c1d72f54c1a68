"""ode (SPEC §8.9): s fixed steps of RK4 on f(y)_0 = x_0, f(y)_i = x_i y_{i-1} from y = 0 over
[0, 2], the steps a `jax.lax.scan`; `gradient` is `jax.grad` of the last entry. s is static."""

import jax
import jax.numpy as jnp
import numpy as np

from jax_objectives import array, blocking


def f(x, y):
    return jnp.concatenate([x[:1], x[1:] * y[:-1]])


def runge_kutta(x, s):
    h = 2.0 / s

    def step(y, _):
        k1 = f(x, y)
        k2 = f(x, y + h / 2 * k1)
        k3 = f(x, y + h / 2 * k2)
        k4 = f(x, y + h * k3)
        return y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4), None

    y, _ = jax.lax.scan(step, jnp.zeros_like(x), length=s)
    return y


def last(x, s):
    return runge_kutta(x, s)[-1]


FUNCTIONS = {
    "primal": blocking(jax.jit(runge_kutta, static_argnums=1)),
    "gradient": blocking(jax.jit(jax.grad(last), static_argnums=1)),
}


def prepare(function, input):
    return array(input["x"]), int(input["s"])


def output(function, value):
    return np.asarray(value).tolist()
