"""Regression tests: each bug found by review or fuzzing, pinned with a real oracle."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from symgrad import check_grads
from tests.conftest import BACKENDS

rng = np.random.default_rng(7)

CASES = {  # name: (parameters, returned expression, argument shapes; "f" a Python float)
    # a reshape to a literal shape is not 0-d (shape classes once said so: silent wrong grads)
    "reshape_minus_one_times_sum": ("x, w", "np.sum(x.reshape(-1) * np.sum(w))", [(3, 4), (12,)]),
    "reshape_minus_one_times_const": ("x", "np.sum(x.reshape(-1) * 2.0)", [(3, 4)]),
    "reshapes_with_different_shapes": (
        "a, b",
        "np.sum(np.sin(a.reshape(3, -1) + b.reshape(3, -1)))",
        [(3, 6), (3, 1)],
    ),
    # lists holding traced values are arrays (np.stack), not non-differentiable tuples
    "rotation_from_angle": (
        "t, v",
        "np.sum(np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]) @ v)",
        ["f", (2,)],
    ),
    "array_of_arrays": ("x, y", "np.sum(np.array([[x, y], [y, x]]) ** 2)", [(3,), (3,)]),
    "concatenate_with_list": ("w, b", "np.sum(np.concatenate([w, [b]]) ** 2)", [(3,), "f"]),
    "multiply_by_list": ("x, a, b", "np.sum(x * [a, b])", [(3, 2), "f", "f"]),
    # np.where(c) of one argument is np.nonzero(c) (it was refused as np.where missing x)
    "where_of_one_argument": ("x", "np.sum(x[np.where(x > 0.2)] ** 2)", [(3, 4)]),
    "dot_of_lists": ("x, y", "np.dot([np.sum(x), np.sum(y ** 2)], [1.0, 2.0])", [(4,), (4,)]),
    # astype's dtype is not an array operand
    "astype_inside_product": ("x, y", "np.sum(y.astype(np.float64) * x)", [(3,), (3,)]),
    # clip with lower > upper returns the upper bound (entries 1 and 2 cross)
    "clip_crossed_bounds": ("a, lo, hi", "np.sum(np.clip(a, lo, hi) * 1.5)", "crossed"),
    # found by fuzzing --------------------------------------------------------------------------
    # the trace of a rectangular matrix sums the shorter diagonal (the VJP assumed a square one)
    # the VJP of `.T` wrote `g.T`, but g is a Python float when the transposed value is 0-d
    "transpose_of_a_0d_value": ("a, b", "np.min(a, axis=-1).T * b", [(3,), "f"]),
    # np.repeat of a 0-d value along axis 0 gives a 1-d array; its VJP indexed the 0-d shape
    "repeat_of_a_0d_value": (
        "b",
        "np.sum(np.repeat(np.sum(b), 3, axis=0) * np.arange(3.0))",
        [(4,)],
    ),
    # np.transpose(a) was emitted as a.T, which a Python float does not have
    "transpose_of_a_python_float": ("a, b", "np.transpose(a) * b", ["f", (3,)]),
    # einsum broadcasts an axis of length 1 against the same index of another operand; the VJP
    # left that axis broadcast, and summing with a's other cotangent counted it 4 times
    "einsum_broadcasts_a_length_one_axis": (
        "a, b",
        "np.sum(np.einsum('ij,j', a, b) - a)",
        [(2, 1), (4,)],
    ),
    # ... and an index only that operand has, summed out, with another index so broadcast
    "einsum_broadcasts_beside_a_summed_index": (
        "a, b",
        "np.sum(np.sin(np.einsum('ij,im->mi', a, b)))",
        [(1, 1), (3, 3)],
    ),
    "trace_of_rectangular_matrix": (
        "a, b",
        "np.trace(a) + np.sum(np.trace(b))",
        [(3, 4), (4, 2, 3)],
    ),
}


def _args(specs):
    if specs == "crossed":
        return [
            np.array([0.1, 0.2, -0.3, 1.0]),
            np.array([0.5, -1.0, 0.3, 0.0]),
            np.array([-0.5, 1.0, -0.4, 2.0]),
        ]
    return [float(rng.uniform(-1, 1)) if s == "f" else rng.uniform(-1, 1, s) for s in specs]


@pytest.mark.parametrize("name", sorted(CASES))
def test_regression_gradient(name, make_fn):
    params, expr, specs = CASES[name]
    m = make_fn(f"def f({params}):\n    return {expr}\n")
    args = _args(specs)
    symgrad.check_grads(m.f, args, tuple(range(len(args))))


def test_fancy_index_list_of_int_arguments(make_fn):
    m = make_fn("def f(x, i, j):\n    return np.sum(x[[i, j]] ** 2)\n")
    x = rng.uniform(-1, 1, (4, 3))
    for i, j in [(1, 3), (0, 0)]:
        g = symgrad.grad(m.f)(x, i, j)
        expected = np.zeros_like(x)
        np.add.at(expected, [i, j], 2 * x[[i, j]])
        np.testing.assert_allclose(g, expected)


def test_element_assignment_with_a_none_index(make_fn):
    # `a[None] = v` reached an internal AttributeError: an index evaluating to None was read as
    # "not evaluated yet" and lowered again as a slice
    m = make_fn("def f(x):\n    a = np.zeros_like(x)\n    a[None] = x * x\n    return np.sum(a)")
    symgrad.check_grads(m.f, [rng.uniform(-1, 1, (3,))], 0)


def test_duplicate_argnums_give_two_arrays(make_fn):
    m = make_fn("def f(x):\n    return np.sum(x ** 3)\n")
    a, b = symgrad.grad(m.f, argnums=(0, 0))(np.ones(3))
    assert a is not b and not np.shares_memory(a, b)
    np.testing.assert_allclose(a, 3.0)


def test_vjp_refuses_a_cotangent_of_the_wrong_shape(make_fn):
    m = make_fn("def f(x):\n    return np.sin(x)\n")
    _, vjp_fn = symgrad.vjp(m.f, np.ones(3))
    with pytest.raises(symgrad.SymgradError, match="shape"):
        vjp_fn(np.ones(5))


def test_numpy_scalar_argument_gets_a_numpy_scalar(make_fn):
    m = make_fn("def f(x):\n    return np.sin(x) * x\n")
    g = symgrad.grad(m.f)(np.float32(0.5))
    assert type(g) is np.float32


def test_spectral_norm_is_refused_not_silently_frobenius(make_fn):
    m = make_fn("def f(a):\n    return np.linalg.norm(a, 2)\n")
    with pytest.raises(symgrad.SymgradError, match="matrix norm"):
        symgrad.grad(m.f)(np.ones((3, 4)))


def test_astype_and_dtype_of_a_python_float(make_fn):
    # found by fuzzing: np.subtract(2.0, a) is emitted as 2.0 - a, a Python float where NumPy
    # gives np.float64; the emitted .astype and .dtype failed on it
    m = make_fn(
        "def f(a):\n    t = np.subtract(2.0, a)\n    return t.astype(t.dtype) * t\n\n\n"
        "def g(a):\n    return np.subtract(2.0, a).astype(np.float64) * a\n"
    )
    symgrad.check_grads(m.f, (0.3,), 0, modes=("rev", "fwd"))
    symgrad.check_grads(m.g, (0.3,), 0, modes=("rev", "fwd"))


def hypot_at_the_origin(a):
    return np.sum(np.hypot(a - a, a - a))


def test_hypot_has_gradient_zero_at_the_origin():  # fuzzer: a Python == in a template was False
    assert np.array_equal(symgrad.grad(hypot_at_the_origin)(np.ones((2, 2))), np.zeros((2, 2)))


def pick_by_length(A, n, idx):  # a list indexed by a runtime int that also decides a shape
    last = idx[n - 2]
    return np.sum(np.reshape(A, (n, n))[n - 2, last[:, 0]])


def test_a_value_bound_to_an_unspellable_name_gets_a_spellable_one():
    # found by the GradBench det objective: the list pick's branch parameter kept its lowering
    # name `<operand 2>` in the emitted module (a SyntaxError when it loaded)
    idx = [np.array([[0, 1, 2]]), np.array([[1, 2], [0, 2], [0, 1]])]
    g = symgrad.grad(pick_by_length)(np.arange(9.0), 3, idx)
    assert np.array_equal(g, [0, 0, 0, 2, 1, 0, 0, 0, 0])


def scaled_square(x, k=2.0):
    return k * x * x


def test_new_defaults_are_seen_by_the_next_call():
    g = symgrad.grad(scaled_square)
    assert g(1.0) == 4.0
    scaled_square.__defaults__ = (3.0,)
    try:
        assert g(1.0) == 6.0
    finally:
        scaled_square.__defaults__ = (2.0,)


def running_products_of_a_number(a, b):
    return np.sum(np.cumprod(np.tanh(b), axis=0) * a)


def test_the_running_product_of_a_number_is_a_vector_of_one():
    # fuzzer (Numba backend): np.cumprod of a 0-d value along axis 0 is NumPy's vector of one
    # entry; the backward function shifted along an axis the number does not have
    args = (np.array([0.35, -0.47, -0.51]), 1.03)
    symgrad.check_grads(running_products_of_a_number, args, (0, 1), modes=("rev", "fwd"))


def padded_number(a):
    return np.pad(a, (0, 2)) * 2


def test_padding_a_number_leaves_it_as_it_is():
    # fuzzer: np.pad of a 0-d value is that value; its backward function indexed a float
    symgrad.check_grads(padded_number, (-1.82,), 0, modes=("rev", "fwd"))


def test_a_product_by_minus_one_is_a_negation_either_side():
    """`x * -1.0` is `-x` (exactly, a zero's sign included), as `-1.0 * x` was: the tangent of
    1 / sqrt(u) wrote `-a * b / c * -1.0 / c`, now `a * b / c / c`."""

    def f(x):
        return np.sum(np.sin(x) * -1.0 + -1.0 * np.cos(x))

    x = np.array([0.0, 0.5, -1.5])
    g = symgrad.value_and_grad(f)
    value, grad = g(x)
    assert value == f(x) and np.array_equal(grad, -np.cos(x) + np.sin(x))
    assert "-1" not in g.source.split("def value_and_grad_f")[1], g.source


@pytest.mark.parametrize(
    "body",
    [
        # `for`: a name its index reads was taken for one the loop binds, so that after the loop
        # `np` (or `idx`) was "bound only inside the loop"
        "for k in range(2):\n        y[np.array([0, 2])] = x[k : k + 2] * y[1]\n"
        "        y[idx] = y[idx] + x[k]",
        # `if`: ... and for one each branch must bind
        "if x[0] > 0:\n        y[np.array([0, 2])] = x[:2]\n    else:\n        y[idx] = x[2]",
    ],
)
def test_an_element_assignment_binds_its_array_not_the_names_its_index_reads(body, make_fn):
    m = make_fn(
        f"def f(x):\n    idx = 1\n    y = np.ones(3)\n    {body}\n"
        "    return np.sum(y * np.arange(1.0, 4.0)) + x[idx] * np.sum(x)\n"
    )
    symgrad.check_grads(m.f, [rng.uniform(0.5, 1.5, (4,))], 0, modes=("rev", "fwd"))


def test_int_of_a_length_is_an_int_known_with_the_shapes(make_fn):
    # `int(len(x) / 2)` was refused ("cannot differentiate a call to int"): a length computed
    m = make_fn(
        "def f(x):\n    k = int(len(x) / 2)\n    m = int(np.sqrt(x.size))\n"
        "    return np.sum(x[:k] ** 2) + float(k) * x[-1] + np.sum(x[:m] * x[-m:])\n"
    )
    x = rng.uniform(-1, 1, (9,))
    symgrad.check_grads(m.f, [x], 0, modes=("rev", "fwd"))
    grad = symgrad.grad(m.f)
    grad(x)
    assert "x[:4]" in grad.source  # k known when specialised


def test_the_gradient_of_det_at_a_singular_matrix_is_its_adjugate(make_fn):
    # det's backward function was det(A) A⁻ᵀ, and np.linalg.inv raised LinAlgError at a singular
    # A, whose gradient (the adjugate's transpose, a polynomial in A) exists
    m = make_fn("def f(a):\n    return np.linalg.det(a) * np.sum(a)\n")
    singular = np.array([[[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, -1.0, 2.0]], np.eye(3)])
    symgrad.check_grads(m.f, [singular], 0, modes=("rev", "fwd"))
    det = make_fn("def f(a):\n    return np.linalg.det(a)\n").f
    pair = np.array([[1.0, 2.0], [2.0, 4.0]])
    np.testing.assert_allclose(symgrad.grad(det)(pair), [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)


def test_a_squared_norm_at_zero_has_a_gradient(make_fn):
    # the chain rule wrote (2 n) / n for the derivative of n ** 2, n = np.linalg.norm(x): NaN
    # at x = 0 (an L2 penalty on weights that start at zeros); (a * d ** k) / d is a * d ** (k - 1)
    m = make_fn(
        "def f(w, x):\n"
        "    return np.sum(np.linalg.norm(x * w, axis=1) ** 2) + 0.1 * np.linalg.norm(w) ** 3\n"
    )
    w, x = np.zeros(3), rng.uniform(-1, 1, (4, 3))
    x[1] = 0.0
    gw, gx = symgrad.grad(m.f, argnums=(0, 1))(w, x)
    np.testing.assert_array_equal(gw, 2 * np.sum(x * x * w, axis=0))
    np.testing.assert_array_equal(gx, np.zeros_like(x))
    symgrad.check_grads(m.f, [w + 0.5, x + 0.1], (0, 1), modes=("rev", "fwd"))
    grad = symgrad.grad(m.f)
    grad(w, x)
    assert "/" not in grad.source.split("def grad_f")[1]  # no quotient left


def test_a_squared_norm_at_zero_has_a_derivative_in_every_transform(make_fn):
    # only grad cancelled (2 n) / n: vjp's and jacrev's `v / n * (2 * n)` and forward mode's
    # `2 n * (s / n)` stayed NaN at x == y
    f = make_fn("def f(x, y):\n    return np.linalg.norm(x - y) ** 2\n").f
    x = np.array([1.0, 2.0])
    zero = np.zeros(2)
    value, pullback = symgrad.vjp(f, x, x)
    np.testing.assert_array_equal(pullback(1.0)[0], zero)
    np.testing.assert_array_equal(symgrad.jacrev(f)(x, x), zero)
    np.testing.assert_array_equal(symgrad.jacfwd(f)(x, x), zero)
    assert symgrad.jvp(f, (x, x), (np.ones(2), zero))[1] == 0.0
    np.testing.assert_allclose(symgrad.hessian(f)(x, x), 2 * np.eye(2))


def test_take_is_the_subscript_it_is(make_fn):
    # np.take and x.take were refused
    m = make_fn(
        "def f(E, x, idx):\n"
        "    rows = np.take(E, idx, axis=0)\n"
        "    cols = E.take([0, 2], axis=-1)\n"
        "    picked = np.take(x, [3, 0, 3, 1])[:, None]\n"
        "    return np.sum(rows ** 2) + np.sum(cols * picked) + E.take(4)\n"
    )
    E, x = rng.standard_normal((4, 3)), rng.standard_normal(4)
    idx = np.array([1, 1, 3])  # (a repeat: its cotangents add up)
    symgrad.check_grads(m.f, [E, x, idx], (0, 1), modes=("rev", "fwd"))
    assert symgrad.value_and_grad(m.f)(E, x, idx)[0] == pytest.approx(m.f(E, x, idx), rel=1e-12)


def test_average_with_and_without_weights(make_fn):
    # np.average was refused
    m = make_fn(
        "def f(a, w, v):\n"
        "    return (np.average(a) + np.sum(np.average(a, axis=1, weights=w))\n"
        "            + np.sum(np.average(a, axis=0, weights=v, keepdims=True))\n"
        "            + np.average(a, weights=a ** 2))\n"
    )
    a = rng.uniform(0.5, 1.5, (3, 4))
    w, v = rng.uniform(0.5, 1.5, 4), rng.uniform(0.5, 1.5, 3)
    symgrad.check_grads(m.f, [a, w, v], (0, 1, 2), modes=("rev", "fwd"))
    assert symgrad.value_and_grad(m.f)(a, w, v)[0] == pytest.approx(m.f(a, w, v), rel=1e-12)
    with pytest.raises(symgrad.SymgradError, match="returned=True"):
        symgrad.grad(make_fn("def g(a):\n    return np.average(a, returned=True)[0]\n").g)(a)


@pytest.mark.parametrize(
    "body",
    [
        "np.sum(np.pad(x, (k, 1)) ** 2)",
        "np.sum(np.sum(x[None, :] * x[:, None], axis=(0, k)) ** 2)",
        "np.sum(np.transpose(x[None, :] * x[:, None], (k, 1 - k))[0] ** 2)",
    ],
)
def test_an_int_argument_inside_a_static_tuple_is_compiled_as_its_value(body, make_fn):
    # the int's Value leaked into the emitted code (`pad_width=(Value(1), 1)`: NameError) or
    # crashed a shape rule (TypeError); then refused; now k is compiled as the constant given
    m = make_fn(f"def f(x, k):\n    return {body}\n")
    x = rng.standard_normal(4)
    assert symgrad.jit(m.f)(x, 1) == pytest.approx(m.f(x, 1), rel=1e-12)
    symgrad.check_grads(m.f, (x, 1), 0, modes=("rev", "fwd"))
    with pytest.raises(symgrad.SymgradError, match="must be a constant known when"):
        symgrad.grad(m.f)(x, 1.0)  # (a float is no constant)


def test_a_roll_by_a_tuple_of_computed_ints(make_fn):
    # its backward function negated the tuple: `np.roll(g, -(k, 1))`, a TypeError
    m = make_fn(
        "def f(x, k):\n"
        "    return np.sum(np.roll(x, (k, 1), axis=(0, 1)) * np.arange(x.size).reshape(x.shape))\n"
    )
    x = rng.standard_normal((2, 3))
    for k in (1, -2):
        symgrad.check_grads(m.f, [x, k], 0, modes=("rev", "fwd"))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_power_of_a_computed_int_at_zero(backend, make_fn):
    # Numba's power of an int exponent raised ZeroDivisionError at x = 0 (x ** (n - 1) in the
    # gradient at n = 0, x ** n itself at n < 0), where NumPy gives inf
    if backend == "numba":
        pytest.importorskip("numba")
    f = make_fn("def f(x, n):\n    return np.sum(x ** n)\n").f
    x = np.array([0.0, 2.0])
    with np.errstate(divide="ignore", invalid="ignore"):  # (0.0 ** -1.0, masked: NumPy warns)
        np.testing.assert_array_equal(symgrad.grad(f, backend=backend)(x, 0), [0.0, 0.0])
        assert symgrad.jit(f, backend=backend)(x, -1) == np.inf
    symgrad.check_grads(f, [x + 0.5, 3], 0, backend=backend)


def test_a_saved_module_keeps_the_trailing_defaults(make_fn, tmp_path):
    # `def grad_f(x, k, flag)`: the saved module could not be called as f is, without flag
    m = make_fn(
        "def f(x, k, flag=True, scale=2.0):\n"
        "    return np.sum(x[:k] ** 2) * scale if flag else np.sum(x)\n"
    )
    g = symgrad.grad(m.f)
    path = tmp_path / "grad_f.py"
    g.save(str(path))
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    assert "def grad_f(x, k, flag=True, scale=2.0):" in path.read_text()
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(namespace["grad_f"](x, 2), g(x, 2))
    np.testing.assert_array_equal(namespace["grad_f"](x, 2, False), g(x, 2, False))
    hessian = symgrad.hessian(m.f)  # (a Jacobian's driver too)
    hessian.save(str(path))
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    np.testing.assert_array_equal(namespace["hessian_f"](x, 2), hessian(x, 2))


def test_sincs_derivative_near_zero_is_accurate(make_fn):
    # (cos πx − sinc x) / x lost every digit to cancellation at x = 1e-8 (-2.2e-8, not -3.3e-8)
    f = make_fn("def f(x):\n    return np.sum(np.sinc(x))\n").f
    x = np.array([1e-8, -1e-5, 1e-3, 0.0, 0.3])
    p = np.pi * x
    want = np.where(x == 0, 0.0, (np.cos(p) - np.sinc(x)) / np.where(x == 0, 1.0, x))
    want[:3] = -(np.pi**2) / 3 * x[:3] + np.pi**4 / 30 * x[:3] ** 3  # (the series, there)
    np.testing.assert_allclose(symgrad.grad(f)(x), want, rtol=1e-9, atol=0)


def test_average_along_an_axis_an_argument_gives(make_fn):
    # refused by name ("np.average's axis must be an int known"), then compiled for its value
    m = make_fn("def f(a, w, k):\n    return np.sum(np.average(a, axis=k, weights=w) ** 2)\n")
    a, w = rng.uniform(0.5, 1.5, (2, 3)), rng.uniform(0.5, 1.5, 3)
    symgrad.check_grads(m.f, (a, w, 1), (0, 1))
    with pytest.raises(symgrad.SymgradError, match="np.average's axis must be an int known"):
        symgrad.grad(m.f)(a, w, np.ones(2))  # (an array is no constant)


def test_a_write_through_asarray_with_a_dtype_is_refused(make_fn):
    # np.asarray(a, dtype=float) is a itself for a float64 a: the write to b changed a in NumPy
    # but not in symgrad (14.18 against 2.02)
    m = make_fn(
        "def f(x):\n    a = x * 1.0\n    b = np.asarray(a, dtype=float)\n"
        "    b[0] = 5.0 * x[1]\n    return np.sum(a ** 2)\n"
    )
    with pytest.raises(symgrad.SymgradError, match="np.asarray on line .* gives the same array"):
        symgrad.grad(m.f)(np.array([0.3, -0.7, 1.2]))
    reads = make_fn("def g(x):\n    return np.sum(np.asarray(x * 2.0, dtype=float) ** 2)\n").g
    symgrad.check_grads(reads, [np.array([0.3, -0.7, 1.2])], 0, modes=("rev", "fwd"))


def test_p_norms_of_vectors(make_fn):
    # np.linalg.norm(w, 1) (an L1 penalty) and norm(v, ord=2) of a vector were refused
    m = make_fn(
        "def l1(w):\n    return np.linalg.norm(w, 1) + np.linalg.norm(w, ord=2)\n\n\n"
        "def rows(a):\n    return np.sum(np.linalg.norm(a, np.inf, axis=1) + "
        "np.linalg.norm(a, 3, axis=1))\n"
    )
    rng = np.random.default_rng(2)
    symgrad.check_grads(m.l1, (rng.standard_normal(5),), modes=("rev", "fwd"))
    symgrad.check_grads(m.rows, (rng.standard_normal((3, 4)),), modes=("rev", "fwd"))
    with pytest.raises(symgrad.SymgradError, match=r"\.py:4:\d+: np.linalg.norm.* matrix norm"):
        symgrad.grad(m.l1)(np.ones((2, 3)))  # (where it is written, the matrix's shape known)


@pytest.mark.parametrize(
    "body",
    ["return np.sum(np.linspace(0.0, c, 5) ** 2)", "return np.sum(np.arange(c, c + 0.5, 0.1))"],
)
def test_a_constructor_of_a_differentiated_value_is_refused_not_zero(make_fn, body):
    # np.linspace's bounds and np.arange's start passed no gradient (nor did np.full's fill
    # value, now differentiated): d/dc of sum(full(3, c) * [0, 1, 2]) was 0.0, silently
    f = make_fn(f"def f(c):\n    {body}\n").f
    with pytest.raises(symgrad.NotDifferentiableError, match="no derivative of np"):
        symgrad.grad(f)(0.7)
    with pytest.raises(symgrad.NotDifferentiableError):
        symgrad.jvp(f, (0.7,), (1.0,))


def test_constructors_of_constants_and_lengths_are_differentiated_past(make_fn):
    m = make_fn(
        "def f(x):\n    n = x.shape[0]\n    return np.sum(x * np.arange(n)) + "
        "np.sum(np.linspace(0, 1, n) * x) + np.sum(np.full(n, 2.0) * x) + "
        "np.sum(np.full_like(x, 3.0) * x)\n\n\n"
        "def filled(c, x):\n    return np.sum(np.full(3, c) * x) + "
        "np.sum(np.full_like(x, fill_value=c) ** 2)\n"
    )
    symgrad.check_grads(m.f, (np.array([0.5, 1.0, 2.0]),), modes=("rev", "fwd"))
    symgrad.check_grads(m.filled, (0.7, np.array([0.5, 1.0, 2.0])), (0, 1), modes=("rev", "fwd"))


def test_a_fill_value_with_leading_axes_of_length_one(make_fn):
    # found by the fuzzer: np.full(3, b) of b of shape (1, 3) summed b's cotangent over every
    # entry ([[111, 111, 111]] for [[1, 10, 100]]), and its JVP raised ValueError
    m = make_fn(
        "def f(b, c):\n    return np.sum(np.full(3, b) * c) + np.sum(np.full_like(c, b) ** 2)\n"
    )
    b, c = np.array([[0.5, -1.0, 2.0]]), np.array([1.0, 10.0, 100.0])
    symgrad.check_grads(m.f, (b, c), (0, 1), modes=("rev", "fwd"))


def test_constants_of_zero_of_either_sign_are_two_values(make_fn):
    # CSE took 0.0 and -0.0 for one constant (0.0 == -0.0): arctan2(-0.0, y) became
    # arctan2(0.0, y), pi for -pi, silently
    f = make_fn(
        "def f(x, y):\n    return np.sum(x * np.arctan2(0.0, y) + x ** 2 * np.arctan2(-0.0, y))\n"
    ).f
    x, y = np.array([0.5, 1.5]), -np.ones(2)
    np.testing.assert_allclose(symgrad.grad(f)(x, y), np.pi - 2 * np.pi * x)


def test_numpy_scalars_read_from_containers_are_numbers(make_fn):
    # "float32 is not an array": a NumPy scalar from a dict (a global one, or a static leaf
    # of a container argument) was refused where one a global name held was folded
    m = make_fn(
        "CFG = {'s': np.float32(2.0), 'n': np.int64(3)}\n\n\n"
        "def f(x):\n    return np.sum(x * CFG['s']) * CFG['n']\n\n\n"
        "def g(p, x):\n    return np.sum(x * p['k']) + p['k'] * 2\n"
    )
    x = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(symgrad.grad(m.f)(x), 6.0)
    np.testing.assert_allclose(symgrad.grad(m.g, argnums=1)({"k": np.int64(3)}, x), 3.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_int_to_a_negative_int_power_is_pythons_float(make_fn, backend):
    # Numba's power of two ints is an int: (i + 1) ** -2 was 0 in a compiled loop, and the
    # value and gradient silently wrong (0.3 and [1, 0, 0] for 0.497 and [1, 0.25, 0.111])
    m = make_fn(
        """
        def f(x):
            s = 0.0
            for i in range(x.shape[0]):
                s = s + x[i] * (i + 1) ** -2 + x[i] * pow(i + 2, -1)
            return s

        def g(x, k):
            return np.sum(np.sin(x) * k ** -1 + x)
        """
    )
    x = np.array([0.3, 0.7, 0.2])
    value, grad = symgrad.value_and_grad(m.f, backend=backend)(x)
    assert value == pytest.approx(m.f(x), rel=1e-12)
    np.testing.assert_allclose(grad, 1.0 / np.arange(1, 4) ** 2 + 1.0 / np.arange(2, 5))
    # an array of ints: NumPy refuses it when it runs, symgrad where it is written
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="write a float exponent"):
        symgrad.grad(m.g, backend=backend)(x, np.array([1, 2, 3]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_loop_total_that_starts_as_an_int_is_differentiated(make_fn, backend):
    # the backward loop fitted the cotangent of the int the total starts as to int, which
    # raised "no gradient with respect to an array of int64" for a float argument's gradient
    m = make_fn(
        """
        def product(x, k):
            s = k[0]
            for i in range(x.shape[0]):
                s = s * x[i]
            return s

        def rnn(W, h0):
            h = h0
            for t in range(3):
                h = np.tanh(W @ h)
            return np.sum(h)
        """
    )
    x, k = np.array([0.5, 2.0]), np.array([2, 3])
    np.testing.assert_allclose(symgrad.grad(m.product, backend=backend)(x, k), [4.0, 1.0])
    W = np.random.default_rng(0).standard_normal((3, 3)) * 0.5
    h0 = np.array([1, 2, 0])
    symgrad.check_grads(m.rnn, (W, h0), 0)
    np.testing.assert_allclose(
        symgrad.grad(m.rnn, backend=backend)(W, h0), symgrad.grad(m.rnn)(W, h0)
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_float_of_a_value_is_pythons_float(make_fn, backend):
    # float(n) was np.positive(n): an int stayed an int (float(n) ** -1 raised "Integers to
    # negative integer powers"), and a NumPy int64 made x32 * float(n) a float64
    m = make_fn(
        """
        def inverse(x, n):
            return x[0] * float(n) ** -1 + float(x[1]) * np.sum(x) + float(np.sum(x ** 2)) * x[0]

        def weighted(x):
            s = 0.0
            for i in range(x.shape[0]):
                s = s + float(i) * x[i]
            return s
        """
    )
    x = np.array([0.3, 0.7])
    value, grad = symgrad.value_and_grad(m.inverse, backend=backend)(x, 2)
    assert value == pytest.approx(m.inverse(x, 2), rel=1e-12)
    symgrad.check_grads(m.inverse, (x, 2), 0, modes=("rev", "fwd"))
    assert symgrad.value_and_grad(m.weighted, backend=backend)(x)[0] == pytest.approx(0.7)
    x32 = x.astype(np.float32)
    assert symgrad.value_and_grad(m.weighted, backend=backend)(x32)[0].dtype == np.float32
    assert symgrad.jit(m.inverse, backend=backend)(x32, 2).dtype == m.inverse(x32, 2).dtype


def test_a_helper_that_fills_an_array_and_returns_nothing_is_inlined(make_fn):
    # "function fill does not return a value on every path": a helper with no return
    # returns None, as Python's does
    m = make_fn(
        """
        def fill(buf, v):
            buf[0] = v * 2

        def f(x):
            b = np.zeros(2)
            fill(b, x[0])
            return np.sum(b * x)

        def uses_none(x):
            y = fill(np.zeros(2), x[0])
            return y * 2
        """
    )
    x = np.array([1.5, 2.0])
    assert symgrad.value_and_grad(m.f)(x)[0] == pytest.approx(m.f(x))
    symgrad.check_grads(m.f, (x,), 0, modes=("rev", "fwd"))
    with pytest.raises(symgrad.SymgradError, match="NoneType"):
        symgrad.grad(m.uses_none)(x)
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="does not return a value"):
        symgrad.grad(m.fill)(x, 1.0)  # the function differentiated must return one


@pytest.mark.parametrize("backend", BACKENDS)
def test_special_functions_of_float32_are_float32(make_fn, backend):
    # scipy.special's gammaln, erf and digamma of float32 are float32; symgrad's were float64
    pytest.importorskip("scipy")
    m = make_fn(
        """
        from scipy.special import digamma, erf, gammaln

        def f(x):
            return np.sum(gammaln(x)) + np.sum(erf(x) * x) + np.sum(digamma(x))
        """
    )
    x = np.array([1.5, 2.5], np.float32)
    value, grad = symgrad.value_and_grad(m.f, backend=backend)(x)
    assert value.dtype == grad.dtype == np.float32 and value == pytest.approx(m.f(x), rel=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_mask_squared_is_numpys_int8(make_fn, backend):
    # m ** 2 of bools is np.square(m), int8, in NumPy; symgrad typed it as np.power's int64,
    # so a float32 result came back a float64 on the Numba backend
    m = make_fn("def f(x, m):\n    return np.sum(np.exp(x) * m + m ** 2 * x)\n")
    x, mask = np.ones(3, np.float32), np.array([True, False, True])
    value, grad = symgrad.value_and_grad(m.f, backend=backend)(x, mask)
    assert value.dtype == grad.dtype == np.float32
    assert value == pytest.approx(m.f(x, mask), rel=1e-6)


def test_stacking_items_of_different_shapes_and_returning_none_are_refused(make_fn):
    # np.stack's ValueError of a ragged list reached the user; `return fill(out, x)` of a
    # helper returning nothing gave a gradient of zeros
    m = make_fn(
        """
        def ragged(x):
            M = [[x[i] * x[j] for j in range(i + 1)] for i in range(3)]
            return M[2][1] * M[1][0]

        def fill(out, x):
            out[:] = x * 2

        def nothing(x):
            out = np.zeros_like(x)
            return fill(out, x)
        """
    )
    x = np.arange(1.0, 4.0)
    with pytest.raises(symgrad.SymgradError, match="different shapes"):
        symgrad.grad(m.ragged)(x)
    with pytest.raises(symgrad.SymgradError, match="returns None"):
        symgrad.grad(m.nothing)(x)


def _cast_by(x, dt):
    y = (x * 10.0).astype(dt)
    return np.sum(y * x)


def _cast_only(x, dt):
    y = x.astype(dt)
    return np.sum(y * y)


def test_a_dtype_given_as_an_argument_decides_the_cast_and_its_own_specialisation():
    """x.astype(dt) of a dt given when the function runs: to an integer dtype, a string or
    np.dtype one too, nothing flows back through the cast (it flowed as through a float
    cast); and int, float, np.float32 and np.float64 are told apart by the specialisations'
    keys (every class had one key: a module for float ran for int)."""
    x = np.linspace(0.11, 1.0, 5)
    truth = {"int": np.floor(10 * x), "float": 20 * x}
    g = symgrad.grad(_cast_by)
    for dt, kind in [
        (float, "float"), (int, "int"), ("int64", "int"), (np.dtype("int32"), "int"),
        ("float64", "float"), (np.float64, "float"), (np.int64, "int"),
    ]:  # fmt: skip
        np.testing.assert_allclose(g(x, dt), truth[kind], rtol=1e-12, err_msg=repr(dt))
        _, tangent = symgrad.jvp(_cast_by, (x, dt), (np.ones(5), None))
        assert tangent == pytest.approx(np.sum(truth[kind]), rel=1e-12), dt
    j = symgrad.jit(_cast_only)
    assert j(x, np.float32).dtype == np.float32 and j(x, np.float64).dtype == np.float64


def _elementwise_square(A):
    return np.sum(A * A)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_an_np_matrix_argument_is_refused():
    """np.matrix's * is a matrix product: the module's elementwise code gave another value
    (silently, for a square one)."""
    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    for transform in (symgrad.grad, symgrad.jit, symgrad.jacfwd, symgrad.hessian):
        with pytest.raises(symgrad.SymgradError, match="np.asarray"):
            transform(_elementwise_square)(m)
    with pytest.raises(symgrad.SymgradError, match="np.asarray"):
        symgrad.jvp(_elementwise_square, (m,), (np.ones((2, 2)),))


def _sqrt_where_positive(x):
    return np.sum(np.where(x > 0, np.sqrt(x), 0.0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_masked_cotangent_of_float32_keeps_the_branch_not_taken_out(backend):
    """`where(c, 1.0, 0.0) * (0.5 / sqrt(x))`: at x < 0 the mask's 0 times the NaN of the branch
    np.where did not take was NaN in float32 (float64 wrote `where(c, 0.5 / sqrt(x), 0.0)`)."""
    x = np.array([0.5, -0.3, 1.2])
    want = np.where(x > 0, 0.5 / np.sqrt(np.abs(x)), 0.0)
    for dtype in (np.float64, np.float32):
        with np.errstate(invalid="ignore"):
            g = symgrad.grad(_sqrt_where_positive, backend=backend)(x.astype(dtype))
        assert g.dtype == dtype
        np.testing.assert_allclose(g, want, rtol=1e-6)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_an_np_matrix_anywhere_among_the_arrays_is_refused():
    """In a container, as a cotangent or tangent, under vjp, linearize and vmap too."""
    m, a = np.matrix([[1.0, 2.0], [3.0, 4.0]]), np.ones((2, 2))
    cases = [
        lambda: symgrad.grad(_elementwise_square_of_dict)({"A": m}),
        lambda: symgrad.vjp(_elementwise_square, m),
        lambda: symgrad.linearize(_elementwise_square, m),
        lambda: symgrad.vmap(_elementwise_square)(m),
        lambda: symgrad.vjp(_elementwise_double, a)[1](m),
        lambda: symgrad.jvp(_elementwise_square, (a,), (m,)),
    ]
    for case in cases:
        with pytest.raises(symgrad.SymgradError, match="np.asarray"):
            case()


def _elementwise_square_of_dict(p):
    return np.sum(p["A"] * p["A"])


def _elementwise_double(A):
    return A * 2.0


def _narrow_total(k):
    s = k[0] * 0
    for i in range(k.shape[0]):
        s = s + k[i] * 3
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_narrow_int_carried_through_a_loop_wraps_as_pythons(backend):
    """The loop's int8 total wraps (-124); as a sum it was an int64 (300 + ...)."""
    k = np.array([100, 100, 100], dtype=np.int8)
    with np.errstate(over="ignore"):
        got, want = symgrad.jit(_narrow_total, backend=backend)(k), _narrow_total(k)
    assert got == want and got.dtype == want.dtype == np.int8


def _negated_unsigned(x, u):
    return np.sum(x * (-u) + x) + np.sum((-u) + x)


def test_a_negated_unsigned_or_narrow_int_wraps_before_it_meets_a_float():
    """-u of a uint8 u wraps (3 -> 253) before x * (-u) or (-u) + x: `x - u` and `1 - u`, as
    the simplifier had it, were silently other values and gradients (both backends)."""
    x = np.array([0.5, 1.5, 2.5])
    for u in (np.array([3, 0, 200], np.uint8), np.array([-128, 5, 100], np.int8)):
        value, g = symgrad.value_and_grad(_negated_unsigned)(x, u)
        assert value == _negated_unsigned(x, u)
        np.testing.assert_array_equal(g, (-u).astype(float) + 2)


def _negated_in_vmap(x, u):
    wrapped = np.sum(x - (-u)) + np.sum(x * (-u + 1.5)) + np.sum(x - (-u * 2))
    return wrapped + np.sum(x - (-u) * 0.5) + np.sum(x - (-u * 2) * 0.5)  # (a float product)


def test_a_negated_narrow_int_wraps_under_vmap_too():
    """vmap's graphs have no dtypes: `x - (-u)` was `x + u`, `-u + 1.5` was `1.5 - u`, and
    `x - (-u) * 0.5` was `x + u * 0.5`."""
    x = np.array([[0.5, 1.5], [1.0, 2.0]])
    for u in (np.array([-128, 64], np.int8), np.array([40000, 1], np.uint16)):
        got = symgrad.vmap(_negated_in_vmap, in_axes=(0, None))(x, u)
        np.testing.assert_array_equal(got, [_negated_in_vmap(row, u) for row in x])


def _scaled_twice(x, u):
    return np.sum(u * 2 * 0.5 * x) + np.sum(x * (0.5 * (2 * u))) + np.sum((2 * u) * (0.5 * x))


@pytest.mark.parametrize("backend", BACKENDS)
def test_constants_are_not_gathered_across_a_narrow_ints_product(backend):
    """2 * u of a uint8 u wraps (200 -> 144) before 0.5 meets it: `u * 2 * 0.5` was `u * 1.0`."""
    x, u = np.array([1.0, 2.0]), np.array([200, 3], np.uint8)
    value, g = symgrad.value_and_grad(_scaled_twice, backend=backend)(x, u)
    assert value == _scaled_twice(x, u)
    np.testing.assert_array_equal(g, 3 * (u * 2 * 0.5))


def _masked_by_argument(s, mask):
    s = s.copy()
    s[~mask] = -np.inf
    return np.sum(np.exp(s - s.max()))


def test_the_inverse_of_a_mask_given_as_an_argument():
    """`~mask` of a boolean argument (attention's masking) was refused: it is Python's `~`."""
    s, mask = np.array([0.1, 0.5, 0.2]), np.array([True, False, True])
    symgrad.check_grads(_masked_by_argument, (s, mask), (0,))
    assert symgrad.jit(_masked_by_argument)(s, mask) == _masked_by_argument(s, mask)


def _trajectory(x, w):
    hs = [w]
    for i in range(len(x)):
        hs.append(w * x[i])
    return np.sum(np.stack(hs) ** 2) + np.sum(np.concatenate(hs)) * len(hs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_trajectory_of_a_loop_that_runs_no_step(backend):
    """x[i] of an empty x had no Aval, so the appended rows had no shape: `np.stack([])` raised
    ValueError where Python stacks the first item alone."""
    x, w = np.zeros(0), np.array([1.0, 2.0])
    assert symgrad.jit(_trajectory, backend=backend)(x, w) == _trajectory(x, w)
    np.testing.assert_array_equal(symgrad.grad(_trajectory, 1, backend=backend)(x, w), 2 * w + 1)


def _means_of_empty(x):
    centred = x - np.mean(x, axis=-1, keepdims=True)
    return np.mean(np.exp(x) * x) + np.sum(centred**2) + (x**2).sum(axis=-1).mean()


def _cumulative(x):
    return np.cumsum(x**2) + np.sort(x) ** 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_arrays_differentiate(backend, tmp_path):
    """A mean's gradient of an empty array divided Python numbers by a count of 0 (1.0 / 0,
    0 / 0 of size(a) / size(ans): ZeroDivisionError where the function gives NaN), and a
    Jacobian of no columns stacked none (cumsum's, sort's: `np.stack([])` raised)."""
    for x in (np.zeros(0), np.zeros((0, 3)), np.zeros((2, 0))):
        value, g = symgrad.value_and_grad(_means_of_empty, backend=backend)(x)
        np.testing.assert_equal(value, _means_of_empty(x))
        assert g.shape == x.shape
    saved = {}
    exec(compile(symgrad.emit_module(_means_of_empty), str(tmp_path / "m.py"), "exec"), saved)
    assert saved["grad__means_of_empty"](np.zeros((0, 3))).shape == (0, 3)
    for jacobian in (symgrad.jacrev, symgrad.jacfwd):
        assert jacobian(_cumulative, backend=backend)(np.zeros(0)).shape == (0, 0)
    assert symgrad.hessian(_sort_cubed, backend=backend)(np.zeros(0)).shape == (0, 0)


def _sort_cubed(x):
    return np.sum(np.sort(x) ** 3)


def _scaled_by_depth(params, x):
    n = len(params["layers"])
    for i, layer in enumerate(params["layers"]):
        x = np.tanh(layer["W"] @ x) if i < n - 1 else layer["W"] @ x
    return np.sum(x) * len(params)


def test_len_of_a_list_of_layers():
    """len() of a list of dicts was refused: 'dict is not an array'."""
    rng = np.random.default_rng(0)
    params = {"layers": [{"W": rng.standard_normal((3, 3))} for _ in range(3)]}
    x = rng.standard_normal(3)
    symgrad.check_grads(_scaled_by_depth, (params, x), (0, 1))


def _total_as_aux(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] ** 2
    return s, {"s": s}


def test_a_number_returned_twice_stays_a_number():
    """The value returned again as aux was copied, and np.copy of np.float64 is a 0-d array."""
    x = np.array([1.0, 2.0, 3.0])
    (value, aux), _ = symgrad.value_and_grad(_total_as_aux, has_aux=True)(x)
    assert type(value) is type(aux["s"]) is np.float64 and value == aux["s"] == 14.0
    twice = symgrad.grad(_scaled_twice_by, argnums=(0, 0))(1.5, 2.0)
    assert twice == (2.0, 2.0) and all(type(g) is float for g in twice)


def _scaled_twice_by(a, b):
    return a * b


@pytest.mark.parametrize("backend", BACKENDS)
def test_constants_are_gathered_only_where_that_computes_the_same_floats(make_fn, backend):
    """`x * 0.1 * 10.0` is not `x * 1.0` (nor `x * 1e300 * 1e-300`, which overflows, `x`):
    constants gather only where one is a power of two (`0.5 * (2 * y)` is `1.0 * y`)."""
    mod = make_fn(
        """
        def tenth(x):
            return np.sum(x * 0.1 * 10.0 - x)

        def huge(x):
            return np.sum(x * 1e300 * 1e-300)
        """
    )
    for x in (np.array([3.0, 0.7, 1.1]), np.array([0.7, -0.2, 1.3], dtype=np.float32)):
        value, _ = symgrad.value_and_grad(mod.tenth, backend=backend)(x)
        assert value == mod.tenth(x) and value != 0
    with np.errstate(over="ignore"):
        x = np.array([1e10, 2.0])
        assert symgrad.value_and_grad(mod.huge, backend=backend)(x)[0] == np.inf == mod.huge(x)


def test_the_functions_own_products_keep_their_order(make_fn):
    """`x * 2.0 * 0.5` of 1e308 overflows in NumPy's order: the value is inf, not x; the
    backward pass still gathers (`-0.5 * z**2`'s cotangent is `-z`)."""
    mod = make_fn(
        "def f(x):\n    return np.sum(x * 2.0 * 0.5)\n\ndef g(z):\n    return np.sum(-0.5 * z**2)\n"
    )
    with np.errstate(over="ignore"):
        assert symgrad.value_and_grad(mod.f)(np.array([1e308, 1.0]))[0] == np.inf
    grad_g = symgrad.grad(mod.g)
    grad_g(np.ones(3))
    assert "z_bar = -z" in grad_g.source, grad_g.source


@pytest.mark.parametrize("backend", BACKENDS)
def test_tile_and_repeat_take_a_bool_count(make_fn, backend):
    """`np.tile(x, True)` is one tile, as NumPy reads it (its backward pass had raised
    TypeError in np.reshape)."""
    mod = make_fn(
        """
        def tiled(x, k):
            return np.sum(np.tile(x, (k, 2)) ** 2) + np.sum(np.tile(x, k) ** 3)

        def repeated(x, k):
            return np.sum(np.repeat(x, k) ** 2)
        """
    )
    x = np.array([0.5, -1.0, 2.0])
    for fn in (mod.tiled, mod.repeated):
        for k in (True, np.True_, False):
            check_grads(fn, (x, k), backend=backend)


def test_reshape_and_ravel_take_c_order_and_refuse_another(make_fn):
    """order="C" (NumPy's default, written out) was refused: "unexpected keyword argument"."""
    mod = make_fn(
        """
        def c_order(x):
            y = x.reshape(2, 2, order="C")
            return np.sum(y.ravel(order="C") ** 2) + np.sum(np.reshape(x, (4,), "C") ** 3)

        def f_order(x):
            return np.sum(np.ravel(x.reshape(2, 2), "F")[:2])
        """
    )
    x = np.array([0.5, -1.0, 0.3, 0.2])
    check_grads(mod.c_order, (x,))
    with pytest.raises(symgrad.SymgradError, match=r"np.ravel\(..., order='F'\) is not supported"):
        symgrad.grad(mod.f_order)(x)


def test_an_einsum_broadcasting_a_summed_length_1_axis_differentiates(make_fn):
    # found by the rule-table fuzzer: the cotangent of `a @ b` (4, 3) from 'ij,ij' against an
    # a of (4, 1) was (4, 1), and the matmul's backward function raised NumPy's "mismatch in
    # its core dimension"
    m = make_fn("def f(a, b):\n    return np.sinc(np.einsum('ij,ij', a, np.dot(a, b)))\n")
    args = (np.array([[0.15], [-0.27], [1.32], [-0.13]]), np.array([[-0.55, 1.6, -0.56]]))
    assert symgrad.jit(m.f)(*args) == pytest.approx(m.f(*args), rel=1e-12)
    symgrad.check_grads(m.f, args, (0, 1), modes=("rev", "fwd"))
