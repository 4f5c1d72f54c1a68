"""Containers of parameters (dicts, lists, tuples, NamedTuples, dataclasses) as arguments of
grad and value_and_grad: gradients in the same structure, against central differences."""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pytest

import symgrad
from symgrad import tree


class Linear(NamedTuple):
    W: np.ndarray
    b: np.ndarray


@dataclass
class Model:
    lin: Linear
    gain: float
    n: int  # an int leaf: a constant of the compiled code, without gradient


def mlp(params, X, y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    out = h @ params["W2"] + params["b2"]
    return np.mean((out - y) ** 2)


def deep(params, X):
    h = X
    for W, b in params["layers"]:
        h = np.tanh(h @ W + b)
    return np.sum(h**2) * params["scale"]


def model_loss(m, X):
    z = X @ m.lin.W + m.lin.b
    return m.gain * np.sum(z**2) + m.n


def penalty(params, lam):
    total = lam * sum(np.sum(w**2) for w in params.values())
    for _, w in params.items():
        total = total + np.sum(np.abs(w))
    return total / len(params)


def layers_by_fstring(params, X):  # keys made from a loop's index: the loop unrolled
    h = X
    for i in range(1, len(params) // 2 + 1):
        h = np.tanh(h @ params[f"W{i}"] + params[f"b{i}"])
    return np.sum(h**2)


def layers_by_str(params, X):
    h = X
    for i in range(1, 3):
        h = np.tanh(h @ params["W" + str(i)] + params["b%d" % i])
    return np.sum(h**2)


def layers_by_a_key_of_its_own(params, X):
    h = X
    for i in range(1, 3):
        key = f"W{i}"
        h = np.tanh(h @ params.get(key) + params.get("b%d" % i))
    return np.sum(h**2)


def layers_by_format(params, X):
    h = np.tanh(X @ params["W{}".format(1)] + params["b1"])
    weights = sum(np.sum(w**2) for k, w in params.items() if k.startswith("W"))
    return np.sum(h) + weights


def key_at_run_time(params, n):  # n compiled as its value: the loop is unrolled
    total = 0.0
    for i in range(n):
        total = total + np.sum(params[f"W{i + 1}"])
    return total


def numeric_grad(f, args, k, eps=1e-6):
    """Central differences of f along each float leaf of args[k], in its structure."""
    leaves, treedef = tree.flatten(args[k])

    def at(j, index, step):
        moved = [np.array(x, dtype=float) if n == j else x for n, x in enumerate(leaves)]
        if np.ndim(moved[j]):
            moved[j][index] += step
        else:
            moved[j] = float(moved[j]) + step
        new = list(args)
        new[k] = tree.unflatten(treedef, moved)
        return f(*new)

    out = []
    for j, (leaf, floating) in enumerate(zip(leaves, treedef.floatings())):
        if not floating:
            out.append(None)
            continue
        g = np.zeros(np.shape(leaf))
        for index in np.ndindex(g.shape):
            g[index] = (at(j, index, eps) - at(j, index, -eps)) / (2 * eps)
        out.append(g if np.ndim(leaf) else float(g))
    return tree.unflatten(treedef, out)


def assert_trees_close(got, want):
    got_leaves, got_def = tree.flatten(got)
    want_leaves, want_def = tree.flatten(want)
    assert got_def.paths() == want_def.paths() and type(got) is type(want)
    for a, b in zip(got_leaves, want_leaves):
        assert (a is None) == (b is None)
        if a is not None:
            assert np.shape(a) == np.shape(b) and type(a) is type(b)
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


RNG = np.random.default_rng(0)
X, Y = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 1))
PARAMS = {
    "W1": RNG.standard_normal((3, 4)),
    "b1": RNG.standard_normal(4),
    "W2": RNG.standard_normal((4, 1)),
    "b2": RNG.standard_normal(1),
}
DEEP = {"layers": [(RNG.standard_normal((3, 3)), RNG.standard_normal(3)) for _ in range(2)]}
DEEP["scale"] = 2.0
MODEL = Model(Linear(RNG.standard_normal((3, 2)), RNG.standard_normal(2)), 0.5, 3)
CASES = [
    (mlp, (PARAMS, X, Y)),
    (deep, (DEEP, X)),
    (model_loss, (MODEL, X)),
    (penalty, (PARAMS, 0.1)),
    (layers_by_fstring, (PARAMS, X)),
    (layers_by_str, (PARAMS, X)),
    (layers_by_format, (PARAMS, X)),
    (layers_by_a_key_of_its_own, (PARAMS, X)),
]


