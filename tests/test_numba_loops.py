"""Loops compiled whole by the Numba backend (`symgrad.emit.compiled`): each program's gradient
is checked against central differences (reverse and forward mode) and the NumPy backend, and
its source says which loops run compiled (`def _loopN`, `def _backN`) and how the tape is kept
(arrays written at step k, not a list of tuples).
"""

from __future__ import annotations

import importlib.util
import math
import re
import warnings

import numpy as np
import pytest

import symgrad
from tests.fixtures.array_fns import elements as conv
from tests.test_numba_backend import rnn

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("numba") is None, reason="the numba extra is not installed"
)


def stops(x, w):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + np.sum(np.sin(x[i] * w))
        if s > 1.0:
            break
    return s * s


def branches(x, w):
    s = 0.0
    for i in range(x.shape[0]):
        xi = x[i]
        if xi > 0:
            s = s + xi * w
        else:
            s = s - 2.0 * xi * w * w
    return s


def branches_reading_rows(x, w):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0:  # each branch adds into x's cotangent: zeros with the row added, as
            s = s + x[i] * w  # statements in the compiled backward loop
        else:
            s = s - 2.0 * x[i] * w * w
    return s


def stacked(x, w):
    ys = []
    for i in range(4):
        ys.append(np.cos(x * w * i))
    return np.sum(np.stack(ys) ** 2)


def nested(A, v):
    total = 0.0
    for i in range(3):
        u = v
        for j in range(2):
            u = np.sin(A @ u) + 0.1 * j
        total = total + np.sum(u * A[i])
    return total


def strided(x):
    y = x
    for i in range(5, 0, -2):
        y = y * np.cos(x * i)
    return np.sum(y)


def newton(a, tol):
    x = a
    err = 1.0
    while err > tol:
        x_new = 0.5 * (x + a / x)
        err = np.max(np.abs(x_new - x))
        x = x_new
    return np.sum(x)


def many_steps(x, n):
    k = 0.0
    while k < n:  # more steps than the tape's first room: it grows
        x = np.sin(x) * 0.9 + 0.1
        k = k + 1.0
    return np.sum(x * x)


def fancy(x, idx):
    s = 0.0
    for i in range(3):
        s = s + np.sum(x[idx] * i)  # an array of indices: Numba's rules differ, so not compiled
    return s


def falling(w):
    """GradBench's particle, in brief: Python floats, a while loop that breaks mid-step (the
    velocity is updated only on steps that do not break: a branch whose cotangent is the
    number 0.0 on the other side), the crossing point interpolated."""
    x0, x1, v0, v1 = 0.0, 8.0, 0.75, 0.0
    while True:
        r = math.sqrt((x0 - 10.0) ** 2 + (x1 - 10.0 + w) ** 2)
        x0 = x0 + 0.1 * v0
        x1 = x1 + 0.1 * v1
        if x1 <= 0.0:
            break
        v0 = v0 - 0.1 * (x0 - 10.0) / r**3
        v1 = v1 - 0.1 * ((x1 - 10.0 + w) / r**3 + 1.0)
    tau = -x1 / v1
    return (x0 + tau * v0) ** 2


def empty_loop_then_branch(y, a):  # found by the control fuzzer on this backend
    for _ in range(0):
        a *= 0.5  # a Python float stays one: the branch not taken gives it the cotangent 0.0
    if np.mean(y) < -1.1:
        pass
    else:
        a = np.sum(y)
    return a


def running_extremes(x):  # starts that are no finite numbers (a NameError: `_loop1(inf, ...)`)
    m, big = np.inf, -math.inf
    for i in range(x.shape[0]):
        m = min(m, x[i] * 2.0)
        big = max(big, x[i] ** 2)
    return m + big


