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
from symgrad.frontend.jumps import FLAGS, READABLE
from symgrad.frontend.loops import _BodyEnv, _is_number, assigned_names
from symgrad.frontend.values import Unbound
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
    items = _fold_flags(lw, pred, outputs, _cond(lw, pred, s, branches), s)
    for name, item in zip(outputs, items):
        if isinstance(item, Value) and lw.graph[item.id].op == "item":
            lw.graph[item.id].name = _READABLE.get(name, name)
        lw.env[name] = item
    for name in bound[0] + bound[1]:
        if name not in outputs:
            lw.env[name] = Unbound(f"is bound in only one branch of the if on line {loc.line}")


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
    if isinstance(value, (Value, bool)) or _is_number(value):
        return value
    if isinstance(value, Unbound):
        raise lw.error(
            where,
            f"{name!r} {value.reason}",
            f"Bind {name} before the if, so that it has a value whichever way the code runs.",
            cls=UnsupportedSyntaxError,
        )
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


def _fold_flags(lw: _Lowerer, pred: Value, outputs: list, items: list, s: ast.If) -> list:
    """The values after the if of its outputs `items`: a flag of `jumps` that one branch sets
    True and the other False is the condition itself (or its negation), and one both branches
    set alike is that constant; the cond node keeps only the other outputs."""
    if not items:
        return items
    cond = lw.graph[lw.graph[items[0].id].inputs[0]]
    branches = cond.attrs["branches"]
    values: list = []
    for k, (name, item) in enumerate(zip(outputs, items)):
        ends = [b[b.outputs[k]] for b in branches]
        consts = [n.attrs["value"] if n.op == "const" else None for n in ends]
        if name not in FLAGS or not all(isinstance(c, bool) for c in consts):
            values.append(item)
        elif consts[0] == consts[1]:
            values.append(consts[0])
        else:
            flag = pred if consts[0] else lw.call_rule("logical_not", (pred,), {}, s)
            node = lw.graph[flag.id]
            if node.name is None and node.op != "param":
                node.name = READABLE[name]
            values.append(flag)
    kept = [k for k, v in enumerate(values) if v is items[k]]
    if len(kept) < len(items):
        for b in branches:
            dropped = {b.outputs[k] for k in range(len(items)) if k not in kept}
            b.outputs = [b.outputs[k] for k in kept]
            b.remove(o for o in dropped - set(b.outputs) if b[o].op == "const" and not b.users(o))
        lw.graph.remove(item.id for k, item in enumerate(items) if k not in kept)
        for new, k in enumerate(kept):
            lw.graph[items[k].id].attrs["index"] = new
        if not kept:
            lw.graph.remove([cond.id])
    return values


RETURN = "<return>"  # the variable an early return assigns (no source name can clash with it)
_READABLE = {RETURN: "out", **READABLE}


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
