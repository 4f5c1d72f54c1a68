"""An argument that is no array and no float, where a NumPy function takes it as a constant
(`def f(x, axis=-1)` passing it on as an axis, `np.diff(x, n)`), is compiled as that constant,
for its value (as `jax.jit`'s static arguments): each was refused ("must be a constant known
when the function is compiled"). Other int arguments (a loop's trip count) stay arguments."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from tests.conftest import BACKENDS


def softmax(z, axis=-1):
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def squared_softmax(x, axis=-1):
    return np.sum(softmax(x, axis) ** 2 * x)


def differences(x, axis, n, steps):
    s = np.sum(np.diff(np.max(x, axis=axis), n) ** 2)
    for _ in range(steps):
        s = s * 0.5
    return s


def diffs(x, n):
    return np.diff(x, n)


def of_parameters(params, x, axis):
    return np.sum(np.max(params["w"] * x, axis=axis) ** 2)


RNG = np.random.default_rng(3)
X = RNG.standard_normal((4, 5))


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_axis_given_as_an_argument_is_compiled_for_its_value(backend):
    g = symgrad.grad(squared_softmax, backend=backend)
    for axis in (0, 1, -1):
        symgrad.check_grads(squared_softmax, (X, axis), 0, modes=("rev", "fwd"), backend=backend)
        want = symgrad.grad(_along(axis), backend=backend)(X)
        np.testing.assert_allclose(g(X, axis), want, rtol=1e-12)
    np.testing.assert_allclose(g(X), g(X, -1), rtol=1e-12)  # (its default)
    assert symgrad.jit(squared_softmax, backend=backend)(X, 0) == pytest.approx(
        squared_softmax(X, 0), rel=1e-12
    )


def _along(axis):
    """squared_softmax with the axis written in."""
    return {0: _along_0, 1: _along_1, -1: _along_1}[axis]


def _along_0(x):
    return np.sum(softmax(x, 0) ** 2 * x)


def _along_1(x):
    return np.sum(softmax(x, 1) ** 2 * x)


def test_only_the_arguments_taken_as_constants_are_compiled_as_them():
    g = symgrad.grad(differences)
    symgrad.check_grads(differences, (X, 1, 2, 3), 0, modes=("rev", "fwd"))
    g(X, 0, 1, 3)
    assert g._constants == (1, 2)  # axis and n; steps, a trip count, stays an argument
    assert "def grad_differences(x, steps):" in g.source
    assert "Compiled for the constants axis=0, n=1 (no parameters of their own" in g.source
    h = symgrad.hessian(differences)(X, 0, 1, 2).reshape(20, 20)
    np.testing.assert_allclose(h, h.T, atol=1e-12)


def test_every_transformation_takes_them():
    x = X[0]
    _, t = symgrad.jvp(differences, (X, 1, 1, 2), (X, None, None, None))
    assert t == pytest.approx(np.sum(symgrad.grad(differences)(X, 1, 1, 2) * X), rel=1e-10)
    _, vjp_fn = symgrad.vjp(differences, X, 1, 1, 2)
    np.testing.assert_allclose(vjp_fn(1.0)[0], symgrad.grad(differences)(X, 1, 1, 2))
    for jacobian in (symgrad.jacrev, symgrad.jacfwd):
        np.testing.assert_allclose(jacobian(diffs)(x, 2), np.diff(np.eye(5), 2, axis=0))
    mapped = symgrad.vmap(squared_softmax, in_axes=(0, None))(np.stack([X, 2 * X]), 0)
    np.testing.assert_allclose(mapped, [squared_softmax(X, 0), squared_softmax(2 * X, 0)])
    params = {"w": RNG.standard_normal((4, 5))}
    symgrad.check_grads(of_parameters, (params, X, 1), (0, 1))
    source = symgrad.emit_module(squared_softmax, args=(X, 0))
    assert (
        "Compiled for the constant axis=0 (no parameter" in source and "axis=0, keepdims" in source
    )


def norms(x, ord):
    return np.linalg.norm(x, ord)


def test_a_float_given_as_a_constant_is_one_and_an_axis_raises_as_numpys():
    # (a parameter that NumPy takes as a constant is one whatever its type: np.inf as ord)
    for ord in (np.inf, 3.0, 1):
        symgrad.check_grads(norms, (X[0], ord), 0, modes=("rev", "fwd"))
    with pytest.raises(TypeError):
        squared_softmax(X, 0.0)
    with pytest.raises(TypeError):  # (NumPy's error, as the function raises it)
        symgrad.grad(squared_softmax)(X, 0.0)
    with pytest.raises(symgrad.SymgradError, match="must be a constant known"):
        symgrad.emit_module(squared_softmax)  # (no call gives its value)


def with_a_weight(x, w=None, axis=0):
    s = np.sum(np.max(x, axis=axis + 0))  # (an axis computed: every int and None a constant)
    return s if w is None else s + np.sum(w * x)


def test_a_constant_given_an_array_later_is_an_argument_again():
    g = symgrad.grad(with_a_weight)
    assert g(X, None, 1).shape == X.shape and g._constants == (1, 2)
    symgrad.check_grads(with_a_weight, (X, X, 0), (0, 1))  # (was "a container argument holds
    np.testing.assert_allclose(g(X, X, 0), symgrad.grad(with_a_weight)(X, X, 0))  # a ndarray")


def cumulative(x, include_initial=False):
    y = np.cumulative_sum(x, include_initial=include_initial)
    return np.sum(y * np.arange(1.0, y.shape[0] + 1.0))


def covariance(m, bias=False):
    return np.sum(np.cov(m, bias=bias) ** 2)


def extremes(x, initial=None):
    return np.max(x, initial=initial) + np.sum(x, initial=initial) + np.min(x, initial=None)


def clipped(x, lo=None, hi=None):
    return np.sum(np.clip(x, lo, hi) ** 2)


def options(x, keepdims=False, method="linear", opt=False, n=1):
    q = np.quantile(x, 0.3, axis=0, keepdims=keepdims, method=method)
    m = np.median(x, axis=1, keepdims=keepdims)
    e = np.einsum("ij,ij->", x, x, optimize=opt)
    return np.sum(q**2) + np.sum(m**3) + e + np.sum(np.tensordot(x, x.T, n) ** 2)


def numpy_ints(x, n, sections):
    a, b = np.split(np.diff(x, np.int64(1), axis=np.int32(-1)), sections, axis=1)
    return np.sum(np.diff(a, n) ** 2) + np.sum(b)


def norm_steps(x, k):
    s = np.linalg.norm(x, k)
    for _ in range(k):
        s = s * 2.0
    return s


@pytest.mark.parametrize(
    ("fn", "args"),
    [
        (norm_steps, (X[0], np.int64(3))),
        (cumulative, (np.array([2.0, 3.0, 5.0]), False)),
        (cumulative, (np.array([2.0, 3.0, 5.0]), True)),
        (covariance, (X, False)),
        (covariance, (X, True)),
        (extremes, (X, None)),
        (extremes, (X, 0.5)),
        (clipped, (X, None, 0.5)),
        (clipped, (X, -0.5, None)),
        (clipped, (X, None, None)),
        (options, (X, False, "linear", False, 1)),
        (options, (X, True, "linear", "greedy", 1)),
        (numpy_ints, (X, np.int64(2), np.int64(2))),
    ],
)
def test_a_bool_none_string_or_numpy_int_option_decides_as_its_value(fn, args):
    # (`if not include_initial:` and `0 if bias else 1` took Python's truth of a placeholder:
    # always true, silently; initial=None gave NaN; np.clip(x, None, hi) raised in the
    # backward pass; keepdims=, method=, optimize= and an int axes count from an argument,
    # and NumPy ints as options, were refused)
    assert symgrad.jit(fn)(*args) == pytest.approx(fn(*args), rel=1e-12)
    symgrad.check_grads(fn, args, 0, modes=("rev", "fwd"))


def median_kept(x):
    return np.median(x, axis=0, keepdims=True)


def median_all_kept(x):
    return np.median(x, keepdims=True)


def quantiles_kept(x):
    return np.quantile(x, [0.1, 0.7], axis=-1, keepdims=True)


def percentile_kept(x):
    return np.percentile(x, 30, axis=1, keepdims=True)


@pytest.mark.parametrize("fn", [median_kept, median_all_kept, quantiles_kept, percentile_kept])
def test_quantiles_keep_the_dims_they_reduce(fn):
    x = RNG.standard_normal((3, 4, 5)).astype(np.float32)
    got, want = symgrad.jit(fn)(x), fn(x)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_a_dtype_given_as_an_argument_to_vjp():
    def f(x, dt):
        return np.sum(x.astype(dt) ** 2)

    x = np.array([1.0, 2.0, 3.0])
    out, back = symgrad.vjp(f, x, np.float64)  # (a TypeError reading the type's dtype)
    assert out == pytest.approx(14.0)
    np.testing.assert_allclose(back(1.0)[0], 2 * x)


ACTIVATIONS = {"tanh": np.tanh, "sin": np.sin}


def by_name(x, mode="SUM", loss="l2", act="tanh"):
    y = ACTIVATIONS[act](x) + getattr(np, act)(x)
    total = np.sum(y) if mode.lower() == "sum" else np.mean(y)
    return total + (np.sum(x**2) if loss in ("l2", "mse") else np.sum(np.abs(x)))


@pytest.mark.parametrize(
    "options", [(), ("MEAN",), ("sum", "l1", "sin"), ("Sum", "mse")], ids=lambda o: "-".join(o)
)
def test_a_string_argument_is_compiled_as_its_value(options):
    # (a string's methods, `in` a tuple of strings, a dict read by it and getattr(np, name)
    # were refused: the string was an argument of the module, read as an array)
    g = symgrad.grad(by_name)
    symgrad.check_grads(by_name, (X, *options), 0, modes=("rev", "fwd"))
    want = symgrad.grad(by_name)(X, *options)
    np.testing.assert_allclose(g(X, *options), want, rtol=1e-12)
    assert symgrad.jit(by_name)(X, *options) == pytest.approx(by_name(X, *options), rel=1e-12)


def layers(params, x, n_layers):
    h = x
    for i in range(n_layers):
        h = np.tanh(h @ params[f"W{i}"] + params[f"b{i}"])
    return np.sum(h**2)


def test_a_loop_making_dict_keys_from_its_index_is_unrolled_for_its_bound():
    # (params[f"W{i}"] over range(n_layers), n_layers an argument, was refused: "an f-string of
    # a value computed when the function runs")
    rng = np.random.default_rng(7)
    params = {f"W{i}": rng.standard_normal((3, 3)) for i in range(3)}
    params.update({f"b{i}": rng.standard_normal(3) for i in range(3)})
    x = rng.standard_normal((2, 3))
    g = symgrad.grad(layers)
    for n in (2, 3, 1):
        got = g(params, x, n)
        symgrad.check_grads(layers, (params, x, n), (0, 1))
        used = {k for k in params if int(k[1:]) < n}
        assert all(np.any(got[k] != 0) == (k in used) for k in params)


def from_one(params, x, n_layers):
    for i in reversed(range(1, n_layers + 1)):
        x = np.tanh(params[f"W{i}"] @ x)
    return np.sum(x)


def merged(x, config=None, causal=False):
    cfg = dict(scale=1.0)
    if config:
        cfg.update(config)
    y = np.cumsum(x) if causal else x
    return np.sum(y**2) * cfg["scale"]


def test_bounds_computed_from_an_argument_and_a_dicts_truth_and_a_flag_decide():
    # (range(1, n_layers + 1) making keys was refused, as was `if config:` of a dict; a bool
    # option stayed a runtime branch in the specialised module)
    params = {f"W{i}": np.eye(2) * (1 + 0.1 * i) for i in range(1, 4)}
    x = np.array([0.3, -0.2])
    symgrad.check_grads(from_one, (params, x, 2), (0, 1))
    assert set(symgrad.grad(from_one)(params, x, 3)) == set(params)
    for config, causal in (({"scale": 2.0}, True), ({}, False), (None, True)):
        args = (X[0], config, causal)
        symgrad.check_grads(merged, args, 0)
        g = symgrad.grad(merged)
        g(*args)
        body = g.source.split("def grad_merged")[1].splitlines()
        code = [line for line in body if not line.strip().startswith("#")]
        assert not any(line.strip().startswith("if ") for line in code)


def flagged(x, flag):
    y = x * ~flag + x * (flag + flag)
    return np.sum(y**2) if flag else np.sum(y)


@pytest.mark.parametrize("flag", [np.True_, np.False_, True, False])
def test_numpys_bool_is_an_argument_and_pythons_a_constant(flag):
    # (np.True_ compiled as a constant was folded as Python's True: ~flag gave -2)
    x = np.array([1.0, 2.0, 3.0])
    assert symgrad.jit(flagged)(x, flag) == pytest.approx(flagged(x, flag), rel=1e-12)
    symgrad.check_grads(flagged, (x, flag), 0)


def shifted_axis(x, k):
    return np.sum(np.sum(x * k, axis=k - 1)[k - 1] ** 2) + np.sum(x**3) * (k > 1)


@pytest.mark.parametrize(
    "k, backend",
    [(k, "numpy") for k in (np.int64(1), np.int32(2), np.uint8(2), 2)]
    + [pytest.param(np.int64(1), "numba", marks=BACKENDS[1].marks)],  # (one stands for all)
)
def test_a_numpy_int_compiled_as_a_constant_keeps_its_type(k, backend):
    # (`axis=k - 1` of an np.int64 k was refused, as was `x[k]` of a k also an axis; and `x * k`
    # of a float32 x and an np.int64 k compiled as a constant gave float32, where NumPy's
    # promotion of the NumPy int gives float64)
    x = RNG.standard_normal((3, 4, 2)).astype(np.float32)
    got, want = symgrad.jit(shifted_axis, backend=backend)(x, k), shifted_axis(x, k)
    assert type(got) is type(want) and got == pytest.approx(want, rel=1e-6)
    symgrad.check_grads(shifted_axis, (x.astype(np.float64), k), 0, backend=backend)
    assert symgrad.grad(shifted_axis, backend=backend)(x, k).dtype == np.float32


def rolled(x, k):
    return np.sum(np.roll(x, k) * x)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k", [2, np.int64(2), np.uint8(2), np.uint64(2), (np.uint8(1),)])
def test_a_roll_by_an_unsigned_int_rolls_back_by_its_negative(k, backend):
    # (-np.uint8(2) is 254: the backward pass rolled the cotangent on, not back)
    x = np.array([0.1, 0.5, 0.2, 0.9, 0.4, 0.3])
    symgrad.check_grads(rolled, (x, k), 0, modes=("rev", "fwd"), backend=backend)
