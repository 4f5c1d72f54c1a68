"""Symbolic proofs of the rule table: every VJP against SymPy's derivative, on SymPy arrays.

Contract: `verify_rules(names=None)` proves, for each rule with a backward function, that the
gradient symgrad emits for each of the rule's examples equals what SymPy's `diff` gives:
with x and v arrays of SymPy symbols, the emitted VJP at (x, v) must equal ∂/∂x ⟨v, f(x)⟩ entry
by entry. Both sides are computed by running NumPy code on `SymArray`s (the user-level example
for the forward function, the emitted module for the VJP), so what is proved is the code users
run. Where SymPy cannot decide that a difference is zero, or the example has data-dependent
parts (masks), the check falls back to exact evaluation at random rational points (and says
so). A rule without examples is reported as unverified, never skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from symgrad.api import Compiled
from symgrad.check.examples import Input, example_function, parse_example, sample
from symgrad.check.sym_array import at_point, symarray
from symgrad.rules import RULES

SYMBOLIC, POINTS, UNVERIFIED, FAILED, NO_GRADIENT = (
    "symbolic", "exact points", "unverified", "FAILED", "no gradient")


@dataclass
class RuleCheck:
    name: str
    math: str
    method: str
    examples: int = 0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.method in (SYMBOLIC, POINTS, NO_GRADIENT)


@dataclass
class RulesReport:
    checks: list[RuleCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no rule failed. Unverified rules are listed, and do not count as proved."""
        return all(c.method != FAILED for c in self.checks)

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if c.method == FAILED]

    def __str__(self) -> str:
        width = max(len(c.name) for c in self.checks)
        lines = [f"{c.name.ljust(width)}  {c.method:<12}  {c.examples:>2} ex  {c.math}"
                 + (f"\n{' ' * width}  ↳ {c.detail}" if c.detail else "") for c in self.checks]
        counts = {m: sum(c.method == m for c in self.checks)
                  for m in (SYMBOLIC, POINTS, UNVERIFIED, FAILED, NO_GRADIENT)}
        summary = ", ".join(f"{n} {m}" for m, n in counts.items() if n)
        return "\n".join(lines + [f"{len(self.checks)} rules: {summary}"])

    def to_markdown(self) -> str:
        rows = ["| primitive | backward function | verified |", "|---|---|---|"]
        for c in self.checks:
            how = {SYMBOLIC: "symbolically (SymPy)", POINTS: "at exact random points (SymPy)",
                   NO_GRADIENT: "— (no gradient)"}.get(c.method, c.method)
            rows.append(f"| `{c.name}` | {c.math or '—'} | {how} |")
        return "\n".join(rows) + "\n"


def verify_rules(names=None, seed: int = 0) -> RulesReport:
    """Prove every rule (or those in `names`) against SymPy; see the module docstring."""
    report = RulesReport()
    for name in sorted(names or RULES):
        rule = RULES[name]
        if not rule.vjp:
            report.checks.append(RuleCheck(name, rule.math, NO_GRADIENT))
            continue
        if not rule.examples:
            report.checks.append(RuleCheck(
                name, rule.math, UNVERIFIED, 0,
                "no examples: a helper reached only by differentiating a gradient"))
            continue
        methods, details = [], []
        for k, example in enumerate(rule.examples):
            rng = np.random.default_rng(seed + k)
            try:
                method, detail = verify_example(example, rng)
            except Exception as e:  # a proof that cannot run proves nothing
                method, detail = UNVERIFIED, f"{example}: {type(e).__name__}: {e}"
            methods.append(method)
            if detail:
                details.append(detail)
        method = (FAILED if FAILED in methods else UNVERIFIED if UNVERIFIED in methods
                  else POINTS if POINTS in methods else SYMBOLIC)
        report.checks.append(RuleCheck(name, rule.math, method, len(methods), "; ".join(details)))
    return report


