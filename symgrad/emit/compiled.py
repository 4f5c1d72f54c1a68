"""Loops compiled whole: a `for` or `while` loop, and the backward loop walking its tape, as
Numba functions.

Contract. In a module emitted for the Numba backend (`Kernels.loops`), `symgrad.emit.control`
asks `compiled_loop(writer, node)` of each `loop` and `while` node and `compiled_vjp(writer,
node)` of each `loop_vjp` node. Where the answer is yes, it writes the loop's statements as
usual, with two differences, and `wrap` moves them into a function of their own under
`@numba.njit`, called where the loop stood (its parameters are the names the statements read
before assigning them, its results the loop's results read afterwards):

- the tape is arrays made before the loop, one per part of an entry (`ArrayRows`), written at
  step k (`tape_h[k] = h`; a `while` starts them with room for some steps and doubles it when
  full) and handed to the backward loop as one tuple; a part of more than `LOOP_ARRAY_MAX`
  entries is a typed list instead, keeping each step's array as it is (`tape_h.append(h)`,
  as a Python loop's tape does: a step's array is never changed in place once taped,
  `symgrad.emit.inplace`). A stacked output is an array written row by row. The backward loop
  walks k from the last step down and reads its entry from them (`h = tape_h[k]`).
  The shape of a row is an argument of the function (`Kernels.literals`: its value at the
  call), not part of its text.
- sums of outer products over the steps (`symgrad.emit.outer_sums`) keep their rows in
  preallocated arrays too.

A loop is compiled only where Numba computes exactly what the NumPy module does: every value in
it (and in a while's test) of a known shape and dtype, each carried value and running cotangent
of one type on every step (Numba types a variable once); every primitive one whose NumPy
spelling Numba compiles (`Rule.jit`) and no runtime helper (an update of a copy is written
`y = x.copy(); y[i] = v`); a nested `for` (no `while`) and a branch are written inline, a
nested loop's tape as a list of tuples walked back by `tape[::-1]`; and, for a loop with
a tape, every backward loop walking it compiled too (the tape's form is theirs to read).
`attempt` writes a loop so and takes it back, writer and all, where the function written would
still call a helper; a backward loop then walks the arrays in Python. Anything else stays a
Python loop. The on-disk cache, the error model and the fall-back to the NumPy module on a
Numba failure are those of `symgrad.emit.kernels`.
"""

from __future__ import annotations

import ast
import builtins
import math

from symgrad.emit.scatter import added_at, basic
from symgrad.ir.avals import ARRAY, SCALAR, TUPLE, Aval, float64_number
from symgrad.ir.names import fresh
from symgrad.ir.structured import Cond, Loop, LoopVjp
from symgrad.passes.avals import input_avals
from symgrad.passes.fuse import numbas
from symgrad.rules import RULES
from symgrad.rules.table import numba_agrees

DECORATOR = '@numba.njit(cache=True, error_model="numpy")'
# a loop of the user's indexes as its code says (x[i - 2], x[i] past the end): Numba raises
# IndexError there as NumPy does, where unchecked it would read and write outside the array
CHECKED = '@numba.njit(cache=True, error_model="numpy", boundscheck=True)'


def compiled_loop(writer, node) -> bool:
    """Whether a `loop` or `while` node is written as a compiled function (see the module
    docstring)."""
    kernels = writer.kernels
    if not kernels.loops or kernels.inside or node.op not in ("loop", "while"):
        return False
    view = Loop(node)
    body = view.body
    if _large(view) or _array_bounds(writer.graph, node):
        return False
    if not _compiles(body, _within(writer.plan, body)):
        return False
    if not _stable(writer.graph, node):
        return False
    if not view.counted:  # a while: its test compiles, its tape counts its steps
        test = node.attrs["cond"]
        if not _compiles(test, _within(writer.plan, test)):
            return False
        if view.records and not view.entry_size:
            return False
    parts = [*view.stacked, *view.decisions]
    if not all(_typed(body[p].aval) for p in parts):
        return False
    tape = tape_item(writer.graph, node)
    return tape is None or all(
        writer.graph[u].op == "loop_vjp"
        and _vjp_compiles(writer.plan, writer.graph, writer.graph[u])
        for u in writer.graph.users(tape)
    )


