"""A loop left by a `return`, and a loop's `else`: written as the breaks they are, with a name
that says how the loop ended, tested after it.

Contract: `desugar(src)` rewrites, in place, the loops of the function (and of each def in it):

- an outermost loop whose body returns: a name of its own, `returned`, is 0 before the loop;
  the k-th `return v` in the loop (in any branch, or in a loop nested in it) becomes
  `returned = k; break`, the assignments to names just before it (as a break's, below) taken
  out with it; each loop nested in it that returns is followed by `if returned: break`; and
  after the loop, `if returned == k: <those assignments>; return v` for each k. Nothing runs between
  the return and the loop's end, so `v` read after the loop has the values it had where it
  was returned (the index of a `for` keeps its value at the break, as Python's). After a
  `while True:` that only a return leaves, the last return is unconditional;
- a loop with an `else`: a name of its own, `broke`, is 0 before the loop, the k-th break of
  the loop itself (a return's too) sets it to k first, and after the loop `if broke == 1:
  ... elif broke == 2: ... else: <the else block>`, where the k-th branch holds the
  assignments to names just before the k-th break, taken out of the loop (nothing runs
  between them and the loop's end): a name bound where the loop breaks and in its else (`if
  x[i] < 0: s = x[i]; break` ... `else: s = 0.0`) has a value on every path after the loop,
  as in Python. (A name the loop binds, read there, is its last step's, which symgrad reads
  where the loop ends: after a loop of no step, a `SymgradError` when it runs.) A `while
  True:` that breaks is one with an else that never runs: its last break's branch is the
  chain's else (of one break, its assignments follow the loop, and no `broke`), and where no
  break has assignments just before it, the loop is left as it is.

Lowering then meets loops that break, and returns and branches after them, which it already
differentiates:

    for i in range(n):                      returned = 0
        x = step(x)                         for i in range(n):
        if np.sum(x) < tol:                     x = step(x)
            return x * i          ->            if np.sum(x) < tol:
    return x                                        returned = 1
                                                    break
                                            if returned == 1:
                                                return x * i
                                            return x

Code after a return in the loop is refused, as the fence refuses it anywhere.
"""

from __future__ import annotations

import ast
import copy
from collections import Counter
from typing import Callable

from symgrad.errors import UnsupportedSyntaxError
from symgrad.frontend.source import FunctionSource, own_nodes
from symgrad.ir.names import fresh
from symgrad.syntax import walk

_LOOPS = (ast.For, ast.While)
_DEAD = "code after a return never runs"


def desugar(src: FunctionSource) -> None:
    nodes = walk(src.tree)
    if not any(isinstance(n, _LOOPS) and (n.orelse or _returns(n) or _endless(n)) for n in nodes):
        return  # (the usual function)
    taken = {n.id for n in nodes if isinstance(n, ast.Name)}
    taken |= {a.arg for a in nodes if isinstance(a, ast.arg)}
    for fn in [n for n in nodes if isinstance(n, ast.FunctionDef)]:
        fn.body = _Rewrite(src, taken).block(fn.body)
    src.moved = True  # (a return read after its loop, its text inside it)


def _returns(loop: ast.stmt) -> bool:
    return any(isinstance(n, ast.Return) for n in own_nodes(loop))


def _returns_in(stmts: list[ast.stmt]) -> bool:
    return any(_returns(s) for s in stmts)


