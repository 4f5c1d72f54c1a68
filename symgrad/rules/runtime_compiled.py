"""Runtime helpers of the Numba backend: the modules it emits carry these in place of the NumPy
helpers of the same names (`Rule.compiled_helper`), so their calls read alike.

Contract: each function here is self-contained (it uses only `np` and the others here) and is
emitted verbatim; those named in `NJIT` are emitted under `numba.njit` (this module never
imports Numba: it is read as source). The loops fill 512 outputs at a time: they and the window
of the input they read stay in the cache. A helper gives np.correlate's or np.convolve's result
up to the order of additions, and calls them where its loops would not be faster.
"""

import numpy as np

NJIT = ("_correlate_loops", "_convolve_loops")  # the functions emitted under numba.njit


def _correlate(a, v):
    """out[i] = Σ_j a[i + j] v[j] for vectors a and v, len(a) >= len(v): np.correlate's
    'valid' mode (one entry per place v fits in a); compiled loops where there are 1024
    outputs or more and both are floats of one dtype, else np.correlate (as fast below, and
    its dot product per output faster for fewer outputs than v's entries)."""
    if len(v) > len(a):  # (np.correlate would swap them)
        raise ValueError("symgrad: np.correlate(a, v) of a v longer than a is not supported")
    if len(a) - len(v) >= 1023 and len(v) and a.dtype == v.dtype and a.dtype.kind == "f":
        return _correlate_loops(a, v)
    return np.correlate(a, v, mode="valid")


def _convolve(a, v):
    """out[p] = Σ_{i + j = p} a[i] v[j] for vectors a and v: np.convolve's 'full' mode;
    compiled loops where both are non-empty floats of one dtype, else np.convolve."""
    if len(a) and len(v) and a.dtype == v.dtype and a.dtype.kind == "f":
        return _convolve_loops(a, v) if len(v) <= len(a) else _convolve_loops(v, a)
    return np.convolve(a, v)


def _correlate_loops(a, v):
    """np.correlate(a, v, "valid") as loops: for each block of outputs, v[j] times the window
    of a at j added in, for every j in turn; the innermost loop runs along a (vectorised) and
    each output sums its products in the order of j."""
    m = len(a) - len(v) + 1
    out = np.zeros(m, a.dtype)
    for start in range(0, m, 512):
        block = out[start : start + 512]
        for j in range(len(v)):
            window, vj = a[start + j : start + j + len(block)], v[j]
            for i in range(len(block)):
                block[i] += window[i] * vj
    return out


def _convolve_loops(a, v):
    """np.convolve(a, v) as loops, len(v) <= len(a): for each block of outputs, v[j] times the
    part of a that reaches it added in (out[p] += a[p - j] v[j]), for every j in turn."""
    n, k = len(a), len(v)
    out = np.zeros(n + k - 1, a.dtype)
    for start in range(0, n + k - 1, 512):
        stop = min(start + 512, n + k - 1)
        for j in range(max(0, start - n + 1), min(k, stop)):
            lo, hi = max(start, j), min(stop, n + j)
            part, window, vj = out[lo:hi], a[lo - j : hi - j], v[j]
            for i in range(len(part)):
                part[i] += window[i] * vj
    return out