def compiled_vjp(writer, node) -> bool:
    """Whether `loop_vjp` node is written as a compiled function: its loop's tape was written
    as arrays (the loop compiled) or the loop records none and the backward loop compiles."""
    kernels = writer.kernels
    if not kernels.loops or kernels.inside:
        return False
    g = writer.graph
    item = g[node.inputs[0]]
    forward = g[item.inputs[0]] if item.op == "item" else None
    if forward is None or forward.op not in ("loop", "while") or _array_bounds(g, forward):
        return False
    if tape_item(g, forward) is not None and (id(g), node.inputs[0]) not in kernels.arrays:
        return False  # a list (a loop written in Python, or compiled after all: `attempt`)
    return _vjp_compiles(writer.plan, g, node)


def _array_bounds(graph, loop) -> bool:
    """Whether a `for` loop's range has a bound that is an array (`range(k)` of a 0-d int
    array, which Numba's range refuses)."""
    bounds = loop.inputs[:3] if loop.op == "loop" else ()
    return any(getattr(graph[b].aval, "kind", None) == ARRAY for b in bounds)


LOOP_ARRAY_MAX = 1 << 14  # entries: a compiled loop tapes larger arrays in typed lists of
# the arrays as they are, not rows of one array made before it (measured, GradBench ode at
# n = 10^5: each call's fresh 80 MB array of rows, written row by row, faulted its pages in
# and took 2.5x the loop's own work); a loop whose stacked outputs are larger stays a Python
# loop, its nests still compiled (a loop copying nothing is compiled whatever its sizes: the
# taps convolution at n = 2*10^5 runs faster so)


def large(aval) -> bool:
    """Whether a value is an array of more than `LOOP_ARRAY_MAX` entries."""
    return (
        aval is not None
        and aval.kind == ARRAY
        and aval.known
        and math.prod(aval.shape) > LOOP_ARRAY_MAX
    )


def _large(view: Loop) -> bool:
    """Whether a loop copies an array of more than `LOOP_ARRAY_MAX` entries into rows at each
    step: a stacked output (a tape's large parts are lists)."""
    return any(large(view.body[o].aval) for o in view.stacked)


def attempt(writer, write) -> list[str] | None:
    """The lines `write()` gives for a compiled loop, or None, with the writer as it was
    before, where the function it wrote would call a runtime helper (a spelling the checks
    above did not foresee, such as an update written `_index_add` in a branch)."""
    kernels = writer.kernels
    saved = (set(writer.used), dict(writer.names), set(writer.helpers), len(kernels.sources))
    kernels.inside = True
    kernels.literals, kernels.lifted = {}, {}  # this function's own (its call's values)
    try:
        lines = write()
    finally:
        kernels.inside = False
        kernels.literals, kernels.lifted = {}, {}
    if lines is None:
        used, names, helpers, n_sources = saved
        writer.used.clear()
        writer.used.update(used)
        writer.names, writer.helpers = names, helpers
        del kernels.sources[n_sources:]
    return lines


def tape_item(graph, loop) -> int | None:
    """The item of loop that is its tape, where it records one."""
    view = Loop(loop)
    if not view.records or view.index_only:
        return None
    position = view.n_results
    for u in graph.users(loop.id):
        if graph[u].op == "item" and graph[u].attrs["index"] == position:
            return u
    return None