class _Rewrite:
    def __init__(self, src: FunctionSource, taken: set[str]):
        self.src, self.taken = src, taken

    def block(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        """The block with each loop's exits rewritten (in its `if` branches too)."""
        out: list[ast.stmt] = []
        for s in stmts:
            if isinstance(s, ast.If):
                s.body, s.orelse = self.block(s.body), self.block(s.orelse)
            out += self.loop(s) if isinstance(s, _LOOPS) else [s]
        return out

    def loop(self, loop: ast.For | ast.While) -> list[ast.stmt]:
        """The statements the loop becomes: its flags set, it, and the code after it."""
        before: list[ast.stmt] = []
        values: dict[int, list] = {}  # (the loop's returns, by the flag's value: each with the
        flag, last = "", 0  # assignments just before it; `last`: the one after the loop alone)
        if _returns_in(loop.body):  # (a return in its else is after it)
            flag = fresh("returned", self.taken)
            endless = isinstance(loop, ast.While) and _true(loop.test) and not _breaks(loop.body)
            returns: list[list[ast.stmt]] = []
            kept = self.kept(loop, lambda body, k, tails: self.body(body, flag, tails, k))
            loop.body = self.body(loop.body, flag, returns, kept)
            values = dict(enumerate(returns, 1))
            last = len(returns) if endless else 0  # (the loop ends only where one returns)
            before.append(_assign(flag, 0))
        loop.body = self.block(loop.body)  # (the loops in it and in its else: their exits)
        loop.orelse = self.block(loop.orelse)
        ran: list[ast.stmt] = []
        broke = fresh("broke", self.taken) if loop.orelse or _endless(loop) else None
        tails: list[list[ast.stmt]] = []
        if broke is not None:  # (`while True:` ends at a break: as a loop with an else that
            kept = self.kept(loop, lambda body, k, trial: _marked(body, broke, trial, k))
            marked = _marked(copy.deepcopy(loop.body), broke, tails, kept)
        if broke is not None and (loop.orelse or any(tails)):  # never runs, the last break's
            loop.body = marked  # branch the chain's else; where no break has names bound
            if loop.orelse or len(tails) > 1:  # just before it, the loop as it is; of one
                before.append(_assign(broke, 0))  # break, no flag to test)
            else:
                loop.body = _unmarked(loop.body, broke)
            ran = loop.orelse  # (one chain: a name each path binds is bound after it)
            for k in range(len(tails), 0, -1):
                test = ast.Compare(ast.Name(broke, ast.Load()), [ast.Eq()], [ast.Constant(k)])
                tail = tails[k - 1] or [ast.copy_location(ast.Pass(), loop)]
                j = _returning(tail[-1], flag) if values else None
                if j is not None:  # (a return's break: it returns there)
                    tail += values.pop(j)
                if not loop.orelse and k == len(tails):
                    ran = tail
                    continue
                ran = [ast.copy_location(ast.If(test, tail, ran), tail[0])]
            loop.orelse = []
        after = []
        for k, tail in values.items():
            if k == last:
                after += tail
                continue
            test = ast.Compare(ast.Name(flag, ast.Load()), [ast.Eq()], [ast.Constant(k)])
            after.append(ast.copy_location(ast.If(test, tail, []), tail[-1]))
        made = [ast.copy_location(s, loop) for s in before]
        return [ast.fix_missing_locations(s) for s in (*made, loop, *ran, *after)]

    def bound_before(self, loop: ast.For | ast.While) -> set[str]:
        """The names bound before the loop's line (the function's parameters, assignments):
        a loop carries them, whatever its steps."""
        args = self.src.tree.args
        names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        for n in walk(self.src.tree):
            stored = isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            if stored and getattr(n, "lineno", loop.lineno) < loop.lineno:  # (not ours)
                names.add(n.id)
        return names

    def kept(self, loop: ast.For | ast.While, exits: Callable) -> tuple[set, set]:
        """What `_movable` leaves in the loop: the names bound before it, and the names its
        exits would take out (`exits(body, kept, tails)` run on a copy of the body) that it
        binds elsewhere too (`_bound_beside`)."""
        before, trial = self.bound_before(loop), []
        exits(copy.deepcopy(loop.body), (before, set()), trial)
        return before, _bound_beside(loop.body, trial)

    def body(self, stmts: list[ast.stmt], flag: str, values: list, kept: tuple) -> list[ast.stmt]:
        """The loop's body with its returns setting `flag` and breaking (`values` receives
        each, after the assignments just before it, taken out as `_marked` takes them before a
        break: `frac = x / (x - x_new); return frac` binds frac where the loop ends)."""
        out: list[ast.stmt] = []
        for k, s in enumerate(stmts):
            if isinstance(s, ast.Return):
                if k != len(stmts) - 1:
                    where = self.src.locate(stmts[k + 1])
                    raise UnsupportedSyntaxError(_DEAD, where, "Remove it.")
                first = len(out)
                while first and _movable(out[first - 1], *kept):
                    first -= 1
                values.append(out[first:] + [s])
                mark = _assign(flag, len(values))
                out[first:] = [ast.copy_location(mark, s), ast.copy_location(ast.Break(), s)]
                continue
            if isinstance(s, ast.If):
                s.body = self.body(s.body, flag, values, kept)
                s.orelse = self.body(s.orelse, flag, values, kept)
            out.append(s)
            if isinstance(s, _LOOPS) and _returns(s):  # (its else's break leaves this loop)
                s.body = self.body(s.body, flag, values, kept)
                s.orelse = self.body(s.orelse, flag, values, kept)
                jump = ast.If(ast.Name(flag, ast.Load()), [ast.Break()], [])
                out.append(ast.fix_missing_locations(ast.copy_location(jump, s)))
        return out


def _assign(name: str, value: object) -> ast.Assign:
    return ast.Assign([ast.Name(name, ast.Store())], ast.Constant(value))


def _marked(stmts: list[ast.stmt], flag: str, tails: list, kept: tuple) -> list[ast.stmt]:
    """The block with the k-th break of its loop (not of a loop nested in it) setting `flag` to
    k, the assignments just before it taken out into `tails[k - 1]` (`_movable`, of `kept`:
    the names bound before the loop, and those the loop binds elsewhere too)."""
    out: list[ast.stmt] = []
    for s in stmts:
        if isinstance(s, ast.Break):
            k = len(out)
            while k and _movable(out[k - 1], *kept):
                k -= 1
            tails.append(out[k:])
            out[k:] = [ast.fix_missing_locations(ast.copy_location(_assign(flag, len(tails)), s))]
        if isinstance(s, ast.If):
            s.body = _marked(s.body, flag, tails, kept)
            s.orelse = _marked(s.orelse, flag, tails, kept)
        out.append(s)
    return out


def _unmarked(stmts: list[ast.stmt], flag: str) -> list[ast.stmt]:
    """The block without its `flag = k` marks (in its branches too)."""
    out = []
    for s in stmts:
        if isinstance(s, ast.If):
            s.body = _unmarked(s.body, flag) or [ast.copy_location(ast.Pass(), s)]
            s.orelse = _unmarked(s.orelse, flag)
        if _returning(s, flag) is None:
            out.append(s)
    return out


def _movable(s: ast.stmt, before: set, rebound: set) -> bool:
    """An assignment to names, not all bound before the loop (the loop carries those, a loop
    of no step too), or reading nothing but them; none of them bound elsewhere in the loop
    too (`rebound`, `_bound_beside`)."""
    if not (isinstance(s, ast.Assign) and _to_names(s)):
        return False
    targets = {n.id for t in s.targets for n in walk(t) if isinstance(n, ast.Name)}
    reads = {n.id for n in walk(s.value) if isinstance(n, ast.Name)}
    return not targets & rebound and (not targets <= before or reads <= before)


def _bound_beside(body: list[ast.stmt], tails: list[list[ast.stmt]]) -> set[str]:
    """The names the tails (what the loop's exits would take out) bind that the body binds
    elsewhere too (a step that goes on binds them: the loop's last step's value, which the
    step leaving it must bind as the others do)."""
    moved = Counter(n.id for t in tails for s in t for n in walk(s) if _stored(n))
    stored = Counter(n.id for s in body for n in walk(s) if _stored(n))
    return {name for name in moved if stored[name] > moved[name]}


def _stored(n: ast.AST) -> bool:
    return isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)


