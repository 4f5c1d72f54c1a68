"""Time symgrad's emitted derivatives against hand-written NumPy ones, measured in the same run.

Gradients (reverse mode; target: at most 1.3x the hand-written time), a Hessian (forward over
reverse, all columns in one batched call), a Jacobian (reverse mode, all rows in one batched
call), and a loop filling an array element by element (a 1-D convolution), whose emitted gradient
is a loop too: it is timed against vectorised NumPy and against the same two loops written by
hand, and its peak memory (tracemalloc, tape included) is reported. A hand-written Jacobian uses
the function's structure (a diagonal times A) where a seeded one multiplies by identity matrices,
so those two rows also time the same Jacobian with one JVP or VJP call per seed, the baseline the
batching replaces.

    python benchmarks/bench_grad.py            # full run
    python benchmarks/bench_grad.py --quick    # fewer repeats, a few seconds
    python benchmarks/bench_grad.py --source   # also print the emitted gradient modules

Each case first checks that the two gradients agree (np.allclose), then times both with
time.perf_counter: warm-up, then interleaved repeats (emitted, hand-written, emitted, ...), and
reports the best (min) of each. Both sides compute the full gradient, forward pass included.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import symgrad  # noqa: E402

TARGET = 1.3  # emitted / hand-written


# --- Case 1: 2-layer MLP with binary cross-entropy --------------------------------------------


def mlp_loss(W1, b1, W2, b2, X, y):
    h = np.maximum(X @ W1 + b1, 0.0)
    logits = h @ W2 + b2
    p = 1.0 / (1.0 + np.exp(-logits))
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def mlp_grad_by_hand(W1, b1, W2, b2, X, y):
    a = X @ W1 + b1
    h = np.maximum(a, 0.0)
    logits = h @ W2 + b2
    p = 1.0 / (1.0 + np.exp(-logits))
    dlogits = (p - y) / y.size  # d mean(BCE) / d logits, sigmoid folded in
    dW2 = h.T @ dlogits
    db2 = dlogits.sum(axis=0)
    da = (dlogits @ W2.T) * (a > 0)
    dW1 = X.T @ da
    db1 = da.sum(axis=0)
    return dW1, db1, dW2, db2


def mlp_inputs(rng, n=1024, d_in=256, d_hidden=512):
    W1 = rng.standard_normal((d_in, d_hidden)) / np.sqrt(d_in)
    b1 = 0.1 * rng.standard_normal(d_hidden)
    W2 = rng.standard_normal((d_hidden, 1)) / np.sqrt(d_hidden)
    b2 = 0.1 * rng.standard_normal(1)
    X = rng.standard_normal((n, d_in))
    y = (rng.random((n, 1)) < 0.5).astype(np.float64)
    return W1, b1, W2, b2, X, y


# --- Case 2: elementwise chain on 10**6 elements ----------------------------------------------


def chain_loss(x):
    return np.sum(np.sin(x) * np.exp(-0.5 * x) + np.tanh(x) ** 2)


def chain_grad_by_hand(x):
    s = np.sin(x)
    e = np.exp(-0.5 * x)
    t = np.tanh(x)
    # d/dx [sin(x) e^{-x/2}] = (cos(x) - sin(x)/2) e^{-x/2};  d/dx tanh^2 = 2 t (1 - t^2)
    return (np.cos(x) - 0.5 * s) * e + 2.0 * t * (1.0 - t * t)


def chain_inputs(rng, n=10**6):
    return (rng.uniform(-3.0, 3.0, n),)


# --- Case 3: Hessian of L2-regularised logistic regression (jacfwd of grad, batched) -------------


def logreg_loss(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * 1e-2 * np.sum(w**2)


def logreg_hessian_by_hand(w, X, y):
    p = 1.0 / (1.0 + np.exp(-(X @ w)))
    return (X.T * (p * (1.0 - p))) @ X / X.shape[0] + 1e-2 * np.eye(w.size)


def logreg_inputs(rng, n=2000, d=64):
    X = rng.standard_normal((n, d))
    y = (rng.random(n) < 0.5).astype(np.float64)
    return 0.1 * rng.standard_normal(d), X, y


# --- Case 4: Jacobian of a layer, many outputs (jacrev, batched) -------------------------------


def layer(x, A):
    return np.tanh(A @ x)


def layer_jacobian_by_hand(x, A):
    return (1.0 - np.tanh(A @ x) ** 2)[:, None] * A


def layer_inputs(rng, m=512, n=256):
    return rng.standard_normal(n), rng.standard_normal((m, n)) / np.sqrt(n)


# --- Case 5: a 1-D convolution filled element by element (a loop; so is its gradient) --------


def conv_loss(x, w):
    k = len(w)
    out = np.zeros(len(x) - k + 1)
    for i in range(len(x) - k + 1):
        out[i] = np.sum(x[i : i + k] * w)
    return np.sum(out**2)


def conv_grad_by_hand(x, w):
    out = np.correlate(x, w, mode="valid")  # out[i] = sum_j x[i + j] w[j]
    g = 2.0 * out
    return np.convolve(g, w), np.correlate(x, g, mode="valid")


def conv_grad_loop_by_hand(x, w):
    """The same gradient as a person writes it with loops: the emitted code's algorithm."""
    k, n = len(w), len(x) - len(w) + 1
    out = np.zeros(n)
    for i in range(n):
        out[i] = np.sum(x[i : i + k] * w)
    g = 2.0 * out
    x_bar, w_bar = np.zeros_like(x), np.zeros_like(w)
    for i in reversed(range(n)):
        x_bar[i : i + k] += g[i] * w
        w_bar += g[i] * x[i : i + k]
    return x_bar, w_bar


