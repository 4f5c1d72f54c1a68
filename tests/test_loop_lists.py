"""Lists a loop appends to: stacked, indexed, summed and iterated after the loop, in both modes
and to second order (the tape of a loop whose only taped value is its index once lost its
tuple's comma: `for (i_1), ct in zip(...)` bound the tuple)."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

import symgrad
from tests.conftest import BACKENDS, load_module, on_backends

SOURCE = """
def rows_squared(X):
    parts = []
    for i in range(2):
        parts.append(np.sum(X[2 * i] ** 2))
    return np.sum(np.stack(parts))

def neighbours(x):
    parts = []
    for i in range(3):
        parts.append(x[i] * x[i + 1])
    return np.sum(np.stack(parts))

def times_index(x):
    parts = []
    for i in range(3):
        parts.append(x[i] * i)
    return np.sum(np.stack(parts))

def whole_rows(X):
    parts = []
    for i in range(2):
        parts.append(X[2 * i] ** 2)
    return np.sum(np.stack(parts))

def prediction_losses(X, W):
    losses = []
    for i in range(2):
        losses.append(np.sum((X[i] @ W - X[i + 1]) ** 2))
    return np.sum(np.stack(losses))

def first_and_last(x):
    parts = []
    for i in range(3):
        parts.append(x[i] * x[i + 1])
    return parts[-1] - parts[0]

def python_sum(x):
    parts = []
    for i in range(3):
        parts.append(x[i] * x[i + 1])
    return sum(parts)

def python_max(x):
    parts = []
    for i in range(3):
        parts.append(x[i] * x[i + 1])
    return max(parts) + min(parts)

def iterated(x):
    parts = []
    for i in range(3):
        parts.append(x[i] * x[i + 1])
    t = 0.0
    for p in parts:
        t = t + p * p
    return t

def stacked_along_axis_one(X):
    rows = []
    for i in range(3):
        rows.append(np.sin(X[i]))
    S = np.stack(rows, axis=1)
    return np.sum(S * np.arange(12.0).reshape(4, 3))

def passed_to_a_helper(x):
    parts = []
    for i in range(3):
        parts.append(x[i] ** 3)
    return _total(parts)

def _total(items):
    return np.sum(np.stack(items)) * 2.0
"""

X = np.arange(1.0, 17.0).reshape(4, 4) / 10
x = np.linspace(0.3, 1.2, 5)
W = np.random.default_rng(0).normal(size=(4, 4))
CASES = {
    "rows_squared": (X,),
    "neighbours": (x,),
    "times_index": (x,),
    "whole_rows": (X,),
    "prediction_losses": (X, W),
    "first_and_last": (x,),
    "python_sum": (x,),
    "python_max": (x,),
    "iterated": (x,),
    "stacked_along_axis_one": (X,),
    "passed_to_a_helper": (x,),
}


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    from tests.conftest import load_module

    return load_module(tmp_path_factory.mktemp("lists"), SOURCE)


@pytest.mark.parametrize("name", CASES)
def test_a_list_a_loop_filled(m, name):
    args = CASES[name]
    symgrad.check_grads(getattr(m, name), args, tuple(range(len(args))), modes=("rev", "fwd"))


def test_the_gradient_of_rows_squared_is_2x_on_the_rows_read(m):
    expected = np.zeros_like(X)
    expected[[0, 2]] = 2 * X[[0, 2]]
    assert np.allclose(symgrad.grad(m.rows_squared)(X), expected)
    source = symgrad.grad(m.rows_squared).source
    assert "for i_1, parts_bar_t in zip(reversed(range(" in source


def test_the_hessian_through_the_list(m):
    H = symgrad.hessian(m.neighbours)(x)
    expected = np.zeros((5, 5))
    for i in range(3):
        expected[i, i + 1] = expected[i + 1, i] = 1.0
    assert np.allclose(H, expected)


MORE = """
def assign_into_the_stack(x, y):
    rows = []
    for i in range(3):
        rows.append(y * 2.0)
        y = y * 1.0
    s = np.stack(rows)
    s[0] -= y
    return np.sum(s * x)

def enumerate_zip(xs, ys):
    t = 0.0
    for i, (a, b) in enumerate(zip(xs, ys)):
        t = t + np.sum(a * b) * i
    return t

