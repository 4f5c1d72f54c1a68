"""Every primitive's VJP against central differences, generated from the rule table's examples."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from symgrad.checks.examples import example_function, parse_example, sample
from symgrad.frontend import lower
from symgrad.rules import BY_METHOD, RULES
from symgrad.rules.table import BY_CALLABLE

USER_FACING = sorted({*BY_CALLABLE.values(), *BY_METHOD.values(), "getitem", "split_part"})
EXAMPLES = [(name, ex) for name in sorted(RULES) for ex in RULES[name].examples]


def test_every_differentiable_user_facing_rule_has_examples():
    missing = [n for n in USER_FACING if RULES[n].vjp and not RULES[n].examples]
    assert not missing, f"rules without examples: {missing}"


@pytest.mark.parametrize("name, example", EXAMPLES, ids=[f"{n}: {e}" for n, e in EXAMPLES])
def test_vjp_matches_central_differences(name, example):
    expr, inputs = parse_example(example)
    f = example_function(expr, inputs)
    rng = np.random.default_rng(0)
    args = [sample(i, rng) for i in inputs]
    argnums = tuple(k for k, i in enumerate(inputs) if i.differentiable)
    symgrad.check_grads(f, args, argnums)
    ops = {node.op for node in lower(f).nodes()}
    assert name in ops, f"the example does not exercise {name}: {sorted(ops)}"


def _nan_ignoring(x):  # fmax/fmin of x and NaN is x: its derivative there is 1
    gaps = np.where(x > 0, np.nan, -2.0 * x)
    return np.sum(np.fmax(x, gaps) * x) + np.sum(np.fmin(gaps, np.sin(x)))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_fmax_and_fmin_give_the_cotangent_to_the_number_beside_a_nan(backend):
    if backend == "numba":
        pytest.importorskip("numba")
    x = np.array([-1.5, -0.3, 0.4, 1.2, 2.0])
    symgrad.check_grads(_nan_ignoring, (x,), modes=("rev", "fwd"), backend=backend)
    want = np.where(x > 0, 2 * x, -4 * x) + np.cos(x)
    np.testing.assert_allclose(symgrad.grad(_nan_ignoring, backend=backend)(x), want)


def _nan_skipping(x):
    return np.sum(np.nansum(np.where(x > 0.5, np.nan, x) ** 2, axis=0) * np.arange(1.0, 4.0))


def test_nansum_passes_no_cotangent_to_a_nan():
    x = np.array([[0.2, -0.7, 1.1], [0.9, 0.4, -1.3]])
    symgrad.check_grads(_nan_skipping, (x,), modes=("rev", "fwd"))
    want = np.where(x > 0.5, 0.0, 2 * x) * np.arange(1.0, 4.0)
    np.testing.assert_allclose(symgrad.grad(_nan_skipping)(x), want, rtol=1e-12)
