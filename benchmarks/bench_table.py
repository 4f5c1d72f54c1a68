"""A table of gradient problems: symgrad's emitted gradients against an expert's hand-written NumPy.

Contract. For every row of the table below, at a small and a large size (float64), the script
computes the gradient with respect to all the listed parameters twice, with a fresh symgrad
gradient (`symgrad.grad(f, argnums=...)`) and with a hand-written NumPy gradient, both including
the forward pass, and checks that the two agree (np.allclose, rtol 1e-6) before timing anything.
It then prints, per row and size:

- first ms: compile + first call with nothing cached (`symgrad.api._CACHE` cleared, a fresh
  `symgrad.grad` object, its first call timed). The process's one-time start-up (lazy imports)
  is paid beforehand by a tiny gradient, reported on its own line; compile ms: the part of it
  before the emitted function runs (lowering, differentiating, specialising for the arguments'
  types, emitting, loading), which the target judges: a large row's gradient alone, run for
  the first time on memory never touched before, takes longer than the target;
- emitted ms, hand ms: best of N interleaved repeats (`interleaved_best` of bench_grad.py),
  N chosen so that each row takes a fixed time budget;
- ratio = emitted / hand, and the peak traced memory (tracemalloc, one call each side) of both
  and its ratio;
- a geometric mean of the time ratios, and per-call overheads: a call of a compiled gradient,
  of `symgrad.jvp` and of a vjp's function on 10 elements minus a direct call of the emitted
  function it dispatches to.

Targets are printed beside the numbers as ok / MISS and never change the exit status: a large row
at most 1.2x the hand-written time, a small row at most 1.5x, the geometric mean at most 1.1x,
peak memory at most 1.2x, compiling at most 20 ms. A row that
symgrad refuses (`symgrad.SymgradError`) prints `refused: <first line of the message>`. A
gradient that disagrees with the hand-written one, or any other exception, is printed in its
row and makes the exit status 1: it is a bug to report.

Rows (one-size rows are judged as the size class named in brackets):

1. mlp: 2-layer MLP, ReLU then sigmoid + binary cross-entropy (W1, b1, W2, b2)
2. layernorm: dense layer, layer norm without affine parameters (mean and variance over the
   features, eps 1e-5), tanh, dense layer to 10 classes, softmax cross-entropy against one-hot
   labels with a user-written max-shifted logsumexp (W1, b1, W2, b2)
3. chain: the elementwise chain sum(exp(sin(x) x) / (1 + x^2) + log1p(x^2) tanh(x)) (x)
4. conv-slices: 1-D convolution as a loop over the kernel taps adding shifted slices, plus a
   bias, ReLU, mean squared error against a target (w, b)
5. rosenbrock: vectorised Rosenbrock (x)
6. gmm: GMM log-posterior with a Wishart prior, GradBench's gmm objective, as specified in
   /work/shared/gradbench/SPEC.md (alpha, mu, q, l; l is named tril here)
7. rnn: tanh RNN, loss summed over the steps (W, U); by hand: BPTT over stored states
8. softmax-ce: softmax cross-entropy with a max-shifted logsumexp (logits) [large]
9. conv-loop: bench_grad.py's `conv_loss`, a 1-D convolution filled element by element (x, w),
   also timed against the same two loops written by hand [small]

    python benchmarks/bench_table.py                # full run (under two minutes)
    python benchmarks/bench_table.py --quick        # small sizes, few repeats; used by tests
    python benchmarks/bench_table.py --source       # also print each emitted module
    python benchmarks/bench_table.py --rows 1,rnn   # some rows, by number or name
    python benchmarks/bench_table.py --backend numba  # loops compiled by Numba (first ms: with
                                                      # compiling them, on-disk cache cold or warm)

With JAX importable (`pip install jax jaxlib`; not a dependency), a second table times
`jax.jit(jax.grad(f))` of each row written in jax.numpy (`jax_rows.py`), in interleaved rounds
of its own with the hand-written gradient, after checking that the two agree: its first call
(tracing and XLA compiling) and its ratio to the hand-written gradient, beside symgrad's
(symgrad / jax: the ratio of the two ratios). `--no-jax` leaves it out; `--quick` does too.
Run as a script, the process keeps to one core (`os.sched_setaffinity`, where the system has it)
and every library to one thread (BLAS, XLA), as the issues' measurements did: XLA's CPU client
runs some work on threads of its own whatever its flags say (measured: 1.6 cores busy for a
512 x 512 matrix product).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import time
from dataclasses import dataclass
from typing import Callable

if __name__ == "__main__":  # one thread everywhere, set before NumPy and JAX load their pools
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")
    if hasattr(os, "sched_setaffinity"):  # and one core: XLA's CPU client runs its own threads
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # whatever its flags say

import jax_rows  # noqa: E402
import numpy as np  # noqa: E402

if __name__ == "__main__":
    jax_rows.single_threaded()

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from bench_grad import (  # noqa: E402
    conv_grad_by_hand,
    conv_grad_loop_by_hand,
    conv_inputs,
    conv_loss,
    interleaved_best,
    mlp_grad_by_hand,
    mlp_inputs,
    mlp_loss,
    peak_mib,
)

import symgrad  # noqa: E402
import symgrad.api  # noqa: E402

TARGET = {"small": 1.5, "large": 1.2}  # emitted / hand-written time, per size class
TARGET_GEOMEAN = 1.1
TARGET_MEMORY = 1.2  # emitted / hand-written peak traced memory
TARGET_COMPILE_MS = 20.0  # lowering to emitting, with nothing cached
RTOL = 1e-6


# --- Row 2: MLP with a hand-written layer norm, tanh, softmax cross-entropy --------------------


def layernorm_loss(W1, b1, W2, b2, X, Y):
    a = X @ W1 + b1
    mu = np.mean(a, axis=1, keepdims=True)
    var = np.mean((a - mu) ** 2, axis=1, keepdims=True)
    h = np.tanh((a - mu) / np.sqrt(var + 1e-5))
    z = h @ W2 + b2
    m = np.max(z, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))
    return -np.sum(Y * (z - lse)) / X.shape[0]


def layernorm_grad_by_hand(W1, b1, W2, b2, X, Y):
    batch = X.shape[0]
    a = X @ W1 + b1
    c = a - a.mean(axis=1, keepdims=True)
    s = np.sqrt((c * c).mean(axis=1, keepdims=True) + 1e-5)
    xhat = c / s
    h = np.tanh(xhat)
    z = h @ W2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)  # softmax
    dz = (p - Y) / batch  # rows of Y are one-hot, so they sum to 1
    dW2 = h.T @ dz
    db2 = dz.sum(axis=0)
    dxhat = (dz @ W2.T) * (1.0 - h * h)
    # layer norm backward (standard form): subtract the mean of the gradient, and its component
    # along xhat, then divide by the standard deviation
    da = (
        dxhat
        - dxhat.mean(axis=1, keepdims=True)
        - xhat * (dxhat * xhat).mean(axis=1, keepdims=True)
    ) / s
    return X.T @ da, da.sum(axis=0), dW2, db2


def layernorm_inputs(batch, width, classes=10):
    def make(rng):
        W1 = rng.standard_normal((width, width)) / np.sqrt(width)
        b1 = 0.1 * rng.standard_normal(width)
        W2 = rng.standard_normal((width, classes)) / np.sqrt(width)
        b2 = 0.1 * rng.standard_normal(classes)
        X = rng.standard_normal((batch, width))
        Y = np.eye(classes)[rng.integers(0, classes, batch)]  # integer labels, one-hot floats
        return W1, b1, W2, b2, X, Y

    return make


# --- Row 3: elementwise chain ----------------------------------------------------------------


def chain_loss(x):
    return np.sum(np.exp(np.sin(x) * x) / (1 + x**2) + np.log1p(x**2) * np.tanh(x))


def chain_grad_by_hand(x):
    x2 = x * x
    r = 1.0 / (1.0 + x2)
    s = np.sin(x)
    e = np.exp(s * x)
    t = np.tanh(x)
    # d/dx [e^{x sin x} r] = e (x cos x + sin x) r - e 2x r^2;  d/dx [log1p(x^2) t]
    return e * r * (x * np.cos(x) + s - 2.0 * x * r) + 2.0 * x * r * t + np.log1p(x2) * (1 - t * t)


def vector_inputs(n, low=-3.0, high=3.0):
    return lambda rng: (rng.uniform(low, high, n),)


# --- Row 4: 1-D convolution as a loop over kernel taps (slices), ReLU, MSE ---------------------


def conv_slices_loss(w, b, x, target):
    n, k = x.shape[0], w.shape[0]
    out = np.zeros(n - k + 1)
    for j in range(k):
        out = out + w[j] * x[j : j + n - k + 1]
    r = np.maximum(out + b, 0.0)
    return np.mean((r - target) ** 2)


def conv_slices_grad_by_hand(w, b, x, target):
    a = np.correlate(x, w, mode="valid") + b  # a[i] = sum_j w[j] x[i + j] + b
    r = np.maximum(a, 0.0)
    g = (2.0 / a.size) * (r - target) * (a > 0)  # d loss / d a
    return np.correlate(x, g, mode="valid"), float(np.sum(g))  # dw[j] = sum_i g[i] x[i + j]


def conv_slices_inputs(n, k):
    def make(rng):
        w = rng.standard_normal(k) / np.sqrt(k)
        return w, 0.1, rng.standard_normal(n), rng.standard_normal(n - k + 1)

    return make


# --- Row 5: vectorised Rosenbrock --------------------------------------------------------------


def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_grad_by_hand(x):
    head = x[:-1]
    a = x[1:] - head * head
    g = np.zeros_like(x)
    g[1:] = 200.0 * a
    g[:-1] += -400.0 * a * head - 2.0 * (1.0 - head)
    return g


# --- Row 6: GMM log-posterior with a Wishart prior (GradBench gmm) ----------------------------


def gmm_objective(alpha, mu, q, tril, x, m, gamma):  # tril: the spec's l
    n, d = x.shape
    k = alpha.shape[0]
    cols, rows = np.triu_indices(d, 1)  # strictly-lower entries, packed column by column
    diag = np.arange(d)
    Qs = np.zeros((k, d, d))
    Qs[:, diag, diag] = np.exp(q)
    Qs[:, rows, cols] = tril
    xc = x[:, None, :] - mu[None, :, :]
    z = np.einsum("kij,nkj->nki", Qs, xc)
    beta = alpha + np.sum(q, axis=1) - 0.5 * np.sum(z**2, axis=2)
    mb = np.max(beta, axis=1, keepdims=True)
    lse_beta = mb[:, 0] + np.log(np.sum(np.exp(beta - mb), axis=1))
    ma = np.max(alpha)
    lse_alpha = ma + np.log(np.sum(np.exp(alpha - ma)))
    nu = d + m + 1
    log_gamma_d = d * (d - 1) / 4 * math.log(math.pi) + sum(
        math.lgamma(nu / 2 + (1 - r) / 2) for r in range(1, d + 1)
    )
    const = -n * d / 2 * math.log(2 * math.pi) + k * (
        nu * d * (math.log(gamma) - 0.5 * math.log(2)) - log_gamma_d
    )
    prior = gamma**2 / 2 * (np.sum(np.exp(q) ** 2) + np.sum(tril**2))
    return const + np.sum(lse_beta) - n * lse_alpha - prior + m * np.sum(q)


def gmm_grad_by_hand(alpha, mu, q, tril, x, m, gamma):
    n, d = x.shape
    k = alpha.shape[0]
    cols, rows = np.triu_indices(d, 1)
    diag = np.arange(d)
    eq = np.exp(q)
    Qs = np.zeros((k, d, d))
    Qs[:, diag, diag] = eq
    Qs[:, rows, cols] = tril
    xc = x[:, None, :] - mu[None, :, :]  # (n, k, d)
    z = np.einsum("kij,nkj->nki", Qs, xc, optimize=True)  # Q_k (x_n - mu_k), by BLAS
    beta = alpha + q.sum(axis=1) - 0.5 * np.sum(z * z, axis=2)
    w = np.exp(beta - beta.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)  # responsibilities: dF / d beta
    wz = w[:, :, None] * z  # -dF / dz
    G = -np.einsum("nki,nkj->kij", wz, xc, optimize=True)  # dF / dQ_k
    counts = w.sum(axis=0)
    softmax_alpha = np.exp(alpha - alpha.max())
    softmax_alpha /= softmax_alpha.sum()
    d_alpha = counts - n * softmax_alpha
    d_mu = np.einsum("kij,ki->kj", Qs, wz.sum(axis=0))  # Q_k^T sum_n w z
    d_q = counts[:, None] + G[:, diag, diag] * eq - gamma**2 * eq * eq + m
    d_tril = G[:, rows, cols] - gamma**2 * tril
    return d_alpha, d_mu, d_q, d_tril


def gmm_inputs(d, k, n=1000):
    def make(rng):
        rng = np.random.default_rng(31337)  # GradBench's generator, fresh per workload
        x = rng.standard_normal((n, d))
        alpha = rng.standard_normal(k)
        mu = rng.random((k, d))
        q = rng.standard_normal((k, d))
        tril = rng.standard_normal((k, d * (d - 1) // 2))
        return alpha, mu, q, tril, x, 0, 1.0

    return make


def gmm_self_check():
    """The hand-written objective and gradient against the worked examples of the GradBench spec
    (computed there by GradBench's hand-differentiated C++ reference)."""
    x = np.array([[0.5, -0.3], [1.0, 0.2]])
    alpha, mu = np.array([0.1, -0.2]), np.array([[0.0, 0.1], [0.5, 0.5]])
    q, tril = np.array([[0.2, -0.1], [0.0, 0.3]]), np.array([[0.4], [-0.5]])
    assert np.isclose(gmm_objective(alpha, mu, q, tril, x, 0, 1.0), -12.0742018351885, rtol=1e-12)
    expected = (
        [-0.1354026555, 0.1354026555],
        [[1.087949742, 0.0846286744], [0.7066482195, -1.0909660554]],
        [[-1.2981804214, 0.1409707353], [-0.1647546049, -1.4408943681]],
        [[-0.5436133101], [0.698153802]],
    )
    for got, want in zip(gmm_grad_by_hand(alpha, mu, q, tril, x, 0, 1.0), expected):
        assert np.allclose(got, want, rtol=1e-8, atol=1e-9), (got, want)
    for (d, k), want in (((2, 5), -3916.464821054466), ((10, 25), -30857.5336794227)):
        assert np.isclose(gmm_objective(*gmm_inputs(d, k)(None)), want, rtol=1e-12)


# --- Row 7: RNN, loss summed over the steps ---------------------------------------------------


def rnn_loss(W, U, xs):
    h = np.zeros(W.shape[0])
    loss = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
        loss = loss + np.sum(h**2)
    return loss


def rnn_grad_by_hand(W, U, xs):
    T, n = xs.shape[0], W.shape[0]
    UX = xs @ U.T  # all input projections in one matmul
    H = np.zeros((T + 1, n))  # H[t + 1] is h after step t; H[0] the zero initial state
    for t in range(T):
        H[t + 1] = np.tanh(W @ H[t] + UX[t])
    # backpropagation through time: dA[t] = d loss / d (pre-activation of step t)
    dA = np.empty((T, n))
    dh = np.zeros(n)  # d loss / d h_t from the later steps
    for t in reversed(range(T)):
        h = H[t + 1]
        dA[t] = (dh + 2.0 * h) * (1.0 - h * h)
        dh = W.T @ dA[t]
    return dA.T @ H[:-1], dA.T @ xs  # both sums over steps as one matmul each


def rnn_inputs(n, m, T):
    def make(rng):
        W = 0.5 * rng.standard_normal((n, n)) / np.sqrt(n)
        U = rng.standard_normal((n, m)) / np.sqrt(m)
        return W, U, rng.standard_normal((T, m))

    return make


# --- Row 8: softmax cross-entropy with a max-shifted logsumexp ---------------------------------


def softmax_ce(z, Y):
    m = np.max(z, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))
    return -np.sum(Y * (z - lse)) / z.shape[0]