RNG = np.random.default_rng(3)
PROGRAMS = {  # name: (function, arguments, argnums, compiled loops, compiled backward loops)
    "rnn": (rnn, (0.4 * RNG.standard_normal((4, 4)), RNG.standard_normal((4, 3)),
                  RNG.standard_normal((6, 3))), (0, 1), 1, 1),
    "conv": (conv, (RNG.standard_normal(12), RNG.standard_normal(3)), (0, 1), 0, 0),  # batched
    "stops": (stops, (RNG.uniform(0.1, 0.5, (6, 3)), RNG.uniform(0.5, 1.0, 3)), (0, 1), 1, 1),
    "branches": (branches, (RNG.standard_normal(7), 0.7), (0, 1), 1, 1),
    "branches_reading_rows": (branches_reading_rows, (RNG.standard_normal(7), 0.7), (0, 1), 1, 1),
    "stacked": (stacked, (RNG.standard_normal(5), 0.3), (0, 1), 1, 1),
    # the forward loop stacks the inner loop's tape entries at each step, and the backward
    # loop, whole, reads them back (`symgrad.passes.residuals_nested`)
    "nested": (nested, (RNG.standard_normal((3, 3)) * 0.5, RNG.standard_normal(3)), (0, 1), 1, 1),
    "strided": (strided, (RNG.standard_normal(4),), 0, 1, 1),
    "newton": (newton, (RNG.uniform(1, 4, 3), 1e-3), 0, 1, 1),
    "many_steps": (many_steps, (RNG.standard_normal(3), 40.0), 0, 1, 1),
    "fancy": (fancy, (RNG.standard_normal(5), np.array([0, 2, 2])), 0, 0, 0),
    "falling": (falling, (0.3,), 0, 1, 1),
    "running_extremes": (running_extremes, (np.array([0.7, 0.3, 0.9]),), 0, 1, 1),
    "empty_loop_then_branch": (empty_loop_then_branch, (RNG.standard_normal(3), -0.9), (0, 1),
                               1, 1),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(PROGRAMS))
def test_compiled_loops_match_central_differences_and_the_numpy_backend(case):
    f, args, argnums, loops, backs = PROGRAMS[case]
    symgrad.check_grads(f, args, argnums, backend="numba", modes=("rev", "fwd"))
    g = symgrad.grad(f, argnums, backend="numba")
    got, want = g(*args), symgrad.grad(f, argnums)(*args)
    for a, b in zip(*(v if isinstance(argnums, tuple) else (v,) for v in (got, want))):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    source = g.source
    assert source.count("\ndef _loop") == loops and source.count("\ndef _back") == backs, source
    assert loops == 0 or "tape.append(" not in source


def test_the_tape_is_arrays_written_at_each_step_and_read_back_from_the_last():
    W, U, xs = PROGRAMS["rnn"][1]
    g = symgrad.grad(rnn, (0, 1), backend="numba")
    g(W, U, xs)
    source = g.source
    # the row's shape is an argument; h before a step is h after the one before: one array
    assert "    tape_h_1 = np.empty((n + 1,) + tape_h_1_row, np.float64)\n" in source
    assert "        tape_h_1[t + 1] = h_2\n" in source
    assert "    for t_1 in range(n_1 - 1, -1, -1)" in source
    assert "    W_bar_1 = _back" not in source  # a sum of outer products: one product after
    assert ".T @ " in source.split("def _back", 1)[1]


def test_a_loop_that_breaks_hands_on_the_steps_it_ran():
    x, w = PROGRAMS["stops"][1]
    g = symgrad.grad(stops, (0, 1), backend="numba")
    g(x, w)
    assert "[:k]" in g.source  # the tape cut to the steps run
    for later in (x[:2], x[:1]):  # fewer steps than the first call's break
        np.testing.assert_allclose(g(later, w)[0], symgrad.grad(stops, (0, 1))(later, w)[0])


def test_forward_mode_compiles_the_loop_with_its_tangents():
    W, U, xs = PROGRAMS["rnn"][1]
    source = symgrad.emit_module(rnn, argnums=(0, 1), kind="jvp", backend="numba", args=(W, U, xs))
    kernel = source[source.index("def _loop") : source.index("def jvp_rnn")]
    assert "_fit(" not in kernel and "loss_dot = 0.0" in kernel  # a float's tangent: a float


def zero_tangent_of_a_numpy_number(y, a):  # found by the control fuzzer on this backend
    s = np.sum(np.zeros_like(y))  # a NumPy float64
    k = 0
    while k < 2:
        k += 1
        for _ in range(0):  # carries s's tangent, or a's, a float: so is s's zero tangent
            s = a
            y = y + s
    return np.sum(y) + s


def test_a_numpy_numbers_zero_tangent_takes_a_python_floats_type():
    args = (RNG.standard_normal(3), -0.4)
    symgrad.check_grads(zero_tangent_of_a_numpy_number, args, 1, backend="numba", modes=("fwd",))
    source = symgrad.emit_module(
        zero_tangent_of_a_numpy_number, argnums=1, kind="jvp", backend="numba", args=args
    )
    assert "def _loop" in source and "s_1_dot = 0.0" in source


