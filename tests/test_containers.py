"""Containers of arrays as ordinary code uses them. A loop carries a tuple, list, NamedTuple or
dict that its body binds anew (an LSTM's `state = (h, c)`, a gradient step's `params = {"w":
..., "b": ...}`) leaf by leaf (`symgrad.frontend.carried.Container`); `d[k] = v` and `xs[i] = v`
change a container the function made (every name holding it sees the change, as in Python; in
a loop that carries it too), `{**d, "k": v}`, copies, dict comprehensions, and branches or
conditional expressions give containers of one structure. Values against the function's own,
gradients (reverse and forward) against central differences, on both backends; what symgrad
cannot model (a structure a loop changes, the caller's container changed, a change in a
branch, an array in a container updated in place) is refused, saying so."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import symgrad
from tests.conftest import load_module, on_backends

SOURCE = """
from typing import NamedTuple


class State(NamedTuple):
    h: object
    c: object

    def energy(self):
        return np.sum(self.h**2) * np.sum(self.c)

    @property
    def hc(self):
        return self.h * self.c


def lstm(x, W):
    state = (np.zeros(3), np.zeros(3))
    for t in range(4):
        h, c = state
        c2 = np.tanh(W @ h + x) + c
        state = (np.tanh(c2), c2)
    return np.sum(state[0]) + np.sum(state[1] ** 2)


def named(x, W):
    state = State(x * 0.5, np.zeros(3))
    for t in range(3):
        c2 = np.tanh(W @ state.h) + state.c
        state = State(np.tanh(c2), c2)
    return np.sum(state.h * state.c)


def named_methods(x, W):
    state = State._make([x * 0.5, np.ones(3)])
    for t in range(3):
        state = state._replace(h=np.tanh(W @ state.hc) + 0.1 * state.energy())
    return state.energy() + np.sum(state._asdict()["c"])


def steps(x, W):
    params = {"w": x * 1.0, "b": 0.5}
    for it in range(3):
        pred = W @ params["w"] + params["b"]
        params = {"w": params["w"] - 0.1 * (W.T @ pred), "b": params["b"] - 0.1 * np.sum(pred)}
    return np.sum(params["w"] ** 2) + params["b"]


def tested(x, W):
    s = (x, 0.0)
    while np.sum(s[0] ** 2) < 50.0:
        a, n = s
        s = (a * 1.5 + 0.1, n + np.sum(W @ a))
    return np.sum(s[0]) + s[1]


def branches(x, W):
    st = [x, x * 2.0]
    for t in range(4):
        if np.sum(st[0]) > 0.0:
            st = [st[1] * 0.5, st[0] + 1.0]
        else:
            st = [np.sin(W @ st[0]), st[1]]
    return np.sum(st[0] * st[1])


def nested(x, W):
    st = (x, (x * 0.5, 1.0))
    for i in range(2):
        for j in range(3):
            a, (b, k) = st
            st = (b * 0.9, (np.cos(W @ a), k * 1.5))
        st = (st[0] + 1.0, st[1])
    return np.sum(st[0] + st[1][0] ** 2) * st[1][1]


def grows(x, W):
    st = (x,)
    for t in range(2):
        st = (st[0], W @ x)
    return np.sum(st[0])


def reordered(x, W):
    st = {"a": x, "b": W @ x}
    for t in range(2):
        st = {"b": st["b"] * 2.0, "a": st["a"]}
    return sum(k * np.sum(v) for k, v in enumerate(st.values()))


def changed_through_a_name(x, W):
    st = (x * 1.0, W @ x)
    for t in range(3):
        a = st[0]
        st = (st[1], a)
        a *= 2.0
    return np.sum(st[0])


def drops(x, W):
    st = {"a": x, "b": x}
    for t in range(2):
        st = {"a": st["a"] * 2.0}
    return np.sum(st["a"])


def cache(x, W):
    c = {}
    c["h1"] = np.tanh(W @ x)
    c["h2"] = np.sin(c["h1"]) * 2.0
    alias = c
    c["out"] = np.sum(alias["h2"] ** 2)
    return c["out"] + np.sum(alias["h1"])


def items(x, W):
    v = [x, W @ x, 3.0]
    v[1] = v[0] * v[2] + v[1]
    v[-1] = np.sum(v[1])
    return v[-1] * np.sum(v[0])


def spread(x, W):
    p = {"w": x, "b": 0.5}
    q = {**p, "w": W @ x}
    return np.sum(q["w"] ** 2) + q["b"] + np.sum(p["w"])


