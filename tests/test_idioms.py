"""Max shifts of log-sum-exps and softmaxes carry no gradient; `symgrad.stop_gradient`."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad


def cross_entropy(z, Y):
    m = np.max(z, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))
    return -np.sum(Y * (z - lse)) / z.shape[0]


def softmax_weighted(z, w):
    m = np.max(z, axis=-1, keepdims=True)
    e = np.exp(z - m)
    p = e / np.sum(e, axis=-1, keepdims=True)
    return np.sum(p * w)


def shift_used_elsewhere(z, w):
    m = np.max(z, axis=-1, keepdims=True)
    e = np.exp(z - m)
    return np.sum(e / np.sum(e, axis=-1, keepdims=True) * w) + np.sum(e)  # sum(e) is not


def lse_of_a_vector(z, w):
    m = np.max(z)
    return np.sum(w * (m + np.log(np.sum(np.exp(z - m)))))


def lse_rows_indexed(z, w):  # the shift's kept axis dropped by indexing: m[:, 0]
    m = np.max(z, axis=1, keepdims=True)
    return np.sum(w[:, 0] * (m[:, 0] + np.log(np.sum(np.exp(z - m), axis=1))))


def lse_columns_squeezed(z, w):  # dropped by np.squeeze
    m = np.max(z, axis=0, keepdims=True)
    return np.sum(w[0] * (np.squeeze(m, axis=0) + np.log(np.sum(np.exp(z - m), axis=0))))


def lse_other_column(z, w):  # m[:, 1] is not the shift of the sum: its gradient stays
    m = np.max(z, axis=1, keepdims=True)
    m2 = np.concatenate([m, 2.0 * m], axis=1)
    return np.sum(w[:, 0] * (m2[:, 1] + np.log(np.sum(np.exp(z - m), axis=1))))


def lse_rows_unkept(z, w):  # without keepdims, m lines up with z's columns: not a shift per row
    m = np.max(z, axis=1)
    return np.sum(w[:, 0] * (m + np.log(np.sum(np.exp(z - m), axis=1))))


def softmax_rows_unkept(z, w):
    m = np.max(z, axis=1)
    e = np.exp(z - m)
    return np.sum(e / np.sum(e, axis=1) * w)


def lse_columns_unkept(z, w):  # axis 0, the leading one: m lines up with z's columns, a shift
    m = np.max(z, axis=0)
    return np.sum(w[0] * (m + np.log(np.sum(np.exp(z - m), axis=0))))


RNG = np.random.default_rng(0)
Z, W = RNG.standard_normal((4, 5)), RNG.standard_normal((4, 5))
SQUARE, SQUARE_W = RNG.standard_normal((4, 4)), RNG.standard_normal((4, 4))
CASES = [
    (cross_entropy, (Z, np.eye(5)[[0, 2, 1, 4]]), True),
    (softmax_weighted, (Z, W), True),
    (shift_used_elsewhere, (Z, W), False),
    (lse_of_a_vector, (Z[0], W[0]), True),
    (lse_rows_indexed, (Z, W), True),
    (lse_columns_squeezed, (Z, W), True),
    (lse_other_column, (Z, W), False),
    (lse_rows_unkept, (SQUARE, SQUARE_W), False),
    (softmax_rows_unkept, (SQUARE, SQUARE_W), False),
    (lse_columns_unkept, (Z, W), True),
]


@pytest.mark.parametrize("f, args, stopped", CASES, ids=[c[0].__name__ for c in CASES])
def test_a_max_shift_gets_no_gradient_where_it_cannot_matter(f, args, stopped):
    symgrad.check_grads(f, args, (0,))
    g = symgrad.grad(f)
    g(*args)
    assert ("z == " not in g.source) == stopped  # the gradient of np.max: a mask of the maxima
    polymorphic = symgrad.grad(f).source
    assert ("z == " not in polymorphic) == stopped


def _scaled(x):
    return np.sum(symgrad.stop_gradient(x) * x)


def test_stop_gradient_is_the_value_and_no_gradient():
    x = np.array([1.0, -2.0, 3.0])
    g = symgrad.grad(_scaled)
    assert np.allclose(g(x), x)  # d/dx of c * x with c = x held fixed
    code = [line for line in g.source.splitlines() if not line.strip().startswith("#")]
    assert not any("stop_gradient" in line for line in code[3:])  # emitted as x itself
    assert symgrad.stop_gradient(x) is x
