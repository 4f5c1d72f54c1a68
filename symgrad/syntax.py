"""Walks of Python syntax trees without `ast`'s generators, which cost more than the nodes they
list (a function's source is walked at every compile, its emitted lines at every emit).

Contract: `children(node)` is the values of node's fields in `ast.iter_child_nodes`' order, a
list field's items in place of the list (they may be other than nodes: a str, None);
`walk(node)` every node of the tree, as `ast.walk` finds them but in another order.
"""

from __future__ import annotations

import ast


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
