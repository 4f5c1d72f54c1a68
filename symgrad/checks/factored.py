"""Matrices built from rational factors: exact points whose SVD or QR is rational.

Contract: `factored(kind, shape, rng, low, high)` is a float64 array of `shape` (…, m, n),
each matrix U diag(s) Vᵀ (kind "svd": U and V rational with orthonormal columns and no zero
entry, s distinct tenths in [low, high]) or Q R (kind "qr": Q rational with orthonormal
columns, R upper triangular in tenths, its diagonal in [low, high], the rest in [−high, high]).
The orthogonal factors are products of reflections I − 2 w wᵀ / wᵀw with wᵀw = 2^a 5^b, so
every entry is a decimal of a few digits: the shortest repr of its float is its exact value
(`sym_array.exact`). At such a point the square roots of the decompositions on SymPy values
(singular values, eigenvector norms, column norms) are roots of rational squares: SymPy takes
them as rationals, with no nested radicals to carry through a derivative.
"""

from __future__ import annotations

import functools
import itertools
from fractions import Fraction

import numpy as np


def factored(kind: str, shape: tuple, rng: np.random.Generator, low: float, high: float):
    if len(shape) < 2:
        raise ValueError(f"a {kind} point is a matrix, or a stack of them; not {shape}")
    *lead, m, n = shape
    k, tenths = min(m, n), np.arange(round(10 * low), round(10 * high) + 1)
    out = np.empty(shape)
    for idx in np.ndindex(*lead):
        if kind == "svd":
            u, v = _orthogonal(m, rng)[:, :k], _orthogonal(n, rng)[:, :k]
            s = _tenths(rng.choice(tenths, k, replace=False))
            a = (u * s) @ v.T
        else:
            r = np.triu(_tenths(rng.choice(np.concatenate([-tenths, tenths]), (k, n))))
            r[np.diag_indices(k)] = _tenths(rng.choice(tenths, k))
            a = _orthogonal(m, rng)[:, :k] @ r
        out[idx] = a.astype(float)
    return out


def _tenths(n) -> np.ndarray:
    return np.array([Fraction(int(x), 10) for x in np.ravel(n)], dtype=object).reshape(np.shape(n))


@functools.cache
def _reflectors(m: int) -> list[tuple[int, ...]]:
    """Integer w with two or more nonzero entries in −3..3 and wᵀw = 2^a 5^b, b ≥ 1."""
    return [
        w
        for w in itertools.product(range(-3, 4), repeat=m)
        if sum(map(bool, w)) >= 2 and _decimal_fives(sum(x * x for x in w))
    ]


def _decimal_fives(n: int) -> bool:
    """Whether n is 2^a 5^b with b ≥ 1."""
    while n % 2 == 0:
        n //= 2
    fives = n % 5 == 0
    while n % 5 == 0:
        n //= 5
    return fives and n == 1


def _orthogonal(m: int, rng: np.random.Generator) -> np.ndarray:
    """A rational orthogonal m × m matrix with no zero entry: a product of m + 1 reflections."""
    if m == 1:
        return np.array([[Fraction(1)]], dtype=object)
    candidates = _reflectors(m)
    while True:
        q = np.eye(m, dtype=int).astype(object)
        for _ in range(m + 1):
            w = np.array(candidates[rng.integers(len(candidates))], dtype=object)
            q = q - np.outer(q @ w, w) * Fraction(2, int(w @ w))
        if all(q.ravel()):
            return q