def loop_name_used_again(x):
    t = 0.0
    for i in range(2):
        t = t + x[i]
    for j in range(2):
        i = j + 1
        t = t * x[i]
    return t

def appended_in_place(x):
    rows = []
    rows.append(x * 2.0)
    rows.append(np.sin(x))
    return np.sum(np.stack(rows) ** 2) + np.sum(rows[1])

def read_by_a_later_loop(x):
    xs = []
    for i in range(3):
        xs.append(0.5 * x[i] ** 2)
    s = 0.3
    for j in range(len(xs)):
        s += xs[j]
    return s

def tuple_read_in_a_loop(x, y):
    pair = (x, y)
    t = 0.0
    for i in range(2):
        t = t + np.sum(pair[0] * pair[1][i])
    return t

def appends_a_number_and_assigns(x):
    s = x * 1.5
    xs = []
    for i in range(1):
        xs.append(1.5)
        s[-1] -= -1.5
    return np.mean(s)

def appended_in_a_branch(x):
    rows = []
    if np.sum(x) > 0:
        rows.append(x)
    return np.sum(x)
"""


@pytest.fixture(scope="module")
def more(tmp_path_factory):
    from tests.conftest import load_module

    return load_module(tmp_path_factory.mktemp("more_lists"), MORE)


@pytest.mark.parametrize(
    "name, args",
    [
        ("assign_into_the_stack", (x[:3], x[:3] + 1)),
        ("enumerate_zip", (X[:3], X[1:])),
        ("loop_name_used_again", (x,)),
        ("appended_in_place", (x,)),
        ("read_by_a_later_loop", (x,)),
        ("tuple_read_in_a_loop", (x[:4], X[:2])),
        ("appends_a_number_and_assigns", (x,)),
    ],
)
def test_lists_and_loop_names(more, name, args):
    f = getattr(more, name)
    symgrad.check_grads(f, args, tuple(range(len(args))), modes=("rev", "fwd"))


def test_a_list_made_before_an_if_does_not_grow_in_it(more):
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="made before this loop or if"):
        symgrad.grad(more.appended_in_a_branch)(x)


ALIASED = """
def changed_then_appended(x):
    acc = np.zeros(len(x))
    hist = []
    for i in range(3):
        acc += x * (i + 1)
        hist.append(acc)
    return np.sum(hist[0])

def changed_in_a_branch(x):
    acc = np.zeros(len(x))
    hist = []
    for i in range(2):
        if x[i] > 10.0:
            acc = acc + x
        else:
            acc += x
        hist.append(acc)
    return np.sum(hist[0])

def changed_after_the_loop(x):
    acc = np.zeros(len(x))
    hist = []
    for i in range(2):
        acc = acc + x
        hist.append(acc)
    acc += x
    return np.sum(hist[1])

def held_by_a_list_from_before(x):
    acc = np.zeros(len(x))
    hist = [acc]
    for i in range(3):
        acc += x
    return np.sum(hist[0])

def new_arrays_appended(x):
    acc = np.zeros(len(x))
    total = 0.0
    hist = []
    sums = []
    for i in range(3):
        acc = acc + x * (i + 1)
        total += np.sum(acc)
        hist.append(acc)
        sums.append(total)
    acc = acc * 2.0
    return np.sum(hist[0]) + sums[-1] + np.sum(acc)
"""


@pytest.mark.parametrize(
    "name",
    [
        "changed_then_appended",
        "changed_in_a_branch",
        "changed_after_the_loop",
        "held_by_a_list_from_before",
    ],
)
def test_an_array_a_list_holds_changed_in_place_is_refused(make_fn, name):
    # Python's list holds the array itself, which `+=` changes later; symgrad's held the value
    # at the append (3.0 for 18.0, silently)
    fn = getattr(make_fn(ALIASED), name)
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="acc"):
        symgrad.grad(fn)(np.array([1.0, 2.0]))


def test_new_arrays_appended_and_a_running_total_are_fine(make_fn):
    fn = make_fn(ALIASED).new_arrays_appended
    x = np.array([1.0, 2.0])
    assert symgrad.jit(fn)(x) == fn(x)
    symgrad.check_grads(fn, (x,), modes=("rev", "fwd"))


TRAJECTORIES = """
def euler(x0, k):
    x = x0
    xs = [x0]
    for t in range(5):
        x = x - 0.1 * k * x ** 3
        xs.append(x)
    return np.sum(np.stack(xs) ** 2) + xs[-1][0] + len(xs)