@pytest.mark.parametrize("fn, args", CASES, ids=[c[0].__name__ for c in CASES])
def test_a_gradient_comes_back_in_its_arguments_structure(fn, args):
    value, g = symgrad.value_and_grad(fn)(*args)
    assert value == pytest.approx(fn(*args), rel=1e-12)
    assert_trees_close(g, numeric_grad(fn, args, 0))


def test_several_arguments_and_a_plain_one():
    g_params, g_lam = symgrad.grad(penalty, argnums=(0, 1))(PARAMS, 0.1)
    assert_trees_close(g_params, numeric_grad(penalty, (PARAMS, 0.1), 0))
    assert g_lam == pytest.approx(sum(np.sum(w**2) for w in PARAMS.values()) / 4)


def test_a_new_structure_or_constant_compiles_again():
    g = symgrad.value_and_grad(deep)
    three = {"layers": DEEP["layers"] + [DEEP["layers"][0]], "scale": 1.0}
    for params in (DEEP, three, DEEP):
        value, grads = g(params, X)
        assert value == pytest.approx(deep(params, X), rel=1e-12)
        assert len(grads["layers"]) == len(params["layers"])
    other = Model(MODEL.lin, MODEL.gain, 7)
    assert symgrad.value_and_grad(model_loss)(other, X)[0] == pytest.approx(model_loss(other, X))


def test_the_emitted_code_reads_the_leaves_by_name():
    g = symgrad.grad(mlp)
    g(PARAMS, X, Y)
    assert "def grad_mlp(W1, W2, b1, b2, X, y):" in g.source
    assert "np.tanh(X @ W1 + b1)" in g.source
    assert "params holds W1, W2, b1, b2" in g.source


def keyed_oddly(p, p_def):
    return np.sum(p["def"] ** 2 * p_def) + np.sum(p["a-b"] * p["a_b"] ** 3)


def test_leaves_keyed_by_a_keyword_or_alike_get_names_of_their_own():
    """`p["def"]` was the module's parameter `def` (a SyntaxError in jacfwd, jacrev, hessian);
    `p["a-b"]` and `p["a_b"]` were both `a_b` (a duplicate argument)."""
    rng = np.random.default_rng(0)
    p = {"def": rng.standard_normal(2), "a-b": rng.standard_normal(2), "a_b": rng.random(2)}
    w = rng.standard_normal(2)
    H = symgrad.hessian(keyed_oddly)(p, w)
    np.testing.assert_allclose(H["def"]["def"], 2 * np.diag(w))
    np.testing.assert_allclose(H["a-b"]["a_b"], np.diag(3 * p["a_b"] ** 2))
    for J in (symgrad.jacfwd(keyed_oddly)(p, w), symgrad.jacrev(keyed_oddly)(p, w)):
        np.testing.assert_allclose(J["def"], 2 * p["def"] * w)
        np.testing.assert_allclose(J["a-b"], p["a_b"] ** 3)
        np.testing.assert_allclose(J["a_b"], 3 * p["a-b"] * p["a_b"] ** 2)
    source = symgrad.emit_module(keyed_oddly, kind="jacrev", args=(p, w))
    assert "def jacrev_keyed_oddly(a_b_1, a_b, p_def_1, p_def):" in source


def test_what_is_not_supported_yet_says_so():
    with pytest.raises(symgrad.SymgradError, match="returns a container"):
        symgrad.grad(symgrad.grad(mlp))(PARAMS, X, Y)
    with pytest.raises(symgrad.NotDifferentiableError, match="holding no float"):
        symgrad.grad(deep)({"layers": [], "scale": 1}, X)
    grads = symgrad.grad(key_at_run_time)(PARAMS, 1)  # (n compiled as its value: unrolled)
    assert np.all(grads["W1"] == 1.0) and np.all(grads["W2"] == 0.0)


