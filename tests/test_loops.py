"""Loops stay loops: `for` over range() in the IR, in emitted code, and in gradients."""

from __future__ import annotations

import re

import numpy as np
import pytest

import symgrad
from symgrad.frontend import lower
from symgrad.ir import to_dot, to_text
from symgrad.ir.verify import verify
from symgrad.passes import reverse
from tests.conftest import BACKENDS, load_module

RNG = np.random.default_rng(0)

LOOPS = """
def rnn(W, U, xs, h0, n):
    h = h0
    for t in range(n):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h ** 2)


def running_sum(x, w, n):
    s = 0.0
    for i in range(n):
        s = s + np.sum(x[i] * w) ** 2
    return s


def running_product(x):
    p = 1.0
    for i in range(len(x)):
        p = p * x[i]
    return p


def nested(A, v, n, m):
    total = 0.0
    for i in range(n):
        u = v
        for j in range(m):
            u = np.sin(A @ u) + 0.1 * j
        total = total + np.sum(u * A[i])
    return total


def strided(x, a, b, step):
    y = x
    for i in range(a, b, step):
        y = y * np.cos(x * i)
    return np.sum(y)


def two_carried(x, n):
    a, b = x, 2.0 * x
    for _ in range(n):
        a, b = b, np.tanh(a + b)
    return np.sum(a * b)


def index_arithmetic(w, n):
    acc = np.zeros_like(w)
    for i in range(1, n + 1):
        acc = acc + w ** 2 / i
    return np.sum(acc)


def rows(X, w):
    s = 0.0
    for row in X:
        s = s + np.tanh(row @ w)
    return s


def enumerated(X, w):
    s = np.zeros_like(w)
    for i, row in enumerate(X):
        s = s + row * w * i
    return np.sum(s ** 2)


def zipped(X, Y, w):
    s = 0.0
    for x, y in zip(X, Y):
        s = s + np.sum((x * w - y) ** 2)
    return s


def static_list(W1, W2, x):
    for W in [W1, W2]:
        x = np.tanh(W @ x)
    return np.sum(x)


def conv1d_by_hand(x, w):
    n, k = len(x), len(w)
    out = np.zeros(n - k + 1)
    for i in range(n - k + 1):
        out[i] = np.sum(x[i : i + k] * w)
    return np.sum(out**2)


def fill_rows(W, xs):
    hs = np.zeros((len(xs), W.shape[0]))
    h = np.zeros(W.shape[0])
    for t in range(len(xs)):
        h = np.tanh(W @ h + xs[t])
        hs[t] = h
    return np.sum(hs * hs[::-1])


def overwrite(x):
    a = x.copy()
    a[0] = x[1] * 3.0
    a[0] = a[0] * x[2]
    a[1:] += x[:-1] ** 2
    return np.sum(a * x)


def update_in_branch(x):
    y = np.zeros_like(x)
    if np.sum(x) > 0:
        y[0] = np.sum(x**2)
    return np.sum(y * x)


def sqrt_newton(a, tol):
    x = a
    err = 1.0
    while err > tol:
        x_new = 0.5 * (x + a / x)
        err = np.max(np.abs(x_new - x))
        x = x_new
    return np.sum(x)


def jacobi(A, b, tol):
    x = np.zeros_like(b)
    r = b - A @ x
    while np.linalg.norm(r) > tol:
        x = x + (b - A @ x) / np.sum(A * np.eye(len(b)), axis=1)
        r = b - A @ x
    return np.sum(x**2)


def counted(x):
    s = x
    n = 0
    while n < 5:
        s = s * 0.5 + np.sin(s)
        n = n + 1
    return np.sum(s)


def builtins(x, w):
    parts = [x * w, np.sin(x), x**2]
    return sum(parts).sum() + max(np.sum(x), np.sum(w)) + min(x @ w, 1.5) + sum(x * x) + abs(x[0])


def rnn_states(W, U, xs, h0):
    h = h0
    hs = []
    for t in range(len(xs)):
        h = np.tanh(W @ h + U @ xs[t])
        hs.append(h)
    H = np.stack(hs)
    return np.sum(H * H[::-1]) + np.sum(hs[-1])


def outputs_only(x, n):
    ys = []
    for i in range(n):
        ys.append(np.sin(x * i))
    return np.sum(np.array(ys) ** 2) * len(ys)


def ode(y0, k, dt, steps):
    y = y0
    for _ in range(steps):
        y = y + dt * (-k * y + np.sin(y))
    return np.sum(y ** 2)
"""


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    return load_module(tmp_path_factory.mktemp("loops"), LOOPS)


