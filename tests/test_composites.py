"""NumPy functions lowered as the primitives they are (`symgrad.frontend.composites`, its
`composites_arrays` and `composites_stats`): values NumPy's to the last bit, gradients and
tangents against central differences, both backends."""

import warnings

import numpy as np
import pytest

import symgrad
from tests.conftest import on_backends


def flips(A):
    W = np.arange(12.0)
    return np.sum(np.flipud(A) * W.reshape(3, 4)) + np.sum(np.fliplr(A) ** 2 * W.reshape(3, 4))


def rotations(A):
    W = np.arange(12.0)
    quarter, half = np.rot90(A), np.rot90(A, 2)
    return (
        np.sum(quarter * W.reshape(4, 3))
        + np.sum(half * W.reshape(3, 4))
        + np.sum(np.rot90(A, 3) ** 2 * W.reshape(4, 3))
        + np.sum(np.rot90(A, 0) * W.reshape(3, 4))
        + np.sum(np.rot90(A, 1, axes=(1, 0))[0] * W[:3])
    )


def appended(a, b):
    W = np.arange(12.0)
    joined = np.append(a[None], b[None, :3], axis=0)
    return np.sum(np.append(a, b) ** 2 * W[:7]) + np.sum(joined**3)


def differences(A):
    edged = np.diff(A, axis=0, prepend=1.0) ** 2 + np.diff(A[0], n=0)
    ends = np.diff(A[0], prepend=A[0, 0], append=A[1, :1] * 2.0)
    joined = np.ediff1d(A, to_begin=A[0, :2] * 2.0, to_end=3.0)
    return np.sum(np.ediff1d(A) ** 2) + np.sum(edged) + np.sum(ends**3) + np.sum(joined**2)


def columns_and_parts(x, A):
    X = np.column_stack([x, x**2, A[:, :2]])
    D = np.dstack((A, A[:, ::-1] * 2.0))
    a, b = np.array_split(A, 2, axis=1)  # (of 4 columns: 2 and 2; of x's 3 entries: 2 and 1)
    p, q = np.array_split(x, 2)
    L, R = np.hsplit(A, [1])
    T, B = np.vsplit(A, 3)[0], np.dsplit(D, 2)[1]
    return (
        np.sum(np.tanh(X) * np.arange(4.0))
        + np.sum(a * b**2)
        + np.sum(p**3) * np.sum(q)
        + np.sum(L * R[:, :1] ** 2)
        + np.sum(T**2)
        + np.sum(B**3)
    )


def products(A, B, v):
    return np.sum(np.linalg.multi_dot([v, A, B, B.T]) ** 2)


def powers(A):
    p5, p1 = np.linalg.matrix_power(A, 5), np.linalg.matrix_power(A, 1)
    return np.sum(p5) + np.sum(np.linalg.matrix_power(A, -2)) + np.sum(p1 * 2.0)


def ranges(A):
    return np.sum(np.ptp(A, axis=0) ** 2) + np.ptp(A)


def without_nans(A):
    B = np.where(A > 0.5, np.nan, A)
    return np.nansum(B * 2.0) + np.sum(np.nanmean(B, axis=1))


def medians(A):
    return np.median(A) + np.sum(np.median(A, axis=0) ** 2) + np.sum(np.median(A, axis=-1))


def covariances(A):
    return np.sum(np.cov(A) ** 2) + np.sum(np.cov(A, bias=True)) + np.cov(A[0], ddof=0)


def quantiles(A):  # (np.quantile and np.percentile were "cannot compile a call to ...")
    return (
        np.quantile(A, 0.3) * 2.0
        + np.sum(np.quantile(A, [0.1, 0.5, 1.0], axis=1) ** 2)
        + np.sum(np.percentile(A, 90, axis=0))
        + np.percentile(A[0], 0)
    )


def traced(A):  # an einsum's repeated index, a diagonal (was refused: "a repeated index")
    S = np.stack([A, A.T @ A])
    return (
        np.einsum("ii->", A)
        + np.sum(np.einsum("ii->i", A) ** 2)
        + np.sum(np.einsum("bii->b", S) ** 2)
        + np.sum(np.einsum("iij->ij", np.stack([A, A, A])))
    )