def test_flatten_unflatten_and_map():
    leaves, treedef = tree.flatten(MODEL)
    assert len(leaves) == 4 and treedef.statics()[-1] == (3,)
    assert tree.unflatten(treedef, leaves) == MODEL
    doubled = tree.map(lambda a: a * 2, PARAMS)
    assert set(doubled) == set(PARAMS) and np.array_equal(doubled["W1"], 2 * PARAMS["W1"])
    with pytest.raises(ValueError):
        tree.map(np.add, PARAMS, {"W1": 1.0})


def loss_with_aux(W, X, y):
    pred = X @ W
    err = pred - y
    return np.mean(err**2), {"pred": pred, "mae": np.mean(np.abs(err)), "tag": "mse"}


def test_has_aux_returns_the_aux_beside_the_gradient():
    W = RNG.standard_normal((3, 1))
    g, aux = symgrad.grad(loss_with_aux, has_aux=True)(W, X, Y)
    (value, aux2), g2 = symgrad.value_and_grad(loss_with_aux, has_aux=True)(W, X, Y)
    want_value, want_aux = loss_with_aux(W, X, Y)
    assert value == pytest.approx(want_value, rel=1e-12)
    np.testing.assert_allclose(g, numeric_grad(lambda w: loss_with_aux(w, X, Y)[0], (W,), 0))
    np.testing.assert_array_equal(g, g2)
    for a in (aux, aux2):
        assert sorted(a) == ["mae", "pred", "tag"] and a["tag"] == "mse"
        np.testing.assert_allclose(a["pred"], want_aux["pred"])
        assert a["mae"] == pytest.approx(want_aux["mae"])


def test_has_aux_with_containers_and_its_errors():
    (value, z), g = symgrad.value_and_grad(lambda_free_pair, has_aux=True)({"W": X[:3].T}, X)
    np.testing.assert_allclose(z, X @ X[:3].T)
    np.testing.assert_allclose(g["W"], 2 * X.T @ (X @ X[:3].T))
    with pytest.raises(symgrad.SymgradError, match="has_aux=True"):
        symgrad.grad(loss_with_aux)(X[:3, :1], X, Y)
    with pytest.raises(symgrad.SymgradError, match="does not return a pair"):
        symgrad.grad(mlp, has_aux=True)(PARAMS, X, Y)
    with pytest.raises(symgrad.SymgradError, match="has_aux is an option"):
        symgrad.Compiled(loss_with_aux, 0, "vjp", has_aux=True)
    with pytest.raises(symgrad.SymgradError, match="returns an aux"):
        symgrad.jacfwd(symgrad.grad(loss_with_aux, has_aux=True))(X[:3, :1], X, Y)


def lambda_free_pair(params, X):
    z = X @ params["W"]
    return np.sum(z**2), z


def test_emit_module_with_containers_in_the_example_arguments(tmp_path):
    """The module is compiled for the containers' structure, a parameter per leaf; it runs on
    its own and gives the gradient the call gives."""

    def loss(params, x):
        return np.sum(np.tanh(x @ params["W"] + params["b"]) ** 2)

    rng = np.random.default_rng(5)
    params = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    x = rng.standard_normal((4, 3))
    path = tmp_path / "grad_loss.py"
    source = symgrad.emit_module(loss, str(path), args=(params, x))
    assert "def grad_loss(W, b, x):" in source and path.read_text() == source
    namespace: dict = {}
    exec(compile(source, str(path), "exec"), namespace)
    W_bar, b_bar = namespace["grad_loss"](params["W"], params["b"], x)
    want = symgrad.grad(loss)(params, x)
    np.testing.assert_allclose(W_bar, want["W"], rtol=1e-12)
    np.testing.assert_allclose(b_bar, want["b"], rtol=1e-12)
    with pytest.raises(symgrad.SymgradError, match=r"emit_module example arguments"):
        symgrad.emit_module(loss)
    for kind in ("jvp", "vjp"):  # (an internal TypeError, or a misleading refusal)
        with pytest.raises(symgrad.SymgradError, match=r"container arguments .* not supported"):
            symgrad.emit_module(loss, kind=kind, args=(params, x))


def layers_in_order(params, x):
    h = x
    for W in params.values():
        h = np.sin(W @ h)
    for name, W in params.items():
        h = h + len(name) * np.sum(W) * 0.1
    return np.sum(h * np.arange(h.shape[0]))