def softmax_ce_grad_by_hand(z, Y):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)  # softmax, in place
    e -= Y  # rows of Y are one-hot: d loss / d z = (softmax - Y) / batch
    e /= z.shape[0]
    return e


def softmax_ce_inputs(batch, classes):
    def make(rng):
        z = 3.0 * rng.standard_normal((batch, classes))
        return z, np.eye(classes)[rng.integers(0, classes, batch)]

    return make


# --- The table ---------------------------------------------------------------------------------


@dataclass
class Size:
    cls: str  # "small" or "large": the ratio target that applies
    dims: str  # printed
    make: Callable  # rng -> the arguments


@dataclass
class Row:
    key: str
    title: str
    fn: Callable
    by_hand: Callable
    argnums: tuple
    sizes: list[Size]
    loop_by_hand: Callable | None = None  # a loop's gradient: also the same loop by hand
    self_check: Callable | None = None  # checks the hand-written gradient itself


def mlp_sizes(n, d_in, d_hidden):
    return lambda rng: mlp_inputs(rng, n, d_in, d_hidden)


ROWS = [
    Row(
        "mlp",
        "MLP relu, sigmoid + BCE",
        mlp_loss,
        mlp_grad_by_hand,
        (0, 1, 2, 3),
        [
            Size("small", "B32 16-32-1", mlp_sizes(32, 16, 32)),
            Size("large", "B1024 256-512-1", mlp_sizes(1024, 256, 512)),
        ],
    ),
    Row(
        "layernorm",
        "MLP layernorm, tanh, softmax CE",
        layernorm_loss,
        layernorm_grad_by_hand,
        (0, 1, 2, 3),
        [
            Size("small", "B32 w64 c10", layernorm_inputs(32, 64)),
            Size("large", "B512 w512 c10", layernorm_inputs(512, 512)),
        ],
    ),
    Row(
        "chain",
        "elementwise chain",
        chain_loss,
        chain_grad_by_hand,
        0,
        [Size("small", "n=100", vector_inputs(100)), Size("large", "n=1e6", vector_inputs(10**6))],
    ),
    Row(
        "conv-slices",
        "conv1d taps loop, relu, MSE",
        conv_slices_loss,
        conv_slices_grad_by_hand,
        (0, 1),
        [
            Size("small", "n=256 k=5", conv_slices_inputs(256, 5)),
            Size("large", "n=2e5 k=31", conv_slices_inputs(200_000, 31)),
        ],
    ),
    Row(
        "rosenbrock",
        "Rosenbrock",
        rosenbrock,
        rosenbrock_grad_by_hand,
        0,
        [
            Size("small", "n=100", vector_inputs(100, -2.0, 2.0)),
            Size("large", "n=1e6", vector_inputs(10**6, -2.0, 2.0)),
        ],
    ),
    Row(
        "gmm",
        "GMM + Wishart prior (GradBench)",
        gmm_objective,
        gmm_grad_by_hand,
        (0, 1, 2, 3),
        [
            Size("small", "d2 K5 N1000", gmm_inputs(2, 5)),
            Size("large", "d10 K25 N1000", gmm_inputs(10, 25)),
        ],
        self_check=gmm_self_check,
    ),
    Row(
        "rnn",
        "RNN tanh, loss over steps",
        rnn_loss,
        rnn_grad_by_hand,
        (0, 1),
        [
            Size("small", "n16 m8 T20", rnn_inputs(16, 8, 20)),
            Size("large", "n256 m64 T200", rnn_inputs(256, 64, 200)),
        ],
    ),
    Row(
        "softmax-ce",
        "softmax cross-entropy",
        softmax_ce,
        softmax_ce_grad_by_hand,
        0,
        [Size("large", "B256 c1000", softmax_ce_inputs(256, 1000))],
    ),
    Row(
        "conv-loop",
        "conv1d element loop (bench_grad)",
        conv_loss,
        conv_grad_by_hand,
        (0, 1),
        [Size("small", "n=2000 k=5", lambda rng: conv_inputs(rng, 2000, 5))],
        loop_by_hand=conv_grad_loop_by_hand,
    ),
]