def binned(A):  # (np.bincount was "cannot compile a call to numpy.bincount")
    idx = np.array([0, 2, 2, 1, 4, 0])
    sums = np.bincount(idx, weights=np.ravel(A)[:6] ** 2, minlength=5)
    return np.sum(sums * np.arange(5.0)) + np.sum(np.sqrt(sums[:3] + 1.0) * np.bincount(idx)[:3])


def cleaned_and_spectra(A):  # (np.nan_to_num and np.linalg.eigvalsh were refused)
    S = A @ A.T
    return np.sum(np.nan_to_num(np.log(S), nan=-1.0) ** 2) + np.sum(np.linalg.eigvalsh(S) ** 2)


def areas(y, x):
    return (
        np.sum(np.trapezoid(y) ** 2)
        + np.sum(np.trapezoid(y, dx=0.5, axis=0))
        + np.sum(np.trapezoid(y, x))
    )


def reduced_with_options(A):  # (dtype=, where= and initial= were refused: bad arguments)
    m = A > -0.5
    return (
        np.sum(A, where=m)
        + np.mean(A * A, axis=1, where=m).sum()
        + A.sum(axis=0, dtype=np.float64).sum()
        + np.prod(A[0], initial=2.0)
        + np.sum(A, initial=1.5)
        + np.var(A, dtype=float)
        + np.prod(A, axis=0, where=m).sum()
        + np.nansum(A, where=m)
        + np.sum(m, initial=0.5) * np.sum(A)  # (0.5 cast to the count's ints: 0, as NumPy's)
        + np.max(A, initial=0.5)  # (of a maximum, the larger: was refused)
        + np.sum(np.min(A, axis=0, initial=-0.2))
        + np.max(A, where=m, initial=-1.0)
    )


def array_api_names(x, A):  # NumPy 2's names (each was "cannot compile a call to ...")
    B = np.linalg.matrix_transpose(A) @ np.linalg.matmul(A, np.permute_dims(A, (1, 0))) @ A.mT
    return (
        np.sum(np.linalg.diagonal(A, offset=1) ** 2)
        + np.linalg.trace(B) * x[0]
        + np.sum(np.vecdot(A, x) ** 2)
        + np.linalg.vecdot(x, x)
        + np.sum(np.matvec(A, x) ** 2)
        + np.sum(np.vecmat(x, A) * x)
        + np.sum(np.cumulative_sum(x) ** 2)
        + np.sum(np.cumulative_prod(A, axis=1, include_initial=True))
        + np.sum(np.cumulative_sum(A, axis=-1, include_initial=True) ** 2)
        + np.linalg.vector_norm(A)
        + np.sum(np.linalg.vector_norm(A, axis=1, ord=3))
        + np.linalg.vector_norm(A, ord=2.5)  # (of the whole array: was refused)
        + np.linalg.matrix_norm(A)
        + np.sum(np.astype(x, np.float64) * np.linalg.cross(x, A[0], axis=-1))
        + np.sum(np.linalg.tensordot(A, B, axes=2))
    )


def robustly_scaled(x, q=0.25):
    lo, hi = np.percentile(x, [5, 95])  # (a list: NumPy's quantiles float64, of float32 too)
    return np.sum(x / (hi - lo)) + np.quantile(x, q)  # (q a number: x's dtype)


def test_quantiles_have_numpys_dtype_and_take_q_from_an_argument():
    # a list q of float32 entries gave float32 quantiles where NumPy's are float64; q from an
    # argument was refused ("q must be a number ... known when compiling")
    x = (np.linspace(-1, 2, 11) ** 3).astype(np.float32)
    for q in (0.25, 0.7):
        got = symgrad.jit(robustly_scaled)(x, q)
        assert got == robustly_scaled(x, q) and got.dtype == np.float64
    symgrad.check_grads(robustly_scaled, (x.astype(float), 0.7), 0)


