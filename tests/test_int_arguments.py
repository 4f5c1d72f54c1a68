"""Int arrays given to a module for any shapes (`emit_module` without arguments, `.save`): a
gradient of floats, the gradient at the same numbers in floats (`_fit`'s contract). A loop's sum
of cotangents started as zeros like the int array, and `+=` into it truncated each step's
(a gradient of [-0.042, 0, 0, 0] where [-0.042, -0.021, 0.35, -0.498]) or raised; `x * 1.0`
of the int argument was simplified to x, and what was written into it truncated."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad

SOURCE = """
def recurrence(x):
    h = x[0]
    for t in range(1, x.shape[0]):
        h = np.tanh(h * x[t] + 0.1)
    return h


def entries_summed(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + np.sin(x[i]) * x[i]
    return s


def powers(x):
    y = x * 1.0
    for _ in range(3):
        y = y * x + 1
    return np.sum(y)


def halved_while_large(x):
    while np.sum(x * x) > 4.0:
        x = x * 0.5
    return np.sum(np.sin(x))


def scaled_then_written(x):  # (x * 1.0 of ints was taken for x: the writes truncated, the
    y = x * 1.0  # value 19 where 27.3125, the gradient [2, 0, 0])
    for i in range(1, x.shape[0]):
        y[i] = y[i - 1] * 0.5 + x[i]
    return np.sum(y**2)


def shifted_then_added(x):
    y = x + 0.0
    y[1] += 0.25
    return np.sum(y**2) + np.sum(x / 1)


def branch(x):
    if np.sum(x) > 0:
        y = x * x
    else:
        y = np.exp(x)
    return np.sum(y)
"""

XS = np.array([1, 2, -1, 1])


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    from tests.conftest import load_module

    return load_module(tmp_path_factory.mktemp("ints"), SOURCE)


@pytest.mark.parametrize(
    "name",
    [
        "recurrence",
        "entries_summed",
        "powers",
        "halved_while_large",
        "branch",
        "scaled_then_written",
        "shifted_then_added",
    ],
)
def test_an_int_array_gets_the_gradient_of_its_floats(m, name, tmp_path):
    fn = getattr(m, name)
    path = tmp_path / f"grad_{name}.py"
    path.write_text(symgrad.emit_module(fn))
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    grad = namespace[f"grad_{name}"]
    got, want = grad(XS.copy()), grad(XS.astype(float))
    path.write_text(symgrad.emit_module(fn, kind="jit"))  # (its value, of ints: the function's)
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    assert namespace[f"jit_{name}"](XS.copy()) == pytest.approx(fn(XS.copy()), rel=1e-13)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(want, symgrad.grad(fn)(XS.astype(float)), rtol=1e-12)
