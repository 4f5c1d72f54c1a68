"""A specialised module's check of its arguments, for a module that ships (`emit_module` with
example arguments, `symgrad emit --args`).

Contract: `guarded(source, function, values, static)` is the module's source with a check
first in the body of `function`: each parameter with an example array or number has its
shape and dtype (and an int the module was specialised on, by position in `static`, its
value), else a `ValueError` says what the module was made for. A call of symgrad's own runs
the module on the arguments it was specialised for and has no such check; a module written
to a file may be called on others, which would read out of bounds or broadcast silently.
"""

from __future__ import annotations

import ast
import textwrap

import numpy as np


def guarded(source: str, function: str, values: list, static: tuple = ()) -> str:
    tree = ast.parse(source)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    names = [a.arg for a in fn.args.args]
    tests, made = [], []
    for k, (name, v) in enumerate(zip(names, values)):
        if isinstance(v, bool) or not isinstance(v, (int, float, complex, np.ndarray, np.generic)):
            continue
        dtype = np.result_type(v)
        tests.append(f"np.shape({name}) != {np.shape(v)!r}")
        tests.append(f"np.result_type({name}) != np.dtype({dtype.name!r})")
        made.append(f"{name}: {dtype.name}{list(np.shape(v))}")
        if k in static and isinstance(v, int):
            tests.append(f"{name} != {v!r}")
            made[-1] += f" = {v}"
    if not tests:
        return source
    lines = source.splitlines(keepends=True)
    at = fn.args.args[-1].end_lineno if fn.args.args else fn.lineno  # (after the def line)
    first = fn.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        at = first.end_lineno  # (after its docstring, which stays its __doc__)
    indent = " " * first.col_offset
    message = (
        f"{function} was specialised for {', '.join(made)} (emitted with example arguments); "
        "emit it for these arguments, or without them for any shapes"
    )
    check = [f"{indent}if (\n", f"{indent}    {tests[0]}\n"]
    check += [f"{indent}    or {t}\n" for t in tests[1:]]
    check += [f"{indent}):\n", f"{indent}    raise ValueError(\n"]
    pieces = textwrap.wrap(message, 76, break_long_words=False)
    pieces = [p + " " for p in pieces[:-1]] + pieces[-1:]  # (the spaces between, kept)
    check += [f"{indent}        {p!r}\n" for p in pieces]
    check += [f"{indent}    )\n"]
    return "".join(lines[:at] + check + lines[at:])