# --- Measuring ----------------------------------------------------------------------------------


def disagreement(emitted, by_hand) -> str | None:
    """Why the two gradients differ (shape, or the largest error), or None where they agree."""
    emitted = emitted if isinstance(emitted, tuple) else (emitted,)
    by_hand = by_hand if isinstance(by_hand, tuple) else (by_hand,)
    if len(emitted) != len(by_hand):
        return f"{len(emitted)} gradients emitted, {len(by_hand)} by hand"
    for k, (a, b) in enumerate(zip(emitted, by_hand)):
        if np.shape(a) != np.shape(b):
            return f"gradient {k}: shape {np.shape(a)} emitted, {np.shape(b)} by hand"
        scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-300)
        if not np.allclose(a, b, rtol=RTOL, atol=1e-12 * scale):
            err = float(np.max(np.abs(np.asarray(a) - b)))
            return f"gradient {k} differs: max abs err {err:.3g}, max |by hand| {scale:.3g}"
    return None


def repeats_for(fns, args, budget_s, lo, hi):
    """How many interleaved rounds fit the time budget, from one timed round."""
    t0 = time.perf_counter()
    for f in fns:
        f(*args)
    return max(lo, min(hi, int(budget_s / max(time.perf_counter() - t0, 1e-9))))


def first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def measure(row: Row, size: Size, opts, rng) -> dict:
    """One row at one size: a dict of what `report` prints."""
    args = size.make(rng)
    result = {"row": row, "size": size}
    symgrad.api._CACHE.clear()  # nothing cached: the first call lowers, compiles and specialises
    try:
        t0 = time.perf_counter()
        g = symgrad.grad(row.fn, argnums=row.argnums, backend=opts.backend)
        symgrad.api.specialised(g._artifact, symgrad.api._bind(row.fn, args, {}))  # compiled
        t1 = time.perf_counter()
        emitted = g(*args)
        result["first_ms"] = 1e3 * (time.perf_counter() - t0)
        result["compile_ms"] = 1e3 * (t1 - t0)
    except symgrad.SymgradError as e:
        result["refused"] = first_line(e)
        result["hand_ms"] = 1e3 * interleaved_best([row.by_hand], args, 3, 1)[0]
        return result
    except Exception as e:  # a crash is a finding: reported, and the exit status says so
        result["error"] = f"{type(e).__name__}: {first_line(e)}"
        return result
    if opts.source:
        print(f"# ---- emitted module for row {row.key}, {size.dims} ----\n{g.source}")
    fns = [g, row.by_hand] + ([row.loop_by_hand] if row.loop_by_hand else [])
    for f in fns[1:]:
        why = disagreement(emitted, f(*args))
        if why:
            result["error"] = f"DISAGREES with {f.__name__}: {why}"
            return result
    repeats = repeats_for(fns, args, *BUDGET[opts.quick])
    times = interleaved_best(fns, args, repeats, 0)
    result.update(emitted_ms=1e3 * times[0], hand_ms=1e3 * times[1])
    if row.loop_by_hand:
        result["loop_ms"] = 1e3 * times[2]
    result["mem"] = [peak_mib(f, args) for f in fns]
    if opts.jax:
        result.update(beside_jax(row, args))
    return result


