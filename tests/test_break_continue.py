"""`break` and `continue` in for and while loops: gradients in both modes, source, refusals."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from symgrad.frontend import lower
from symgrad.ir import to_text
from symgrad.ir.verify import verify
from symgrad.passes import reverse
from tests.conftest import load_module

RNG = np.random.default_rng(4)

JUMPS = """
EARLY = True


def capped(x, limit):
    s = 0.0
    for i in range(len(x)):
        s = s + x[i] ** 2
        if s > limit:
            break
    return s


def capped_n(x, limit, n):
    s = 0.0
    for i in range(n):
        s = s + np.sin(x[i]) * x[i]
        if s > limit:
            break
    return s


def skip_negative(x):
    s = 0.0
    for i in range(len(x)):
        if x[i] < 0:
            continue
        s = s + np.exp(0.5 * x[i]) * x[i]
    return s


def skip_and_stop(x, limit):
    s = 0.0
    for i in range(len(x)):
        if x[i] < 0:
            continue
        s = s + x[i] ** 3
        if s > limit:
            break
        s = s * 1.1
    return s


def newton(a, tol):
    x = a
    while True:
        x_new = 0.5 * (x + a / x)
        err = np.max(np.abs(x_new - x))
        x = x_new
        if err < tol:
            break
    return np.sum(x)


def while_with_break(x, limit):
    s = x
    k = 0
    while k < 10:
        s = np.tanh(s) + 0.5 * x
        k = k + 1
        if np.sum(s) > limit:
            break
    return np.sum(s ** 2)


def while_with_continue(x):
    s = 0.0
    k = 0
    while k < len(x):
        k = k + 1
        if x[k - 1] < 0:
            continue
        s = s + np.sin(x[k - 1])
    return s


def nested(A, v, n):
    total = 0.0
    for i in range(n):
        u = v
        for j in range(8):
            u = np.tanh(A @ u)
            if np.sum(u) > 0.5:
                break
        if np.sum(A[i]) < -1.0:
            continue
        total = total + np.sum(u * A[i])
    return total


def elif_else(x):
    s = 0.0
    for i in range(len(x)):
        if x[i] > 1.5:
            s = s + x[i] ** 2
        elif x[i] < -1.0:
            break
        else:
            s = s + np.cos(x[i])
            continue
        s = s * 0.9
    return s


def deep(x, limit):
    s = 0.0
    for i in range(len(x)):
        if x[i] > 0:
            if s > limit:
                break
            s = s + x[i]
        s = s * 1.05 + x[i] ** 2
    return s


def deep_continue(x, w):
    acc = np.zeros_like(w)
    for i in range(len(x)):
        if x[i] > -1.0:
            if x[i] > 1.0:
                continue
            acc = acc + w * x[i]
        acc = np.tanh(acc)
    return np.sum(acc ** 2)


def on_argument(x, early):
    s = 0.0
    for i in range(len(x)):
        s = s + np.sin(x[i])
        if early:
            break
    return s


def on_constant(x):
    s = 0.0
    for i in range(len(x)):
        s = s + np.sin(x[i])
        if EARLY:
            break
    return s


def on_carried_flag(x, n):
    s = 0.0
    done = False
    for i in range(n):
        if done:
            break
        s = s + x[i] ** 2
        done = s > 1.0
    return s


def rows(X, w, limit):
    s = 0.0
    for row in X:
        s = s + np.tanh(row @ w)
        if s > limit:
            break
    return s


def enumerated(X, w):
    s = np.zeros_like(w)
    for i, row in enumerate(X):
        if np.sum(row) < 0:
            continue
        s = s + row * w * (i + 1)
    return np.sum(s ** 2)


def zipped(X, Y, w, limit):
    s = 0.0
    for x, y in zip(X, Y):
        s = s + np.sum((x * w - y) ** 2)
        if s > limit:
            break
    return s


def static_list(W1, W2, W3, x):
    for k, W in enumerate((W1, W2, W3)):
        if k == 0:
            continue
        x = np.tanh(W @ x)
        if k == 1:
            break
    return np.sum(x)


def appended(x, limit):
    ys = []
    s = 0.0
    for i in range(len(x)):
        s = s + x[i] ** 2
        ys.append(s * x[i])
        if s > limit:
            break
    return np.sum(np.stack(ys))


def past_the_end(x, n):
    s = 0.0
    for i in range(n):
        s = s + x[i] ** 2
        if i == len(x) - 1:
            break
    return s


def always(x, n):
    s = x
    for i in range(n):
        s = np.sin(s) * 2.0
        break
    return np.sum(s)