def normal(*shape):
    return RNG.standard_normal(shape)


def rnn_args(n):
    W, U = RNG.standard_normal((4, 4)) * 0.5, RNG.standard_normal((4, 3))
    return (W, U, RNG.standard_normal((max(n, 1), 3)), RNG.standard_normal(4), n)


CASES = {
    "rnn_0": ("rnn", lambda: rnn_args(0), (0, 1, 2, 3)),
    "rnn_1": ("rnn", lambda: rnn_args(1), (0, 1, 2, 3)),
    "rnn_50": ("rnn", lambda: rnn_args(50), (0, 1, 2, 3)),
    "running_sum": ("running_sum", lambda: (normal(5, 3), normal(3), 5), (0, 1)),
    "running_product": ("running_product", lambda: (RNG.uniform(0.5, 1.5, 6),), 0),
    "nested": ("nested", lambda: (normal(3, 3) * 0.5, normal(3), 3, 4), (0, 1)),
    "strided": ("strided", lambda: (RNG.standard_normal(4), 7, 1, -2), 0),
    "two_carried": ("two_carried", lambda: (RNG.standard_normal(3), 4), 0),
    "index_arithmetic": ("index_arithmetic", lambda: (RNG.standard_normal(3), 4), 0),
    "rows": ("rows", lambda: (normal(5, 3), normal(3)), (0, 1)),
    "enumerated": ("enumerated", lambda: (normal(4, 3), normal(3)), (0, 1)),
    "zipped": ("zipped", lambda: (normal(4, 3), normal(6, 3), normal(3)), (0, 1, 2)),
    "static_list": ("static_list", lambda: (normal(3, 3), normal(3, 3), normal(3)), (0, 1, 2)),
    "conv1d_by_hand": ("conv1d_by_hand", lambda: (normal(7), normal(3)), (0, 1)),
    "fill_rows": ("fill_rows", lambda: (normal(3, 3) * 0.5, normal(5, 3)), (0, 1)),
    "overwrite": ("overwrite", lambda: (normal(4),), 0),
    "update_in_branch": ("update_in_branch", lambda: (np.array([0.5, -0.2, 0.9]),), 0),
    "sqrt_newton": ("sqrt_newton", lambda: (np.array([2.0, 3.0, 5.0]), 1e-12), 0),
    "sqrt_newton_0": ("sqrt_newton", lambda: (np.array([2.0, 3.0, 5.0]), 10.0), 0),
    "jacobi": (
        "jacobi",
        lambda: (np.array([[4.0, 1, 0], [1, 5, 1], [0, 1, 3]]), normal(3), 1e-10),
        (0, 1),
    ),
    "counted": ("counted", lambda: (normal(3),), 0),
    "builtins": (
        "builtins",
        lambda: (np.array([0.3, -0.4, 0.8]), np.array([1.1, 0.2, -0.5])),
        (0, 1),
    ),
    "rnn_states": ("rnn_states", lambda: rnn_args(6)[:4], (0, 1, 2, 3)),
    "outputs_only": ("outputs_only", lambda: (normal(3), 4), 0),
    "ode": ("ode", lambda: (RNG.standard_normal(3), 0.7, 0.05, 30), (0, 1)),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_loop_gradients_match_central_differences(case, m, backend):
    name, args, argnums = CASES[case]
    symgrad.check_grads(getattr(m, name), args(), argnums, modes=("rev", "fwd"), backend=backend)


def test_a_while_loop_converges_to_the_analytic_gradient(m):
    a = np.array([2.0, 3.0, 5.0])
    assert np.allclose(symgrad.grad(m.sqrt_newton)(a, 1e-12), 0.5 / np.sqrt(a), atol=1e-12)
    source = symgrad.grad(m.sqrt_newton).source
    assert "    while err > tol:\n        tape.append((err, x))\n" in source
    assert symgrad.grad(m.sqrt_newton)(a, 10.0).tolist() == [1.0, 1.0, 1.0]  # no iterations


def test_emitted_source_does_not_depend_on_the_trip_count(make_fn):
    small = make_fn(LOOPS.replace("range(n)", "range(3)"))
    large = make_fn(LOOPS.replace("range(n)", "range(3000)"))
    a = symgrad.grad(small.rnn, argnums=(0, 1)).source.split('"""', 2)[2]
    b = symgrad.grad(large.rnn, argnums=(0, 1)).source.split('"""', 2)[2]
    assert a.replace("range(3)", "range(N)") == b.replace("range(3000)", "range(N)")
    code = [line for line in b.splitlines() if not line.strip().startswith("#")]
    assert "    for t in range(3000):" in code
    assert sum("np.tanh(" in line for line in code) == 2  # the forward loop, and its recompute


def test_emitted_gradient_is_a_loop_over_a_tape_read_backwards(m):
    source = symgrad.grad(m.rnn, argnums=(0, 3)).source
    assert "    for t in range(n):\n        tape.append((t, h))\n" in source
    assert "in reversed(tape):" in source
    assert "W_bar_1 += " in source  # the captured weight's cotangent accumulates


def test_a_loop_filling_rows_updates_them_in_place(m):
    code = symgrad.grad(m.fill_rows, argnums=(0, 1)).source
    assert "        hs_1[t] = h_2\n" in code and "tape.append((t, h_1))" in code  # h, not hs
    assert "_setitem" not in code  # the backward loop zeroes hs_bar's rows in place too


def test_value_and_grad_and_vjp_through_loops(m):
    x = RNG.uniform(0.5, 1.5, 5)
    value, g = symgrad.value_and_grad(m.running_product)(x)
    assert np.isclose(value, np.prod(x))
    assert np.allclose(g, np.prod(x) / x)
    _, back = symgrad.vjp(m.running_product, x)
    assert np.allclose(back(2.0)[0], 2 * np.prod(x) / x)


def test_loops_in_the_ir_are_nested_graphs(m):
    graph = lower(m.nested)
    verify(graph)
    text = to_text(graph)
    assert "= loop " in text and text.count("{ lambda") == 3  # function, loop, inner loop
    assert "cluster_" in to_dot(graph)
    verify(reverse(graph, [0, 1]))


LAST_VALUES = """
def bisection(x, a):
    lo = 0.0
    hi = 1.0
    for i in range(20):
        mid = 0.5 * (lo + hi)
        if np.sum(x) * mid > a:
            hi = mid
        else:
            lo = mid
    return mid * np.sum(x * x)


def target(x, n):
    s = 0.0
    for i in range(n):
        s = s + x[i]
        y = x * i
    return s * i + np.sum(y)


def rows(X, n):
    t = 0.0
    for row in X:
        t = t + np.sum(row)
        h = np.tanh(row) * t
    return np.sum(h) + t


def broken(x, n):
    for i in range(x.shape[0]):
        v = x[i] * 2.0
        if v > 1.0:
            break
    return v * i


def tested(x, n):
    s = x * 1.0
    while np.sum(s) < 10.0:
        last = np.sin(s)
        s = s * 1.5 + 0.1
    return np.sum(last)
"""


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["bisection", "target", "rows", "broken", "tested"])
def test_a_name_first_bound_in_a_loop_holds_its_last_value_after_it(make_fn, name, backend):
    # they were refused: "'mid' is bound only inside the loop"
    f = getattr(make_fn(LAST_VALUES), name)
    args = (np.array([0.3, 0.9, 0.7]), 0.5 if name == "bisection" else 3)
    if name == "rows":
        args = (np.array([[0.3, 0.2], [-0.5, 0.4], [0.1, 0.9]]), 0)
    assert symgrad.jit(f, backend=backend)(*args) == pytest.approx(f(*args), rel=1e-12)
    symgrad.check_grads(f, args, 0, modes=("rev", "fwd"), backend=backend)