def beside_jax(row: Row, args: tuple) -> dict:
    """jax.jit's gradient of the row (`jax_rows`), checked against the hand-written one, then
    timed in rounds of its own with it (a JAX call between two NumPy calls slows the small
    ones that follow: their rounds stay as they were)."""
    jax_grad = jax_rows.gradient(row.key, row.argnums)
    if jax_grad is None:
        return {}
    found = {"jax_first_ms": jax_grad.prepare(args)}
    why = disagreement(jax_grad.result(), row.by_hand(*args))
    if why:
        return {**found, "jax_error": f"DISAGREES with {row.by_hand.__name__}: {why}"}
    fns = [jax_grad, row.by_hand]
    times = interleaved_best(fns, args, repeats_for(fns, args, *BUDGET[False]), 0)
    return {**found, "jax_ms": 1e3 * times[0], "jax_hand_ms": 1e3 * times[1]}


def square_sum(x):  # (per-call overhead: an emitted function of a few microseconds)
    return np.sum(x * x)


def per_call_overhead(quick: bool) -> str:
    """A call of grad, jvp and a vjp's function of `square_sum` on 10 elements minus a direct
    call of the emitted function it runs (the module specialised for the arguments' shapes and
    dtypes): a function of a few microseconds, so that run-to-run noise in it does not hide
    the overhead."""
    x = np.linspace(-1.0, 1.0, 10)
    t = np.ones(10)
    g = symgrad.grad(square_sum)
    _, vjp_fn = symgrad.vjp(square_sum, x)
    cases = [
        ("grad", lambda x: g(x), lambda: (symgrad.api.specialised(g._artifact, [x]).fn, ())),
        ("jvp", lambda x: symgrad.jvp(square_sum, (x,), (t,)), lambda: _jvp_module(x, t)),
        ("vjp_fn", lambda x: vjp_fn(1.0), lambda: _vjp_module(vjp_fn, x)),
    ]
    calls = 200 if quick else 2000

    def many(f, *args):
        def run(x):
            for _ in range(calls):
                f(x, *args)

        return run

    parts = []
    for name, call, module in cases:
        want = call(x)
        try:
            direct, extra = module()
        except (AttributeError, TypeError, KeyError, StopIteration) as e:
            return f"per-call overhead: unavailable ({type(e).__name__}: {first_line(e)})"
        got = direct(x, *extra)
        assert disagreement(got, want if name != "vjp_fn" else want[0]) is None, name
        fns = [many(call), many(direct, *extra)]
        t_call, t_direct = interleaved_best(fns, (x,), 3 if quick else 15, 1)
        us = 1e6 / calls
        parts.append(f"{name} {us * (t_call - t_direct):.2f} us ({us * t_direct:.2f} us direct)")
    return "per-call overhead (np.sum(x * x), n=10): " + ", ".join(parts)


