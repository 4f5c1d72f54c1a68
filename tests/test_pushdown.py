"""Sums pushed below what they add up, scalings onto a product's smallest operand
(`symgrad.passes.pushdown`): the same values, fewer numbers added or multiplied."""

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


def scaled(g, q):
    return 2.0 * np.einsum("ji,jir->jir", g, q)


def scaled_product(a, b):
    return (a @ b) * 3.0


def scaled_float32(c, a, b):  # a NumPy float64 c scaling float32 operands: float64, not pushed
    return c * (a @ b)


CASES = {
    "batch_rows": (
        batch_rows,
        (RNG.standard_normal((5, 3)), RNG.standard_normal((3, 4))),
        "a.sum(axis=0) @ b",
    ),
    "kept": (
        kept,
        (RNG.standard_normal((6, 2, 3)), RNG.standard_normal((2, 3, 4))),
        "np.einsum('ki,ki->k', a.sum(axis=0), b.sum(axis=2))",
    ),
    "negated": (negated, (RNG.standard_normal((3, 4)),), "-np.exp(a).sum(axis=1)"),
    "shared": (shared, (RNG.standard_normal((5, 3)), RNG.standard_normal((3, 4))), None),
    "scaled": (
        scaled,
        (RNG.standard_normal((2, 5)), RNG.standard_normal((2, 5, 3))),
        "np.einsum('ji,jir->jir', 2.0 * g, q)",
    ),
    "scaled_product": (
        scaled_product,
        (RNG.standard_normal((4, 2)), RNG.standard_normal((2, 6))),
        "a * 3.0 @ b",
    ),
    "scaled_float32": (
        scaled_float32,
        (np.float64(0.5), *(RNG.standard_normal(s).astype(np.float32) for s in ((4, 2), (2, 6)))),
        "c * (a @ b)",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_pushed_sum_or_scaling_computes_the_same_values(case):
    fn, args, pushed = CASES[case]
    f = symgrad.jit(fn)
    got, want = f(*args), fn(*args)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
    assert got.dtype == want.dtype
    if pushed is None:
        assert f.source.count("np.einsum(") + f.source.count(" @ ") == 1, f.source
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
    assert "np.einsum('ki,kij->kj', t2.sum(axis=0)" in g.source, g.source


def test_the_cotangent_of_a_squared_product_scales_the_smaller_operand():
    """GMM's backward `2 * np.einsum('ji,jir->jir', -0.5 * g, Qx)`: the 2 and the -0.5 meet on
    the K x N operand, and no pass over the K x N x D product scales it."""

    def loss(g, q):
        return np.sum(g * np.einsum("jir,jir->ji", q, q))

    args = (RNG.standard_normal((2, 5)), RNG.standard_normal((2, 5, 3)))
    symgrad.check_grads(loss, args, (0, 1))
    g = symgrad.grad(loss, argnums=1)
    g(*args)
    assert "q_bar = np.einsum('ji,jir->jir', 2 * g, q)" in g.source, g.source


def _scaled_square(x, y):
    return np.sum(x * x) + 0.5 * np.sum(x * y)


def test_a_derivatives_sum_of_a_scaled_array_scales_the_total():
    """`np.sum(c * v)` of a number c in a tangent or a cotangent is `c * np.sum(v)`: jvp's
    tangent of `np.sum(x * x)` is `2 * (x_dot * x).sum()`, one pass over the entries fewer.
    The primal's own sum, `0.5 * np.sum(x * y)`, keeps its order of operations (its rounding
    is the function's). Both right against central differences."""
    x, y = RNG.standard_normal(6), RNG.standard_normal(6)
    symgrad.check_grads(_scaled_square, (x, y), (0, 1), modes=("rev", "fwd"))
    artifact = symgrad.Compiled(_scaled_square, (0,), "jvp")._artifact
    source = symgrad.api.specialised(artifact, [x, y, np.ones(6)]).source
    assert "2 * (x_dot * x).sum()" in source and "0.5 * (x * y).sum()" in source, source
    out, out_dot = symgrad.jvp(_scaled_square, (x, y), (np.ones(6), None))
    assert out == _scaled_square(x, y)  # the same operations as the function: the same bits
    np.testing.assert_allclose(out_dot, np.sum(2 * x + 0.5 * y), rtol=1e-13)


def test_a_new_axis_gets_its_cotangent_as_a_plain_sum():
    """The cotangent of `a[:, None]` is `np.sum(b, axis=1)`, not the reshape of a sum that
    kept its axis (`np.reshape(np.sum(b, axis=1, keepdims=True), (3,))`); so for a negation."""

    def plain(a, b):
        return np.sum(a[:, None] * b)

    def negated(a, b):
        return np.sum((b - a[:, None]) * b)

    args = (RNG.standard_normal(3), RNG.standard_normal((3, 4)))
    for fn, want in ((plain, "a_bar = b.sum(axis=1)\n"), (negated, "= -b.sum(axis=1)\n")):
        symgrad.check_grads(fn, args, 0)
        g = symgrad.grad(fn)
        g(*args)
        assert want in g.source and "reshape" not in g.source, g.source


def _stacked_products(Q, x, A, B):
    z = np.einsum("kij,nkj->nki", Q, x)  # Q_k x_n: the batch k, kept i (Q) and n (x), summed j
    p = np.einsum("bji,bkj->bki", A, B)  # operands swapped to keep k before i
    return np.sum(np.tanh(z) ** 2) + np.sum(np.sin(p))


def test_an_einsum_of_stacked_matrices_is_a_batched_matrix_product():
    """NumPy's einsum runs its own loops (6-15x slower than BLAS at GMM's sizes): an einsum of
    stacks of matrices, forward and backward, is `@` between transposes."""
    args = (
        RNG.standard_normal((3, 4, 4)),
        RNG.standard_normal((5, 3, 4)),
        RNG.standard_normal((2, 3, 4)),
        RNG.standard_normal((2, 5, 3)),
    )
    symgrad.check_grads(_stacked_products, args, (0, 1, 2, 3))
    g = symgrad.grad(_stacked_products, argnums=(0, 1, 2, 3))
    g(*args)
    code = "\n".join(s for s in g.source.splitlines() if not s.strip().startswith("#"))
    assert "np.einsum(" not in code and code.count(" @ ") == 6, g.source


def _thin(Q, x):
    return np.sum(np.einsum("kij,kj->ki", Q, x) ** 2)  # one column per stack: einsum's loop


def test_a_product_of_stacks_with_one_column_stays_an_einsum():
    args = (RNG.standard_normal((3, 4, 4)), RNG.standard_normal((3, 4)))
    symgrad.check_grads(_thin, args, (0, 1))
    g = symgrad.grad(_thin, argnums=(0, 1))
    g(*args)
    assert " @ " not in g.source and "np.einsum(" in g.source