def mean_or_float(x, a):  # found by the control fuzzer on this backend
    s = a
    for _ in range(2):
        s = np.mean(x)  # a Python float or a NumPy float64: its cotangent starts at 0.0
    k = 0
    while k < 3:
        k += 1
        x = x - s
    return np.mean(x)


def test_the_zero_cotangent_of_a_number_of_either_kind_is_a_float():
    args = (RNG.standard_normal(3), -0.2)
    symgrad.check_grads(mean_or_float, args, (0, 1), backend="numba", modes=("rev", "fwd"))
    g = symgrad.grad(mean_or_float, (0, 1), backend="numba")
    g(*args)
    assert "np.zeros_like(s" not in g.source, g.source


def squares_while(x):
    i = 0
    s = 0.0
    while i < x.shape[0]:
        s = s + x[i] ** 2
        i += 1
    return s


def test_a_total_that_starts_as_pythons_float_comes_back_numpys():
    """0.0 plus NumPy numbers is NumPy's float64 after a step, as the function returns it (a
    compiled loop gave Python's float: `1.0 / s` of a zero total raises there)."""
    x = RNG.standard_normal(3)
    value, _ = symgrad.value_and_grad(squares_while, backend="numba")(x)
    assert type(value) is type(squares_while(x)) is np.float64


def product(a):
    s = 1
    for i in range(len(a)):
        s = s * a[i]
    return s


def test_an_int_total_that_starts_as_pythons_int_comes_back_numpys():
    # (1 times NumPy ints is NumPy's int64 after a step; the compiled loop gave Python's int)
    a = np.array([2, 3, 4, 5, 6, 7])
    assert type(symgrad.jit(product, backend="numba")(a)) is type(product(a)) is np.int64


def decay(x, w):
    for _ in range(3):
        x = np.tanh(x * w)
    return np.sum(x)


def test_float32_loops_keep_their_dtype():
    rng = np.random.default_rng(5)  # (not RNG: which tests a worker ran first would decide)
    x, w = rng.standard_normal(5).astype(np.float32), rng.standard_normal(5).astype(np.float32)
    tangents = (np.ones(5, np.float32), np.zeros(5, np.float32))
    value, tangent = symgrad.jvp(decay, (x, w), tangents, backend="numba")
    assert value.dtype == tangent.dtype == np.float32
    want = symgrad.jvp(decay, (x, w), tangents)
    np.testing.assert_allclose(tangent, want[1], rtol=1e-5, atol=1e-6)  # (float32 sums)
    source = symgrad.emit_module(decay, argnums=(0, 1), kind="jvp", backend="numba", args=(x, w))
    assert "def _loop" in source


def test_a_float64_total_of_float32_steps_stays_a_python_loop():
    """`loss = 0.0` then `loss + np.sum(float32)` is a float64 on the first step and a float32
    after: NumPy's types change, Numba's would not, so the loop is not compiled."""
    W, U, xs = (a.astype(np.float32) for a in PROGRAMS["rnn"][1])
    g = symgrad.grad(rnn, (0, 1), backend="numba")
    gW, _ = g(W, U, xs)
    assert "def _loop" not in g.source and gW.dtype == np.float32


def nested_total(A):
    s = 0.0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            s = s + A[i, j]
    return s


def test_a_float32_total_of_nested_loops_stays_python_and_a_float32():
    """The same through two loops: the inner loop's total took a float64 type (joining the
    dtypes float64 and unknown gave float64, NumPy's dtype equals None), the loops compiled,
    and the total came back a float64 Python float for NumPy's float32."""
    A = np.full((2, 3), 0.1, np.float32)
    value, grad = symgrad.value_and_grad(nested_total, backend="numba")(A)
    assert isinstance(value, np.float32) and value == nested_total(A) and grad.dtype == np.float32
    assert symgrad.jit(nested_total, backend="numba")(A).dtype == np.float32


def damped(x):
    y = x
    for _k in range(3):
        y = np.sin(y) + 0.5 * y
    return np.sum(y**2)


