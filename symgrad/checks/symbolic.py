"""Symbolic proofs of the rule table: every VJP and JVP against SymPy's derivative, on SymPy arrays.

Contract: `verify_rules(names=None)` proves, for each rule with a backward function, that the
gradient symgrad emits for each of the rule's examples equals what SymPy's `diff` gives:
with x and v arrays of SymPy symbols, the emitted VJP at (x, v) must equal ∂/∂x ⟨v, f(x)⟩ entry
by entry; and, for each rule with a forward (JVP) rule, with x and t arrays of symbols, the
emitted JVP at (x, t) must equal the directional derivative d/ds f(x + s t) at s = 0 entry by
entry. Both sides are computed by running NumPy code on `SymArray`s (the user-level example
for the forward function, the emitted module for the VJP or JVP), so what is proved is the code
users run. SymPy's side is its partial derivatives ∂f_j/∂x_i, each taken once per example and
shared by both proofs: ∂/∂x_i ⟨v, f⟩ = Σ_j v_j ∂f_j/∂x_i and d/ds f_j(x + s t) = Σ_i t_i ∂f_j/∂x_i
(the chain rule), the sums over the entries and symbols that occur together. Each difference
is tested by `rational.vanishes` first, SymPy's expand, together and simplify after. Where
SymPy cannot decide that a difference is zero, or the example has data-dependent parts
(masks), the check falls back to exact evaluation at random rational points (and says so),
there along rational directions, by `calculus.slope_at_zero`.
A rule without examples is reported as unverified, never skipped; the rules that carry
users' custom derivatives (`symgrad.rules.custom`) are reported as theirs to check, by
`check_grads` on a function that uses them.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import multiprocessing
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import numpy as np
import sympy as sp

from symgrad.api import Compiled
from symgrad.checks.calculus import diff, slope_at_zero
from symgrad.checks.examples import example_function, parse_example, sample
from symgrad.checks.rational import vanishes
from symgrad.checks.rules_report import (
    CUSTOM,
    FAILED,
    INTERNAL,
    NO_BACKWARD,
    NO_FORWARD,
    NO_GRADIENT,
    POINTS,
    STRUCTURED,
    SYMBOLIC,
    UNVERIFIED,
    RuleCheck,
    RulesReport,
)
from symgrad.checks.sym_array import NUMPY_ON_SYMBOLS, Undecided, decide_at, exact, symarray
from symgrad.errors import SymgradError
from symgrad.rules import RULES


def verify_rules(
    names=None, seed: int = 0, jobs: int = 1, progress: Callable | None = None
) -> RulesReport:
    """Prove every rule (or those in `names`) against SymPy; see the module docstring. `jobs`
    processes share the rules (the proofs are independent; the report is the same).
    `progress(done, total, name)` is called at the start (0, total, "") and as each rule's
    proof ends, in the table's order."""
    names = sorted(names or RULES)
    unknown = [n for n in names if n not in RULES]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(RULES), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "see symgrad.rules.RULES"
        raise SymgradError(f"no rule named {', '.join(map(repr, unknown))}; {hint}")
    prove = functools.partial(verify_rule, seed=seed)
    if jobs > 1 and len(names) > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            return _collected(pool.imap(prove, names, chunksize=1), len(names), progress)
    return _collected(map(prove, names), len(names), progress)


def _collected(proofs, total: int, progress: Callable | None) -> RulesReport:
    """The report of `proofs` as they end, each told to `progress` (and the start, as 0 done)."""
    checks = []
    if progress is not None:
        progress(0, total, "")
    for check in proofs:
        checks.append(check)
        if progress is not None:
            progress(len(checks), total, check.name)
    return RulesReport(checks)