ALIASES = """
def carried(x):
    s = x * 1.0
    for i in range(3):
        s = s * 2.0
        t = s
    s += 1.0
    return np.sum(t * x)


def row_of(x):
    Y = x * 1.0
    for row in Y:
        pass
    Y[-1] = 7.0
    return np.sum(row * x[0])


def view(x):
    y = x * 1.0
    for i in range(2):
        v = y[i : i + 2]
    y *= 2.0
    return np.sum(v * x[1:3])
"""


@pytest.mark.parametrize("name", ["carried", "row_of", "view"])
def test_a_name_first_bound_in_a_loop_to_an_array_held_elsewhere_is_refused(make_fn, name):
    # its last row, a copy, missed the change in place of the array Python's name holds
    f = getattr(make_fn(ALIASES), name)
    with pytest.raises(
        symgrad.UnsupportedSyntaxError, match="may be an array something else holds after it too"
    ):
        symgrad.jit(f)(np.array([0.3, 0.2, 0.9, 0.7]))


def test_a_loops_index_read_after_it_is_pythons_int(make_fn):
    f = make_fn("def f(x):\n    for i in range(3):\n        x = x * 2.0\n    return x[:i], i\n").f
    got, want = symgrad.jit(f)(np.ones(4)), f(np.ones(4))
    assert type(got[1]) is int and got[1] == want[1] and np.array_equal(got[0], want[0])