def _vjp_compiles(plan, graph, node) -> bool:
    """Whether a backward loop (of graph) compiles, its running cotangents of one type each,
    initial (a 0-d array read as its number: `number_of`), inside and next (an `index_add`
    into a captured value's cotangent is written `acc[index] += v`: `symgrad.emit.scatter`)."""
    view = LoopVjp(node)
    body = view.body
    for i, p in zip(view.state_inputs, view.state_params):
        if not _same_type(number_of(graph[node.inputs[i]].aval, body[p].aval), body[p].aval):
            return False
    exempt = set()
    for r, (kind, pos, _) in enumerate(view.outs):
        at = added_at(body, body.outputs[r], view.captured_params[pos]) if kind == "acc" else None
        if at is not None and basic(body, body[at]):
            exempt.add(at)
        elif kind == "state":
            of = body[view.state_params[pos]].aval
            if not _same_type(body[body.outputs[r]].aval, of):
                return False
    return _compiles(body, _within(plan, body), exempt)


def _compiles(graph, plan, exempt=frozenset()) -> bool:
    """Whether every value of graph (a loop body) compiles under Numba as written."""
    for node in graph.nodes():
        if node.op in ("param", "item", "fused"):
            ok = node.op == "fused" or _typed(node.aval) or _a_listed_tape(graph, node)
        elif node.op == "const":
            ok = _literal(node.attrs["value"])
        elif node.op == "loop":  # a nested loop: inline, its tape a list of tuples (its
            view = Loop(node)  # stacked outputs arrays, where it has no tape)
            stacks = not view.n_stacked or not _a_tape(view) and not _large(view)
            ok = stacks and not view.breaks and _listed(view)
            ok = ok and all(_typed(view.body[o].aval) for o in view.stacked)
            ok = ok and _compiles(view.body, _within(plan, view.body)) and _stable(graph, node)
        elif node.op == "loop_vjp":  # walking such a list back
            ok = _walks_a_list(graph, node) and _vjp_compiles(plan, graph, node)
        elif node.op in ("cond", "cond_vjp"):
            ok = all(_compiles(b, _within(plan, b)) for b in Cond(node).branches)
            ok = ok and _branches_agree(graph, node)
        elif RULES[node.op].structured:
            ok = False
        elif node.id in exempt:
            ok = True
        elif node.id in graph.checks:  # (made for its effect: `if x[t] > 5: raise ...`)
            ok = _jit(graph, node, plan)
        else:
            ok = _jit(graph, node, plan) and _typed(node.aval)
        if not ok:
            return False
    return True


def _a_tape(view: Loop) -> bool:
    """Whether a loop records a tape (one not of its index alone: its range is walked back)."""
    return view.records and not view.index_only


def _listed(view: Loop) -> bool:
    """Whether a nested loop records no tape, or a tape of entries Numba types (a list of
    tuples, each part of one type on every step)."""
    if not _a_tape(view):
        return True
    body = view.body
    return all(_typed(body[p].aval) for p in [*view.entry_params, *view.decisions])


def _a_listed_tape(graph, node) -> bool:
    """Whether an item is the tape of a nested loop of graph: a list (`_listed`), or nothing
    where the loop would tape its index alone."""
    loop = graph[node.inputs[0]] if node.op == "item" else None
    if loop is None or loop.op != "loop" or not Loop(loop).records:
        return False
    return node.attrs["index"] == Loop(loop).n_results


def _walks_a_list(graph, node) -> bool:
    """Whether a nested backward loop walks the list a nested loop of the same graph taped (or
    that loop's range, where it tapes its index alone)."""
    item = graph[node.inputs[0]]
    forward = graph[item.inputs[0]] if item.op == "item" else None
    return forward is not None and forward.op == "loop" and _listed(Loop(forward))


def _within(plan, graph):
    """The in-place plan (`symgrad.emit.inplace`) of a graph a structured node owns."""
    return None if plan is None else plan.subplans.get(id(graph))


