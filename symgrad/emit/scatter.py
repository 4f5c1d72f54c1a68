"""A backward loop's step adding into the part of a captured value's cotangent it read.

Contract: `added_at(body, out, captured)` is the `index_add` node of a backward loop's body
whose result is the body output `out`, the cotangent of the `captured` param (directly or
fitted to it), used nowhere else; else None. `scatter(sub, out, acc, captured)` writes it as
an update of the running cotangent `acc`: `acc[index] += v` where the index holds ints and
slices alone (no element repeats), else `np.add.at(acc, index, v)`; None where `out` is not
such a node (or is named by a statement of its own). A row read in the body (`X[k]`) so adds
into its row, instead of building a whole array of zeros each step.
"""

from __future__ import annotations

import ast

from symgrad.rules import RULES, indexing
from symgrad.rules.indexing import index_expr


def added_at(body, out: int, captured: int) -> int | None:
    if not _only_output(body, out):
        return None
    node = body[out]
    if node.op == "fit" and node.inputs[1] == captured:
        inner = node.inputs[0]
        if body.users(inner) != [out] or inner in body.outputs:
            return None
        out, node = inner, body[inner]
    if node.op != "index_add" or node.inputs[0] != captured:
        return None
    return out


def _only_output(body, nid: int) -> bool:
    return not body.users(nid) and body.outputs.count(nid) == 1


def basic(body, node) -> bool:
    """Whether the index of `index_add` node holds ints and slices alone (`indexing.basic`)."""
    return indexing.basic({"parts": [body[p].aval for p in node.inputs[2:]]}, node.attrs)


def scatter(sub, out: int, acc: str, captured: int) -> ast.stmt | None:
    g = sub.graph
    if g[out].op == "fit" and g[out].inputs[1] == captured and out in sub.inline:
        out = g[out].inputs[0]
    node = g[out]
    if node.op != "index_add" or out not in sub.inline or node.inputs[0] != captured:
        return None
    x, v, *parts = node.inputs
    if basic(g, node):
        where = index_expr(node.attrs["index"], [sub.expr(p) for p in parts])
        target = ast.Subscript(ast.Name(acc, ast.Load()), where, ast.Store())
        return ast.AugAssign(target, ast.Add(), sub.expr(v))
    rule = RULES["index_add"]
    args = [sub.expr(x), sub.expr(v), ast.List([sub.expr(p) for p in parts], ast.Load())]
    where = rule.emit(args, node.attrs, rule).args[1]
    add_at = ast.Attribute(ast.Attribute(ast.Name("np", ast.Load()), "add"), "at")
    return ast.Expr(ast.Call(add_at, [ast.Name(acc, ast.Load()), where, args[1]], []))
