"""A Jacobian's module is specialised for its arguments as a JVP's is: typed, without the
helpers the shapes decide, its values those of central differences (float64, float32, a Python
float, a NumPy number), whether its JVPs (or VJPs) run one seed at a time (a loop keeps them
from batching) or all at once."""

import numpy as np
import pytest

import symgrad


def rolled(x, a):
    """A loop: jacfwd calls its JVP once per entry of x."""
    y = x
    for _ in range(3):
        y = np.tanh(a * y) + y[::-1] * 0.5
    return y


def central(f, args, k, eps=1e-6):
    x = np.asarray(args[k], dtype=np.float64)
    cols = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e.flat[j] = eps
        hi = [*args[:k], x + e if x.ndim else float(x + e), *args[k + 1 :]]
        lo = [*args[:k], x - e if x.ndim else float(x - e), *args[k + 1 :]]
        cols.append((np.asarray(f(*hi)) - np.asarray(f(*lo))) / (2 * eps))
    return np.reshape(np.stack(cols, axis=-1), np.shape(f(*args)) + x.shape)


@pytest.mark.parametrize("a", [0.7, np.float64(0.7)], ids=["float", "numpy number"])
def test_a_jacobian_per_seed_is_specialised(a):
    x = np.linspace(-1.0, 1.0, 5)
    jac = symgrad.jacfwd(rolled, argnums=(0, 1))
    jx, ja = jac(x, a)
    np.testing.assert_allclose(jx, central(rolled, (x, a), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ja, central(rolled, (x, float(a)), 1), rtol=1e-6, atol=1e-8)
    source = jac.source
    assert "Specialised for x: float64[5]" in source, source
    jvps = source[source.index("def jvp_rolled_x") : source.index("def jacfwd_rolled")]
    steps = [line for line in jvps.splitlines() if line.startswith(" " * 8)]  # the loops' bodies
    assert steps and not any("_fit(" in line for line in steps), source  # (each step's, typed)


def test_a_float32_jacobian_stays_float32():
    x = np.linspace(-1.0, 1.0, 4, dtype=np.float32)
    jx = symgrad.jacfwd(rolled)(x, 0.7)
    assert jx.dtype == np.float32
    np.testing.assert_allclose(jx, central(rolled, (x.astype(np.float64), 0.7), 0), rtol=1e-3)


@pytest.mark.parametrize("a", [0.7, np.float32(0.7)], ids=["float", "numpy number"])
def test_a_jacobian_per_output_entry_is_specialised(a):
    x = np.linspace(-1.0, 1.0, 4)
    jac = symgrad.jacrev(rolled, argnums=(0, 1))
    jx, ja = jac(x, a)
    np.testing.assert_allclose(jx, central(rolled, (x, float(a)), 0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ja, central(rolled, (x, float(a)), 1), rtol=1e-5, atol=1e-7)
    assert "Specialised for x: float64[4]" in jac.source, jac.source


def layer(W, x):
    """No loop: the JVPs and VJPs run all seeds at once (a trailing batch axis)."""
    return np.tanh(W @ x) * np.sum(x[:3])


@pytest.mark.parametrize("transform", [symgrad.jacfwd, symgrad.jacrev])
def test_a_batched_jacobian_is_specialised(transform):
    rng = np.random.default_rng(5)
    W, x = rng.standard_normal((3, 4)), rng.standard_normal(4)
    jac = transform(layer, argnums=(0, 1))
    jw, jx = jac(W, x)
    np.testing.assert_allclose(jw, central(layer, (W, x), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(jx, central(layer, (W, x), 1), rtol=1e-6, atol=1e-8)
    assert "Specialised for W: float64[3,4], x: float64[4]" in jac.source, jac.source
    hessian = symgrad.hessian(squared, argnums=1)(W, x)
    np.testing.assert_allclose(hessian, central(symgrad.grad(squared, 1), (W, x), 1), rtol=1e-5)


def squared(W, x):
    return np.sum(layer(W, x) ** 2)


def linear_in_x(x):
    return np.sum(x * 2.0) + np.sum(np.abs(x))


def test_a_jacobian_of_zeros_has_the_dtype_of_its_tangents():
    # a Hessian that is zeros everywhere came back float64 for a float32 argument
    x = np.array([0.3, -0.2, 0.5], np.float32)
    for jacobian in (symgrad.hessian(linear_in_x), symgrad.jacrev(symgrad.grad(linear_in_x))):
        H = jacobian(x)
        assert H.dtype == np.float32 and not H.any()
    assert symgrad.hessian(linear_in_x)(x.astype(np.float64)).dtype == np.float64
