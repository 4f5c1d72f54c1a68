"""The cheap exact zero test: what it proves zero, and that it never calls a nonzero thing zero."""

from __future__ import annotations

import random

import pytest
import sympy as sp

from symgrad.checks.rational import vanishes

x, y, z = sp.symbols("x y z", real=True)
u = x**2 + y**2 + 1
h = sp.sqrt((x - y) ** 2 / 4 + z**2)
n = sp.sqrt(z**2 + ((x + y) / 2 - h - x) ** 2)  # a root of an expression with a root


@pytest.mark.parametrize(
    "zero",
    [
        sp.Integer(0),
        (x + y) ** 3 - sp.expand((x + y) ** 3),
        x / (x - y) + y / (y - x) - 1,  # one factor, up to its sign
        1 / (2 * x - 2 * y) - 1 / (2 * (x - y)),
        sp.Mul(x, 1 / x, evaluate=False) - 1,
        1 / sp.sqrt(u) - sp.sqrt(u) / u,  # r⁻¹ = r / r²
        u ** sp.Rational(3, 2) - u * sp.sqrt(u),
        sp.sqrt(u) ** 3 * sp.sqrt(u) - u**2,
        (h + x) * (h - x) - h**2 + x**2,
        n**2 - z**2 - ((x + y) / 2 - h - x) ** 2,  # the outer relation gives the inner root
        sp.exp(2 * x + y) - sp.exp(x) ** 2 * sp.exp(y),
        sp.exp(-x) * sp.exp(x) - 1,
        x ** (y + 2) - x**y * x**2,
        sp.tanh(x + y) ** 2 - sp.tanh(y + x) * sp.tanh(x + y),
        sp.Float(0.5) * x - x / 2,  # a float is its exact value
        sp.pi * x - x * sp.pi,
    ],
)
def test_it_proves_identities_zero(zero):
    assert vanishes(zero)


@pytest.mark.parametrize(
    "nonzero",
    [
        x - y,
        sp.Integer(1),
        sp.sqrt(x**2) - x,  # |x| - x: a root it cannot take
        sp.sqrt(u) - u,
        sp.tanh(x) - sp.tanh(y),
        sp.sqrt(x * y) - sp.sqrt(x) * sp.sqrt(y),  # not zero for negative x, y
        sp.log(x * y) - sp.log(x) - sp.log(y),  # not zero for negative x, y
        sp.Float(0.1) + sp.Float(0.2) - sp.Float(0.3),  # not zero in exact arithmetic
        x / (x - x + y) - x / y + sp.Rational(1, 10**20),
        sp.zoo * x,
        sp.Heaviside(x) - sp.Heaviside(y),
    ],
)
def test_it_never_calls_a_nonzero_expression_zero(nonzero):
    assert not vanishes(nonzero)


def test_what_it_cannot_see_is_undecided_not_wrong():
    assert not vanishes(sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1)  # zero: left to simplify


def test_it_agrees_with_expand_and_together_on_random_sums():
    rng = random.Random(0)
    atoms = [x, y, z, sp.sqrt(u), sp.exp(x), sp.tanh(y)]
    for _ in range(40):
        terms = [
            sp.Mul(*(rng.choice(atoms) ** rng.randint(-2, 2) for _ in range(3)), rng.randint(-3, 3))
            for _ in range(4)
        ]
        e = sp.Add(*terms)
        assert vanishes(e - sp.expand(e)) and vanishes(e - sp.together(e)), e
        assert not vanishes(e + sp.exp(z)), e