def _branches_agree(graph, node) -> bool:
    """Whether both branches give each result one type (a `cond_vjp` branch that does not
    differentiate a result gives zeros like its operand)."""
    branches = Cond(node).branches
    if node.op == "cond":
        per_branch = [[b[o].aval for o in b.outputs] for b in branches]
    else:
        operands = [graph[node.inputs[i]].aval for i in Cond(node).captured_inputs]
        zeros = [  # what `control._zeros` writes: zeros like an array, 0.0 for a number
            operands[j]
            if operands[j] and (operands[j].kind == ARRAY or float64_number(operands[j]))
            else None
            for j, _ in node.attrs["outs"]
        ]
        per_branch = [
            [b[b.outputs[wrt.index(r)]].aval if r in wrt else zeros[r] for r in range(len(zeros))]
            for b, wrt in zip(branches, node.attrs["wrt"])
        ]
    return all(_same_type(a, b) for a, b in zip(*per_branch))


def _jit(graph, node, plan) -> bool:
    """Whether Numba compiles the node's spelling (`Rule.jit`, and no runtime helper; an
    update in place is `x[index] = v`)."""
    rule = RULES[node.op]
    ins = input_avals(graph, node, rule)
    if node.op in ("setitem", "index_add") or plan is not None and node.id in plan.updates:
        return RULES["getitem"].jit(ins, node.attrs)  # on x itself, or on a copy or zeros
    if rule.helper is not None or not rule.jit or not numba_agrees(rule, ins):
        return False
    return rule.jit is True or bool(rule.jit(ins, node.attrs))


def _typed(aval) -> bool:
    """Whether Numba can type the value: a number or array of known shape and dtype."""
    if aval is None:
        return False
    if aval.kind == TUPLE:
        return aval.value is not None
    return aval.known and numbas(aval.dtype)


def number_of(aval, carried):
    """The Aval a compiled loop starts a carried value of Aval `carried` from: a 0-d array's,
    where the loop carries a number (`np.where` of numbers, the seed of `abs(m)`), as the number
    its entry `a[()]` is; any other as it is."""
    zero_d = aval is not None and aval.kind == ARRAY and aval.shape == ()
    if zero_d and carried is not None and carried.kind != ARRAY:
        return Aval((), aval.dtype, SCALAR)
    return aval


def _same_type(a, b) -> bool:
    """Whether two Avals are one Numba type: the same dtype and shape, both arrays or both
    numbers. A 0-d value whose kind is not known (a Python number here, a NumPy one there) is
    a number: Numba types both as one, and a 0-d array is rare (where it meets a number,
    Numba refuses the module, which then falls back on NumPy's)."""
    return (
        _typed(a)
        and _typed(b)
        and (a.shape, a.dtype, a.kind == ARRAY) == (b.shape, b.dtype, b.kind == ARRAY)
    )


def _stable(graph, loop) -> bool:
    """Whether each carried value has one type: initial, inside and next."""
    view = Loop(loop)
    body = view.body
    return all(
        _same_type(graph[loop.inputs[i]].aval, body[p].aval)
        and _same_type(body[p].aval, body[o].aval)
        for i, p, o in zip(view.carried_inputs, view.carried_params, view.next_carried)
    )


def _literal(value) -> bool:
    if isinstance(value, tuple):
        return all(_literal(v) for v in value)
    return value is None or type(value) in (bool, int, float)


def dtype_name(dtype) -> str:
    """NumPy's name for a dtype, as emitted code spells it (`np.float64`)."""
    return "np.bool_" if dtype.name == "bool" else f"np.{dtype.name}"


