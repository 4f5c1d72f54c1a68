"""Second derivatives through loops and branches: forward over reverse (`hvp`, `hessian`,
`jvp(grad(f))`) against central differences of `symgrad.grad` in float64; trip counts 0 and 1;
emitted source that does not depend on the trip count. Reverse over reverse through branches."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from tests.conftest import load_module
from tests.test_higher_order import numeric_jacobian

RNG = np.random.default_rng(11)

FUNCTIONS = """
def rnn(W, xs, h0, n):
    h = h0
    for t in range(n):
        h = np.tanh(W @ h + xs[t])
    return np.sum(h ** 2)


def running_product(x):
    p = 1.0
    for i in range(len(x)):
        p = p * x[i]
    return p


def relu_rnn(x, W, n):
    h = x
    for i in range(n):
        z = W @ h
        if np.sum(z) > 0:
            h = np.tanh(z) * np.sum(z)
        else:
            h = 0.5 * z ** 2
    return np.sum(h ** 2)


def newton(a, tol):
    x = a
    while True:
        x_new = 0.5 * (x + a / x)
        err = np.max(np.abs(x_new - x))
        x = x_new
        if err < tol:
            break
    return np.sum(x ** 3)


def sqrt_newton(a, tol):
    x = a
    err = 1.0
    while err > tol:
        x_new = 0.5 * (x + a / x)
        err = np.max(np.abs(x_new - x))
        x = x_new
    return np.sum(x * a)


def capped(x, limit):
    s = 0.0
    for i in range(len(x)):
        s = s + np.sin(x[i]) * x[i] ** 2
        if s > limit:
            break
    return s


def skip_negative(x, w):
    s = 0.0
    for i in range(len(x)):
        if x[i] < 0:
            continue
        s = s + np.exp(w * x[i]) * x[i]
    return s


def on_data(x, w):
    y = x * w
    if np.sum(x) > 0:
        y = np.tanh(y) * w
    else:
        y = y ** 3
    return np.sum(y)


def chain(x, t):
    if t < 0:
        y = -x ** 3
    elif t < 1:
        y = np.exp(x) * x
    else:
        y = np.sin(x) * x
    return np.sum(y * t)


def states(W, xs, h0):
    h = h0
    hs = []
    for t in range(len(xs)):
        h = np.tanh(W @ h + xs[t])
        hs.append(h)
    H = np.stack(hs)
    return np.sum(H * H[::-1]) + np.sum(hs[-1])


def nested(A, v, n):
    total = 0.0
    for i in range(n):
        u = v
        for j in range(2):
            if np.sum(u) > 0:
                u = np.sin(A @ u)
            else:
                u = np.tanh(A @ u) * 2.0
        total = total + np.sum(u * A[i]) ** 2
    return total


def piecewise(x):
    if x > 0:
        y = x ** 3
    elif x > -1:
        y = np.sin(x) * x
    else:
        y = -x ** 2
    return y


def rows(X, w):
    s = 0.0
    for row in X:
        s = s + np.tanh(row @ w) ** 2
    return s