def two_loops(x0, n):
    xs = [x0, 2.0 * x0]
    for t in range(n):
        xs.append(x0 * t)
    for t in range(2):
        xs.append(np.sin(x0) * t)
    return np.sum(np.stack(xs) * np.arange(len(xs))[:, None])

def numbers(x0):
    vals = [0.0, 1.0]
    i = 0
    while i < 3:
        vals.append(np.sum(x0) * i)
        i += 1
    return np.sum(np.array(vals) ** 2)

def start_changed_in_the_loop(x0):
    x = x0 * 1.0
    xs = [x]
    for t in range(3):
        x += 0.1 * x ** 2
        xs.append(x.copy())
    return np.sum(np.stack(xs))

def start_changed_after_the_loop(x0):
    x = x0 * 1.0
    xs = [x]
    for t in range(3):
        xs.append(x * t)
    x[0] = 5.0
    return np.sum(np.stack(xs))

def read_while_filled(x0):  # (its last item is read as a name of its own: trajectories)
    xs = [x0]
    for t in range(3):
        xs.append(xs[0] * 2.0)
    return np.sum(np.stack(xs))

def appended_after_the_loop(x0):
    xs = []
    for t in range(3):
        xs.append(x0 * t)
    xs.append(x0 ** 2)
    return np.sum(np.stack(xs))
