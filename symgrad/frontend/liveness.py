"""Liveness of a name in a function's source: whether a statement's change of an array in place
can reach a later read of a name holding part of it.

Contract: `placed(tree, where)` finds the update at node `where` in the function `tree` (its
source, as read): the assignment whose one target it is (`H[t + 1] = ...`), or None where
the update may come before its statement is done or symgrad cannot tell. `read_after(tree,
name, place)` is False only where `tree` provably never reads `name` after that assignment
has run, with the value it holds then; True wherever that is not certain:
- the update has no place (`placed` gave None: `where` is not a node of `tree`, as in a
  statement symgrad wrote; an `if` or a loop whose branches or steps made it; a later target
  of a tuple assignment, `np.add.at` in an expression);
- the name is never bound in `tree` by a plain assignment, or is declared global or nonlocal;
- a nested function, lambda, class or generator expression reads it (it may run at any
  time);
- a read of it follows the statement in the source;
- a loop around the statement can run it again: where a `while`'s test reads it, or where its
  body does not rebind it (a plain `name = ...` at the body's top level, not reading it) before
  the first statement that reads it or holds the update.

So an RNN step's `h = H[t]; H[t + 1] = np.tanh(W @ h + x[t])` holds a row of H across the
update of another row, but reads it no more: `symgrad.frontend.aliases.update` need not check
that the row is a number.

For a loop's body: `held_at(body, name, where)` is False only where every path through a step
binds `name` before it reaches the update at `where` (a view the loop carries in, `h = H[0]`,
bound again by `h = np.tanh(W @ h + x[t])` before `H[t + 1] = h`: `loops`); `read_first(body,
name)` says whether a step may read `name` before binding it (a first step's binding the
next steps read: `loops._first_step`).
"""

from __future__ import annotations

import ast

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.GeneratorExp)
# (code that may run later than where it stands: a generator reads its iterable's entries
# when it is advanced)


def placed(tree: ast.FunctionDef, where: ast.AST) -> tuple[list, ast.stmt] | None:
    """(the nodes from tree down to `where`, the statement holding it) where `where` is the one
    target of an assignment (its value and the target's own index are read before the
    update); None elsewhere: not a node of `tree`, a statement itself (an `if` or a loop whose
    branches or steps made the update: a read inside it may follow), or in another place
    (`H[1], y[i] = ...` stores H[1] before it reads `i`; `np.add.at(H, ...)` changes H while
    its expression is evaluated), where the update may come before its statement is done."""
    path = _path(tree, where)
    if path is None or isinstance(where, ast.stmt):
        return None
    statement = next((n for n in reversed(path) if isinstance(n, ast.stmt)), None)
    if not _the_target(statement, where) or getattr(statement, "end_lineno", None) is None:
        return None
    return path, statement


def read_after(tree: ast.FunctionDef, name: str, place: tuple | None, callers: bool = True) -> bool:
    """Whether `name` may be read after the update at `place` (`placed`; None: True): by a
    later statement, or by a loop holding the update, which reads it again in its next step
    unless it rebinds it first; a name the function never binds (a parameter) is taken as
    read by its caller, unless `callers` is False (an update symgrad computes as a new value,
    as a parameter's own `x += v`, changes nothing the caller holds)."""
    if place is None:
        return True
    path, statement = place
    end = (statement.end_lineno, statement.end_col_offset)
    bound = False
    for node in ast.walk(tree):
        if node is not tree and isinstance(node, _SCOPES) and _reads(node, name):
            return True
        if isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
            return True
        if isinstance(node, ast.Assign) and _rebinds(node, name):
            bound = True
        if _read(node, name) and (node.lineno, node.col_offset) >= end:
            return True
    if not bound and callers:
        return True
    for k, node in enumerate(path):
        if isinstance(node, (ast.For, ast.While)) and node is not tree and _reads(node, name):
            if isinstance(node, ast.While) and _reads(node.test, name):
                return True
            if not _rebound_first(node.body, name, path[k + 1]):
                return True
    return False


def seen_after(tree: ast.FunctionDef, statement: ast.stmt, name: str) -> bool:
    """Whether the value `name` holds when `statement` (a loop) is done may be read: False only
    where every later read, in the source's order and in the next steps of the loops around
    it, follows a rebinding of the name (`name = ...`, or a `for name in ...` whose body reads
    it: Gaussian elimination's inner `for i` before back substitution's own `for i`)."""
    path = _path(tree, statement)
    if path is None:
        return True
    for node in ast.walk(tree):
        if node is not tree and isinstance(node, _SCOPES) and _reads(node, name):
            return True
        if isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
            return True
    child = statement
    for node in reversed(path[:-1]):  # the blocks around it, innermost first
        for block in (getattr(node, "body", []), getattr(node, "orelse", [])):
            if any(item is child for item in block):
                k = next(k for k, item in enumerate(block) if item is child)
                fate = _fate_of(block[k + 1 :], name)
                if fate is not None:
                    return fate
        if isinstance(node, (ast.For, ast.While)) and any(item is child for item in node.body):
            again = _fate_of([ast.Expr(node.test)] if isinstance(node, ast.While) else [], name)
            if again or not _binds(node, name) and _fate_of(node.body, name):
                return True  # (its next step's test, or body, reads it first)
        child = node
    return False


