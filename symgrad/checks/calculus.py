"""SymPy's derivatives as the proofs take them: `diff`, and `slope_at_zero` for the exact points.

Contract: `diff(expr, x)` is SymPy's derivative with floor's and ceiling's taken as 0, as they
are almost everywhere. `slope_at_zero(expr, s)` is `diff(expr, s).subs(s, 0)`, the chain rule
taken over expr's distinct subexpressions once each, bottom-up, as pairs (value at s = 0,
derivative at s = 0): sums, products and powers by their rules, everything else by `diff` of
that subexpression and its value at 0. SymPy's `diff` of the whole expression builds the
derivative of every subexpression as a function of s, and an expression in s is large where it
holds the square roots of a decomposition; here each step is a number or an expression in the
other symbols (the cotangents), and it is exact: the same value.
"""

from __future__ import annotations

import sympy as sp


def diff(expr, symbol):
    """SymPy's derivative, with floor's and ceiling's taken as 0, as they are almost
    everywhere (x % y is x - y ⌊x / y⌋)."""
    d = sp.diff(expr, symbol)
    steps = lambda e: isinstance(e, sp.Derivative) and e.expr.func in (sp.floor, sp.ceiling)  # noqa: E731
    return d.replace(steps, lambda e: sp.S.Zero).doit() if d.has(sp.Derivative) else d


def slope_at_zero(expr, s: sp.Symbol):
    """d/ds expr at s = 0 (see the module docstring)."""
    expr = sp.sympify(expr)
    at: dict = {s: (sp.S.Zero, sp.S.One)}  # subexpression with s: (value, derivative) at s = 0
    seen = set()
    stack = [(expr, False)]
    while stack:
        e, ready = stack.pop()
        if ready:
            if any(a in at for a in e.args):
                at[e] = _step(e, at)
        elif e not in seen:
            seen.add(e)
            if e.is_Add or e.is_Mul or e.is_Pow:
                stack.append((e, True))
                stack.extend((a, False) for a in e.args)
            elif e != s and s in e.free_symbols:  # any other function of s: SymPy's diff
                at[e] = e.subs(s, 0), diff(e, s).subs(s, 0)
    return at[expr][1] if expr in at else sp.S.Zero


def _step(e, at: dict):
    """A sum's, product's or power's (value, derivative) at s = 0 from its arguments'."""
    values = [at[a][0] if a in at else a for a in e.args]
    slopes = [at[a][1] if a in at else sp.S.Zero for a in e.args]
    if e.is_Add:
        return sp.Add(*values), sp.Add(*slopes)
    if e.is_Mul:
        terms = (sp.Mul(*values[:i], d, *values[i + 1 :]) for i, d in enumerate(slopes) if d != 0)
        return sp.Mul(*values), sp.Add(*terms)
    (b, x), (db, dx) = values, slopes
    value = b**x
    slope = x * b ** (x - 1) * db if db != 0 else sp.S.Zero
    return value, slope + value * sp.log(b) * dx if dx != 0 else slope
