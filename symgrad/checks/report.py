"""`symgrad.check(f, *args, argnums)`: is the gradient symgrad emits for f right, at these args?

Contract: two oracles, each reported as passed, FAILED or skipped (with the reason):
1. numeric: `check_grads` (random directions against central differences in float64);
2. symbolic, when the differentiated arguments have at most `SYMBOLIC_LIMIT` entries: f itself
   and the emitted VJP both run on arrays of SymPy symbols (`SymArray`), and SymPy's derivative
   of ⟨v, f(x)⟩ must equal the emitted VJP entry by entry (or, where SymPy cannot decide, exactly
   at the given point along random rational directions). Comparisons on the symbols (branches,
   masks, max) are decided at the given arguments, so a function with data-dependent branches
   is checked on the branch those arguments take, and the report says so.
`report.ok` is True only if no check failed and the numeric check ran. Bad input (source symgrad
cannot compile) raises `SymgradError` as `grad` does.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from symgrad.api import Compiled, _normalise_argnums, user_function
from symgrad.checks.numeric import check_grads
from symgrad.display import html_table

SYMBOLIC_LIMIT = 64
PASSED, FAILED, SKIPPED = "passed", "FAILED", "skipped"


@dataclass
class Check:
    name: str  # "numeric" or "symbolic"
    status: str  # PASSED, FAILED or SKIPPED
    detail: str


@dataclass
class CheckReport:
    function: str
    wrt: list[str]
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        ran = [c for c in self.checks if c.status != SKIPPED]
        return all(c.status == PASSED for c in ran) and any(c.name == "numeric" for c in ran)

    def __str__(self) -> str:
        head = f"check {self.function} with respect to {', '.join(self.wrt)}: "
        lines = [head + ("ok" if self.ok else "FAILED")]
        lines += [f"  {c.name:<9} {c.status:<8} {c.detail}" for c in self.checks]
        return "\n".join(lines)

    def __repr__(self) -> str:
        checks = ", ".join(f"{c.name} {c.status}" for c in self.checks)
        return f"<CheckReport {self.function}: {'ok' if self.ok else 'FAILED'} ({checks})>"

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # IPython: the report as printed
        printer.text(str(self))

    def _repr_html_(self) -> str:  # notebooks: a table
        rows = [[c.name, c.status, c.detail] for c in self.checks]
        return html_table(["check", "status", "detail"], rows, str(self).splitlines()[0])


def check(f, *args, argnums=0, seed: int = 0, progress: Callable | None = None) -> CheckReport:
    """Check symgrad's gradient of f at args with both oracles; see the module docstring.
    `progress(done, total, name)` is called at the start (0, 2, "") and as each check ends."""
    fn = user_function(f)  # (a function decorated with @symgrad.grad: the function it decorates)
    nums, _ = _normalise_argnums(fn, argnums)
    names = list(inspect.signature(fn).parameters)
    report = CheckReport(f"{fn.__qualname__}({', '.join(names)})", [names[k] for k in nums])
    vjp = Compiled(fn, nums, "vjp")
    vjp._artifact  # compile now: source symgrad cannot handle raises SymgradError here
    checks = (lambda: _numeric(fn, args, nums, seed), lambda: _symbolic(fn, vjp, args, nums, seed))
    tell = progress or (lambda done, total, name: None)
    tell(0, len(checks), "")
    for run in checks:
        report.checks.append(run())
        tell(len(report.checks), len(checks), report.checks[-1].name)
    return report


def _numeric(fn, args, nums, seed) -> Check:
    try:
        check_grads(fn, args, nums, seed=seed)
    except AssertionError as e:
        return Check("numeric", FAILED, str(e))
    return Check("numeric", PASSED, "random directions against central differences (float64)")


def _symbolic(fn, vjp: Compiled, args, nums, seed) -> Check:
    from symgrad.checks.symbolic import SYMBOLIC, prove_vjp  # imports SymPy: only when asked

    size = sum(int(np.size(args[k])) for k in nums)
    if size > SYMBOLIC_LIMIT:
        return Check("symbolic", SKIPPED, f"{size} entries to differentiate (> {SYMBOLIC_LIMIT})")
    from symgrad.api import free_values

    values = [a.astype(np.float64) if _is_float_array(a) else a for a in args]
    module, free, n = vjp._artifact.fn, free_values(vjp._artifact), len(values)

    def with_free(*given):  # (the arrays f reads from outside: after its own arguments)
        return module(*given[:n], *free, *given[n:])

    try:
        proof = prove_vjp(
            fn, with_free, values, nums, np.random.default_rng(seed), branch_at_values=True
        )
    except Exception as e:  # f does something SymPy values cannot (random numbers, I/O, ...)
        return Check("symbolic", SKIPPED, f"f cannot run on SymPy values: {type(e).__name__}: {e}")
    if proof.method not in (SYMBOLIC, "exact points"):
        return Check("symbolic", FAILED, proof.detail)
    how = (
        "SymPy's derivative equals the emitted gradient symbolically"
        if proof.method == SYMBOLIC
        else "SymPy's derivative equals the emitted gradient exactly at the given arguments"
    )
    n = proof.decisions
    if n:
        how += (
            f"; {n} comparison{'s' * (n != 1)} decided at the given arguments: checked on "
            "the branch they take"
        )
    return Check("symbolic", PASSED, how)


def _is_float_array(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"