"""


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_loop_fills_a_list_holding_items_before_it(make_fn, backend):
    # `xs = [x0]` then `xs.append(x)`: a trajectory from its start (it was refused)
    m = make_fn(TRAJECTORIES)
    x0 = np.array([0.3, -0.7])
    cases = [(m.euler, (x0, 0.7)), (m.two_loops, (x0, 2)), (m.two_loops, (x0, 0))]
    for f, args in cases if backend == "numpy" else cases[::2]:  # (Numba: the first and none)
        assert np.isclose(symgrad.jit(f, backend=backend)(*args), f(*args))
        symgrad.check_grads(f, args, 0, modes=("rev", "fwd"), backend=backend)
    if backend == "numpy":
        symgrad.check_grads(m.euler, (x0, 0.7), 1)
        symgrad.check_grads(m.numbers, (x0,))


@pytest.mark.parametrize(
    "name, match",
    [
        ("start_changed_in_the_loop", "the list xs holds it"),
        ("start_changed_after_the_loop", "the list xs holds it"),
        ("read_while_filled", "xs is the list this loop fills"),
        ("appended_after_the_loop", r"xs.append after the loop that filled xs"),  # (it named
    ],  # the frontend's own object: "Stacked(value=Value(5), ...) has no attribute 'append'")
)
def test_what_a_list_filled_after_its_first_items_refuses(make_fn, name, match):
    # Python's list holds x itself, which the change in place reaches: the stack of the items
    # as they were appended would be wrong
    with pytest.raises(symgrad.UnsupportedSyntaxError, match=match):
        symgrad.grad(getattr(make_fn(TRAJECTORIES), name))(np.array([0.3, -0.7]))


def test_a_while_loop_that_runs_no_step_fills_nothing(make_fn):
    # `xs = [x]` and a while loop that appends nothing: np.stack of the loop's empty list
    # raised ValueError in the module (and len(xs) of an empty list a while loop filled)
    m = make_fn(
        "def f(x):\n    xs = [x]\n    h = x\n    while np.sum(h) > 100.0:\n"
        "        h = h * 0.5\n        xs.append(h)\n"
        "    return np.sum(np.stack(xs)) + len(xs) + np.sum(xs[-1])\n"
    )
    for x in (np.array([1.0, 2.0]), np.array([100.0, 200.0])):
        for backend in ("numpy", "numba"):
            assert symgrad.jit(m.f, backend=backend)(x) == pytest.approx(m.f(x))
            symgrad.check_grads(m.f, (x,), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_np_stack_of_a_list_no_step_filled_raises_as_numpys(make_fn, backend):
    # (an Euler integrator of n_steps=0: np.stack of its trajectory gave 0 and a zero
    # gradient, np.mean of it NaN, where NumPy raises)
    m = make_fn(
        """
        def trajectory(x, n):
            xs = []
            for _ in range(n):
                x = 0.5 * x
                xs.append(x)
            return np.sum(np.stack(xs)) + np.sum(np.concatenate(xs, axis=-1))
        """
    )
    x = np.array([1.0, -2.0])
    with pytest.raises(ValueError, match="need at least one array to stack"):
        m.trajectory(x, 0)
    with pytest.raises(ValueError, match="need at least one array to stack"):
        symgrad.grad(m.trajectory, backend=backend)(x, 0)
    symgrad.check_grads(m.trajectory, (x, 3), argnums=0, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_for_loop_that_runs_no_step_fills_nothing(make_fn, backend):
    # a list of numbers a loop of len(x) - 1 steps fills, for a one-entry x: np.stack of the
    # empty list raised ValueError in the module (a row of a vector is a NumPy number)
    m = make_fn(
        """
        def comprehension(x):
            xs = [x[i] * x[i + 1] for i in range(len(x) - 1)]
            return sum(xs) + np.sum(x ** 2)

        def walked(x):
            xs = []
            for i in range(len(x) - 1):
                xs.append(x[i] * x[i + 1])
            s = 0.0
            for v in xs:
                s = s + v
            return s + np.sum(x ** 2)
        """
    )
    for f in (m.comprehension, m.walked):
        for x in (np.array([0.7]), np.array([0.7, -1.2, 0.4])):
            value, _ = symgrad.value_and_grad(f, backend=backend)(x)
            assert value == pytest.approx(f(x))
            symgrad.check_grads(f, (x,), modes=("rev", "fwd"), backend=backend)


def test_a_module_for_any_shapes_stacks_the_rows_of_no_step(make_fn, tmp_path):
    # the shape-polymorphic module (emit_module, .save) knows no row's shape: np.stack of the
    # loop's empty list raised ValueError where the function itself runs fine
    m = make_fn(
        """
        def f(x, n):
            hs = []
            h = x
            for t in range(n):
                h = np.tanh(h * 0.5 + x)
                hs.append(h)
            return np.sum(h) + sum(np.sum(v) for v in hs) + len(hs)
        """
    )
    module = load_module(tmp_path, symgrad.emit_module(m.f))
    x = np.array([0.3, -0.4, 1.1])
    for n in (0, 2):
        assert np.allclose(module.grad_f(x, n), symgrad.grad(m.f)(x, n))
        symgrad.check_grads(m.f, (x, n), argnums=0)


BRANCHES = """
def both(x, n):
    out = []
    for i in range(n):
        if x[i % 3] > 0:
            out.append(x * i)
        else:
            out.append(-np.sin(x))
    return np.sum(np.stack(out) ** 2)


def nested(x, n):
    out = []
    for i in range(n):
        if i % 2 == 0:
            if x[0] > 0:
                out.append(x[1] * 2.0)
            else:
                out.append(x[2])
        else:
            out.append(x[0] * x[1])
    return sum(out)


def tested(x, n):
    out = []
    s = x * 1.0
    while np.sum(s) < 4.0:
        if s[0] > s[1]:
            out.append(s[0])
        else:
            out.append(s[1] * 2.0)
        s = s * 1.5 + 0.2
    return sum(out) * len(out)
