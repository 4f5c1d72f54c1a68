"""Structural zeros (`symgrad.passes.zeros`): the cotangents a value the output does not read
starts with are zeros, and the work they would do is dropped; forward values stay exact."""

import inspect

import numpy as np
import pytest

import symgrad


def _first_row(a, b):
    e = np.stack([a * b, np.sin(a) * b])
    return np.sum(e[0] ** 2)


def _first_part(a, b):
    e = np.concatenate([a * b, np.exp(a)])
    return np.sum(e[:3])


def _a_slice_of_a_cotangent(a, b):
    z = np.zeros((2, 4))
    z[0] = a * b
    z[1] = np.tanh(a)
    return np.sum(z[0] * b)


@pytest.mark.parametrize(
    "fn, unused", [(_first_row, "np.sin"), (_a_slice_of_a_cotangent, "np.tanh")]
)
def test_what_the_output_does_not_read_is_not_differentiated(fn, unused):
    rng = np.random.default_rng(3)
    args = [rng.standard_normal(4), rng.standard_normal(4)]
    symgrad.check_grads(fn, args, (0, 1))
    g = symgrad.grad(fn, argnums=(0, 1))
    g(*args)
    backward = g.source.split("# backward pass")[1].splitlines()
    code = [line for line in backward if not line.lstrip().startswith("#")]
    assert not any(unused in line or "np.cos" in line for line in code), g.source


def test_a_concatenation_read_in_part_is_differentiated_in_part():
    rng = np.random.default_rng(4)
    args = [rng.standard_normal(3), rng.standard_normal(3)]
    symgrad.check_grads(_first_part, args, (0, 1))
    g = symgrad.grad(_first_part, argnums=(0, 1))
    g(*args)
    assert "np.exp" not in g.source.split("def grad__first_part")[1], g.source


def _zeros_times(x):
    return np.sum(np.zeros(3) * x) + np.sum(x)


def _zeros_matmul(x):
    return np.sum(np.zeros((2, 3)) @ x) + np.sum(x)


@pytest.mark.parametrize("fn", [_zeros_times, _zeros_matmul])
def test_forward_products_with_zeros_keep_numpy_arithmetic(fn):
    """`np.zeros(3) * x` and `np.zeros((2, 3)) @ x` are nan where x is inf: a forward value is
    computed as NumPy does."""
    x = np.array([1.0, np.inf, 2.0])
    with np.errstate(invalid="ignore"):
        assert np.isnan(symgrad.jit(fn)(x)) and np.isnan(fn(x))
    np.testing.assert_array_equal(symgrad.grad(fn)(np.ones(3)), np.ones(3))


def truncated_into_ints(x, labels):
    out = np.zeros_like(labels)  # (ints)
    for i in range(3):
        out[i] = x[i] * 10  # truncated: constant near x
    return np.sum(out * x[:3]) + np.sum(out) * x[3]


def test_a_value_of_integers_passes_no_cotangent():
    # the cotangent of the int array went on to x through the write: [3, -7, 24] for [3, -7, 12]
    x = np.array([0.3, -0.7, 1.2, 0.5])
    want = np.array([3.0, -7.0, 12.0, 8.0])
    np.testing.assert_allclose(symgrad.grad(truncated_into_ints)(x, np.arange(3)), want)


def truncated_into_an_int_array(x):
    out = np.zeros(3, dtype=int)  # (its dtype known without the arguments')
    for i in range(3):
        out[i] = x[i] * 10
    return np.sum(out * x)


def test_the_shape_polymorphic_module_passes_no_cotangent_through_integers(make_fn):
    # the module that ships without knowing its arguments' types gave [3, -7, 24] here
    module = make_fn(symgrad.emit_module(truncated_into_an_int_array))
    x = np.array([0.3, -0.7, 1.2])
    np.testing.assert_allclose(module.grad_truncated_into_an_int_array(x), [3.0, -7.0, 12.0])
    np.testing.assert_allclose(symgrad.grad(truncated_into_an_int_array)(x), [3.0, -7.0, 12.0])


def written_into_ints(x):
    y = np.zeros(3, dtype=np.int64)
    y[1] = x[0] * 10.0  # truncated: constant near x
    return np.sum(y * x)


def written_into_bools(x):
    y = np.zeros(3, dtype=bool)
    y[0:2] = x[:2] * 10.0
    return np.sum(y * x)


def added_into_ints(x):
    y = np.zeros(3, dtype=np.int64)
    y += (x * 10.0).astype(np.int64)
    return np.sum(y * x)


