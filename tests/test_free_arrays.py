"""Arrays the function reads from outside it (`Lowerer.free`): a module's global, a module's
attribute, a closure's cell. Each was refused ("the array 'X' comes from outside the
function"); each is now a parameter of the emitted module after the function's own, read when
each call is made, so a new array bound to the name, or one changed in place, is what the next
call sees."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import symgrad
from tests.conftest import BACKENDS

SOURCE = """
X = np.arange(12.0).reshape(4, 3) / 10
y = np.array([1.0, 0.0, 2.0, 1.5])


def loss(w):
    r = X @ w - y
    return np.sum(r**2)


def make_loss(A, b):
    def inner(w):
        s = 0.0
        for i in range(A.shape[0]):
            s = s + (A[i] @ w - b[i]) ** 2
        return s

    return inner


def helper(w):
    return np.tanh(X @ w)


def in_a_loop(w):
    total = 0.0
    for k in range(3):
        if k > 0:
            total = total + np.sum(helper(w * k) * y)
    return total
"""

W = np.array([0.1, -0.2, 0.3])


@pytest.fixture
def mod(make_fn):
    return make_fn(SOURCE)


@pytest.mark.parametrize("backend", BACKENDS)
def test_globals_and_cells_are_the_modules_arguments(mod, backend):
    closed = mod.make_loss(mod.X * 2.0, mod.y[::-1].copy())
    for fn in (mod.loss, closed, mod.in_a_loop):
        value, _ = symgrad.value_and_grad(fn, backend=backend)(W)
        assert value == pytest.approx(fn(W), rel=1e-12)
        symgrad.check_grads(fn, (W,), 0, modes=("rev", "fwd"), backend=backend)
    symgrad.check_grads(mod.loss, (W,), 0, order=2, backend=backend)
    np.testing.assert_allclose(symgrad.hessian(mod.loss)(W), 2 * mod.X.T @ mod.X, rtol=1e-12)
    out, back = symgrad.vjp(mod.helper, W, backend=backend)
    np.testing.assert_allclose(out, mod.helper(W), rtol=1e-12)
    jac = symgrad.jacrev(mod.helper)(W)
    np.testing.assert_allclose(back(np.ones(4))[0], jac.T @ np.ones(4), rtol=1e-12)
    ws = np.stack([W, 2 * W, -W])
    want = np.stack([symgrad.grad(mod.loss)(w) for w in ws])
    np.testing.assert_allclose(symgrad.vmap(symgrad.grad(mod.loss))(ws), want, rtol=1e-12)


def test_each_call_reads_the_array_as_it_is_then(mod):
    g = symgrad.grad(mod.loss)
    g(W)
    mod.X[0, 0] = 5.0  # (changed in place)
    np.testing.assert_allclose(g(W), 2 * mod.X.T @ (mod.X @ W - mod.y), rtol=1e-12)
    mod.X, mod.y = np.ones((5, 3)), np.ones(5)  # (new arrays, of another shape)
    np.testing.assert_allclose(g(W), 2 * mod.X.T @ (mod.X @ W - mod.y), rtol=1e-12)
    lin = symgrad.linearize(mod.helper, W)[1]
    before = lin(W)
    mod.X *= 10.0  # (linearize's point: the arrays as they were, changed in place or not)
    np.testing.assert_allclose(lin(W), before, rtol=1e-12)
    mod.X = np.zeros((5, 3))
    np.testing.assert_allclose(lin(W), before, rtol=1e-12)
    mod.X = mod.X + 1j  # (complex: refused, as when compiling, never run as real)
    with pytest.raises(symgrad.SymgradError, match="complex"):
        g(W)


def test_the_module_takes_them_after_the_functions_own(mod):
    source = symgrad.emit_module(mod.loss, args=(W,))
    assert "def grad_loss(w, X, y):" in source
    assert "reads from outside (X, the global X of module" in source
    assert "Gradient of loss(w) with respect to w." in source


def test_a_transformation_inside_the_function_reads_them_too(make_fn, mod):
    # (its graph's params for them were bound to the call's arguments, out of step)
    sys_modules_name = mod.__name__
    outer = make_fn(
        f"""
        import symgrad
        import {sys_modules_name} as m


        def outer(w):
            return np.sum(symgrad.grad(m.loss)(w) ** 2)


        def tangent(w):
            return np.sum(symgrad.jvp(m.helper, (w,), (w,))[1] ** 2)
        """
    )
    for fn in (outer.outer, outer.tangent):
        assert symgrad.jit(fn)(W) == pytest.approx(fn(W), rel=1e-12)
        symgrad.check_grads(fn, (W,), 0)


def test_a_closures_arrays_die_with_it(mod):
    # (the cache of a closure's gradient kept the closure alive, and with it its arrays)
    import gc
    import weakref

    held = []
    for _ in range(5):
        X = np.ones((50, 3))
        held.append(weakref.ref(X))
        symgrad.grad(mod.make_loss(X, np.ones(50)))(W)
        del X
    gc.collect()
    assert not any(ref() is not None for ref in held)


def test_a_custom_vjp_backward_reading_one_is_refused(make_fn):
    # (a KeyError escaped: its graph's params are the residuals and the cotangent alone)
    mod = make_fn(
        """
        import symgrad

        X = np.ones((2, 2))


        @symgrad.custom_vjp
        def f(w):
            return np.sum(X @ w)


        def f_fwd(w):
            return f(w), None


        def f_bwd(res, g):
            return (g * X.sum(axis=0),)


        f.defvjp(f_fwd, f_bwd)


        def loss(w):
            return f(w) * 2.0
        """
    )
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="among the residuals"):
        symgrad.grad(mod.loss)(np.ones(2))


def test_symgrads_check_passes_them(mod):
    # (its symbolic step called the module without them: skipped, "missing arguments")
    report = symgrad.check(mod.loss, W)
    assert "symbolic  passed" in str(report), str(report)


HELD = """
PARAMS = [(np.eye(3) * 0.5, np.zeros(3)), (np.ones((3, 3)) * 0.2, np.full(3, 0.1))]
DATA = {"X": np.arange(12.0).reshape(4, 3) / 10, "y": np.array([1.0, 0.0, 2.0, 1.5]), "k": 2}


