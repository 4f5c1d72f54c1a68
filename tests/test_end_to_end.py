"""Composed functions differentiated end to end and checked against central differences."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from tests.fixtures import models

rng = np.random.default_rng(42)


def r(*shape):
    return rng.standard_normal(shape)


CASES = {
    "mlp_bce": (
        models.mlp_bce,
        lambda: (r(5, 8), r(8), r(8, 1), r(1), r(16, 5), rng.integers(0, 2, (16, 1)).astype(float)),
        (0, 1, 2, 3),
    ),
    "layer_norm": (models.layer_norm, lambda: (r(4, 6), r(6), r(6)), (0, 1, 2)),
    "softmax_cross_entropy": (
        models.softmax_cross_entropy,
        lambda: (r(5, 4), np.eye(4)[rng.integers(0, 4, 5)]),
        (0,),
    ),
    "bias_broadcast": (models.bias_broadcast, lambda: (r(3, 4), r(4), r(3, 1)), (0, 1, 2)),
    "tuples_and_kwargs": (models.tuples_and_kwargs, lambda: (r(3, 3), r(3, 3)), (0, 1)),
    "methods_and_attrs": (models.methods_and_attrs, lambda: (r(4, 4),), (0,)),
    "logsumexp_by_hand": (models.logsumexp_by_hand, lambda: (r(7),), (0,)),
    "shapes_used_at_runtime": (models.shapes_used_at_runtime, lambda: (r(3, 2, 2), 3), (0,)),
    "reuse": (models.reuse, lambda: (r(5),), (0,)),
    "nondifferentiable_parts": (
        models.nondifferentiable_parts,
        lambda: (r(4, 5), rng.integers(0, 5, 4)),
        (0,),
    ),
    "gaussian_nll": (models.gaussian_nll, lambda: (r(3), r(3, 3), r(6, 3)), (0, 1, 2)),
    "attention": (models.attention, lambda: (r(4, 3), r(5, 3), r(5, 2)), (0, 1, 2)),
    "pairwise": (models.pairwise, lambda: (r(4, 3), r(5, 3)), (0, 1)),
    "joins": (models.joins, lambda: (r(2, 3), r(2, 3)), (0, 1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_central_differences(name):
    f, make_args, argnums = CASES[name]
    symgrad.check_grads(f, make_args(), argnums)


def test_value_and_grad_returns_the_value_and_the_gradients():
    W1, b1, W2, b2, X = r(5, 8), r(8), r(8, 1), r(1), r(16, 5)
    y = rng.integers(0, 2, (16, 1)).astype(float)
    value, (dW1, db1) = symgrad.value_and_grad(models.mlp_bce, argnums=(0, 1))(W1, b1, W2, b2, X, y)
    assert value == pytest.approx(models.mlp_bce(W1, b1, W2, b2, X, y))
    assert dW1.shape == W1.shape and db1.shape == b1.shape


def test_softmax_cross_entropy_gradient_is_softmax_minus_target():
    logits, onehot = r(5, 4), np.eye(4)[rng.integers(0, 4, 5)]
    g = symgrad.grad(models.softmax_cross_entropy)(logits, onehot)
    s = np.exp(logits - logits.max(1, keepdims=True))
    s /= s.sum(1, keepdims=True)
    np.testing.assert_allclose(g, (s - onehot) / 5, rtol=1e-10, atol=1e-12)
