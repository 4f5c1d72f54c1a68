"""Code generation: a graph to the source of a standalone Python module.

Contract: `emit_module(graph, name, doc)` returns the module's source text: a docstring, `import
numpy as np`, the runtime helpers the code calls (copied from `symgrad.rules.runtime`, or from
`symgrad.nn` for its modules, so the module never imports symgrad), and one function
`name(params...)` computing the graph's outputs (after other emitted functions it may call, and
before driver functions, such as a Jacobian's loop over columns, that call it). Each value bound to
a source name, used twice or more, or computing an output gets a statement of its own; single-use
temporaries are written inline, so the code reads like the source it came from. Backward statements
are grouped under a comment quoting the forward line they differentiate. The same graph gives
byte-identical source.
"""

from __future__ import annotations

import ast
import functools
import inspect
import linecache
import math
import os
import sys
import textwrap
from typing import Callable

import numpy as np

from symgrad.emit import drivers, inplace
from symgrad.emit.frees import FREED, free
from symgrad.ir import Graph
from symgrad.ir.avals import DTYPE, PYTHON, Aval, nbytes
from symgrad.ir.names import assign_names
from symgrad.ir.structured import schema
from symgrad.rules import RULES, batching, runtime
from symgrad.rules.indexing import index_expr
from symgrad.rules.table import ARRAY, SEQ, dotted, literal
from symgrad.syntax import last_line


def _a_python_number(aval) -> bool:
    """Whether a value of this Aval is a Python int or float (no bool): NumPy's weak number."""
    kind = aval.dtype.kind if isinstance(aval, Aval) and aval.dtype is not None else None
    return kind in ("i", "u", "f") and aval.kind == PYTHON


def _as_returned(expr: ast.expr, aval) -> ast.expr:
    """An output as the function returns it: a dtype read from an array (`x.dtype`, known
    statically and spelt `np.float64` where it is an argument) as `np.dtype(np.float64)`."""
    if isinstance(aval, Aval) and aval.kind == DTYPE and isinstance(aval.value, np.dtype):
        return ast.Call(ast.Attribute(ast.Name("np", ast.Load()), "dtype", ast.Load()), [expr], [])
    return expr


def _wrapped(expr: ast.expr, node, number: bool) -> ast.expr:
    """In compiled code, an elementwise result of an integer dtype narrower than 64 bits cast
    to it (`np.uint8(k * 3)`, an array's by `.astype`; `number`: a loop nest's, always a
    number): Numba computes on narrow ints in int64, so `k * 3` of a uint8 k did not wrap at
    256 there as it does in NumPy. So is a sum of bools (NumPy's is their or, Numba's 2)."""
    aval = node.aval
    dtype = aval.dtype if isinstance(aval, Aval) else None
    narrow = dtype is not None and dtype.kind in "iu" and dtype.itemsize < 8
    if not (narrow or dtype is not None and dtype.kind == "b" and node.op == "add"):
        return expr
    return _as(expr, dtype, number or aval.shape == ())


def _as(expr: ast.expr, dtype, number: bool) -> ast.expr:
    """expr cast to dtype in compiled code: a number's `np.uint8(expr)`, an array's
    `expr.astype(np.uint8)`."""
    to = dotted(dtype_name(dtype))
    if number:
        return ast.Call(to, [expr], [])
    return ast.Call(ast.Attribute(expr, "astype", ast.Load()), [to], [])


def _always_inline(op: str) -> bool:
    return op == "const" or RULES[op].inline


def _structured(op: str) -> bool:
    """Emitted by `symgrad.emit.control`."""
    return op not in ("param", "const") and RULES[op].structured


def _uses(graph: Graph, nested: bool) -> dict[int, int]:
    uses = {n.id: 0 for n in graph.nodes()}
    for node in graph.nodes():
        for i in node.inputs:
            uses[i] += 1
    for o in graph.outputs:  # a function's outputs are named; a loop body's are assigned
        uses[o] += 1 if nested else 2  # to the carried variables, and may be written inline
    for c in graph.checks:
        uses[c] += 2  # a check is a statement of its own
    return uses


