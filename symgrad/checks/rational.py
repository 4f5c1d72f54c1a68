"""An exact, cheap test that a SymPy expression is zero: it as a rational function of its atoms.

Contract: `vanishes(expr)` is True only when expr is identically zero wherever it is defined; False
means undecided (it may still be zero), never "nonzero". The expression is evaluated bottom-up,
each shared subexpression once, into SymPy's sparse polynomials over ℚ (`PolyRing`), as a
numerator and a denominator kept as a product of factors (common denominators are found as
`together` finds them: by factors that are the same polynomial, never by gcds). Its generators
are the atoms: symbols, function applications (tanh(…), Heaviside(…), …), constants (π) and
k-th roots b^(1/k) of subexpressions b. Powers are taken apart as `expand` takes them apart:
b^(p/k) is the root's p-th power, exp(2a + b) = exp(a)² exp(b), b^(a + 2) = b^a b². The
numerator is then reduced by each root's defining relation r^k = b (outermost first) and
must come out 0. Each step is an identity (a polynomial identity in free generators holds
at any values of them), so True is a proof; what it cannot see (log(xy) = log x + log y,
arguments equal only after expanding) leaves it undecided, for slower tests to decide.
"""

from __future__ import annotations

import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.rings import PolyRing


class _Undecidable(Exception):
    """The expression holds something this test does not take apart (∞, NaN, 1/0)."""


def vanishes(expr) -> bool:
    """True when expr is zero as a rational function of its atoms (see the module docstring)."""
    expr = sp.sympify(expr)
    try:
        order = _postorder(expr)
        return _Evaluation(order).is_zero(expr)
    except (_Undecidable, ZeroDivisionError):
        return False


