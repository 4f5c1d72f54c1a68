"""Ordinary Python that model code is written in: `dict(lr=..., w=x)`, `d.update(...)`,
`sorted(params)` and `sorted(params.items())`, and `isinstance` (of containers and constants
when compiling; of an array or number argument when its type is known, and as Python's call in
a module for any types). Each was refused ("cannot compile a call to dict", "... to sorted",
"... to isinstance"; `sorted(params.items())` failed when it ran)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pytest

import symgrad
from tests.conftest import BACKENDS, load_module


def made_dicts(x, w):
    options = dict(scale=2.0, w=w)
    options.update(shift=0.5)
    options.update({"w": options["w"] * 3.0})
    both = dict(options, x=x)
    return np.sum(both["x"] * both["w"] * both["scale"]) + both["shift"]


def sorted_parameters(params, x):
    total = 0.0
    for name, value in sorted(params.items()):
        total = total + np.sum(value**2) * len(name)
    for name in sorted(params, reverse=True):
        total = total + np.sum(params[name] * x[: params[name].shape[0]])
    return total


def weighted(x, w):
    if isinstance(w, float):
        w = np.full(x.shape, w)
    scale = 2.0 if isinstance(w, (int, float)) else 1.0
    if isinstance(x, np.ndarray):
        return np.sum(x * w) * scale
    return x * w * scale


def configured(x, cfg):
    if isinstance(cfg, dict) and callable(cfg.get("act")):
        return np.sum(cfg["act"](x))
    return np.sum(x)


def sizes(x, axis):
    per_row = np.sum(x, axis=-1) / np.size(x, axis=-1)
    return np.sum(per_row**2) / np.size(x, 0) + np.sum(x**2) / np.size(x) * np.size(x, axis)


def swish(z):
    return z / (1.0 + np.exp(-z))


def layer(x, W, act=np.tanh, loss=np.square, reduce=np.sum):
    scale = 2.0 if act is np.tanh else 0.5 if act == np.sin else 1.0
    return reduce(loss(act(W @ x))) * scale


def indexed_layers(params, x):
    h = x
    for i in range(len(params) - 1):
        W, b = params[i]
        h = np.tanh(W @ h + b)
    return np.sum(h * params[-1][0])


def picked_log_likelihood(logits, labels):
    z = logits - np.max(logits, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    scaled = np.zeros(logits.shape[1])
    scaled[range(1, 3)] = logits[0, 1:3] ** 2
    return -np.mean(logp[range(logits.shape[0]), labels]) + np.sum(logits[range(1, 3)] * scaled)


X = np.array([0.5, -1.0, 2.0])
_R = np.random.default_rng(2)
LAYERS = [(_R.standard_normal((4, 3)), _R.standard_normal(4)), (_R.standard_normal((2, 4)), 0.5)]
LAYERS.append((_R.standard_normal(2),))
PARAMS = {"W1": np.array([1.0, 2.0, 3.0]), "W0": np.array([0.5, 4.0])}


IDIOMS = [
    (made_dicts, (X, np.array([1.0, -2.0, 0.5])), (0, 1)),
    (weighted, (X, 0.5), (0, 1)),
    (weighted, (X, np.array([1.0, -2.0, 0.5])), (0, 1)),
    (weighted, (X, np.float64(0.5)), (0, 1)),
    (weighted, (X, 2), 0),
    (sizes, (np.arange(1.0, 7.0).reshape(2, 3), 1), 0),  # (np.size(x, axis): refused)
    (layer, (X, np.eye(3) * 0.5), (0, 1)),  # (a function given as an argument: refused,
    (layer, (X, np.eye(3) * 0.5, swish, np.abs), (0, 1)),  # "act is read as an array")
    (layer, (X, np.eye(3) * 0.5, np.sin, np.square, np.mean), (0, 1)),
    (indexed_layers, (LAYERS, X), (0, 1)),  # (params[i] of a list of pairs: refused,
    (picked_log_likelihood, (_R.standard_normal((4, 3)), np.array([0, 2, 1, 1])), 0),
]  # (... "a branch gives the value a tuple"; an index range(n): "cannot compile a call to
# range")
ON_NUMBA = (0, 1, 9)  # (each compiles for seconds: a dict made, a float, a list of layers)


@pytest.mark.parametrize(
    ("fn", "args", "argnums", "backend"),
    [(*case, "numpy") for case in IDIOMS]
    + [pytest.param(*IDIOMS[k], "numba", marks=BACKENDS[1].marks) for k in ON_NUMBA],
)
def test_python_idioms_differentiate(fn, args, argnums, backend):
    symgrad.check_grads(fn, args, argnums, modes=("rev", "fwd"), backend=backend)
    assert symgrad.jit(fn, backend=backend)(*args) == pytest.approx(fn(*args), rel=1e-12)


def first_k(x, k):  # (range() outside an index and a for loop: "cannot compile a call to range")
    idx = list(range(k))
    return np.sum(x[idx] ** 3) + len(range(1, k, 2)) + np.sum(x[list(range(0, 3, 2))])


def picked_by_lists(x, k):  # (a list a loop filled, as an index: "index Stacked(...) is not
    evens = [i * 2 for i in range(k)]  # supported")
    later = []
    for i in range(len(x) - 1):
        later.append(i + 1)
    return np.sum(x[evens] ** 2) + np.sum(x[later] ** 3) + x[0]


def told_and_turned(x):  # (bool of a list a loop filled read the truth of its array; `b = a`
    a = []  # kept a's rows unreversed after a.reverse())
    for i in range(len(x)):
        a.append(i)
    b = a
    a.reverse()
    idx = [i for i in range(len(x) - 2)]
    if not idx:  # (was "reads it as np.stack(idx)")
        return np.sum(x[b] * np.arange(len(x))) * 2.0
    return np.sum(x[b] * np.arange(len(x))) + np.sum(x) * bool(idx)


def masked_by_a_list(x):
    kept = [x[i] > 0.0 for i in range(len(x))]
    return np.sum(x[kept] ** 2)


def all_but_last(x):
    idx = list(range(x.shape[0] - 1))
    return np.sum(x[idx])


def test_a_list_of_a_range_or_a_loop_filled_indexes_as_its_ints(tmp_path):
    x = np.array([0.5, -0.2, 0.3, 1.2])
    for k in (2, 3):  # (k compiled for its value)
        symgrad.check_grads(first_k, (x, k))
        assert symgrad.jit(first_k)(x, k) == pytest.approx(first_k(x, k), rel=1e-15)
    for y in (x, x[:2], x[:3]):
        assert symgrad.jit(told_and_turned)(y) == told_and_turned(y)
        symgrad.check_grads(told_and_turned, (y,))
    module = load_module(tmp_path, symgrad.emit_module(masked_by_a_list, kind="jit"))
    for y in (x, x[:0]):  # (in the module for any shapes, a list of rows not known when it is
        assert module.jit_masked_by_a_list(y) == masked_by_a_list(y)  # empty: ints, as NumPy
        # reads an empty list index, where floats raised an IndexError)
    for y in (x, x[:1]):  # (of one entry: later is empty)
        symgrad.check_grads(picked_by_lists, (y, len(y) // 2))
        assert symgrad.jit(picked_by_lists)(y, len(y) // 2) == picked_by_lists(y, len(y) // 2)
    with pytest.raises(symgrad.SymgradError, match=r"range\(\) here is a list of ints"):
        symgrad.grad(all_but_last)(x)


def test_sorted_parameters_and_a_dict_of_functions():
    want = {
        "W1": 2 * PARAMS["W1"] * 2 + X[:3],
        "W0": 2 * PARAMS["W0"] * 2 + X[:2],
    }
    got = symgrad.grad(sorted_parameters)(PARAMS, X)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12)
    got = symgrad.grad(configured)(X, {"act": np.tanh})
    np.testing.assert_allclose(got, 1 - np.tanh(X) ** 2, rtol=1e-12)


def test_isinstance_is_decided_by_the_types_of_the_call():
    g = symgrad.grad(weighted)
    g(X, 0.5)
    lines = g.source.split("def grad_weighted")[1].splitlines()
    code = [line for line in lines if not line.strip().startswith("#")]
    assert not any("isinstance" in line or "if " in line for line in code), g.source
    assert "isinstance(w, float)" in symgrad.emit_module(weighted)  # (Python's, as written)


def updates_an_argument(x, options):
    options.update(scale=2.0)
    return np.sum(x) * options["scale"]


def test_updating_a_dict_the_caller_holds_is_refused():
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="dict the function made"):
        symgrad.grad(updates_an_argument)(X, {"scale": 1.0})


def log_where_positive(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(x > 0, np.log(x), 0.0)
    return np.sum(y * x)


def test_a_block_silencing_numpys_warnings_is_its_block():
    # (`with np.errstate(divide="ignore")` was refused: "a with block is not supported")
    x = np.array([0.5, 1.0, 2.0])
    symgrad.check_grads(log_where_positive, (x,), 0, modes=("rev", "fwd"))
    assert symgrad.jit(log_where_positive)(x) == pytest.approx(log_where_positive(x), rel=1e-12)


def stabilised(x):
    eps = np.finfo(x.dtype).eps
    tiny = np.finfo(float).tiny
    return np.sum(np.log(np.maximum(x, tiny) + eps)) + np.iinfo(np.int8).max * np.sum(x)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_dtypes_limits_are_numpys(dtype):
    # (np.finfo and np.iinfo were refused: "cannot compile a call to numpy.finfo")
    x = np.array([0.5, 1.0, 2.0], dtype)
    got, want = symgrad.jit(stabilised)(x), stabilised(x)
    assert got == want and type(got) is type(want)
    np.testing.assert_allclose(
        symgrad.grad(stabilised)(x), 1 / (x + np.finfo(dtype).eps) + 127, rtol=1e-6
    )


def finite_square(a):
    return 0.0 if not math.isfinite(a) or math.isnan(a) or math.isinf(a) else a**2


def test_math_isfinite_isnan_isinf_are_numpys():
    # (math.isfinite was refused: "cannot compile a call to math.isfinite")
    assert symgrad.grad(finite_square)(0.3) == pytest.approx(0.6)
    assert symgrad.grad(finite_square)(float("inf")) == 0.0
    assert symgrad.jit(finite_square)(0.3) == pytest.approx(0.09)


@dataclass
class Layer:
    W: np.ndarray
    b: np.ndarray
    act: str = "tanh"

    def __call__(self, x):
        h = x @ self.W + self.b
        return np.tanh(h) if self.act == "tanh" else np.maximum(h, 0.0)


@dataclass(frozen=True)
class Pair:
    a: float
    b: float


def layered(W1, b1, W2, b2, x):
    layers = [Layer(W1, b1), Layer(W2, b2, act="relu")]
    h = x
    for layer in layers:
        h = layer(h)
    p = Pair(np.sum(h), np.sum(h**2))
    return p.a + 0.5 * p.b


def test_a_dataclass_made_in_the_function_holds_its_values():
    # (Layer(W, b) was refused: "cannot compile a call to Layer")
    rng = np.random.default_rng(0)
    args = (
        rng.standard_normal((3, 4)),
        rng.standard_normal(4),
        rng.standard_normal((4, 2)),
        rng.standard_normal(2),
        rng.standard_normal((5, 3)),
    )
    assert symgrad.jit(layered)(*args) == pytest.approx(layered(*args), rel=1e-12)
    symgrad.check_grads(layered, args, (0, 1, 2, 3), modes=("rev", "fwd"))


def ridge(w, X, y, alpha=0.1):
    r = np.dot(X, w) - y
    return np.dot(r, r) + alpha * np.dot(w, w)


def test_np_dot_of_vectors_and_matrices_specialises_as_matmul():
    # (np.dot had no shape rule: its specialised gradient kept _dot_vjp_a, _fit and a check
    # that recomputed the loss)
    rng = np.random.default_rng(0)
    args = (rng.standard_normal(3), rng.standard_normal((5, 3)), rng.standard_normal(5))
    symgrad.check_grads(ridge, args, (0, 1), modes=("rev", "fwd"))
    g = symgrad.grad(ridge)
    g(*args)
    assert "_dot_vjp" not in g.source and "_check_scalar" not in g.source


def centred_by_median(x):
    center = np.median(x, axis=0)
    return np.sum((x - center) ** 2)


def test_any_and_all_have_a_shape_rule():
    # (np.any(..., axis=0) had none: a median's specialised gradient lost its shapes after it)
    x = np.random.default_rng(0).standard_normal((5, 3))
    symgrad.check_grads(centred_by_median, (x,), 0)
    g = symgrad.grad(centred_by_median)
    g(x)
    assert "_unbroadcast" not in g.source.split("def grad_centred_by_median")[1]


def averaged_steps(x, W):
    T, d = x.shape
    h = np.zeros(W.shape[0])
    s = 0.0
    for t in range(T):
        h = np.tanh(W @ h + x[t, : W.shape[0]])
        s = s + np.sum(h) / T
    return s


def test_a_loop_writes_no_constant_its_body_no_longer_reads():
    # (`T = 5` was written before each loop that had divided by T, folded into 0.2)
    rng = np.random.default_rng(0)
    x, W = rng.standard_normal((5, 3)), rng.standard_normal((3, 3)) * 0.5
    g = symgrad.grad(averaged_steps, argnums=1)
    symgrad.check_grads(averaged_steps, (x, W), 1)
    g(x, W)
    assert "T = 5" not in g.source and "T_1 = 5" not in g.source


def size_along(X, axis):
    return X.shape[axis] * 1.0


def mean_of_every_entry(X):
    n = 1
    for i in range(X.ndim):
        n = n * X.shape[i]
    return np.sum(X) / n


def test_a_shape_read_at_an_index_known_when_it_runs_is_that_entry():
    # (its Aval took the index for 0: X.shape[axis] was X.shape[0] in the specialised module,
    # and a mean over every entry divided by 2 * 2 * 2)
    X = np.ones((2, 3, 5))
    assert [symgrad.jit(size_along)(X, k) for k in (0, 1, 2)] == [2.0, 3.0, 5.0]
    assert symgrad.jit(mean_of_every_entry)(X) == 1.0
    np.testing.assert_allclose(symgrad.grad(mean_of_every_entry)(X), np.full(X.shape, 1 / 30))


def frozen_parameters(params, x):
    frozen = symgrad.stop_gradient({"w": params["w"], "b": params["b"], "n": 2})
    return np.sum((x @ params["w"] + frozen["b"]) ** 2) + np.sum(frozen["w"] ** 2) * frozen["n"]


def test_stop_gradient_of_a_container_stops_each_leaf():
    # (stop_gradient of a dict was refused: "dict is not an array"; JAX's takes any tree)
    rng = np.random.default_rng(0)
    params = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    x = rng.standard_normal((4, 3))
    g = symgrad.grad(frozen_parameters)(params, x)
    np.testing.assert_allclose(g["w"], 2 * x.T @ (x @ params["w"] + params["b"]), rtol=1e-12)
    np.testing.assert_array_equal(g["b"], np.zeros(2))


def pair_energy(X, n):
    e = 0.0
    for i, j in itertools.combinations(range(n), 2):
        e = e + 1.0 / np.linalg.norm(X[i] - X[j])
    for a, b in itertools.product(range(2), [0.5, 1.5]):
        e = e + np.sum(X[a] * b)
    return e


def test_itertools_tuples_of_constants_are_a_list_known_when_compiling():
    # (was "range() inside combinations() needs bounds known when compiling", and with
    # constant bounds "cannot compile a call to itertools.combinations")
    X = np.random.default_rng(0).standard_normal((4, 2))
    symgrad.check_grads(pair_energy, (X, 4), modes=("rev", "fwd"))
    assert symgrad.jit(pair_energy)(X, 3) == pytest.approx(pair_energy(X, 3), rel=1e-12)
