"""List comprehensions and generator expressions, written as the loops they are before lowering.

Contract: `desugar(fn)` rewrites, in place, every list comprehension and generator expression of
the function's statements (`fn`: an `ast.FunctionDef`) as a list that a loop fills, bound just
before the statement that reads it, so that lowering meets only the loops and appends it
already differentiates (the loop stays a loop; `sum`, `np.stack`, `np.array`, `len`, `min` and
`max` read the list it fills):

    total = x + sum(np.sin(w[j]) for j in range(d) if j != k)

becomes

    terms = []
    for j in range(d):
        if j != k:
            terms.append(np.sin(w[j]))
    total = x + terms

with `terms` read as the list (an assignment `ys = [...]` fills `ys` itself). The comprehension's
variables keep their names unless the function uses those names elsewhere, where they get fresh
ones, so that they stay the comprehension's own. Nested comprehensions become nested loops. The
first iterable is evaluated before the statement, as Python evaluates it in the enclosing
scope; the statement's other parts have no side effects symgrad admits. A comprehension in a
`while` test (evaluated again each iteration), in an `assert` (skipped) or of a set or dict stays
as it is, for the fence to refuse.
"""

from __future__ import annotations

import ast
import builtins
import itertools
from collections import Counter

from symgrad.frontend.source import FunctionSource
from symgrad.syntax import rename, walk

_COMPREHENSIONS = (ast.ListComp, ast.GeneratorExp)
_FOLDS = {"sum", "min", "max"}  # builtins whose one argument is a list of terms


def desugar(src: FunctionSource) -> None:
    fn = src.tree
    nodes = walk(fn)
    if any(isinstance(n, _COMPREHENSIONS) for n in nodes):
        args = fn.args
        params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        names = [n for n in nodes if isinstance(n, ast.Name)]
        bound = params | {n.id for n in names if isinstance(n.ctx, ast.Store)}
        builtin_sum = src.fn.__globals__.get("sum", builtins.sum) is builtins.sum
        sums = builtin_sum and "sum" not in bound
        src.builtins = ("sum",) if sums else ()
        lines = {n.lineno for n in nodes if isinstance(n, _COMPREHENSIONS)}
        desugared = _Desugar(fn, params, sums, Counter(n.id for n in names), lines)
        desugared.block(fn.body)
        src.lists = frozenset(desugared.taken)


