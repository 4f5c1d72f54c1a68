"""`functools.partial` objects as functions symgrad reads: `grad(partial(loss, X=X, y=y))`.

Contract: `as_function(p)` gives a Python function of the parameters p leaves (as
`inspect.signature(p)` gives them: a keyword it binds keyword-only, its value the default, so
a call may still give it, as Python's partial takes it), whose source, registered with
linecache, calls `p.func` with the positional values it binds, held in its module's globals:
arrays among them are read from outside as any global array is (the emitted module's
arguments after the function's own, `Lowerer.free`), other values compiled as module
constants. A partial of a function with `*args` or `**kwargs`, or of
anything but a Python function, is None (refused where it is differentiated).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import keyword
import linecache
import types
from typing import Any, Callable

from symgrad.ir.names import fresh

_COUNTER = itertools.count()


def as_function(p: functools.partial) -> Callable | None:
    """The function of what p leaves (see the module docstring), made for what p and its
    function hold now (`state`: a compiled transformation of p makes it again where that
    changed)."""
    func = p.func
    if not isinstance(func, types.FunctionType):
        return None
    params = list(inspect.signature(func).parameters.values())
    if any(q.kind in (q.VAR_POSITIONAL, q.VAR_KEYWORD) for q in params):
        return None
    try:
        left = inspect.signature(p).parameters.values()  # (Python's: after a keyword bound,
    except ValueError:  # the rest keyword-only)
        return None
    name = func.__name__ if func.__name__.isidentifier() else "function"
    name = f"{name}_partial" if not keyword.iskeyword(name) else "function_partial"
    taken = {q.name for q in params} | {name}
    called = fresh("func", taken)
    names: dict[str, Any] = {called: func}  # (a bound value by its parameter's name)
    call = []
    for q, value in zip(params, p.args):
        names[q.name] = value
        call.append(q.name)
    signature, starred = [], False
    for q in left:  # (a keyword it binds: keyword-only, its value the default, as Python's)
        if q.kind == q.KEYWORD_ONLY and not starred:
            signature.append("*")
            starred = True
        default = ""
        if q.default is not q.empty:
            held = fresh(f"{q.name}_default", taken)
            names[held] = q.default
            default = f"={held}"
        signature.append(q.name + default)
        call.append(q.name if q.kind == q.POSITIONAL_ONLY else f"{q.name}={q.name}")
    source = f"def {name}({', '.join(signature)}):\n    return {called}({', '.join(call)})\n"
    filename = f"<symgrad: functools.partial of {func.__qualname__} #{next(_COUNTER)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(name)
    module.__dict__.update(names)
    exec(compile(source, filename, "exec"), module.__dict__)
    return module.__dict__[name]


def state(p: functools.partial) -> tuple:
    """What the function made for p holds of p and its function, to compare by identity
    (`same`): a keyword bound anew, new defaults, make it again."""
    func = p.func
    kwdefaults = getattr(func, "__kwdefaults__", None) or {}
    return (
        func,
        getattr(func, "__defaults__", None),
        *p.args,
        *(x for item in p.keywords.items() for x in item),
        *(x for item in kwdefaults.items() for x in item),
    )


def same(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))
