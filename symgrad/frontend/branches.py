"""Lowering branches: `if`/`elif`/`else` and `a if c else b` on runtime values become `cond` nodes.

Contract: a condition known when compiling (a constant, a flag default) picks its branch at once.
Otherwise both branches are lowered, each into a graph of its own whose params are the values it
reads from before the `if` (like a loop body's captured values), and whose outputs are the
variables the `if` binds that exist afterwards: those bound before it, and those both branches
bind. The enclosing graph gets a `cond` node on the condition and those values, and one `item`
per output variable. A variable only one branch binds may not be read after the `if`.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from symgrad.errors import UnsupportedSyntaxError
from symgrad.frontend.loops import Unbound, _BodyEnv, _is_number, assigned_names
from symgrad.ir import Graph
from symgrad.rules import Value

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer


def lower_if(lw: _Lowerer, s: ast.If) -> None:
    pred = _condition(lw, s.test)
    if not isinstance(pred, Value):  # decided now
        lw.block(s.body if pred else s.orelse)
        return
    loc = lw.src.locate(s)
    bound = [assigned_names(s.body), assigned_names(s.orelse)]
    outputs = [
        n
        for n in dict.fromkeys(bound[0] + bound[1])
        if n in lw.env or (n in bound[0] and n in bound[1])
    ]

    def lower_branch(child: _Lowerer, env: _BodyEnv, stmts: list) -> list:
        child.block(stmts)
        return [_output(lw, s, name, env[name]) for name in outputs]

    branches = [lambda c, e, b=b: lower_branch(c, e, b) for b in (s.body, s.orelse)]
    items = _cond(lw, pred, s, branches)
    for name, item in zip(outputs, items):
        lw.graph[item.id].name = name if name != RETURN else "out"
        lw.env[name] = item
    for name in bound[0] + bound[1]:
        if name not in outputs:
            lw.env[name] = Unbound(loc, f"is bound in only one branch of the if on line {loc.line}")


def lower_ifexp(lw: _Lowerer, e: ast.IfExp) -> Any:
    pred = _condition(lw, e.test)
    if not isinstance(pred, Value):
        return lw.expr(e.body if pred else e.orelse)
    branches = [
        lambda c, env, x=x: [_output(lw, e, "the value", c.expr(x))] for x in (e.body, e.orelse)
    ]
    return _cond(lw, pred, e, branches)[0]


def _condition(lw: _Lowerer, test: ast.expr) -> Any:
    pred = lw.expr(test)
    if isinstance(pred, Value) or isinstance(pred, (bool, int, float, type(None))):
        return pred
    if isinstance(pred, (tuple, list, str)):
        return bool(pred)
    raise lw.error(test, f"a condition on a {type(pred).__name__} is not supported")


def _output(lw: _Lowerer, where: ast.AST, name: str, value: Any) -> Any:
    if isinstance(value, Value) or _is_number(value):
        return value
    raise lw.error(
        where,
        f"a branch gives {name} a {type(value).__name__}",
        "Branches may only choose between arrays and numbers.",
        cls=UnsupportedSyntaxError,
    )


def _cond(lw: _Lowerer, pred: Value, where: ast.AST, branches: list) -> list[Value]:
    """A `cond` node choosing between `branches` (each lowers into (child, env) and returns its
    output values); its items."""
    loc = lw.src.locate(where)
    graphs, captures = [], []
    for lower_branch in branches:
        graph = Graph(f"{lw.graph.name}.if", lw.graph.file, getattr(where, "lineno", 0))
        captured: list[tuple[str, int]] = []
        env = _BodyEnv(lw.env, lw.graph, graph, captured)
        child = type(lw)(graph, lw.src, env, lw.stack)
        graph.outputs = [child.as_node(graph, v, loc) for v in lower_branch(child, env)]
        graphs.append(graph)
        captures.append([nid for _, nid in captured])
    operands = list(dict.fromkeys(nid for nids in captures for nid in nids))
    params = tuple(tuple(operands.index(nid) for nid in nids) for nids in captures)
    attrs = {"n_operands": len(operands), "branches": tuple(graphs), "params": params}
    node = lw.graph.add("cond", (pred.id, *operands), attrs, loc)
    return [
        Value(lw.graph.add("item", (node,), {"index": k}, loc))
        for k in range(len(graphs[0].outputs))
    ]


RETURN = "<return>"  # the variable an early return assigns (no source name can clash with it)


def fold_returns(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """The block with its early returns folded away: `if c: return a` followed by the rest `R`
    becomes `if c: <return> = a  else: R (with its return assigned)`, then `return <return>`,
    so that the one `return` is last. Blocks that do not return end as they were."""
    for k, s in enumerate(stmts):
        if isinstance(s, ast.If) and _returns(s.body + s.orelse):
            rest, branches = stmts[k + 1 :], []
            for block in (s.body, s.orelse):
                folded = fold_returns(block)
                if not (folded and isinstance(folded[-1], ast.Return)):
                    folded = fold_returns(block + rest)  # this branch falls through to the rest
                if not (folded and isinstance(folded[-1], ast.Return)):
                    return stmts  # a path ends without a value: the fence says so
                ret = folded[-1]
                target = ast.copy_location(ast.Name(RETURN, ast.Store()), ret)
                branches.append(
                    [*folded[:-1], ast.copy_location(ast.Assign([target], ret.value), ret)]
                )
            value = ast.copy_location(ast.Name(RETURN, ast.Load()), s)
            return [
                *stmts[:k],
                ast.copy_location(ast.If(s.test, *branches), s),
                ast.copy_location(ast.Return(value), s),
            ]
    return stmts


def _returns(stmts: list[ast.stmt]) -> bool:
    return any(isinstance(n, ast.Return) for s in stmts for n in ast.walk(s))
