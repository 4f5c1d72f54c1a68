"""symgrad.jit: the function itself, emitted and specialised as the transformations are, on
both backends; what it returns equals what the function returns."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from tests.conftest import BACKENDS
from tests.fixtures.golden_fns import rnn

RNG = np.random.default_rng(7)


def clipped_steps(x, n):
    y = x.copy()
    for _ in range(n):
        if np.sum(y) > 1.0:
            y = y * 0.5
        else:
            y = y + np.sin(y)
    return y


def several(x, params):
    z = params["w"] * x + params["b"]
    return {"mean": np.mean(z), "rows": (np.exp(z), z**2)}


def with_its_dtype(x):
    return np.sum(x**2), x.dtype, np.float32  # (a dtype, and a type: what f returns)


CASES = {
    "rnn": (
        rnn,
        lambda: (
            RNG.standard_normal((5, 5)),
            RNG.standard_normal((5, 3)),
            RNG.standard_normal((7, 3)),
        ),
    ),
    "branches_in_a_loop": (clipped_steps, lambda: (RNG.standard_normal(6), 4)),
    "containers": (
        several,
        lambda: (RNG.standard_normal(4), {"w": 2.0, "b": RNG.standard_normal(4)}),
    ),
    "dtypes": (with_its_dtype, lambda: (RNG.standard_normal(3).astype(np.float32),)),
}


def _same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, (np.dtype, type)):  # (a dtype, not its scalar type)
        assert type(a) is type(b) and a == b
    else:
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES)
def test_jit_returns_what_the_function_returns(case, backend):
    fn, make = CASES[case]
    f = symgrad.jit(fn, backend=backend)
    for _ in range(2):  # a new signature, then the same again
        args = make()
        _same(f(*args), fn(*args))
    assert f"def jit_{fn.__name__}(" in f.source


def test_a_jit_on_numba_runs_the_users_loop_compiled():
    pytest.importorskip("numba")
    f = symgrad.jit(rnn, backend="numba")
    f(*CASES["rnn"][1]())
    assert "@numba.njit" in f.source and "def _loop" in f.source, f.source
    assert "rnn(W, U, xs), compiled." in f.source
    assert repr(f) == "<symgrad jit of rnn backend='numba'>"


def test_emit_module_of_a_jit():
    assert repr(symgrad.jit(rnn)) == "<symgrad jit of rnn>"
    source = symgrad.emit_module(rnn, kind="jit")
    assert "def jit_rnn(W, U, xs):" in source and "np.tanh(W @ h_1 + U @ xs[t])" in source


def test_jit_refuses_what_it_cannot_read():
    with pytest.raises(symgrad.SymgradError, match="jit expects a function"):
        symgrad.jit(3)
    with pytest.raises(symgrad.SymgradError, match="cannot compile print"):
        symgrad.jit(print)


def times_one(s):
    return s * 1.0, 1.0 * s, s + 0.0, s - 0.0, s / 1.0, s**1


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_identity_of_a_0d_array_gives_a_numpy_number(backend):
    # `s * 1.0` of a 0-d array was s itself: a 0-d array where NumPy gives an np.float64
    got, want = symgrad.jit(times_one, backend=backend)(np.array(2.5)), times_one(np.array(2.5))
    assert [type(v) for v in got] == [type(v) for v in want] == [np.float64] * 6
    assert got == want


def test_an_identity_of_an_argument_returned_is_a_new_array():
    # `x * 1.0` of an argument was x itself: the caller's array, where NumPy gives a new one
    x = np.array([0.5, 1.5])
    got = symgrad.jit(times_one)(x)
    assert not any(v is x for v in got) and all(np.array_equal(v, x) for v in got)


def with_constants(x):
    return {"a": x * 2.0, "n": 3, "m": (round(2.5), x[0])}


def test_a_jit_modules_docstring_says_what_it_returns():
    # the module returns the output's arrays and numbers leaf by leaf, constants left out:
    # its docstring did not say which
    source = symgrad.emit_module(with_constants, kind="jit")
    assert "Returns, of what with_constants returns, ['a'], ['m'][1] (constants: " in source
    assert "['n'] = 3" in source and "['m'][0] = 2" in source