class ArrayRows:
    """What a loop keeps per step in arrays made before it (a compiled loop, and a Python one
    of small rows: `arrays_fit`) for its `steps` (their count's text): its tape one array per
    part of an entry but the index (`tape_h[k] = h` at step k; the index is recomputed from k,
    and taped only by a loop that can break), handed on as a tuple, and each stacked output
    read afterwards an array written row by row (`_Lists` keeps lists). `keep` says what:
    (name or None where nobody reads it, Aval) of each stacked output, the tape's name (None:
    no tape) and (name, Aval) of each part of an entry; in a compiled loop, a part of more than
    `LOOP_ARRAY_MAX` entries is a typed list of each step's array (`listed`). A loop that
    breaks gets them cut to the steps run. A `while` (`steps` None) starts them with room for
    `ROOM` steps and doubles it when a step finds them full (`begin`), and cuts them to the
    steps run. Step k is the index itself where the loop counts from 0 by 1 and cannot break
    (`index`)."""

    ROOM = 16

    def __init__(self, writer, steps: str | None, breaks: bool, index: str | None = None):
        self.used, self.steps, self.breaks = writer.used, steps, breaks or steps is None
        self.inside = writer.kernels.inside  # in a compiled function: shapes are arguments
        self.counter = index is None or self.breaks
        self.k = fresh("k", writer.used) if self.counter else index
        self.n = steps if steps is not None and steps.isdigit() else fresh("n", writer.used)
        self.literals = writer.kernels.literals

    def keep(self, stacked: list[tuple], tape: str | None, entry: list[tuple], shifted=()) -> None:
        """`shifted` pairs (i, j) of entry parts where part i at step k + 1 is part j at step
        k (a carried value taped, and its next value taped too: an RNN's h before and after
        its step): both are one array of a row more (`h_tape[k + 1] = h_next`, read as
        `h_tape[:-1]` and `h_tape[1:]`), its first row the carried value's initial value."""
        self.stacked = stacked
        self.tape = tape
        self.slots = [(fresh(f"{tape}_{e}", self.used), a) for e, a in entry] if tape else []
        self.listed = {s for s, a in self.slots if self.inside and large(a)}  # typed lists
        shifted = [
            (i, j) for i, j in shifted if not {self.slots[i][0], self.slots[j][0]} & self.listed
        ]
        self.shifted = {j: i for i, j in shifted} if tape else {}
        self.first = {i: v for i, v in enumerate(entry) if i in self.shifted.values()}
        made = [s for j, s in enumerate(self.slots) if j not in self.shifted]
        self.arrays = [(s, a) for s, a in stacked if s is not None] + made

    def start(self) -> list[str]:
        if not self.arrays:
            return []
        lines = []
        if self.n != self.steps:
            lines.append(f"{self.n} = {self.ROOM if self.steps is None else self.steps}")
        for name, aval in self.arrays:
            if name in self.listed:
                lines.append(f"{name} = numba.typed.List()")
                continue
            n = self.n if name not in self._longer() else _plus_one(self.n)
            if not aval.shape:
                shape = f"({n},)"
            elif self.inside:  # a row's shape: an argument (the function serves other lengths)
                row = fresh(f"{name}_row", self.used)
                self.literals[row] = repr(tuple(aval.shape))
                shape = f"({n},) + {row}"
            else:
                shape = "(" + ", ".join([n, *map(str, aval.shape)]) + ")"
            lines.append(f"{name} = {empty(shape, aval.dtype, self.inside)}")
        for i, (value, _) in self.first.items():  # a shifted pair's first row
            lines.append(f"{self.slots[i][0]}[0] = {value}")
        return lines + [f"{self.k} = 0"] * self.counter

    def _longer(self) -> set[str]:
        """The arrays of a row more: those of the carried values of `shifted` pairs."""
        return {self.slots[i][0] for i in self.shifted.values()}

    def begin(self) -> list[str]:
        """The first statements of a step: room made where the arrays are full (a while)."""
        if self.steps is not None or not self.arrays:
            return []
        grow = [f"{self.n} = 2 * {self.n}"] + [
            f"{a} = np.concatenate(({a}, np.empty_like({a})))"
            for a, _ in self.arrays
            if a not in self.listed
        ]
        return [f"if {self.k} == {self.n}:", *("    " + line for line in grow)]

    def record(self, entry: list[ast.expr]) -> list[str]:
        lines = []
        for j, ((name, _), v) in enumerate(zip(self.slots, entry)):
            if j in self.shifted:  # into the carried value's array, a row on
                lines.append(f"{self.slots[self.shifted[j]][0]}[{self.k} + 1] = {ast.unparse(v)}")
            elif name in self.listed:
                lines.append(f"{name}.append({ast.unparse(v)})")
            elif j not in self.shifted.values():
                lines.append(f"{name}[{self.k}] = {ast.unparse(v)}")
        return lines

    def stack(self, rows: list[ast.expr | None]) -> list[str]:
        """Each step's rows (None: a row written already, `row`)."""
        return [line for j, v in enumerate(rows) if v is not None for line in self.row(j, v)]

    def row(self, j: int, value: ast.expr) -> list[str]:
        """Stacked output j's row (none where nobody reads the output)."""
        s = self.stacked[j][0]
        return [f"{s}[{self.k}] = {ast.unparse(value)}"] if s else []

    def step(self) -> list[str]:
        return [f"{self.k} += 1"] if self.arrays and self.counter else []

    def end(self) -> list[str]:
        cut = (lambda name: f"{name}[:{self.k}]") if self.breaks else (lambda name: name)
        lines = [f"{s} = {cut(s)}" for s, _ in self.stacked if s and self.breaks]
        if self.tape:
            parts = [n if n in self.listed else cut(n) for n, _ in self.slots]
            for j, i in self.shifted.items():
                name = self.slots[i][0]
                parts[i] = f"{name}[:{self.k}]" if self.breaks else f"{name}[:-1]"
                parts[j] = f"{name}[1 : {self.k} + 1]" if self.breaks else f"{name}[1:]"
            lines.append(f"{self.tape} = ({', '.join(parts)}{',' * (len(parts) == 1)})")
        return lines