def sgd(x, W):
    p = {"w": x * 1.0, "b": 0.1}
    for i in range(3):
        pred = W @ p["w"] + p["b"]
        p["w"] = p["w"] - 0.1 * (W.T @ pred)
        p["b"] = p["b"] - 0.1 * np.sum(pred)
    p["done"] = np.sum(p["w"] ** 2)
    return p["done"] + p["b"]


def chosen(x, W):
    a, b = (x, W @ x) if np.sum(x) > 0 else (W @ x, x)
    d = {"a": a, "k": 1.0} if np.sum(a) > np.sum(b) else {"a": b, "k": 2.0}
    if np.sum(b) > 0:
        d = {**d, "a": np.sin(d["a"])}
    return np.sum(a * 2.0 + b) + np.sum(d["a"]) * d["k"]


def comprehended(x, W):
    params = {"w": x * 1.0, "v": W @ x}
    for it in range(2):
        grads = {k: np.tanh(W @ v) for k, v in params.items()}
        params = {k: v - 0.1 * grads[k] * np.sum(v) for k, v in params.items()}
    d = {f"w{i}": x * (i + 1.0) for i in range(3)}
    e = {k: d[k] ** 2 for k in d if k != "w1"}
    return sum(np.sum(v**2) for v in params.values()) + np.sum(e["w2"]) * len(e)


def copies(x, W):
    d = {"a": x, "b": W @ x}
    e = dict(d)
    e["a"] = e["a"] * 3.0
    g = d.copy()
    g["b"] = np.sin(g["b"])
    xs = [x, 2.0]
    ys = list(xs)
    ys[1] = 5.0
    zs = xs.copy()
    zs[0] = zs[0] + 1.0
    return np.sum(d["a"] + e["a"] + g["b"] + d["b"]) + xs[1] * ys[1] + np.sum(zs[0] * xs[0])


def list_changes(x, W):
    a = [x[0]]
    a.extend([x[1], (W @ x)[2] * 2.0])
    a.insert(0, np.sin(x[0]))
    last = a.pop()
    return sum(a) * last + len(a)


def a_list_of_dicts(x, W):
    xs = [{"a": x * 2.0} for i in range(3)]
    return np.sum(xs[2]["a"])


def an_item_of_a_filled_list(x, W):
    xs = [x[i] * 2.0 for i in range(3)]
    xs[0] = 5.0
    return sum(xs)


def comprehension_scopes(x, W):
    v = x * 1.0
    params = {"a": W @ x, "b": np.sin(x)}

    def scaled(z):
        return z * v  # f's v, not the comprehension's

    fs = {k: (lambda z: z * v) for k, v in params.items()}  # the comprehension's last v
    gs = {k: (lambda z, v=v: z * v) for k, v in params.items()}  # each its own v
    e = {k: scaled(v) for k, v in params.items()}
    ys = [x[0]][:]
    ys.append(v[1])  # (a slice of a list is a new list)
    return np.sum(fs["a"](x)) + np.sum(gs["a"](x)) + np.sum(e["a"]) + np.sum(v) + sum(ys)


def heads(x, W):  # slice objects, as attention code cuts heads
    q = np.outer(x, W @ x)
    out = 0.0
    for h in range(3):
        sl = slice(h, h + 1)
        out = out + np.sum(np.tanh(q[:, sl] @ q[sl, :]))
    return out + np.sum(q[slice(2)])


def keys_at_run_time(x, W):
    d = {k: x * k for k in (1.0, 2.0) if np.sum(x) > k}
    return np.sum(d[1.0])


def appends_to_the_callers(p):
    p["hist"].append(p["w"])
    return np.sum(p["w"]) * len(p["hist"])


def the_callers(p):
    p["w"] = p["w"] * 2.0
    return np.sum(p["w"])


def in_a_branch(x, W):
    p = {"w": x * 1.0}
    if np.sum(x) > 0:
        p["w"] = W @ x
    return np.sum(p["w"])


def held_twice(x, W):
    p = {"w": x * 1.0}
    q = p
    for i in range(2):
        p["w"] = W @ p["w"]
    return np.sum(q["w"])


def updated(x, W):
    p = {"w": x * 1.0}
    p["w"] += W @ x
    return np.sum(p["w"])


def keys_in_other_orders(x, W):
    d = {"a": x, "b": W @ x} if np.sum(x) > 0 else {"b": x, "a": W @ x}
    return sum(k * np.sum(v) for k, v in enumerate(d.values()))