def verify_rule(name: str, seed: int = 0) -> RuleCheck:
    """The proof of one rule's VJP and JVP, example by example."""
    rule = RULES[name]
    if not rule.vjp and not rule.jvp:
        method = NO_GRADIENT if rule.nondiff else NO_BACKWARD
        return RuleCheck(name, rule.math, method, jvp=_no_jvp(rule))
    if rule.custom:
        return RuleCheck(name, rule.math, CUSTOM, jvp=CUSTOM)
    if rule.structured:  # a gradient's loop has forward mode only, so far
        vjp = STRUCTURED if rule.vjp else NO_BACKWARD
        return RuleCheck(name, rule.math, vjp, jvp=STRUCTURED)
    if rule.helper is not None and not rule.callables and not rule.examples:
        return RuleCheck(name, rule.math, INTERNAL)
    if not rule.examples:
        return RuleCheck(name, rule.math, UNVERIFIED, 0, "no examples")
    kinds = [kind for kind in ("vjp", "jvp") if getattr(rule, kind)]
    methods: dict[str, list[str]] = {kind: [] for kind in kinds}
    details = []
    for k, example in enumerate(rule.examples):
        for kind, (method, detail) in verify_example(example, seed + k, kinds).items():
            methods[kind].append(method)
            if detail:
                details.append(f"{kind.upper()}: {detail}")
    vjp = _overall(methods["vjp"]) if rule.vjp else NO_BACKWARD
    jvp = _overall(methods["jvp"]) if rule.jvp else _no_jvp(rule)
    return RuleCheck(name, rule.math, vjp, len(rule.examples), "; ".join(details), jvp)


def _no_jvp(rule) -> str:
    return NO_GRADIENT if rule.nondiff else NO_FORWARD


def _overall(methods: list[str]) -> str:
    """A rule's verdict from its examples': the worst of them."""
    for method in (FAILED, UNVERIFIED, POINTS):
        if method in methods:
            return method
    return SYMBOLIC


def verify_example(example: str, seed: int, kinds=("vjp",)) -> dict[str, tuple[str, str]]:
    """{kind: (method, detail)} for one example's VJP and JVP (`kinds`): SYMBOLIC, POINTS,
    FAILED, or UNVERIFIED where the proof cannot run. Both at the same values (a generator
    seeded with `seed` each), on the same symbols: SymPy's derivatives of f are taken once."""
    proofs = {}
    try:
        expr, inputs = parse_example(example)
        f = example_function(expr, inputs)
    except Exception as e:  # a proof that cannot run proves nothing
        return {kind: (UNVERIFIED, f"{example}: {type(e).__name__}: {e}") for kind in kinds}
    argnums = tuple(k for k, i in enumerate(inputs) if i.differentiable)
    derivatives = None
    for kind in kinds:
        rng = np.random.default_rng(seed)
        values = [sample(i, rng) for i in inputs]
        try:
            emitted = Compiled(f, argnums, kind)._artifact.fn
            derivatives = derivatives or Derivatives(values, argnums)
            prove = prove_vjp if kind == "vjp" else prove_jvp
            with _forms_for_numeric_helpers(f, emitted):
                proof = prove(f, emitted, values, argnums, rng, derivatives=derivatives)
            proofs[kind] = proof.method, f"{example}: {proof.detail}" if proof.detail else ""
        except Exception as e:  # a proof that cannot run proves nothing
            proofs[kind] = UNVERIFIED, f"{example}: {type(e).__name__}: {e}"
    return proofs


@contextmanager
def _forms_for_numeric_helpers(*functions):
    """Within it, the helpers of rules whose helper is numeric code (`Rule.numeric_helper`:
    a series, math.lgamma per entry, an SVD) are their SymPy forms, entry by entry (or their
    own, `Rule.symbolic`, on whole arrays), in the modules of `functions`: what is proved is
    the rule's mathematics, and the generated numeric tests check the helper's numbers."""
    saved = []
    for fn in functions:
        module = fn.__globals__
        for rule in RULES.values():
            name = rule.helper.__name__ if rule.numeric_helper else None
            if name in module:
                saved.append((module, name, module[name]))
                module[name] = _whole(rule) if rule.symbolic else _entrywise(rule)
    try:
        yield
    finally:
        for module, name, helper in reversed(saved):
            module[name] = helper


def _whole(rule):
    """The rule's own form on arrays of SymPy values (`Rule.symbolic`: the adjugate of each
    matrix), called as its helper is."""

    def form(*args, **kwargs):
        plain = [np.asarray(a, dtype=object) if isinstance(a, np.ndarray) else a for a in args]
        return symarray(rule.symbolic(sp, *plain, **kwargs))

    return form


