"""Random whole programs with control flow and Python's aliasing, for differential fuzzing.

Contract: `generate(seed)` returns a `Program` (deterministic for a seed): the source of a module
(`import numpy as np`, zero to two helpers `def h<k>(v, s)`, then `def f(x, y, a)`), the arguments
(`x` of shape (3,), `y` of shape (2, 3), `a` a Python float) and the `argnums` to differentiate.
Programs mix and nest, inside the subset that docs/supported-python.md documents: `for` loops over
`range(n)` (n in 0..3) and over an array's rows, `while k < n:` with an int counter, `while True:`
with one or several `break`s, `continue`, `if`/`elif`/`else` on data (possibly only `pass`),
conditional expressions, lists appended once per iteration and then stacked, indexed, summed or
iterated, element assignment into arrays the function made, aliases (`w = z`, `np.asarray(z)`,
a helper returning its argument), `+=`/`-=`/`*=` on arrays and floats, and helpers that read or
change their argument. Rarely, on purpose, a program also writes into an argument or a view, which
symgrad should refuse with a location.

A program is kept only if Python runs it, its output is a finite scalar of moderate size, every
data-dependent comparison stays at least GAP from its threshold, and the branch decisions (hence
trip counts) are the same at the arguments and at perturbations of +-PERTURB along random
directions: central differences are then a valid oracle. Decisions are recorded by running an
instrumented copy of the module (each comparison in an `if`/`while`/`a if c else b` test becomes
a call to a recorder); the program symgrad sees is the plain source, written to a real file.

The oracle is control_oracle.py; campaigns and shrinking, control_campaign.py.
"""

from __future__ import annotations

import ast
import itertools
import math
import operator
import random
from collections import Counter
from dataclasses import dataclass

import numpy as np

X_SHAPE = (3,)
Y_SHAPE = (2, 3)
GAP = 1e-3  # smallest distance of a data-dependent comparison from its threshold
PERTURB = 1e-4  # size of the perturbations that must not change any decision
BOUND = 50.0  # largest |output| kept (central differences lose digits beyond)
MAX_DEPTH = 2  # nesting of compound statements inside f
MAX_LINES = 22  # lines of f, helpers excluded


@dataclass
class Program:
    seed: int
    source: str
    args: tuple
    argnums: tuple

    def copies(self) -> list:
        return [a.copy() if isinstance(a, np.ndarray) else a for a in self.args]

    def __str__(self) -> str:
        args = ", ".join(
            f"np.array({a.tolist()!r})" if isinstance(a, np.ndarray) else repr(a) for a in self.args
        )
        return f"# seed {self.seed}\n{self.source}# args = ({args})\n# argnums = {self.argnums}"


# the generator -------------------------------------------------------------------------------


@dataclass
class _Var:
    name: str
    kind: str  # "s" float, "v" shape (3,), "m" shape (2, 3), "list"
    owned: bool = True  # an array the function made (may be assigned to element by element)
    elem: str = ""  # a list's element kind


@dataclass
class _Loop:
    index: str | None  # an int expression in range(0, 3) usable as an index, or None
    counter: str | None = None  # the int counter (`i0`, `k0`) usable in int comparisons
    has_continue: bool = False


@dataclass
class _Helper:
    name: str
    lines: list[str]
    returns: str  # "alias" (v itself), "new" (an array of v's kind) or "s"
    mutates: bool