def _jvp_module(x, t):
    """The emitted function `symgrad.jvp(square_sum, (x,), (t,))` runs, and its extra argument."""
    fast = symgrad.transforms._FAST[(square_sum, "numpy")]
    module = next(iter(fast.entries.values()))[2]
    return module.fn, (t,)


def _vjp_module(vjp_fn, x):
    """The emitted function `vjp_fn(1.0)` runs, and its extra argument."""
    artifact = symgrad.api.specialised(vjp_fn._of.on_leaves((x,))[2], [x, 1.0])
    return artifact.fn, (1.0,)


def mark(ok: bool) -> str:
    return "ok" if ok else "MISS"


def line(start="", first="", compile_="", emitted="", hand="", ratio="", peak="", mem="") -> str:
    """One line of the table, in its columns."""
    return (
        f"{start:<52} {first:>8} {compile_:>12} {emitted:>11} {hand:>10} {ratio:>14}  "
        f"{peak:>23} {mem:>11}"
    ).rstrip()


def report(results: list[dict]) -> None:
    head = line(
        f"{'#':>2} {'problem':<32} size",
        "first ms",
        "compile ms",
        "emitted ms",
        "hand ms",
        "ratio",
        "peak MiB emitted / hand",
        "mem ratio",
    )
    print(head + "\n" + "-" * len(head))
    for r in results:
        row, size = r["row"], r["size"]
        start = f"{ROWS.index(row) + 1:>2} {row.title:<32} {size.dims}"
        if "error" in r:
            print(f"{start:<52} ERROR {r['error']}")
            continue
        if "refused" in r:
            print(line(start, hand=f"{r['hand_ms']:.3f}") + f"  refused: {r['refused']}")
            continue
        ratio = r["emitted_ms"] / r["hand_ms"]
        mem_e, mem_h = r["mem"][:2]
        mem_ratio = mem_e / max(mem_h, 1e-9)
        compile_ms = r["compile_ms"]
        print(
            line(
                start,
                f"{r['first_ms']:.1f}",
                f"{compile_ms:.1f} {mark(compile_ms <= TARGET_COMPILE_MS):<4}",
                f"{r['emitted_ms']:.3f}",
                f"{r['hand_ms']:.3f}",
                f"{ratio:.2f}x {mark(ratio <= TARGET[size.cls]):<4}",
                f"{mem_e:.2f} / {mem_h:<8.2f}",
                f"{mem_ratio:.2f}x {mark(mem_ratio <= TARGET_MEMORY):<4}",
            )
        )
        if "loop_ms" in r:  # the emitted loop against the same loops written by hand
            loop_ratio = r["emitted_ms"] / r["loop_ms"]
            print(
                line(
                    "     the same two loops by hand",
                    hand=f"{r['loop_ms']:.3f}",
                    ratio=f"{loop_ratio:.2f}x     ",
                    peak=f"{mem_e:.2f} / {r['mem'][2]:<8.2f}",
                    mem=f"{mem_e / max(r['mem'][2], 1e-9):.2f}x     ",
                )
            )
    ratios = [r["emitted_ms"] / r["hand_ms"] for r in results if "emitted_ms" in r]
    if ratios:
        gm = geomean(ratios)
        print(
            f"geometric mean of {len(ratios)} time ratios (emitted / hand): {gm:.2f}x  "
            f"target <= {TARGET_GEOMEAN} {mark(gm <= TARGET_GEOMEAN)}"
        )
        vectorised = [
            r["emitted_ms"] / r["hand_ms"]
            for r in results
            if "emitted_ms" in r and r["row"].loop_by_hand is None
        ]
        if vectorised and len(vectorised) < len(ratios):
            print(
                f"  without the element-loop row (a Python loop against vectorised NumPy): "
                f"{geomean(vectorised):.2f}x"
            )
    print(
        f"targets: time ratio <= {TARGET['large']} (large), <= {TARGET['small']} (small); "
        f"peak memory <= {TARGET_MEMORY}x; compile <= "
        f"{TARGET_COMPILE_MS:.0f} ms "
        "(MISS is reported, never an error)"
    )