def test_a_name_first_bound_in_a_loop_that_ran_no_step_raises(make_fn):
    f = make_fn(LAST_VALUES).target
    with pytest.raises(symgrad.SymgradError, match="which ran no step"):  # (Python's NameError;
        symgrad.grad(f)(np.ones(3), 0)  # NumPy's IndexError of the -1st step had escaped)


def eliminated_then_substituted(A, b):  # (Gaussian elimination, then back substitution)
    A = A.copy()
    b = b.copy()
    n = b.shape[0]
    for k in range(n):
        for i in range(k + 1, n):  # (no step where k = n - 1: its i's last value was asked)
            m = A[i, k] / A[k, k]
            A[i] = A[i] - m * A[k]
            b[i] = b[i] - m * b[k]
    x = np.zeros(n)
    for i in range(n - 1, -1, -1):  # (binds i again before reading it)
        x[i] = (b[i] - np.sum(A[i, i + 1 :] * x[i + 1 :])) / A[i, i]
    return np.sum(x * x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_loops_name_bound_again_before_it_is_read_is_not_kept(backend):
    """An inner loop's index, read after it only by a later loop binding it first, was kept as
    its last step's: an IndexError at the outer loop's step where the inner one runs none."""
    A = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
    b = np.array([1.0, -2.0, 0.5])
    f = eliminated_then_substituted
    assert symgrad.jit(f, backend=backend)(A, b) == pytest.approx(f(A, b), rel=1e-12)
    symgrad.check_grads(f, (A, b), (0, 1), modes=("rev", "fwd"), backend=backend)


@pytest.mark.parametrize(
    "body, words",
    [
        ("for x_ in 3.0:\n        x = x * 2", "goes over range"),
        ("for i in range(n):\n        break\n        x = x * 2", "code after break never runs"),
        ("for i in range(n):\n        x = [x]", "list"),
        ("ys = []\n    for i in range(n):\n        if i > 1:\n            ys.append(x)", "every"),
        ("ys = []\n    for i in range(n):\n        ys.append(x)\n    x = ys * 2", "np.stack"),
    ],
)
def test_unsupported_loops_are_refused_with_a_location(make_fn, body, words):
    mod = make_fn(f"def f(x, n):\n    {body}\n    return np.sum(x)\n")
    with pytest.raises(symgrad.SymgradError, match=words) as info:
        symgrad.grad(mod.f).source
    assert info.value.loc is not None and info.value.loc.line >= 2


def test_symgrad_check_proves_a_loop_symbolically(m):
    W, U, xs, h0, _ = rnn_args(3)
    report = symgrad.check(m.rnn, W[:2, :2], U[:2, :1], xs[:, :1], h0[:2], 3, argnums=(0, 3))
    assert report.ok, str(report)
    assert report.checks[1].status == "passed", str(report)


def rows_read_twice(P, x):
    s = 0.0
    for i in range(P.shape[0] // 2):
        s = s + np.sum(np.tanh(P[2 * i] * x + P[2 * i + 1]) * s) + np.sum(P[2 * i] * x)
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_backward_step_adds_each_read_rows_cotangent_into_its_row(backend):
    """Rows 2i and 2i+1 of P read (row 2i twice): each backward step adds each cotangent into
    its row of P's (`P_bar[t] += v`, three adds), never into zeros as large as P made at every
    step and then added whole; checked against central differences."""
    rng = np.random.default_rng(5)
    args = (rng.standard_normal((6, 3)), rng.standard_normal(3))
    back = _checked_backward(rows_read_twice, args, backend)
    assert back.count("P_bar_1[") == 3 and back.count("np.zeros_like(P") == 1, back


def _checked_backward(fn, args: tuple, backend: str) -> str:
    """The backward pass of fn's gradient with respect to both arguments (its compiled loops,
    where it has them), the gradient checked against central differences."""
    symgrad.check_grads(fn, args, (0, 1), backend=backend)
    g = symgrad.grad(fn, (0, 1), backend=backend)
    g(*args)
    if "def _back" in g.source:
        return g.source[g.source.index("def _back") :]
    return g.source.split("# backward pass", 1)[1]


def row_parts(W, x):
    s = 0.0
    for i in range(W.shape[0]):
        w = W[i]
        s = s + np.sum(np.tanh(w[:3] * x + w[3:6]) * w[6:])
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_backward_step_adds_each_part_of_a_row_into_its_part(backend):
    """Row i of W read whole, then in three parts: each backward step adds each part's
    cotangent into its part of W's row (`W_bar[i][:3] += v`), never into a row of zeros made
    at every step and then added; checked against central differences."""
    rng = np.random.default_rng(6)
    args = (rng.standard_normal((4, 9)), rng.standard_normal(3))
    back = _checked_backward(row_parts, args, backend)
    for part in ("[:3]", "[3:6]", "[6:]"):
        assert re.search(r"W_bar_\d\[i_?\d*\]" + re.escape(part) + r" \+=", back), back
    assert "zeros_like(w" not in back and "zeros_like(W[" not in back, back


SHRINKING = """
def dropped_ends(x):
    s = 0.0
    for i in range(3):
        x = x[1:]
        s = s + np.sum(x)
    return s

def halved(x):
    v = x
    s = 0.0
    for k in range(2):
        v = v[::2] + v[1::2]
        s = s + np.sum(v ** 2)
    return s

def maybe_shorter(x):
    s = 0.0
    for i in range(3):
        if len(x) > 1:
            x = x[1:]
        s = s + np.sum(x)
    return s

def differences(x):
    s = 0.0
    v = x
    for k in range(2):
        v = np.diff(v)
        s = s + np.sum(v ** 2)
    return s
"""


@pytest.mark.parametrize("name", ["dropped_ends", "halved", "maybe_shorter", "differences"])
def test_a_carried_array_whose_shape_changes_and_is_not_read_after(make_fn, name):
    # the backward loop started its cotangent as zeros like the array before the loop: a
    # broadcasting error, or a wrong gradient where the shapes broadcast ([0, 4] for [0, 3])
    fn = getattr(make_fn(SHRINKING), name)
    for x in (np.array([1.0, 2.0, 4.0, 7.0]), np.array([0.5, -1.0])):
        if name != "maybe_shorter" and len(x) < 4:
            continue
        symgrad.check_grads(fn, (x,), modes=("rev", "fwd"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_range_whose_step_is_an_expression(make_fn, backend):
    """The backward loop's index is `start + k * (step)`, the step's expression in brackets."""
    mod = make_fn(
        """
        def total(x, k):
            s = 0.0
            for i in range(k, len(x), k + 1):
                s = s + x[i] ** 2
            return s

        def halves(x, k):
            s = 0.0
            for i in range(1, len(x), k // 2 + 1):
                s = s + np.sin(x[i])
            return s

        def filled(x, k):
            out = np.zeros(len(x))
            for i in range(0, len(x), k + 1):
                out[i] = x[i] ** 3
            return np.sum(out)
        """
    )
    x = np.array([0.7, 0.2, 1.3, 0.9, 0.35, -0.4, 1.1])
    for fn in (mod.total, mod.halves, mod.filled):
        for k in (0, 1, 2, 3):
            symgrad.check_grads(fn, (x, k), backend=backend)


def test_a_name_read_before_the_function_binds_it_is_no_globals(make_fn):
    # (a loop's first step binding h for the next to read, `if t == 0: h = ...`, read the
    # module's h in the other steps: 1.14 where Python's 0.81; Python's h is the function's
    # own everywhere in it: its first step is lowered on its own now, `test_first_steps`)
    mod = make_fn(
        """
        h = 0.5


        def peeled(x):
            for t in range(3):
                if t == 0:
                    h = np.tanh(x)
                else:
                    h = np.tanh(x + h)
            return np.sum(h)


        def read_first(x):
            s = h * x
            h = 2.0
            return np.sum(s * h)
        """
    )
    x = np.array([0.1, 0.2])
    assert np.isclose(symgrad.jit(mod.peeled)(x), mod.peeled(x))
    symgrad.check_grads(mod.peeled, (x,))
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="read before the function binds"):
        symgrad.grad(mod.read_first)(x)


def test_names_of_nested_scopes_are_theirs(make_fn):
    # (a nested def's own local, or a comprehension's variable, made the outer function's
    # read of the global of that name "read before the function binds it"; a nested def
    # reading a name the function around it binds later read the global: Python's NameError)
    mod = make_fn(
        """
        s = 10.0
        k = 3


        def inner_binds(x):
            def inner(z):
                s = 2.0
                return z * s

            return np.sum(inner(x)) + s


        def comprehended(x):
            d = {k: x * k for k in range(2)}
            return np.sum(d[1]) + k


        def bound_later(x):
            def inner(z):
                return z * y

            total = np.sum(inner(x))
            y = 2.0
            return total
        """
    )
    x = np.array([0.3, 0.6, 0.8])
    for fn in (mod.inner_binds, mod.comprehended):
        assert symgrad.jit(fn)(x) == pytest.approx(fn(x), rel=1e-12)
        symgrad.check_grads(fn, (x,), 0)
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="read before"):
        symgrad.grad(mod.bound_later)(x)