def conv_inputs(rng, n=2000, k=5):
    return rng.standard_normal(n + k - 1), rng.standard_normal(k)


LOOP_BY_HAND = {conv_loss: conv_grad_loop_by_hand}  # loops: also against the same loop by hand


CASES = [  # name, transformation, function, hand-written derivative, argnums, inputs
    (
        "mlp 1024x256->512->1 (BCE)",
        symgrad.grad,
        mlp_loss,
        mlp_grad_by_hand,
        (0, 1, 2, 3),
        mlp_inputs,
    ),
    ("elementwise chain, 1e6 f64", symgrad.grad, chain_loss, chain_grad_by_hand, 0, chain_inputs),
    (
        "hessian, logreg 2000x64",
        symgrad.hessian,
        logreg_loss,
        logreg_hessian_by_hand,
        0,
        logreg_inputs,
    ),
    ("jacrev, tanh(A @ x) 512x256", symgrad.jacrev, layer, layer_jacobian_by_hand, 0, layer_inputs),
    ("conv1d loop, n=2000, k=5", symgrad.grad, conv_loss, conv_grad_by_hand, (0, 1), conv_inputs),
]


# --- Timing ----------------------------------------------------------------------------------


def interleaved_best(fns, args, repeats, warmup):
    """Best (min) wall time in seconds of each fn(*args), runs interleaved round by round, each
    round starting one function further (none always runs right after the same other: a slow
    Python loop leaves the caches cold for whatever follows it)."""
    for _ in range(warmup):
        for f in fns:
            f(*args)
    best = [float("inf")] * len(fns)
    for r in range(repeats):
        for k in range(len(fns)):
            i = (r + k) % len(fns)
            t0 = time.perf_counter()
            fns[i](*args)
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def check_agree(name, emitted, by_hand):
    emitted = emitted if isinstance(emitted, tuple) else (emitted,)
    by_hand = by_hand if isinstance(by_hand, tuple) else (by_hand,)
    assert len(emitted) == len(by_hand), f"{name}: {len(emitted)} vs {len(by_hand)} gradients"
    for k, (a, b) in enumerate(zip(emitted, by_hand)):
        assert a.shape == b.shape, f"{name}: gradient {k} shape {a.shape} vs {b.shape}"
        assert np.allclose(a, b, rtol=1e-7, atol=1e-10), (
            f"{name}: gradient {k} differs, max abs err {np.max(np.abs(a - b)):.3g}"
        )