"""


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    return load_module(tmp_path_factory.mktemp("jumps"), JUMPS)


def normal(*shape):
    return RNG.standard_normal(shape)


X5 = np.array([0.4, -0.7, 1.2, 0.3, -0.2])
CASES = {
    "capped": ("capped", lambda: (X5, 1.5), 0),
    "capped_first_iteration": ("capped", lambda: (X5, 0.01), 0),
    "capped_never": ("capped", lambda: (X5, 100.0), 0),
    "capped_n_0": ("capped_n", lambda: (X5, 1.0, 0), 0),
    "capped_n_1": ("capped_n", lambda: (X5, 1.0, 1), 0),
    "capped_n_5": ("capped_n", lambda: (X5, 0.6, 5), 0),
    "skip_negative": ("skip_negative", lambda: (X5,), 0),
    "skip_and_stop": ("skip_and_stop", lambda: (np.array([0.5, -1.0, 0.9, 1.1, 0.4]), 1.0), 0),
    "skip_and_stop_never": ("skip_and_stop", lambda: (X5, 100.0), 0),
    "newton": ("newton", lambda: (np.array([2.0, 3.0, 5.0]), 1e-12), 0),
    "newton_one_step": ("newton", lambda: (np.array([1.0, 1.0]), 1e-12), 0),
    "while_with_break": ("while_with_break", lambda: (np.array([0.3, 0.2, 0.4]), 1.0), 0),
    "while_with_break_never": ("while_with_break", lambda: (np.array([0.3, 0.2]), 50.0), 0),
    "while_with_continue": ("while_with_continue", lambda: (X5,), 0),
    "nested": ("nested", lambda: (normal(3, 3) * 0.8, normal(3), 3), (0, 1)),
    "elif_else": ("elif_else", lambda: (np.array([2.0, 0.3, 1.8, -0.4, -1.5, 2.2]),), 0),
    "deep": ("deep", lambda: (np.array([0.5, -0.3, 0.8, 0.9, 0.2]), 1.0), 0),
    "deep_continue": ("deep_continue", lambda: (np.array([0.5, 1.5, -2.0, 0.2]), normal(3)), 1),
    "on_argument_true": ("on_argument", lambda: (X5, True), 0),
    "on_argument_false": ("on_argument", lambda: (X5, False), 0),
    "on_constant": ("on_constant", lambda: (X5,), 0),
    "on_carried_flag": ("on_carried_flag", lambda: (np.array([0.6, 0.5, 0.9, 0.2]), 4), 0),
    "rows": ("rows", lambda: (normal(6, 3), normal(3), 1.0), (0, 1)),
    "enumerated": ("enumerated", lambda: (normal(5, 3), normal(3)), (0, 1)),
    "zipped": ("zipped", lambda: (normal(5, 3), normal(4, 3), normal(3), 4.0), (0, 1, 2)),
    "static_list": (
        "static_list",
        lambda: (normal(3, 3), normal(3, 3), normal(3, 3), normal(3)),
        0,
    ),
    "appended": ("appended", lambda: (X5, 1.0), 0),
    "past_the_end": ("past_the_end", lambda: (np.array([0.5, -1.0, 2.0]), 1000), 0),
    "always_0": ("always", lambda: (normal(3), 0), 0),
    "always_3": ("always", lambda: (normal(3), 3), 0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradients_match_central_differences(case, m):
    name, args, argnums = CASES[case]
    symgrad.check_grads(getattr(m, name), args(), argnums, modes=("rev", "fwd"))


def test_a_break_stops_the_loop_where_python_does(m):
    x = np.array([0.5, 0.7, 0.9, 1.1])
    g = symgrad.grad(m.capped)(x, 0.5)  # 0.25, then 0.74 > 0.5: two iterations
    assert g.tolist() == [1.0, 1.4, 0.0, 0.0]
    assert symgrad.grad(m.capped)(x, 0.1).tolist() == [1.0, 0.0, 0.0, 0.0]
    value, g = symgrad.value_and_grad(m.skip_negative)(X5)
    assert np.isclose(value, m.skip_negative(X5))
    assert np.all(g[X5 < 0] == 0.0)
    out, back = symgrad.vjp(m.newton, np.array([4.0, 9.0]), 1e-12)
    assert np.isclose(out, 5.0)
    assert np.allclose(back(2.0)[0], 2 * 0.5 / np.array([2.0, 3.0]))
    out, tangent = symgrad.jvp(m.capped, (x, 0.5), (np.ones(4), 0.0))
    assert np.isclose(out, 0.74) and np.isclose(tangent, 1.0 + 1.4)


def test_a_for_loop_that_breaks_leaves_at_the_break(m):
    source = symgrad.grad(m.capped).source
    assert (
        "    for i in range(len(x)):\n"
        "        tape.append((i, s))\n"
        "        s_1 = s + x[i] ** 2\n"
        "        s = s_1\n"
        "        if s_1 > limit:\n"
        "            break\n"
    ) in source
    assert "in reversed(tape):" in source
    # range(1000) over 3 entries: one more iteration would read past the end of x
    assert symgrad.grad(m.past_the_end)(np.array([1.0, 2.0, 3.0]), 1000).tolist() == [2, 4, 6]


def test_while_true_reads_as_written(m):
    source = symgrad.grad(m.newton).source
    assert "    while True:\n        tape.append((x,))\n" in source
    assert "        x = x_new\n        if err < tol:\n            break\n" in source
    a = np.array([2.0, 3.0, 5.0])
    assert np.allclose(symgrad.grad(m.newton)(a, 1e-12), 0.5 / np.sqrt(a), atol=1e-12)
    assert "while True:" in symgrad.linearize(m.newton, a, 1e-12)[1].source


def test_continue_becomes_an_else_branch(m):
    source = symgrad.grad(m.skip_negative).source
    assert "        cond = x[i] < 0\n        if cond:\n            s_1 = s\n        else:\n" in (
        source
    )
    assert "break" not in source.split("# backward pass")[0]


def test_a_break_under_continue_sets_a_flag(m):
    source = symgrad.grad(m.skip_and_stop).source.split("# backward pass")[0]
    assert "            stop = False\n" in source
    assert "        if stop:\n            break\n" in source


def test_a_flag_read_before_it_changes_is_tested_as_it_was(m):
    source = symgrad.grad(m.on_carried_flag).source
    assert "        stop = done\n" in source and "        if stop:\n            break\n" in source


def test_emitted_source_does_not_depend_on_the_trip_count(make_fn):
    small = make_fn(JUMPS.replace("range(n)", "range(3)"))
    large = make_fn(JUMPS.replace("range(n)", "range(3000)"))
    pairs = [
        (symgrad.grad(getattr(small, name)).source, symgrad.grad(getattr(large, name)).source)
        for name in ("capped_n", "nested", "past_the_end")
    ]
    pairs.append(tuple(symgrad.linearize(f.capped_n, X5, 1.0, 1)[1].source for f in (small, large)))
    for a, b in pairs:
        a, b = a.split('"""', 2)[2], b.split('"""', 2)[2]
        assert a.replace("range(3)", "range(N)") == b.replace("range(3000)", "range(N)")
        assert "range(3000)" in b and "            break\n" in b


def test_loops_that_break_in_the_ir(m):
    graph = lower(m.skip_and_stop)
    verify(graph)
    loop = next(node for node in graph.nodes() if node.op == "loop")
    assert loop.attrs["breaks"]
    body = loop.attrs["body"]
    assert len(body.outputs) == loop.attrs["n_carried"] + 1  # the carried value, the flag
    assert "= cond" in to_text(graph)
    verify(reverse(graph, [0]))
    always = next(node for node in lower(m.always).nodes() if node.op == "loop")
    assert always.attrs["body"][always.attrs["body"].outputs[-1]].attrs["value"] is True


@pytest.mark.parametrize(
    "body, words",
    [
        ("for i in range(n):\n        continue\n        x = x * 2", "code after continue"),
        (
            "for i in range(n):\n        if x[0] > 0:\n            break\n        else:\n"
            "            continue\n        x = x * 2",
            "code after an if whose every branch",
        ),
        ("while True:\n        x = x * 2", "condition must change"),
        ("while True:\n        x = x * 2\n        if False:\n            break", "never ends"),
        (
            "for w in (x, 2 * x):\n        x = x * w\n        if np.sum(x) > 1:\n            break",
            "break on a runtime value",
        ),
        (
            "for i in range(n):\n        if x[i] > 0:\n            if x[i] > 1:\n"
            "                break\n            y = x * i\n        else:\n            y = x\n"
            "        x = y",
            "'y' is bound in only one branch",
        ),
    ],
)
def test_what_is_still_refused_names_the_construct_and_the_line(make_fn, body, words):
    mod = make_fn(f"def f(x, n):\n    {body}\n    return np.sum(x)\n")
    with pytest.raises(symgrad.SymgradError, match=words) as info:
        symgrad.grad(mod.f).source
    assert info.value.loc is not None and info.value.loc.line >= 4
    assert info.value.loc.file == mod.__file__
