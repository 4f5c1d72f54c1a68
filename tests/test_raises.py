"""A function's checks of its arguments (`if x.ndim != 1: raise ValueError(...)`, an
`else: raise` after elifs, `assert`) are made by the emitted code too: each `raise` was refused
("raise is not supported"), which refused every helper that validates its options, and asserts
were skipped (a gradient of bad input computed on)."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from tests.conftest import BACKENDS
from tests.fixtures.asserts import asserted


class ConfigError(ValueError):
    pass


def activation(x, act="relu"):
    if act == "relu":
        return np.sum(np.maximum(x, 0.0))
    raise ValueError(f"unknown activation {act}")


def activations(x, act="relu"):
    if act == "relu":
        y = np.maximum(x, 0.0)
    elif act == "tanh":
        y = np.tanh(x)
    else:
        raise ConfigError(f"unknown activation {act}")
    return np.sum(y)


def validated(x, w):
    if x.ndim != 1:
        raise ValueError(f"x must be 1-D, got shape {x.shape}")
    if x.shape != w.shape:
        raise ValueError("x and w differ in shape")
    return np.sum(np.tanh(x) * w)


def positive(x):
    if np.any(x <= 0):
        raise ValueError("x must be positive")
    return np.sum(np.log(x) * x)


def in_loop(x):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] < -10.0:
            raise ValueError("too small")
        s = s + x[i] ** 2 * s + x[i]
    return s


def by_range(x):
    if x[0] > 0:
        y = x * 2.0
    elif x[0] > -5:
        y = x**3
    else:
        raise ValueError("x[0] out of range")
    return np.sum(y)


def vector(v):
    if v.ndim != 1:
        raise TypeError("a vector please")
    return v


def through_a_helper(x):
    return np.sum(vector(x) ** 2)


X = np.array([0.5, -1.0, 2.0])
W = np.array([1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("fn", "args"),
    [
        (activation, (X,)),
        (activations, (X, "tanh")),
        (validated, (X, W)),
        (positive, (W,)),
        (in_loop, (X,)),
        (by_range, (X,)),
        (by_range, (-X,)),
        (through_a_helper, (X,)),
        (asserted, (X, W)),
    ],
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_function_that_checks_its_arguments_differentiates(fn, args, backend):
    symgrad.check_grads(fn, args, 0, modes=("rev", "fwd"), backend=backend)
    assert symgrad.jit(fn, backend=backend)(*args) == pytest.approx(fn(*args), rel=1e-12)


@pytest.mark.parametrize(
    ("fn", "args", "error", "message"),
    [
        (activation, (X, "gelu"), ValueError, "unknown activation gelu"),
        (activations, (X, "gelu"), ConfigError, "unknown activation gelu"),
        (validated, (np.ones((2, 3)), W), ValueError, r"x must be 1-D, got shape \(2, 3\)"),
        (validated, (X, np.ones(4)), ValueError, "x and w differ in shape"),
        (positive, (X,), ValueError, "x must be positive"),
        (in_loop, (X - 20,), ValueError, "too small"),
        (by_range, (X - 10,), ValueError, r"x\[0\] out of range"),
        (through_a_helper, (np.ones((2, 2)),), TypeError, "a vector please"),
        (asserted, (X, -W), AssertionError, "w must be positive"),
        (asserted, (np.ones((2, 3)), W), AssertionError, "x must be 1-D"),
    ],
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_arguments_raise_the_functions_own_exception(fn, args, error, message, backend):
    # (a message formats the arguments and shapes it reads when it raises)
    with pytest.raises(error, match=message):
        fn(*args)
    for transform in (symgrad.grad, symgrad.value_and_grad, symgrad.hessian):
        with pytest.raises(error, match=message):
            transform(fn, backend=backend)(*args)
    if all(isinstance(a, np.ndarray) for a in args):
        with pytest.raises(error, match=message):
            symgrad.jvp(fn, args, tuple(np.ones_like(a) for a in args))


def test_a_check_the_shapes_decide_is_gone_from_the_specialised_module():
    g = symgrad.grad(validated)
    g(X, W)
    assert "raise" not in g.source.split("def grad_validated")[1]
    module = symgrad.emit_module(validated)  # (for any shapes: the message of the shape given)
    assert "raise ValueError(f'x must be 1-D, got shape {np.shape(x)}')" in module
    positive_module = symgrad.grad(positive)
    positive_module(W)
    check = "if np.any(x <= 0):\n        raise ValueError('x must be positive')"
    assert check in positive_module.source


def raises_its_own_class(x):
    if x[0] > 100:
        raise ConfigError("too big")
    return np.sum(x**2)


def test_a_check_raising_a_class_of_its_own_is_refused():
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="raise of ConfigError on a value"):
        symgrad.grad(raises_its_own_class)(X)


def checked_in_order(x, mode):
    if np.any(x < 0):
        raise ValueError("x must be non-negative")
    if mode not in ("sum", "mean"):
        raise KeyError(mode)
    return np.sum(x**2) if mode == "sum" else np.mean(x**2)


def act(x, kind):
    if kind == "relu":
        return np.maximum(x, 0.0)
    raise ValueError(f"unknown {kind}")


def maybe_activated(x, kind):
    if x[0] > 0:
        return np.sum(act(x, kind))
    return np.sum(x**2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_raise_a_constant_decides_comes_after_the_checks_before_it(backend):
    # (it raised when compiling: KeyError where the function raises ValueError first; and a
    # helper raising for its option, called in a branch the call does not take, was refused)
    g = symgrad.grad(checked_in_order, backend=backend)
    with pytest.raises(ValueError, match="non-negative"):
        g(-W, "max")
    with pytest.raises(KeyError, match="max"):
        g(W, "max")
    np.testing.assert_allclose(g(W, "sum"), 2 * W)
    h = symgrad.grad(maybe_activated, backend=backend)
    np.testing.assert_allclose(h(-W, "nope"), -2 * W)
    with pytest.raises(ValueError, match="unknown nope"):
        h(W, "nope")
    np.testing.assert_allclose(h(W, "relu"), np.ones(3))


def recurrent_checked(x, w):
    h = np.zeros(x.shape[1])
    s = 0.0
    for t in range(x.shape[0]):
        if x[t, 0] > 100.0:
            raise ValueError("x too big")
        h = np.tanh(w * h + x[t])
        s = s + np.sum(h * h)
    return s


def test_a_loop_that_checks_its_steps_is_compiled_by_numba():
    # (the check was a runtime helper, which kept the loop in Python)
    pytest.importorskip("numba")
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((50, 50)), rng.standard_normal(50)
    source = symgrad.emit_module(recurrent_checked, argnums=(0, 1), backend="numba", args=(x, w))
    assert "@numba.njit" in source and "            raise ValueError('x too big')" in source
    g = symgrad.grad(recurrent_checked, (0, 1), backend="numba")
    want = symgrad.grad(recurrent_checked, (0, 1))(x, w)
    np.testing.assert_allclose(g(x, w)[1], want[1], rtol=1e-12)
    x[30, 0] = 200.0
    with pytest.raises(ValueError, match="x too big"):
        g(x, w)


def looked_up(x, kind="a"):
    if np.max(x) > 4.0:
        raise ValueError("max")
    table = {"a": 1.0, "b": 2.0}
    if kind not in table:
        raise KeyError(kind)
    return np.sum(x) * table[kind]


def test_code_after_a_raise_every_call_reaches_is_not_compiled():
    # (table[kind] of the kind the check refuses was a SymgradError: "the key 'c' is not in
    # the dict", where the function raises KeyError, or ValueError first)
    with pytest.raises(KeyError, match="c"):
        symgrad.jit(looked_up)(np.array([1.0, 2.0]), "c")
    with pytest.raises(ValueError, match="max"):
        symgrad.grad(looked_up)(np.array([5.0, 2.0]), "c")
    np.testing.assert_allclose(symgrad.grad(looked_up)(np.array([1.0, 2.0]), "b"), [2.0, 2.0])


def options_checked(x, kind="relu", mode="sum"):
    if x.ndim != 1:
        raise ValueError(f"x must be 1-D, got shape {x.shape} ({x.ndim} axes)")
    if kind != "relu":
        raise ValueError(f"unknown activation {kind}")
    if mode not in ("sum", "mean"):
        raise KeyError(mode)
    return np.sum(np.maximum(x, 0.0))


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((np.ones((2, 2)),), ValueError, r"got shape \(2, 2\) \(2 axes\)"),
        ((W, "gelu"), ValueError, "unknown activation gelu"),
        ((W, "relu", "max"), KeyError, "max"),
    ],
)
def test_the_module_for_any_arguments_formats_the_messages_when_it_raises(args, error, message):
    # (its strings are arguments there: `not in` of them was refused, and the messages read
    # `{kind}` and 'mode', the source's text)
    namespace: dict = {}
    exec(symgrad.emit_module(options_checked), namespace)
    with pytest.raises(error, match=message):
        options_checked(*args)
    with pytest.raises(error, match=message):
        namespace["grad_options_checked"](*args)
    np.testing.assert_allclose(namespace["grad_options_checked"](W), [1.0, 1.0, 1.0])
