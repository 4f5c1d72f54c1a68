"""Forward mode: every primitive's JVP against central differences and against its VJP,
generated from the rule table's examples; the API's conventions; what the emitted code reads like.
"""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from symgrad.checks.examples import example_function, parse_example, sample
from symgrad.rules import BY_METHOD, RULES
from symgrad.rules.table import BY_CALLABLE
from tests.conftest import moved

USER_FACING = sorted({*BY_CALLABLE.values(), *BY_METHOD.values(), "getitem", "split_part"})
EXAMPLES = [(name, ex) for name in sorted(RULES) for ex in RULES[name].examples]
IDS = [f"{n}: {e}" for n, e in EXAMPLES]


def _setup(example: str, seed: int = 0):
    expr, inputs = parse_example(example)
    f = example_function(expr, inputs)
    rng = np.random.default_rng(seed)
    args = [sample(i, rng) for i in inputs]
    tangents = [
        (float(rng.standard_normal()) if i.shape == "f" else rng.standard_normal(i.dims))
        if i.differentiable
        else None
        for i in inputs
    ]
    return f, args, tangents, rng


def test_every_rule_with_a_backward_function_has_a_forward_one():
    missing = [n for n in USER_FACING if RULES[n].vjp and not RULES[n].jvp]
    assert not missing, f"differentiable rules without a JVP: {missing}"
    mismatched = {
        n: (sorted(r.vjp), sorted(r.jvp)) for n, r in RULES.items() if set(r.vjp) - set(r.jvp)
    }
    assert not mismatched, f"inputs the VJP differentiates and the JVP does not: {mismatched}"


@pytest.mark.parametrize("name, example", EXAMPLES, ids=IDS)
def test_jvp_matches_central_differences_and_the_vjp(name, example):
    f, args, tangents, rng = _setup(example)
    out, out_dot = symgrad.jvp(f, tuple(args), tuple(tangents))
    expected = f(*args)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    assert np.shape(out_dot) == np.shape(expected)
    assert np.asarray(out_dot).dtype == np.asarray(expected).dtype
    eps = 1e-6
    numeric = (np.asarray(f(*moved(args, tangents, eps))) - f(*moved(args, tangents, -eps))) / (
        2 * eps
    )
    np.testing.assert_allclose(out_dot, numeric, rtol=1e-5, atol=1e-7)

    # ⟨ct, J t⟩ from forward mode is ⟨vjpᵀ(ct), t⟩ from reverse mode
    ct = rng.standard_normal(np.shape(expected))
    _, vjp_fn = symgrad.vjp(f, *args)
    cts = vjp_fn(ct)
    forward_side = float(np.sum(ct * out_dot))
    reverse_side = sum(
        float(np.sum(c * t)) for c, t in zip(cts, tangents) if t is not None and c is not None
    )
    assert forward_side == pytest.approx(reverse_side, rel=1e-9, abs=1e-10)


def test_jvp_conventions_follow_jax():
    def f(x, n, y):
        return x * y + n

    x, y = np.array([1.0, 2.0], dtype=np.float32), 3.0
    out, out_dot = symgrad.jvp(f, (x, 4, y), (np.array([1.0, 0.5]), None, 2.0))
    np.testing.assert_allclose(out_dot, [1.0 * 3 + 1.0 * 2, 0.5 * 3 + 2.0 * 2])
    assert out_dot.dtype == np.float32 and out_dot.shape == (2,)
    # None for a float argument: a zero tangent, and nothing computed for it
    _, only_x = symgrad.jvp(f, (x, 4, y), (np.ones(2), None, None))
    np.testing.assert_allclose(only_x, [3.0, 3.0])
    with pytest.raises(symgrad.SymgradError, match="shape"):
        symgrad.jvp(f, (x, 4, y), (np.ones(3), None, 1.0))
    with pytest.raises(symgrad.SymgradError, match="3 primals but 2 tangents"):
        symgrad.jvp(f, (x, 4, y), (np.ones(2), None))


def test_jvp_of_an_output_that_does_not_depend_on_the_input_is_zero():
    def f(x, y):
        return np.sum(y) + 0.0 * np.argmax(x)

    out, out_dot = symgrad.jvp(f, (np.ones(3), np.ones(2)), (np.ones(3), None))
    assert out == 2.0 and out_dot == 0.0


def test_relu_abs_and_max_at_their_kinks_follow_jax():
    def relu(x):
        return np.maximum(x, 0.0)

    def absolute(x):
        return np.abs(x)

    def peak(x):
        return np.max(x)

    zero = np.zeros(2)
    assert np.all(symgrad.jvp(relu, (zero,), (np.ones(2),))[1] == 0.0)  # jax.nn.relu
    assert np.all(symgrad.jvp(absolute, (zero,), (np.ones(2),))[1] == 1.0)  # lax.abs
    tie = np.array([1.0, 1.0, 0.0])  # reduce_max: the tangent averaged over ties
    assert symgrad.jvp(peak, (tie,), (np.array([1.0, 3.0, 5.0]),))[1] == 2.0
    # and reverse mode agrees at the kinks
    assert np.all(symgrad.grad(lambda_sum(relu))(zero) == 0.0)
    assert np.all(symgrad.grad(lambda_sum(absolute))(zero) == 1.0)