"""


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    return load_module(tmp_path_factory.mktemp("higher_loops"), FUNCTIONS)


def normal(*shape):
    return RNG.standard_normal(shape)


def rnn_args(n):
    return (normal(3, 3) * 0.6, normal(max(n, 1), 3), normal(3), n)


X5 = np.array([0.4, -0.7, 1.2, 0.3, -0.2])
CASES = {  # name: (function, arguments, which argument)
    "rnn_5_W": ("rnn", lambda: rnn_args(5), 0),
    "rnn_12_xs": ("rnn", lambda: rnn_args(12), 1),
    "rnn_20_h0": ("rnn", lambda: rnn_args(20), 2),
    "rnn_0": ("rnn", lambda: rnn_args(0), 0),
    "rnn_0_h0": ("rnn", lambda: rnn_args(0), 2),
    "rnn_1": ("rnn", lambda: rnn_args(1), 0),
    "running_product": ("running_product", lambda: (RNG.uniform(0.5, 1.5, 6),), 0),
    "running_product_1": ("running_product", lambda: (np.array([1.3]),), 0),
    "relu_rnn_x": ("relu_rnn", lambda: (normal(3), normal(3, 3) * 0.7, 6), 0),
    "relu_rnn_W": ("relu_rnn", lambda: (normal(3), normal(3, 3) * 0.7, 6), 1),
    "relu_rnn_0": ("relu_rnn", lambda: (normal(3), normal(3, 3), 0), 0),
    "relu_rnn_1": ("relu_rnn", lambda: (normal(3), normal(3, 3), 1), 1),
    "newton": ("newton", lambda: (np.array([2.0, 3.0, 5.0]), 1e-12), 0),
    "sqrt_newton": ("sqrt_newton", lambda: (np.array([2.0, 3.0, 5.0]), 1e-12), 0),
    "sqrt_newton_0": ("sqrt_newton", lambda: (np.array([2.0, 3.0]), 10.0), 0),
    "capped": ("capped", lambda: (X5, 1.0), 0),
    "capped_first_iteration": ("capped", lambda: (X5, 0.01), 0),
    "capped_never": ("capped", lambda: (X5, 100.0), 0),
    "skip_negative_x": ("skip_negative", lambda: (X5, 0.6), 0),
    "skip_negative_w": ("skip_negative", lambda: (X5, 0.6), 1),
    "on_data_true": ("on_data", lambda: (np.abs(normal(3)), normal(3)), 0),
    "on_data_false": ("on_data", lambda: (-np.abs(normal(3)), normal(3)), 1),
    **{f"chain_{t}": ("chain", lambda t=t: (normal(3), t), 0) for t in (-0.5, 0.5, 1.5)},
    "chain_t": ("chain", lambda: (normal(3), 0.5), 1),
    "states_W": ("states", lambda: (normal(3, 3) * 0.6, normal(5, 3), normal(3)), 0),
    "states_xs": ("states", lambda: (normal(3, 3) * 0.6, normal(5, 3), normal(3)), 1),
    "nested": ("nested", lambda: (normal(3, 3) * 0.6, normal(3), 3), 0),
    "nested_v": ("nested", lambda: (normal(3, 3) * 0.6, normal(3), 3), 1),
    "rows": ("rows", lambda: (normal(4, 3), normal(3)), 1),
}


def along(fn, args, k, v, eps=1e-6):
    """d/ds grad_k fn(args with args[k] + s v) at s = 0, by central differences."""
    g = symgrad.grad(fn, argnums=k)
    plus, minus = list(args), list(args)
    plus[k], minus[k] = args[k] + eps * v, args[k] - eps * v
    if isinstance(args[k], float):
        plus[k], minus[k] = float(plus[k]), float(minus[k])
    return (np.asarray(g(*plus)) - np.asarray(g(*minus))) / (2 * eps)


def numeric_hessian(fn, args, k):
    x = np.asarray(args[k], dtype=float)
    cols = [along(fn, args, k, np.eye(x.size)[i].reshape(x.shape)) for i in range(x.size)]
    return np.stack(cols, axis=-1).reshape(x.shape + x.shape)


def close(a, b):
    scale = max(1.0, float(np.max(np.abs(b))))
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7 * scale)


@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_over_reverse_matches_central_differences_of_the_gradient(case, m):
    name, make, k = CASES[case]
    fn, args = getattr(m, name), make()
    v = RNG.standard_normal(np.shape(args[k]))
    tangents = tuple(v if j == k else None for j in range(len(args)))
    value, tangent = symgrad.jvp(symgrad.grad(fn, argnums=k), args, tangents)
    np.testing.assert_allclose(value, symgrad.grad(fn, argnums=k)(*args), rtol=1e-12)
    assert np.shape(tangent) == np.shape(args[k])
    close(tangent, along(fn, args, k, v))
    if k == 0:
        close(symgrad.hvp(fn, args, tangents), tangent)


@pytest.mark.parametrize(
    "name, make",
    [
        ("rnn", lambda: rnn_args(7)),
        ("rnn", lambda: rnn_args(0)),
        ("relu_rnn", lambda: (normal(3), normal(3, 3) * 0.7, 5)),
        ("newton", lambda: (np.array([2.0, 3.0, 5.0]), 1e-12)),
        ("capped", lambda: (X5, 1.0)),
        ("chain", lambda: (normal(3), 0.5)),
    ],
)
def test_hessians_match_central_differences_and_are_symmetric(name, make, m):
    fn, args = getattr(m, name), make()
    H = symgrad.hessian(fn)(*args)
    x = np.asarray(args[0])
    assert H.shape == x.shape + x.shape
    close(H, numeric_hessian(fn, args, 0))
    flat = H.reshape(x.size, x.size)
    np.testing.assert_allclose(flat, flat.T, rtol=1e-9, atol=1e-10)


def test_hvp_is_the_hessian_times_the_tangent_and_mixed_blocks_agree(m):
    W, xs, h0, n = rnn_args(6)
    v = normal(3, 3)
    H = symgrad.hessian(m.rnn)(W, xs, h0, n)
    hv = symgrad.hvp(m.rnn, (W, xs, h0, n), (v, None, None, None))
    np.testing.assert_allclose(hv, np.tensordot(H, v, axes=2), rtol=1e-10, atol=1e-12)
    blocks = symgrad.hessian(m.rnn, argnums=(0, 2))(W, xs, h0, n)
    assert [[b.shape for b in row] for row in blocks] == [
        [(3, 3, 3, 3), (3, 3, 3)],
        [(3, 3, 3), (3, 3)],
    ]
    close(blocks[0][1], np.moveaxis(blocks[1][0], 0, -1))
    close(blocks[1][1], numeric_hessian(m.rnn, (W, xs, h0, n), 2))


def test_a_tangent_on_every_argument(m):
    W, xs, h0, n = rnn_args(4)
    dW, dxs, dh0 = normal(3, 3), normal(*xs.shape), normal(3)
    _, (tW, th0) = symgrad.jvp(
        symgrad.grad(m.rnn, argnums=(0, 2)), (W, xs, h0, n), (dW, dxs, dh0, None)
    )
    eps = 1e-6
    g = symgrad.grad(m.rnn, argnums=(0, 2))
    plus = g(W + eps * dW, xs + eps * dxs, h0 + eps * dh0, n)
    minus = g(W - eps * dW, xs - eps * dxs, h0 - eps * dh0, n)
    close(tW, (plus[0] - minus[0]) / (2 * eps))
    close(th0, (plus[1] - minus[1]) / (2 * eps))


def body_of(source: str) -> str:
    """The emitted code after the module docstring, comments left out."""
    code = source.split('"""', 2)[2]
    return "\n".join(line for line in code.splitlines() if not line.strip().startswith("#"))