def other_lengths(x, W):
    a = (x, W @ x) if np.sum(x) > 0 else (x,)
    return np.sum(a[0])
"""

CARRIED = ["lstm", "named", "named_methods", "steps", "tested", "branches", "nested"]
USED = [
    "cache",
    "items",
    "spread",
    "sgd",
    "chosen",
    "comprehended",
    "copies",
    "list_changes",
    "comprehension_scopes",
    "heads",
]
W = np.array([[0.5, 0.1, 0.0], [0.2, 0.4, -0.3], [0.0, 0.3, 0.6]])
X = np.array([0.3, -1.4, 2.0])


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    return load_module(tmp_path_factory.mktemp("containers"), SOURCE)


@pytest.mark.parametrize("name, backend", on_backends(CARRIED + USED, ["lstm", "named", "nested"]))
def test_containers_as_ordinary_code_uses_them(m, name, backend):  # (Numba: the loops carrying
    # the leaves of containers; the others are the primitives they are made of, after lowering)
    f = getattr(m, name)
    for x in (X, -X, X[::-1]):
        assert symgrad.jit(f, backend=backend)(x, W) == pytest.approx(f(x, W), rel=1e-12)
        symgrad.check_grads(f, (x, W), modes=("rev", "fwd"), backend=backend)


def test_the_carried_leaves_are_named_after_the_container(m):
    g = symgrad.grad(m.lstm)
    g(X, np.eye(3))
    assert "state_0 = np.tanh(c2)" in g.source and "state_1 = c2" in g.source


@pytest.mark.parametrize(
    "name, match",
    [
        ("grows", r"binds 'st' to a tuple of 2, where it held a tuple of 1 before it"),
        ("drops", r"binds 'st' to a dict of 1, where it held a dict of 2 before it"),
        # the dict rebuilt with its keys in the body's order took them in the first one's
        ("reordered", r"binds 'st' to a dict of its keys in another order than before it"),
        # (it said "binds 'st' to a Unbound")
        ("changed_through_a_name", r"'st' may share memory with a, which line \d+ changes"),
        ("in_a_branch", r"assigning to an item of the dict p is supported where the function"),
        ("held_twice", r"in a loop that carries it, where nothing else holds it"),
        ("updated", r"`p\['w'\] op= \.\.\.` of an array in a dict is not supported"),
        ("other_lengths", r"a branch gives the value a tuple"),
        ("keys_at_run_time", r"a dict comprehension's if decides on a value known only when"),
        # (it said "the function must return one array or number (it returns a dict)")
        ("a_list_of_dicts", r"a loop that fills a list appends arrays and numbers; this one"),
        # (it said "only arrays the function created can be assigned to element by element")
        ("an_item_of_a_filled_list", r"assigning to an item of xs, a list a loop filled"),
        ("keys_in_other_orders", r"a branch gives the value a dict"),  # (iterated in order)
    ],
)
def test_what_cannot_be_modelled_is_refused(m, name, match):
    with pytest.raises(symgrad.UnsupportedSyntaxError, match=match):
        symgrad.grad(getattr(m, name))(X, W)


def test_the_callers_list_is_not_grown_behind_its_back(m):
    # the append went to symgrad's copy: len(hist) stayed 0, where Python's grows each call
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="an argument's or a global's list"):
        symgrad.jit(m.appends_to_the_callers)({"w": X, "hist": []})


def test_the_callers_dict_is_not_changed_behind_its_back(m):
    # Python changes the caller's dict; symgrad's gradient would not: refused, naming it
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="an argument's or a global's dict"):
        symgrad.grad(m.the_callers)({"w": X})


def test_values_a_loop_carries_that_only_each_other_need_go_together(make_fn):
    # the recomputed loop dropped b (no item read) before acc, whose next value reads b:
    # "could not specialise ... (KeyError: 3)", the module for any shapes run instead
    m = make_fn(
        """
        def f(x):
            a, b = x, 2.0 * x
            acc = 0.0
            for t in range(2):
                w = 1.0
                for v in (a, b):
                    acc = acc + w * np.sum(v)
                    w = 10.0
                a, b = a, b
            return acc
        """
    )
    x = np.array([1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.allclose(symgrad.grad(m.f)(x), [42.0, 42.0])
    symgrad.check_grads(m.f, (x,), modes=("rev", "fwd"))
