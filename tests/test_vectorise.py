"""Loop vectorisation (`symgrad.passes.vectorise`) and the correlations products of windows are
(`symgrad.passes.correlations`): a loop whose steps are independent becomes whole-array code,
one that is not stays a loop; every gradient against central differences, in reverse and
forward mode, on both backends."""

from __future__ import annotations

import importlib.util
import tracemalloc

import numpy as np
import pytest

import symgrad
from tests.fixtures.array_fns import elements as element_conv
from tests.fixtures.array_fns import taps as taps_conv

BACKENDS = ["numpy"] + (["numba"] if importlib.util.find_spec("numba") else [])
RNG = np.random.default_rng(11)


def some_windows(x, w):  # windows 1 .. n - 4 only: their rows of the view
    out = np.zeros(len(x))
    for i in range(1, len(x) - 3):
        out[i] = np.sum(x[i : i + 3] * w)
    return np.sum(np.sin(out))


def shifted_map(x, y):
    out = np.zeros(len(y) - 1)
    for i in range(len(y) - 1):
        out[i] = np.sin(x[i + 1]) * y[i]
    return np.sum(out * out)


def strided_map(x):
    out = np.ones(len(x))
    for i in range(0, len(x), 2):
        out[i] = np.exp(x[i]) * 3.0
    return np.sum(out * x)


def rows_summed(A, v):
    acc = 0.0
    for i in range(A.shape[0]):
        acc = acc + np.tanh(A[i] @ v)
    return acc


def rows_of_matrix(X, w):
    out = np.zeros(X.shape[0])
    for i in range(X.shape[0]):
        out[i] = np.sum(X[i] * w)
    return np.sum(np.cos(out))


def taped_steps(X, w):  # the backward steps read what the forward ones taped: batched too
    out = np.zeros(X.shape[0])
    for i in range(X.shape[0]):
        out[i] = np.sum(np.cos(X[i] * w))
    return np.sum(out**2)


def over_rows(X, W):  # a loop over an array's rows: the rows are the batch
    total = 0.0
    for row in X:
        total = total + np.sum(np.tanh(row @ W))
    return total


def row_writes(X, W):
    out = np.zeros((X.shape[0], W.shape[1]))
    for i, x in enumerate(X):
        out[i, :] = np.tanh(x @ W)
    return np.sum(out**2)


def zipped(x, y):  # stops at the shorter: np.minimum(len(x), len(y)) steps
    s = 0.0
    for a, b in zip(x, y):
        s = s + a * np.exp(b)
    return s


def recurrence(x):  # reads the entry the step before wrote: not independent
    out = np.zeros(len(x))
    for i in range(1, len(x)):
        out[i] = 0.5 * out[i - 1] + x[i]
    return np.sum(out**2)


def clipped_windows(x):  # the last windows are shorter (Python clips slices): not batched
    s = 0.0
    for i in range(len(x)):
        s = s + np.sum(np.sin(x[i : i + 3]))
    return s


def tails(x):  # x[i : 6], x[1 : i + 2]: a length that changes from step to step
    s = 0.0
    for i in range(4):
        s = s + np.sum(np.sin(x[i:6])) * np.sum(x[1 : i + 2])
    return s


def carried_state(x):  # the step reads what the last one computed
    h = 0.0
    for i in range(len(x)):
        h = np.tanh(h + x[i])
    return h


def large_taps(w, x):  # its batch, (taps x length), far larger than x: a correlation alone
    m = x.shape[0] - 2
    out = np.zeros(m)
    for j in range(3):
        out = out + w[j] * x[j : j + m]
    return np.sum(out * out)


def python_picks(x, y):  # Python's max, min, abs of entries: NumPy's on the batch, picking
    s = 0.0  # as Python does (was `max(x, y).sum(axis=0)`: a ValueError)
    for i in range(len(x)):
        s = s + max(x[i], y[i]) * x[i] + min(x[i], y[i], 0.5) * y[i] + abs(x[i]) * y[i]
    return s


def python_round(x, y):  # Python's round of each entry: no array's (was `round(x, ndigits=1)`)
    s = 0.0
    for i in range(len(x)):
        s = s + round(x[i], 1) * y[i]
    return s