def test_a_number_in_float32_work_of_a_compiled_loop_keeps_it_float32():
    """`0.5 * y` of a float32 y is float32 in NumPy, float64 in Numba: the forward-mode loop's
    carried y changed type, Numba refused the module ("Please report this") and the NumPy
    module ran. The number is written `np.float32(0.5)` in compiled code."""
    x, t = np.array([0.3, -0.7, 1.1], np.float32), np.ones(3, np.float32)
    value, tangent = symgrad.jvp(damped, (x,), (t,), backend="numba")  # (warnings: errors)
    want = symgrad.jvp(damped, (x,), (t,))
    assert value.dtype == tangent.dtype == np.float32
    np.testing.assert_allclose([value, tangent], want, rtol=1e-5)
    source = symgrad.emit_module(damped, kind="jvp", backend="numba", args=(x,))
    assert "def _loop" in source and "np.float32(0.5) * y" in source


def above(x):
    s = x[0] * 0.0
    for i in range(x.shape[0]):
        if x[i] > 0.1:
            s = s + x[i] * 2.0
    return s


def test_a_float32_compared_with_a_number_in_a_compiled_loop_compares_in_float32():
    """NumPy compares float32(0.1) > 0.1 in float32 (False); Numba in float64 (True): the
    compiled loop took the branch NumPy does not, a silently wrong value (0.6 for 0.4)."""
    x = np.array([0.1, 0.2, 0.05], np.float32)
    compiled = symgrad.jit(above, backend="numba")
    assert compiled(x) == above(x) and "x[i] > np.float32(0.1)" in compiled.source


def selected(x):
    return np.sum(np.where(x > 0.1, x, 0.0) * 2.0 + np.exp(x)) + np.sum(np.maximum(x, 0.1) * x)


def test_a_float32_compared_with_a_number_in_a_loop_nest_compares_in_float32():
    """The same in a fused loop nest: np.where(x > 0.1, ...) and np.maximum(x, 0.1) chose the
    other side at x = float32(0.1), in the value and the gradient."""
    x = np.array([0.1, 0.2, 0.05], np.float32)
    value, grad = symgrad.value_and_grad(selected, backend="numba")(x)
    want, want_grad = symgrad.value_and_grad(selected)(x)
    assert value == want == selected(x) and np.array_equal(grad, want_grad)


def above_c(x, c):
    s = x[0] * 0.0
    for i in range(x.shape[0]):
        if x[i] > c:
            s = s + x[i] * float(x[i] > 0.3)  # (float of a bool: a loop that stays Python)
    return s + np.sum(np.where(x > c, 2.0 * x, -x) * np.sin(x)) + np.sum(np.maximum(x, c))


