"""Statements that only write something out: `print(...)`, a logger's `log.info(...)`,
`logging.debug(...)`, `warnings.warn(...)`. The derivative does not depend on them, and the
emitted code leaves them out, as it leaves out asserts (call the function itself to see them).

Contract: `only_prints(lw, call)` is True for the value of an expression statement that is a
call of `print`, of one of the logging module's functions that log, of such a method of a
`logging.Logger` (or `LoggerAdapter`, or `logging.getLogger(name)`'s), or of `warnings.warn`,
whose arguments call nothing but readers (`len`, `float`, `x.mean()`, `np.linalg.norm`: a
name in `_READERS`) and bind nothing: leaving it out changes nothing the function computes.
Anything else is False, and is lowered as any call is (`print(xs.pop())` is refused).
"""

from __future__ import annotations

import ast
import builtins
import logging
import warnings
from typing import TYPE_CHECKING, Any

from symgrad.errors import SymgradError

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer

_LOGS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})
_READERS = frozenset(  # builtins and array methods that only read (what a message shows)
    {"len", "float", "int", "str", "repr", "round", "abs", "min", "max", "sum", "bool", "type"}
    | {"format", "mean", "std", "var", "item", "tolist", "any", "all", "argmax", "argmin"}
    | {"norm", "shape", "ndim", "size", "dtype", "isnan", "isfinite", "allclose", "prod"}
)


def only_prints(lw: _Lowerer, call: ast.expr) -> bool:
    if not isinstance(call, ast.Call) or not all(map(_harmless, [*call.args, *call.keywords])):
        return False
    func = call.func  # (`logging.getLogger(name).info(...)`: a logger made to log)
    if isinstance(func, ast.Attribute) and func.attr in _LOGS and isinstance(func.value, ast.Call):
        try:
            made = lw.expr(func.value.func)
        except SymgradError:
            return False
        return made is logging.getLogger and all(map(_harmless, func.value.args))
    try:
        callee = lw.expr(func)
    except SymgradError:  # (the call is lowered, and refused, as any other)
        return False
    return _writes_out(callee)


def _writes_out(callee: Any) -> bool:
    if callee is builtins.print or callee is warnings.warn:
        return True
    name = getattr(callee, "__name__", None)
    if name not in _LOGS:
        return False
    owner = getattr(callee, "__self__", None)
    if isinstance(owner, (logging.Logger, logging.LoggerAdapter)):
        return True
    return owner is None and getattr(logging, name, None) is callee  # logging.info(...)


def _harmless(arg: ast.AST) -> bool:
    """Whether leaving out an argument's expression changes nothing: it calls nothing but
    readers (`len(x)`, `x.mean()`, `np.linalg.norm(g)`, `f"{x:.3f}"`'s formatting), and
    binds nothing (`:=`)."""
    for e in ast.walk(arg):
        if isinstance(e, (ast.NamedExpr, ast.Yield, ast.YieldFrom, ast.Await, ast.Lambda)):
            return False
        if isinstance(e, ast.Call):
            name = e.func.attr if isinstance(e.func, ast.Attribute) else getattr(e.func, "id", "")
            if name not in _READERS:
                return False
    return True
