"""symgrad's emitted gradients on CuPy arrays (GPU) against the same hand-written gradients on
CuPy arrays, float32, large sizes.

Contract. For the rows of bench_table.py named below, at their large size, the inputs are made
as there (float64, on the host), cast to float32 and moved to the GPU (Python floats stay
floats). symgrad's gradient (`symgrad.grad(f, argnums)`, the NumPy module run on CuPy arrays by
NumPy's dispatch: `symgrad.foreign`) and the hand-written NumPy gradient of bench_table.py, run
on the same CuPy arrays (its NumPy calls dispatch to CuPy too), must agree (rtol 1e-3 in
float32) before anything is timed. Each is then timed as the best of N calls, each call
followed by a device synchronisation, interleaved; the ratio is emitted / hand. Exit status 1
on a disagreement or a crash. Needs CuPy and a GPU:

    python benchmarks/bench_cupy.py
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_table  # noqa: E402

import symgrad  # noqa: E402

ROWS = ("mlp", "layernorm", "chain", "rosenbrock", "conv-slices")
REPEATS = 50


def on_gpu(cp, args):
    return tuple(cp.asarray(a.astype(np.float32)) if isinstance(a, np.ndarray) else a for a in args)


def best(cp, fns, args) -> list[float]:
    """Best wall time (s) of each fn(*args), a synchronisation after each call, interleaved."""
    times = [float("inf")] * len(fns)
    for _ in range(REPEATS):
        for k, f in enumerate(fns):
            cp.cuda.Device().synchronize()
            t0 = time.perf_counter()
            f(*args)
            cp.cuda.Device().synchronize()
            times[k] = min(times[k], time.perf_counter() - t0)
    return times


def as_tuple(v):
    return v if isinstance(v, tuple) else (v,)


def main() -> int:
    import cupy as cp

    print(f"GPU: {cp.cuda.runtime.getDeviceProperties(0)['name'].decode()}, cupy {cp.__version__}")
    print(f"{'problem':34s} {'size':16s} {'emitted ms':>11s} {'hand ms':>9s} {'ratio':>7s}")
    status = 0
    ratios = []
    for row in (r for r in bench_table.ROWS if r.key in ROWS):
        size = [s for s in row.sizes if s.cls == "large"][0]
        args = on_gpu(cp, size.make(np.random.default_rng(0)))
        try:
            g = symgrad.grad(row.fn, argnums=row.argnums)
            got, want = as_tuple(g(*args)), as_tuple(row.by_hand(*args))
            for a, b in zip(got, want):
                np.testing.assert_allclose(cp.asnumpy(a), cp.asnumpy(b), rtol=1e-3, atol=1e-4)
            emitted, hand = best(cp, [g, row.by_hand], args)
        except Exception as e:  # a finding: reported, and the exit status says so
            print(f"{row.title:34s} {size.dims:16s} {type(e).__name__}: {str(e)[:200]}")
            status = 1
            continue
        ratios.append(emitted / hand)
        print(
            f"{row.title:34s} {size.dims:16s} {1e3 * emitted:11.3f} {1e3 * hand:9.3f} "
            f"{emitted / hand:6.2f}x"
        )
    if ratios:
        print(f"geometric mean of {len(ratios)} ratios: {np.exp(np.mean(np.log(ratios))):.2f}x")
    return status


if __name__ == "__main__":
    sys.exit(main())