def _inline_of(graph: Graph, nested: bool) -> set[int]:
    """The values of graph written inline where they are used."""
    return _inline(graph, _uses(graph, nested), nested)


def _inline(graph: Graph, uses: dict[int, int], nested: bool) -> set[int]:
    out = set()
    for node in graph.nodes():
        if node.op == "param" or _structured(node.op):
            continue
        named_cotangent = any(
            of in graph and graph[of].name is not None for of in (node.cot_of, node.tan_of)
        )
        body_output = nested and node.id in graph.outputs and uses[node.id] == 1
        if (
            _always_inline(node.op)
            or body_output
            or (uses[node.id] == 1 and node.name is None and not named_cotangent)
        ):
            out.add(node.id)
    for node in graph.nodes():  # a loop body or a branch reads the values it captures by name
        out -= {i for i in _captured_inputs(node) if graph[i].op != "const"}
    return out


def _captured_inputs(node) -> list[int]:
    """The inputs of a structured node that its sub-graphs read as variables."""
    view = schema(node)
    return [node.inputs[k] for k in view.captured_inputs] if view is not None else []


MAX_LINE = 96  # a statement longer than this gets its longest inline part named
DEEPEST = 100  # an inline value nested deeper than this in its statement is named


def _fits(statement: ast.stmt) -> bool:
    """Whether the statement is at most `MAX_LINE` long, unparsed only where its length may
    be more than that (most statements are far shorter: `_lengths` tells them)."""
    return _lengths(statement)[1] <= MAX_LINE or len(ast.unparse(statement)) <= MAX_LINE


def _longest(parts: dict[int, ast.expr]) -> int:
    """The part (by id) whose expression unparses longest, of two as long the later id:
    unparsing only the parts that `_lengths` says may be it."""
    bounds = {i: _lengths(e) for i, e in parts.items()}
    floor = max(least for least, _ in bounds.values())
    candidates = [i for i, (_, most) in bounds.items() if most >= floor]
    return max((len(ast.unparse(parts[i])), i) for i in candidates)[1]


_UNKNOWN = (0, 1 << 30)  # the lengths `_lengths` gives a node of a kind rules do not emit


def _lengths(node: ast.AST) -> tuple[int, int]:
    """Bounds (at least, at most) on the length of `ast.unparse(node)`, for the nodes rules
    emit, found without unparsing it: at most with parentheses around every operator,
    constant and tuple, at least with none."""
    t = type(node)
    if t is ast.Name:
        return len(node.id), len(node.id)
    if t is ast.Constant:  # (a number maybe parenthesised, an int's attribute `1 .real`)
        v = node.value
        if v is None or type(v) in (int, bool, str) or type(v) is float and math.isfinite(v):
            n = len(repr(v))
            return n, n + 2
    elif t is ast.BinOp:  # `a + b` to `(a ** b)`
        (a, b), (c, d) = _lengths(node.left), _lengths(node.right)
        return a + c + 3, b + d + 6
    elif t is ast.UnaryOp:  # `-a` to `(not a)`
        a, b = _lengths(node.operand)
        return a + 1, b + 6
    elif t is ast.Attribute:  # `a.x` to `1 .x`
        a, b = _lengths(node.value)
        return a + len(node.attr) + 1, b + len(node.attr) + 2
    elif t is ast.Call:  # `f()`, `f(a, k=b)`
        a, b = _lengths(node.func)
        parts = (*node.args, *node.keywords)
        for part in parts:
            c, d = _lengths(part)
            a, b = a + c + 2, b + d + 2
        return a + 2 - 2 * bool(parts), b + 2
    elif t is ast.keyword:  # `k=a`, `**a`
        a, b = _lengths(node.value)
        n = 2 if node.arg is None else len(node.arg) + 1
        return a + n, b + n
    elif t is ast.Starred:
        a, b = _lengths(node.value)
        return a + 1, b + 1
    elif t is ast.Subscript:
        (a, b), (c, d) = _lengths(node.value), _lengths(node.slice)
        return a + c + 2, b + d + 2
    elif t is ast.Slice:  # `a:b:c`
        a, b = 1, 2
        for part in (node.lower, node.upper, node.step):
            if part is not None:
                c, d = _lengths(part)
                a, b = a + c, b + d
        return a, b
    elif t is ast.Tuple or t is ast.List:  # `a, b` to `(a,)`
        a, b = 0, 3
        for e in node.elts:
            c, d = _lengths(e)
            a, b = a + c + 2, b + d + 2
        return max(a - 2, 0), b
    elif t is ast.Compare:  # `a < b` to `(a not in b)`
        a, b = _lengths(node.left)
        for e in node.comparators:
            c, d = _lengths(e)
            a, b = a + c + 3, b + d + 10
        return a, b
    elif t is ast.Assign:  # `a = b`
        a, b = _lengths(node.value)
        for target in node.targets:
            c, d = _lengths(target)
            a, b = a + c + 3, b + d + 3
        return a, b
    return _UNKNOWN