def started_from_a_float64(x):
    return np.sum(x, initial=np.float64(0.05)) + np.prod(x, axis=0, initial=np.float64(2.0))


def test_initial_is_cast_to_the_results_dtype():
    """NumPy starts a reduction from initial cast to the result's dtype: of float32 entries a
    float32 (symgrad's was float64), of bools an int (0.5 was kept: a count of 0.5 too many)."""
    x = RNG.standard_normal((3, 2)).astype(np.float32)
    for backend in ("numpy", "numba"):
        got = symgrad.jit(started_from_a_float64, backend=backend)(x)
        assert got.dtype == started_from_a_float64(x).dtype == np.float32


def extremes_from(x):
    return (
        np.max(x, initial=0.5)
        + np.sum(np.min(x, axis=0, initial=0.25) ** 2)
        + np.sum(np.max(x, axis=(0, 1), initial=-1.0, keepdims=True))
        + np.sum(np.max(x, axis=-1, initial=0.0, where=x < 0.9))
    )


def test_an_extreme_with_initial_is_initial_where_it_reduces_nothing(backend="numpy"):
    """(np.max(x, initial=v) was np.maximum(np.max(x), v), whose np.max of an empty x
    raised NumPy's "zero-size array" ValueError.)"""
    for shape in [(0, 0), (0, 4), (3, 0), (3, 4)]:
        x = RNG.random(shape)
        value, grad = symgrad.value_and_grad(extremes_from, backend=backend)(x)
        assert value == pytest.approx(extremes_from(x)) and grad.shape == shape
    symgrad.check_grads(extremes_from, (RNG.random((3, 4)),), modes=("rev", "fwd"), backend=backend)


def interpolated(x, xp, fp):
    # (np.interp was refused: "cannot compile a call to numpy.interp")
    inside = np.interp(x, xp, fp)
    clamped = np.interp(x, xp, fp, left=-1.0, right=fp[1])
    return np.sum(inside**2 * x) + np.sum(clamped * fp[2]) + np.interp(0.7, xp, fp)


def interpolated_at_repeated_knots(x, fp):
    # (a segment of no width gave NaN gradients through the values np.where did not take)
    return np.sum(np.interp(x, np.array([0.0, 0.0, 1.0]), fp)) + np.interp(x[1], [1.0], fp[:1])


def interpolated_number(t):
    return np.interp(t, np.array([0.0, 1.0, 2.0]), np.array([0.0, 10.0, 5.0]))


def selected(x):  # (np.select was "cannot compile a call to numpy.select")
    y = np.select([x < -0.5, x > 0.5], [-(x**2), np.sin(x)], default=x * 3.0)
    return np.sum(y) + np.sum(np.select([x < 0, x > 1], [x, x**2]))


def compared(x, y):  # (np.isclose and np.allclose were "cannot compile a call to ...")
    if np.allclose(x, y):
        return np.sum(x**2)
    near = np.isclose(x, y, atol=0.5) | np.isclose(x, y * 2.0, rtol=0.1, equal_nan=True)
    return np.sum(np.where(near, x, y * 2.0))


def split_where_it_runs(theta, X):  # (split indices from a shape: "np.split needs a constant
    d = X.shape[1]  # number of sections or split indices")
    W, b, c = np.split(theta, [d * 3, d * 3 + 3])
    L, R = np.split(X, [d - 1], axis=1)
    return np.sum(np.tanh(X @ W.reshape(3, d).T + b) * c) + np.sum(L**2 * np.sum(R))


def extremes_without_nans(A):  # (np.nanmax and np.nanmin were "cannot compile a call to ...")
    B = np.where(A > 0.5, np.nan, A)
    return np.nanmax(B) * 2.0 + np.sum(np.nanmin(B, axis=1) ** 2)


