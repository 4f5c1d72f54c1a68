"""Time symgrad's emitted gradients against hand-written NumPy gradients, measured in the same run.

    python benchmarks/bench_grad.py            # full run
    python benchmarks/bench_grad.py --quick    # a few seconds (used by tests)
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


CASES = [  # name, function, hand-written gradient, argnums, inputs
    ("mlp 1024x256->512->1 (BCE)", mlp_loss, mlp_grad_by_hand, (0, 1, 2, 3), mlp_inputs),
    ("elementwise chain, 1e6 f64", chain_loss, chain_grad_by_hand, 0, chain_inputs),
]


# --- Timing ----------------------------------------------------------------------------------


def interleaved_best(fns, args, repeats, warmup):
    """Best (min) wall time in seconds of each fn(*args), runs interleaved round by round."""
    for _ in range(warmup):
        for f in fns:
            f(*args)
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, f in enumerate(fns):
            t0 = time.perf_counter()
            f(*args)
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few repeats, for tests")
    ap.add_argument("--source", action="store_true", help="print the emitted gradient modules")
    opts = ap.parse_args(argv)
    repeats, warmup = (5, 1) if opts.quick else (30, 3)

    rng = np.random.default_rng(0)
    rows = []
    for name, fn, by_hand, argnums, make_inputs in CASES:
        args = make_inputs(rng)
        g = symgrad.grad(fn, argnums=argnums)
        t0 = time.perf_counter()
        source = g.source  # first access compiles
        compile_ms = 1e3 * (time.perf_counter() - t0)
        if opts.source:
            print(f"# ---- emitted gradient for {name} ----\n{source}")
        check_agree(name, g(*args), by_hand(*args))
        t_emit, t_hand = interleaved_best([g, by_hand], args, repeats, warmup)
        rows.append((name, compile_ms, t_emit, t_hand))

    print(
        f"symgrad emitted vs hand-written NumPy gradient  (best of {repeats}, "
        f"{warmup} warm-up; numpy {np.__version__})"
    )
    head = (
        f"{'case':<30} {'compile ms':>10} {'emitted ms':>11} {'by hand ms':>11} "
        f"{'ratio':>6}  target"
    )
    print(head + "\n" + "-" * len(head))
    for name, compile_ms, t_emit, t_hand in rows:
        ratio = t_emit / t_hand
        verdict = "ok" if ratio <= TARGET else "MISS"
        print(
            f"{name:<30} {compile_ms:>10.1f} {1e3 * t_emit:>11.3f} {1e3 * t_hand:>11.3f} "
            f"{ratio:>6.2f}  <= {TARGET} {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
