"""Custom derivatives with JAX's conventions: symgrad.custom_vjp and symgrad.custom_jvp, their
rules inlined into emitted code, checked against central differences (or, where the rule is
deliberately not the derivative, against the hand-derived value), and what is refused."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import symgrad

X = np.array([0.3, -1.2, 2.5])


# log(1 + e^x) whose derivative stays finite where e^x overflows -------------------------------
@symgrad.custom_vjp
def log1pexp(x):
    return np.log1p(np.exp(x))


def log1pexp_fwd(x):
    return log1pexp(x), x  # f itself, as in JAX's examples; x is the residual


def log1pexp_bwd(x, g):
    return (g * (1 - 1 / (1 + np.exp(x))),)


log1pexp.defvjp(log1pexp_fwd, log1pexp_bwd)


def softplus_loss(x):
    return np.sum(log1pexp(x) * x)


def through_a_helper_and_a_branch(x):
    if np.sum(x) > 0.0:
        return softplus_loss(x)
    return np.sum(log1pexp(-x) ** 2)


def test_custom_vjp_is_inlined_and_checked():
    g = symgrad.grad(softplus_loss)
    sigmoid = 1 / (1 + np.exp(-X))
    np.testing.assert_allclose(g(X), np.log1p(np.exp(X)) + X * sigmoid)
    symgrad.check_grads(softplus_loss, (X,), 0, order=2)  # and a Hessian through f_fwd, f_bwd
    for x in (X, -X):
        symgrad.check_grads(through_a_helper_and_a_branch, (x,), 0)
    assert "1 - 1 / (1 + " in g.source and "import numpy as np" in g.source
    assert "symgrad" not in g.source.split('"""')[-1]  # the module imports NumPy alone
    with np.errstate(over="ignore"):
        assert symgrad.grad(log1pexp)(1000.0) == 1.0  # f itself; no inf / inf
    assert log1pexp(0.0) == np.log(2.0)  # a plain call runs f


# gradient clipping in the backward pass: deliberately not the derivative ----------------------
@symgrad.custom_vjp
def clip_gradient(lo, hi, x):
    return x


def clip_fwd(lo, hi, x):
    return x, None


def clip_bwd(lo, hi, res, g):
    return (np.clip(g, lo, hi),)


clip_gradient.defvjp(clip_fwd, clip_bwd)
clipped = symgrad.custom_vjp(clip_gradient.fun, nondiff_argnums=(0, 1))
clipped.defvjp(clip_fwd, clip_bwd)


def clipped_loss(x, w):
    return np.sum(clipped(-1.0, 1.0, w * x) ** 2)


def test_a_backward_function_clipping_the_cotangent():
    w = np.array([1.0, 2.0, 0.5])
    dx, dw = symgrad.grad(clipped_loss, argnums=(0, 1))(X, w)
    clipped_g = np.clip(2 * w * X, -1.0, 1.0)  # by hand: the cotangent of w * x, clipped
    np.testing.assert_allclose(dx, clipped_g * w)
    np.testing.assert_allclose(dw, clipped_g * X)
    assert not np.allclose(dx, 2 * w**2 * X)  # which is not the derivative here
    (dl, dh, d) = symgrad.grad(clip_free, argnums=(0, 1, 2))(-1.0, 1.0, X)
    assert dl == dh == 0.0 and np.array_equal(d, np.clip(2 * X, -1.0, 1.0))


def clip_free(lo, hi, x):  # no nondiff_argnums: f_bwd returns None for lo and hi
    return np.sum(clip_gradient2(lo, hi, x) ** 2)


@symgrad.custom_vjp
def clip_gradient2(lo, hi, x):
    return x


def clip2_bwd(res, g):
    lo, hi = res
    return (None, 0.0, np.clip(g, lo, hi))


def clip2_fwd(lo, hi, x):
    return x, (lo, hi)


clip_gradient2.defvjp(clip2_fwd, clip2_bwd)


