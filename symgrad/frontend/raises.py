"""`raise`: the checks a function makes of its arguments, made by the emitted code too.

Contract. A branch that is one `raise` statement is a check (and so is an `assert` whose test
compiles): `if x.ndim != 1: raise ValueError(...)` becomes a `raise_if` node on the condition
(a check, `Graph.checks`, kept for its effect), `if ...: y = ... else: raise ...` one on the
condition's negation, and the other branch is lowered as the code that follows; an `elif`
chain ending in `else: raise` so checks each test in turn, inside the branches before it.
A condition known when compiling (a string option, `if act == "relu": ... else: raise
ValueError(f"unknown {act}")`) picks its branch: a `raise` there is a check of `True` where it
stands (after the function's checks and work before it, as the function raises), the other
branch giving that path its values; one reached on every call, with no check before it (or
of an exception class of the user's own), raises when compiling, as the call would; after
one reached on every call, code that does not compile is not compiled (`always_raises`).
The emitted check raises a built-in exception (`ValueError`, `TypeError`, ...), the
function's message: the arguments and shapes it formats read when it raises (`KeyError(mode)`,
`f"got {x.shape}"`: reading them is free and cannot fail), other values known only when the
function runs written as in the source (`{x[5]}`, which may fail where the check passes).
A `not in` of constants is `not (v == a or v == b)` (`symgrad.frontend.booleans`).
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from symgrad.errors import SymgradError, UnsupportedSyntaxError
from symgrad.frontend.values import is_const
from symgrad.rules import RULES, Value
from symgrad.rules.build import add_bound

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer


def raising(stmts: list[ast.stmt]) -> bool:
    """Whether a block is one `raise` statement."""
    return len(stmts) == 1 and isinstance(stmts[0], ast.Raise)


def lower_checked_if(lw: _Lowerer, s: ast.If, pred: Any) -> None:
    """`if pred:` whose body or else is a `raise`: a check of pred (or of its negation), then
    the other branch as the statements that follow it. Of a pred known when compiling, the
    branch it takes: a raise there is a check of True (after the checks before it, as the
    function raises), the other branch giving the path its values."""
    if not isinstance(pred, Value):
        taken, other = (s.body, s.orelse) if pred else (s.orelse, s.body)
        if raising(taken):
            _raise(lw, taken[0], *_exception(lw, taken[0]))
            lw.block(other)
        else:
            lw.block(taken)
        return
    if raising(s.body):
        check(lw, s.body[0], pred, *_exception(lw, s.body[0]))
        lw.block(s.orelse)
        return
    negated = lw.call_rule("not", (pred,), {}, s.test)
    check(lw, s.orelse[0], negated, *_exception(lw, s.orelse[0]))
    lw.block(s.body)


def lower_raise(lw: _Lowerer, s: ast.Raise) -> None:
    """A `raise` statement the lowering reaches: a check of True where it stands."""
    _raise(lw, s, *_exception(lw, s))


def lower_assert(lw: _Lowerer, s: ast.Assert) -> None:
    """`assert test, message`: a check raising AssertionError where the test fails; a test the
    lowering cannot compile (`isinstance(x, np.ndarray)`) is skipped, as Python's -O does."""
    try:
        test = lw.expr(s.test)
    except SymgradError:
        return
    args = () if s.msg is None else (_argument(lw, s.msg),)
    if isinstance(test, Value):
        failed = lw.call_rule("not", (test,), {}, s.test)
        check(lw, s, failed, AssertionError, args)
    elif not test:
        _raise(lw, s, AssertionError, args)


def _raise(lw: _Lowerer, s: ast.stmt, error: type, args: tuple) -> None:
    """Raise error(*args) now where every call reaches statement s and the function checks
    nothing before it (the code after s, never run, need not compile), or where the class is
    the user's own (the emitted module names built-ins only); else a check of True where s
    stands, the emitted code raising after the checks before it."""
    checked = any(lw.graph[c].op == "raise_if" for c in lw.graph.checks)
    if _always(lw) and not checked or not _builtin(error) and _always(lw):
        raise error(*args)  # (the function's own exception: its call raises it, as the function)
    check(lw, s, True, error, args)


def always_raises(graph) -> bool:
    """Whether the function's own graph holds a check of True: a raise every call reaches."""
    tests = [graph[graph[c].inputs[0]] for c in graph.checks if graph[c].op == "raise_if"]
    return any(t.op == "const" and t.attrs["value"] is True for t in tests)


