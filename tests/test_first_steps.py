"""A loop whose first step binds a name the next steps read (`if t == 0: h = ...` / `else: h =
step(h)`): refused as a read before the binding until symgrad lowered the first step on its own
(`symgrad.frontend.loops._first_step`). Values against the function, gradients in both modes
against central differences, on both backends."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from tests.conftest import BACKENDS, on_backends


def rnn(W, x):
    for t in range(x.shape[0]):
        if t == 0:
            h = np.tanh(x[t])
        else:
            h = np.tanh(W @ h + x[t])
    return np.sum(h**2)


def over_rows(W, x):
    for t, xt in enumerate(x):
        if t == 0:
            h = np.tanh(xt)
        else:
            h = np.tanh(W @ h + xt)
        y = h * 2.0  # (bound before it is read, every step: not carried)
    return np.sum(h) + np.sum(y**2) + t


def zipped(W, x, u):
    for t, (xt, ut) in enumerate(zip(x, u)):
        if t == 0:
            h = np.tanh(xt * ut)
        else:
            h = np.tanh(W @ h + xt * ut)
        c = np.cos(h) if t == 0 else c + np.cos(h)  # noqa: F821 (bound at step 0)
    return np.sum(h * c)


def from_one(W, x):
    for t in range(1, x.shape[0]):
        if t > 1:
            z = x[t] + h  # noqa: F821 (bound at the first step)
        else:
            z = x[t]
        h = np.sin(W @ z)
    return np.sum(h)


def running(x):
    for t in range(len(x)):
        if t == 0:
            s, m = x[0], x[0]
        else:
            s = s + x[t]
            m = np.maximum(m, x[t]) * 1.5
    return s * m


def nested(W, x):
    total = 0.0
    for i in range(2):
        for t in range(x.shape[0]):
            if t == 0:
                h = np.tanh(x[t] * (i + 1))
            else:
                h = np.tanh(W @ h + x[t])
        total = total + np.sum(h)
    return total


def after_none(W, X):  # (was "the loop changes 'h', which holds a NoneType here")
    h = None
    prev = None
    s = 0.0
    for x in X:
        h = np.tanh(x) if h is None else np.tanh(W @ h + x)
        if prev is not None:
            s = s + np.sum(prev * h)
        prev = h * 2.0
    return s + np.sum(h)


def in_a_while(W, x):  # (a while loop's first step: was "read before the function binds it")
    k = 0
    while k < x.shape[0]:
        if k == 0:
            h = np.tanh(x[0])
        else:
            h = np.tanh(W @ h + x[k])
        k += 1
    return np.sum(h**2)


def while_after_none(x):  # (was "the loop changes 'h', which holds a NoneType here")
    h = None
    i = 0
    while i < x.shape[0]:
        if h is None:
            h = x[i] * 2.0
        else:
            h = np.tanh(h) + x[i]
        i += 1
    return h


def converging(x):  # (a test reading the step before: "prev is None" at the first)
    prev = None
    y = x
    while prev is None or np.max(np.abs(y - prev)) > 1e-14:
        prev = y
        y = 0.5 * np.cos(y) + 0.1 * x
    return np.sum(y)


def counted(x, n):
    for t in range(n):
        if t == 0:
            s = x * 1.0
        else:
            s = np.sin(s) + x
    return np.sum(s)


CASES = {
    "rnn": (rnn, 2),
    "over_rows": (over_rows, 2),
    "zipped": (zipped, 3),
    "from_one": (from_one, 2),
    "running": (running, 1),
    "nested": (nested, 2),
    "after_none": (after_none, 2),
    "in_a_while": (in_a_while, 2),
    "while_after_none": (while_after_none, 1),
    "converging": (converging, 1),
}


def _args(n, rng=None):
    rng = rng or np.random.default_rng(3)
    W, x, u = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    return (W, x, u)[:n] if n > 1 else (x[:, 0],)


@pytest.mark.parametrize("name, backend", on_backends(CASES, ["rnn", "after_none", "in_a_while"]))
def test_a_first_step_binding_what_the_next_read(name, backend):
    fn, n = CASES[name]
    args = _args(n)
    symgrad.check_grads(fn, args, tuple(range(len(args))), modes=("rev", "fwd"), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_length_known_when_it_runs(backend):
    x = np.array([0.3, -0.2, 0.5])
    for n in (1, 2, 4):  # (one step: the loop after the first runs none)
        symgrad.check_grads(counted, (x, n), backend=backend)
    g = symgrad.grad(counted, backend=backend)
    with pytest.raises(symgrad.SymgradError, match="ran no step, and symgrad runs its first step"):
        g(x, 0)  # (Python's runs no step, and its read of s is a NameError)
    W, X = _args(2)
    with pytest.raises(symgrad.SymgradError, match="ran no step"):
        symgrad.grad(after_none, backend=backend)(W, X[:0])  # (Python's h is None: np.sum
        # of None is a TypeError)
    with pytest.raises(symgrad.SymgradError, match="ran no step"):
        symgrad.grad(in_a_while, backend=backend)(W, X[:0])  # (a while loop's test, false)


def test_second_order_through_a_first_step():
    args = _args(2)
    symgrad.check_grads(rnn, args, (0, 1), order=2, modes=("fwd",))


def test_the_first_step_stands_before_the_loop():
    source = symgrad.grad(rnn).source
    first, loop = source.index("h = np.tanh(x[0])"), source.index("for t in range(1, ")
    assert first < loop


def test_where_no_first_step_is_lowered_the_read_is_refused(make_fn):
    mod = make_fn(
        """
        def never_bound(x):
            for t in range(3):
                s = s + x[t]
            return s


        def breaks(x):
            for t in range(3):
                if t == 0:
                    h = x * 1.0
                else:
                    h = np.sin(h)
                if np.sum(h) > 5.0:
                    break
            return np.sum(h)

        """
    )
    x = np.array([0.1, 0.2, 0.3])
    for fn in (mod.never_bound, mod.breaks):
        with pytest.raises(symgrad.UnsupportedSyntaxError, match="read before the function binds"):
            symgrad.grad(fn)(x)


def last_index(x, n):  # (t after a loop of one step: was "t is read after the loop ..., which
    for t in range(n):  # ran no step", the loop after the first step's)
        if t == 0:
            s = x * 1.0
        else:
            s = np.sin(s) + x
    return np.sum(s) * (t + 1)


def inner_first(x, n):  # (the inner loop's first step binds s: the outer loop's own was
    total = 0.0  # lowered too, and raised where n is 0)
    for i in range(n):
        for j in range(3):
            if j == 0:
                s = x * (i + 1.0)
            else:
                s = s * x
        total = total + np.sum(s)
    return total


def filled(W, x):  # (a list holding the first step's row, then the loop's rows: of none,
    hs = []  # in a module for any shapes, "all the input arrays must have same number
    for t in range(x.shape[0]):  # of dimensions")
        if t == 0:
            h = np.tanh(x[0])
        else:
            h = np.tanh(W @ h + x[t])
        hs.append(h)
    return np.sum(np.stack(hs) ** 2)


def test_after_a_loop_of_one_step_and_of_none():
    x = np.array([0.3, -0.2, 0.5])
    for n in (1, 3):
        symgrad.check_grads(last_index, (x, n), modes=("rev", "fwd"))
    for n in (0, 2):
        symgrad.check_grads(inner_first, (x, n), modes=("rev", "fwd"))
    W, X = _args(2)
    for T in (1, 4):
        symgrad.check_grads(filled, (W, X[:T]), (0, 1))
        batched = symgrad.vmap(filled, in_axes=(None, 0))(W, X[None, :T])  # (for any shapes)
        assert batched[0] == pytest.approx(filled(W, X[:T]), rel=1e-12)


def held_row(W, x):
    A = x.copy()
    for t in range(A.shape[0]):
        if t == 0:
            r = A[0]  # (a row of A, a view: Python's sees A[0] change)
            acc = np.sum(r)
        else:
            A[0] = A[0] * 0.5 + W @ A[t]
            acc = acc + np.sum(r**2)
    return acc


def test_a_view_carried_into_a_loop_that_changes_its_array_is_checked():
    # (the module for any shapes gave 8.0 where Python 16.0: the loop carried r, a row of A
    # from before it, as the values it had; with r bound before the loop too)
    W, x = np.eye(2) * 0.5, np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(symgrad.SymgradError, match="changes in place while it is held"):
        symgrad.vmap(held_row, in_axes=(None, 0))(W, x[None])
    with pytest.raises(symgrad.SymgradError, match="changes in place while it is held"):
        symgrad.jit(held_row)(W, x)


def compared(x):  # (each test of the index against an int: folded where its range decides it)
    s = x * 0.0
    for t in range(2, 9, 3):
        s = s + (x * 100.0 if t == 1 else x) + (x if t != 1 else x * 7.0)
        s = s + (x * 2.0 if t > 1 else x * 9.0) + (x * 3.0 if t >= 2 else x * 9.0)
        s = s + (x * 11.0 if t < 2 else x) + (x * 13.0 if t <= 1 else x)
        s = s + (x * 5.0 if 2 == t else x) + (x * 17.0 if 2 < t else x)  # (decided by steps)
    for t in range(6, -1, -2):
        s = s + (x * 19.0 if t > 6 else x) + (x * 23.0 if t <= 6 else x)
        s = s + (x * 29.0 if t == 6 else np.sin(x)) + (x * 31.0 if 7 <= t else x)
    for t, row in enumerate(x, 3):
        s = s + (row * 37.0 if t < 3 else row) + (row * 41.0 if t == 3 else row)
    return np.sum(s**2)


def test_a_test_of_the_index_its_range_decides_is_folded():
    x = np.array([0.3, -0.2, 0.5])
    assert symgrad.jit(compared)(x) == pytest.approx(compared(x), rel=1e-12)
    symgrad.check_grads(compared, (x,), modes=("rev", "fwd"))
    source = symgrad.grad(rnn).source
    body = source[source.index("for t in range(1, ") :].split("# backward")[0]
    assert "if" not in body and "t == 0" not in source  # (the steps after the first)


def states(W, x, h0):  # (refused for a while this stop: h = H[0], a row of H, is carried; its
    H = np.zeros((x.shape[0] + 1, h0.shape[0]))  # step binds h again before H[t + 1] = h)
    H[0] = h0
    h = H[0]
    for t in range(x.shape[0]):
        h = np.tanh(W @ h + x[t])
        H[t + 1] = h
    return np.sum(H**2)


def read_before_the_change(x, y):  # (r read in step 0 before the change, then bound anew)
    A = x.copy()
    r, v = A[0], A[1:3]
    for i in range(y.shape[0]):
        r, v = r * 0.5 + np.sum(y[i]), v * 0.5
        A[1] = A[1] + y[i]
        A[0] *= 2.0
    return np.sum(r * r) + np.sum(v) + np.sum(A * A)


def viewed_for_the_next_step(x):  # (9.0 where Python's 15.0: r, a row of A a step ends with,
    A = x.copy()  # sees the next step's change)
    r = A[0].copy()
    s = 0.0
    for _ in range(2):
        A[0] *= 2.0
        s = s + np.sum(r)
        r = A[0]
    return s


def test_views_carried_into_steps_that_change_their_array():
    rng = np.random.default_rng(0)
    W, X, h0 = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=(4, 3)), rng.normal(size=3)
    symgrad.check_grads(states, (W, X, h0), (0, 1, 2), modes=("rev", "fwd"))
    batched = symgrad.vmap(states, in_axes=(None, 0, None))(W, X[None], h0)  # (any shapes)
    assert batched[0] == pytest.approx(states(W, X, h0), rel=1e-12)
    A, y = rng.normal(size=(4, 3)), rng.normal(size=(3, 3))
    symgrad.check_grads(read_before_the_change, (A, y), (0, 1))
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(symgrad.SymgradError, match="changes in place while it is held"):
        symgrad.jit(viewed_for_the_next_step)(x)
    with pytest.raises(symgrad.SymgradError, match="changes in place while it is held"):
        symgrad.vmap(viewed_for_the_next_step)(x[None])


def differences(x):  # (np.concatenate's ValueError in a module for any shapes, of one row)
    out = [x[0] * 0.0]
    for i in range(1, x.shape[0]):
        out.append(x[i] - x[i - 1])
    return np.sum(np.stack(out) ** 2)


def test_a_list_holding_items_before_a_loop_of_no_step():
    x = np.arange(3.0).reshape(1, 3)
    assert symgrad.vmap(differences)(x[None])[0] == differences(x)
    symgrad.check_grads(differences, (np.arange(6.0).reshape(2, 3) ** 1.5,))


def averaged(xs, mask=None):
    m = None
    for x in xs:
        x = x if mask is None else x * mask  # (an argument's: None or not, when called)
        m = x if m is None else 0.8 * m + 0.2 * x  # (a carried value's: never None)
    return np.sum(m**2)


def test_none_tests_of_a_carried_value_are_decided():
    xs = np.random.default_rng(1).normal(size=(5, 3))
    for mask in (None, np.array([1.0, 0.0, 2.0])):
        symgrad.check_grads(averaged, (xs, mask), modes=("rev", "fwd"))
    g = symgrad.grad(averaged)
    g(xs)
    assert "if" not in g.source.split("def grad_averaged")[1]  # (the module for mask=None)


def rebinding_the_target(x):  # (the loop's own name bound again: no first step of its own,
    s = 0.0  # which raised where the loop runs no step)
    for r in x:
        r = r * 2.0
        s = s + np.sum(r)
    for i in range(1, x.shape[0]):
        i = i - 1
        s = s + np.sum(x[i])
    return s


@pytest.mark.parametrize("rows", [0, 1, 3])
def test_a_loop_binding_its_own_name_again(rows):
    x = np.arange(6.0).reshape(3, 2)[:rows] + 0.5
    assert symgrad.jit(rebinding_the_target)(x) == pytest.approx(rebinding_the_target(x))
    if rows:
        symgrad.check_grads(rebinding_the_target, (x,), modes=("rev", "fwd"))


def given_or_none(x, h=None):  # (the module for any shapes took `h is None` as False: 2.0
    s = 0.0  # where Python 7.0; a value carried from an argument may be None)
    for t in range(x.shape[0]):
        if h is None:
            s = s + 10.0 * x[t]
        h = x[t]
        s = s + x[t]
    return s


def lagged(x):  # (NameError: the backward loop handed s_bar on, never set, as h_bar)
    s = 0.0
    h = 0.0
    for t in range(3):
        s = s + h
        h = x[t]
    return s


def test_a_carried_argument_may_be_none_and_a_cotangent_handed_on(tmp_path):
    x = np.array([0.5, 1.0, -0.3, 0.8])
    path = tmp_path / "any_shapes.py"
    symgrad.emit_module(given_or_none, str(path), kind="jit")
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    assert namespace["jit_given_or_none"](x) == pytest.approx(given_or_none(x))
    for h in (None, 0.2):
        assert symgrad.jit(given_or_none)(x, h) == pytest.approx(given_or_none(x, h))
    symgrad.check_grads(lagged, (x,), modes=("rev", "fwd"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cotangent_handed_on_as_another_running_one(backend):
    x = np.array([0.5, 1.0, -0.3, 0.8])
    symgrad.check_grads(lagged, (x,), modes=("rev", "fwd"), backend=backend)
