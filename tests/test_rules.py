"""Every primitive's VJP against central differences, generated from the rule table's examples."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from symgrad.frontend import lower
from symgrad.rules import BY_METHOD, RULES
from symgrad.rules.table import BY_CALLABLE
from tests.conftest import parse_example, sample

USER_FACING = sorted({*BY_CALLABLE.values(), *BY_METHOD.values(), "getitem", "split_part"})
EXAMPLES = [(name, ex) for name in sorted(RULES) for ex in RULES[name].examples]


def test_every_differentiable_user_facing_rule_has_examples():
    missing = [n for n in USER_FACING if RULES[n].vjp and not RULES[n].examples]
    assert not missing, f"rules without examples: {missing}"


@pytest.mark.parametrize("name, example", EXAMPLES, ids=[f"{n}: {e}" for n, e in EXAMPLES])
def test_vjp_matches_central_differences(name, example, make_fn):
    expr, inputs = parse_example(example)
    names = [n for n, _, _ in inputs]
    module = make_fn(f"def f({', '.join(names)}):\n    return {expr}\n")
    rng = np.random.default_rng(0)
    args = [sample(shape, domain, rng) for _, shape, domain in inputs]
    argnums = tuple(k for k, (_, _, d) in enumerate(inputs) if d != "bool")
    symgrad.check_grads(module.f, args, argnums)
    ops = {node.op for node in lower(module.f).nodes()}
    assert name in ops, f"the example does not exercise {name}: {sorted(ops)}"
