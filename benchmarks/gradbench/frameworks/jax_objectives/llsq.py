"""llsq (SPEC §8.8): half the squared residual of a degree m-1 polynomial fit of sign(t) on
[-1, 1] at n points; its gradient by `jax.grad`. n fixes shapes, so it is a static argument."""

import jax
import jax.numpy as jnp
import numpy as np

from jax_objectives import array, blocking


def llsq(x, n):
    t = jnp.linspace(-1.0, 1.0, n)
    powers = jnp.vander(t, x.shape[0], increasing=True)  # t_i ** j, j = 0 .. m-1
    r = jnp.sign(t) - powers @ x
    return 0.5 * jnp.sum(r * r)


FUNCTIONS = {
    "primal": blocking(jax.jit(llsq, static_argnums=1)),
    "gradient": blocking(jax.jit(jax.grad(llsq), static_argnums=1)),
}


def prepare(function, input):
    return array(input["x"]), int(input["n"])


def output(function, value):
    return float(value) if function == "primal" else np.asarray(value).tolist()
