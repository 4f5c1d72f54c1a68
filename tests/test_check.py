"""SymPy's verdicts: the rule table proved, wrong rules caught, and users' functions checked."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import symgrad
from symgrad.checks.rules_report import FAILED, POINTS, SYMBOLIC, RulesReport
from symgrad.rules import RULES, ops, orthogonal
from symgrad.rules.decompositions import _inverse_gaps, _swap

RULES_PAGE = Path(__file__).parents[1] / "docs" / "rules.md"
RNG = np.random.default_rng(0)


PAGE = RULES_PAGE.read_text().splitlines()
STALE = "docs/rules.md is out of date: `symgrad verify-rules --markdown docs/rules.md`"


# One test per rule, so pytest-xdist spreads the proofs over its workers with the rest of the
# suite; with the next test, the same as comparing the whole page with `verify_rules()`'s.
@pytest.mark.parametrize("name", sorted(RULES))
def test_the_rule_is_proved_and_its_docs_row_is_current(name):
    report = symgrad.verify_rules([name])
    assert report.ok, f"failed: {report.failed}; unverified: {report.unverified}\n{report}"
    row = report.to_markdown().splitlines()[-1]
    assert [line for line in PAGE if line.startswith(f"| `{name}` |")] == [row], STALE


def test_the_docs_page_is_the_table_of_every_rule_in_order():
    head = RulesReport([]).to_markdown().splitlines()
    assert PAGE[: len(head)] == head, STALE
    rows = [re.match(r"\| `([^`]+)` \|", line) for line in PAGE[len(head) :]]
    assert all(rows) and [m[1] for m in rows] == sorted(RULES), STALE


def _svd_vjp_flipped(g, a, part):
    """svd's VJP with B[U]'s J + Jᵀ written J − Jᵀ (proved at exact points, `rational_svd`)."""
    if part != 0:
        return orthogonal._svd_vjp(g, a, part)
    u, s, vh = orthogonal._factors(a)
    j = _inverse_gaps(s * s) * (_swap(u) @ g)
    inner = (j - _swap(j)) * s[..., None, :]
    return (u @ inner + (g - u @ (_swap(u) @ g)) / s[..., None, :]) @ vh


@pytest.mark.parametrize(
    "name, param, wrong, method",
    [
        ("tanh", "x", lambda g, ans: g * (1 - ans), SYMBOLIC),  # a factor missing
        ("flip", "m", lambda g: g, SYMBOLIC),  # structural: the reversal missing
        ("sum", "a", lambda g, a: 2 * g + 0 * a, SYMBOLIC),
        ("maximum", "x1", lambda g, x1, x2: g * (x1 < x2), POINTS),  # the mask inverted
        ("lgamma", "x", lambda g, x: g * ops.polygamma(x, n=1), SYMBOLIC),  # a numeric helper
        ("svd", "a", _svd_vjp_flipped, POINTS),  # one sign flipped
    ],
)
def test_a_wrong_rule_fails_and_is_named(monkeypatch, name, param, wrong, method):
    assert symgrad.verify_rules([name]).checks[0].method == method
    monkeypatch.setitem(RULES[name].vjp, param, wrong)
    report = symgrad.verify_rules([name])
    assert not report.ok and report.failed == [name]
    assert report.checks[0].method == FAILED and name in str(report)


@pytest.mark.parametrize(
    "name, param, wrong, method",
    [
        ("tanh", "x", lambda t, ans: t * (1 - ans), SYMBOLIC),  # a factor missing
        ("flip", "m", lambda t: t, SYMBOLIC),  # structural: the reversal missing
        ("maximum", "x1", lambda t, x1, x2: t * (x1 < x2), POINTS),  # the mask inverted
    ],
)
def test_a_wrong_forward_rule_fails_and_is_named(monkeypatch, name, param, wrong, method):
    assert symgrad.verify_rules([name]).checks[0].jvp == method
    monkeypatch.setitem(RULES[name].jvp, param, wrong)
    report = symgrad.verify_rules([name])
    assert not report.ok and report.failed == [name]
    check = report.checks[0]
    assert (check.method, check.jvp) == (method, FAILED) and "JVP" in str(report)


def mlp(W1, b1, W2, x):
    h = np.maximum(W1 @ x + b1, 0.0)
    return np.sum(np.tanh(W2 @ h) ** 2) + 0.1 * np.max(h)


def test_check_passes_on_a_correct_gradient_with_both_oracles():
    args = (
        RNG.standard_normal((3, 2)),
        RNG.standard_normal(3),
        RNG.standard_normal((2, 3)),
        RNG.standard_normal(2),
    )
    report = symgrad.check(mlp, *args, argnums=(0, 1, 2))
    assert report.ok, str(report)
    assert [(c.name, c.status) for c in report.checks] == [
        ("numeric", "passed"),
        ("symbolic", "passed"),
    ]
    assert "decided at the given arguments" in str(report)  # the relu masks
    assert "mlp(W1, b1, W2, x) with respect to W1, b1, W2: ok" in str(report)
    assert repr(report).startswith("<CheckReport mlp(")


def test_check_fails_when_the_emitted_gradient_is_wrong(monkeypatch):
    monkeypatch.setitem(RULES["tanh"].vjp, "x", lambda g, ans: g * (1 - ans))

    def f(x):
        return np.sum(np.tanh(x) * x)

    report = symgrad.check(f, RNG.standard_normal(3))
    assert not report.ok
    assert [c.status for c in report.checks] == ["FAILED", "FAILED"], str(report)


def test_check_skips_symbolic_on_large_inputs_and_says_why():
    def f(x):
        return np.sum(np.sin(x))

    report = symgrad.check(f, RNG.standard_normal((10, 10)))
    assert report.ok and report.checks[1].status == "skipped"
    assert "100 entries" in report.checks[1].detail


def test_check_accepts_decorated_functions_and_python_floats():
    @symgrad.grad(argnums=(0, 1))
    def f(a, b):
        return a * np.exp(b) / (1.0 + a * a)

    report = symgrad.check(f, 0.7, -0.3, argnums=(0, 1))
    assert report.ok and report.checks[1].status == "passed", str(report)


def test_check_raises_symgrad_errors_for_source_it_cannot_compile():
    def f(x):
        try:
            return np.sum(x)
        except ValueError:
            return 0.0

    with pytest.raises(symgrad.SymgradError, match="try"):
        symgrad.check(f, np.ones(3))


@pytest.mark.parametrize(
    "options", [{"modes": ()}, {"modes": ("sideways",)}, {"directions": 0}, {"order": 0}]
)
def test_check_grads_refuses_to_check_nothing(options):
    """Each of these passed without checking anything, whatever the derivative."""
    with pytest.raises(symgrad.SymgradError, match="check nothing"):
        symgrad.check_grads(np.sin, (np.ones(3),), **options)


def _scaled(x, n):
    return np.sum(x) * n


def test_check_grads_and_check_of_missing_arguments_are_symgrad_errors():
    """The function's own TypeError reached the caller (grad says "bad arguments")."""
    with pytest.raises(symgrad.SymgradError, match="bad arguments for _scaled"):
        symgrad.check_grads(_scaled, (np.ones(2),))
    with pytest.raises(symgrad.SymgradError, match="bad arguments for _scaled"):
        symgrad.check(_scaled)