def written_into_ints_in_a_loop(x):  # (its tangent carried by the loop)
    y = np.zeros(3, dtype=np.int64)
    for i in range(3):
        y[i] = x[i] * 10.0
    return np.sum(y * x)


@pytest.mark.parametrize(
    "fn, backend",
    [
        *((fn, "numpy") for fn in (written_into_ints, written_into_bools, added_into_ints)),
        *((written_into_ints_in_a_loop, backend) for backend in ("numpy", "numba")),
    ],
)
def test_a_value_of_integers_has_no_tangent(fn, backend):
    """Forward mode passed the tangent of a float written into an int array on (written in
    ints, truncated: jvp 5.0 where the derivative is 0 for written_into_ints, a Hessian of
    10 at [1, 0]), and for `y += ...` cast the float tangent into the ints (TypeError)."""
    pytest.importorskip(backend)
    x, t = np.array([0.33, 0.5, 0.7]), np.array([1.0, 0.3, -0.2])
    gradient = symgrad.grad(fn, backend=backend)(x)
    for _ in range(2):  # the first call and a later one
        _, tangent = symgrad.jvp(fn, (x,), (t,), backend=backend)
        assert tangent == pytest.approx(gradient @ t, rel=1e-12)
    np.testing.assert_array_equal(symgrad.hessian(fn, backend=backend)(x), np.zeros((3, 3)))


def written_into_ints_then_cast_back(x):
    y = np.zeros(3, dtype=int)
    y[0] = x[0] * 10.0  # truncated: constant near x
    return np.sum(y.astype(float) ** 2) + np.sum(x * 0.5)


def written_into_bools_then_cast_back(x):
    y = np.zeros(3, dtype=bool)
    y[0] = x[0]
    return np.sum(y.astype(float) * x)


def written_into_ints_made_like(x):  # (its dtype known once the arguments' are)
    y = np.zeros_like(x, dtype=int)
    y[0] = x[0] * 10.0
    return np.sum(y * x)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize(
    "fn, want",
    [
        (written_into_ints_then_cast_back, lambda x: np.full(3, 0.5)),
        (written_into_bools_then_cast_back, lambda x: np.array([1.0, 0.0, 0.0])),
        (written_into_ints_made_like, lambda x: np.array([6.0, 0.0, 0.0])),
    ],
)
def test_what_a_value_of_integers_passes_back_is_nothing(fn, want, backend):
    """The VJP of a write into ints passed the cotangent on to the float written, where the
    int array's cotangent came through a cast back to floats (120 where 0 for the first), and a
    Hessian through an int array made like x had 10 where 0."""
    pytest.importorskip(backend)
    x = np.array([0.615, 0.44, 0.83])
    np.testing.assert_allclose(symgrad.grad(fn, backend=backend)(x), want(x))
    np.testing.assert_array_equal(symgrad.hessian(fn, backend=backend)(x), np.zeros((3, 3)))


def cast_into_ints(x):
    return np.sum(np.array(x * 10.0, dtype=int) * x)


def written_where_a_branch_joins_dtypes(x, labels):  # (the Avals know no dtype after the if)
    y = labels * 1.0 if x[0] > 10.0 else labels
    y = y + 0
    y[0] = x[0] * 10.0
    return np.sum(y * x)


def written_into_a_copy_of_ints(x, labels):
    y = labels.copy()
    y[1:] = x[1:] * 10.0
    return np.sum(y * x)


@pytest.mark.parametrize(
    "fn",
    [
        written_into_ints_made_like,
        written_into_bools_then_cast_back,
        cast_into_ints,
        written_where_a_branch_joins_dtypes,
        written_into_a_copy_of_ints,
        truncated_into_ints,
    ],
)
def test_every_transform_and_module_passes_nothing_through_integers(fn, make_fn):
    """A Jacobian of a gradient by reverse mode and every module for any shapes (`.save`) passed
    the cotangent of a float written into ints on: 18 where 6 for written_into_ints_made_like,
    the saved gradient of cast_into_ints was twice the true one; where a branch joined an
    int and a float array, even the specialised gradient was [6, 2, 3] where [3, 2, 3]."""
    labels = np.arange(1, 4)
    x = np.array([0.33, 0.55, 0.77, 0.5])[: 4 if fn is truncated_into_ints else 3]
    args = (x, labels)[: len(inspect.signature(fn).parameters)]
    want = np.array([_central(lambda z, k=k: fn(z, *args[1:]), x, k) for k in range(x.size)])
    name = fn.__name__
    modules = {kind: make_fn(symgrad.emit_module(fn, kind=kind)) for kind in ("grad", "hessian")}
    np.testing.assert_allclose(symgrad.grad(fn)(*args), want, atol=1e-6)
    np.testing.assert_allclose(getattr(modules["grad"], f"grad_{name}")(*args), want, atol=1e-6)
    hessians = {  # zeros: the gradient is constant near x (integers, and x times them)
        "hessian": symgrad.hessian(fn)(*args),
        "jacrev of grad": symgrad.jacrev(symgrad.grad(fn))(*args),
        "hessian module": getattr(modules["hessian"], f"hessian_{name}")(*args),
    }
    for what, got in hessians.items():
        np.testing.assert_array_equal(got, np.zeros((x.size, x.size)), err_msg=what)


