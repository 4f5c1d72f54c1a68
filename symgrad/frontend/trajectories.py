"""A loop that reads the last item of the list it fills (a trajectory), written with that item
in a name of its own before lowering.

Contract: `desugar(src)` rewrites, in place, each loop of the function whose body appends to a
list `xs` (at its top level or in the branches of an `if`, not in a loop nested in it) and
reads `xs[-1]` (in its body or, for a `while`, in its test): every `xs[-1]` read there becomes
a name of the loop's own, `xs_last`, which each append binds first (`xs_last = v;
xs.append(xs_last)`: the item appended, as `xs[-1]` is after the append), and which is bound to
`xs[-1]` before the loop where the loop can read it before appending (as `xs[-1]` is then the
list's last item from before the loop, or the last step's). Lowering then meets a loop that
carries `xs_last` and fills `xs`, which it already differentiates:

    xs = [x0]
    for t in range(n):
        xs.append(xs[-1] + dt * f(xs[-1]))

becomes

    xs = [x0]
    xs_last = xs[-1]
    for t in range(n):
        xs_last = xs[-1] + dt * f(xs[-1])   # (with xs_last for xs[-1])
        xs.append(xs_last)

A read inside a lambda or a def in the loop (which Python evaluates when it is called), a list
also appended to in a nested loop, and any other item (`xs[-2]`) are left as they are, for
lowering to refuse.
"""

from __future__ import annotations

import ast
import linecache
import re

from symgrad.frontend.source import FunctionSource
from symgrad.syntax import walk

_LOOPS = (ast.For, ast.While)
_SCOPES = (ast.FunctionDef, ast.Lambda)


_LAST = re.compile(r"\[\s*-\s*1\s*\]")  # `[-1]`, however spaced


def desugar(src: FunctionSource) -> None:
    tree = src.tree
    lines = linecache.getlines(src.file)[tree.lineno - 1 : tree.end_lineno]
    if lines and not _LAST.search("".join(lines)):
        return  # (no xs[-1] in the text: the usual function, without a walk of its tree)
    nodes = walk(tree)
    if not any(isinstance(n, ast.Subscript) and _minus_one(n.slice) for n in nodes):
        return
    taken = {n.id for n in nodes if isinstance(n, ast.Name)}
    taken |= {a.arg for a in nodes if isinstance(a, ast.arg)}
    _block(src.tree.body, taken)


def _block(stmts: list[ast.stmt], taken: set[str]) -> None:
    out: list[ast.stmt] = []
    for s in stmts:
        for field in ("body", "orelse"):  # inner loops first: their reads are their own
            if isinstance(s, (*_LOOPS, ast.If, ast.FunctionDef)) and hasattr(s, field):
                _block(getattr(s, field), taken)
        if isinstance(s, _LOOPS):
            out.extend(_loop(s, taken))
        out.append(s)
    stmts[:] = out


def _loop(loop: ast.For | ast.While, taken: set[str]) -> list[ast.stmt]:
    """Rewrite the loop's reads of the lists it fills; the statements to put before it."""
    before = []
    for name in _appended(loop.body):
        tested = [loop.test] if isinstance(loop, ast.While) else []
        if not any(_is_last(n, name) for part in tested + loop.body for n in _own(part)):
            continue
        if any(_appends(n, name) for s in _nested_loops(loop.body) for n in _own(s)):
            continue
        last = _fresh(f"{name}_last", taken)
        early = bool(tested) and any(_is_last(n, name) for n in _own(loop.test))
        early = early or _order(loop.body, name) != "appended"
        reads = [n for part in tested + loop.body for n in _own(part) if _is_last(n, name)]
        first = min(reads, key=lambda n: (n.lineno, n.col_offset))
        reader = _Reads(name, last)  # (not a for's iterable: read once, before the loop)
        for stmt in loop.body:
            reader.visit(stmt)
        if tested:
            loop.test = reader.visit(loop.test)
        _bind_appends(loop.body, name, last)
        if early:  # (its read located at the loop's first: an empty list's error points there)
            read = ast.Subscript(ast.Name(name, ast.Load()), ast.Constant(-1), ast.Load())
            read = ast.fix_missing_locations(ast.copy_location(read, first))
            read.trajectory = True  # (an empty list's error says why it is read so early)
            before.append(_at(ast.Assign([ast.Name(last, ast.Store())], read), loop))
    return before