def test_a_python_float_argument_beside_float32_values_is_a_float32_in_compiled_code():
    # c = 0.1 passed in was compared in float64 (the constant 0.1 was not, any more)
    x = np.array([0.1, 0.7, 0.3], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grad = symgrad.value_and_grad(above_c, (0, 1), backend="numba")(x, 0.1)
        assert symgrad.jit(above_c, backend="numba")(x, 0.1) == above_c(x, 0.1)
    want, want_grad = symgrad.value_and_grad(above_c, (0, 1))(x, 0.1)
    assert value == want and np.array_equal(grad[0], want_grad[0]) and grad[1] == want_grad[1]


def starts_from_an_update(x, y, a):  # found by the control fuzzer on this backend
    w0 = (a + y) / 2.0
    w0[0, 2] = x[-1]
    while True:
        if x[0] <= -0.8:
            break
        w0 = y * 2.0
        w0[0, 0] = x[1]  # (not a name's assignment: the loop is kept, `loop_exits`)
        break
    return np.mean(w0)


def test_a_loop_whose_initial_value_needs_a_helper_computes_it_before_the_call():
    """The carried value starts as `_setitem(...)` (a runtime helper): computed where the loop
    is called, so the loop compiles, and its backward loop reads the arrays it recorded."""
    args = (np.array([0.623, -0.99, 0.363]), RNG.standard_normal((2, 3)), 0.568)
    g = symgrad.value_and_grad(starts_from_an_update, argnums=2, backend="numba")
    value, grad = g(*args)
    want = symgrad.value_and_grad(starts_from_an_update, argnums=2)(*args)
    np.testing.assert_allclose([value, grad], want)
    assert "def _loop" in g.source and "def _back" in g.source


def strided_dot(x, w):
    s = 0.0
    for i in range(3):
        s = s + np.tanh(x[::2] @ w) * i  # `@` of a strided view: Numba hints it is slower
    return s


def test_numba_performance_hints_about_the_emitted_code_are_not_shown():
    import warnings

    from numba.core.errors import NumbaPerformanceWarning

    x, w = RNG.standard_normal(6), RNG.standard_normal(3)
    g = symgrad.grad(strided_dot, (0, 1), backend="numba")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        got = g(x, w)
    assert not [w for w in seen if issubclass(w.category, NumbaPerformanceWarning)]
    assert "def _back" in g.source
    for a, b in zip(got, symgrad.grad(strided_dot, (0, 1))(x, w)):
        np.testing.assert_allclose(a, b)


def rows_of_a_number(x, y, a):
    xs = []
    for _ in y:
        xs.append(a)
    return sum(xs)


def test_a_compiled_loops_inputs_are_computed_where_it_is_called(loops_kept):
    """The backward loop reads the stacked cotangent, an expression NumPy computes and Numba
    refuses (`np.broadcast_to(np.expand_dims(1.0, axis=0), (2,))`): it is computed where the
    compiled loop is called, and passed in (found by the control fuzzer, seed 98215: it was
    computed inside, and the module fell back on NumPy's with a warning)."""
    args = (RNG.standard_normal(3), RNG.standard_normal((2, 3)), 0.109)
    symgrad.check_grads(rows_of_a_number, args, (0, 1, 2), backend="numba")
    g = symgrad.grad(rows_of_a_number, (0, 1, 2), backend="numba")
    assert g(*args)[2] == 2.0
    assert "ys_bar = np.broadcast_to" in g.source.split("def grad_", 1)[1]


def test_a_compiled_backward_loop_adds_a_read_slices_cotangent_in_place(loops_kept):
    """`x[i : i + k]` read at each step: the backward loop's nests add their values into x's
    and w's cotangents where they compute them, x's at the slice (`_fused3(x_bar_1[i_1:t5],
    t6, w, shape_1)`, the nests' lengths an argument of the loop's function), never through
    zeros as large as x made at every step, nor an array made for the values."""
    x, w = PROGRAMS["conv"][1]
    g = symgrad.grad(conv, (0, 1), backend="numba")
    g(x, w)
    back = g.source.split("def _back", 1)[1].split("\n\n\n", 1)[0]
    assert "np.zeros_like(x, " not in back and "+=" not in back, back
    assert re.search(r"\n +_fused\d\(x_bar_1\[i_1:t5\], t6, w, shape_\d\)", back), back
    assert re.search(r"\n +_fused\d\(w_bar_1, t6, x\[i_1:t5\], shape_\d\)", back), back
    assert re.search(r"_back\d\(.*, \(3,\)\)", g.source), g.source  # (their lengths)
    nests = g.source.split("def _back", 1)[0]
    assert "x_bar_1[i] += t6 * w_i" in nests and "w_bar_1[i] += t6 * x_i" in nests, nests


def sines_of_rows(W, x):
    s = 0.0
    for i in range(W.shape[0]):
        s = s + np.sum(np.sin(W[i] * x) * s)
    return s


def test_a_backward_steps_nest_adds_into_a_row_and_a_whole_cotangent():
    """One nest computes both values a step adds, W's row's and x's, and adds them in: into
    the row `W_bar_1[i_1]` and into x_bar whole; checked against central differences."""
    args = (RNG.standard_normal((4, 3)), RNG.standard_normal(3))
    symgrad.check_grads(sines_of_rows, args, (0, 1), backend="numba")
    g = symgrad.grad(sines_of_rows, (0, 1), backend="numba")
    g(*args)
    assert re.search(r"_fused1\(W_bar_1\[i_1\], x_bar_1, ", g.source), g.source
    assert "added into W_bar_1, x_bar_1" in g.source, g.source


def decayed(x, s):
    y = x
    for _ in range(s):
        y = y + 0.1 * np.sin(y)
    return np.sum(y)


def test_a_loop_taping_large_arrays_keeps_them_in_typed_lists():
    """A compiled loop whose tape would copy arrays of more than `LOOP_ARRAY_MAX` entries into
    rows at every step keeps each step's array as it is, in a typed list (rows of one array
    made at each call fault its pages in anew), a small one rows; both against central
    differences."""
    from symgrad.emit.compiled import LOOP_ARRAY_MAX

    for n, listed in ((8, False), (LOOP_ARRAY_MAX + 1, True)):
        x = RNG.standard_normal(n)
        symgrad.check_grads(decayed, (x, 3), 0, backend="numba")
        g = symgrad.grad(decayed, backend="numba")
        g(x, 3)
        assert "def _loop1(" in g.source and "def _back2(" in g.source, g.source
        assert ("tape_y = numba.typed.List()" in g.source) == listed, g.source
        assert ("tape_y.append(y)" in g.source) == listed, g.source
        assert ("tape_y[_] = y" in g.source) == (not listed), g.source


def taps(w, x, b):
    m = x.shape[0] - w.shape[0] + 1
    out = np.zeros(m)
    for j in range(w.shape[0]):
        out = out + w[j] * x[j : j + m]
    return np.sum(np.maximum(out + b, 0.0) ** 2)


def taps_from(w, x, out0):
    out = out0  # the caller's array: never changed
    for j in range(w.shape[0]):
        out = out + w[j] * x[j : j + out0.shape[0]]
    return np.sum(out**2) + np.sum(out0)


def taps_from_ones_read_after(w, x):
    m = x.shape[0] - w.shape[0] + 1
    z = np.ones(m)  # read again after the loop: the loop cannot change it
    out = z
    for j in range(w.shape[0]):
        out = out + w[j] * x[j : j + m]
    return np.sum(out**2) + np.sum(z * x[:m])


def test_a_loop_adding_into_a_carried_array_of_its_own_adds_in_place(loops_kept):
    """`out = out + w[j] * x[j : j + m]`, out an array of zeros the loop alone reads: the
    step's nest adds its values into out's array (`_fused1(out_1, ...)`, no array made at
    each step, `fuse.summed`); against central differences and the NumPy backend."""
    args = (RNG.standard_normal(4), RNG.standard_normal(12), 0.2)
    symgrad.check_grads(taps, args, (0, 1, 2), backend="numba")
    g = symgrad.grad(taps, (0, 1, 2), backend="numba")
    for a, b in zip(g(*args), symgrad.grad(taps, (0, 1, 2))(*args)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    loop = g.source.split("def _loop", 1)[1].split("\n\n\n", 1)[0]
    assert re.search(r"\n +_fused\d\(out_1, w\[j\], x\[j:j \+ m\], shape\w*\)\n", loop), loop
    assert "out_1 = out_1" not in loop and "added into out_1" in g.source, g.source


@pytest.mark.parametrize("f", [taps_from, taps_from_ones_read_after])
def test_a_carried_array_someone_else_reads_is_not_added_into(loops_kept, f):
    """The loop starts from the caller's array, or from ones read again after it: each step
    makes its array, and the caller's is left as it was; against central differences."""
    w, x = RNG.standard_normal(3), RNG.standard_normal(10)
    args = (w, x, RNG.standard_normal(8)) if f is taps_from else (w, x)
    kept = [a.copy() for a in args]
    symgrad.check_grads(f, args, tuple(range(len(args))), backend="numba")
    g = symgrad.grad(f, tuple(range(len(args))), backend="numba")
    for a, b in zip(g(*args), symgrad.grad(f, tuple(range(len(args))))(*args)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    assert all(np.array_equal(a, b) for a, b in zip(args, kept))
    assert "added into out" not in g.source, g.source


def past_the_end(x):
    s = 0.0
    for i in range(x.shape[0] + 1):
        s = s + x[i] ** 2
    return s


def before_the_start(x):
    out = np.zeros_like(x)
    for i in range(x.shape[0]):
        out[i] = x[i - 2] + 2.0 * x[i]
    return np.sum(out**3)


@pytest.mark.parametrize("fn, x", [(past_the_end, np.ones(4)), (before_the_start, np.ones(1))])
def test_an_index_out_of_bounds_raises_as_in_numpy(fn, x):
    # the compiled loop read (and its backward loop wrote) outside the array: a value and a
    # gradient from other memory, often a crash at exit
    with pytest.raises(IndexError):
        fn(x)
    with pytest.raises(IndexError):
        symgrad.value_and_grad(fn, backend="numba")(x)


def test_a_dtype_numba_lacks_runs_the_numpy_module():
    # float16 raised Numba's own NotImplementedError (long double, or the other byte order,
    # warned "please report")
    def f(x):
        return np.sum(np.sin(x) * x**2)

    for dtype in (np.float16, np.longdouble, np.dtype(np.float64).newbyteorder("S")):
        x = np.array([0.5, 1.0], dtype=dtype)  # (the last: the other byte order than native)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = symgrad.grad(f, backend="numba")(x)
        assert got.dtype == dtype
        np.testing.assert_allclose(got.astype(float), symgrad.grad(f)(x).astype(float))


def steps_of(x, k):
    h = x
    for _ in range(k):
        h = np.tanh(h * 1.5 + 0.1)
    return np.sum(h)


def test_a_range_of_a_0d_array_stays_a_python_loop():
    # Numba's range refused the 0-d array: a "could not compile, please report" warning
    x = np.linspace(-1.0, 1.0, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = symgrad.grad(steps_of, backend="numba")(x, np.array(2))
    np.testing.assert_allclose(got, symgrad.grad(steps_of)(x, 2))


def ellipsis_update(x):
    a = np.sin(x)
    for i in range(2):
        a[...] += x[i]
    return np.sum(a**2)


def test_an_update_of_every_entry_through_an_ellipsis_stays_a_python_loop():
    # Numba has no a[...]: its NotImplementedError reached the user
    x = np.array([0.3, -1.2, 0.7])
    got = symgrad.value_and_grad(ellipsis_update, backend="numba")(x)
    want = symgrad.value_and_grad(ellipsis_update)(x)
    np.testing.assert_allclose(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1])


def damped_abs(x):
    m = 0.0
    for j in range(len(x)):
        m = m * 0.5 + x[j]
    return abs(m)


def test_a_backward_loop_starting_from_a_0d_array_compiles():
    """The seed of abs(m) is np.where(m >= 0, 1.0, -1.0), a 0-d array, where the backward loop
    carries a number: Numba refused to unify the two, and the module fell back on NumPy's."""
    x = np.array([0.3, -1.0, 2.0, 3.0])
    g = symgrad.grad(damped_abs, backend="numba")  # (a SpecialisationWarning fails the test)
    np.testing.assert_allclose(g(x), 0.5 ** np.arange(3, -1, -1))
    assert "def _back" in g.source and "m_bar[()]" in g.source


def divided_by_steps(x):
    s = 0.0
    for i in range(len(x)):
        s = s + x[i] * (10 // (i - 2)) + x[i] * (10 % (i - 2)) + x[i] * (i // 2)
    return s


def test_python_ints_divided_by_zero_raise_as_pythons():
    """Numba's `10 // 0` of Python ints is 0 under NumPy's error model: a loop whose divisor
    may be 0 stays Python's, which raises ZeroDivisionError; `i // 2` still compiles."""
    with pytest.raises(ZeroDivisionError):
        symgrad.jit(divided_by_steps, backend="numba")(np.ones(5))
    x = np.array([0.5, -1.0])
    assert symgrad.jit(divided_by_steps, backend="numba")(x) == divided_by_steps(x)
    np.testing.assert_allclose(symgrad.grad(divided_by_steps, backend="numba")(x), [-5.0, -10.0])
    halves = symgrad.jit(halved, backend="numba")
    assert halves(x) == halved(x) and "def _loop" in halves.source


def halved(x):
    s = 0.0
    for i in range(len(x)):
        s = s + x[i] * (i // 2) + x[i] * (i % 3)
    return s


def shifted(x):
    b, c = x * 2.0, x * 3.0
    for _ in range(2):
        b, c = c, np.sin(b) + c  # c's array is carried on as b: not added into
    return np.sum(b) + 3.0 * np.sum(c)


def shifted_sum(x):
    a, s, c = x * 1.0, x * 4.0, x * 3.0
    for _ in range(2):
        v = np.sin(a)
        a, s, c = c * 0.5, s + v, v  # the v added into s is carried on as c: made each step
    return np.sum(a) + 2.0 * np.sum(s) + 3.0 * np.sum(c)


@pytest.mark.parametrize("f", [shifted, shifted_sum])
def test_a_carried_array_carried_on_as_another_value_is_not_added_into(loops_kept, f):
    # the step's nest added sin(b) into c's array, which b's next value still was (a wrong
    # value and gradient), or made no array for the v it added where another value carries v
    # on (NameError in the module)
    x = np.array([0.3, -0.4, 0.5])
    assert symgrad.jit(f, backend="numba")(x) == pytest.approx(f(x), rel=1e-12)
    symgrad.check_grads(f, (x,), backend="numba", modes=("rev", "fwd"))