class _Writer:
    """Writes one graph's statements. A loop body gets a writer of its own (`nested`), sharing
    the function's set of `used` names, with its params' names `fixed` by the loop. Without
    `in_place`, no array is changed in place (`x[i] = v` is a new array, `_setitem`)."""

    compiled = False  # whether its code is always compiled (a loop nest's body)

    def __init__(
        self,
        graph: Graph,
        used=None,
        fixed=None,
        nested: bool = False,
        plan=None,
        kernels=None,
        helper_names=None,
        in_place: bool = True,
    ):
        self.graph, self.nested, self.in_place = graph, nested, in_place
        self.kernels: Kernels = kernels if kernels is not None else Kernels()  # compiled loops
        if plan is None and in_place:  # updates in place
            plan = inplace.plan(graph, nested, _inline_of)
            inline = plan.inline  # (_inline_of's: planning changes only the nodes' order)
        else:
            plan = plan if plan is not None else inplace.Plan()
            inline = _inline_of(graph, nested)
        self.plan = plan
        self.inline = inline - self.plan.forced
        if self.kernels.inside:  # in a compiled loop, updates of copies are statements
            self.inline -= {n.id for n in graph.nodes() if n.op in ("setitem", "index_add")}
        self._named_deep()
        self.helpers: set[str] = set()
        self.into: dict[int, dict] = {}  # fused node -> result -> (acc, array) (`scatter.into`)
        self.passed: dict[int, str] = {}  # a nested backward loop's result -> the running
        # cotangent it adds into itself (`symgrad.emit.control._passed_on`)
        self.adds_into: dict[int, str | None] = {}  # a step adding into a running cotangent ->
        # where (its name, or a part of it), None where its value's own steps add it there
        self.after: dict[int, list[Callable[[], list[str]]]] = {}  # what writes lines after a
        # value's statements (its stacked row, `inplace.Plan.early`; a param's come first)
        self.names: dict[int, str] = {}
        self.helper_names = helper_names or _helper_names()  # the runtime's functions
        for node in list(graph.nodes()):
            if node.op != "param" and node.id not in self.inline and not _structured(node.op):
                self._shorten(node.id)
        order = [n.id for n in graph.nodes() if n.id not in self.inline]
        self.used = used if used is not None else set()
        self.used |= self.helper_names  # (a name of one of them stays its function's)
        same = {s: graph[s].inputs[0] for s in self.plan.updates}  # x[i] = v: still x
        self.names = assign_names(graph, order, reserved=self.used, fixed=fixed, same=same)
        self.used |= set(self.names.values())

    def _named_deep(self) -> None:
        """Name the inline values nested deeper than `DEEPEST` in one expression (a sum of
        500 terms unrolled: writing it would pass Python's recursion limit); a statement of
        such depth would not fit on a line, and `_shorten` would name parts of it anyway."""
        depth: dict[int, int] = {}
        for node in self.graph.nodes():
            if node.id not in self.inline:
                continue
            d = 1 + max((depth.get(i, 0) for i in node.inputs), default=0)
            if d > DEEPEST:
                self.inline.discard(node.id)
            else:
                depth[node.id] = d

    def _shorten(self, nid: int) -> None:
        """Name the longest inline parts of nid's statement until it fits on a line."""
        placeholder = ast.Name("t99", ast.Load())
        while not _fits(self._expr_or(nid, placeholder, top=True)):
            parts = {i: self._expr_or(i, placeholder) for i in self._inline_parts(nid)}
            if not parts:
                return
            longest = _longest(parts)
            self.inline.discard(longest)
            self._shorten(longest)

    def _inline_parts(self, nid: int) -> list[int]:
        """The inline, non-trivial nodes that nid's statement writes out."""
        out, stack = [], list(self.graph[nid].inputs)
        while stack:
            i = stack.pop()
            if i in self.inline and not _always_inline(self.graph[i].op):
                out.append(i)
                stack.extend(self.graph[i].inputs)
        return out

    def _expr_or(self, nid: int, placeholder: ast.expr, top: bool = False) -> ast.expr:
        saved, helpers = self.names, set(self.helpers)  # measuring writes no helper in
        self.names = _Placeholders(placeholder.id)
        try:
            if top:
                self.inline.add(nid)
                try:
                    return ast.Assign([ast.Name("t99_bar", ast.Store())], self.expr(nid), lineno=0)
                finally:
                    self.inline.discard(nid)
            return self.expr(nid)
        finally:
            self.names, self.helpers = saved, helpers

    def expr(self, nid: int) -> ast.expr:
        if nid not in self.inline:
            return ast.Name(self.names[nid], ast.Load())
        node = self.graph[nid]
        if node.op == "const":
            return literal(node.attrs["value"])
        rule = RULES[node.op]
        if node.op == "batched":  # a batching function, and what `_per_column` applies
            self.helpers |= {node.attrs["fn"], node.attrs.get("of", "")} & self.helper_names
        args: list[ast.expr] = []
        pos = 0
        for k, p in enumerate(rule.params):
            if p.kind == ARRAY:
                args.append(self._operand(node, k, node.inputs[pos]))
                pos += 1
            elif p.kind == SEQ:
                n = node.attrs["n_" + p.name]
                args.append(
                    ast.List([self.expr(i) for i in node.inputs[pos : pos + n]], ast.Load())
                )
                pos += n
        out = self.spell(rule, args, node.attrs, node)
        if (self.kernels.inside or self.compiled) and rule.shape == "elementwise":
            return _wrapped(out, node, number=self.compiled)
        return out

    def _operand(self, node, k: int, i: int) -> ast.expr:
        """Input i of node as its k-th parameter; in compiled code's elementwise work, cast
        where Numba would compute otherwise than NumPy (`_cast`)."""
        arg = self.expr(i)
        if not (self.kernels.inside or self.compiled):
            return arg
        if RULES[node.op].shape != "elementwise":
            return arg
        source = self.graph[i]
        cast = self._cast(node, k, source)
        if isinstance(cast, float):
            return literal(cast)
        if cast is None:
            return arg
        array = isinstance(source.aval, Aval) and source.aval.shape != ()
        return _as(arg, cast, self.compiled or not array)

    def _cast(self, node, k: int, source):
        """What compiled code casts operand k (`source`) of an elementwise node to, as NumPy
        computes it (a dtype, a float literal, or None):
        - an integer array or NumPy int beside uint64 values where the result is a float:
          the result's dtype (int8 with uint64 is float64 in NumPy, int64 in Numba);
        - a Python number (a constant, or an argument known to be one) beside float32
          (float16) values: that dtype (`0.5 * y` of a float32 y is float32 in NumPy, float64
          in Numba; `y > 0.1` compares in float32 in NumPy, in float64 in Numba);
        - a Python int beside uint64 values, in arithmetic: uint64 (Numba's mix is a float64:
          `k - 1` of a uint64 k at 0 did not wrap); compared, as it is (NumPy compares
          exactly: `u > -1`);
        - an exponent: a negative int constant of a float's, a float of its dtype (Numba's
          int power raises at 0, NumPy's gives inf); a non-negative one of a uint64's, a
          uint64 (Numba types uint64 ** int64 as int64).
        (Narrow ints and bools: `_wrapped`.)"""
        out = node.aval.dtype if isinstance(node.aval, Aval) else None
        mine = source.aval if isinstance(source.aval, Aval) else None
        python = source.op == "const" and type(source.attrs["value"]) in (int, float)
        python = python or source.op != "const" and _a_python_number(mine)
        if not python:
            integer = mine is not None and mine.dtype is not None and mine.dtype.kind in "iu"
            wide = any(
                isinstance(a := self.graph[j].aval, Aval) and a.dtype == np.uint64
                for j in node.inputs
            )
            return out if integer and wide and out is not None and out.kind == "f" else None
        value = source.attrs.get("value") if source.op == "const" else None
        integer = type(value) is int if source.op == "const" else mine.dtype.kind == "i"
        if node.op == "power" and k == 1:
            base = self.graph[node.inputs[0]].aval
            base = base.dtype if isinstance(base, Aval) else None
            if base is not None and base.kind == "f" and integer and value is not None:
                if value >= 0:
                    return None
                return float(value) if base.itemsize >= 8 else base  # (float32's, float32)
            wide = base is not None and base.kind == "u" and base.itemsize == 8
            if wide and integer and value is not None and value >= 0:
                return base
            return None
        others = {  # the other operands' dtypes (not a mask's: `where(c, x, 0.0)`)
            a.dtype
            for j in node.inputs
            if j != source.id and isinstance(a := self.graph[j].aval, Aval) and a.dtype is not None
            if a.kind != PYTHON and a.dtype.kind in "fu"  # (a Python float takes the other's)
        }
        if len(others) != 1:
            return None
        (dtype,) = others
        if dtype.kind == "f":
            return dtype if dtype.itemsize < 8 else None
        compared = out is not None and out.kind == "b"
        arithmetic = dtype.itemsize == 8 and integer and not compared
        return dtype if arithmetic and (value is None or value >= 0) else None

    def spell(self, rule, args: list[ast.expr], attrs: dict, node=None) -> ast.expr:
        """A primitive applied to `args` (node's inputs, where given), as NumPy code."""
        if rule.helper is not None:
            self.helpers.add(rule.helper.__name__)
        return rule.emit(args, attrs, rule)

    def statement(self, nid: int) -> str:
        if nid in self.plan.updates:
            return self.update(nid)
        node = self.graph[nid]
        if node.op in ("setitem", "index_add") and self.kernels.inside:
            return self.copied_update(nid)
        if self.kernels.constant(self, nid):
            self.kernels.literals[self.names[nid]] = repr(node.attrs["value"])  # an argument
            return ""  # (`layers = 2`: the compiled loop takes layers, passed 2)
        self.inline.add(nid)  # build this node's own expression, not a reference to its name
        value = self.expr(nid)
        self.inline.discard(nid)
        if isinstance(value, ast.stmt):  # (a check written as the statement it is)
            return ast.unparse(value)
        target = ast.Name(self.names[nid], ast.Store())
        return ast.unparse(ast.Assign([target], value, lineno=0))

    def update(self, nid: int, x: ast.expr | None = None) -> str:
        """`x[index] = v`: a setitem written in place (`symgrad.emit.inplace`), or on `x`; or
        `x += v` (`-=`, `*=`, `/=`) or `np.exp(x, out=x)`, an elementwise operation written in
        place."""
        node = self.graph[nid]
        if len(node.inputs) == 1 and inplace.unary_ufunc(node.op):  # np.exp(x, out=x)
            x1 = self.expr(node.inputs[0])
            call = self.spell(RULES[node.op], [x1], node.attrs)
            call.keywords.append(ast.keyword("out", ast.Name(x1.id, ast.Load())))
            return ast.unparse(call)
        x0, v, *parts = (self.expr(i) for i in node.inputs)
        if node.op in inplace.AUGMENTED:
            target = ast.Name(x0.id, ast.Store())
            return ast.unparse(ast.AugAssign(target, inplace.AUGMENTED[node.op](), v, lineno=0))
        x = x0 if x is None else x
        where = index_expr(self.graph[nid].attrs["index"], parts)
        target = ast.Subscript(x, where, ast.Store())
        if self.adds_at_index(nid, v, target):  # x[i] = x[i] + w: x[i] += w
            return ast.unparse(ast.AugAssign(target, ast.Add(), v.right, lineno=0))
        return ast.unparse(ast.Assign([target], v, lineno=0))

    def adds_at_index(self, nid: int, v: ast.expr, target: ast.Subscript) -> bool:
        """Whether the value `v` a setitem writes is `x[i] + w`, written out here, of x[i] the
        entries it writes, with the dtype x has (`+=` casts no further than `=` would)."""
        if not (isinstance(v, ast.BinOp) and isinstance(v.op, ast.Add)):
            return False
        if ast.unparse(v.left) != ast.unparse(ast.Subscript(target.value, target.slice)):
            return False
        x, total = (self.graph[i].aval for i in self.graph[nid].inputs[:2])
        return None not in (x, total) and total.dtype is not None and total.dtype == x.dtype

    def copied_update(self, nid: int) -> str:
        """`y = x.copy()` then `y[index] = v` (a setitem on a copy), or `y = np.zeros_like(x)`
        then `y[index] = v` (an index_add of a basic index, which repeats no element), as
        statements: what the runtime's `_setitem` and `_index_add` do, written out for a
        compiled loop, which calls no helper."""
        node = self.graph[nid]
        x = self.expr(node.inputs[0])
        target = ast.Name(self.names[nid], ast.Load())
        if node.op == "setitem":
            start = ast.unparse(ast.Call(ast.Attribute(x, "copy", ast.Load()), [], []))
        else:
            start = f"np.zeros_like({ast.unparse(x)}, {dtype_name(node.aval.dtype)})"
        return f"{target.id} = {start}\n" + self.update(nid, target)

    def body(self) -> list[str]:
        lines = self.statements()
        outs = [_as_returned(self.expr(o), self.graph[o].aval) for o in self.graph.outputs]
        result = outs[0] if len(outs) == 1 else ast.Tuple(outs, ast.Load())
        lines.append(ast.unparse(ast.Return(result)))
        return free(lines, self.large())

    def large(self) -> set[str]:
        """The names of values that the Avals say are arrays of at least `FREED` bytes."""
        out = set()
        for nid, name in self.names.items():
            if nid not in self.graph or self.graph[nid].op == "param":
                continue
            aval = self.graph[nid].aval
            if not isinstance(aval, tuple) and (nbytes(aval) or 0) >= FREED:
                out.add(name)
        return out

    def statements(self) -> list[str]:
        lines: list[str] = []
        last_loc = None
        started_backward = self.nested  # a loop body does not announce the backward pass
        for p in self.graph.params:
            lines += [line for write in self.after.get(p, ()) for line in write()]
        for node in self.graph.nodes():
            if node.id in self.adds_into:  # `acc[i] += v` (`symgrad.emit.scatter.chains`)
                if self.adds_into[node.id] is not None:  # (None: its value's steps added it)
                    lines.append(add_step(self, node.id))
                continue
            if node.op in ("param", "item") or node.id in self.inline:
                continue  # an item is bound by its loop's statements
            if node.backward and not started_backward:
                lines.append("# backward pass")
                started_backward = True
            loc = node.loc
            if node.backward and loc is not None and (loc.line, loc.file) != last_loc:
                where = "" if loc.file == self.graph.file else os.path.basename(loc.file) + " "
                lines.append(f"# {where}line {loc.line}: {loc.text.strip()}")
                last_loc = (loc.line, loc.file)
            if node.op in WRITERS:
                lines += WRITERS[node.op](self, node)
            else:
                lines += self.statement(node.id).splitlines()
                bound = f"{self.names.get(node.id)} = "
                if node.id in self.graph.checks and lines[-1].startswith(bound):
                    lines[-1] = lines[-1][len(bound) :]  # a call made for its effect
            lines += [line for write in self.after.get(node.id, ()) for line in write()]
        return lines

    def rename(self, nid: int, name: str) -> None:
        """Call nid `name` (a loop's result lives in its running variable), and with it each
        update in place of nid (`x[i] = v` keeps x's name)."""
        self.names[nid] = name
        for s in self.plan.updates:
            if self.graph[s].inputs[0] == nid:
                self.rename(s, name)

    def sub_writer(self, graph: Graph, fixed: dict) -> "_Writer":
        """A writer for a loop body, with the params' names `fixed`."""
        plan = self.plan.subplans.get(id(graph))
        return _Writer(
            graph,
            self.used,
            fixed,
            True,
            plan,
            self.kernels,
            helper_names=self.helper_names,
            in_place=self.in_place,
        )

    def assign(self, targets: list[str], values: list[ast.expr], accumulators=()) -> list[str]:
        """Statements setting each target to its value, as if all at once: one assignment per
        target where no value reads a target assigned before it, else `a, b = x, y`. Pairs
        already equal are left out; `a = a + x` is written `a += x` for `accumulators` (arrays
        this code created, so adding in place changes nothing else)."""
        pairs = [(t, v) for t, v in zip(targets, values) if ast.unparse(v) != t]
        read = [{n.id for n in ast.walk(v) if isinstance(n, ast.Name)} for _, v in pairs]
        if any(read[k] & {t for t, _ in pairs[:k]} for k in range(len(pairs))):
            lhs = ast.Tuple([ast.Name(t, ast.Store()) for t, _ in pairs], ast.Store())
            rhs = ast.Tuple([v for _, v in pairs], ast.Load())
            return [ast.unparse(ast.Assign([lhs], rhs, lineno=0))]
        lines = []
        for t, v in pairs:
            if t in accumulators and isinstance(v, ast.BinOp) and ast.unparse(v.left) == t:
                lines.append(
                    ast.unparse(ast.AugAssign(ast.Name(t, ast.Store()), ast.Add(), v.right))
                )
            else:
                lines.append(ast.unparse(ast.Assign([ast.Name(t, ast.Store())], v, lineno=0)))
        return lines