def _builtin(error: type) -> bool:
    return getattr(builtins, error.__name__, None) is error


def check(lw: _Lowerer, s: ast.AST, test: Any, error: type, args: tuple) -> None:
    """A `raise_if` node of test and the exception error(*args), kept as one of the graph's
    checks; an argument formatted from values known only when it runs (`Formatted`) takes
    them as inputs."""
    if not _builtin(error):
        raise lw.error(
            s,
            f"raise of {error.__qualname__} on a value known only when the function runs: the "
            "emitted code raises built-in exceptions (ValueError, TypeError, ...) only",
            "Raise a built-in exception, or check the arguments before calling the gradient.",
            cls=UnsupportedSyntaxError,
        )
    values: list[Value] = []
    specs = []
    for a in args:
        if isinstance(a, Formatted):
            pieces = []
            for p in a.pieces:
                if isinstance(p, Value):
                    values.append(p)
                    p = len(values) - 1  # (its value's position among the inputs)
                pieces.append(p)
            specs.append(("v", pieces[0]) if a.bare else ("f", tuple(pieces)))
        else:
            specs.append(a if isinstance(a, (str, int, float, bool)) else str(a))
    given = {"test": test, "values": values, "error": error.__name__, "args": tuple(specs)}
    node = add_bound(lw.graph, RULES["raise_if"], given, lw.src.locate(s))
    lw.graph.checks.append(node)


def _always(lw: _Lowerer) -> bool:
    """Whether the statement being lowered runs on every call: in no loop body nor branch
    (nor in a call inlined in one)."""
    while lw is not None:
        if lw.enclosing is not None:
            return False
        lw = lw.parent
    return True


def _exception(lw: _Lowerer, s: ast.Raise) -> tuple[type, tuple]:
    """(the exception's class, its arguments) of `raise E(...)` or `raise E`."""
    if s.exc is None or s.cause is not None:
        raise lw.error(
            s,
            "a bare raise, or raise ... from ..., is not supported",
            "Raise an exception: raise ValueError('...').",
            cls=UnsupportedSyntaxError,
        )
    call = s.exc if isinstance(s.exc, ast.Call) else None
    error = lw.expr(call.func if call is not None else s.exc)
    if not (isinstance(error, type) and issubclass(error, BaseException)):
        raise lw.error(
            s.exc,
            "raise of a value other than an exception class or a call of one is not supported",
            "Raise an exception: raise ValueError('...').",
            cls=UnsupportedSyntaxError,
        )
    if call is None:
        return error, ()
    if call.keywords:
        raise lw.error(call, "an exception made with keywords is not supported")
    return error, tuple(_argument(lw, a) for a in call.args)


@dataclass(frozen=True)
class Formatted:
    """An exception's argument formatted when it raises: text and values (an argument, a
    shape) in turn, as the f-string gives them (`f"unknown {act}"`, `KeyError(mode)`)."""

    pieces: tuple
    bare: bool = False  # the value itself (`KeyError(mode)`), not formatted


def _argument(lw: _Lowerer, a: ast.expr) -> Any:
    """An argument of the exception: its value where known when compiling; formatted when it
    raises from an argument's value or a shape (computing them is free and cannot fail);
    else its text, an f-string's other values written as in the source."""
    value = _value(lw, a)
    if value is not None and is_const(value):
        return value
    if _safe(lw, value):
        return Formatted((value,), bare=True)
    if not isinstance(a, ast.JoinedStr):
        return ast.unparse(a)
    pieces: list = []
    for p in a.values:
        if not isinstance(p, ast.FormattedValue):
            pieces.append(str(p.value))
            continue
        part = _value(lw, p.value) if p.conversion == -1 and p.format_spec is None else None
        if part is not None and is_const(part):
            pieces.append(format(part))
        else:
            pieces.append(part if _safe(lw, part) else f"{{{ast.unparse(p.value)}}}")
    return Formatted(tuple(pieces))


def _value(lw: _Lowerer, a: ast.expr) -> Any:
    try:
        return lw.expr(a)
    except SymgradError:
        return None


def _safe(lw: _Lowerer, value: Any) -> bool:
    """Whether a value is one the check may read before it knows it raises: an argument, or
    a shape, a length, a rank (`x.shape`)."""
    if not isinstance(value, Value):
        return False
    node = lw.graph[value.id]
    return node.op == "param" or node.op in RULES and RULES[node.op].reads_shape