def net(x):
    for W, b in PARAMS:
        x = np.tanh(W @ x + b)
    return np.sum(x**2)


def indexed(x):
    s = 0.0
    for i in range(len(PARAMS)):
        W, b = PARAMS[i]
        s = s + np.sum(np.sin(W @ x + b))
    return s


def fitted(w):
    r = DATA["X"] @ w - DATA["y"]
    return np.sum(r**2) * DATA["k"]


def make_loss(data):
    def loss(w):
        return np.sum((data["X"] @ w - data["y"]) ** 2) + np.sum(w * data["extra"][0])

    return loss


def grows(x):
    PARAMS.append((x, x))
    return np.sum(x)
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_arrays_a_global_or_a_closures_container_holds(make_fn, backend):
    # (each was refused: "reads an array from outside the function (one a global or a
    # closure's container holds)")
    mod = make_fn(HELD)
    closed = mod.make_loss({"X": mod.DATA["X"] * 2.0, "y": mod.DATA["y"], "extra": [W * 3.0]})
    for fn in (mod.net, mod.indexed, mod.fitted, closed):
        assert symgrad.jit(fn, backend=backend)(W) == pytest.approx(fn(W), rel=1e-12)
        symgrad.check_grads(fn, (W,), 0, modes=("rev", "fwd"), backend=backend)
    source = symgrad.emit_module(mod.net, args=(W,))
    assert "def grad_net(x, PARAMS_0_0, PARAMS_0_1, PARAMS_1_0, PARAMS_1_1):" in source
    assert "PARAMS_1_0, the global PARAMS[1][0] of module" in source