def windowed(x, w):  # (np.convolve's and np.correlate's other modes were "not supported")
    return (
        np.sum(np.convolve(x, w, mode="same") ** 2)
        + np.sum(np.sin(np.convolve(w, x, "valid")))
        + np.sum(np.correlate(x, w, mode="same") * x)
        + np.sum(np.correlate(w, x, "full") ** 3)
        + np.sum(np.correlate(w, x, mode="same") ** 2)
        + np.sum(np.convolve(x, [1.0, -2.0, 1.0], mode="valid") ** 2)
        + np.sum(np.convolve(x, w[0]) ** 2)  # (a number: one entry, as NumPy reads it)
    )


def outers(a, b):  # (a ufunc's methods were "cannot compile a call to ufunc.outer")
    W = np.arange(12.0).reshape(3, 4)
    return (
        np.sum(np.subtract.outer(a, b) ** 2 * W)
        + np.sum(np.multiply.outer(a, b) * W)
        + np.sum(np.exp(-(np.add.outer(a[:2], b.reshape(2, 2)) ** 2)))
        + np.sum(np.where(np.greater.outer(a, b), np.divide.outer(a, b + 3.0), 0.0))
        + np.sum(np.equal.outer(np.arange(3), np.arange(4) % 3) * W * a[0])
    )


def ufunc_reductions(A):
    return (
        np.sum(np.add.reduce(A) ** 2)
        + np.multiply.reduce(A, axis=1).sum()
        + np.maximum.reduce(A, axis=None)
        + np.sum(np.minimum.reduce(A, 1, keepdims=True))
        + float(np.logical_and.reduce(A > -5.0, axis=None))
        + np.sum(np.logical_or.reduce(A > 0.5, axis=0) * A[0])
    )


def running(a):
    return (
        np.sum(np.add.accumulate(a) ** 2)
        + np.sum(np.multiply.accumulate(a[:4]))
        + np.sum(np.maximum.accumulate(a) * np.arange(6.0))
        + np.sum(np.minimum.accumulate(a.reshape(2, 3), axis=1) ** 3)
    )


def float_powers(x):  # (np.float_power was "cannot compile a call to numpy.float_power")
    return np.sum(np.float_power(x, 2.5) + np.float_power(2.0, x) + np.float_power(x, 3) * x)


def grids(x, y):  # (np.meshgrid was "cannot compile a call to numpy.meshgrid")
    X, Y = np.meshgrid(x, y)
    A, B, C = np.meshgrid(x, y, x[:2], indexing="ij", sparse=True)
    (Z,) = np.meshgrid(x)
    weights = np.arange(X.size).reshape(X.shape)
    return np.sum(np.sin(X) * Y**2 * weights) + np.sum(A * B + C**2) + np.sum(Z**3)


def polynomials(p, x):  # (np.polyval and np.vander were "cannot compile a call"; at x = 0 the
    V = np.vander(x)  # exponent 0's derivative is 0, with no warning of an inf masked)
    W = np.vander(x, 3, increasing=True)
    return (
        np.sum(np.polyval(p, x) ** 2)
        + np.polyval([1.0, -2.0, 0.5], x[1])
        + np.sum(V * np.arange(V.size).reshape(V.shape))
        + np.sum(W**2)
    )


def least_squares(A, y):  # (np.linalg.lstsq, pinv and np.polyfit were "cannot compile a call")
    x, res, rank, s = np.linalg.lstsq(A, y, rcond=None)  # (those three unread)
    wide = np.linalg.lstsq(A[:2], y[:2])[0]
    P = np.linalg.pinv(A)
    c = np.polyfit(A[:, 0], y, 2)
    return (
        np.sum((A @ x - y) ** 2)
        + np.sum(wide**3)
        + np.sum(P * np.arange(P.size).reshape(P.shape))
        + np.sum(c * np.arange(3.0))
    )


def drawdown(prices):
    peak = np.maximum.accumulate(prices)
    return np.max((peak - prices) / peak)


RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
S = RNG.standard_normal((3, 3)) / 3 + np.eye(3)
CASES = [
    (flips, (A,)),
    (rotations, (A,)),
    (appended, (RNG.standard_normal(3), RNG.standard_normal(4))),
    (differences, (A,)),
    (columns_and_parts, (RNG.standard_normal(3), A)),
    (products, (S, S * 0.5, RNG.standard_normal(3))),
    (powers, (S,)),
    (ranges, (A,)),
    (without_nans, (RNG.random((3, 4)),)),
    (medians, (A,)),
    (covariances, (A,)),
    (quantiles, (A,)),
    (cleaned_and_spectra, (A,)),
    (binned, (A,)),
    (traced, (S,)),
    (areas, (A, np.cumsum(RNG.random(4)))),
    (reduced_with_options, (A,)),
    (array_api_names, (RNG.standard_normal(3), S)),
    (selected, (RNG.standard_normal(7),)),
    (compared, (np.array([0.1, 1.0, -2.0, 0.3]), np.array([0.2, 1.2, 3.0, 0.15]))),
    (split_where_it_runs, (RNG.standard_normal(12), RNG.standard_normal((5, 2)))),
    (extremes_without_nans, (RNG.random((3, 4)),)),
    (windowed, (RNG.standard_normal(8), RNG.standard_normal(3))),
    (outers, (RNG.standard_normal(3), RNG.standard_normal(4))),
    (ufunc_reductions, (A,)),
    (running, (RNG.standard_normal(6),)),
    (drawdown, (1.0 + RNG.random(9),)),
    (float_powers, (0.5 + RNG.random(4),)),
    (grids, (RNG.standard_normal(3), RNG.standard_normal(2))),
    (polynomials, (RNG.standard_normal(4), np.array([0.0, -0.7, 1.2]))),
    (least_squares, (RNG.standard_normal((5, 3)), RNG.standard_normal(5))),
    (interpolated_at_repeated_knots, (np.array([-0.5, 0.5]), np.array([1.0, 2.0, 3.0]))),
    (
        interpolated,
        (np.array([-0.5, 0.3, 1.7, 3.1, 4.5]), np.array([0.0, 1.0, 2.5, 4.0]), RNG.random(4)),
    ),
]


_BY_NAME = {f.__name__: (f, args) for f, args in CASES}
_ON_NUMBA = [  # (a composition is the primitives it is made of, whose Numba code the rule
    "reduced_with_options",  # table's examples check: these few stand for the rest)
    "interpolated",
    "split_where_it_runs",
    "running",
    "polynomials",
    "columns_and_parts",
]


@pytest.mark.parametrize("name, backend", on_backends(_BY_NAME, _ON_NUMBA))
def test_a_composition_is_numpys_value_and_differentiates(name, backend):
    fn, args = _BY_NAME[name]
    nums = tuple(range(len(args)))
    with warnings.catch_warnings():
        if fn is polynomials:  # (no warning of an inf masked at x = 0)
            warnings.simplefilter("error", RuntimeWarning)
        symgrad.check_grads(fn, args, nums, modes=("rev", "fwd"), backend=backend)
    value = symgrad.jit(fn, backend=backend)(*args)
    if backend == "numpy" and fn not in (cleaned_and_spectra, polynomials, least_squares):
        assert value == fn(*args)
    else:  # (Numba's loops may add in another order; eigvalsh is eigh's eigenvalues, which
        # LAPACK computes with the eigenvectors; NumPy's polynomials multiply the powers out,
        # or run Horner's scheme; its least squares are LAPACK's, not pinv's: equal up to
        # rounding)
        assert value == pytest.approx(fn(*args), rel=1e-13)


def windows(a, v):
    return [np.convolve(a, v, m) for m in ("full", "same", "valid")] + [
        np.correlate(a, v, m) for m in ("full", "same")
    ]


def test_every_mode_of_a_window_is_numpys_for_any_lengths(make_fn):
    """The module for any shapes slices the full result by the lengths it is called with."""
    module = make_fn(symgrad.emit_module(windows, kind="jit"))
    for n in range(1, 7):
        for k in range(1, 7):
            a, v = RNG.standard_normal(n), RNG.standard_normal(k)
            got, want = module.jit_windows(a, v), windows(a, v)
            assert [g.shape for g in got] == [w.shape for w in want], (n, k)
            np.testing.assert_allclose(np.concatenate(got), np.concatenate(want), rtol=1e-13)


