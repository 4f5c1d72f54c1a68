"""lse (SPEC §8.7): log-sum-exp from max, exp, sum and log; its gradient by `jax.grad`."""

import jax
import jax.numpy as jnp
import numpy as np

from jax_objectives import array, blocking


def logsumexp(x):
    a = jnp.max(x)
    return a + jnp.log(jnp.sum(jnp.exp(x - a)))


FUNCTIONS = {
    "primal": blocking(jax.jit(logsumexp)),
    "gradient": blocking(jax.jit(jax.grad(logsumexp))),
}


def prepare(function, input):
    return (array(input["x"]),)


def output(function, value):
    return float(value) if function == "primal" else np.asarray(value).tolist()