def _plus_one(n: str) -> str:
    return str(int(n) + 1) if n.isdigit() else f"{n} + 1"


def empty(shape: str, dtype, spelt: bool = True) -> str:
    """`np.empty(shape)` of a dtype (float64, NumPy's default, named only where `spelt`)."""
    if not spelt and dtype.name == "float64":
        return f"np.empty({shape})"
    return f"np.empty({shape}, {dtype_name(dtype)})"


ROW_MAX = 1 << 10  # entries: a Python loop keeps rows up to this long in arrays (`arrays_fit`)
# (a list keeps each step's array as it is, an array copies it: measured, GradBench llsq's
# running powers of n = 2048 to 16392 entries took 7-10% longer in arrays)


def arrays_fit(writer, node) -> bool:
    """Whether a Python `for` loop of a specialised NumPy module keeps its tape and stacked
    outputs in arrays (`ArrayRows`) rather than lists of arrays: it cannot break, each part
    is an array of known shape and dtype (a number would come back as NumPy's), of at most
    `ROW_MAX` entries, and every reader of its tape a backward loop. Small rows cost a Python
    object each in a list, and are stacked after it; in an array, 8 bytes an entry."""
    if not writer.in_place or writer.kernels.inside or node.op != "loop":
        return False
    view = Loop(node)
    body = view.body
    if view.breaks:
        return False
    parts = list(view.stacked)
    if view.records:  # its tape's entries, but the index
        parts += [*view.entry_params[1:], *view.decisions]
    avals = [body[p].aval for p in parts]
    if not avals or not all(_an_array(a) and math.prod(a.shape) <= ROW_MAX for a in avals):
        return False
    g, tape = writer.graph, tape_item(writer.graph, node)
    if tape is not None and tape in g.outputs:  # read by a backward loop of another graph
        return False
    return tape is None or all(g[u].op == "loop_vjp" for u in g.users(tape))


def _an_array(aval) -> bool:
    return _typed(aval) and aval.kind == ARRAY and aval.rank >= 1