class _Gen:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.scopes: list[dict[str, _Var]] = []
        self.loops: list[_Loop] = []
        self.names = itertools.count()
        self.counters = itertools.count()
        self.helpers: list[_Helper] = []
        self.writes: list[str] = []  # names assigned or changed, in order

    # scope ------------------------------------------------------------------------------------

    def visible(self, *kinds: str, owned: bool | None = None) -> list[_Var]:
        seen: dict[str, _Var] = {}
        for scope in self.scopes:
            seen.update(scope)
        return [v for v in seen.values() if v.kind in kinds and (owned is None or v.owned == owned)]

    def lookup(self, name: str) -> _Var | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def bind(self, name: str, kind: str, owned: bool, elem: str = "") -> None:
        self.writes.append(name)
        old = self.lookup(name)
        if old is not None and old.kind == kind:
            # rebinding in a nested block: after it, the name may hold either value
            old.owned = owned if len(self.scopes) == 1 else (old.owned and owned)
            return
        self.scopes[-1][name] = _Var(name, kind, owned, elem)

    def fresh(self, kind: str) -> str:
        prefix = {"s": "s", "v": "u", "m": "w", "list": "xs"}[kind]
        return f"{prefix}{next(self.names)}"

    def target(self, kind: str) -> tuple[str, bool]:
        """A name to assign a `kind` value to: an existing local of that kind, or a new one."""
        existing = [v for v in self.visible(kind) if v.name not in ("x", "y", "a")]
        if existing and self.rng.random() < 0.5:
            return self.rng.choice(existing).name, False
        if kind != "list" and self.rng.random() < 0.06:
            return {"s": "a", "v": "x", "m": "y"}[kind], False  # rebinding an argument
        return self.fresh(kind), True

    # expressions ------------------------------------------------------------------------------

    def pick(self, options):
        return self.rng.choice(options)

    def const(self) -> str:
        return self.pick(["0.5", "0.3", "1.5", "-0.7", "2.0", "0.9", "-0.2"])

    def vindex(self) -> str:
        indices = [lp.index for lp in self.loops if lp.index]
        if indices and self.rng.random() < 0.5:
            return self.pick(indices)
        return self.pick(["0", "1", "-1", "2"])

    def leaf(self, kind: str) -> str:
        r = self.rng.random()
        if kind == "s":
            scalars = [v.name for v in self.visible("s")]
            if r < 0.35 and scalars:
                return self.pick(scalars)
            if r < 0.5:
                return self.const()
            if r < 0.75:
                return f"{self.pick([v.name for v in self.visible('v')])}[{self.vindex()}]"
            if r < 0.85:
                m = self.pick([v.name for v in self.visible("m")])
                return f"{m}[{self.pick(['0', '1', '-1'])}, {self.vindex()}]"
            counters = [lp.counter for lp in self.loops if lp.counter]
            if counters and r < 0.92:
                return f"0.1 * {self.pick(counters)}"
            return "a"
        if kind == "v":
            if r < 0.8:
                return self.pick([v.name for v in self.visible("v")])
            m = self.pick([v.name for v in self.visible("m")])
            return f"{m}[{self.pick(['0', '1', '-1'])}]"
        return self.pick([v.name for v in self.visible("m")])

    def expr(self, kind: str, depth: int = 2) -> str:
        r = self.rng.random()
        if depth <= 0 or r < 0.3:
            return self.leaf(kind)
        if r < 0.55:
            e = self.expr(kind, depth - 1)
            form = self.pick(
                ["np.sin({})", "np.tanh({})", "np.exp(np.sin({}))", "{} ** 2", "-{}", "np.cos({})"]
            )
            return form.format(_atom(e) if form[0] in "{-" else e)
        if r < 0.85:
            pairs = {
                "s": [("s", "s")],
                "v": [("v", "v"), ("v", "s"), ("s", "v"), ("v", "v")],
                "m": [("m", "m"), ("m", "v"), ("v", "m"), ("m", "s"), ("s", "m")],
            }[kind]
            k1, k2 = self.pick(pairs)
            e1, e2 = self.expr(k1, depth - 1), self.expr(k2, depth - 1)
            op = self.pick(["+", "-", "*", "*", "/"])
            if op == "/":
                if k1 == kind and self.rng.random() < 0.5:
                    return f"{_atom(e1)} / {self.pick(['2.0', '1.5', '-4.0'])}"
                return f"{_atom(e1)} / (1.5 + np.sin({e2}))"
            return f"{_atom(e1)} {op} {_atom(e2)}"
        if kind == "s" and r < 0.94:
            inner = self.expr(self.pick(["v", "m"]), depth - 1)
            return f"{self.pick(['np.sum', 'np.mean'])}({inner})"
        u, w = self.expr(kind, depth - 1), self.expr(kind, depth - 1)
        return f"({_atom(u)} if {self.cond()} else {_atom(w)})"

    def cond(self, data: bool = True) -> str:
        counters = [lp.counter for lp in self.loops if lp.counter]
        if counters and (not data or self.rng.random() < 0.2):
            c = self.pick(counters)
            return f"{c} {self.pick(['>', '==', '<', '>=', '!='])} {self.pick(['0', '1', '2'])}"
        r = self.rng.random()
        arrays = [v.name for v in self.visible("v", "m")]
        if r < 0.3:
            lhs = f"{self.pick(['np.sum', 'np.mean'])}({self.pick(arrays)})"
        elif r < 0.55:
            lhs = f"{self.pick([v.name for v in self.visible('v')])}[{self.pick(['0', '1', '-1'])}]"
        elif r < 0.75:
            lhs = self.pick([v.name for v in self.visible("s")])
        elif r < 0.85:
            lhs = "a"
        else:
            lhs = self.expr("s", 1)
        rhs = f"{self.rng.uniform(-1.2, 1.2):.1f}".replace("-0.0", "0.0")
        return f"{lhs} {self.pick(['>', '<', '>=', '<='])} {rhs}"

    # statements -------------------------------------------------------------------------------

    def block(self, depth: int, count: int, jump_ok: bool = True) -> list[str]:
        """`count` statements; in a loop, the block may end with `break` or `continue`."""
        self.scopes.append({})
        lines: list[str] = []
        for _ in range(count):
            lines += self.statement(depth)
        if not lines or self.rng.random() < 0.1:
            lines.append("pass")
        elif jump_ok and self.loops and self.rng.random() < 0.15:
            lines.append(self.jump())
        self.scopes.pop()
        return lines

    def jump(self) -> str:
        if self.rng.random() < 0.5:
            self.loops[-1].has_continue = True
            return "continue"
        return "break"

    def statement(self, depth: int) -> list[str]:
        compound = depth < MAX_DEPTH
        weights = {
            "assign": 4,
            "aug": 3,
            "make": 1.5 if self.visible("v", "m", owned=True) else 4,
            "setitem": 3 if self.visible("v", "m", owned=True) else 0,
            "alias": 1.5,
            "helper": 1.5 if self.helpers else 0,
            "if": 3 if compound else 0,
            "for": 2 if compound else 0,
            "rows": 0.5 if compound else 0,
            "while": 1.5 if compound else 0,
            "while_true": 1.5 if compound else 0,
            "list": 2 if compound else 0,
            "widen": 1 if compound else 0,
            "accumulate": 1 if compound else 0,
            "while_data": 0.7 if compound else 0,
            "jump": 1.5 if self.loops else 0,
        }
        kind = self.rng.choices(list(weights), list(weights.values()))[0]
        return getattr(self, f"s_{kind}")(depth)

    def s_assign(self, depth: int) -> list[str]:
        kind = self.pick(["s", "s", "v", "m"])
        value = self.expr(kind, 2)
        name, _ = self.target(kind)
        node = ast.parse(value, mode="eval").body
        self.bind(name, kind, isinstance(node, (ast.BinOp, ast.Call, ast.UnaryOp)))
        return [f"{name} = {value}"]

    def s_aug(self, depth: int) -> list[str]:
        kind = self.pick(["s", "v", "m"])
        name = self.pick([v.name for v in self.visible(kind)])
        op = self.pick(["+=", "-=", "*="])
        if op == "*=":
            value = self.pick([self.const(), f"np.tanh({self.expr('s', 1)})", "0.5"])
            if kind != "s" and self.rng.random() < 0.4:
                value = f"np.cos({self.expr(kind, 1)})"
        else:
            value = self.expr(self.pick({"s": "s", "v": "vs", "m": "mvs"}[kind]), 2)
        self.writes.append(name)
        return [f"{name} {op} {value}"]

    def s_make(self, depth: int) -> list[str]:
        kind = self.pick(["v", "v", "m"])
        src = self.pick([v.name for v in self.visible(kind)])
        value = self.pick(
            [f"np.zeros_like({src})", f"{src}.copy()", f"np.zeros_like({src})", f"{src} * 1.0"]
        )
        name, _ = self.target(kind)
        self.bind(name, kind, True)
        return [f"{name} = {value}"]

    def s_setitem(self, depth: int) -> list[str]:
        owned = self.visible("v", "m", owned=True)
        if not owned or self.rng.random() < 0.02:
            owned = self.visible("v", "m")  # an argument or a view: symgrad should refuse
        var = self.pick(owned)
        op = self.pick(["=", "=", "+=", "-=", "*="])
        if var.kind == "v":
            index, kind = self.vindex(), "s"
        elif self.rng.random() < 0.5:
            index, kind = self.pick(["0", "1", "-1"]), "v"
        else:
            index, kind = f"{self.pick(['0', '1', '-1'])}, {self.vindex()}", "s"
        value = self.expr(kind, 2) if op != "*=" else self.pick(["0.5", "-0.9", "np.sin(a)"])
        self.writes.append(var.name)
        return [f"{var.name}[{index}] {op} {value}"]

    def s_alias(self, depth: int) -> list[str]:
        var = self.pick(self.visible("v", "m"))
        name, _ = self.target(var.kind)
        value = var.name if self.rng.random() < 0.7 else f"np.asarray({var.name})"
        self.bind(name, var.kind, var.owned)
        return [f"{name} = {value}"]

    def s_helper(self, depth: int) -> list[str]:
        helper = self.pick(self.helpers)
        made: list[str] = []
        if helper.mutates and not self.visible("v", "m", owned=True):
            made = self.s_make(depth)  # something the helper may change
        candidates = self.visible("v", "m", owned=True) if helper.mutates else []
        if not candidates or self.rng.random() < 0.03:
            candidates = self.visible("v", "m")  # perhaps an argument: symgrad should refuse
        var = self.pick(candidates)
        call = f"{helper.name}({var.name}, {self.expr('s', 1)})"
        self.writes.append(var.name)
        if helper.returns == "s":
            name, _ = self.target("s")
            self.bind(name, "s", True)
            return made + [f"{name} = {call}"]
        if self.rng.random() < 0.25 and helper.returns == "alias":
            return made + [call]
        name, _ = self.target(var.kind)
        self.bind(name, var.kind, var.owned if helper.returns == "alias" else True)
        return made + [f"{name} = {call}"]

    def branch(self, depth: int, count: int) -> list[str]:
        if self.rng.random() < 0.25:
            return ["pass"]
        return self.block(depth + 1, count)

    def s_if(self, depth: int) -> list[str]:
        lines = [f"if {self.cond()}:"] + _indent(self.branch(depth, self.rng.randint(1, 2)))
        for _ in range(self.rng.choice([0, 0, 1, 2])):
            lines += [f"elif {self.cond()}:"] + _indent(self.branch(depth, 1))
        if self.rng.random() < 0.5:
            lines += ["else:"] + _indent(self.branch(depth, self.rng.randint(1, 2)))
        return lines

    def s_widen(self, depth: int) -> list[str]:
        """A float (or (3,) array) that every branch turns into a broadcast, bigger array."""
        small = self.pick(["s", "s", "v"])
        big = self.pick(["v", "m"]) if small == "s" else "m"
        name = self.fresh(small)
        lines = [f"{name} = {self.expr(small, 1)}"]
        branches = [f"if {self.cond()}:"]
        branches += ["elif " + self.cond() + ":"] * self.rng.choice([0, 1])
        branches += ["else:"]
        for head in branches:
            form = self.pick(["{n} = {n} + {e}", "{n} = {n} * {e}", "{n} = {e}", "{n} += {e}"])
            lines += [head, "    " + form.format(n=name, e=_atom(self.expr(big, 1)))]
            if self.rng.random() < 0.3:
                self.scopes.append({})
                lines += ["    " + line for line in self.statement(MAX_DEPTH)]
                self.scopes.pop()
        self.scopes[-1][name] = _Var(name, big)
        return lines

    def s_accumulate(self, depth: int) -> list[str]:
        """`t = 0.0`, then a loop adds arrays to it: a carried float that becomes an array."""
        kind = self.pick(["v", "m"])
        name = self.fresh(kind)
        op = self.pick(["{n} = {n} + {e}", "{n} += {e}"])

        def first() -> list[str]:
            return [op.format(n=name, e=_atom(self.expr(kind, 2)))]

        loop = self.pick(["for", "while", "rows"])
        if loop == "for":
            lines = self.s_for(depth, self.rng.randint(1, 3), first)
        elif loop == "while":
            lines = self.s_while(depth, self.rng.randint(1, 3), first)
        else:
            lines = self.s_rows(depth, first)
        self.scopes[-1][name] = _Var(name, kind)
        self.writes.append(name)
        return [f"{name} = 0.0"] + lines

    def s_while_data(self, depth: int) -> list[str]:
        """`while s < c:` on data, with a step of at least 0.3 towards c."""
        name = self.fresh("s")
        lines = [f"{name} = np.tanh({self.expr('s', 1)})"]
        self.bind(name, "s", True)
        step = f"{name} = {name} + 0.5 + 0.2 * np.sin({self.expr('s', 1)})"
        limit = self.pick(["0.5", "1.2", "1.7"])
        lines += self._loop_body(depth, _Loop(None), [f"while {name} < {limit}:"], [step])
        return lines

    def s_jump(self, depth: int) -> list[str]:
        """`if <cond>: [statement] break|continue` inside a loop."""
        self.scopes.append({})
        body = self.statement(MAX_DEPTH) if self.rng.random() < 0.3 else []
        body.append(self.jump())
        self.scopes.pop()
        lines = [f"if {self.cond()}:"] + _indent(body)
        if self.rng.random() < 0.2:
            lines += ["else:"] + _indent(self.block(MAX_DEPTH, 1, jump_ok=False))
        return lines

    def _loop_body(self, depth: int, loop: _Loop, head: list[str], first: list[str]) -> list[str]:
        self.loops.append(loop)
        body = first + self.block(depth + 1, self.rng.randint(1, 3), jump_ok=False)
        self.loops.pop()
        return head + _indent(body)

    def s_for(self, depth: int, n: int | None = None, first_fn=None) -> list[str]:
        i = f"i{next(self.counters)}"
        n = self.rng.randint(0, 3) if n is None else n
        loop = _Loop(i, i)
        self.loops.append(loop)
        first = first_fn() if first_fn else []
        self.loops.pop()
        return self._loop_body(depth, loop, [f"for {i} in range({n}):"], first)

    def s_rows(self, depth: int, first_fn=None) -> list[str]:
        rows = self.pick([v.name for v in self.visible("m")])
        r = f"r{next(self.counters)}"
        self.scopes.append({r: _Var(r, "v", owned=False)})
        loop = _Loop(None)
        self.loops.append(loop)
        first = first_fn() if first_fn else []
        self.loops.pop()
        lines = self._loop_body(depth, loop, [f"for {r} in {rows}:"], first)
        self.scopes.pop()
        return lines

    def s_while(self, depth: int, n: int | None = None, first_fn=None) -> list[str]:
        k = f"k{next(self.counters)}"
        n = self.rng.randint(0, 3) if n is None else n
        loop = _Loop(f"{k} - 1", k)
        self.loops.append(loop)
        first = [f"{k} += 1"] + (first_fn() if first_fn else [])
        self.loops.pop()
        return [f"{k} = 0"] + self._loop_body(depth, loop, [f"while {k} < {n}:"], first)

    def s_while_true(self, depth: int, n: int | None = None, first_fn=None) -> list[str]:
        k = f"k{next(self.counters)}"
        n = self.rng.randint(1, 3) if n is None else n
        loop = _Loop(f"{k} - 1", k)
        self.loops.append(loop)
        late = self.rng.random() < 0.5
        first = [f"{k} += 1"] + ([] if late else [f"if {k} > {n}:", "    break"])
        first += first_fn() if first_fn else []
        if self.rng.random() < 0.6:
            first += self.s_jump(MAX_DEPTH)
        self.loops.pop()
        lines = self._loop_body(depth, loop, ["while True:"], first)
        if late and not loop.has_continue:
            lines += _indent([f"if {k} >= {n}:", "    break"])
        elif late:
            lines.insert(2, f"    if {k} > {n}:")
            lines.insert(3, "        break")
        return [f"{k} = 0"] + lines

    def s_list(self, depth: int) -> list[str]:
        elem = self.pick(["s", "s", "v", "m"])
        xs = self.fresh("list")

        def append() -> list[str]:
            if self.rng.random() < 0.15:
                return [f"{xs}.append({self.pick([v.name for v in self.visible(elem)])})"]
            return [f"{xs}.append({self.expr(elem, 2)})"]

        loop = self.pick(["for", "for", "while", "while_true", "rows"])
        if loop == "for":
            lines = self.s_for(depth, self.rng.randint(1, 3), append)
        elif loop == "while":
            lines = self.s_while(depth, self.rng.randint(1, 3), append)
        elif loop == "while_true":
            lines = self.s_while_true(depth, None, append)
        else:
            lines = self.s_rows(depth, append)
        self.scopes[-1][xs] = _Var(xs, "list", elem=elem)
        lines = [f"{xs} = []"] + lines
        for _ in range(self.rng.choice([1, 1, 2])):
            lines += self.use_list(xs, elem)
        return lines

    def use_list(self, xs: str, elem: str) -> list[str]:
        uses = ["stack", "index", "sum", "iterate", "range"] + (["axis1"] if elem != "s" else [])
        use = self.pick(uses)
        if use in ("stack", "axis1"):
            stacked = f"np.stack({xs})" if use == "stack" else f"np.stack({xs}, axis=1)"
            value = self.pick([f"{stacked} ** 2", f"np.sin({stacked})", stacked])
            name, _ = self.target("s")
            self.bind(name, "s", True)
            return [f"{name} = {self.pick(['np.sum', 'np.mean'])}({value})"]
        if use in ("index", "sum"):
            value = f"{xs}[{self.pick(['0', '-1'])}]" if use == "index" else f"sum({xs})"
            name, _ = self.target(elem)
            self.bind(name, elem, use == "sum")
            return [f"{name} = {value}"]
        acc = self.pick([v.name for v in self.visible("s")])
        if use == "iterate":
            p = f"p{next(self.counters)}"
            term = f"np.sum(np.tanh({p}))" if elem != "s" else f"np.tanh({p})"
            return [f"for {p} in {xs}:", f"    {acc} = {acc} + {term} * 0.5"]
        i = f"i{next(self.counters)}"
        return [f"for {i} in range(len({xs})):", f"    {acc} += np.mean({xs}[{i}]) * {i}"]

    # helpers and the whole program ------------------------------------------------------------

    def helper(self, k: int) -> _Helper:
        name = f"h{k}"
        form = self.rng.randrange(8)
        c = self.const()
        if form == 0:
            stmt = self.pick(["v[0] = s", "v[-1] += s * s", "v[1] = np.sin(s)"])
            return _Helper(name, [stmt, "return v"], "alias", True)
        if form == 1:
            stmt = self.pick(["v += np.tanh(s)", "v *= 0.5", "v -= s * 0.5"])
            return _Helper(name, [stmt, "return v"], "alias", True)
        if form == 2:
            ret = self.pick(["np.tanh(v * s) + v", f"v * {c} + s", "np.sin(v) * s"])
            return _Helper(name, [f"return {ret}"], "new", False)
        if form == 3:
            body = ["w = v", self.pick(["w *= 0.5", "w[0] = s", "w += s"])]
            return _Helper(name, body + ["return np.sum(v) * s"], "s", True)
        if form == 4:
            body = ["for j in range(2):", "    v[j] = v[j] * s + 0.1", "return v"]
            return _Helper(name, body, "alias", True)
        if form == 5:
            body = [f"if s > {c}:", "    v[0] = s", "else:", "    pass", "return np.sin(v)"]
            return _Helper(name, body, "new", True)
        if form == 6:  # changed in a branch, then again after it
            body = [f"if s > {c}:", "    v[0] = s", "v[-1] += s * s", "return v"]
            return _Helper(name, body, "alias", True)
        body = ["for j in range(2):", f"    if s * j > {c}:", "        v[j] = s * j", "return v"]
        return _Helper(name, body, "alias", True)

    def program(self) -> tuple[str, int]:
        self.helpers = [self.helper(k) for k in range(self.rng.choice([0, 0, 1, 1, 2]))]
        self.scopes = [
            {"x": _Var("x", "v", False), "y": _Var("y", "m", False), "a": _Var("a", "s", False)}
        ]
        body: list[str] = []
        for _ in range(self.rng.randint(2, 5)):
            body += self.statement(0)
        body.append(f"return {self.result()}")
        parts = ["import numpy as np", ""]
        for h in self.helpers:
            parts += ["", f"def {h.name}(v, s):"] + _indent(h.lines) + [""]
        parts += ["", "def f(x, y, a):"] + _indent(body)
        return "\n".join(parts) + "\n", len(body)

    def result(self) -> str:
        """The sum of (reductions of) up to three variables, most recently written first."""
        live = {v.name: v for v in self.visible("s", "v", "m")}
        recent = [live[n] for n in dict.fromkeys(reversed(self.writes)) if n in live]
        chosen = recent[: self.rng.randint(1, 3)]
        if not chosen or self.rng.random() < 0.3:
            chosen.append(self.pick(list(live.values())))
        terms = [
            v.name if v.kind == "s" else f"{self.pick(['np.sum', 'np.mean'])}({v.name})"
            for v in chosen
        ]
        return " + ".join(dict.fromkeys(terms))