"""


@pytest.mark.parametrize("name, backend", on_backends(["both", "nested", "tested"], ["nested"]))
def test_each_branch_of_an_if_appends_once(make_fn, name, backend):
    # "out.append must run exactly once in every iteration": an append in each branch is one
    f = getattr(make_fn(BRANCHES), name)
    for x in (np.array([0.3, -0.4, 0.5]), np.array([-0.3, 0.4, 0.6])):
        assert symgrad.jit(f, backend=backend)(x, 5) == pytest.approx(f(x, 5), rel=1e-12)
        symgrad.check_grads(f, (x, 5), 0, modes=("rev", "fwd"), backend=backend)


def heads_joined(X, W):
    hs = []
    for h in range(3):
        hs.append(np.tanh(X @ W[h]))
    parts = [X[:, 2 * h : 2 * h + 2] * (h + 1.0) for h in range(2)]
    Y = np.concatenate(hs, axis=-1)  # (4, 6): the heads side by side
    return np.sum(Y**2) + np.sum(np.concatenate(hs, axis=1) * Y) + np.sum(np.concatenate(parts))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_np_concatenate_of_a_list_a_loop_filled(backend):
    # "concatenate expects a list or tuple of arrays": multi-head attention's np.concatenate
    pytest.importorskip(backend)
    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((4, 5)), rng.standard_normal((3, 5, 2))
    value, _ = symgrad.value_and_grad(heads_joined, (0, 1), backend=backend)(X, W)
    assert value == pytest.approx(heads_joined(X, W), rel=1e-12)
    symgrad.check_grads(heads_joined, (X, W), (0, 1), modes=("rev", "fwd"))


TRAJECTORY_SOURCE = """
def euler(x0, v):
    xs = [x0]
    for t in range(20):
        xs.append(xs[-1] + 0.1 * np.sin(xs[-1]) * v)
    return np.sum(np.stack(xs) ** 2)


def read_after_the_append(x0, v):
    xs = []
    for t in range(5):
        xs.append(x0 * t + v)
        y = np.sum(xs[-1] ** 2)
        x0 = x0 + 0.1 * y
    return np.sum(np.stack(xs)) + np.sum(x0)


def appended_in_each_branch(x0, v):
    xs = [x0]
    for t in range(6):
        if np.sum(xs[-1]) > 0:
            xs.append(xs[-1] * 0.9 - 0.1 * v)
        else:
            xs.append(np.tanh(xs[-1]) + 0.3)
    return np.sum(np.stack(xs) ** 3)


def tested_by_a_while(x0, v):
    xs = [x0]
    while np.sum(xs[-1] ** 2) > 0.01:
        xs.append(xs[-1] * 0.5 + 0.01 * v)
    return np.sum(np.stack(xs)) + len(xs)


def two_lists_and_an_inner_loop(x0, v):
    xs, vs = [x0], [v]
    for t in range(10):
        a = -np.sin(xs[-1])
        for k in range(2):
            a = a + 0.1 * np.cos(vs[-1])
        vs.append(vs[-1] + 0.1 * a)
        xs.append(xs[-1] + 0.1 * vs[-1])
    return np.sum(np.stack(xs) ** 2) + np.sum(vs[-1])
"""


@pytest.mark.parametrize(
    "name, backend",
    on_backends(
        [
            "euler",
            "read_after_the_append",
            "appended_in_each_branch",
            "tested_by_a_while",
            "two_lists_and_an_inner_loop",
        ],
        ["euler", "tested_by_a_while"],
    ),
)
def test_a_loop_reads_the_last_item_of_the_list_it_fills(make_fn, name, backend):
    """A trajectory (xs.append(step(xs[-1]))) was refused: "xs is the list this loop fills"."""
    pytest.importorskip(backend)
    f = getattr(make_fn(TRAJECTORY_SOURCE), name)
    rng = np.random.default_rng(5)
    args = (rng.standard_normal(3), rng.standard_normal(3))
    symgrad.check_grads(f, args, (0, 1), modes=("rev", "fwd"), backend=backend)
    value, _ = symgrad.value_and_grad(f, argnums=(0, 1), backend=backend)(*args)
    assert value == pytest.approx(f(*args), rel=1e-12)


def test_the_last_item_of_an_empty_list_is_refused_where_python_raises(make_fn):
    m = make_fn(
        "def f(x):\n    xs = []\n    for t in range(3):\n        xs.append(xs[-1] * x)\n"
        "    return np.sum(np.stack(xs))\n"
    )
    with pytest.raises(symgrad.SymgradError, match="list index out of range") as info:
        symgrad.grad(m.f)(np.ones(2))
    assert "give the list its first item before the loop" in str(info.value)


ALIASED_SOURCE = """
def through_another_name(x):
    xs = [x]
    ys = xs
    for t in range(3):
        ys.append(x * t)
    return np.sum(np.stack(xs)) + len(xs)


def held_by_a_dict(x):
    xs = []
    d = {"h": xs}
    for t in range(3):
        xs.append(x * t)
    return np.sum(np.stack(d["h"]))


def into_the_callers_list(x, xs):
    for t in range(3):
        xs.append(xs[-1] * x)
    return xs[-1]


