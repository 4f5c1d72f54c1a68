"""Containers of parameters (dicts, lists, tuples, NamedTuples, dataclasses) in vjp, jvp,
linearize, jacfwd, jacrev, hessian and gradients differentiated again, as arguments and as
outputs: against central differences (`check_grads`, float64) and against the same function
written on flat arrays."""

import numpy as np
import pytest

import symgrad
from symgrad import tree
from tests.conftest import BACKENDS
from tests.test_trees import Linear, Model, numeric_grad


def net(params, X):
    h = np.tanh(X @ params["W"] + params["b"])
    return {"out": h @ params["V"], "reg": params["lam"] * np.sum(params["W"] ** 2), "tag": "net"}


def net_flat(W, b, V, lam, X):
    h = np.tanh(X @ W + b)
    return h @ V, lam * np.sum(W**2)


def model(m, X):
    z = np.sin(X @ m.lin.W + m.lin.b)
    return (m.gain * z, [np.sum(z**2), m.n])


def model_flat(W, b, gain, X):
    z = np.sin(X @ W + b)
    return gain * z, np.sum(z**2)


def loss(params, X):
    h = np.tanh(X @ params["W"] + params["b"])
    return np.sum((h @ params["V"]) ** 2) + params["lam"] * np.sum(params["W"] ** 2)


def loss_flat(W, b, V, lam, X):
    h = np.tanh(X @ W + b)
    return np.sum((h @ V) ** 2) + lam * np.sum(W**2)


def scaled(x, params):
    return x**3 * np.sum(np.sin(params["W"])) + x * params["lam"]


RNG = np.random.default_rng(3)
X = RNG.standard_normal((4, 3))
P = {
    "W": RNG.standard_normal((3, 2)),
    "b": RNG.standard_normal(2),
    "V": RNG.standard_normal((2, 2)),
    "lam": 0.3,
    "n": 5,  # an int leaf: no derivative, None in every result
}
KEYS = ("W", "b", "V", "lam")
M = Model(Linear(RNG.standard_normal((3, 2)), RNG.standard_normal(2)), 0.7, 2)


def flat_args(params=P):
    return [params[k] for k in KEYS]


def test_vjp_of_a_dict_argument_and_a_dict_output():
    out, vjp_fn = symgrad.vjp(net, P, X)
    assert sorted(out) == ["out", "reg", "tag"] and out["tag"] == "net"
    ct = {"out": RNG.standard_normal((4, 2)), "reg": 0.7, "tag": None}
    g_params, g_X = vjp_fn(ct)
    flat_out, flat_fn = symgrad.vjp(net_flat, *flat_args(), X)
    np.testing.assert_allclose(out["out"], flat_out[0])
    want = flat_fn((ct["out"], ct["reg"]))
    assert sorted(g_params) == sorted(P) and g_params["n"] is None
    for k, w in zip(KEYS, want):
        np.testing.assert_allclose(g_params[k], w, rtol=1e-12)
    np.testing.assert_allclose(g_X, want[-1], rtol=1e-12)
    assert isinstance(g_params["lam"], float)
    assert "def vjp_net(V, W, b, lam, X, out_bar, reg_bar):" in vjp_fn.source


def test_vjp_of_tuples_namedtuples_and_dataclasses():
    out, vjp_fn = symgrad.vjp(model, M, X)
    assert isinstance(out, tuple) and isinstance(out[1], list) and out[1][1] == 2
    ct = (RNG.standard_normal((4, 2)), [1.5, None])
    (g_m, g_X) = vjp_fn(ct)
    assert type(g_m) is Model and type(g_m.lin) is Linear and g_m.n is None
    _, flat_fn = symgrad.vjp(model_flat, M.lin.W, M.lin.b, M.gain, X)
    want = flat_fn((ct[0], ct[1][0]))
    for got, w in zip((g_m.lin.W, g_m.lin.b, g_m.gain, g_X), want):
        np.testing.assert_allclose(got, w, rtol=1e-12)


def test_a_function_of_arrays_returning_a_tuple():
    out, vjp_fn = symgrad.vjp(net_flat, *flat_args(), X)
    assert isinstance(out, tuple) and len(out) == 2
    cts = vjp_fn((np.ones((4, 2)), 1.0))
    assert len(cts) == 5 and cts[0].shape == (3, 2)
    y, y_dot = symgrad.jvp(net_flat, (*flat_args(), X), (P["W"], None, None, 1.0, None))
    assert isinstance(y_dot, tuple) and y_dot[0].shape == (4, 2)
    symgrad.check_grads(net_flat, (*flat_args(), X), (0, 1, 2, 3, 4), modes=("rev", "fwd"))
    source = symgrad.emit_module(net_flat, kind="vjp", argnums=(0, 4), args=(*flat_args(), X))
    assert "def vjp_net_flat(W, b, V, lam, X, out_0_bar, out_1_bar):" in source