def _atom(text: str) -> str:
    node = ast.parse(text, mode="eval").body
    simple = isinstance(node, (ast.Name, ast.Call, ast.Subscript, ast.Attribute))
    if isinstance(node, ast.Constant) and not text.startswith("-"):
        simple = True
    return text if simple else f"({text})"


def _indent(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]


def generate(seed: int, max_tries: int = 500) -> Program:
    """A random admissible program, the same for the same seed."""
    rng = random.Random(seed)
    for _ in range(max_tries):
        source, n_lines = _Gen(rng).program()
        if n_lines > MAX_LINES:
            continue
        args = _arguments(rng)
        argnums = rng.choice([(0, 1, 2)] * 3 + [(0,), (1,), (2,), (0, 2), (0, 1)])
        program = Program(seed, source, args, argnums)
        if admissible(program):
            return program
    raise RuntimeError(f"no admissible program for seed {seed} in {max_tries} tries")


def _arguments(rng: random.Random) -> tuple:
    nprng = np.random.default_rng(rng.randrange(2**32))
    x = np.round(nprng.uniform(-1.0, 1.0, X_SHAPE), 3)
    y = np.round(nprng.uniform(-1.0, 1.0, Y_SHAPE), 3)
    return x, y, round(rng.uniform(-1.0, 1.0), 3)