def test_second_order_source_does_not_depend_on_the_trip_count(make_fn):
    small = make_fn(FUNCTIONS.replace("range(n)", "range(3)"))
    large = make_fn(FUNCTIONS.replace("range(n)", "range(3000)"))
    for name in ("rnn", "relu_rnn", "nested"):
        sources = []
        for mod in (small, large):
            fn = getattr(mod, name)
            jvp_source = symgrad.Compiled(symgrad.grad(fn), (0,), "jvp").source
            sources.append((jvp_source, symgrad.hessian(fn).source))
        for a, b in zip(*sources):
            a, b = body_of(a), body_of(b)
            assert a.replace("range(3)", "range(N)") == b.replace("range(3000)", "range(N)")
            assert "range(3000)" in b and "reversed(tape" in b


def test_the_tape_carries_tangents_and_decisions(m):
    source = symgrad.linearize(symgrad.grad(m.relu_rnn), normal(3), normal(3, 3), 3)[1].source
    code = body_of(source)
    assert "        tape.append((i, h, h_dot, cond))\n" in code
    assert "    for i_1, h_2, h_dot_1, cond_1 in reversed(tape):\n" in code
    assert sum("np.sum(z" in line and "> 0" in line for line in code.splitlines()) == 1
    assert "h_bar_dot = " in code and "x_bar_dot = " in code


def test_hessian_modules_are_standalone(m, tmp_path):
    args = (normal(3), normal(3, 3) * 0.7, 4)
    compiled = symgrad.hessian(m.relu_rnn)
    assert "import symgrad" not in compiled.source
    namespace: dict = {}
    exec(compile(compiled.source, str(tmp_path / "h.py"), "exec"), namespace)
    want = compiled(*args)  # (specialised for args: its sums may round otherwise)
    np.testing.assert_allclose(namespace["hessian_relu_rnn"](*args), want, rtol=1e-12, atol=1e-12)


