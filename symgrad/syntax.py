"""Walks of Python syntax trees without `ast`'s generators, which cost more than the nodes they
list (a function's source is walked at every compile, its emitted lines at every emit), and of
compiled code for the source lines it spans.

Contract: `children(node)` is the values of node's fields in `ast.iter_child_nodes`' order, a
list field's items in place of the list (they may be other than nodes: a str, None);
`walk(node)` every node of the tree, as `ast.walk` finds them but in another order;
`nested_codes(code)` the code objects compiled inside code (defs, lambdas, comprehensions), at
every depth; `last_line(code)` the last line that code or code nested in it has a position on
(0 where none): where a function's source ends, found without tokenizing its file;
`rename(node, renames)` renames a comprehension's variables in place, as Python scopes them.
"""

from __future__ import annotations

import ast
import types
from typing import Iterator


def children(node: ast.AST) -> list:
    out = []
    for field in node._fields:
        value = getattr(node, field, None)
        if type(value) is list:
            out += value
        else:
            out.append(value)
    return out


def walk(node: ast.AST) -> list[ast.AST]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.AST):
            out.append(n)
            stack += children(n)
    return out


def nested_codes(code: types.CodeType) -> Iterator[types.CodeType]:
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield c
            yield from nested_codes(c)


def last_line(code: types.CodeType) -> int:
    return max(
        (e for c in (code, *nested_codes(code)) for _, e, _, _ in c.co_positions() if e), default=0
    )


def rename(node: ast.AST, renames: dict[str, str]) -> bool:
    """node's names renamed in place (`renames`: old name -> new), except inside a lambda
    whose parameters bind them anew (its defaults are renamed: they are evaluated where it is
    made); whether any was."""
    renames = {k: v for k, v in renames.items() if k != v}
    return bool(renames) and _Renamed(renames).run(node)


class _Renamed(ast.NodeVisitor):
    def __init__(self, renames: dict[str, str]):
        self.renames, self.changed = renames, False

    def run(self, node: ast.AST) -> bool:
        self.visit(node)
        return self.changed

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self.renames:
            node.id, self.changed = self.renames[node.id], True

    def visit_Lambda(self, node: ast.Lambda) -> None:
        args = node.args
        for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            self.visit(default)
        bound = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        inner = _Renamed({k: v for k, v in self.renames.items() if k not in bound})
        self.changed |= bool(inner.renames) and inner.run(node.body)