def geomean(values: list[float]) -> float:
    return math.exp(sum(map(math.log, values)) / len(values))


def report_jax(results: list[dict]) -> None:
    """The second table: jax.jit's gradient beside symgrad's, both against the hand-written
    one of the same interleaved rounds."""
    timed = [r for r in results if "jax_ms" in r or "jax_error" in r]
    if not timed:
        return
    import jax

    print(
        f"\njax.jit(jax.grad(f)) beside symgrad (jax {jax.__version__}, one thread, float64; "
        "first ms: tracing and XLA compiling)"
    )
    head = (
        f"{'#':>2} {'problem':<32} {'size':<17} {'jax first ms':>12} {'jax ms':>10} "
        f"{'jax / hand':>10} {'symgrad / hand':>14} {'symgrad / jax':>13}"
    )
    print(head + "\n" + "-" * len(head))
    for r in timed:
        row, size = r["row"], r["size"]
        start = f"{ROWS.index(row) + 1:>2} {row.title:<32} {size.dims:<17}"
        if "jax_error" in r:
            print(f"{start} ERROR jax {r['jax_error']}")
            continue
        jax_ratio, ours = r["jax_ms"] / r["jax_hand_ms"], r["emitted_ms"] / r["hand_ms"]
        print(
            f"{start} {r['jax_first_ms']:>12.1f} {r['jax_ms']:>10.3f} {jax_ratio:>9.2f}x "
            f"{ours:>13.2f}x {ours / jax_ratio:>12.2f}x"
        )
    both = [r for r in timed if "jax_ms" in r]
    if both:
        versus = [r["emitted_ms"] / r["hand_ms"] / (r["jax_ms"] / r["jax_hand_ms"]) for r in both]
        gm, ahead = geomean(versus), sum(v < 1 for v in versus)
        print(
            f"symgrad / jax geometric mean over {len(both)} lines: {gm:.2f}x; "
            f"symgrad faster on {ahead} of {len(both)}"
        )


