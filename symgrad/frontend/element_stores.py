"""An element of an item assigned (`state["h"][i] += v`, `d["c"][:, j] = v`): the item read
into a name of its own, then its element assigned (`state_h = state["h"]`, `state_h[i] += v`),
as Python does it: the item's array changes, and the container holds that array.

Contract: `desugar(src)` rewrites, before the fence, each assignment of one target and each
augmented assignment whose target is a subscript of a subscript (of a subscript ...) of a name.
The new name is the base's and the keys' (`state_h`; `z_0` of `z[0][1] = v`; `item` for a key
computed) and no other name of the function's. The item is read before the value is
computed, where Python computes a plain assignment's value first: the same but where computing
the value binds the container's item to another array. What the item is decides the rest: the
element of a dict's or a list's array changes that array (as any array named twice), and one
of an array's view (`z[0][1] = v`) is refused as any write through a view.
"""

from __future__ import annotations

import ast

from symgrad.frontend.source import FunctionSource


def desugar(src: FunctionSource) -> None:
    nodes = list(ast.walk(src.tree))
    stored = (n for n in nodes if isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store))
    if not any(isinstance(n.value, ast.Subscript) for n in stored):
        return  # (the common case: one walk)
    taken = {n.id for n in nodes if isinstance(n, ast.Name)}
    taken |= {a.arg for a in nodes if isinstance(a, ast.arg)}
    for node in nodes:
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt):
                stmts[:] = [new for s in stmts for new in _split(s, taken)]


def _split(s: ast.stmt, taken: set[str]) -> list[ast.stmt]:
    """s, or the item's read and s assigning to its element."""
    if isinstance(s, ast.Assign) and len(s.targets) == 1:
        target = s.targets[0]
    elif isinstance(s, ast.AugAssign):
        target = s.target
    else:
        return [s]
    if not (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Subscript)):
        return [s]
    base = target.value
    while isinstance(base, ast.Subscript):
        base = base.value
    if not isinstance(base, ast.Name):
        return [s]
    name = _fresh(_spelt(target.value), taken)
    read = ast.copy_location(ast.Assign([ast.Name(name, ast.Store())], target.value), s)
    target.value = ast.copy_location(ast.Name(name, ast.Load()), target.value)
    return [ast.fix_missing_locations(read), s]


def _spelt(item: ast.expr) -> str:
    """`state["h"]`'s name: state_h (z[0]: z_0; a key computed: item)."""
    keys = []
    while isinstance(item, ast.Subscript):
        key = item.slice
        const = key.value if isinstance(key, ast.Constant) else None
        named = isinstance(const, str) and const.isidentifier()
        keys.append(const if named else str(const) if type(const) is int else "item")
        item = item.value
    return "_".join([item.id, *reversed(keys)])  # type: ignore[attr-defined]


def _fresh(name: str, taken: set[str]) -> str:
    found, n = name, 1
    while found in taken:
        found, n = f"{name}_{n}", n + 1
    taken.add(found)
    return found
