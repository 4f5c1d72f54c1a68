"""Logistic regression by gradient descent over a data set larger than the cluster's memory, with
the gradient symgrad emits for a plain NumPy loss, run on Dask arrays.

`loss` below is NumPy code, and `symgrad.value_and_grad(loss)` is the one gradient function used
for NumPy arrays and for Dask arrays alike: the script first runs it on a NumPy sample and on the
same sample as a Dask array, and checks that they agree. The data set (n rows of d float64
features, labels drawn from a hidden weight vector) is generated lazily, chunk by chunk, on the
workers of a `distributed.LocalCluster` (worker processes with a small memory limit each): no
chunk is ever stored, and each gradient step makes every chunk once, reads it for the loss and
the gradient, and drops it. The parameters stay NumPy arrays on this side; each step's loss and
gradients are lazy Dask arrays, computed together by one `dask.compute` (one pass over the data).
The script prints a line per step, the loss curve and the peak memory of each worker process.

pip install -e ".[dask]" && python examples/dask_logistic_regression.py [--big | --fast]

Default: 6 million rows x 50 features (2.3 GiB), 2 workers of 1 thread and 400 MiB each, 6 steps
(about a minute on 2 cores, 7.6 s a step); --big: 100 million rows (38 GiB); --fast: 200,000
rows, 3 steps.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import dask
import dask.array as da
import numpy as np
from distributed import Client, LocalCluster

import symgrad


def loss(w, b, X, y):
    """Mean logistic loss of the linear model X @ w + b for labels y in {0, 1}, plus a little
    L2 penalty on w: log(1 + e^z) - y z, computed stably."""
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, z) - y * z) + 0.5e-4 * np.sum(w**2)


value_and_grad = symgrad.value_and_grad(loss, argnums=(0, 1))


def dataset(n: int, d: int, chunk: int, seed: int = 0):
    """X (n x d standard normal features) and y (labels, P(y = 1) = sigmoid(X @ w_true)), lazy:
    each chunk of rows is made where a task needs it. The hidden weights are returned too."""
    w_true = 3 * np.random.default_rng(seed).standard_normal(d) / np.sqrt(d)
    rng = da.random.default_rng(seed)
    X = rng.standard_normal((n, d), chunks=(chunk, d))
    noise = rng.logistic(size=n, chunks=chunk)  # sigmoid(z) = P(z + logistic noise > 0)
    y = (X @ w_true + noise > 0).astype(np.float64)
    return X, y, w_true


def same_on_numpy_and_dask(d: int) -> float:
    """The largest difference between the gradient function's results on a NumPy sample and on
    the same sample as a chunked Dask array (computed on the cluster)."""
    X, y, _ = dataset(4000, d, 1000, seed=1)
    Xn, yn = dask.compute(X, y)
    w, b = np.full(d, 0.1), 0.2
    on_numpy = value_and_grad(w, b, Xn, yn)
    on_dask = dask.compute(value_and_grad(w, b, X, y))[0]
    pairs = zip([on_numpy[0], *on_numpy[1]], [on_dask[0], *on_dask[1]])
    return max(float(np.max(np.abs(np.asarray(a) - np.asarray(c)))) for a, c in pairs)


def peak_memory() -> int:
    """This process's peak resident memory in bytes: Linux's VmHWM (getrusage's maximum would
    count the process that started the worker too, which it inherits), else getrusage's."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # (bytes there, else KiB)


def curve(values: list[float], width: int = 40) -> list[str]:
    """The loss per step as a bar each, longest for the largest loss."""
    top = max(values)
    return [f"{k:>4} {v:.4f} {'#' * round(width * v / top)}" for k, v in enumerate(values, 1)]


def main(rows: int, steps: int, memory: str = "400MiB", d: int = 50, lr: float = 4.0) -> dict:
    chunk = min(50_000, rows // 4)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, memory_limit=memory
        ) as cluster,
        Client(cluster) as client,
    ):
        gap = same_on_numpy_and_dask(d)
        print(f"same gradient function on NumPy and on Dask arrays: largest difference {gap:.1e}")
        X, y, w_true = dataset(rows, d, chunk)
        size = X.nbytes + y.nbytes
        print(
            f"data: {rows:,} rows x {d} features ({size / 2**30:.1f} GiB, {X.numblocks[0]} "
            f"chunks of {chunk:,} rows), made lazily; 2 workers with {memory} each"
        )
        w, b = np.zeros(d), 0.0
        losses, times = [], []
        for step in range(1, steps + 1):
            start = time.perf_counter()
            value, (w_bar, b_bar) = value_and_grad(w, b, X, y)  # lazy Dask arrays
            value, w_bar, b_bar = dask.compute(value, w_bar, b_bar)  # one pass over the data
            w, b = w - lr * w_bar, float(b - lr * b_bar)
            times.append(time.perf_counter() - start)
            losses.append(float(value))
            print(f"step {step}/{steps}: loss {losses[-1]:.4f} ({times[-1]:.1f} s)", flush=True)
        peaks = client.run(peak_memory)
    print("loss curve:")
    print("\n".join(curve(losses)))
    cosine = w @ w_true / (np.linalg.norm(w) * np.linalg.norm(w_true))
    print(f"cosine between the weights learnt and the hidden ones: {cosine:.3f}")
    for worker, peak in sorted(peaks.items()):
        print(f"peak memory of worker {worker}: {peak / 2**20:.0f} MiB (limit {memory})")
    print(f"time per gradient step: {np.mean(times[1:] or times):.1f} s")
    return {"losses": losses, "peaks": peaks, "bytes": size, "gap": gap, "cosine": cosine}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--big", action="store_true", help="100 million rows (38 GiB)")
    size.add_argument("--fast", action="store_true", help="200,000 rows, 3 steps (a test)")
    parser.add_argument("--steps", type=int, help="gradient steps (default 6, 3 with --fast)")
    args = parser.parse_args()
    rows = 100_000_000 if args.big else 200_000 if args.fast else 6_000_000
    main(rows, args.steps or (3 if args.fast else 6))