def lambda_sum(inner):
    def total(x):
        return np.sum(inner(x))

    total.__globals__[inner.__name__] = inner
    return total


def model(W, b, x):
    z = np.tanh(W @ x + b)
    return np.sum(z * z)


def test_emitted_jvp_source_reads_like_the_function():
    source = symgrad.Compiled(model, (0, 1), "jvp").source
    body = source[source.index("def jvp_model") :]
    assert body == (
        "def jvp_model(W, b, x, W_dot, b_dot):\n"
        "    z = np.tanh(W @ x + b)\n"
        "    z_dot = (W_dot @ x + b_dot) * (1 - z ** 2)\n"
        "    out = np.sum(z * z)\n"
        "    out_dot = _fit(np.sum(2 * (z_dot * z)), out)\n"
        "    return (out, out_dot)\n"
    )
    assert '"""Jacobian-vector product of model(W, b, x) with respect to W, b.' in source
    assert symgrad.emit_module(model, argnums=(0, 1), kind="jvp") == source


def test_linearize_gives_the_same_tangents_and_the_source():
    rng = np.random.default_rng(1)
    W, b, x = rng.standard_normal((3, 2)), rng.standard_normal(3), rng.standard_normal(2)
    out, f_jvp = symgrad.linearize(model, W, b, x)
    tW, tb, tx = rng.standard_normal((3, 2)), rng.standard_normal(3), rng.standard_normal(2)
    expected = symgrad.jvp(model, (W, b, x), (tW, tb, tx))
    assert out == expected[0] and f_jvp(tW, tb, tx) == pytest.approx(expected[1])
    assert "def jvp_model(W, b, x, W_dot, b_dot, x_dot):" in f_jvp.source


def test_linearize_takes_none_as_a_zero_tangent_as_jvp_does():
    """(A Python float's None tangent was `float(None)`'s TypeError.)"""
    x = np.array([0.5, -0.3])
    out, f_jvp = symgrad.linearize(cubed_scaled, x, 2.5)
    assert f_jvp(np.ones(2), None) == pytest.approx(
        symgrad.jvp(cubed_scaled, (x, 2.5), (np.ones(2), None))[1]
    )
    assert f_jvp(None, 1.0) == pytest.approx(np.sum(x**3))


def cubed_scaled(x, c):
    return np.sum(x**3) * c


def test_jvp_through_a_rule_without_a_forward_rule_says_so(monkeypatch):
    monkeypatch.setattr(RULES["tanh"], "jvp", {})

    def f(x):
        return np.tanh(x)

    with pytest.raises(symgrad.NotDifferentiableError, match="forward-mode"):
        symgrad.jvp(f, (np.ones(2),), (np.ones(2),))


def test_repeated_calls_skip_binding_and_casting_only_where_the_arguments_allow():
    """A jvp, linearize or vjp_fn called again with arguments of the same types runs the
    module it specialised directly; a tangent that needs a cast, a tangent or cotangent of
    another shape, a length-deciding int of another value each take the full path."""

    def f(x, n, y):
        return np.sum(x[:n] ** 2) * y

    x32, x64 = np.arange(4.0, dtype=np.float32), np.arange(4.0)
    for _ in range(2):  # a float64 tangent of a float32 array: cast on every call
        out, out_dot = symgrad.jvp(f, (x32, 3, 2.0), (np.ones(4), None, 0.0))
        assert out_dot.dtype == np.float32 and out_dot == 2 * 2 * (0 + 1 + 2)
    for n in (3, 3, 2, 4, 2):  # n decides a length: its value is part of the key
        out, out_dot = symgrad.jvp(f, (x64, n, 2.0), (np.ones(4), None, 1.0))
        assert out == 2 * np.sum(x64[:n] ** 2)
        assert out_dot == 2 * 2 * np.sum(x64[:n]) + np.sum(x64[:n] ** 2)
    assert len(symgrad.transforms._FAST[(f, "numpy")].entries) == 3  # (one per length)
    for y in (np.float64(2.0), np.float64(3.0)):  # a NumPy float (an earlier result): learnt
        out, out_dot = symgrad.jvp(f, (x64, 3, y), (np.ones(4), None, 1.0))
        assert out == y * 5 and out_dot == y * 2 * 3 + 5 and type(out) is np.float64
    assert len(symgrad.transforms._FAST[(f, "numpy")].entries) == 4
    with pytest.raises(symgrad.SymgradError, match="shape"):  # after fast calls: still checked
        symgrad.jvp(f, (x64, 2, 2.0), (np.ones(3), None, 1.0))
    out, f_jvp = symgrad.linearize(f, x64, 3, 2.0)
    for t in (1.0, 1.0, 0.5):
        assert f_jvp(np.ones(4), None, t) == 2 * 2 * 3 + 5 * t
    _, vjp_fn = symgrad.vjp(f, x64, 3, 2.0)
    for ct in (1.0, 1.0, np.float64(2.0), 3):
        dx, dn, dy = vjp_fn(ct)
        assert np.array_equal(dx, ct * 2 * 2 * np.array([0, 1, 2, 0])) and dn is None
        assert dy == 5 * ct
    with pytest.raises(symgrad.SymgradError, match="shape"):
        vjp_fn(np.ones(2))
