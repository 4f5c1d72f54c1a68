"""Statements that only write something out (print, logging, warnings.warn) are left out of the
emitted code; the derivative is the function's, checked against central differences."""

import numpy as np
import pytest

import symgrad

SOURCE = """
import logging
import warnings

log = logging.getLogger("symgrad.tests.prints")


def training_step(x, steps=3):
    print("x:", x.shape, f"steps={steps}")
    total = 0.0
    for i in range(steps):
        total = total + np.sum(np.sin(x) * (i + 1))
        print(f"step {i}: {total:.3f}", flush=True)
        log.info("total=%s", total)
        logging.debug("total %s", total)
    if total > 1e6:
        warnings.warn(f"total is large: {total}")
        log.warning("large")
    return total


def pops_while_printing(x, xs):
    print(xs.pop())  # (changes xs: not left out)
    return np.sum(x)


def push(xs, v):
    xs.append(v)
    return v


def helper_while_printing(x):
    xs = [x[0]]
    print(push(xs, x[1]))  # (changes xs: not left out)
    return np.sum(np.stack(xs))


def logs_of_a_logger_made_here(x):
    logging.getLogger("symgrad.tests.prints").info("norm %s", np.linalg.norm(x))
    print(f"{x.mean():.3f}", len(x), float(np.sum(x)))
    return np.sum(x**2)
"""


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    from tests.conftest import load_module

    return load_module(tmp_path_factory.mktemp("prints"), SOURCE)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_prints_and_logs_are_left_out_and_the_derivative_is_the_functions(m, backend, capsys):
    pytest.importorskip(backend)
    x = np.array([0.3, -1.2, 0.8])
    capsys.readouterr()
    grad = symgrad.grad(m.training_step, backend=backend)
    value, g = symgrad.value_and_grad(m.training_step, backend=backend)(x)
    assert capsys.readouterr().out == ""
    assert value == pytest.approx(m.training_step(x), rel=1e-12)
    np.testing.assert_allclose(grad(x), 6 * np.cos(x), rtol=1e-12)
    symgrad.check_grads(m.training_step, (x,), modes=("rev", "fwd"))
    assert not any(w in grad.source for w in ("print", "logging", "log.", "warn"))


def test_a_print_whose_argument_changes_something_is_lowered_as_a_call(m):
    with pytest.raises(symgrad.SymgradError, match="pop of xs"):
        symgrad.grad(m.pops_while_printing)(np.ones(2), [1.0, 2.0])
    x = np.array([0.5, -1.5])  # (a helper's append was left out: the sum of x[0] alone)
    with pytest.raises(symgrad.SymgradError, match="call to print"):
        symgrad.grad(m.helper_while_printing)(x)
    np.testing.assert_array_equal(symgrad.grad(m.logs_of_a_logger_made_here)(x), 2 * x)