def read_first(block: list[ast.stmt], name: str) -> bool:
    """Whether the block (a loop's body) may read `name` before it binds it, a loop in it whose
    every step binds it binding it (symgrad reads a name a loop binds, after the loop, where
    the loop ends), and so a for loop in it binding it in a step after reading it in one
    (`symgrad.frontend.loops._first_step` lowers its first step on its own)."""
    return _fate_of(block, name, loops_bind=True) is True


def _fate_of(block: list[ast.stmt], name: str, loops_bind: bool = False) -> bool | None:
    """True where the block may read `name` before it rebinds it, False where it surely rebinds
    it first, None where it does neither (a loop may run no step, a branch may not be taken;
    `loops_bind`: a loop whose every step binds it, or whose target it is, binds it)."""
    for statement in block:
        if isinstance(statement, ast.Assign):
            if _reads(statement, name):  # (its value, and a target's index, are read first)
                return True
            if any(name in _bound_names(t) for t in statement.targets):
                return False
        elif isinstance(statement, ast.For):
            if _reads(statement.iter, name) or _reads(statement.target, name):
                return True
            fate = _fate_of(statement.body, name, loops_bind)
            if loops_bind and fate and _stores(statement.body, name):
                return False  # (its first step, lowered on its own, binds it for the next)
            if not _binds(statement, name) and fate:
                return True
            if _fate_of(statement.orelse, name, loops_bind):
                return True
            if loops_bind and (_binds(statement, name) or fate is False):
                return False
        elif isinstance(statement, ast.While):
            fate = _fate_of(statement.body, name, loops_bind)
            if _reads(statement.test, name) or fate:
                return True
            if loops_bind and fate is False:
                return False
        elif isinstance(statement, ast.If):
            if _reads(statement.test, name):
                return True
            fates = (
                _fate_of(statement.body, name, loops_bind),
                _fate_of(statement.orelse, name, loops_bind),
            )
            if True in fates:
                return True
            if fates == (False, False):
                return False
        elif _reads(statement, name):
            return True
    return None


def held_at(block: list[ast.stmt], name: str, where: ast.AST) -> bool:
    """Whether some path through the block (a loop's body) may reach `where` (a node in it)
    with `name` not bound since the block began, holding what it held then; True where
    `where` is not in the block (an update in a function it calls), or is a statement
    around other code (an if whose branches made the update)."""
    for statement in block:
        if not contains(statement, where):
            if _surely_binds(statement, name):
                return False
            continue
        inner = [
            part
            for part in (getattr(statement, "body", None), getattr(statement, "orelse", None))
            if isinstance(part, list) and any(contains(s, where) for s in part)
        ]
        return held_at(inner[0], name, where) if inner else True
    return True


def contains(node: ast.AST, where: ast.AST) -> bool:
    """Whether `where` is node or a node inside it."""
    return any(n is where for n in ast.walk(node))


def _surely_binds(statement: ast.stmt, name: str) -> bool:
    """Whether the statement binds name on every path through it (`name = ...`, in both
    branches of an if)."""
    if isinstance(statement, ast.Assign):
        return any(name in _bound_names(t) for t in statement.targets)
    if isinstance(statement, ast.If):
        return all(
            any(_surely_binds(s, name) for s in b) for b in (statement.body, statement.orelse)
        )
    return False


def _stores(block: list[ast.stmt], name: str) -> bool:
    """Whether the block binds name somewhere (`name = ...`, in any branch)."""
    return any(
        isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)
        for statement in block
        for n in ast.walk(statement)
    )


def _binds(loop: ast.AST, name: str) -> bool:
    """Whether a for loop's target binds name (each step, before its body runs)."""
    return isinstance(loop, ast.For) and name in _bound_names(loop.target)


def _bound_names(target: ast.AST) -> set[str]:
    """The names a target binds itself (not an element's or an attribute's array)."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*(_bound_names(t) for t in target.elts))
    if isinstance(target, ast.Starred):
        return _bound_names(target.value)
    return set()


def _the_target(statement: ast.AST | None, where: ast.AST) -> bool:
    """Whether `where` is the one target of an assignment statement (its value and the
    target's own index are read before the update)."""
    if isinstance(statement, ast.Assign):
        return len(statement.targets) == 1 and statement.targets[0] is where
    return isinstance(statement, (ast.AugAssign, ast.AnnAssign)) and statement.target is where


def _path(tree: ast.AST, where: ast.AST) -> list[ast.AST] | None:
    """The nodes from tree down to `where` (itself included), or None where it is not in tree."""
    if tree is where:
        return [tree]
    for child in ast.iter_child_nodes(tree):
        found = _path(child, where)
        if found is not None:
            return [tree, *found]
    return None


def _reads(node: ast.AST, name: str) -> bool:
    return any(_read(n, name) for n in ast.walk(node))


def _read(node: ast.AST, name: str) -> bool:
    """Whether node itself reads name: a load of it, or `name += ...` (a Store that reads)."""
    if isinstance(node, ast.AugAssign):
        return isinstance(node.target, ast.Name) and node.target.id == name
    return isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load)


def _rebinds(node: ast.AST, name: str) -> bool:
    """Whether node is `name = value` (one plain target) whose value does not read name."""
    return (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id == name
        and not _reads(node.value, name)
    )


def _rebound_first(body: list[ast.stmt], name: str, holding: ast.AST) -> bool:
    """Whether a loop's next step rebinds name at its body's top level before it reads it or
    reaches `holding` (the statement of the body that holds the update)."""
    for statement in body:
        if statement is holding or _reads(statement, name):
            return False
        if _rebinds(statement, name):
            return True
    return False