def fill(hist, x):
    for t in range(3):
        hist.append(x * t)
    return 0.0


def through_a_helper(x):
    h = []
    fill(h, x)
    return np.sum(np.stack(h))
"""


@pytest.mark.parametrize(
    "name, says",
    [
        ("through_another_name", "which xs holds too"),
        ("held_by_a_dict", "which d holds too"),
        ("into_the_callers_list", "an argument's or a global's list"),
        ("through_a_helper", "which h (a caller) holds too"),
    ],
)
def test_a_loop_filling_a_list_another_holder_sees_is_refused(make_fn, name, says):
    """Python's list grows for every name holding it; symgrad bound the stack to the name the
    loop appends to alone: the other read the list as it was (1.7 where 6.8), and a caller's
    list never grew."""
    f = getattr(make_fn(ALIASED_SOURCE), name)
    args = (0.7, [2.0]) if name == "into_the_callers_list" else (0.7,)
    with pytest.raises(symgrad.UnsupportedSyntaxError, match=re.escape(says)):
        symgrad.value_and_grad(f)(*args)


FILLED_SOURCE = """
def item_by_length(x):
    xs = [x]
    for t in range(3):
        xs.append(xs[len(xs) - 1] * 1.5)
    return xs[-1]


def popped(x):
    xs = [x, x]
    for t in range(3):
        xs.append(xs.pop() * 1.5)
    return xs[-1]


def stacked_vertically(x):
    rows = []
    for t in range(4):
        rows.append(np.sum((x - t * 0.37) ** 2))
    return np.sum(np.vstack(rows) ** 2)


def unpacked(x):
    xs = []
    for i in range(2):
        xs.append(x[i] * 2.0)
    a, b = xs
    return a * b


def median_of_the_list(x):
    rows = []
    for t in range(4):
        rows.append(np.sum((x - t * 0.37) ** 2))
    return np.median(rows)