def _central(f, x, k, h=1e-6):
    e = np.zeros_like(x)
    e[k] = h
    return (f(x + e) - f(x - e)) / (2 * h)


def floats_made_from_ints(x):
    y = np.zeros(3, dtype=int)
    y[0] = x[0] * 10.0  # (ints: constant near x)
    z = y * 1.0  # a float array made of the ints: not the int array itself
    z[1] = x[1]
    return np.sum(z * x)


def floats_filled_with_ints(x):
    y = np.zeros(3, dtype=int)
    y[0] = x[0] * 10.0
    z = np.zeros(3)
    z[:] = y
    z[1] = x[1]
    return np.sum(z * x)


def floats_added_ints(x):
    y = np.zeros(3, dtype=int)
    y[0] = x[0] * 10.0
    z = np.zeros(3)
    z += y
    z[1] = x[1]
    return np.sum(z * x)


@pytest.mark.parametrize(
    "fn, backend",
    [
        *((fn, "numpy") for fn in (floats_made_from_ints, floats_filled_with_ints)),
        *((floats_added_ints, backend) for backend in ("numpy", "numba")),
    ],
)
def test_a_float_array_made_of_ints_passes_what_is_written_into_it(fn, backend):
    """`y * 1.0` of an int array a float was written into was taken for y itself (a float, as
    its written value is): z then was the int array, and z[1] = x[1] truncated (0.93 where
    1.2004, gradient [3, 0, 0]); forward mode through `z[:] = y` and `z += y` lost z[1]'s
    tangent (an Aval of the ints' tangent, of this round's rewrite)."""
    pytest.importorskip(backend)
    x = np.array([0.31, 0.52, 0.77])
    value, gradient = symgrad.value_and_grad(fn, backend=backend)(x)
    assert value == pytest.approx(fn(x), rel=1e-14)
    np.testing.assert_allclose(gradient, [3.0, 2 * x[1], 0.0], rtol=1e-12)
    np.testing.assert_allclose(symgrad.jacfwd(fn, backend=backend)(x), gradient, rtol=1e-12)
    hessian = symgrad.hessian(fn, backend=backend)(x)
    np.testing.assert_allclose(hessian, np.diag([0.0, 2.0, 0.0]), atol=1e-12)


def ints_filled_and_summed(x):  # value_and_grad gave zeros where grad gave k: the cotangent of
    k = np.zeros(x.shape, dtype=np.int64)  # np.sum(k) and of np.sum(k * x), the same nodes,
    k[:] = x  # were merged, and the merged one taken for the int sum's alone
    return np.sum(k * x) + np.sum(k)


def ints_filled_in_a_loop(x):
    k = np.zeros(x.shape, dtype=np.int64)
    for i in range(x.shape[0]):
        k[i] = x[i] * 2.0
    return np.sum(k * x) + np.sum(k)


def bools_filled(x):
    m = np.zeros(x.shape, dtype=bool)
    m[:] = x
    return np.sum(m * x) + np.sum(m)


def ints_out_of_a_ufunc(x):
    k = np.zeros(x.shape, dtype=np.int64)
    np.multiply(x, 3.7, out=k, casting="unsafe")
    return np.sum(k * x) + np.sum(k)


@pytest.mark.parametrize(
    "fn, backend",
    [
        *((fn, "numpy") for fn in (ints_filled_and_summed, bools_filled, ints_out_of_a_ufunc)),
        *((ints_filled_in_a_loop, backend) for backend in ("numpy", "numba")),
    ],
)
def test_a_float_and_an_int_path_of_one_cotangent_are_kept_apart(fn, backend):
    x = np.array([0.7, -1.3, 2.1, 0.4, -0.2])
    value, g = symgrad.value_and_grad(fn, backend=backend)(x)
    assert value == fn(x)
    symgrad.check_grads(fn, (x,), modes=("rev", "fwd"), backend=backend)
    np.testing.assert_array_equal(g, symgrad.grad(fn, backend=backend)(x))
