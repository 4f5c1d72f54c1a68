"""Statements that only write something out: `print(...)`, a logger's `log.info(...)`,
`logging.debug(...)`, `warnings.warn(...)`. The derivative does not depend on them, and the
emitted code leaves them out, as it leaves out asserts (call the function itself to see them).

Contract: `only_prints(lw, call)` is True for the value of an expression statement that is a
call of `print`, of one of the logging module's functions that log, of such a method of a
`logging.Logger` (or `LoggerAdapter`), or of `warnings.warn`, whose arguments change nothing
(no call of a method that changes its object, `xs.pop()`; no `:=`): leaving it out changes
nothing the function computes. Anything else is False, and is lowered as any call is.
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
_CHANGES = frozenset(  # methods that change their object (a list's, a dict's, an array's)
    {"append", "extend", "insert", "pop", "popitem", "remove", "clear", "update", "setdefault"}
    | {"sort", "reverse", "add", "discard", "fill", "resize", "put", "itemset", "send"}
)


def only_prints(lw: _Lowerer, call: ast.expr) -> bool:
    if not isinstance(call, ast.Call) or not all(map(_harmless, [*call.args, *call.keywords])):
        return False
    try:
        callee = lw.expr(call.func)
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
    for e in ast.walk(arg):
        if isinstance(e, (ast.NamedExpr, ast.Yield, ast.YieldFrom, ast.Await)):
            return False
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute):
            if e.func.attr in _CHANGES:
                return False
    return True