def test_a_dicts_own_order_is_the_order_it_is_iterated_in():
    # its leaves were rebuilt into a dict by sorted key: `for W in params.values()` ran the
    # layers of {"z_first": A, "a_second": B} as B then A (a silent wrong value and gradient)
    rng = np.random.default_rng(7)
    params = {"z_first": rng.standard_normal((3, 3)), "a_second": rng.standard_normal((3, 3))}
    x = rng.standard_normal(3)
    value, grads = symgrad.value_and_grad(layers_in_order)(params, x)
    assert value == pytest.approx(layers_in_order(params, x), rel=1e-12)
    assert list(grads) == ["z_first", "a_second"]  # (the gradient in the argument's order)
    h = 1e-6
    for key in params:
        for idx in np.ndindex(3, 3):
            up, down = ({k: v.copy() for k, v in params.items()} for _ in range(2))
            up[key][idx] += h
            down[key][idx] -= h
            slope = (layers_in_order(up, x) - layers_in_order(down, x)) / (2 * h)
            assert grads[key][idx] == pytest.approx(slope, rel=1e-6, abs=1e-8)


def sliced_layers(params, x):
    for W, b in params[:-1]:
        x = np.tanh(W @ x + b)
    W, b = params[-1]
    return np.sum(W @ x + b) + sum(np.sum(b) for _, b in params[::-2])


def test_a_list_of_parameters_sliced():
    # `params[:-1]` was refused ("subscript of a non-array value")
    rng = np.random.default_rng(3)
    params = [(rng.standard_normal((3, 3)), rng.standard_normal(3)) for _ in range(3)]
    x = rng.standard_normal(3)
    value, grads = symgrad.value_and_grad(sliced_layers)(params, x)
    assert value == pytest.approx(sliced_layers(params, x), rel=1e-12)
    h = 1e-6
    for k in range(3):
        for idx in np.ndindex(3):
            b = params[k][1]
            b[idx] += h
            up = sliced_layers(params, x)
            b[idx] -= 2 * h
            down = sliced_layers(params, x)
            b[idx] += h
            assert grads[k][1][idx] == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-9)


def keyed(p):
    return np.sum(p[0] ** 2) + np.sum(p["a"] ** 3)


def test_a_dict_whose_keys_python_cannot_order():
    # sorting {0: ..., "a": ...} raised an internal TypeError
    x = np.array([0.3, -1.2, 0.8])
    got = symgrad.grad(keyed)({0: x, "a": x + 1})
    assert list(got) == [0, "a"]
    np.testing.assert_allclose(got[0], 2 * x)
    np.testing.assert_allclose(got["a"], 3 * (x + 1) ** 2)


def test_an_assertions_f_string_message_unrolls_no_loop(make_fn):
    """Only strings that can be keys unroll a loop: an assertion's message is no key."""
    m = make_fn(
        """
        def checked_sum(x):
            s = 0.0
            for i in range(50):
                assert x[i] == x[i], f"entry {i} is NaN"
                s = s + x[i] ** 2
            return s
        """
    )
    g = symgrad.grad(m.checked_sum)
    x = np.linspace(0.5, 1.5, 50)
    np.testing.assert_allclose(g(x), 2 * x)
    assert len(list(g.graph.nodes())) < 50  # (not a body per step)


def test_unflatten_with_too_few_or_too_many_leaves():
    _, treedef = tree.flatten({"a": 1.0, "b": 2.0})
    with pytest.raises(ValueError, match="fewer leaves"):
        tree.unflatten(treedef, [1.0])
    with pytest.raises(ValueError, match="more leaves"):
        tree.unflatten(treedef, [1.0, 2.0, 3.0])


def test_a_vjps_cotangent_none_is_refused_at_a_float_and_zero_at_an_int(make_fn):
    mod = make_fn(
        """
        def f(x):
            return np.sum(x**2)

        def g(x):
            return {"y": x**2, "k": np.arange(3)}
        """
    )
    x = np.array([0.5, -1.0, 2.0])
    _, vjp_fn = symgrad.vjp(mod.f, x)
    with pytest.raises(symgrad.SymgradError, match="the cotangent is None"):
        vjp_fn(None)
    _, vjp_fn = symgrad.vjp(mod.g, x)
    (dx,) = vjp_fn({"y": np.ones(3), "k": None})
    assert np.allclose(dx, 2 * x)