class _Desugar:
    def __init__(
        self, fn: ast.FunctionDef, params: set[str], sums: bool, names: Counter, lines: set[int]
    ):
        self.fn, self.params = fn, params
        self.lines = lines  # the lines comprehensions start on: a root spanning none has none
        self.sums = sums  # `sum` is Python's: sum(<generator>) folds as it goes
        self.taken: set[str] = set()  # names this rewrite introduced
        self._names: Counter | None = names  # fn's Name ids, counted; None once changed

    def names(self) -> Counter:
        """How many times each name is read or bound in the function (as it stands now)."""
        if self._names is None:
            self._names = Counter(n.id for n in walk(self.fn) if isinstance(n, ast.Name))
        return self._names

    def block(self, stmts: list[ast.stmt]) -> None:
        """Rewrite a block in place: each statement's comprehensions before it."""
        out: list[ast.stmt] = []
        for s in stmts:
            for field in ("body", "orelse"):
                if isinstance(s, (ast.If, ast.For, ast.While, ast.FunctionDef)):
                    self.block(getattr(s, field, []))
            out += self.hoisted(s)
            filled = isinstance(s, ast.Assign) and len(s.targets) == 1
            if not (
                filled and isinstance(s.value, ast.Name) and _names(s.targets[0]) == [s.value.id]
            ):
                out.append(s)  # (`ys = [...]` fills ys itself)
        stmts[:] = out
        self._names = None

    def hoisted(self, s: ast.stmt) -> list[ast.stmt]:
        """The statements filling the lists that replace the comprehensions s evaluates once."""
        if isinstance(s, (ast.While, ast.Assert)):
            return []
        heads = {ast.If: ["test"], ast.For: ["iter"]}.get(type(s))
        roots = [getattr(s, f) for f in heads] if heads else [s]
        roots = [r for r in roots if self.may_hold(r)]
        out: list[ast.stmt] = []
        for root in roots:
            for parent, field, index, comp in _outermost(root, self.sums):
                if isinstance(comp, ast.Call):  # sum(<comprehension>[, start])
                    name = self.fresh("total")
                    start = comp.args[1] if len(comp.args) > 1 else ast.Constant(0)
                    out += self.loops(comp.args[0], name, start)
                else:
                    name = self.list_name(s, parent, comp)
                    out += self.loops(comp, name)
                here = ast.copy_location(ast.Name(name, ast.Load()), comp)
                if index is None:
                    setattr(parent, field, here)
                else:
                    getattr(parent, field)[index] = here
                self._names = None
        return out

    def may_hold(self, root: ast.AST) -> bool:
        """Whether a comprehension may be in root: one starts on a line it spans (a node
        this rewrite made, with no place yet, may hold one)."""
        first, last = getattr(root, "lineno", None), getattr(root, "end_lineno", None)
        return first is None or last is None or any(first <= k <= last for k in self.lines)

    def list_name(self, s: ast.stmt, parent: ast.AST, comp: ast.expr) -> str:
        """`ys` for `ys = [...]`; `terms` for the terms of `sum`, `min` or `max`; else `items`."""
        if isinstance(s, ast.Assign) and s.value is comp and len(s.targets) == 1:
            target = s.targets[0]
            if isinstance(target, ast.Name) and target.id not in _names(comp):
                return target.id  # (not when the comprehension reads it: `ys = [.. in ys]`)
        call = isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name)
        return self.fresh("terms" if call and parent.func.id in _FOLDS else "items")

    def loops(
        self, comp: ast.ListComp | ast.GeneratorExp, name: str, start: ast.expr | None = None
    ) -> list[ast.stmt]:
        """`name = []` and the loops appending the comprehension's items to it; with a
        `start`, `name = start` and the loops adding each item to it, as Python's sum does."""
        renames: dict[str, str] = {}
        heads = []
        for k, gen in enumerate(comp.generators):
            iterable = gen.iter if k == 0 else self.renamed(gen.iter, renames)
            for target in _names(gen.target):
                renames[target] = self.fresh(target) if self.in_use(target, comp) else target
            heads.append((self.renamed(gen.target, renames), iterable, gen))
        item = self.renamed(comp.elt, renames)
        if start is None:
            append = ast.Attribute(ast.Name(name, ast.Load()), "append", ast.Load())
            body: list[ast.stmt] = [ast.Expr(ast.Call(append, [item], []))]
        else:
            added = ast.BinOp(ast.Name(name, ast.Load()), ast.Add(), item)
            body = [ast.Assign([ast.Name(name, ast.Store())], added)]
        for target, iterable, gen in reversed(heads):
            for test in reversed(gen.ifs):
                body = [ast.If(self.renamed(test, renames), body, [])]
            body = [ast.For(target, iterable, body, [])]
        self.block(body)  # the comprehensions nested in it
        first = ast.List([], ast.Load()) if start is None else start
        made = [ast.Assign([ast.Name(name, ast.Store())], first), *body]
        return [ast.fix_missing_locations(ast.copy_location(s, comp)) for s in made]

    def in_use(self, name: str, comp: ast.AST) -> bool:
        """Whether the function uses `name` outside the comprehension (or this rewrite did)."""
        inside = sum(isinstance(n, ast.Name) and n.id == name for n in walk(comp))
        return name in self.params or name in self.taken or self.names()[name] > inside

    def fresh(self, base: str) -> str:
        used = self.names().keys() | self.params
        for name in itertools.chain([base], (f"{base}_{k}" for k in itertools.count(1))):
            if name not in used and name not in self.taken:
                self.taken.add(name)
                return name
        raise AssertionError("unreachable")

    def renamed(self, node: ast.expr, renames: dict[str, str]) -> ast.expr:
        """node, its names renamed in place (`renames`: old name -> new; not a lambda's own
        parameters: `symgrad.syntax.rename`)."""
        if rename(node, renames):
            self._names = None
        return node


_CONSUMERS = {"sum", "min", "max", "list", "tuple", "sorted", "any", "all"}  # (NumPy's functions
# take no generator as the list it makes: np.array of one is an object, np.stack refuses it)


def _consumed(parent: ast.AST, field: str) -> bool:
    """Whether a generator expression, an argument (`field`) of `parent`, is consumed by it at
    once: by a builtin that reads it all (`sum`, `list`, ...). Anywhere else (bound to a name,
    in a container, passed to a function of one's own or to NumPy) Python reads its items
    later, when what they read may have changed: its loops, written before the statement,
    would read them now."""
    if not isinstance(parent, ast.Call) or field != "args":
        return False
    return isinstance(parent.func, ast.Name) and parent.func.id in _CONSUMERS


def _outermost(root: ast.AST, sums: bool):
    """(parent, field, index or None, node) for each list comprehension or generator
    expression in root that no other one holds, outside lambdas and outside the body of a
    nested def (its defaults are evaluated here); with `sums`, a call
    `sum(<comprehension>[, start])` in place of its comprehension."""
    stack = [root]
    while stack:
        node = stack.pop()
        for field in node._fields:  # (ast.iter_fields' generator costs more than the walk)
            if isinstance(node, ast.FunctionDef) and field not in ("args", "decorator_list"):
                continue
            value = getattr(node, field, None)
            items = value if isinstance(value, list) else [value]
            for index, child in enumerate(items):
                if not isinstance(child, ast.AST):
                    continue
                if isinstance(child, ast.GeneratorExp) and not _consumed(node, field):
                    continue  # (lazy: left for the fence to refuse)
                if isinstance(child, _COMPREHENSIONS) or sums and _summed(child):
                    yield node, field, index if isinstance(value, list) else None, child
                elif not isinstance(child, (ast.Lambda, ast.SetComp, ast.DictComp)):
                    stack.append(child)


def _summed(node: ast.AST) -> bool:
    """`sum(<comprehension>)` or `sum(<comprehension>, start)`."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "sum"
        and 1 <= len(node.args) <= 2
        and not node.keywords
        and isinstance(node.args[0], _COMPREHENSIONS)
    )


def _names(target: ast.expr) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