def _entrywise(rule):
    """The rule's SymPy form applied entry by entry, called as its helper is."""
    signature = inspect.signature(rule.helper)
    arrays = [p.name for p in rule.array_params]

    def form(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        statics = {k: v for k, v in bound.arguments.items() if k not in arrays}
        each = np.frompyfunc(lambda *a: rule.sympy(sp, *a, **statics), len(arrays), 1)
        out = each(*(bound.arguments[n] for n in arrays))
        return symarray(out) if isinstance(out, np.ndarray) else out

    return form


@dataclass
class Proof:
    method: str  # SYMBOLIC, POINTS or FAILED
    detail: str = ""
    decisions: int = 0  # comparisons decided at the given values (the branch taken)


class Derivatives:
    """f on symbols and SymPy's partial derivatives of its entries, each taken once: the VJP
    and the JVP proofs of one example share them. The arguments in `argnums` are arrays of
    symbols (x0_0, x0_1, ...), the others their exact values."""

    def __init__(self, values, argnums):
        self.xs = [
            _symbols(f"x{k}_", np.shape(val)) if k in argnums else _constant(val)
            for k, val in enumerate(values)
        ]
        self._entries: list | Exception | None = None
        self._free: list[set] = []
        self._partials: dict = {}

    def of(self, f) -> list[sp.Basic]:
        """f(x)'s entries, flat (computed once; what it raised, raised again)."""
        if self._entries is None:
            try:
                self._entries = _entries(_on_symbols(f, *self.xs))
            except Exception as e:
                self._entries = e
            else:
                self._free = [e.free_symbols for e in self._entries]
        if isinstance(self._entries, Exception):
            raise self._entries
        return self._entries

    def partial(self, j: int, x) -> sp.Basic:
        """∂f_j/∂x, SymPy's (`of` first)."""
        if x not in self._free[j]:
            return sp.S.Zero
        if (j, x) not in self._partials:
            self._partials[j, x] = diff(self._entries[j], x)
        return self._partials[j, x]

    def gradient(self, v: list, x) -> sp.Basic:
        """∂/∂x ⟨v, f(x)⟩ = Σ_j v_j ∂f_j/∂x."""
        return sp.Add(*(vj * self.partial(j, x) for j, vj in enumerate(v) if x in self._free[j]))

    def directional(self, j: int, tangents: dict) -> sp.Basic:
        """d/ds f_j(x + s t) at s = 0 = Σ_x t_x ∂f_j/∂x, for `tangents` {x: t_x}."""
        return sp.Add(*(t * self.partial(j, x) for x, t in tangents.items() if x in self._free[j]))


def prove_vjp(
    f, vjp, values, argnums, rng, *, branch_at_values: bool = False, derivatives=None
) -> Proof:
    """Whether `vjp(*values, v)` (the emitted VJP of f) equals SymPy's ∂/∂x ⟨v, f(x)⟩.

    Symbolically first: x[k] for k in argnums becomes an array of symbols, the other arguments
    their exact values, v an array of symbols; ∂/∂x ⟨v, f(x)⟩ is Σ_j v_j ∂f_j/∂x, from
    `derivatives` (a `Derivatives` of these values, shared with the JVP's proof) where given.
    Comparisons that depend on the symbols raise there, unless `branch_at_values`, which
    decides them at `values` (the branch those values take). Where SymPy cannot show the
    difference is zero, exactly at the rational point `values` along random rational
    directions."""
    out_shape = np.shape(f(*values))
    v = _symbols("v", out_shape)
    derivatives = derivatives or Derivatives(values, argnums)
    xs = derivatives.xs
    at = {
        sym: exact(val) for k in argnums for sym, val in zip(np.ravel(xs[k]), np.ravel(values[k]))
    }
    try:
        with decide_at(at) if branch_at_values else nullcontext() as point:
            got = _tuple(_on_symbols(vjp, *xs, v))  # first: it has comparisons to decide
            if len(derivatives.of(f)) != v.size:
                raise ValueError("f's output on symbols has another shape")
        cotangents = _entries(v)
        if _all_zero(
            np.ravel(np.asarray(g, dtype=object))[i] - derivatives.gradient(cotangents, sym)
            for k, g in zip(argnums, got)
            for i, sym in enumerate(np.ravel(xs[k]))
        ):
            return Proof(SYMBOLIC, decisions=point.decisions if point else 0)
    except (Undecided, TypeError, IndexError, ValueError):  # masks, data-dependent code
        pass
    return _at_points(f, vjp, values, argnums, v, rng)


def prove_jvp(f, jvp, values, argnums, rng, *, derivatives=None) -> Proof:
    """Whether `jvp(*values, *tangents)[1]` (the emitted JVP of f) equals SymPy's directional
    derivative d/ds f(x + s t) at s = 0, entry by entry.

    Symbolically first: x[k] and t[k] for k in argnums become arrays of symbols, the other
    arguments their exact values; the directional derivative is Σ_x t_x ∂f_j/∂x (the chain
    rule), from `derivatives` (shared with the VJP's proof) where given. Where SymPy cannot
    show the difference is zero (or comparisons depend on the symbols), exactly at the
    rational point `values` along random rational t (there as d/ds f(x + s t) at s = 0)."""
    derivatives = derivatives or Derivatives(values, argnums)
    xs = derivatives.xs
    ts = {k: _symbols(f"t{k}_", np.shape(values[k])) for k in argnums}
    tangents = {x: t for k in argnums for x, t in zip(np.ravel(xs[k]), np.ravel(ts[k]))}
    try:
        _, got = _on_symbols(jvp, *xs, *(ts[k] for k in argnums))
        expected = range(len(derivatives.of(f)))
        if _all_zero(
            g - derivatives.directional(j, tangents)
            for g, j in zip(_entries(got), expected, strict=True)
        ):
            return Proof(SYMBOLIC)
    except (Undecided, TypeError, IndexError, ValueError):  # masks, data-dependent code
        pass
    return _jvp_at_points(f, jvp, values, argnums, rng)


def _jvp_at_points(f, jvp, values, argnums, rng, directions: int = 2) -> Proof:
    """JVP(x, d) = d/ds f(x + s d) at s = 0, exactly, at the rational point x, for random
    rational directions d, with comparisons decided at s = 0."""
    s = sp.Symbol("s", real=True)
    point = [_constant(val) for val in values]
    for _ in range(directions):
        ds = {k: symarray(np.round(rng.uniform(-1, 1, np.shape(values[k])), 3)) for k in argnums}
        _, got = _on_symbols(jvp, *point, *(ds[k] for k in argnums))
        moved = [point[k] + s * ds[k] if k in ds else point[k] for k in range(len(point))]
        with decide_at({s: 0}):
            expected = _entries(_on_symbols(f, *moved))
        for g, e in zip(_entries(got), expected, strict=True):
            d = g - slope_at_zero(e, s)
            if vanishes(d) or (d := sp.expand(d)) == 0:
                continue
            if abs(sp.N(d, 60)) > sp.Float(10) ** -45:
                return Proof(FAILED, f"the JVP differs from SymPy's diff at {_brief(values)}")
    return Proof(POINTS)


def _constant(value):
    """An argument held fixed: exact, as SymPy numbers, unless an integer (a count, an index)."""
    if isinstance(value, (int, np.integer)) or np.asarray(value).dtype.kind in "biu":
        return value
    return symarray(value)


def _symbols(prefix: str, shape: tuple[int, ...]):
    n = int(np.prod(shape))
    names = sp.symbols(f"{prefix}0:{n}", real=True) if n else ()
    return symarray(np.array(list(names), dtype=object).reshape(shape))


def _scalar(x) -> sp.Basic:
    return sp.sympify(np.asarray(x, dtype=object).item())


def _entries(x) -> list[sp.Basic]:
    """The entries of an array (or a number) as SymPy values, flat."""
    return [_scalar(e) for e in np.ravel(np.asarray(x, dtype=object))]


def _tuple(x) -> tuple:
    return x if isinstance(x, tuple) else (x,)


def _float(x):
    """Python's float for numbers; a SymPy value stays one, exact (the emitted `_fit` turns a
    Python float argument's cotangent into a float, the rule `float` any number)."""
    value = x.item() if isinstance(x, np.ndarray) and x.size == 1 else x
    return value if isinstance(value, sp.Basic) else float(x)


def _on_symbols(emitted, *args):
    """Call emitted code, or an example's function, on SymPy values: its `float` keeps
    expressions, and so do NumPy's scalar types (`NUMPY_ON_SYMBOLS`)."""
    module = emitted.__globals__
    numpy = module.get("np")
    module["float"] = _float
    if numpy is np:
        module["np"] = NUMPY_ON_SYMBOLS
    try:
        return emitted(*args)
    finally:
        del module["float"]
        if numpy is np:
            module["np"] = numpy


def _exact_floats(expr):
    """expr with each float that is a small rational times a power of π or 2π (π, √π, 1/√π,
    1/π, 1/√(2π)) to 15 digits written as that (`2/√π` for 1.1283791670955126, as a float or
    as the rational its digits spell): emitted code holds floats where the mathematics has
    π, and the proofs compare exact values. Only for symbolic differences, whose numbers are
    the code's constants (values at a point are rationals of every size)."""
    expr = sp.sympify(expr)
    numbers = expr.atoms(sp.Float) | {
        r for r in expr.atoms(sp.Rational) if r.q > 10**12 and not r.is_Integer
    }
    exact = {n: c for n in numbers if (c := _over_pi(float(n))) is not None}
    return expr.xreplace(exact) if exact else expr


def _over_pi(x: float):
    """c b^e for a small rational c, b = π or 2π (the normal density's 1/√(2π)) and e in ±1,
    ±1/2 where x is that to 15 digits, else None."""
    for base in (sp.pi, 2 * sp.pi):
        for e in (sp.S.Half, -sp.S.Half, sp.S.One, -sp.S.One):
            scaled = x / float(base**e)
            c = Fraction(scaled).limit_denominator(1000)
            if c and abs(float(c) - scaled) <= 1e-15 * abs(scaled):
                return sp.Rational(c.numerator, c.denominator) * base**e
    return None


def _numerator_vanishes(d) -> bool:
    """Whether d, over a common denominator, has a numerator that expands to 0: then d is 0
    (wherever it is defined), without the gcds `cancel` computes."""
    numerator, _ = sp.fraction(sp.together(d))
    return sp.expand(numerator) == 0 or sp.cancel(sp.together(d)) == 0


def _all_zero(differences) -> bool:
    """True when SymPy shows every difference is zero; False when it cannot (or one is not)."""
    for d in differences:
        d = _exact_floats(d)
        if d == 0 or vanishes(d):  # the cheap exact test first; it decides nearly all
            continue
        if d.has(sp.Heaviside, sp.Max, sp.Min, sp.Piecewise):  # piecewise: beyond simplify
            if vanishes(sp.expand(d)):  # the same test, on the pieces' arguments expanded
                continue
            return False  # exact points decide
        tests = [lambda e: sp.expand(e) == 0, _numerator_vanishes]
        if any(p.exp.is_negative for p in d.atoms(sp.Pow)):  # a fraction: common denominator
            tests.reverse()  # first (expanding it whole first costs the most, in vain)
        if any(test(d) for test in tests):
            continue
        if sp.count_ops(d) > 300:
            return False  # too big for simplify: exact points decide
        if sp.simplify(d) != 0:
            return False
    return True


def _at_points(f, vjp, values, argnums, v, rng, directions: int = 2) -> Proof:
    """⟨VJP(x, v), d⟩ = d/ds ⟨v, f(x + s d)⟩ at s = 0, exactly, at the rational point x, for
    random rational directions d, with comparisons decided at s = 0."""
    s = sp.Symbol("s", real=True)
    point = [_constant(val) for val in values]
    got = _tuple(_on_symbols(vjp, *point, v))
    for _ in range(directions):
        ds = {k: symarray(np.round(rng.uniform(-1, 1, np.shape(values[k])), 3)) for k in argnums}
        moved = [point[k] + s * ds[k] if k in ds else point[k] for k in range(len(point))]
        with decide_at({s: 0}):
            loss = _scalar(np.sum(v * _on_symbols(f, *moved)))
        expected = slope_at_zero(loss, s)
        actual = sum((_scalar(np.sum(g * ds[k])) for k, g in zip(argnums, got)), sp.Integer(0))
        d = actual - expected
        if not vanishes(d) and (d := sp.expand(d)) != 0:
            vs = {sym: sp.Rational(int(rng.integers(-97, 98)), 13) for sym in d.free_symbols}
            if abs(sp.N(d.subs(vs), 60)) > sp.Float(10) ** -45:
                return Proof(FAILED, f"the VJP differs from SymPy's diff at {_brief(values)}")
    return Proof(POINTS)


def _brief(values) -> str:
    return ", ".join(np.array2string(np.asarray(val), precision=3, threshold=8) for val in values)