@pytest.mark.parametrize(
    "fn, args",
    [(net, (P, X)), (model, (M, X)), (loss, (P, X))],
    ids=["dict in, dict out", "dataclass in, tuple out", "dict in, scalar out"],
)
def test_central_differences_forward_and_reverse(fn, args):
    symgrad.check_grads(fn, args, (0, 1), modes=("rev", "fwd"))


def test_jvp_tangents_in_the_primals_structure():
    tangent = {k: RNG.standard_normal(np.shape(P[k])) for k in KEYS}
    tangent["lam"], tangent["n"] = 0.5, None
    out, out_dot = symgrad.jvp(net, (P, X), (tangent, None))
    flat_out, flat_dot = symgrad.jvp(
        net_flat, (*flat_args(), X), (*flat_args(tangent), np.zeros_like(X))
    )
    assert out["tag"] == "net" and out_dot["tag"] is None
    np.testing.assert_allclose(out["out"], flat_out[0])
    np.testing.assert_allclose(out_dot["out"], flat_dot[0], rtol=1e-12)
    assert out_dot["reg"] == pytest.approx(flat_dot[1], rel=1e-12)
    _, f_jvp = symgrad.linearize(net, P, X)
    np.testing.assert_allclose(f_jvp(tangent, np.zeros_like(X))["out"], out_dot["out"])
    tangent["W"] = None  # a zero tangent at one leaf
    tangent_w0 = dict(tangent, W=np.zeros((3, 2)))
    np.testing.assert_allclose(
        symgrad.jvp(net, (P, X), (tangent, None))[1]["out"],
        symgrad.jvp(net, (P, X), (tangent_w0, None))[1]["out"],
    )


@pytest.mark.parametrize("jac", [symgrad.jacfwd, symgrad.jacrev], ids=["jacfwd", "jacrev"])
def test_jacobians_nest_the_output_outside_the_argument(jac):
    J = jac(net)(P, X)
    want = jac(net_flat, argnums=(0, 1, 2, 3))(*flat_args(), X)
    assert sorted(J) == ["out", "reg", "tag"] and J["tag"] is None
    for i, key in enumerate(("out", "reg")):
        assert sorted(J[key]) == sorted(P) and J[key]["n"] is None
        for k, w in zip(KEYS, want[i]):
            assert np.shape(J[key][k]) == np.shape(net(P, X)[key]) + np.shape(P[k])
            np.testing.assert_allclose(J[key][k], w, rtol=1e-10, atol=1e-12)
    J2 = jac(net, argnums=(0, 1))(P, X)
    assert isinstance(J2["out"], tuple) and np.shape(J2["out"][1]) == (4, 2, 4, 3)
    Jm = jac(model)(M, X)
    assert type(Jm[0]) is Model and Jm[0].n is None and Jm[1][1] is None
    flat = jac(model_flat, argnums=(0, 1, 2))(M.lin.W, M.lin.b, M.gain, X)
    for i, m in enumerate((Jm[0], Jm[1][0])):
        for got, w in zip((m.lin.W, m.lin.b, m.gain), flat[i]):
            np.testing.assert_allclose(got, w, rtol=1e-10, atol=1e-12)


