"""`break` and `continue`: a loop body's jumps rewritten as branches and flags before lowering.

Contract: `desugar(body)` returns a loop body's statements without the `break` and `continue`
statements that belong to that loop (a nested loop keeps its own), plus whether it may break.
A jump ends its block (the fence refuses code after one), and the rewrite keeps what runs:

- an `if` one of whose branches always jumps takes the statements after it into its other
  branch, so `if c: continue` followed by R becomes `if c: pass else: R` (as early returns are
  folded, `symgrad.frontend.branches.fold_returns`);
- `break` sets the flag `STOP`, which starts False at the top of the body; the loop reads its
  value at the end of the body and leaves when it is true (the emitted code: `if stop: break`);
- where an `if` jumps on some of its paths only and statements follow it, every jump also sets
  `SKIP` (False at the top of the body), and those statements run under `if SKIP: pass else:`.

Lowering turns the flags into graph values like any variable: a branch setting a flag to True
on one side and False on the other makes it the branch's condition (`branches.lower_if`).
"""

from __future__ import annotations

import ast

STOP = "<stop>"  # a break ran in this iteration: leave the loop after it
SKIP = "<skip>"  # a break or continue ran: skip the rest of the body
FLAGS = (STOP, SKIP)
READABLE = {STOP: "stop", SKIP: "skip"}  # what the emitted code calls them

_JUMPS = (ast.Break, ast.Continue)


def has_jump(stmts: list[ast.stmt], kinds: tuple = _JUMPS) -> bool:
    """Whether the block holds a jump of the loop it is in (not one of a nested loop's)."""
    for s in stmts:
        if isinstance(s, kinds):
            return True
        if isinstance(s, ast.If) and (has_jump(s.body, kinds) or has_jump(s.orelse, kinds)):
            return True
    return False


def always_jumps(stmts: list[ast.stmt]) -> bool:
    """Whether every path through the block ends in a break or continue."""
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, _JUMPS):
        return True
    return isinstance(last, ast.If) and always_jumps(last.body) and always_jumps(last.orelse)


def desugar(body: list[ast.stmt]) -> tuple[list[ast.stmt], bool]:
    """The body without its own jumps (see the module docstring), and whether it may break."""
    if not has_jump(body):
        return body, False
    breaks = has_jump(body, (ast.Break,))
    rewrite = _Rewrite(skip=False)
    stmts = rewrite.block(body)
    if rewrite.guards:  # some statements run under `if SKIP`: the jumps must set it
        rewrite = _Rewrite(skip=True)
        stmts = [_assign(SKIP, False, body[0]), *rewrite.block(body)]
    if breaks:
        stmts = [_assign(STOP, False, body[0]), *stmts]
    return stmts, breaks


class _Rewrite:
    def __init__(self, skip: bool):
        self.skip, self.guards = skip, 0

    def block(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for k, s in enumerate(stmts):
            if isinstance(s, _JUMPS):
                return out + self.jump(s)
            if not (isinstance(s, ast.If) and has_jump([s])):
                out.append(s)
                continue
            rest = stmts[k + 1 :]
            body_jumps, else_jumps = always_jumps(s.body), always_jumps(s.orelse)
            if body_jumps and not else_jumps:
                return out + [self.branch(s, s.body, s.orelse + rest)]
            if else_jumps and not body_jumps:
                return out + [self.branch(s, s.body + rest, s.orelse)]
            out.append(self.branch(s, s.body, s.orelse))
            if rest and not body_jumps:  # what follows runs unless a jump ran
                self.guards += 1
                test = ast.copy_location(ast.Name(SKIP, ast.Load()), s)
                out.append(ast.copy_location(ast.If(test, [], self.block(rest)), s))
            return out
        return out

    def branch(self, s: ast.If, body: list, orelse: list) -> ast.If:
        return ast.copy_location(ast.If(s.test, self.block(body), self.block(orelse)), s)

    def jump(self, s: ast.stmt) -> list[ast.stmt]:
        flags = [STOP] if isinstance(s, ast.Break) else []
        if self.skip:
            flags.append(SKIP)
        return [_assign(flag, True, s) for flag in flags]


def _assign(name: str, value: bool, where: ast.AST) -> ast.Assign:
    target = ast.copy_location(ast.Name(name, ast.Store()), where)
    return ast.copy_location(ast.Assign([target], ast.Constant(value)), where)
