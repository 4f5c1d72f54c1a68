"""Sums pushed below what they add up (`symgrad.passes.pushdown`): the same values, fewer
numbers added."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad

RNG = np.random.default_rng(3)


def batch_rows(a, b):
    return np.sum(np.einsum("ij,jk->ik", a, b), axis=0)


def kept(a, b):
    return np.sum(np.einsum("nki,kij->nkj", a, b), axis=(0, -1), keepdims=True)


def negated(a):
    return np.sum(-np.exp(a), axis=1)


def shared(a, b):  # the einsum is read twice: it is computed once, not pushed
    e = np.einsum("ij,jk->ik", a, b)
    return np.sum(e, axis=0) + e[0]


CASES = {
    "batch_rows": (
        batch_rows,
        (RNG.standard_normal((5, 3)), RNG.standard_normal((3, 4))),
        "np.einsum('j,jk->k', np.sum(a, axis=0), b)",
    ),
    "kept": (
        kept,
        (RNG.standard_normal((6, 2, 3)), RNG.standard_normal((2, 3, 4))),
        "np.einsum('ki,ki->k', np.sum(a, axis=0), np.sum(b, axis=2))",
    ),
    "negated": (negated, (RNG.standard_normal((3, 4)),), "-np.sum(np.exp(a), axis=1)"),
    "shared": (shared, (RNG.standard_normal((5, 3)), RNG.standard_normal((3, 4))), None),
}


@pytest.mark.parametrize("case", CASES)
def test_a_pushed_sum_computes_the_same_values(case):
    fn, args, pushed = CASES[case]
    f = symgrad.jit(fn)
    np.testing.assert_allclose(f(*args), fn(*args), rtol=1e-12, atol=1e-13)
    if pushed is None:
        assert f.source.count("np.einsum(") == 1, f.source
    else:
        assert pushed in f.source, f.source


def test_the_gradient_of_a_centred_product_sums_over_the_batch_first():
    """mu's cotangent of Q_k (x_n - mu_k): the einsum of the batch-summed cotangent (K·D·D
    products), not the batch's einsum summed (N·K·D·D); checked against central differences."""

    def loss(Q, mu, x):
        z = np.einsum("kij,nkj->nki", Q, x[:, None, :] - mu[None, :, :])
        return np.sum(z**2)

    args = (
        RNG.standard_normal((3, 2, 2)),
        RNG.standard_normal((3, 2)),
        RNG.standard_normal((7, 2)),
    )
    symgrad.check_grads(loss, args, (0, 1))
    g = symgrad.grad(loss, argnums=(0, 1))
    g(*args)
    assert "np.einsum('ki,kij->kj', np.sum(" in g.source, g.source