def _parts(e):
    """How e is built, one level: ("number", q), ("atom", key), ("sum", args),
    ("product", args), ("power", base, n), ("root", base, p, k) for base^(p/k), or
    ("powers", [(atom, n), ...]) for a product of integer powers of atoms."""
    if e.is_Rational or e.is_Float:
        if not e.is_finite:
            raise _Undecidable(e)
        q = sp.Rational(e)  # a float's exact value
        return ("number", QQ(int(q.p), int(q.q)))
    if e.is_Add:
        return ("sum", e.args)
    if e.is_Mul:
        return ("product", e.args)
    if e.is_Pow:
        base, x = e.args
        if x.is_Integer:
            return ("power", base, int(x))
        if x.is_Rational:
            return ("root", base, int(x.p), int(x.q))
        return _split_exponent(e, x, lambda y: base**y)
    if isinstance(e, sp.exp):
        return _split_exponent(e, e.args[0], sp.exp)
    if e in (sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise _Undecidable(e)
    return ("atom", e)


def _split_exponent(e, x, power):
    """power(x) as a product: power(Σ c·a) = Π power(a)^c for integer c (the rest of a term
    stays one atom), as `expand` splits exponents."""
    factors = []
    for term in sp.Add.make_args(x):
        c, rest = term.as_coeff_Mul()
        factors.append((power(rest), int(c)) if c.is_Integer else (power(term), 1))
    if factors == [(e, 1)]:
        return ("atom", e)
    return ("powers", factors)


def _children(parts) -> tuple:
    kind = parts[0]
    if kind in ("sum", "product"):
        return parts[1]
    if kind in ("power", "root"):
        return (parts[1],)
    if kind == "powers":
        return tuple(atom for atom, _ in parts[1])
    return ()


def _postorder(expr) -> dict:
    """Each distinct subexpression with its parts, children before parents."""
    order: dict = {}
    stack = [(expr, False)]
    while stack:
        e, ready = stack.pop()
        if ready:
            order.setdefault(e, _parts(e))
        elif e not in order:
            stack.append((e, True))
            stack.extend((c, False) for c in _children(_parts(e)) if c not in order)
    return order


class _Evaluation:
    """The subexpressions of one expression as (numerator, {denominator factor: power})."""

    def __init__(self, order: dict):
        self.order = order
        keys = {}  # generator key: index; a root is keyed by (base, k)
        self.roots = []  # (index, base, k), inner roots first
        for parts in order.values():
            if parts[0] == "atom":
                keys.setdefault(parts[1], len(keys))
            elif parts[0] == "root" and (parts[1], parts[3]) not in keys:
                keys[parts[1], parts[3]] = len(keys)
                self.roots.append((len(keys) - 1, parts[1], parts[3]))
        # named, not Dummy: a ring of n generators is the same ring each time (SymPy caches it)
        self.ring = PolyRing(sp.symbols(f"g:{max(len(keys), 1)}"), QQ)
        self.keys = keys
        self.values: dict = {}
        self._powers: dict = {}

    def is_zero(self, expr) -> bool:
        for e, parts in self.order.items():
            self.values[e] = self._value(parts)
        numerator = self.values[expr][0]
        for index, base, k in reversed(self.roots):  # outermost first: they hold inner ones
            numerator = self._reduced(numerator, index, base, k)
        return not numerator

    def _value(self, parts):
        kind, ring = parts[0], self.ring
        if kind == "number":
            return ring.ground_new(parts[1]), {}
        if kind == "atom":
            return ring.gens[self.keys[parts[1]]], {}
        if kind == "sum":
            return self._sum([self.values[a] for a in parts[1]])
        if kind == "product":
            value = ring.one, {}
            for a in parts[1]:
                value = _product(value, self.values[a])
            return value
        if kind == "power":
            return self._power(self.values[parts[1]], parts[2])
        if kind == "root":
            root = ring.gens[self.keys[parts[1], parts[3]]]
            return self._power((root, {}), parts[2])
        value = ring.one, {}  # "powers"
        for atom, n in parts[1]:
            value = _product(value, self._power(self.values[atom], n))
        return value

    def _pow(self, p, n: int):
        if n == 1:
            return p
        if (p, n) not in self._powers:
            self._powers[p, n] = p**n
        return self._powers[p, n]

    def _expanded(self, factors: dict):
        result = self.ring.one
        for p, n in factors.items():
            result *= self._pow(p, n)
        return result

    def _sum(self, values):
        common: dict = {}
        for _, factors in values:
            for p, n in factors.items():
                common[p] = max(common.get(p, 0), n)
        total = self.ring.zero
        for numerator, factors in values:
            for p, n in common.items():
                if n > factors.get(p, 0):
                    numerator *= self._pow(p, n - factors.get(p, 0))
            total += numerator
        return total, common

    def _power(self, value, n: int):
        if n < 0:
            value, n = self._inverse(value), -n
        numerator, factors = value
        return self._pow(numerator, n), {p: m * n for p, m in factors.items()}

    def _inverse(self, value):
        numerator, factors = value
        if not numerator:
            raise ZeroDivisionError("1/0")
        constant, denominator = self._factors(numerator)
        return self._expanded(factors).quo_ground(constant), denominator

    def _factors(self, p):
        """p as (constant, {factor: power}): its monomial content split into generators, the
        rest made monic (so x - y and 2y - 2x are one factor)."""
        ring = self.ring
        factors = {}
        low = tuple(map(min, zip(*p.itermonoms())))
        if any(low):
            p = p.exquo(ring.from_dict({low: QQ.one}))
            factors = {ring.gens[i]: n for i, n in enumerate(low) if n}
        constant = p.LC
        if not p.is_ground:
            factors[p.quo_ground(constant)] = 1
        return constant, factors

    def _reduced(self, numerator, index: int, base, k: int):
        """numerator with r^(kq + j) = b^q r^j for the root r = b^(1/k), times the q-th power of
        b's denominator that clears it (nonzero where b is defined)."""
        if not numerator or numerator.degree(self.ring.gens[index]) < k:
            return numerator
        groups: dict = {}
        for monomial, c in numerator.iterterms():
            q, j = divmod(monomial[index], k)
            groups.setdefault(q, {})[monomial[:index] + (j,) + monomial[index + 1 :]] = c
        b, factors = self.values[base]
        denominator, top = self._expanded(factors), max(groups)
        return sum(
            (
                self.ring.from_dict(terms) * self._pow(b, q) * self._pow(denominator, top - q)
                for q, terms in groups.items()
            ),
            self.ring.zero,
        )


def _product(a, b):
    (n1, f1), (n2, f2) = a, b
    factors = dict(f1)
    for p, n in f2.items():
        factors[p] = factors.get(p, 0) + n
    return n1 * n2, factors
