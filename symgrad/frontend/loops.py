"""Lowering loops: `for name in range(...)` becomes one `loop` node owning its body's graph.

Contract: `lower_for(lowerer, stmt)` lowers the body once, into a graph of its own whose params
are the loop index, the carried variables (assigned in the body and bound before the loop: their
values flow from one iteration to the next) and the captured values (read in the body, bound
before it, never assigned there), and whose outputs are the carried variables' next values. The
enclosing graph gets a `loop` node and one `item` per carried variable, rebound to its final
value, so the emitted code is a loop whatever the trip count. A name first bound inside the loop
may not be read after it (its value would depend on the trip count being at least 1).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from symgrad.errors import SymgradError, UnsupportedSyntaxError
from symgrad.ir import Graph
from symgrad.rules import Value

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer


class LoopLocal:
    """What a name bound only inside a loop holds after it: reading it is an error."""

    def __init__(self, name: str, loc):
        self.name, self.loc = name, loc


class _BodyEnv(dict):
    """A loop body's names: its own, else the enclosing scope's, where a graph value read for the
    first time becomes a captured param of the body."""

    def __init__(self, outer: dict, body: Graph, captured: list[tuple[str, int]]):
        super().__init__()
        self.outer, self.body, self.captured = outer, body, captured

    def __contains__(self, name) -> bool:
        return dict.__contains__(self, name) or name in self.outer

    def __getitem__(self, name: str) -> Any:
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        value = self.outer[name]
        if isinstance(value, Value):
            param = Value(self.body.param(name))
            self.captured.append((name, value.id))
            dict.__setitem__(self, name, param)
            return param
        return value


def assigned_names(stmts: list[ast.stmt]) -> list[str]:
    """Names a block binds, in order of first binding (loop targets included)."""
    out: dict[str, None] = {}
    for stmt in stmts:
        for node in ast.walk(stmt):
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For)):
                targets = [node.target]
            for t in targets:
                for sub in ast.walk(t):
                    if isinstance(sub, ast.Name):
                        out.setdefault(sub.id)
    return list(out)


def lower_for(lw: _Lowerer, s: ast.For) -> None:
    loc = lw.src.locate(s)
    bounds = _range_bounds(lw, s)
    if not isinstance(s.target, ast.Name):
        raise lw.error(s.target, "a loop over range() binds one name", cls=UnsupportedSyntaxError)
    names = assigned_names(s.body)
    carried = [n for n in names if n in lw.env and n != s.target.id]
    for name in carried:
        value = lw.env[name]
        if isinstance(value, LoopLocal) or not (isinstance(value, Value) or _is_number(value)):
            raise lw.error(
                s,
                f"the loop changes {name!r}, which holds a {type(value).__name__} here",
                "Only arrays and numbers may be carried from one iteration to the next.",
                cls=UnsupportedSyntaxError,
            )
    body = Graph(f"{lw.graph.name}.loop", lw.graph.file, s.lineno)
    captured: list[tuple[str, int]] = []
    env = _BodyEnv(lw.env, body, captured)
    dict.__setitem__(env, s.target.id, Value(body.param(s.target.id, loc)))
    for name in carried:
        dict.__setitem__(env, name, Value(body.param(name, loc)))
    child = type(lw)(body, lw.src, env, lw.stack)
    child.block(s.body)
    body.outputs = [child.as_node(body, env[name], loc) for name in carried]
    inputs = [lw.as_node(lw.graph, b, loc) for b in bounds]
    inputs += [lw.as_node(lw.graph, lw.env[name], loc) for name in carried]
    inputs += [nid for _, nid in captured]
    attrs = {"n_operands": len(carried) + len(captured), "n_carried": len(carried), "body": body}
    loop = lw.graph.add("loop", inputs, attrs, loc)
    for k, name in enumerate(carried):
        lw.env[name] = Value(lw.graph.add("item", (loop,), {"index": k}, loc, name=name))
    for name in names:
        if name not in carried:
            lw.env[name] = LoopLocal(name, loc)


def _range_bounds(lw: _Lowerer, s: ast.For) -> tuple:
    it = s.iter
    if not (isinstance(it, ast.Call) and not it.keywords and lw.expr(it.func) is range):
        raise lw.error(
            it,
            "only loops over range(...) are supported so far",
            "Loop over indices: for i in range(len(xs)): x = xs[i].",
            cls=UnsupportedSyntaxError,
        )
    args = [lw.expr(a) for a in it.args]
    for a, node in zip(args, it.args):
        if not (isinstance(a, Value) or (isinstance(a, int) and not isinstance(a, bool))):
            raise lw.error(node, "range() takes integers")
    if not 1 <= len(args) <= 3:
        raise SymgradError("range() takes 1 to 3 arguments", lw.src.locate(it))
    start, stop, step = (0, args[0], 1) if len(args) == 1 else (*args, 1)[:3]
    return start, stop, step


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