def log_sum_exp(A):
    return np.sum(np.logaddexp.reduce(A, axis=0)) + np.logaddexp.reduce(A, axis=None)


def test_logaddexp_reduce_is_log_sum_exp():
    """NumPy folds logaddexp pairwise, symgrad shifts by the largest entry: equal to rounding,
    and no overflow where exp of an entry would."""
    symgrad.check_grads(log_sum_exp, (A,), modes=("rev", "fwd"))
    big = np.array([[800.0, 1.0], [799.0, -1.0]])
    assert symgrad.jit(log_sum_exp)(big) == pytest.approx(log_sum_exp(big), rel=1e-15)


def test_a_running_extreme_sends_its_cotangent_to_the_last_of_ties_and_keeps_nans():
    a = np.array([1.0, 3.0, 2.0, 3.0, 0.5, np.nan, 4.0])
    np.testing.assert_array_equal(symgrad.jit(_running_max)(a), np.maximum.accumulate(a))
    got = symgrad.grad(_weighted_running_max)(a[:5])
    np.testing.assert_array_equal(got, [1.0, 5.0, 0.0, 9.0, 0.0])  # (2 + 3 at the first 3.0,
    # which the running max is until the second: 4 + 5 there)


def _running_max(a):
    return np.maximum.accumulate(a)


def _weighted_running_max(a):
    return np.sum(np.maximum.accumulate(a) * np.arange(1.0, 6.0))


def scaled_extremes(x, s):
    return np.nanmax(x * s) + np.sum(np.nanmin(x * s**2, axis=0))


def test_the_tangent_of_nanmax_is_the_extremes_alone():
    # (NaN: the tangent at a NaN entry, NaN * 0, was summed with the others')
    x = np.array([[0.5, np.nan, 1.5], [np.nan, -0.4, 2.0]])
    symgrad.check_grads(scaled_extremes, (x, 1.3), 1, modes=("rev", "fwd"))


def test_a_median_of_a_slice_with_a_nan_is_nan():
    x = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]])
    got = symgrad.jit(medians_by_row)(x)
    np.testing.assert_array_equal(got, np.median(x, axis=1))


def medians_by_row(x):
    return np.median(x, axis=1)


@pytest.mark.parametrize(
    "body, says",
    [
        ("np.cov(x, rowvar=False)", "rowvar=False"),
        ("np.rot90(x, int(x[0, 0]))", "k must be an int"),
        ("np.linalg.matrix_power(x, 0)", r"matrix_power\(a, 0\) is not supported"),
        ("np.trapezoid(x, x[0], axis=0)", "another axis than the last"),
        ("np.nanmean(x, out=x)", "out= is not supported"),
        ("np.max(x, where=x > 0)", "np.max's where= is not supported"),
        ("np.add.reduce(x, dtype=float)", "np.add.reduce's dtype= is not supported"),
        ("np.logaddexp.accumulate(x)", "cannot compile a call to np.logaddexp.accumulate"),
        ("np.maximum.accumulate(x, axis=None)", "accumulate takes one axis"),
        ("np.mean(x, dtype=int)", "np.mean's dtype= is not supported"),
    ],
)
def test_what_a_composition_refuses_says_so(make_fn, body, says):
    m = make_fn(f"def f(x):\n    return np.sum({body})\n")
    with pytest.raises(symgrad.SymgradError, match=says):
        symgrad.grad(m.f)(np.eye(3) + 0.5)


def median_of_all(x):
    return np.median(x)


def median_by_column(x):
    return np.median(x, axis=0)


def mean_without_nans(x):
    return np.nanmean(x, axis=0)


def covariance(x):
    return np.cov(x, ddof=1)


def covariance_of_too_few(x):
    return np.cov(x, ddof=3)


def closeness(x, y):
    return np.isclose(x, y)


def closeness_of_nans(x, y):
    return np.isclose(x, y, equal_nan=True)


def all_close(x, y):
    return np.allclose(x, y)


