"""Jacobians, Hessians and gradients of gradients, against central differences and each other.

The rule table's second derivatives are tested one rule at a time in test_higher_order_rules.py;
this file tests the API: shapes and tuple conventions (JAX's), composition, emitted modules.
"""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from tests.conftest import load_module

RNG = np.random.default_rng(0)
X = RNG.standard_normal(3)
W = RNG.standard_normal((4, 3))

MODEL = """
def layer(x, W):
    return np.tanh(W @ x) * np.sum(x ** 2)

def energy(x, W):
    return np.sum(np.sin(W @ x) ** 2) + 0.5 * np.sum(x ** 4) * np.sum(W)

def cubic(x):
    return np.sin(x) * x ** 3

def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

def pair(x, y):
    return np.sum(x ** 2 * y) + np.sum(np.exp(x)) * y ** 2

def looped(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sin(x[i]) * x[i]
    return s

def looped_scalar(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sin(x * i) * x
    return s
"""


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    return load_module(tmp_path_factory.mktemp("higher"), MODEL)


def numeric_jacobian(f, args, k, eps=1e-6):
    """d f / d args[k] by central differences: shape out.shape + args[k].shape."""
    x = np.asarray(args[k], dtype=float)
    cols = []
    for i in range(x.size):
        d = np.zeros_like(x)
        d.flat[i] = eps
        plus, minus = list(args), list(args)
        plus[k], minus[k] = x + d, x - d
        if isinstance(args[k], float):
            plus[k], minus[k] = float(plus[k]), float(minus[k])
        cols.append((np.asarray(f(*plus)) - np.asarray(f(*minus))) / (2 * eps))
    return np.reshape(np.stack(cols, axis=-1), np.shape(f(*args)) + x.shape)


