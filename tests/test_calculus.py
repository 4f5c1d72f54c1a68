"""The derivative at s = 0 the exact-point proofs take: SymPy's diff then s = 0, for every kind
of subexpression (sums, products, powers, and the functions it leaves to SymPy)."""

from __future__ import annotations

import pytest
import sympy as sp

from symgrad.checks.calculus import diff, slope_at_zero

s = sp.Symbol("s", real=True)
x, y = sp.symbols("x y", real=True)
h = sp.sqrt((1 + s) ** 2 + (2 - 3 * s) ** 2)  # shared below: once each, as a DAG


@pytest.mark.parametrize(
    "expr",
    [
        s,
        x,
        3 * s + x,
        s**2 * x,
        sp.sqrt(1 + s) * x + h / (h + s),
        h ** sp.Rational(-3, 2) * (x - h) ** 2,
        (2 + s) ** (1 + s),  # s in the exponent too
        x ** (s + 2),
        sp.tanh(x + s * y),
        sp.exp(2 * s) * sp.log(3 + s),
        sp.floor(s + sp.Rational(1, 3)) * s,  # floor taken as 0
        sp.Abs(s - 1) * h,
        sp.Max(s, 1 - s) * sp.sqrt(h),
        sp.Piecewise((s**2 + x, s > -1), (s, True)),
    ],
)
def test_it_is_diff_at_zero(expr):
    slope = slope_at_zero(expr, s)
    assert not slope.has(s)
    assert sp.simplify(slope - diff(expr, s).subs(s, 0)) == 0


def test_it_is_exact():
    assert slope_at_zero(sp.sqrt(1 + s) * x, s) == x / 2
    assert slope_at_zero((sp.Rational(9, 25) + s) ** sp.Rational(1, 2), s) == sp.Rational(5, 6)