x12, w3 = RNG.standard_normal(12), RNG.standard_normal(3)
BOTH = ("grad", "jvp")
CASES = {  # name: (function, arguments, argnums, where a loop is left, text in the source)
    "element_conv": (element_conv, (x12, w3), (0, 1), (), "_convolve("),
    "taps_conv": (taps_conv, (w3, x12), (0, 1), (), "_correlate(x, w)"),
    "some_windows": (some_windows, (x12, w3), (0, 1), (), "_window_sums("),
    "shifted_map": (shifted_map, (RNG.standard_normal(6), RNG.standard_normal(6)), (0, 1),
                    (), "[1:6]"),
    "strided_map": (strided_map, (RNG.standard_normal(7),), (0,), (), "[0:7:2]"),
    "rows_summed": (rows_summed, (RNG.standard_normal((5, 3)), RNG.standard_normal(3)),
                    (0, 1), (), "A @ v"),
    "rows_of_matrix": (rows_of_matrix, (RNG.standard_normal((4, 3)), RNG.standard_normal(3)),
                       (0, 1), (), "axis=1"),
    "over_rows": (over_rows, (RNG.standard_normal((5, 3)), RNG.standard_normal((3, 2))), (0, 1),
                  (), "X.T @ "),
    "row_writes": (row_writes, (RNG.standard_normal((5, 3)), RNG.standard_normal((3, 2))),
                   (0, 1), (), "X.T @ "),
    "zipped": (zipped, (RNG.standard_normal(6), RNG.standard_normal(4)), (0, 1), (), "[0:4]"),
    "taped_steps": (taped_steps, (RNG.standard_normal((4, 3)), RNG.standard_normal(3)),
                    (0, 1), (), "np.sin("),
    "recurrence": (recurrence, (RNG.standard_normal(6),), (0,), BOTH, None),
    "clipped_windows": (clipped_windows, (RNG.standard_normal(6),), (0,), BOTH, None),
    "tails": (tails, (RNG.standard_normal(7),), (0,), BOTH, None),
    "carried_state": (carried_state, (RNG.standard_normal(5),), (0,), BOTH, None),
    "python_picks": (python_picks, (RNG.standard_normal(5), RNG.standard_normal(5)), (0, 1),
                     ("jvp",), "np.where("),  # (its JVP's loop is kept, as of NumPy's picks)
    "python_round": (python_round, (RNG.standard_normal(5), RNG.standard_normal(5)), (1,),
                     BOTH, None),
    "large_taps": (large_taps, (w3, RNG.standard_normal(40_000)), (0,), (), "_correlate(x, w)"),
}  # fmt: skip


def _code(source: str) -> list[str]:
    return [line for line in source.splitlines() if not line.strip().startswith(("#", '"""'))]


_ON_NUMBA = ["element_conv", "taps_conv", "rows_of_matrix", "recurrence", "carried_state"]


@pytest.mark.parametrize(
    "case, backend",
    [(c, "numpy") for c in sorted(CASES)]
    + [(c, "numba") for c in _ON_NUMBA if "numba" in BACKENDS],
)
def test_independent_steps_become_whole_array_code(case, backend):  # (Numba: a few stand for
    # the rest, whose loops are NumPy's whole-array code, which the Numba module leaves be)
    f, args, argnums, looped, text = CASES[case]
    if case != "large_taps":  # (central differences of 40,000 entries: the source suffices)
        symgrad.check_grads(f, args, argnums, modes=("rev", "fwd"), backend=backend)
    for kind in ("grad", "jvp"):
        source = symgrad.emit_module(f, argnums=argnums, kind=kind, backend=backend, args=args)
        main = source.split(f"\ndef {kind}_{f.__name__}(")[1]  # (not Numba's fused kernels)
        loops = [line for line in _code(main) if line.lstrip().startswith("for ")]
        if backend == "numpy" or kind not in looped:  # (Numba's kept: compiled kernels)
            assert bool(loops) == (kind in looped), source
        if text is not None and kind == "grad" and backend == "numpy":  # (Numba's nests read
            assert text in source, source  # the arrays the slices slice)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_batch_larger_than_the_loops_arrays_is_made_nowhere(backend):
    """A loop over taps whose batch of products would hold taps x length entries becomes a
    correlation, which makes no batch: np.correlate on NumPy, a compiled loop nest on Numba
    (`symgrad.rules.runtime_compiled`). Neither makes an array larger than x."""
    w, x = RNG.standard_normal(5), RNG.standard_normal(60_000)
    g = symgrad.grad(large_taps, backend=backend)
    g(w, x)  # (compiled first: the call traced below allocates only what the module makes)
    tracemalloc.start()
    got = g(w, x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    m = x.shape[0] - 2
    out = sum(w[j] * x[j : j + m] for j in range(3))
    want = np.array([2 * np.dot(out, x[j : j + m]) for j in range(3)] + [0.0, 0.0])
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert peak < 4 * x.nbytes, peak
    assert "_correlate(x, w[0:3])" in g.source, g.source


def test_a_convolution_loop_reads_as_the_textbook_gradient():
    g = symgrad.grad(element_conv, argnums=(0, 1))
    g(x12, w3)  # (the module a call runs: emit_module's checks its arguments first)
    body = _code(g.source.split("def grad_elements")[1])[1:]
    assert [line.strip() for line in body] == [
        "t1 = 2 * _correlate(x, w)",
        "x_bar = _convolve(t1, w)",
        "w_bar = _correlate(x, t1)",
        "return (x_bar, w_bar)",
    ], g.source


def test_vectorised_values_equal_the_loops():
    """The batched code computes what the loop does, to rounding (float64 and float32)."""
    for dtype in (np.float64, np.float32):
        x, w = x12.astype(dtype), w3.astype(dtype)
        for f in (element_conv, some_windows, taps_conv):
            args = (w, x) if f is taps_conv else (x, w)
            got = symgrad.jit(f)(*args)
            assert np.asarray(got).dtype == np.asarray(f(*args)).dtype
            np.testing.assert_allclose(got, f(*args), rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_user_sliding_windows_are_differentiated():
    def f(x, w):
        win = np.lib.stride_tricks.sliding_window_view(x, 3)
        return np.sum(np.tanh(win @ w)) + np.sum(win[1:4] ** 2)

    symgrad.check_grads(f, (x12, w3), (0, 1), modes=("rev", "fwd"))