class _Placeholders(dict):
    """Stands in for names while measuring line lengths (names are given afterwards)."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def __missing__(self, key):
        return self.name


def _helper_functions(compiled: bool = False) -> dict:
    """The functions an emitted module may carry: those of `symgrad.rules.runtime` and of every
    other module holding a rule's helper (`symgrad.nn`), by name, and for a module with
    `compiled` loops (the Numba backend's) those of the modules holding a rule's
    `compiled_helper` (in its place) or `vector` function; found again only where another
    module holds one (a module of rules imported since)."""
    names = dict.fromkeys(m.__name__ for m in (runtime, drivers, batching))
    names.update(dict.fromkeys(r.helper.__module__ for r in RULES.values() if r.helper))
    if compiled:
        held = [f for r in RULES.values() for f in (r.compiled_helper, r.vector) if f]
        names.update(dict.fromkeys(h.__module__ for h in held))
    return _functions_of(tuple(names))


@functools.lru_cache(maxsize=8)
def _functions_of(modules: tuple[str, ...]) -> dict:
    """The functions defined in these modules, by name (a later module's first); read only."""
    return {
        name: obj
        for module in map(sys.modules.__getitem__, modules)
        for name, obj in vars(module).items()
        if inspect.isfunction(obj) and obj.__module__ == module.__name__
    }


def _helper_names() -> set[str]:
    return set(_helper_functions())


def _helper_sources(names: set[str], known: dict) -> list[str]:
    """The source of each needed helper and of the helpers it calls, sorted by name (`known`:
    `_helper_functions()`)."""
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(n for n in _names_read(known[name].__code__) if n in known)
    return [_source(known[n]) for n in sorted(seen)]


@functools.cache
def _source(helper: Callable) -> str:
    """A helper's source, read once: its file's lines from its first to the last its code
    (nested code too) has a position on, as `inspect.getsource` gives them (which tokenizes
    the file from the helper's first line; tests/test_api.py checks every helper's), under
    `numba.njit` where its module names it in `NJIT` (`symgrad.rules.runtime_compiled`; its
    own `DECORATOR`, where it has one: `symgrad.rules.runtime_vector`)."""
    code = inspect.unwrap(helper).__code__
    lines = linecache.getlines(code.co_filename)
    text = "".join(lines[code.co_firstlineno - 1 : last_line(code)])
    module = sys.modules[helper.__module__]
    if helper.__name__ in getattr(module, "NJIT", ()):
        return f"{getattr(module, 'DECORATOR', DECORATOR)}\n{text}"
    return text


def _names_read(code) -> set[str]:
    """The global names a function's code reads, its comprehensions' and inner functions' too."""
    inner = (c for c in code.co_consts if isinstance(c, type(code)))
    return set(code.co_names).union(*map(_names_read, inner))


from symgrad.emit.compiled import DECORATOR, dtype_name  # noqa: E402
from symgrad.emit.control import WRITERS as _CONTROL  # noqa: E402 (they write with _Writer)
from symgrad.emit.kernels import Kernels, write_fused  # noqa: E402
from symgrad.emit.scatter import add_step  # noqa: E402

WRITERS = {**_CONTROL, "fused": write_fused}


def _function(
    graph: Graph,
    name: str,
    doc: str | None,
    kernels: "Kernels",
    in_place: bool = True,
    helper_names: set[str] | None = None,
) -> tuple[str, set[str]]:
    """The source of one function computing the graph, and the helpers it calls; the compiled
    loops it calls go to `kernels`."""
    writer = _Writer(graph, kernels=kernels, helper_names=helper_names, in_place=in_place)
    body = writer.body()
    if doc is not None:
        body = [f'"""{doc}"""', *body]
    signature = drivers.signature([writer.names[p] for p in graph.params], graph.defaults)
    return f"def {name}({signature}):\n" + textwrap.indent("\n".join(body), "    "), writer.helpers


def emit_module(
    graph: Graph,
    name: str,
    doc: str,
    before: list[tuple[Graph, str, str]] = (),
    after: list[str] = (),
    helpers: set[str] = frozenset(),
    loops: bool = False,
    in_place: bool = True,
) -> str:
    """`before` lists (graph, name, docstring) of functions emitted above `name`; `after` the
    source of functions written after it, which call them and the runtime `helpers`; `loops`
    compiles the loops Numba can run whole (`symgrad.emit.compiled`); without `in_place`, the
    code changes no array in place (for arrays of other libraries: Dask's are immutable)."""
    functions, needed, kernels = [], set(helpers), Kernels(loops)
    known = _helper_functions(loops)
    for g, n, d in [*before, (graph, name, None)]:
        text, used = _function(g, n, d, kernels, in_place, set(known))
        functions.append(text)
        needed |= used
    origin = f"{graph.name} ({os.path.basename(graph.file)}, line {graph.line})"
    carried = _helper_sources(needed, known)
    parts = [
        f'"""{doc}\n\nGenerated by symgrad from {origin}; edit that function, not this file.\n"""'
        "\n\n" + "\n".join(kernels.imports(any(s.startswith("@numba.") for s in carried))),
        *carried,
        *kernels.sources,
        *functions,
        *after,
    ]
    return "\n\n\n".join(p.strip("\n") for p in parts) + "\n"
