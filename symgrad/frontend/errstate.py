"""`with np.errstate(...)`: the block, as written, where the floating-point errors it names are
ignored or warned of.

Contract: `desugar(src)` replaces each `with np.errstate(divide="ignore", ...):` statement (of
`np.errstate` or `numpy.errstate`, each setting a literal "ignore", "warn", "print" or "log",
and no `as`) by the statements of its block, before the fence: such a setting changes only
what NumPy reports, never a value, and the emitted code computes the same values (reporting
what NumPy does by default where the function silenced it). A setting of "raise" or "call",
which turns a value into an error, is left to the fence, which refuses the `with`.
"""

from __future__ import annotations

import ast

from symgrad.frontend.source import FunctionSource

_REPORTS = ("ignore", "warn", "print", "log")  # the settings that change no value


def desugar(src: FunctionSource) -> None:
    _block(src.tree.body)


def _block(stmts: list[ast.stmt]) -> None:
    out: list[ast.stmt] = []
    for s in stmts:
        for field in ("body", "orelse"):
            if isinstance(s, (ast.For, ast.While, ast.If, ast.With)):
                _block(getattr(s, field, []))
        out.extend(s.body if isinstance(s, ast.With) and _reports_only(s) else [s])
    stmts[:] = out


def _reports_only(s: ast.With) -> bool:
    """Whether every item of the `with` is np.errstate(...) of settings that change no value."""
    return all(_errstate(item) for item in s.items)


def _errstate(item: ast.withitem) -> bool:
    call = item.context_expr
    if item.optional_vars is not None or not isinstance(call, ast.Call) or call.args:
        return False
    f = call.func
    named = isinstance(f, ast.Attribute) and f.attr == "errstate"
    if not (named and isinstance(f.value, ast.Name) and f.value.id in ("np", "numpy")):
        return False
    return all(
        isinstance(k.value, ast.Constant) and k.value.value in _REPORTS for k in call.keywords
    )
