"""np.where's untaken branch gives no NaN to the gradient: `np.where(x > 0, np.sqrt(x), 0.0)`
at x < 0 has derivative 0, but the chain rule multiplies the branch's zero cotangent by
0.5 / sqrt(x), NaN there (JAX's documented NaN trap; symgrad's gradients once gave NaN too).
In a backward pass, `where(c, v, 0) * d` is `where(c, v * d, 0)` (`_Rewriter.masked_product`),
so those entries stay 0. Each case is checked against central differences, at points in the
untaken branch included, on the NumPy backend, and a few of them on the Numba one."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import symgrad
from tests.conftest import on_backends

CASES = {  # name: (source of f(x), x: points where the untaken branch's derivative is NaN)
    "sqrt_of_positives": (
        "def f(x):\n    return np.sum(np.where(x > 0, np.sqrt(x), 0.0))\n",
        [-1.0, -0.25, 0.5, 2.0],
    ),
    "zero_first": (
        "def f(x):\n    return np.sum(np.where(x < 0, 0.0, np.sqrt(x)) * x)\n",
        [-1.0, -0.25, 0.5, 2.0],
    ),
    "arcsin_inside": (
        "def f(x):\n    return np.sum(np.where(np.abs(x) < 1, np.arcsin(x), 0.5 * x))\n",
        [-2.0, 0.3, -0.6, 1.5],
    ),
    "a_chain_in_the_branch": (
        "def f(x):\n    return 3.0 * np.sum(np.where(x > 0, np.log(x) ** 2, np.sin(x)))\n",
        [-1.0, 0.5, 2.0, -0.3],
    ),
    "sinc_at_zero": (  # the cotangent of the taken branch is read by two products
        "def f(x):\n    return np.sum(np.where(x != 0, np.sin(x) / x, 1.0) * np.cos(x))\n",
        [0.0, 0.5, -1.0, 2.0],
    ),
    "in_a_loop": (
        "def f(x):\n    s = 0.0\n    for i in range(3):\n"
        "        s = s + np.sum(np.where(x > i - 1, np.sqrt(x - i + 1), 0.0))\n    return s\n",
        [-1.5, 0.5, 1.5, 2.5],
    ),
}


@pytest.mark.parametrize("name, backend", on_backends(CASES, ["sqrt_of_positives", "in_a_loop"]))
def test_the_untaken_branch_gives_no_nan(name, backend, make_fn):
    source, points = CASES[name]
    m = make_fn(source)
    x = np.array(points)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (the function's own sqrt of x < 0)
        assert np.isfinite(symgrad.grad(m.f, backend=backend)(x)).all()
        symgrad.check_grads(m.f, [x], 0, modes=("rev", "fwd"), backend=backend)


def test_the_gradient_is_the_taken_branchs_even_where_the_other_is_infinite(make_fn):
    m = make_fn("def f(x):\n    return np.sum(np.where(x > 0, np.log(x), x))\n")
    grad = symgrad.grad(m.f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(grad(np.array([-1.0, 0.0, 0.5])), [1.0, 1.0, 2.0])
    assert "np.where(x > 0, 1.0 / x, 1.0)" in grad.source  # one select, as written by hand


def normalised(X):
    n = np.linalg.norm(X, axis=1, keepdims=True)
    return np.sum(X / np.maximum(n, 1e-8) * np.arange(1.0, 3.0))


def clamped_norm(x):
    return np.maximum(np.linalg.norm(x), 1.0)


def test_a_mask_multiplied_in_is_a_select_too():
    # maximum's backward function multiplies by its mask (`g * (n > eps)`), and the quotient
    # by n that follows made 0 / 0 at a zero row: NaN where the derivative is finite
    X = np.array([[0.0, 0.0], [1.0, 2.0]])
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # (np.where computes both branches)
        gX = symgrad.grad(normalised)(X)
        g0 = symgrad.grad(clamped_norm)(np.zeros(3))
    np.testing.assert_allclose(gX[0], 1e8 * np.arange(1.0, 3.0))
    np.testing.assert_array_equal(g0, np.zeros(3))
    symgrad.check_grads(normalised, (X + 0.5,), modes=("rev", "fwd"))


def root_of_the_positive_part(x):
    return np.sum(np.sqrt(np.maximum(x, 0.0)))


def angle(c):  # (the angle between two vectors, its cosine clipped)
    return np.sum(np.arccos(np.clip(c, -1.0, 1.0)))


def half_power_of_a_select(x):
    return np.sum(np.where(x > 0, x, 0.0) ** 0.5)


def normalised_vector(x):
    return np.sum(x / np.maximum(np.linalg.norm(x), 1e-8))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_mask_applied_after_an_infinite_derivative_is_a_select(backend):
    """(`0.5 / np.sqrt(np.maximum(x, 0.0)) * (x > 0.0)` was NaN for x < 0, where the derivative
    is 0, and `arccos(clip(c))` outside [-1, 1]; in forward mode, a tangent np.where zeroed
    times `0.5 * w ** -0.5`, and maximum's mask times the 0 / 0 tangent of a norm at 0.)"""
    pytest.importorskip(backend)
    x, t = np.array([-1.0, 0.5, 2.0]), np.array([1.0, 1.0, 1.0])
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # (the derivative where it is not taken)
        for f, want in (
            (root_of_the_positive_part, [0.0, 0.5 / np.sqrt(0.5), 0.5 / np.sqrt(2.0)]),
            (angle, [0.0, -1.0 / np.sqrt(0.75), 0.0]),
            (half_power_of_a_select, [0.0, 0.5 / np.sqrt(0.5), 0.5 / np.sqrt(2.0)]),
        ):
            c = np.array([-1.0, 0.5, 2.0]) if f is not angle else np.array([-1.5, 0.5, 2.0])
            np.testing.assert_allclose(symgrad.grad(f, backend=backend)(c), want, rtol=1e-12)
            tangent = symgrad.jvp(f, (c,), (t,), backend=backend)[1]
            assert tangent == pytest.approx(sum(want), rel=1e-12)
        zero = np.zeros(3)
        assert symgrad.jvp(normalised_vector, (zero,), (t,), backend=backend)[1] == 3e8
        hessian = symgrad.hessian(normalised_vector, backend=backend)(zero)
        np.testing.assert_array_equal(hessian, np.zeros((3, 3)))
    symgrad.check_grads(root_of_the_positive_part, (x,), modes=("rev", "fwd"), backend=backend)


def guarded_log(x):
    return np.where(x > 0, np.log(x), 0.0)


def guarded_quotient(x, y):
    return np.where(y != 0, np.divide(x, y), 0.0)


def guarded_power(x):
    return np.where(x > 0, x**1.5, 0.0)


def test_a_python_float_at_a_guarded_point_is_read_as_numpys():
    """(A Python float's `1.0 / x` of the derivative raised ZeroDivisionError at 0.0, where a
    NumPy float gives inf that np.where leaves out: the module runs again on NumPy's floats.)"""
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        assert symgrad.grad(guarded_log)(0.0) == 0.0
        assert symgrad.jvp(guarded_log, (0.0,), (1.0,)) == (0.0, 0.0)
        assert symgrad.grad(guarded_quotient, argnums=1)(1.0, 0.0) == 0.0
        assert symgrad.jvp(guarded_quotient, (1.0, 0.0), (1.0, None)) == (0.0, 0.0)
        assert symgrad.hessian(guarded_power)(0.0) == 0.0
        assert symgrad.grad(guarded_log)(2.0) == 0.5  # (a Python float's module, unchanged)


def root_times_itself(x):
    return np.where(x > 0, np.sqrt(x) * x, 0.0)


def masked_log_likelihood(x, mask):
    return np.sum(np.where(mask, np.log(x), 0.0))


def masked_rows(x):
    m = x > 0
    return np.sum(np.where(m[None, :], np.log(x)[None, :] * 2.0, 0.0))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_mask_stays_a_select_in_second_derivatives_and_across_shapes(backend):
    """(grad of grad of a select was NaN where hessian gave 0: `where(x > 0, 1.0, 0.0) *
    (0.5 / np.sqrt(x))` in the second backward pass; a mask of another shape than the value it
    selects was summed to the value's shape before the division by x, `_unbroadcast(where(mask,
    1.0, 0.0), shape(x)) / x`, NaN at a masked 0, and reshaped, `np.reshape(where(m[None, :],
    2.0, 0.0), (3,)) / x`.)"""
    pytest.importorskip(backend)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        twice = symgrad.grad(symgrad.grad(root_times_itself, backend=backend), backend=backend)
        assert twice(-1.0) == 0.0 and twice(np.array(-1.0)) == 0.0
        assert twice(4.0) == pytest.approx(0.75 / 2.0, rel=1e-12)
        jacobian = symgrad.jacrev(symgrad.grad(root_times_itself, backend=backend))
        assert jacobian(-1.0) == 0.0
        x, mask = np.array([0.0, 0.5, 2.0]), np.array([False, True, True])
        want = [0.0, 2.0, 0.5]
        np.testing.assert_array_equal(symgrad.grad(masked_log_likelihood)(x, mask), want)
        np.testing.assert_array_equal(symgrad.jacrev(masked_log_likelihood)(x, mask), want)
        hessian = symgrad.hessian(masked_log_likelihood, backend=backend)(x, mask)
        np.testing.assert_array_equal(hessian, np.diag([0.0, -4.0, -0.25]))
        got = symgrad.grad(masked_rows, backend=backend)(np.array([-1.0, 0.0, 2.0]))
        np.testing.assert_array_equal(got, [0.0, 0.0, 1.0])


def two_masks(x):
    return np.where(x > 0, np.sqrt(x), 0.0) * np.where(x < 2, x, 0.0)


def test_a_product_of_selects_on_two_masks_stays_masked_twice_differentiated():
    """(The value zero outside a mask read only the outer select's: the sum of a select on
    x < 2 of one on x > 0 and a select on x > 0 had no mask in common, and its product with
    0.5 / np.sqrt(x) was NaN at x < 0, where the release before gave 0.)"""
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        assert symgrad.grad(symgrad.grad(two_masks))(-1.0) == 0.0
        assert symgrad.grad(symgrad.grad(two_masks))(1.0) == pytest.approx(0.75, rel=1e-12)


def masked_columns(x, m):
    return np.sum(np.where(m[None, :], np.log(x), 0.0))


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd", "hessian"])
def test_second_derivatives_of_a_mask_of_another_shape_are_masked(transform):
    """(jacrev of grad was NaN at a masked 0: the derivative of 1/x, `-unbroadcast(where(m,
    g, 0), shape(x)) * (1/x * 1/x)`, kept its negation outside the sum the division goes in.)"""
    x = np.array([[1.0, 0.0, 2.0], [3.0, 0.0, 0.5]])
    m = np.array([True, False, True])
    second = getattr(symgrad, transform)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        f = masked_columns if transform == "hessian" else symgrad.grad(masked_columns)
        got = second(f)(x, m).reshape(6, 6)
        want = np.diag(np.where(m[None, :], -1.0 / x**2, 0.0).ravel())
    np.testing.assert_array_equal(got, want)
