"""The rows of bench_table.py written for JAX, to time `jax.jit(jax.grad(f))` beside symgrad.

Contract. `gradient(key, argnums, static)` is None where JAX is not importable or the row has no
JAX formulation here, else a `JaxGradient`: `prepare(args)` turns a row's NumPy arguments into
what the jitted gradient takes (device arrays, not timed, as GradBench's JAX tool converts its
inputs before timing), and the object then called with no arguments runs the gradient and waits
for its result (`block_until_ready`). `result()` gives that result as NumPy arrays, to check it
against the hand-written gradient before anything is timed.

Each function is the row's NumPy function as a JAX user writes it: the same operations through
`jax.numpy`, element updates as `.at[...].set`, Python numbers that decide shapes or feed `math`
static (`static_argnums`). Two rows use JAX's loop primitives where a Python loop would unroll
into one operation per step: the RNN's steps as `lax.scan`, and the element-by-element
convolution as `lax.fori_loop` (1,996 steps); the convolution over its 5 or 31 taps stays a
Python loop, which jit unrolls. XLA is asked for one thread (`XLA_FLAGS`, set before JAX is
imported: call `single_threaded()` first; bench_table.py also keeps the process to one core, as
XLA's CPU client runs threads of its own whatever the flags say), in float64 (`jax_enable_x64`).
"""

from __future__ import annotations

import importlib.util
import math
import os
import time
from typing import Callable

import numpy as np

ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def single_threaded() -> None:
    """Ask XLA for one thread; must run before JAX is first imported."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "multi_thread_eigen" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {ONE_THREAD}".strip()


def available() -> bool:
    return importlib.util.find_spec("jax") is not None


def _rows() -> dict[str, Callable]:
    """key -> the row's function in jax.numpy (imported here: JAX is optional)."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    jax.config.update("jax_enable_x64", True)

    def mlp(W1, b1, W2, b2, X, y):
        h = jnp.maximum(X @ W1 + b1, 0.0)
        logits = h @ W2 + b2
        p = 1.0 / (1.0 + jnp.exp(-logits))
        return -jnp.mean(y * jnp.log(p) + (1.0 - y) * jnp.log(1.0 - p))

    def layernorm(W1, b1, W2, b2, X, Y):
        a = X @ W1 + b1
        mu = jnp.mean(a, axis=1, keepdims=True)
        var = jnp.mean((a - mu) ** 2, axis=1, keepdims=True)
        h = jnp.tanh((a - mu) / jnp.sqrt(var + 1e-5))
        z = h @ W2 + b2
        m = jnp.max(z, axis=1, keepdims=True)
        lse = m + jnp.log(jnp.sum(jnp.exp(z - m), axis=1, keepdims=True))
        return -jnp.sum(Y * (z - lse)) / X.shape[0]

    def chain(x):
        return jnp.sum(jnp.exp(jnp.sin(x) * x) / (1 + x**2) + jnp.log1p(x**2) * jnp.tanh(x))

    def conv_slices(w, b, x, target):
        n, k = x.shape[0], w.shape[0]
        out = jnp.zeros(n - k + 1)
        for j in range(k):
            out = out + w[j] * x[j : j + n - k + 1]
        r = jnp.maximum(out + b, 0.0)
        return jnp.mean((r - target) ** 2)

    def rosenbrock(x):
        return jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    def gmm(alpha, mu, q, tril, x, m, gamma):
        n, d = x.shape
        k = alpha.shape[0]
        cols, rows = np.triu_indices(d, 1)
        diag = np.arange(d)
        Qs = jnp.zeros((k, d, d))
        Qs = Qs.at[:, diag, diag].set(jnp.exp(q))
        Qs = Qs.at[:, rows, cols].set(tril)
        xc = x[:, None, :] - mu[None, :, :]
        z = jnp.einsum("kij,nkj->nki", Qs, xc)
        beta = alpha + jnp.sum(q, axis=1) - 0.5 * jnp.sum(z**2, axis=2)
        lse_beta = jax.nn.logsumexp(beta, axis=1)
        lse_alpha = jax.nn.logsumexp(alpha)
        nu = d + m + 1
        log_gamma_d = d * (d - 1) / 4 * math.log(math.pi) + sum(
            math.lgamma(nu / 2 + (1 - r) / 2) for r in range(1, d + 1)
        )
        const = -n * d / 2 * math.log(2 * math.pi) + k * (
            nu * d * (math.log(gamma) - 0.5 * math.log(2)) - log_gamma_d
        )
        prior = gamma**2 / 2 * (jnp.sum(jnp.exp(q) ** 2) + jnp.sum(tril**2))
        return const + jnp.sum(lse_beta) - n * lse_alpha - prior + m * jnp.sum(q)

    def rnn(W, U, xs):
        def step(carry, x_t):
            h, loss = carry
            h = jnp.tanh(W @ h + U @ x_t)
            return (h, loss + jnp.sum(h**2)), None

        (_, loss), _ = lax.scan(step, (jnp.zeros(W.shape[0]), 0.0), xs)
        return loss

    def softmax_ce(z, Y):
        m = jnp.max(z, axis=1, keepdims=True)
        lse = m + jnp.log(jnp.sum(jnp.exp(z - m), axis=1, keepdims=True))
        return -jnp.sum(Y * (z - lse)) / z.shape[0]

    def conv_loop(x, w):
        k = w.shape[0]

        def fill(i, out):
            return out.at[i].set(jnp.sum(lax.dynamic_slice(x, (i,), (k,)) * w))

        out = lax.fori_loop(0, x.shape[0] - k + 1, fill, jnp.zeros(x.shape[0] - k + 1))
        return jnp.sum(out**2)

    return {
        "mlp": mlp,
        "layernorm": layernorm,
        "chain": chain,
        "conv-slices": conv_slices,
        "rosenbrock": rosenbrock,
        "gmm": gmm,
        "rnn": rnn,
        "softmax-ce": softmax_ce,
        "conv-loop": conv_loop,
    }


class JaxGradient:
    """One row's jitted gradient at one size (see the module docstring)."""

    def __init__(self, fn: Callable, argnums):
        import jax

        self.jax = jax
        self.fn, self.argnums = fn, argnums
        self.args: tuple = ()
        self.jitted: Callable | None = None

    def prepare(self, args: tuple) -> float:
        """Take the row's arguments; the first call's time in ms (tracing and XLA compiling)."""
        jax = self.jax
        static = tuple(k for k, a in enumerate(args) if isinstance(a, (int, float)))
        nums = (self.argnums,) if isinstance(self.argnums, int) else self.argnums
        static = tuple(k for k in static if k not in nums)
        self.args = tuple(a if k in static else jax.device_put(a) for k, a in enumerate(args))
        grad = jax.grad(self.fn, argnums=self.argnums)
        self.jitted = jax.jit(grad, static_argnums=static)
        t0 = time.perf_counter()
        self()
        return 1e3 * (time.perf_counter() - t0)

    def __call__(self, *_ignored):
        return self.jax.block_until_ready(self.jitted(*self.args))

    def result(self):
        out = self()
        return tuple(np.asarray(g) for g in out) if isinstance(out, tuple) else np.asarray(out)


def gradient(key: str, argnums) -> JaxGradient | None:
    if not available():
        return None
    fn = _rows().get(key)
    return None if fn is None else JaxGradient(fn, argnums)