# a norm whose derivative at 0 is defined -------------------------------------------------------
@symgrad.custom_jvp
def safe_norm(x):
    return np.sqrt(np.sum(x * x))


@safe_norm.defjvp
def safe_norm_jvp(primals, tangents):
    (x,) = primals
    (t,) = tangents
    n = safe_norm(x)
    safe = np.where(n == 0.0, 1.0, n)
    return n, np.where(n == 0.0, 0.0, np.sum(x * t) / safe)


def spring(x, w):
    return safe_norm(x * w) ** 2 + 3.0 * safe_norm(x)


def test_custom_jvp_in_both_modes_transposed_in_reverse():
    w = np.array([1.0, 2.0, 0.5])
    symgrad.check_grads(spring, (X, w), (0, 1), modes=("rev", "fwd"), order=2)
    zero = np.zeros(3)
    assert np.array_equal(symgrad.grad(safe_norm)(zero), zero)  # not nan
    assert symgrad.jvp(safe_norm, (zero,), (np.ones(3),))[1] == 0.0
    np.testing.assert_allclose(symgrad.grad(spring)(X, w), 2 * w**2 * X + 3 * X / np.linalg.norm(X))


@symgrad.custom_jvp
def softplus(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


@softplus.defjvp
def softplus_jvp(primals, tangents):
    (x,) = primals
    (t,) = tangents
    return softplus(x), t / (1.0 + np.exp(-x))


def softplus_steps(x):
    s = 0.0
    for i in range(3):  # a custom rule in a loop's body
        s = s + np.sum(softplus(x * i - 1.0) ** 2)
    return s


def test_custom_jvp_in_a_loop_and_second_order():
    symgrad.check_grads(softplus_steps, (X,), 0, modes=("rev", "fwd"))
    symgrad.check_grads(softplus_steps, (X,), 0, order=2, modes=("fwd",))  # forward over reverse
    with pytest.raises(symgrad.NotDifferentiableError, match="custom derivative rule"):
        symgrad.grad(symgrad.grad(softplus_steps))(X[:1])  # (reverse over reverse through a
    # loop is by symmetry, which a custom rule's "derivative" need not have)
    source = symgrad.linearize(softplus_steps, X)[1].source
    assert "1.0 + np.exp(-" in source  # the user's tangent, in the forward-mode module


# containers and stale rules --------------------------------------------------------------------
@symgrad.custom_vjp
def affine(p, x):
    return p["w"] * x + p["b"]


def affine_fwd(p, x):
    return affine(p, x), (p["w"], x)


def affine_bwd(res, g):
    w, x = res
    return {"w": np.sum(g * x), "b": np.sum(g)}, g * w


affine.defvjp(affine_fwd, affine_bwd)


def affine_loss(p, x):
    return np.sum(np.tanh(affine(p, x)))


def test_a_rule_over_a_dict_of_parameters_and_a_new_rule_recompiles():
    p = {"w": 0.7, "b": -0.2}
    g = symgrad.grad(affine_loss, argnums=(0, 1))
    gp, gx = g(p, X)
    t = 1 - np.tanh(0.7 * X - 0.2) ** 2
    np.testing.assert_allclose([gp["w"], gp["b"]], [np.sum(t * X), np.sum(t)])
    np.testing.assert_allclose(gx, 0.7 * t)
    affine.defvjp(affine_fwd, _doubled_bwd)
    try:
        np.testing.assert_allclose(g(p, X)[1], 1.4 * t)
    finally:
        affine.defvjp(affine_fwd, affine_bwd)


def _doubled_bwd(res, g):
    w, x = res
    return {"w": 2 * np.sum(g * x), "b": 2 * np.sum(g)}, 2 * g * w


# refusals --------------------------------------------------------------------------------------
def uses_log1pexp(x):
    return np.sum(log1pexp(x))


@symgrad.custom_vjp
def no_rule(x):
    return x


def uses_no_rule(x):
    return np.sum(no_rule(x))


@symgrad.custom_vjp
def short_bwd(x, y):
    return x * y


def _fwd2(x, y):
    return x * y, (x, y)


def _bwd_one(res, g):
    return (g * res[1],)  # one cotangent for two arguments


short_bwd.defvjp(_fwd2, _bwd_one)


def uses_short_bwd(x):
    return np.sum(short_bwd(x, 2.0))


def test_refusals_name_the_function_and_the_line():
    with pytest.raises(symgrad.SymgradError, match="forward mode") as e:
        symgrad.jvp(uses_log1pexp, (X,), (X,))
    assert e.value.loc.line == uses_log1pexp.__code__.co_firstlineno + 1
    assert "log1pexp has a custom_vjp rule" in str(e.value)
    with pytest.raises(symgrad.SymgradError, match="without its rule") as e:
        symgrad.grad(uses_no_rule)(X)
    assert "defvjp" in str(e.value) and e.value.loc.file == __file__
    with pytest.raises(symgrad.SymgradError, match="must return a tuple of 2 cotangent"):
        symgrad.grad(uses_short_bwd)(X)
    with pytest.raises(symgrad.SymgradError, match="must be a Python function"):
        symgrad.custom_vjp(np.sin)
    with pytest.raises(symgrad.SymgradError, match="must be a Python function"):
        no_rule.defvjp(log1pexp_fwd, np.cos)
    assert no_rule.fwd is None  # nothing given
    with pytest.raises(symgrad.SymgradError, match="nondiff_argnums"):
        symgrad.custom_jvp(softplus.fun, nondiff_argnums=(3,))


# a backward function returning a cotangent of another shape than its argument's -------------
@symgrad.custom_vjp
def wrong_shape(x, s):
    return np.sin(x) * s


def wrong_shape_fwd(x, s):
    return np.sin(x) * s, (x, s)


def wrong_shape_total(res, g):  # x's cotangent summed: one number for every entry
    x, s = res
    return np.sum(g * np.cos(x) * s), np.sum(g * np.sin(x))


def wrong_shape_outer(res, g):  # x's cotangent as a column: broadcast into a matrix
    x, s = res
    return (g * np.cos(x) * s)[:, None], np.sum(g * np.sin(x))


def uses_wrong_shape(x, s):
    return np.sum(wrong_shape(x, s) * x)


@pytest.mark.parametrize("bwd", [wrong_shape_total, wrong_shape_outer])
def test_a_shaped_as_another_shape_is_refused(bwd, tmp_path):
    """As JAX does: the cotangent had been broadcast into the gradient, silently wrong. The
    specialised module refuses it when compiling; the module for any shapes when it runs."""
    wrong_shape.defvjp(wrong_shape_fwd, bwd)
    try:
        with pytest.raises(symgrad.SymgradError, match=r"of wrong_shape returned a cotangent") as e:
            symgrad.grad(uses_wrong_shape)(X, 2.0)
        assert e.value.loc.file == __file__ and "(3,)" in str(e.value)
        source = symgrad.emit_module(uses_wrong_shape)
        namespace = {}
        exec(compile(source, str(tmp_path / "m.py"), "exec"), namespace)
        with pytest.raises(ValueError, match="returned a cotangent of shape"):
            namespace["grad_uses_wrong_shape"](X, 2.0)
    finally:
        wrong_shape.defvjp(wrong_shape_fwd, wrong_shape_right)


def wrong_shape_right(res, g):
    x, s = res
    return g * np.cos(x) * s, np.sum(g * np.sin(x))


def test_a_shaped_as_the_right_shape_is_checked_when_compiling_only():
    wrong_shape.defvjp(wrong_shape_fwd, wrong_shape_right)
    g = symgrad.grad(uses_wrong_shape, argnums=(0, 1))
    symgrad.check_grads(uses_wrong_shape, (X, 2.0), argnums=(0, 1))
    g(X, 2.0)
    assert "_shaped_as" not in g.source and "_shaped_as" in symgrad.emit_module(
        uses_wrong_shape, argnums=(0, 1)
    )


@symgrad.custom_jvp
def summed_tangent(x):
    return np.sin(x)


@summed_tangent.defjvp
def summed_tangent_jvp(primals, tangents):  # the tangent summed: one number for every entry
    (x,), (t,) = primals, tangents
    return np.sin(x), np.sum(np.cos(x) * t)


def uses_summed_tangent(x):
    return np.sum(summed_tangent(x) * x)


def test_a_tangent_of_another_shape_is_refused():
    """jvp had given 2.35 where J @ 1 is 1.18 (the tangent broadcast into the value's)."""
    for run in (
        lambda: symgrad.jvp(uses_summed_tangent, (X,), (np.ones(3),)),
        lambda: symgrad.grad(uses_summed_tangent)(X),
    ):
        with pytest.raises(symgrad.SymgradError, match=r"summed_tangent_jvp returned a tangent"):
            run()


@functools.partial(symgrad.custom_vjp, nondiff_argnums=(1,))
def scaled_vjp(x, s):
    return np.sin(x) * s


def scaled_fwd(x, s):
    return np.sin(x) * s, (x,)


def scaled_bwd(s, res, g):
    (x,) = res
    return (g * np.cos(x) * s,)


scaled_vjp.defvjp(scaled_fwd, scaled_bwd)


@functools.partial(symgrad.custom_jvp, nondiff_argnums=(1,))
def scaled_jvp(x, s):
    return np.sin(x) * s


@scaled_jvp.defjvp
def scaled_jvp_rule(s, primals, tangents):
    (x,), (t,) = primals, tangents
    return np.sin(x) * s, np.cos(x) * s * t


def uses_scaled_vjp(x, s):
    return np.sum(scaled_vjp(x, s))


def uses_scaled_jvp(x, s):
    return np.sum(scaled_jvp(x, s))


@pytest.mark.parametrize("f", [uses_scaled_vjp, uses_scaled_jvp])
def test_a_nondiff_argument_that_is_differentiated_is_refused(f):
    """As JAX refuses it: its derivative had been 0 where sum(sin(x)) = 0.30 is right. With
    respect to x alone, and in a Hessian (the rule's functions as ordinary code), it works."""
    with pytest.raises(symgrad.NotDifferentiableError, match="nondiff_argnums of scaled"):
        symgrad.grad(f, argnums=(0, 1))(X, 2.0)
    with pytest.raises(symgrad.NotDifferentiableError, match="nondiff_argnums"):
        symgrad.jvp(f, (X, 2.0), (np.zeros(3), 1.0))
    np.testing.assert_allclose(symgrad.grad(f)(X, 2.0), 2.0 * np.cos(X), rtol=1e-12)
    np.testing.assert_allclose(symgrad.hessian(f)(X, 2.0), np.diag(-2.0 * np.sin(X)), atol=1e-12)


@symgrad.custom_vjp
def checked_sine(x):
    if x.ndim != 1:
        raise ValueError("need a vector")
    return np.sin(x)


def checked_sine_fwd(x):
    return np.cos(x), (x,)  # (a rule's value need not be the function's)


def checked_sine_bwd(res, g):
    return (g * 2.0,)


checked_sine.defvjp(checked_sine_fwd, checked_sine_bwd)


def sum_of_checked_sine(x):
    return np.sum(checked_sine(x))


def test_jit_runs_the_function_not_its_rule():
    # (jit inlined the rule's fwd: cos where the function gives sin, and f_fwd's errors)
    x = np.array([0.3, 1.1])
    assert symgrad.jit(sum_of_checked_sine)(x) == pytest.approx(np.sum(np.sin(x)), rel=1e-12)
    with pytest.raises(ValueError, match="need a vector"):
        symgrad.jit(sum_of_checked_sine)(np.ones((2, 2)))
    np.testing.assert_allclose(symgrad.grad(sum_of_checked_sine)(x), [2.0, 2.0])  # (the rule's)
