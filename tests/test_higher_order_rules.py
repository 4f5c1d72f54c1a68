"""Second order across the rule table: every example's gradient differentiated again.

For each rule-table example with a float output, the scalar s = Σ w_ ⊙ (example) (w_ a fixed
random weight) is differentiated twice, through the emitted gradient graph: (a) forward over
reverse, `jvp(grad(s, argnums))`, against central differences of `grad(s, argnums)` along the
tangents; (b) reverse over reverse, `vjp(grad(s, k))` with a random cotangent u, against (a):
⟨vjp(u), t⟩ = ⟨u, (H t)ₖ⟩ (the Hessian is symmetric). So every VJP template is checked to be
built from primitives that have VJP and JVP rules themselves, with the right values.
"""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from symgrad.checks.examples import Input, example_function, parse_example, sample
from symgrad.rules import RULES
from tests.conftest import moved

# Examples that are not twice differentiable at their float64 samples, with the reason. (None
# today: kinks such as relu's, abs's or max's are met with probability zero.)
KINKED: dict[str, str] = {}


def _scalar_example(example: str, seed: int = 0):
    """(expr, inputs) of s = Σ w_ ⊙ (example), or None when the example's output is not float or
    it has no differentiable input."""
    expr, inputs = parse_example(example)
    if not any(i.differentiable for i in inputs):
        return None
    rng = np.random.default_rng(seed)
    out = example_function(expr, inputs)(*[sample(i, rng) for i in inputs])
    if np.asarray(out).dtype.kind != "f":
        return None
    *statements, value = (part.strip() for part in expr.split(";"))
    shape = "x".join(str(n) for n in np.shape(out))
    scalar = "; ".join([*statements, f"np.sum(w_ * ({value}))"])
    return scalar, [*inputs, Input("w_", shape, "const")]


EXAMPLES = []
for _name in sorted(RULES):
    for _example in RULES[_name].examples:
        _built = _scalar_example(_example)
        if _built is not None:
            marks = [pytest.mark.skip(reason=KINKED[_example])] if _example in KINKED else []
            EXAMPLES.append(
                pytest.param(_name, _example, *_built, marks=marks, id=f"{_name}: {_example}")
            )


def test_every_differentiable_primitive_differentiates_again():
    """Templates may build any primitive, so one with a backward function but no VJP or JVP of its
    own (a helper) would stop a second derivative that reaches it."""
    open_ends = {
        name: (sorted(rule.vjp), sorted(rule.jvp))
        for name, rule in RULES.items()
        if not rule.nondiff
        and not rule.structured
        and (not rule.vjp or set(rule.vjp) - set(rule.jvp))
    }
    assert not open_ends, f"differentiable rules without a VJP or a JVP per input: {open_ends}"


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _dot(a, b) -> float:
    return float(np.sum(np.asarray(a) * np.asarray(b)))


@pytest.mark.parametrize("name, example, expr, inputs", EXAMPLES)
def test_second_order_matches_central_differences(name, example, expr, inputs):
    s = example_function(expr, inputs)
    rng = np.random.default_rng(0)
    args = [sample(i, rng) for i in inputs]
    argnums = tuple(k for k, i in enumerate(inputs) if i.differentiable)
    tangents = [
        (float(rng.standard_normal()) if i.shape == "f" else rng.standard_normal(i.dims))
        if k in argnums
        else None
        for k, i in enumerate(inputs)
    ]

    # (a) forward over reverse: the tangent of the gradient is H t
    gradient = symgrad.grad(s, argnums)
    grads, grad_dots = (_as_tuple(x) for x in symgrad.jvp(gradient, tuple(args), tangents))
    expected = _as_tuple(gradient(*args))
    for got, want in zip(grads, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    eps = 1e-5
    plus = _as_tuple(gradient(*moved(args, tangents, eps)))
    minus = _as_tuple(gradient(*moved(args, tangents, -eps)))
    for got, p, m in zip(grad_dots, plus, minus, strict=True):
        numeric = (np.asarray(p) - np.asarray(m)) / (2 * eps)
        np.testing.assert_allclose(got, numeric, rtol=1e-4, atol=1e-6)

    # (b) reverse over reverse, for each input k: ⟨Hₖᵀ u, t⟩ = ⟨u, (H t)ₖ⟩
    for j, k in enumerate(argnums):
        u = (
            float(rng.standard_normal())
            if inputs[k].shape == "f"
            else rng.standard_normal(inputs[k].dims)
        )
        _, vjp_fn = symgrad.vjp(symgrad.grad(s, k), *args)
        cts = vjp_fn(u)
        reverse_side = sum(_dot(cts[i], tangents[i]) for i in argnums if cts[i] is not None)
        forward_side = _dot(u, grad_dots[j])
        assert reverse_side == pytest.approx(forward_side, rel=1e-8, abs=1e-9), f"input {k}"