def test_jacobian_of_a_tuple_output_of_arrays():
    J = symgrad.jacrev(net_flat, argnums=(0, 3))(*flat_args(), X)
    Jf = symgrad.jacfwd(net_flat, argnums=(0, 3))(*flat_args(), X)
    assert isinstance(J, tuple) and len(J) == 2 and np.shape(J[0][0]) == (4, 2, 3, 2)
    for a, b in zip(tree.flatten(J)[0], tree.flatten(Jf)[0]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_hessian_of_a_dict_of_parameters():
    H = symgrad.hessian(loss)(P, X)
    want = symgrad.hessian(loss_flat, argnums=(0, 1, 2, 3))(*flat_args(), X)
    assert H["n"] is None and all(H[k]["n"] is None for k in KEYS)
    for i, a in enumerate(KEYS):
        for j, b in enumerate(KEYS):
            assert np.shape(H[a][b]) == np.shape(P[a]) + np.shape(P[b])
            np.testing.assert_allclose(H[a][b], want[i][j], rtol=1e-10, atol=1e-12)
    nums = (0, 1, 2, 3)  # jacrev of a gradient of several arguments: a VJP per gradient
    want_rev = symgrad.jacrev(symgrad.grad(loss_flat, nums), nums)(*flat_args(), X)
    for a, b in zip(tree.flatten(want)[0], tree.flatten(want_rev)[0]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    Hr = symgrad.jacrev(symgrad.grad(loss))(P, X)
    for a in KEYS:
        for b in KEYS:
            np.testing.assert_allclose(Hr[a][b], H[a][b], rtol=1e-10, atol=1e-12)
    v = {k: RNG.standard_normal(np.shape(P[k])) for k in KEYS}
    v["n"] = None
    hv = symgrad.hvp(loss, (P, X), (v, None))
    for a in KEYS:
        want_a = sum(np.tensordot(H[a][b], v[b], axes=np.ndim(v[b])) for b in KEYS)
        np.testing.assert_allclose(hv[a], want_a, rtol=1e-10, atol=1e-12)


def test_gradients_of_containers_differentiated_again():
    d2 = symgrad.grad(symgrad.grad(scaled))(1.5, P)
    assert d2 == pytest.approx(6 * 1.5 * np.sum(np.sin(P["W"])), rel=1e-12)
    d_params = symgrad.grad(symgrad.grad(scaled), argnums=1)(1.5, P)
    np.testing.assert_allclose(d_params["W"], 3 * 1.5**2 * np.cos(P["W"]), rtol=1e-12)
    assert d_params["lam"] == pytest.approx(1.0) and d_params["n"] is None
    assert d_params["b"] == pytest.approx(np.zeros(2))
    symgrad.check_grads(scaled, (1.5, P), (0, 1), order=2, modes=("rev", "fwd"))
    symgrad.check_grads(loss, (P, X), (0,), order=2)


def test_what_cannot_be_done_says_so():
    with pytest.raises(symgrad.SymgradError, match="returns a container"):
        symgrad.grad(symgrad.grad(loss))(P, X)
    _, vjp_fn = symgrad.vjp(net, P, X)
    with pytest.raises(symgrad.SymgradError, match="another structure"):
        vjp_fn({"out": np.ones((4, 2)), "reg": 1.0})
    with pytest.raises(symgrad.SymgradError, match=r"\['out'\] has shape \(4, 3\)"):
        vjp_fn({"out": np.ones((4, 3)), "reg": 1.0, "tag": None})
    with pytest.raises(symgrad.SymgradError, match="another structure than its primal"):
        symgrad.jvp(net, (P, X), ({"W": P["W"]}, None))
    with pytest.raises(symgrad.SymgradError, match=r"at \['b'\] has shape"):
        symgrad.jvp(net, (P, X), (dict(P, b=np.ones(3)), None))
    with pytest.raises(symgrad.SymgradError, match="symgrad.vjp"):
        symgrad.Compiled(net, 0, "vjp")(P, X)


class Layer:
    """An object whose arrays a bound method reads as constants."""

    def __init__(self, W):
        self.W = W

    def heads(self, x):
        return {"lin": self.W @ x, "total": np.sum(x**2)}


def loop_filled(x):
    ys = []
    for i in range(3):
        ys.append(x[i] * x)
    return ys


def test_bound_methods_in_vjp_jvp_and_jacobians():
    layer, x = Layer(RNG.standard_normal((2, 3))), RNG.standard_normal(3)
    out, vjp_fn = symgrad.vjp(layer.heads, x)
    (x_bar,) = vjp_fn({"lin": np.ones(2), "total": 2.0})
    np.testing.assert_allclose(x_bar, layer.W.T @ np.ones(2) + 4 * x, rtol=1e-12)
    _, t = symgrad.jvp(layer.heads, (x,), (np.ones(3),))
    np.testing.assert_allclose(t["lin"], layer.W @ np.ones(3), rtol=1e-12)
    J = symgrad.jacrev(layer.heads)(x)
    np.testing.assert_allclose(J["lin"], layer.W)
    np.testing.assert_allclose(J["total"], symgrad.jacfwd(layer.heads)(x)["total"])
    symgrad.check_grads(layer.heads, (x,), 0, modes=("rev", "fwd"))


def loop_filled_aux(x, n):
    ys = [x * i for i in range(3)]
    history, k = [], 0
    while k < n:  # (a number of steps known when it runs)
        x = np.tanh(x)
        history.append(np.sum(x))
        k += 1
    return np.sum(x**2), {"ys": ys, "history": history}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_list_a_loop_filled_is_returned_stacked_or_as_an_aux(backend):
    with pytest.raises(symgrad.SymgradError, match=r"returns ys, a list a loop filled"):
        symgrad.vjp(loop_filled, np.ones(3))
    # as an aux, the list of its rows (it was refused; before that, symgrad's own `Stacked`)
    x = np.array([0.3, -0.2, 0.5])
    value_and_grad = symgrad.value_and_grad(loop_filled_aux, has_aux=True, backend=backend)
    for n in (0, 2):
        value, want = loop_filled_aux(x, n)
        (got_value, aux), g = value_and_grad(x, n)
        assert type(aux["history"]) is list and len(aux["history"]) == n
        np.testing.assert_allclose(aux["history"], want["history"], rtol=1e-12)
        assert type(aux["ys"]) is list and len(aux["ys"]) == 3
        for got, expected in zip(aux["ys"], want["ys"]):
            np.testing.assert_allclose(got, expected, rtol=1e-12)
        assert got_value == pytest.approx(value, rel=1e-12)
        want_g = numeric_grad(lambda x, n: loop_filled_aux(x, n)[0], (x, n), 0)
        np.testing.assert_allclose(g, want_g, rtol=1e-6, atol=1e-9)


def two_heads(x):
    return {"a": np.sin(x), "b": np.sum(x**2)}


def through_a_nested_jvp(x):
    y, t = symgrad.jvp(two_heads, (x,), (np.ones_like(x),))
    return np.sum(t["a"] * y["a"]) + t["b"]


def test_a_nested_jvp_of_a_function_returning_a_dict():
    x = np.array([0.3, 0.7, -1.2])
    want = np.cos(x) ** 2 - np.sin(x) ** 2 + 2.0  # d/dx of sum(cos x sin x) + 2 sum(x)
    np.testing.assert_allclose(symgrad.grad(through_a_nested_jvp)(x), want, rtol=1e-12)
    symgrad.check_grads(through_a_nested_jvp, (x,), 0, modes=("rev", "fwd"))


def looped(x, params):
    s = 0.0
    for i in range(3):
        s = s + np.sin(x * params["w"][i]) * params["c"]
    return s


def looped_flat(x, w, c):
    s = 0.0
    for i in range(3):
        s = s + np.sin(x * w[i]) * c
    return s


def model_in_a_loop(m, X):
    z = X
    for _ in range(2):
        z = np.tanh(z @ m.lin.W[:, :3] + m.lin.b[:3]) * m.gain
    return {"z": z, "first": m.lin.W[0] if m.gain > 0 else -m.lin.W[0]}


LOOPED = {"w": np.array([0.5, 1.0, 2.0]), "c": 1.5}
SQUARE = Model(Linear(RNG.standard_normal((3, 3)), RNG.standard_normal(3)), 0.7, 2)


def test_containers_read_inside_loops_and_branches():
    """A loop body or a branch reads a container's leaves as values it captures (they were
    read as the enclosing graph's nodes, which the body's graph misnumbered)."""
    x, w, c = 0.3, LOOPED["w"], LOOPED["c"]
    g = symgrad.grad(looped, argnums=(0, 1))(x, LOOPED)
    want = symgrad.grad(looped_flat, argnums=(0, 1, 2))(x, w, c)
    assert g[0] == pytest.approx(want[0], rel=1e-12) and g[1]["c"] == pytest.approx(want[2])
    np.testing.assert_allclose(g[1]["w"], want[1], rtol=1e-12)
    symgrad.check_grads(looped, (x, LOOPED), (0, 1), modes=("rev", "fwd"))
    symgrad.check_grads(looped, (x, LOOPED), (0,), order=2)
    assert symgrad.grad(symgrad.grad(looped))(x, LOOPED) == pytest.approx(
        symgrad.grad(symgrad.grad(looped_flat))(x, w, c), rel=1e-12
    )
    H = symgrad.hessian(looped, argnums=1)(x, LOOPED)
    np.testing.assert_allclose(H["w"]["w"], symgrad.hessian(looped_flat, 1)(x, w, c))
    symgrad.check_grads(model_in_a_loop, (SQUARE, X), (0, 1), modes=("rev", "fwd"))
    J = symgrad.jacrev(model_in_a_loop)(SQUARE, X)
    np.testing.assert_allclose(J["first"].lin.W[:, 0], np.eye(3))