def verify_example(example: str, rng: np.random.Generator) -> tuple[str, str]:
    """(method, detail) for one example: SYMBOLIC, POINTS or FAILED."""
    expr, inputs = parse_example(example)
    f = example_function(expr, inputs)
    argnums = tuple(k for k, i in enumerate(inputs) if i.differentiable)
    vjp = Compiled(f, argnums, "vjp")._artifact.fn
    values = [sample(i, rng) for i in inputs]
    out_shape = np.shape(f(*values))
    v = symarray(np.array(sp.symbols(f"v0:{max(1, int(np.prod(out_shape)))}", real=True),
                          dtype=object)[: int(np.prod(out_shape))].reshape(out_shape))
    try:
        return _symbolic(f, vjp, inputs, argnums, values, v, rng), ""
    except _Undecided:
        pass
    except (TypeError, IndexError, ValueError):  # masks and other data-dependent code
        pass
    ok = _at_points(f, vjp, inputs, argnums, values, v, rng)
    return (POINTS, "") if ok else (FAILED, f"{example}: the VJP differs from SymPy's diff")


class _Undecided(Exception):
    pass


def _symbols(inp: Input, k: int):
    n = int(np.prod(inp.dims))
    positive = inp.domain in ("positive",)
    syms = sp.symbols(f"x{k}_0:{max(n, 1)}", real=True, positive=positive or None)[:n]
    return symarray(np.array(syms, dtype=object).reshape(inp.dims))


def _rational_point(value):
    """A float sample as exact rationals (fine denominators: ties stay improbable)."""
    q = np.vectorize(lambda x: sp.Rational(int(round(x * 1000003)), 1000003), otypes=[object])
    return symarray(q(np.asarray(value, dtype=float)))


def _symbolic(f, vjp, inputs, argnums, values, v, rng) -> str:
    xs = [_symbols(i, k) if k in argnums else _rational_point(values[k])
          for k, i in enumerate(inputs)]
    loss = sp.sympify(np.asarray(np.sum(v * f(*xs)), dtype=object).item())
    got = vjp(*xs, v)
    got = got if isinstance(got, tuple) else (got,)
    undecided = []
    for k, g in zip(argnums, got):
        for sym, entry in zip(np.ravel(xs[k]), np.ravel(np.asarray(g, dtype=object))):
            d = sp.sympify(entry) - sp.diff(loss, sym)
            verdict = _is_zero(d)
            if verdict is False:
                raise _Undecided  # let exact points give the verdict and the counterexample
            if verdict is None:
                undecided.append(d)
    if undecided:
        raise _Undecided
    return SYMBOLIC


def _is_zero(d) -> bool | None:
    if d == 0:
        return True
    for simplify in (sp.expand, lambda e: sp.cancel(sp.together(e))):
        if simplify(d) == 0:
            return True
    if sp.count_ops(d) < 300 and sp.simplify(d) == 0:
        return True
    return None


def _at_points(f, vjp, inputs, argnums, values, v, rng, directions: int = 2) -> bool:
    """⟨VJP(x, v), d⟩ = d/ds ⟨v, f(x + s d)⟩ at s = 0, exactly, at a rational x, for random
    rational directions d, with comparisons decided at the point."""
    s = sp.Symbol("s", real=True)
    point = [_rational_point(val) for val in values]
    got = vjp(*point, v)
    got = got if isinstance(got, tuple) else (got,)
    for _ in range(directions):
        ds = {k: _rational_point(rng.uniform(-1, 1, np.shape(values[k]))) for k in argnums}
        moved = [point[k] + s * ds[k] if k in ds else point[k] for k in range(len(point))]
        with at_point(s):
            loss = sp.sympify(np.asarray(np.sum(v * f(*moved)), dtype=object).item())
        expected = sp.diff(loss, s).subs(s, 0)
        actual = sum((sp.sympify(np.asarray(np.sum(np.asarray(g, dtype=object) * ds[k]),
                                            dtype=object).item())
                      for k, g in zip(argnums, got)), sp.Integer(0))
        d = sp.expand(actual - expected)
        if d != 0:
            vs = {sym: sp.Rational(int(rng.integers(-97, 98)), 13) for sym in d.free_symbols}
            if abs(sp.N(d.subs(vs), 60)) > sp.Float(10) ** -45:
                return False
    return True