def test_reverse_over_reverse_through_a_loop_is_forward_over_reverse_by_symmetry(m):
    x, u = normal(3), normal(3)
    _, vjp_fn = symgrad.vjp(symgrad.grad(m.running_product), x)
    H = symgrad.hessian(m.running_product)(x)
    np.testing.assert_allclose(vjp_fn(u)[0], H.T @ u, rtol=1e-10, atol=1e-12)
    with pytest.raises(symgrad.NotDifferentiableError, match="loop_vjp") as info:
        symgrad.grad(symgrad.grad(symgrad.grad(m.running_product)))(np.ones(3))  # third order
    assert "symgrad.hessian(f)" in str(info.value)
    # jacrev of a gradient was refused there ('loop_vjp' has no backward function): it is the
    # same matrix as jacfwd's, computed forward over reverse
    jacobian = symgrad.jacrev(symgrad.grad(m.running_product))
    np.testing.assert_allclose(jacobian(x), H, rtol=1e-10, atol=1e-12)
    assert f"\ndef {jacobian.__name__}(x):" in symgrad.emit_module(
        jacobian.__wrapped__, kind="jacrev"
    )
    # (its module named the function hessian_running_product: loading a saved one by the
    # transformation's name failed)


def test_jacrev_of_a_gradient_through_a_loop_with_a_container_before_its_argument(make_fn):
    """jacrev's fallback on forward over reverse took argnums already counted among the
    containers' leaves for arguments: d(grad_x)/dp came back for d(grad_x)/dx, or a KeyError."""
    m = make_fn(
        """
        def f(q, x, p):
            s = 0.0
            for i in range(2):
                s = s + q["a"][i] * x[i] ** 3 + q["b"][i] * x[i] * p["c"][i] ** 2
            return s
        """
    )
    q = {"a": np.array([0.5, 1.5]), "b": np.array([2.0, -1.0])}
    x, p = np.array([0.3, 0.7]), {"c": np.array([0.4, 0.9])}
    g = symgrad.grad(m.f, argnums=1)
    want = numeric_jacobian(lambda x: g(q, x, p), [x], 0)
    np.testing.assert_allclose(symgrad.jacrev(g, argnums=1)(q, x, p), want, rtol=1e-6)
    np.testing.assert_allclose(symgrad.hessian(m.f, argnums=1)(q, x, p), want, rtol=1e-6)


def test_vjp_of_a_gradient_through_a_loop_of_a_container_or_of_several_arguments(make_fn):
    """vjp of a gradient whose value is a container, or a tuple, took no cotangent per leaf
    by symmetry ('loop_vjp' has no backward function yet, where one array worked)."""
    m = make_fn(
        """
        def rnn(p, xs):
            h = np.zeros(2)
            for t in range(xs.shape[0]):
                h = np.tanh(p["W"] @ h + xs[t] * p["b"])
            return np.sum(h ** 2) * p["n"]
        """
    )
    rng = np.random.default_rng(3)
    p = {"W": 0.5 * rng.standard_normal((2, 2)), "b": rng.standard_normal(2), "n": 2}
    xs, u = (
        rng.standard_normal((3, 2)),
        {"W": rng.standard_normal((2, 2)), "b": normal(2), "n": None},
    )
    g = symgrad.grad(m.rnn)
    _, vjp_fn = symgrad.vjp(g, p, xs)
    got_p, got_xs = vjp_fn(u)

    def pairing(W, b, xs):  # ⟨u, g(p, xs)⟩, whose gradient the vjp is
        grads = g({"W": W, "b": b, "n": 2}, xs)
        return np.sum(grads["W"] * u["W"]) + np.sum(grads["b"] * u["b"])

    args = [p["W"], p["b"], xs]
    for k, got in enumerate([got_p["W"], got_p["b"], got_xs]):
        want = numeric_jacobian(lambda *a: pairing(*a), args, k)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    assert got_p["n"] is None
    both = symgrad.grad(m.rnn, argnums=(0, 1))  # (a tuple of gradients: a cotangent each)
    _, vjp_both = symgrad.vjp(both, p, xs)
    again_p, again_xs = vjp_both((u, np.zeros_like(xs)))
    np.testing.assert_allclose(again_p["W"], got_p["W"], rtol=1e-10)
    np.testing.assert_allclose(again_xs, got_xs, rtol=1e-10)