# admissibility: Python runs it, and central differences are a valid oracle ---------------------

_OPS = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


class _Instrument(ast.NodeTransformer):
    """Each one-operator comparison in a test becomes `_probe(id, lhs, op, rhs)`."""

    def __init__(self):
        self.ids = itertools.count()

    def _test(self, test):
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _OPS:
            args = [
                ast.Constant(next(self.ids)),
                test.left,
                ast.Constant(type(test.ops[0]).__name__),
                test.comparators[0],
            ]
            return ast.Call(ast.Name("_probe", ast.Load()), args, [])
        return test

    def visit_If(self, node):
        self.generic_visit(node)
        node.test = self._test(node.test)
        return node

    def visit_While(self, node):
        self.visit_If(node)
        if isinstance(node.test, ast.Constant):  # `while True`: count its iterations too
            node.test = ast.Call(ast.Name("_probe", ast.Load()), [ast.Constant(-1)], [])
        return node

    visit_IfExp = visit_If


class _Recorder:
    def __init__(self):
        self.trace: list[tuple[int, bool]] = []
        self.margin = math.inf

    def __call__(self, ident, lhs=True, op=None, rhs=None):
        """The decision of comparison `ident`; a `while True` (ident -1) counts its rounds."""
        if op is None:
            self.trace.append((ident, True))
            if len(self.trace) > 10_000:
                raise RuntimeError("runaway loop")
            return True
        decision = bool(_OPS[getattr(ast, op)](lhs, rhs))
        self.trace.append((ident, decision))
        if not (isinstance(lhs, int) and isinstance(rhs, int)):
            self.margin = min(self.margin, abs(float(lhs) - float(rhs)))
        if len(self.trace) > 10_000:
            raise RuntimeError("runaway loop")
        return decision