"""


@pytest.mark.parametrize(
    "name, says",
    [
        ("item_by_length", "xs is the list this loop fills"),  # ("Appender is not an array")
        ("popped", "xs is the list this loop fills"),  # ("<...Appender object...> has no ...")
        ("stacked_vertically", "np.vstack of rows, a list a loop filled"),  # ("expects a list")
        ("unpacked", "cannot unpack xs, a list a loop filled"),  # ("cannot unpack Stacked")
    ],
)
def test_what_a_list_a_loop_fills_refuses_says_so(make_fn, name, says):
    f = getattr(make_fn(FILLED_SOURCE), name)
    with pytest.raises(symgrad.UnsupportedSyntaxError, match=re.escape(says)):
        symgrad.grad(f)(np.array([0.3, 0.5, 0.8]))


def test_a_composition_reads_a_list_a_loop_filled_as_its_stack(make_fn):
    f = make_fn(FILLED_SOURCE).median_of_the_list
    symgrad.check_grads(f, (np.array([0.3, 0.5, 0.8]),))


def test_a_list_of_a_number_then_arrays_is_a_symgrad_error(make_fn):
    """Python reads xs[-1] alone; symgrad stacks the items, a number's and arrays' (NumPy's
    ValueError of np.concatenate reached the caller)."""
    m = make_fn(
        "def f(s, v):\n    xs = [s]\n    for t in range(3):\n        xs.append(xs[-1] * v + 0.1)\n"
        "    return np.sum(xs[-1])\n"
    )
    with pytest.raises(symgrad.SymgradError, match="items a loop appended to a list have"):
        symgrad.jit(m.f)(0.7, np.array([0.41, 0.62, 0.83]))


def discounted_by_insert(theta, rewards):  # RL's discounted returns, each inserted first
    G = 0.0
    returns = []
    for r in reversed(rewards):
        G = r + 0.9 * G
        returns.insert(0, G)
    returns = np.array(returns)
    return -np.sum(np.tanh(theta * np.arange(len(rewards))) * returns)


def discounted_then_reversed(theta, rewards):
    G = 0.0
    returns = []
    for r in reversed(rewards):
        G = r + 0.9 * G
        returns.append(G)
    returns.reverse()
    back = list(reversed(returns))
    total = 0.0
    for g in reversed(returns):  # (a second loop over the filled list, the other way)
        total = total * 0.5 + g
    return -np.sum(np.tanh(theta) * np.array(returns)) + np.sum(np.stack(back)) * total


def inserted_in_branches(x):
    ys = []
    for i in range(len(x)):
        if x[i] > 0:
            ys.insert(0, x[i] * 2.0)
        else:
            ys.insert(0, np.sin(x[i]))
    return np.sum(np.stack(ys) * np.arange(len(ys)))


def inserted_after_items(x):
    ys = [x[0] * 2.0]
    for i in range(1, len(x)):
        ys.insert(0, np.sin(x[i]) * x[i - 1])
    return np.sum(np.stack(ys) * np.arange(len(ys)))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize(
    "fn",
    [discounted_by_insert, discounted_then_reversed, inserted_after_items, inserted_in_branches],
)
def test_a_list_filled_first_or_reversed_after(fn, backend):
    # (xs.insert(0, v) in the loop, xs.reverse() and reversed(xs) after it were refused)
    rng = np.random.default_rng(4)
    args = (rng.standard_normal(5), rng.standard_normal(5))[: len(inspect.signature(fn).parameters)]
    assert symgrad.jit(fn, backend=backend)(*args) == pytest.approx(fn(*args), rel=1e-12)
    symgrad.check_grads(fn, args, tuple(range(len(args))), modes=("rev", "fwd"), backend=backend)


def test_a_list_both_appended_and_inserted_into_is_refused(make_fn):
    m = make_fn(
        "def f(x):\n    ys = []\n    for i in range(3):\n        ys.append(x)\n"
        "        ys.insert(0, x)\n    return np.sum(np.stack(ys))\n"
    )
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="both appends to ys and inserts"):
        symgrad.grad(m.f)(np.ones(2))


def sliced_lists(x):
    hs = [x]
    for _ in range(4):
        hs.append(np.tanh(hs[-1] * 1.2 + 0.1))
    s = 0.0
    for h in hs[1:]:
        s = s + np.sum(h * 2.0)
    rev = hs[::-1]
    s = s + len(hs[1:]) * np.sum(rev[0]) + np.sum(np.stack(hs[1:]) ** 2)
    return s + np.sum(np.stack(hs[:2], axis=1)) + np.sum(np.concatenate(hs[2:])) + sum(hs[1:])[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_slice_of_a_list_a_loop_filled_is_a_list(backend):
    # (np.stack(hs[1:]) was refused: "stack expects a list or tuple of arrays")
    x = np.array([0.1, 0.5])
    assert symgrad.jit(sliced_lists, backend=backend)(x) == pytest.approx(sliced_lists(x))
    symgrad.check_grads(sliced_lists, (x,), 0, modes=("rev", "fwd"), backend=backend)


def test_a_fold_of_the_list_the_loop_fills_inside_it_is_refused(make_fn):
    # (sum(ys) in the loop filling ys raised TypeError: 'Appender' object is not iterable)
    mod = make_fn(
        """
        def f(x):
            ys = []
            s = 0.0
            for i in range(x.shape[0]):
                ys.append(x[i] * x[i])
                if sum(ys) > 1.0:
                    s = s + 1.0
            return s + sum(ys)
        """
    )
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="the list this loop fills"):
        symgrad.grad(mod.f)(np.array([0.5, 1.0]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_appended_entry_that_may_be_a_number_is_copied_as_one(make_fn, backend):
    # (found by the control fuzzer: the row appended before its array changes was copied by
    # `.copy()`, which a Python float argument, the other arm of the `if`, lacks)
    m = make_fn(
        """
        def f(x, y, a):
            w0 = np.zeros_like(y)
            xs2 = []
            for i0 in range(3):
                xs2.append(a if i0 >= 2 else w0[-1, -1])
                w0[-1] = x[-1]
            return np.sum(w0) + np.sum(np.stack(xs2)) * a
        """
    )
    args = (
        np.array([0.893, -0.498, -0.028]),
        np.array([[-0.7, 0.2, 0.1], [0.1, -0.6, -0.1]]),
        -0.8,
    )
    assert symgrad.jit(m.f, backend=backend)(*args) == pytest.approx(m.f(*args), rel=1e-12)
    symgrad.check_grads(m.f, args, (0, 1, 2), backend=backend)