def test_a_container_changed_after_compiling_is_read_as_it_is_then(make_fn):
    mod = make_fn(HELD)
    g = symgrad.grad(mod.net)
    g(W)
    mod.PARAMS[0][0][0, 1] = 0.7  # (an array changed in place)
    np.testing.assert_allclose(g(W), symgrad.grad(mod.net)(W), rtol=1e-12)
    symgrad.check_grads(mod.net, (W,))
    mod.PARAMS[1] = (np.eye(3), np.ones(3))  # (a new item: compiled again)
    mod.PARAMS.append((np.eye(3) * 2.0, np.ones(3)))  # (one more layer)
    symgrad.check_grads(g, (W,))
    mod.DATA["k"] = 3  # (a number beside the arrays)
    assert symgrad.jit(mod.fitted)(W) == pytest.approx(mod.fitted(W), rel=1e-12)
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="a global's list"):
        symgrad.grad(mod.grows)(W)


def test_a_container_that_shrank_is_compiled_again(make_fn):
    # (the fast path read each array where it was: IndexError, KeyError)
    mod = make_fn(HELD)
    g = symgrad.grad(mod.net)
    g(W)
    mod.PARAMS.pop()
    np.testing.assert_allclose(g(W), symgrad.grad(mod.net)(W), rtol=1e-12)
    symgrad.check_grads(mod.net, (W,))
    f = symgrad.jit(mod.fitted)
    f(W)
    del mod.DATA["k"]
    with pytest.raises(symgrad.SymgradError):  # (Python's KeyError: a SymgradError naming it)
        f(W)


def test_an_argument_changed_in_place_is_checked_apart_from_them(make_fn):
    # (one the function reads after its change was not among the arguments checked: 16.0
    # where Python's 32.0, as the global array is the argument itself)
    mod = make_fn(
        """
        W = np.ones((2, 2))
        L = [W]


        def changed(x):
            x += 1.0
            return np.sum(L[0] @ x)


        def held(x):
            A = L[0]
            A += 1.0
            return np.sum(W @ x)
        """
    )
    with pytest.raises(symgrad.SymgradError, match="shares its memory"):
        symgrad.jit(mod.changed)(mod.L[0])
    # a global's array changed in place: refused (Python's change stays for later calls)
    with pytest.raises(symgrad.SymgradError, match="the global L.0. of module .*, read from"):
        symgrad.jit(mod.held)(np.array([1.0, 2.0]))
    x = np.ones((2, 2))
    assert symgrad.jit(mod.changed)(x.copy()) == mod.changed(x.copy())


def test_a_loop_over_a_list_of_pairs_by_a_runtime_range_says_so(make_fn):
    # (was "a branch gives the value a tuple")
    mod = make_fn(
        """
        PAIRS = [(np.eye(3), np.ones(3)), (np.eye(3) * 2.0, np.zeros(3))]


        def f(x):
            s = 0.0
            for i in range(x.shape[0] - 1):
                W, b = PAIRS[i]
                s = s + np.sum(W @ x + b)
            return s
        """
    )
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="range must be known when"):
        symgrad.grad(mod.f)(W)


def test_a_sum_of_many_terms_unrolled_is_written_in_statements(make_fn):
    # (a RecursionError writing one expression of 500 terms; of 250 under a limit of 450)
    mod = make_fn(
        """
        def f(x, vs):
            s = 0.0
            for v in vs:
                s = s + np.sum(v * x)
            return s
        """
    )
    x, vs = np.array([1.0, 2.0]), [np.full(2, i * 0.001) for i in range(250)]
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(450)
    try:
        g = symgrad.grad(mod.f)(x, vs)
    finally:
        sys.setrecursionlimit(limit)
    np.testing.assert_allclose(g, np.full(2, 31.125), rtol=1e-12)