def test_value_and_grad_of_a_gradient_through_a_loop(make_fn):
    """value_and_grad of a scalar gradient through a loop, by symmetry as grad's is (it was
    refused: 'loop_vjp' has no backward function)."""
    m = make_fn(
        """
        def f(a, x):
            s = 0.0
            for i in range(len(x)):
                s = s + a * x[i] ** 2 * a
            return s
        """
    )
    x = np.array([0.5, 1.5, 2.0])
    g = symgrad.grad(m.f, argnums=0)
    value, (da, dx) = symgrad.value_and_grad(g, argnums=(0, 1))(1.5, x)
    assert value == pytest.approx(g(1.5, x), rel=1e-12)
    assert da == pytest.approx(2 * np.sum(x**2), rel=1e-12)
    np.testing.assert_allclose(dx, numeric_jacobian(lambda x: g(1.5, x), [x], 0), rtol=1e-6)


def test_reverse_over_reverse_through_branches(m):
    d1 = symgrad.grad(m.piecewise)
    d2, d3 = symgrad.grad(d1), symgrad.grad(symgrad.grad(d1))
    for x, second, third in [
        (0.7, 6 * 0.7, 6.0),
        (-0.5, 2 * np.cos(-0.5) + 0.5 * np.sin(-0.5), -3 * np.sin(-0.5) + 0.5 * np.cos(-0.5)),
        (-2.0, -2.0, 0.0),
    ]:
        assert d2(x) == pytest.approx(second, rel=1e-12)
        assert d3(x) == pytest.approx(third, rel=1e-12, abs=1e-12)
    code = body_of(d2.source).splitlines()
    for test in ("x > 0", "x > -1"):  # decided once, by the function's own forward pass
        assert sum(test in line for line in code) == 1, test
    for case in ("on_data_true", "on_data_false", "chain_-0.5", "chain_0.5", "chain_1.5"):
        name, make, _ = CASES[case]
        symgrad.check_grads(getattr(m, name), make(), (0, 1), order=2, modes=("rev", "fwd"))


def test_check_grads_order_two_in_forward_mode(m):
    symgrad.check_grads(
        m.relu_rnn, (normal(3), normal(3, 3) * 0.7, 4), (0, 1), order=2, modes=("fwd",)
    )
    symgrad.check_grads(m.newton, (np.array([2.0, 3.0]), 1e-12), 0, order=2, modes=("fwd",))
    symgrad.check_grads(m.chain, (normal(3), 1.5), (0, 1), order=2, modes=("fwd",))


def test_forward_mode_writes_each_branch_once(m):
    source = symgrad.linearize(m.relu_rnn, normal(3), normal(3, 3), 2)[1].source
    assert body_of(source).count("if np.sum(z) > 0:") == 1
    # a branch whose outputs carry no tangent (it reads t only to decide) differentiates as a
    # constant where its outputs are read
    value, tangent = symgrad.jvp(m.chain, (normal(3), 0.5), (None, 1.0))
    assert np.isfinite(tangent) and tangent == pytest.approx(value / 0.5)


def test_reverse_over_a_loops_gradient_through_a_custom_rule_is_refused(make_fn):
    """A custom rule's "derivative" (here twice the true one) makes the gradient's Jacobian
    unsymmetric: the VJP of the gradient by symmetry gave J v where v J is meant."""
    m = make_fn(
        "import symgrad\n\n"
        "@symgrad.custom_jvp\ndef scale2(x):\n    return x\n\n"
        "@scale2.defjvp\ndef scale2_jvp(primals, tangents):\n"
        "    (x,), (t,) = primals, tangents\n    return x, 2.0 * t\n\n"
        "def f(x):\n    s = x * 1.0\n    for i in range(1):\n"
        "        s = np.sin(scale2(s[0])) * s[1] + 0.0 * s\n    return np.sum(s) / 2.0\n"
    )
    x = np.array([0.4, -0.3])
    with pytest.raises(symgrad.NotDifferentiableError, match="custom derivative rule"):
        symgrad.vjp(symgrad.grad(m.f), x)
    J = symgrad.jacfwd(symgrad.grad(m.f))(x)  # (forward over reverse: no symmetry assumed)
    want = [[-2 * np.sin(0.4) * -0.3, 2 * np.cos(0.4)], [np.cos(0.4), 0.0]]  # (grad: 2 cos)
    np.testing.assert_allclose(J, want, rtol=1e-12, atol=1e-15)
