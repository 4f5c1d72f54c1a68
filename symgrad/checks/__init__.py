"""Checks on top of the compiler (nothing in the core imports them): `check_grads` (central
differences), `check` (central differences and SymPy on a user's function) and `verify_rules`
(SymPy proofs of the rule table). SymPy is imported only when a symbolic check runs."""

from symgrad.checks.numeric import check_grads
from symgrad.checks.report import CheckReport, check


def verify_rules(names=None, seed: int = 0, jobs: int = 1, progress=None):
    """Prove every backward function in the rule table (or those named) with SymPy, in `jobs`
    processes, calling `progress(done, total, name)` as each rule's proof ends; returns a
    `RulesReport` (see `symgrad.checks.rules_report`)."""
    from symgrad.checks.symbolic import verify_rules as prove

    return prove(names, seed, jobs, progress)


__all__ = ["CheckReport", "check", "check_grads", "verify_rules"]