def other_tools(opts) -> str:
    """What the tables left out of the other AD tools."""
    found = [m for m in ("jax", "autograd", "torch") if importlib.util.find_spec(m) is not None]
    if "jax" in found and opts.jax:
        found.remove("jax")
    if not found:
        return ""
    return f"importable but without a column here: {', '.join(found)}"


def select(spec: str | None) -> list[Row]:
    if not spec:
        return ROWS
    chosen = []
    for part in spec.split(","):
        part = part.strip()
        found = [r for k, r in enumerate(ROWS, 1) if part in (str(k), r.key, r.fn.__name__)]
        if not found:
            keys = ", ".join(f"{k} {r.key}" for k, r in enumerate(ROWS, 1))
            raise SystemExit(f"bench_table: no row {part!r}; the rows are {keys}")
        chosen += [r for r in found if r not in chosen]
    return chosen


def warmup_loss(x):
    return np.sum(x * x)


BUDGET = {False: (2.5, 5, 300), True: (0.05, 2, 5)}  # --quick: (seconds per row, min N, max N)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, few repeats (for tests)")
    ap.add_argument("--source", action="store_true", help="print each emitted module")
    ap.add_argument("--rows", help="comma-separated row numbers or names (default: all)")
    ap.add_argument(
        "--backend",
        choices=["numpy", "numba"],
        default="numpy",
        help="symgrad's backend (numba: first ms includes compiling the loops)",
    )
    ap.add_argument("--no-jax", action="store_true", help="no jax.jit table, even with JAX")
    opts = ap.parse_args(argv)
    opts.jax = not (opts.quick or opts.no_jax)  # the jax.jit table (`beside_jax`)
    rows = select(opts.rows)

    # the process's one-time start-up, paid here so that each row's first call is comparable
    t0 = time.perf_counter()
    symgrad.grad(warmup_loss, backend=opts.backend)(np.ones(3))
    startup_ms = 1e3 * (time.perf_counter() - t0)

    rng = np.random.default_rng(0)
    results = []
    for row in rows:
        if row.self_check:
            row.self_check()
        for size in row.sizes[:1] if opts.quick else row.sizes:
            results.append(measure(row, size, opts, rng))

    budget, lo, hi = BUDGET[opts.quick]
    print(
        f"symgrad emitted ({opts.backend} backend) vs hand-written NumPy gradients, float64, "
        "forward pass included\n"
        f"times: best of N interleaved repeats, N in [{lo}, {hi}] to fill {budget} s per line"
        f"{' (--quick: small sizes only)' if opts.quick else ''}; "
        f"numpy {np.__version__}, python {sys.version.split()[0]}"
    )
    print(f"first gradient in this process (start-up, tiny function): {startup_ms:.1f} ms")
    report(results)
    print(per_call_overhead(opts.quick))
    report_jax(results)
    others = other_tools(opts)
    if others:
        print(others)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