def _instrumented(source: str):
    tree = _Instrument().visit(ast.parse(source))
    ast.fix_missing_locations(tree)
    return compile(tree, "<instrumented>", "exec")


def _run(code, args) -> tuple[object, _Recorder]:
    rec = _Recorder()
    namespace = {"_probe": rec, "__name__": "instrumented"}
    exec(code, namespace)
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out = namespace["f"](*copies)
    return out, rec


def admissible(program: Program, reasons: Counter | None = None) -> bool:
    """Python runs it to a finite, moderate scalar; decisions keep GAP from their thresholds and
    do not change under perturbations of size PERTURB."""

    def no(why: str) -> bool:
        if reasons is not None:
            reasons[why] += 1
        return False

    try:
        code = _instrumented(program.source)
        out, rec = _run(code, program.args)
    except Exception as e:  # the generator's mistakes and runtime errors: not a program
        return no(f"python: {type(e).__name__}")
    if np.ndim(out) != 0 or not isinstance(out, (float, np.floating, np.ndarray)):
        return no("not a float scalar")
    if not np.isfinite(out) or abs(float(out)) > BOUND:
        return no("too large")
    if rec.margin < GAP:
        return no("near a threshold")
    rng = np.random.default_rng(program.seed)
    for _ in range(2):
        direction = [rng.standard_normal(np.shape(a)) for a in program.args]
        for sign in (1.0, -1.0):
            moved = [a + sign * PERTURB * d for a, d in zip(program.args, direction)]
            moved[2] = float(moved[2])
            try:
                moved_out, moved_rec = _run(code, moved)
            except Exception:
                return no("perturbed run failed")
            if moved_rec.trace != rec.trace:
                return no("decisions change")
            if not np.isfinite(moved_out):
                return no("too large")
    return True


# the oracle ----------------------------------------------------------------------------------