def peak_mib(f, args) -> float:
    """Peak memory traced (tracemalloc, MiB) while f(*args) runs: a loop's tape, and copies."""
    tracemalloc.start()
    f(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def one_seed_per_call(transform, fn, args):
    """The Jacobian the unbatched way, one JVP or VJP call per unit seed (what the drivers fall
    back to where a primitive cannot batch): the baseline that batching is measured against."""
    if transform is symgrad.jacrev:
        out, vjp_fn = symgrad.vjp(fn, *args)
        seeds = np.eye(np.size(out)).reshape((-1,) + np.shape(out))
        return lambda *a: np.stack([vjp_fn(e)[0] for e in seeds])
    g = symgrad.grad(fn)
    seeds = np.eye(np.size(args[0])).reshape((-1,) + np.shape(args[0]))
    rest = (None,) * (len(args) - 1)
    return lambda *a: np.stack([symgrad.jvp(g, a, (e, *rest))[1] for e in seeds], axis=-1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few repeats, for tests")
    ap.add_argument("--source", action="store_true", help="print the emitted modules")
    opts = ap.parse_args(argv)
    repeats, warmup = (5, 1) if opts.quick else (30, 3)

    rng = np.random.default_rng(0)
    rows, memory = [], []
    for name, transform, fn, by_hand, argnums, make_inputs in CASES:
        args = make_inputs(rng)
        g = transform(fn, argnums=argnums)
        t0 = time.perf_counter()
        source = g.source  # first access compiles
        compile_ms = 1e3 * (time.perf_counter() - t0)
        if opts.source:
            print(f"# ---- emitted module for {name} ----\n{source}")
        check_agree(name, g(*args), by_hand(*args))
        fns = [g, by_hand]
        if transform is not symgrad.grad:
            fns.append(one_seed_per_call(transform, fn, args))
            check_agree(name, g(*args), fns[-1](*args))
        if fn in LOOP_BY_HAND:
            fns.append(LOOP_BY_HAND[fn])
            check_agree(name, g(*args), fns[-1](*args))
            memory.append((name, peak_mib(g, args), peak_mib(fns[-1], args)))
        rows.append((name, compile_ms, *interleaved_best(fns, args, repeats, warmup)))

    print(
        f"symgrad emitted vs hand-written NumPy derivatives  (best of {repeats}, "
        f"{warmup} warm-up; numpy {np.__version__})"
    )
    head = (
        f"{'case':<30} {'compile ms':>10} {'emitted ms':>11} {'by hand ms':>11} "
        f"{'ratio':>6}  target / one seed per call"
    )
    print(head + "\n" + "-" * len(head))
    for name, compile_ms, t_emit, t_hand, *t_loop in rows:
        ratio = t_emit / t_hand
        if t_loop and "loop" in name:  # a Python loop against vectorised NumPy, and against itself
            note = f"same loop by hand {1e3 * t_loop[0]:.3f} ms: {t_emit / t_loop[0]:.2f}x"
        elif t_loop:  # a Jacobian: dense seeds cost more than a formula that knows the structure
            note = f"{1e3 * t_loop[0]:.3f} ms, batched {t_loop[0] / t_emit:.0f}x faster"
        else:
            note = f"<= {TARGET} {'ok' if ratio <= TARGET else 'MISS'}"
        print(
            f"{name:<30} {compile_ms:>10.1f} {1e3 * t_emit:>11.3f} {1e3 * t_hand:>11.3f} "
            f"{ratio:>6.2f}  {note}"
        )
    for name, emitted, loop in memory:
        print(f"{name}: peak traced memory {emitted:.2f} MiB emitted, {loop:.2f} MiB loop by hand")
    return 0


if __name__ == "__main__":
    sys.exit(main())
