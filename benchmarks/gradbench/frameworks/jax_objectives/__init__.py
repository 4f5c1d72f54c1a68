"""The JAX tool's objectives, one module per eval (FUNCTIONS, prepare, output as in
`../../objectives`), and their shared helpers: `blocking` (what is timed) and `array`."""

import jax
import jax.numpy as jnp
import numpy as np


def blocking(fn):
    """fn's call that returns once its result is computed: jit dispatches asynchronously, so
    the timed call waits for the result (`jax.block_until_ready`) before the clock stops."""

    def call(*args):
        return jax.block_until_ready(fn(*args))

    call.__name__ = getattr(fn, "__name__", "call")
    return call


def array(value):
    """A JSON list as a float64 array on the device, transferred before any clock starts."""
    return jax.block_until_ready(jnp.asarray(np.asarray(value, dtype=np.float64)))