def _appended(stmts: list[ast.stmt]) -> list[str]:
    """Names `xs` of the `xs.append(v)` statements of a block and of its ifs' branches."""
    out: dict[str, None] = {}
    for s in stmts:
        if _append_of(s) is not None:
            out.setdefault(_append_of(s))
        if isinstance(s, ast.If):
            for name in _appended(s.body) + _appended(s.orelse):
                out.setdefault(name)
    return list(out)


def _append_of(s: ast.stmt) -> str | None:
    """`xs` where the statement is `xs.append(v)` (one argument)."""
    call = s.value if isinstance(s, ast.Expr) else None
    if not isinstance(call, ast.Call) or len(call.args) != 1 or call.keywords:
        return None
    f = call.func
    ok = isinstance(f, ast.Attribute) and f.attr == "append" and isinstance(f.value, ast.Name)
    return f.value.id if ok else None


def _appends(node: ast.AST, name: str) -> bool:
    f = node.func if isinstance(node, ast.Call) else None
    return isinstance(f, ast.Attribute) and f.attr == "append" and _named(f.value, name)


def _nested_loops(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """The loops inside a block, at any depth of its ifs and loops."""
    return [n for s in stmts for n in _own(s) if isinstance(n, _LOOPS)]


def _order(stmts: list[ast.stmt], name: str) -> str:
    """Whether, running the block, `xs[-1]` may be read before `xs.append` ("read"), or the
    append comes first on every path ("appended"), or neither happens ("neither")."""
    for s in stmts:
        if _append_of(s) == name:
            return "read" if any(_is_last(n, name) for n in _own(s)) else "appended"
        if isinstance(s, ast.If):
            if any(_is_last(n, name) for n in _own(s.test)):
                return "read"
            ways = {_order(s.body, name), _order(s.orelse, name)}
            if "read" in ways:
                return "read"
            if ways == {"appended"}:
                return "appended"
            continue
        if any(_is_last(n, name) for n in _own(s)):
            return "read"
    return "neither"


def _is_last(node: ast.AST, name: str) -> bool:
    """Whether node reads `name[-1]`."""
    if not (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load)):
        return False
    return _minus_one(node.slice) and _named(node.value, name)


def _minus_one(index: ast.AST) -> bool:
    """Whether an index is the int -1 (parsed as `-(1)`, or folded)."""
    if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub):
        one = index.operand
        return isinstance(one, ast.Constant) and type(one.value) is int and one.value == 1
    return isinstance(index, ast.Constant) and type(index.value) is int and index.value == -1


def _named(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _own(node: ast.AST) -> list[ast.AST]:
    """node's nodes, not those of a lambda or def inside it (evaluated when called)."""
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        if not isinstance(n, _SCOPES) or n is node:
            stack.extend(ast.iter_child_nodes(n))
    return out


class _Reads(ast.NodeTransformer):
    """`xs[-1]` read as the name `last`, outside lambdas and defs."""

    def __init__(self, name: str, last: str):
        self.name, self.last = name, last

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        if _is_last(node, self.name):
            return ast.copy_location(ast.Name(self.last, ast.Load()), node)
        return self.generic_visit(node)

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return node


def _bind_appends(stmts: list[ast.stmt], name: str, last: str) -> None:
    """Each `xs.append(v)` of the block (and of its ifs' branches) as `last = v;
    xs.append(last)`."""
    out: list[ast.stmt] = []
    for s in stmts:
        if isinstance(s, ast.If):
            _bind_appends(s.body, name, last)
            _bind_appends(s.orelse, name, last)
        if _append_of(s) == name:
            call = s.value
            out.append(_at(ast.Assign([ast.Name(last, ast.Store())], call.args[0]), s))
            call.args = [ast.copy_location(ast.Name(last, ast.Load()), call.args[0])]
        out.append(s)
    stmts[:] = out


def _at(new: ast.stmt, where: ast.AST) -> ast.stmt:
    """new with where's position (its whole span: a message's caret and its source line)."""
    ast.copy_location(new, where)
    return ast.fix_missing_locations(new)


def _fresh(name: str, taken: set[str]) -> str:
    k, out = 1, name
    while out in taken:
        out, k = f"{name}_{k}", k + 1
    taken.add(out)
    return out