def test_jacfwd_and_jacrev_agree_with_central_differences(mod):
    for k in (0, 1):
        expected = numeric_jacobian(mod.layer, (X, W), k)
        fwd = symgrad.jacfwd(mod.layer, argnums=k)(X, W)
        rev = symgrad.jacrev(mod.layer, argnums=k)(X, W)
        assert fwd.shape == rev.shape == (4,) + np.shape((X, W)[k])
        np.testing.assert_allclose(fwd, expected, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(rev, fwd, rtol=1e-12, atol=1e-12)
    assert symgrad.jacobian is symgrad.jacrev


def test_jacobian_tuple_conventions_follow_jax(mod):
    both = symgrad.jacfwd(mod.layer, argnums=(0, 1))(X, W)
    assert isinstance(both, tuple) and [j.shape for j in both] == [(4, 3), (4, 4, 3)]
    one = symgrad.jacrev(mod.layer, argnums=(1,))(X, W)
    assert isinstance(one, tuple) and len(one) == 1
    np.testing.assert_allclose(one[0], both[1], rtol=1e-12)
    # a scalar output gives the gradient's shape; a scalar argument a trailing (), and of a
    # scalar output its type (a Python float's derivative is one)
    np.testing.assert_allclose(
        symgrad.jacfwd(mod.energy)(X, W), symgrad.grad(mod.energy)(X, W), rtol=1e-12
    )
    assert type(symgrad.jacrev(mod.pair, argnums=1)(X, 0.7)) is float
    assert symgrad.jacfwd(mod.cubic)(0.3) == pytest.approx(symgrad.grad(mod.cubic)(0.3))


def test_hessian_agrees_with_differences_of_the_gradient_and_is_symmetric(mod):
    H = symgrad.hessian(mod.rosenbrock)(X)
    expected = numeric_jacobian(symgrad.grad(mod.rosenbrock), (X,), 0)
    assert H.shape == (3, 3)
    np.testing.assert_allclose(H, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(H, H.T, rtol=1e-12)
    x, y = 1.0, 1.0  # the analytic Hessian of Rosenbrock at its minimum (1, 1, 1)
    exact = np.array([[802.0, -400, 0], [-400, 1002, -400], [0, -400, 200]])
    np.testing.assert_allclose(symgrad.hessian(mod.rosenbrock)(np.array([x, y, 1.0])), exact)


def test_hessian_blocks_for_tuple_argnums(mod):
    blocks = symgrad.hessian(mod.energy, argnums=(0, 1))(X, W)
    assert [[b.shape for b in row] for row in blocks] == [
        [(3, 3), (3, 4, 3)],
        [(4, 3, 3), (4, 3, 4, 3)],
    ]
    for i in (0, 1):
        for j in (0, 1):
            grad_i = symgrad.grad(mod.energy, argnums=i)
            np.testing.assert_allclose(
                blocks[i][j], numeric_jacobian(grad_i, (X, W), j), rtol=1e-5, atol=1e-6
            )
    np.testing.assert_allclose(blocks[0][1], np.moveaxis(blocks[1][0], -1, 0), rtol=1e-10)
    (only,) = symgrad.hessian(mod.energy, argnums=(0,))(X, W)
    assert isinstance(only, tuple) and only[0].shape == (3, 3)


def test_hvp_is_the_hessian_times_the_tangent(mod):
    v = RNG.standard_normal(3)
    H = symgrad.hessian(mod.energy)(X, W)
    hv = symgrad.hvp(mod.energy, (X, W), (v, None))
    np.testing.assert_allclose(hv, H @ v, rtol=1e-10, atol=1e-12)


def test_grad_of_grad_to_any_order_on_scalars(mod):
    x = 0.7
    d1 = symgrad.grad(mod.cubic)
    d2 = symgrad.grad(d1)
    d3 = symgrad.grad(d2)
    s, c = np.sin(x), np.cos(x)
    assert d1(x) == pytest.approx(c * x**3 + 3 * x**2 * s, rel=1e-12)
    assert d2(x) == pytest.approx(-s * x**3 + 6 * x**2 * c + 6 * x * s, rel=1e-12)
    assert d3(x) == pytest.approx(-c * x**3 - 9 * x**2 * s + 18 * x * c + 6 * s, rel=1e-12)
    assert "def grad_grad_grad_cubic(x):" in d3.source


def test_jvp_and_vjp_of_a_gradient(mod):
    v = RNG.standard_normal(3)
    g = symgrad.grad(mod.energy)
    value, tangent = symgrad.jvp(g, (X, W), (v, None))
    np.testing.assert_allclose(value, g(X, W), rtol=1e-12)
    np.testing.assert_allclose(tangent, symgrad.hessian(mod.energy)(X, W) @ v, rtol=1e-10)
    u = RNG.standard_normal(3)
    _, vjp_fn = symgrad.vjp(g, X, W)
    assert float(vjp_fn(u)[0] @ v) == pytest.approx(float(u @ tangent), rel=1e-9)
    both = symgrad.grad(mod.pair, argnums=(0, 1))
    (gx, gy), (tx, ty) = symgrad.jvp(both, (X, 0.7), (v, 0.5))
    assert gx.shape == (3,) and isinstance(gy, float) and tx.shape == (3,)


def test_jvp_vjp_and_jit_of_a_gradient_of_a_tuple_of_argnums_keep_its_tuple(mod):
    """Of grad(f, argnums=(0,)), jvp and linearize gave bare arrays where the gradient is a
    1-tuple (out_dot[0] silently the tangent's first row), and vjp took no cotangent at all."""
    v, u = RNG.standard_normal(3), RNG.standard_normal(3)
    hessian = numeric_jacobian(symgrad.grad(mod.energy), (X, W), 0)
    one = symgrad.grad(mod.energy, argnums=(0,))
    (value,), (tangent,) = symgrad.jvp(one, (X, W), (v, None))
    np.testing.assert_allclose(value, symgrad.grad(mod.energy)(X, W), rtol=1e-12)
    np.testing.assert_allclose(tangent, hessian @ v, rtol=1e-6, atol=1e-8)
    out, lin = symgrad.linearize(one, X, W)
    assert type(out) is tuple and type(lin(v, np.zeros_like(W))) is tuple
    out, back = symgrad.vjp(one, X, W)
    assert type(out) is tuple and len(out) == 1
    np.testing.assert_allclose(back((u,))[0], hessian.T @ u, rtol=1e-6, atol=1e-8)
    assert type(symgrad.jit(one)(X, W)) is tuple
    both = symgrad.grad(mod.pair, argnums=(0, 1))
    (gx, gy), back = symgrad.vjp(both, X, 0.7)
    cx, cy = back((u, 1.0))  # (was refused: "it returns 2 gradients, not one value")

    def paired(x, y):  # ⟨(u, 1), the gradient⟩, whose gradient the vjp is
        gx, gy = both(x, y)
        return u @ gx + gy

    np.testing.assert_allclose(cx, numeric_jacobian(paired, (X, 0.7), 0), rtol=1e-6, atol=1e-8)
    assert cy == pytest.approx(numeric_jacobian(paired, (X, 0.7), 1), rel=1e-6)


def test_check_grads_order_two(mod):
    symgrad.check_grads(mod.energy, (X, W), argnums=(0, 1), order=2, modes=("rev", "fwd"))


def test_emitted_modules_are_standalone(mod, tmp_path):
    for compiled, call in [
        (symgrad.hessian(mod.rosenbrock), "hessian_rosenbrock"),
        (symgrad.jacrev(mod.layer, argnums=(0, 1)), "jacrev_layer"),
        (symgrad.jacfwd(mod.layer), "jacfwd_layer"),
        (symgrad.grad(symgrad.grad(mod.cubic)), "grad_grad_cubic"),
    ]:
        assert "import symgrad" not in compiled.source
        namespace: dict = {}
        exec(compile(compiled.source, str(tmp_path / "m.py"), "exec"), namespace)
        args = (0.3,) if "cubic" in call else (X,) if "rosen" in call else (X, W)
        result, expected = namespace[call](*args), compiled(*args)
        pairs = zip(result, expected) if isinstance(result, tuple) else [(result, expected)]
        for a, b in pairs:
            np.testing.assert_array_equal(a, b)


def test_the_hessian_module_reads_as_gradient_tangent_and_one_batched_call(mod):
    source = symgrad.hessian(mod.cubic).source
    assert "def jvp_grad_cubic(x, x_dot):" in source and "x_bar_dot = " in source
    driver = source[source.index("def hessian_cubic(x):") :]
    assert "res = jvp_grad_cubic(x, _unit_columns(x))" in driver and " in range(" not in driver


def test_jacobians_loop_over_seeds_where_a_primitive_cannot_batch(mod):
    x = np.linspace(0.1, 1.0, 4)
    jac = symgrad.jacfwd(mod.looped)
    expected = numeric_jacobian(mod.looped, (x, 3), 0)
    np.testing.assert_allclose(jac(x, 3), expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(symgrad.jacrev(mod.looped)(x, 3), expected, rtol=1e-6, atol=1e-9)
    assert "_basis(x, k)) for k in range(np.size(x))]" in jac.source


def test_what_cannot_be_differentiated_again_says_so(mod):
    with pytest.raises(symgrad.SymgradError, match="returns 2 gradients"):
        symgrad.grad(symgrad.grad(mod.pair, argnums=(0, 1)))(X, 0.7)
    with pytest.raises(symgrad.SymgradError, match="only gradients"):
        symgrad.grad(symgrad.jacfwd(mod.cubic))(0.3)
    third = symgrad.grad(symgrad.grad(symgrad.grad(mod.looped_scalar)))
    with pytest.raises(symgrad.NotDifferentiableError, match="loop_vjp"):
        third(0.3, 2)
    # and the failed compilation left the lower orders working
    assert symgrad.grad(symgrad.grad(mod.looped_scalar))(0.3, 2) == pytest.approx(
        symgrad.jvp(symgrad.grad(mod.looped_scalar), (0.3, 2), (1.0, None))[1], rel=1e-12
    )


def test_the_gradient_of_a_gradient_through_a_loop_by_symmetry(mod):
    x, u = RNG.standard_normal(3), RNG.standard_normal(3)
    H = symgrad.hessian(mod.looped)(x, 3)
    np.testing.assert_allclose(H, numeric_jacobian(symgrad.grad(mod.looped), (x, 3), 0), atol=1e-6)
    _, vjp_fn = symgrad.vjp(symgrad.grad(mod.looped), x, 3)
    np.testing.assert_allclose(vjp_fn(u)[0], H.T @ u, rtol=1e-10, atol=1e-12)
    d2 = symgrad.grad(symgrad.grad(mod.looped_scalar))
    assert d2(0.3, 4) == pytest.approx(
        numeric_jacobian(symgrad.grad(mod.looped_scalar), (0.3, 4), 0), rel=1e-6
    )
    polymorphic = symgrad.grad(symgrad.grad(mod.looped_scalar)).source  # checked at run time
    assert polymorphic.index("_check_scalar(x)") < polymorphic.index("for i in range(n):")
    assert "_check_scalar" not in d2.source  # the call's x is a float: nothing to check
    with pytest.raises(symgrad.NotDifferentiableError, match="scalar output"):
        symgrad.grad(symgrad.grad(mod.looped))(x, 3)  # its gradient is a vector
    symgrad.check_grads(mod.looped, (x, 3), order=2, modes=("rev", "fwd"))


def test_hvp_of_a_gradient_is_the_hessian_of_the_gradient(make_fn):
    mod = make_fn("def g(x):\n    return x**4\n")
    dg = symgrad.grad(mod.g)
    assert np.isclose(symgrad.hvp(dg, (0.7,), (1.0,)), 24 * 0.7)  # (4x³)'' = 24x
    assert np.isclose(symgrad.hvp(mod.g, (0.7,), (1.0,)), 12 * 0.7**2)


def test_a_hessians_name_is_its_modules_function(make_fn):
    mod = make_fn("def phi(x):\n    return np.sum(x**3)\n")
    h = symgrad.hessian(mod.phi)
    h(X)
    namespace = {}
    exec(h.source, namespace)
    assert h.__name__ == "hessian_phi" and h.__name__ in namespace


@pytest.mark.parametrize("make", ["grad", "value_and_grad", "jacfwd", "jacrev", "hessian"])
def test_empty_argnums_are_refused(make_fn, make):
    mod = make_fn("def f(x, y):\n    return np.sum(x * y)\n")
    with pytest.raises(symgrad.SymgradError, match="differentiates nothing"):
        getattr(symgrad, make)(mod.f, argnums=())(X, X)


def test_a_numbers_jacobian_and_hessian_are_numbers_of_its_type(make_fn):
    """As a gradient's: a Python float gets a Python float (they had been 0-d arrays), a NumPy
    number its type, a 0-d array a 0-d array."""
    mod = make_fn("def f(x):\n    return np.sin(x) * x**2\n")
    d1 = np.cos(0.7) * 0.7**2 + 2 * 0.7 * np.sin(0.7)
    for transform in (symgrad.jacfwd, symgrad.jacrev, symgrad.hessian):
        for x in (0.7, np.float64(0.7), np.float32(0.7), np.array(0.7)):
            got = transform(mod.f)(x)
            assert type(got) is type(x), (transform, type(x), type(got))
            if transform is not symgrad.hessian and not isinstance(x, np.float32):
                assert np.isclose(got, d1, rtol=1e-12)