def largest_without_nans(x):
    return np.nanmax(x, axis=0)


def chosen(x):
    return np.select([x < 0], [x * 2])


_SPECIAL = np.array([1.0, np.inf, -np.inf, np.nan, 1e9, 0.0, np.inf])
_NEAR = np.array([1.0 + 1e-9, np.inf, np.inf, np.nan, 1e9 + 1, 1e-9, 5.0])


@pytest.mark.parametrize(
    "fn, args",
    [
        (median_by_column, (np.array([[True, False], [True, True]]),)),  # (True + True: True)
        (median_of_all, (np.array([1e308, 1.7e308, 1.6e308]),)),  # (a + a overflowed)
        (median_of_all, (np.array([2**62 + 1, 2**62 + 3, 2**62 + 5]),)),  # (int64 wrapped)
        (median_of_all, (np.array([3.0, 1.0, 2.0], np.float32),)),  # (a 0-d array, not a number)
        (mean_without_nans, (np.array([[1.0, np.nan], [2.0, 3.0]], np.float32),)),  # (float64)
        (covariance, (np.array([[1.0, 2.0], [0.5, 3.0]], np.float32),)),  # (NumPy's float64)
        (covariance_of_too_few, (np.array([[1.0, 2.0], [0.5, 3.0]]),)),  # (count - ddof < 0)
        (closeness, (_SPECIAL, _NEAR)),
        (closeness_of_nans, (_SPECIAL, _NEAR)),
        (all_close, (_SPECIAL[:2], _NEAR[:2])),  # (a Python bool)
        (all_close, (_SPECIAL[:3], _NEAR[:3])),
        (closeness, (np.float32(1.0), 1.0 + 1e-7)),  # (NumPy's bool, of 0-d)
        (closeness, (np.array([0, 1], np.uint8), np.array([255, 2], np.uint8))),  # (wrapped)
        (closeness, (np.array([-128], np.int8), np.array([0], np.int8))),
        (all_close, (np.array([2**62]), np.array([-(2**62)]))),
        (closeness, (np.array([True, False]), np.array([True, True]))),  # (bool's subtract)
        (largest_without_nans, (np.array([[np.nan, 1.0], [np.nan, np.nan]]),)),  # (a NaN column)
        (largest_without_nans, (np.array([[2, 1], [3, 0]]),)),  # (ints)
        (chosen, (np.array([-1.0, 2.0], np.float32),)),  # (the default 0 is float32's)
        (interpolated_number, (1.5,)),  # (a NumPy number)
        (interpolated_number, (np.array([-1.0, 0.0, 1.0, 2.0, 2.5], np.float32),)),  # (float64)
    ],
)
def test_a_composition_gives_numpys_value_type_and_dtype(fn, args):
    with np.errstate(divide="ignore", invalid="ignore"):
        got, want = symgrad.jit(fn)(*args), fn(*args)
    assert type(got) is type(want) and np.result_type(got) == np.result_type(want)
    np.testing.assert_array_equal(got, want)


def interpolated_sum(x, xp, fp):
    return np.sum(np.interp(x, xp, fp))


@pytest.mark.parametrize(
    "xp, fp, says",
    [
        (np.array([0.0, 1.0]), np.array([1.0, 2.0, 3.0]), "not of the same length"),
        (np.array([]), np.array([]), "array of sample points is empty"),
    ],
)
def test_interp_raises_numpys_errors(xp, fp, says):
    # (a value where NumPy raises for fp and xp of different lengths; an IndexError for none)
    x = np.array([0.5])
    with pytest.raises(ValueError, match=says):
        interpolated_sum(x, xp, fp)
    with pytest.raises(ValueError, match=says):
        symgrad.grad(interpolated_sum)(x, xp, fp)


def residuals_read(A, y):
    x, res, rank, s = np.linalg.lstsq(A, y)
    return np.sum(x) + np.sum(res)


def test_a_least_squares_residual_read_is_refused():
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="'res' is a residual, rank or"):
        symgrad.grad(residuals_read)(np.eye(3), np.ones(3))
