"""A `return` inside a loop and a loop's `else` (`symgrad.frontend.loop_exits`): each was refused
("return inside a loop is not supported", "for ... else is not supported"); now the breaks
they are, the value returned read after the loop. Values against the function, gradients in
both modes against central differences, on both backends."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from tests.conftest import BACKENDS


def halved_until_small(x):
    for i in range(5):
        x = x * 0.5
        if np.sum(x) < 1.0:
            return np.sum(x) * i
    return np.sum(x**2)


def two_returns(x):
    for _ in range(5):
        x = x * 0.7
        if np.sum(x) < 1.0:
            return np.sum(x)
        elif np.max(x) > 5.0:
            return np.sum(x**3)
    return np.sum(x**2)


def from_an_inner_loop(x):
    for i in range(4):
        for j in range(3):
            x = np.tanh(x + 0.1 * j)
            if np.max(x) > 0.95:
                return np.sum(x) * (i + 1)
        x = x * 1.1
    return np.sum(x**2)


def until_it_returns(x):
    k = 0
    while True:
        x = x * 0.8
        k += 1
        if np.sum(x) < 1.0:
            return np.sum(x**2) * k


def newton_sqrt(a):
    x = a
    for _ in range(50):
        x_new = 0.5 * (x + a / x)
        if np.max(np.abs(x_new - x)) < 1e-12:
            return x_new  # (bound only in the loop: read where it was returned)
        x = x_new
    return x


def through_a_helper(a):
    return np.sum(newton_sqrt(a) * a)


def first_positive(x):
    for i in range(len(x)):
        if x[i] > 0:
            return x[i] ** 2
    return 0.0


def with_elses(x):
    k = 0
    while k < 4:
        x = np.sin(x) + 0.3
        k += 1
        if np.min(x) > 1.2:
            break
        for _ in range(2):
            x = x * 1.1
            if np.max(x) > 2.0:
                break
        else:
            x = x + 0.1
    else:
        return np.sum(x) * 3.0
    return np.sum(x)


def found_or_not(x):
    scale = np.sum(x)
    for i in range(len(x)):
        if x[i] < 0:
            s, t = scale**2, 3.0  # (bound where it breaks, and in the else alone)
            break
        elif x[i] > 5:
            return np.sum(x) * 7.0
    else:
        s, t = np.sum(x**3), -1.0
    return s * t * x[0]


def zero_steps(x, n):  # (an assignment reading the index before a break, run after a
    r = 0.5  # loop of no step, read the index's last value: IndexError)
    for j in range(n):
        if x[j] > 0.8:
            r = x[j] ** 2
            break
    else:
        r = r + np.sum(x)
    return r


def searched(x):
    scale = 1.0
    for i in range(len(x)):
        if x[i] < 0:
            scale = x[i] ** 2
            break
    else:
        if np.sum(x) > 100.0:
            raise ValueError("too large")
        scale = np.sum(x)
    return np.sum(x * scale)


def loops_in_an_else(x):  # (a return in a loop in an else, and that loop's else, were dropped)
    for _ in range(2):
        x = x + 1.0
    else:
        for _ in range(3):
            x = x * 2.0
            if x > 10.0:
                return x
            for _ in range(2):
                x = x + 0.5
                if x > 1000.0:
                    break
            else:
                x = x - 0.25
    return -x


def inner_else_breaks(x):  # (the return after the loop was taken as unconditional)
    s = x
    while True:
        for _ in range(3):
            s = s * 2.0
            if s > 100.0:
                break
        else:
            break  # (leaves the while)
        if s > 1000.0:
            return s
    return -s


def in_a_nested_def(x):
    def first_big(v):
        for i in range(len(v)):
            if v[i] > 0.5:
                return v[i] * i
        return v[0]

    return first_big(x * 2.0) ** 2


def found_or_default(x):
    for i in range(len(x)):
        if x[i] < 0:
            return x[i] ** 2
    else:
        return np.sum(x)


FUNCTIONS = [
    halved_until_small,
    two_returns,
    from_an_inner_loop,
    until_it_returns,
    through_a_helper,
    first_positive,
    with_elses,
    found_or_not,
    searched,
    in_a_nested_def,
    found_or_default,
]
INPUTS = [
    np.array([1.0, 2.0, 0.5]),
    np.array([10.0, 20.0, 5.0]),
    np.array([0.2, 0.1, 0.15]),
    np.array([3.0, -0.4, 0.6]),
    np.array([0.4, 0.5, 0.9]),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_a_loop_left_by_a_return_or_ending_in_its_else(fn, backend):
    for x in INPUTS:
        if fn is through_a_helper:
            x = np.abs(x)
        assert symgrad.jit(fn, backend=backend)(x) == pytest.approx(fn(x), rel=1e-12)
        symgrad.check_grads(fn, (x,), 0, modes=("rev", "fwd"), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", [loops_in_an_else, inner_else_breaks], ids=lambda f: f.__name__)
def test_exits_of_loops_in_elses(fn, backend):
    for x in (1.0, 0.3, 3.1, 30.0, -0.7):
        assert symgrad.jit(fn, backend=backend)(x) == pytest.approx(fn(x), rel=1e-12)
        symgrad.check_grads(fn, (x,), 0, modes=("rev", "fwd"), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_search_of_no_step(backend):
    x = np.array([0.3, 0.9, 0.5])
    for n in (0, 1, 2, 3):
        assert symgrad.jit(zero_steps, backend=backend)(x, n) == pytest.approx(zero_steps(x, n))
        symgrad.check_grads(zero_steps, (x, n), 0, backend=backend)


def test_the_returns_are_breaks_and_the_values_are_read_after_the_loop():
    body = symgrad.grad(two_returns).source.split("def grad_two_returns")[1]
    forward = body.split("# backward pass")[0]
    assert "returned = 0" in forward and "break" in forward
    assert "returned == 1" in forward and "returned == 2" in forward
    with pytest.raises(ValueError, match="too large"):
        symgrad.grad(searched)(np.array([50.0, 60.0]))


def returned_from_no_step(w, n):
    for i in range(n):
        if w[i] > 0.5:
            return w[i] * 2.0
    return np.sum(w**3)


def test_a_return_reading_the_index_of_a_loop_of_no_step_is_refused_when_it_runs():
    # (NumPy's IndexError of step -1 escaped: symgrad reads the index where the loop ends)
    w = np.array([0.2, 0.7, 0.4])
    symgrad.check_grads(returned_from_no_step, (w, 3), 0)
    with pytest.raises(symgrad.SymgradError, match="i is read after the loop"):
        symgrad.grad(returned_from_no_step)(w, 0)


def crossing_returned(x0, v):  # (event detection: frac was "bound only inside the loop")
    x = x0
    for _ in range(50):
        x_new = x + v
        if x_new < 0.0:
            frac = x / (x - x_new)
            t = frac * 3.0
            return t + frac
        x = x_new
    return -1.0


def crossing_broken(x0, v):  # (a while True left by its break alone: frac always bound)
    x = x0
    while True:
        x_new = x + v
        if x_new < 0.0:
            frac = x / (x - x_new)
            break
        x = x_new
    return frac


def left_by_either_break(x0, v):
    x = x0
    while True:
        x_new = x + v
        if x_new < 0.0:
            a = x * 2.0
            b = a + x_new
            break
        elif x_new > 10.0:
            a = x
            b = x * x
            break
        x = x_new
    return a * b


def returned_or_broken(x0, v):
    x = x0
    while True:
        x = x + v
        if x > 5.0:
            return x * 2.0
        if x < 0.0:
            y = x * 3.0
            break
    return y + 1.0


def closest_pair_below(pos, c):  # (a nested loop's value read after both: "a row or a view")
    for i in range(pos.shape[0]):
        for j in range(i + 1, pos.shape[0]):
            d = np.sum((pos[i] - pos[j]) ** 2)
            if d < c:
                s = d * 2.0
                return s + d
    return 0.0


EVENTS = [crossing_returned, crossing_broken, left_by_either_break, returned_or_broken]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fn", EVENTS, ids=lambda f: f.__name__)
def test_a_name_bound_just_before_a_return_or_a_while_trues_break(fn, backend):
    for x0, v in ((1.0, -0.3), (1.0, 0.7), (2.0, -0.45)):
        if fn is crossing_broken and v > 0:
            continue  # (it would not end)
        assert symgrad.jit(fn, backend=backend)(x0, v) == pytest.approx(fn(x0, v), rel=1e-12)
        symgrad.check_grads(fn, (x0, v), (0, 1), modes=("rev", "fwd"), backend=backend)


def test_a_value_of_a_nested_loop_read_after_both_is_refused_with_what_to_write():
    # (the message said d was "a row or a view of an array"; where the pair is not found,
    # the last `for j in range(i + 1, n)` runs no step, and d is the previous step's)
    pos = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.1]])
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="in a loop nested in it") as info:
        symgrad.grad(closest_pair_below)(pos, 0.5)
    assert "d = 0.0" in str(info.value)


def test_a_while_true_of_one_break_needs_no_flag():
    forward = symgrad.grad(crossing_broken).source.split("# backward pass")[0]
    assert "broke =" not in forward and "frac = x / " in forward


def bound_on_every_step(x):  # (the release before gave it; moving `r = ...` out of the loop
    for i in range(len(x)):  # left the returning step without r: "bound only inside")
        if x[i] > 1.0:
            r = x[i] * 2.0
            return r
        r = x[i] * 3.0
    return r


def test_a_name_the_loop_binds_elsewhere_too_stays_in_it():
    for x in (np.array([0.5, 2.0, 0.3]), np.array([0.5, 0.2])):
        assert symgrad.jit(bound_on_every_step)(x) == pytest.approx(bound_on_every_step(x))
        symgrad.check_grads(bound_on_every_step, (x,), 0, modes=("rev", "fwd"))
