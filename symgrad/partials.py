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
import linecache
import types
import weakref
from typing import Any, Callable

_COUNTER = itertools.count()
_MADE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def as_function(p: functools.partial) -> Callable | None:
    try:
        return _MADE[p]  # (one function per partial: its gradients' cache is that function's)
    except (KeyError, TypeError):
        made = _made(p)
    try:
        _MADE[p] = made
    except TypeError:  # (a partial of a subclass without weak references)
        pass
    return made


def _made(p: functools.partial) -> Callable | None:
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
    names: dict[str, Any] = {"_func": func}  # (a bound value by its parameter's name)
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
            names[f"_default_{q.name}"] = q.default
            default = f"=_default_{q.name}"
        signature.append(q.name + default)
        call.append(q.name if q.kind == q.POSITIONAL_ONLY else f"{q.name}={q.name}")
    name = f"{func.__name__}_partial"
    source = f"def {name}({', '.join(signature)}):\n    return _func({', '.join(call)})\n"
    filename = f"<symgrad: functools.partial of {func.__qualname__} #{next(_COUNTER)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(name)
    module.__dict__.update(names)
    exec(compile(source, filename, "exec"), module.__dict__)
    return module.__dict__[name]