def wrap(
    writer, node, lines: list[str], results: list[str], avals: list, back=False
) -> list[str] | None:
    """`lines` (a loop's statements) as a compiled function returning `results` (of these
    Avals), and the statements that call it in their place."""
    kernels = writer.kernels
    name = f"_{'back' if back else 'loop'}{len(kernels.sources) + 1}"
    params = _free(lines, writer.used, kernels.names)
    if set(params) & writer.helper_names:  # a runtime helper: not Numba's
        return None
    result = ", ".join(results)
    where = f"`{node.loc.text.strip()}` (line {node.loc.line})" if node.loc else ""
    doc = f"The loop {where}" + (", run backwards" if back else "")
    source = [CHECKED, f"def {name}({', '.join(params)}):", f'    """{doc}."""']
    source += ["    " + line for line in lines] + [f"    return {result or 'None'}"]
    kernels.sources.append("\n".join(source))
    call = f"{name}({', '.join(kernels.literals.get(p, p) for p in params)})"
    if not results:
        return [call]
    return [f"{result} = {call}"] + numbers_back(results, avals, False)  # (called outside)


def count_of(lengths: list[str]) -> str:
    """The number of entries along axes of these lengths (texts): their product, a length
    that is an expression (`shape[0] - 1`, a frame's) in parentheses."""
    atoms = (ast.Name, ast.Constant, ast.Subscript, ast.Attribute, ast.Call)
    terms = [n if isinstance(ast.parse(n, mode="eval").body, atoms) else f"({n})" for n in lengths]
    return " * ".join(terms) or "1"


def numbers_back(targets: list[str], avals: list, inside: bool) -> list[str]:
    """Numba returns a number as a Python number: give it its NumPy type back where the
    NumPy module's is a NumPy number (Aval kind SCALAR): a float32 its dtype, and a float64
    NumPy's semantics, which Python's float lacks (`1.0 / s` of a zero total is inf, not a
    ZeroDivisionError; `s.dtype`), and so does a float64 or int64 of either kind (a total that
    starts as Python's 0.0 or 1 and adds or multiplies NumPy numbers: NumPy's after one step,
    what the function gives). A Python number, or a 0-d array, comes back as it is; in a
    compiled loop (`inside`), where Numba computes on both alike, a float64 or an int64 too."""
    return [
        f"{t} = {dtype_name(a.dtype)}({t})"
        for t, a in zip(targets, avals)
        if t != "_" and a is not None and a.shape == () and a.dtype is not None
        if _numpy_number(a, native=a.dtype.name in ("float64", "int64"), inside=inside)
    ]


def _numpy_number(aval, native: bool, inside: bool) -> bool:
    """Whether a number of this Aval comes back from Numba as another type than the NumPy
    module's (`native`: of a dtype Python's float or int holds)."""
    if native:
        either = aval.kind is None and aval.dtype.kind in "fiu"
        return (aval.kind == SCALAR or either) and not inside
    return aval.kind in (SCALAR, None)


def _free(lines: list[str], used: set[str], kernels: set[str]) -> list[str]:
    """The names `lines` read before assigning them, in the order first read: what the
    function must be given. Module names (np, the other compiled functions) and Python's
    builtins are not, unless the emitted code uses the name for a variable."""
    module = {"np", "math", "numba"} | kernels
    own = {n for n in dir(builtins) if n not in used}
    stored: set[str] = set()
    params: list[str] = []

    class Reads(ast.NodeVisitor):
        def visit_Name(self, n):
            if isinstance(n.ctx, ast.Store):
                stored.add(n.id)
            elif n.id not in stored and n.id not in params and n.id not in module | own:
                params.append(n.id)

        def visit_Assign(self, n):  # the value is read before the targets are set
            self.visit(n.value)
            for t in n.targets:
                self.visit(t)

        def visit_AugAssign(self, n):  # `x += v` reads x
            self.visit(n.value)
            if isinstance(n.target, ast.Name):
                self.visit_Name(ast.Name(n.target.id, ast.Load()))
            self.visit(n.target)

        def visit_For(self, n):
            self.visit(n.iter)
            self.visit(n.target)
            for s in n.body + n.orelse:
                self.visit(s)

    Reads().visit(ast.parse("\n".join(lines)))
    return params
