"""NumPy's scalar types called as functions (`symgrad.rules.scalar_types`): `np.float32(2.0)`,
`np.float64(x[0])`, `np.float32(a)` of an array. Values, dtypes and types against the function's
own (`jit`), gradients against central differences; a cast to an integer type passes none."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from tests.conftest import BACKENDS, load_module

SOURCE = """
def float32_constant(x):
    return np.sum(np.float32(2.0) * x)


def float64_entry(x):
    c = np.float64(x[0])
    return c * np.sum(x) + np.float64(3) + np.float64()


def float32_array(x):
    return np.float32(x) ** 2


def float32_number(s):
    return np.float32(s) * 2.5


def truncated(x):
    return np.sum(np.int64(x) * x)


def items(x):  # .item(): the Python number of an entry (a float, an int, a bool)
    total = np.sum(x ** 2).item()
    count = np.sum(x > 0.0).item()
    return total * x[0].item() + count + (x > 0.0)[1].item()
"""

X = np.array([1.5, -2.25, 3.1])


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    return load_module(tmp_path_factory.mktemp("scalar_types"), SOURCE)


def same(got, want) -> bool:
    return (
        type(got) is type(want)
        and getattr(got, "dtype", None) == getattr(want, "dtype", None)
        and np.array_equal(got, want)
    )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "name, args",
    [
        ("float32_constant", (X,)),
        ("float64_entry", (X,)),
        ("float32_array", (X,)),
        ("float32_array", (X.astype(np.float32),)),
        ("float32_number", (0.7,)),
        ("float32_number", (np.float64(0.7),)),
        ("truncated", (X,)),
        ("items", (X,)),
        ("items", (X.astype(np.float32),)),
    ],
)
def test_jit_gives_what_the_function_gives(m, name, args, backend):
    f = getattr(m, name)
    assert same(symgrad.jit(f, backend=backend)(*args), f(*args))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["float32_constant", "float64_entry", "truncated", "items"])
def test_gradients_through_a_scalar_type(m, name, backend):
    symgrad.check_grads(getattr(m, name), (X,), modes=("rev", "fwd"), backend=backend)


def test_a_float32_cast_passes_the_cotangent_in_the_arguments_dtype(m):
    # d/dx sum(float32(x) ** 2) = 2 float32(x), given back in x's dtype
    vjp = symgrad.vjp(m.float32_array, X)[1]
    (got,) = vjp(np.ones(3, np.float32))
    assert got.dtype == np.float64
    assert np.allclose(got, 2.0 * X.astype(np.float32))


def test_a_cast_to_an_integer_type_passes_nothing(m):
    assert np.array_equal(symgrad.grad(m.truncated)(X), np.trunc(X))


SPACING = np.linspace(0.0, 1.0, 11)[1]  # (a NumPy float64, as a grid's spacing is)
HALF = np.float32(0.5)


def global_numpy_numbers(u):
    return np.sum(u * SPACING) + np.sum(u * u) * HALF


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_global_numpy_float_is_a_numpy_float(backend):
    """A global np.float64 was read as a Python float, which a float32 array takes weakly:
    the loss was computed in float32 (np.float32(0.3) where NumPy gives np.float64)."""
    pytest.importorskip(backend)
    u = np.array([1.0, 2.0, 3.0], np.float32)
    value, gradient = symgrad.value_and_grad(global_numpy_numbers, backend=backend)(u)
    want = global_numpy_numbers(u)
    assert type(value) is type(want) and value == pytest.approx(want, rel=1e-12)
    assert gradient.dtype == np.float32
    symgrad.check_grads(global_numpy_numbers, (u.astype(float),), modes=("rev", "fwd"))


def test_a_branch_on_the_kind_of_a_dtype_is_decided_when_specialised(make_fn):
    # (np.issubdtype was "cannot compile a call to numpy.issubdtype", and its abstract
    # np.floating a dtype no Aval took)
    m = make_fn(
        """
        def by_kind(x):
            if np.issubdtype(x.dtype, np.floating):
                return np.sum(x**2)
            return np.sum(x)


        def by_dtype(x):
            eps = 1e-6 if x.dtype == np.float64 else 1e-3
            return np.sum(np.log(x + eps))
        """
    )
    x = np.array([0.5, 1.0, 1.5])
    for a in (x, x.astype(np.float32), np.array([1, 2, 3])):
        for fn in (m.by_kind, m.by_dtype):
            got, want = symgrad.jit(fn)(a), fn(a)
            assert got == pytest.approx(want, rel=1e-6)
            assert np.result_type(got) == np.result_type(want)
    symgrad.check_grads(m.by_kind, (x,))
    g = symgrad.grad(m.by_kind)
    g(x)
    assert "if " not in g.source.split("def grad_by_kind")[1]  # (decided: float64)
