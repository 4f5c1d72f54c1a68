"""Large intermediates are freed after their last use in a specialised module (`del`)."""

from __future__ import annotations

import numpy as np

import symgrad
from symgrad.emit.frees import free


def test_a_large_name_is_deleted_after_its_last_statement():
    lines = [
        "a = np.exp(x)",
        "b = a * 2",
        "c = b + a",
        "# backward pass",
        "d = c * x",
        "return d",
    ]
    out = free(lines, {"a", "b", "c", "d", "x"})
    assert out == [
        "a = np.exp(x)",
        "b = a * 2",
        "c = b + a",
        "del a, b",
        "# backward pass",
        "d = c * x",
        "return d",
    ]  # x is a param (never bound here); c dies just before the return, which frees it


def test_names_bound_only_in_a_branch_or_read_by_a_loop_are_kept_to_their_end():
    lines = [
        "a = np.exp(x)",
        "if s:",
        "    t = a + 1",
        "else:",
        "    t = a - 1",
        "    u = t * 2",
        "for i in range(3):",
        "    t = t + a",
        "r = t * 2",
        "q = r + 1",
        "return q",
    ]
    out = free(lines, {"a", "t", "u", "r"})
    assert "del a" in out[out.index("    t = t + a") + 1]
    assert not any(line.startswith("del") and "u" in line for line in out)  # maybe unbound
    assert out.count("del a") == 1 and out.index("del a") < out.index("r = t * 2")


def _mlp(W1, W2, X):
    h = np.log1p(np.exp(X @ W1))  # softplus: its VJP reads exp(X @ W1), not h
    return np.sum((h @ W2) ** 2)


def test_a_large_specialised_gradient_frees_what_it_no_longer_needs():
    rng = np.random.default_rng(0)
    args = (
        rng.standard_normal((64, 600)) / 8,
        rng.standard_normal((600, 2)),
        rng.standard_normal((300, 64)),
    )
    g = symgrad.grad(_mlp, argnums=(0, 1))
    dW1, dW2 = g(*args)
    assert "\n    del h" in g.source  # h (300 x 600 floats) dies before the end
    small = (args[0][:4, :5], args[1][:5], args[2][:3, :4])
    assert "del " not in symgrad.grad(_mlp, argnums=(0, 1)).source  # the polymorphic module
    g(*small)
    assert "del " not in g.source  # small arrays: nothing worth a line
    symgrad.check_grads(_mlp, args, (0, 1))
    assert dW1.shape == (64, 600) and dW2.shape == (600, 2)
