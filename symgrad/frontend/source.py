"""Reading a function's source: its `ast.FunctionDef` with line numbers of the real file.

Contract: `read_function(fn)` returns the function's AST (decorators dropped, line and column
numbers as in the file) and a `locate(node)` that turns an AST node into a `Loc` (file, line,
column, and the line's text for the caret). Functions without readable source raise
`SourceUnavailableError` saying why and what to do instead.
"""

from __future__ import annotations

import ast
import inspect
import linecache
import textwrap
from dataclasses import dataclass
from typing import Callable

from symgrad.errors import Loc, SourceUnavailableError


@dataclass
class FunctionSource:
    fn: Callable
    tree: ast.FunctionDef
    file: str

    def locate(self, node: ast.AST) -> Loc:
        line = getattr(node, "lineno", self.tree.lineno)
        col = getattr(node, "col_offset", 0)
        text = linecache.getline(self.file, line).rstrip("\n")
        return Loc(self.file, line, col, text)


def read_function(fn: Callable) -> FunctionSource:
    name = getattr(fn, "__qualname__", repr(fn))
    if getattr(fn, "__name__", "") == "<lambda>":
        raise SourceUnavailableError(
            f"cannot differentiate the lambda {name}: its source is not a statement symgrad can "
            "read on its own",
            hint="Define it with `def` instead.",
        )
    try:
        file = inspect.getsourcefile(fn) or inspect.getfile(fn)
        lines, start = inspect.getsourcelines(fn)
    except (OSError, TypeError) as e:
        raise SourceUnavailableError(
            f"cannot read the source of {name}: {e}",
            hint="symgrad differentiates Python functions defined in a file (or registered with "
            "linecache); built-ins, C extensions and functions typed into a bare REPL have none.",
        ) from None
    text = "".join(lines)
    indent = len(lines[0]) - len(lines[0].lstrip())
    try:
        module = ast.parse(textwrap.dedent(text))
    except SyntaxError as e:
        raise SourceUnavailableError(f"cannot parse the source of {name}: {e}") from None
    tree = module.body[0]
    if not isinstance(tree, ast.FunctionDef):
        raise SourceUnavailableError(f"the source of {name} is not a `def` statement")
    ast.increment_lineno(tree, start - 1)
    if indent:
        for node in ast.walk(tree):
            if hasattr(node, "col_offset"):
                node.col_offset += indent
    tree.decorator_list = []
    return FunctionSource(fn, tree, file)