def _returning(s: ast.stmt, flag: str) -> int | None:
    """k where s is `flag = k`, the mark of the loop's k-th return."""
    if not (isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant)):
        return None
    targets = s.targets
    return s.value.value if [t.id for t in targets if isinstance(t, ast.Name)] == [flag] else None


def _to_names(s: ast.Assign) -> bool:
    """Whether every target of the assignment is a name, or a tuple of names."""
    return all(
        isinstance(n, (ast.Name, ast.Tuple))
        for t in s.targets
        for n in walk(t)
        if not isinstance(n, ast.expr_context)
    )


def _endless(loop: ast.stmt) -> bool:
    """A `while True:` that breaks."""
    return isinstance(loop, ast.While) and _true(loop.test) and _breaks(loop.body)


def _true(test: ast.expr) -> bool:
    return isinstance(test, ast.Constant) and bool(test.value)


def _breaks(stmts: list[ast.stmt]) -> bool:
    """Whether the block breaks its loop (in a branch, or in the else of a loop nested in it,
    which runs after that loop: not in a nested loop's body)."""
    return any(
        isinstance(s, ast.Break)
        or isinstance(s, ast.If)
        and (_breaks(s.body) or _breaks(s.orelse))
        or isinstance(s, _LOOPS)
        and _breaks(s.orelse)
        for s in stmts
    )
