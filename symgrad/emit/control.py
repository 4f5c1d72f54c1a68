"""Writing loops: a `loop` node as a Python `for` loop, a `loop_vjp` node as the loop run back.

Contract: `WRITERS[op](writer, node)` returns the lines for one structured node of the graph
`writer` writes. The body is written by a writer of its own whose params are named after the
variables they stand for: the loop index after the source's, a carried value after the variable
that holds it after the loop (the loop's `item`), a captured value after the variable it is read
from. So the forward loop reads like the source, with one added line when a tape is recorded:

    h_1 = h
    tape = []
    for t in range(n):
        tape.append((t, h_1))
        h_1 = np.tanh(W @ h_1 + U @ xs[t])

and the backward loop walks the tape in reverse, accumulating the cotangents of captured values.
A loop that can break (attribute `breaks`) ends its body with `if <flag>: break`, after the
carried variables get their values; the tape, appended to first, holds the iterations that ran.
"""

from __future__ import annotations

import ast

from symgrad.emit.compiled import (
    ArrayRows,
    arrays_fit,
    attempt,
    compiled_loop,
    compiled_vjp,
    dtype_name,
    large,
    number_of,
    tape_item,
    wrap,
)
from symgrad.emit.outer_sums import OuterSums
from symgrad.emit.scatter import chains, into, into_carried
from symgrad.ir.avals import ARRAY, PYTHON, SCALAR, Aval, float64_number
from symgrad.ir.index import Dyn
from symgrad.ir.names import fresh
from symgrad.ir.structured import Cond, Loop, LoopVjp
from symgrad.passes.fuse import summed as sums


def _item_ids(writer, node) -> dict[int, int]:
    """index -> id of each `item` of node still in the graph."""
    g = writer.graph
    return {g[u].attrs["index"]: u for u in g.users(node.id) if g[u].op == "item"}


def _items(writer, node) -> dict[int, str]:
    """index -> name of each `item` of node still in the graph."""
    return {k: writer.names[u] for k, u in _item_ids(writer, node).items()}


def _name_of(writer, nid: int, lines: list[str], base: str, read: bool = True) -> str:
    """A variable holding input nid (a constant gets one, assigned before the loop; an int, in
    a compiled loop, is an argument of it); none where the body does not `read` it (a loop's
    count it divided by, folded into a constant: `T = 5` written for nothing)."""
    if not read and nid in writer.inline:
        return "_"
    if nid not in writer.inline:
        return writer.names[nid]
    if writer.kernels.constant(writer, nid):
        return writer.kernels.lift(writer, nid, base)  # an argument of the compiled loop
    name = fresh(base, writer.used)
    lines.append(f"{name} = {ast.unparse(writer.expr(nid))}")
    return name


def _reads(body, param: int) -> bool:
    """Whether a loop's body reads its captured value `param`."""
    return bool(body.users(param)) or param in body.outputs


def _initial(writer, node, positions: range) -> list[ast.expr]:
    """The initial values of a loop's carried variables (its inputs at `positions`): `np.copy(x)`
    for those its body updates in place that are not the loop's to change
    (`symgrad.emit.inplace`)."""
    copied = writer.plan.copied.get(node.id, ())
    values = [_start(writer, node.inputs[k]) for k in positions]
    copy = ast.Attribute(ast.Name("np", ast.Load()), "copy")
    return [ast.Call(copy, [v], []) if k in copied else v for k, v in zip(positions, values)]


def _computed_outside(writer, values: list[ast.expr], names: list[str], before: list[str]):
    """A compiled loop's initial values, each expression (not a name or a number) computed
    where the loop is called, in `before`, and passed in by name: what it calls need not
    compile in Numba (`np.flip(a, axis=0).sum()`, a backward loop's seed)."""
    named = []
    for value, base in zip(values, names):
        if not isinstance(value, (ast.Name, ast.Constant)):
            name = fresh(f"{base}_0", writer.used)
            before.append(f"{name} = {ast.unparse(value)}")
            value = ast.Name(name, ast.Load())
        named.append(value)
    return named


def _range(writer, start: int, stop: int, step: int) -> str:
    args = [start, stop, step]
    if _const(writer, step, 1):
        args = [stop] if _const(writer, start, 0) else [start, stop]
    return "range(" + ", ".join(_bound(writer, a) for a in args) + ")"


def _value(writer, nid: int):
    """The value of a const node, None for any other."""
    node = writer.graph[nid]
    return node.attrs["value"] if node.op == "const" else None


def _const(writer, nid: int, value) -> bool:
    return writer.graph[nid].op == "const" and _value(writer, nid) == value


def _from_zero_by_one(writer, start: int, step: int) -> bool:
    """Whether a range's index is its step count: `range(stop)`."""
    return _const(writer, start, 0) and _const(writer, step, 1)


def _count(writer, start: int, stop: int, step: int) -> str:
    """The number of steps of a range: a literal where its bounds are (outside a compiled
    loop, which takes them as arguments), else `len(range(...))`."""
    bounds = [_value(writer, i) for i in (start, stop, step)]
    if not writer.kernels.inside and all(type(b) is int for b in bounds):
        return str(len(range(*bounds)))
    return f"len({_range(writer, start, stop, step)})"


def _index_recomputed(view: Loop) -> bool:
    """Whether a tape kept in arrays leaves out the index: a `for` loop that cannot break
    (the backward loop computes step k's index from the range; `_Walk`)."""
    return view.counted and not view.breaks


def _start(writer, nid: int) -> ast.expr:
    """A loop's initial value; in a compiled loop, a number known statically other than 0 and
    ±1 (a backward loop's seed, `-1 / n`) is an argument of the function (`_bound`)."""
    if writer.kernels.constant(writer, nid, (int, float), besides=(0, 1, -1)):
        return ast.Name(writer.kernels.lift(writer, nid, "start"), ast.Load())
    return writer.expr(nid)


def _bound(writer, nid: int) -> str:
    """A range's bound; in a compiled loop, an int known statically is an argument of the
    function (`Kernels.literals`), so that other numbers of steps run the same machine code."""
    if writer.kernels.constant(writer, nid):
        return writer.kernels.lift(writer, nid, "stop")
    return ast.unparse(writer.expr(nid))


def _body_lines(writer, sub, assign) -> list[str]:
    """The indented body: sub's statements, then `assign()` (called after them: a nested loop
    names the variables holding its results as its statements are written)."""
    lines = sub.statements()
    lines += assign()
    writer.helpers |= sub.helpers
    return ["    " + line for text in lines for line in text.splitlines()] or ["    pass"]


def write_loop(writer, node) -> list[str]:
    """A `loop` as `for i in range(...)`, a `while` as `while <cond>:`; a compiled one as a
    call of the function that runs it (`symgrad.emit.compiled`)."""
    if compiled_loop(writer, node):
        lines = attempt(writer, lambda: _write_loop(writer, node, jit=True))
        if lines is not None:
            writer.kernels.arrays.add((id(writer.graph), tape_item(writer.graph, node)))
            return lines
    arrays = arrays_fit(writer, node)
    if arrays:
        writer.kernels.arrays.add((id(writer.graph), tape_item(writer.graph, node)))
    return _write_loop(writer, node, jit=False, arrays=arrays)


def _write_loop(writer, node, jit: bool, arrays: bool = False) -> list[str] | None:
    """The loop's lines (`jit`: to compile), keeping its tape and stacked outputs in arrays
    (`ArrayRows`; always in a compiled loop) or in lists."""
    view = Loop(node)
    body, k, ins = view.body, view.k, node.inputs
    items = _items(writer, node)
    lines: list[str] = []
    index = [fresh(body[view.index_param].name, writer.used)] if view.counted else []
    carried = [
        items.get(j) or fresh(body[p].name, writer.used) for j, p in enumerate(view.carried_params)
    ]
    before: list[str] = []  # a compiled loop's inputs computed where it is called
    read = lambda p: _reads(body, p) or not view.counted  # noqa: E731 (a while's test too)
    captured = [
        _name_of(writer, ins[i], before if jit else lines, body[p].name, read(p))
        for i, p in zip(view.captured_inputs, view.captured_params)
    ]
    sub = writer.sub_writer(body, dict(zip(body.params, [*index, *carried, *captured])))
    summed = into_carried(sub, sums(writer.graph, node), carried)  # added in place, by nests
    initial = _initial(writer, node, view.carried_inputs)
    if jit:
        initial = _computed_outside(writer, initial, carried, before)
    lines += writer.assign(carried, initial)
    stacked = [items.get(k + j) for j in range(view.n_stacked)]  # None: nobody reads it
    tape = items.get(view.n_results) if view.records and not view.index_only else None
    decisions = view.decisions
    taped = [carried[j] for j in view.taped]
    recorded = [*index, *taped]  # a tape entry's parts before its decisions
    if jit or arrays or writer.kernels.inside and view.n_stacked:  # (no tape: `_listed`)
        if _index_recomputed(view):
            recorded = taped
        params = view.entry_params[len(view.entry_params) - len(recorded) :]
        entry = [(e, body[p].aval) for e, p in zip(recorded, params)]
        entry += [(_base(sub, d), body[d].aval) for d in decisions]
        steps = _count(writer, *ins[:3]) if view.counted else None
        by_one = view.counted and _from_zero_by_one(writer, ins[0], ins[2])
        rows = ArrayRows(writer, steps, view.breaks, index[0] if by_one else None)
        off = len(recorded) - len(taped)  # the index, where taped
        shifted = [
            (off + pos, len(recorded) + decisions.index(view.next_carried[j]))
            for pos, j in enumerate(view.taped)
            if view.next_carried[j] in decisions
        ]
        rows.keep([(s, body[o].aval) for s, o in zip(stacked, view.stacked)], tape, entry, shifted)
    else:
        rows = _Lists(writer, stacked, tape, [body[o].aval for o in view.stacked])
    lines += rows.start()
    early = sub.plan.early  # rows written where they are computed
    for j, o in enumerate(view.stacked):
        if o in early:
            at = body[o].inputs[0] if body[o].op == "item" else o
            sub.after.setdefault(at, []).append(lambda j=j, o=o: rows.row(j, sub.expr(o)))
    if view.counted:
        head = [f"for {index[0]} in {_range(writer, *ins[:3])}:"]
    else:
        head = _while_head(writer, node.attrs["cond"], [*carried, *captured])

    def record() -> list[str]:
        """The tape's entry: the index and carried values, then the decisions taken."""
        entry = [ast.Name(n, ast.Load()) for n in recorded]
        return rows.record(entry + [sub.expr(d) for d in decisions])

    first_lines = ["    " + line for line in rows.begin() + ([] if decisions else record())]

    def outs() -> list[str]:
        appends = rows.stack([None if o in early else sub.expr(o) for o in view.stacked])
        kept = [j for j in range(k) if j not in summed]
        assign = writer.assign(
            [carried[j] for j in kept], [sub.expr(body.outputs[j]) for j in kept]
        )
        last = (record() if decisions else []) + appends + rows.step() + assign
        if not view.breaks:  # decisions: recorded once taken
            return last
        return _leave(writer, sub, view.leave, carried, last)

    body_lines = _body_lines(writer, sub, outs)
    read = {j: i for j, i in _item_ids(writer, node).items() if j < view.n_results or tape}
    if body_lines == ["    pass"] and view.counted and not read:  # nothing to compute
        return []
    if first_lines and body_lines == ["    pass"]:  # a loop recomputed for its tape alone
        body_lines = []
    lines += head + first_lines + body_lines + rows.end()
    if not jit:
        return lines
    avals = [writer.graph[i].aval for i in read.values()]
    compiled = wrap(writer, node, lines, [items[j] for j in read], avals)
    return None if compiled is None else before + compiled


class _Lists:
    """What a Python loop keeps per step, in lists: its tape a list of entries (tuples), a
    stacked output a list of rows stacked after the loop (`ArrayRows` in a compiled one)."""

    def __init__(self, writer, stacked: list[str | None], tape: str | None, avals: list):
        self.stacked, self.tape, self.avals = stacked, tape, avals  # (avals: the rows')
        self.lists = [fresh(f"{s or 'ys'}_list", writer.used) for s in stacked]

    def start(self) -> list[str]:
        return [f"{name} = []" for name in self.lists] + [f"{self.tape} = []"] * bool(self.tape)

    def begin(self) -> list[str]:
        return []

    def record(self, entry: list[ast.expr]) -> list[str]:
        if not self.tape:
            return []
        return [f"{self.tape}.append({ast.unparse(ast.Tuple(entry, ast.Load()))})"]

    def stack(self, rows: list[ast.expr | None]) -> list[str]:
        """Each step's rows (None: a row written already, `row`)."""
        appended = [(name, v) for name, v in zip(self.lists, rows) if v is not None]
        return [f"{name}.append({ast.unparse(v)})" for name, v in appended]

    def row(self, j: int, value: ast.expr) -> list[str]:
        """Stacked output j's row where it is computed: a copy, the array changes later (of a
        row that may be a number, `np.copy`'s: a Python float has no `.copy()`)."""
        array = getattr(self.avals[j], "kind", None) == ARRAY
        copied = f"{ast.unparse(value)}.copy()" if array else f"np.copy({ast.unparse(value)})"
        return [f"{self.lists[j]}.append({copied})"]

    def step(self) -> list[str]:
        return []

    def end(self) -> list[str]:
        """The stacks, of none of a known row's rank and dtype where the loop ran no step (a
        list that held items before it, `xs = [x0]`, is its rows then: `symgrad.frontend.loops`);
        a length that the steps decide is 0 then. Of rows not known (a module for any shapes),
        none is a vector of none: the user's code only iterates over, measures or indexes
        the list, which reads no row of an empty one, or reads it as NumPy reads an empty list
        (`np.array([])`: floats; as an index, `subscripts.index_spec`, ints)."""
        lines = []
        for s, n, aval in zip(self.stacked, self.lists, self.avals):
            if s is None:
                continue
            ranked = isinstance(aval, Aval) and aval.shape is not None and aval.dtype is not None
            empty = "np.empty((0,))"
            if ranked and aval.kind in (ARRAY, SCALAR, PYTHON):  # (a length that steps decide:
                shape = tuple(0 if d is None else d for d in aval.shape)  # none, of no step)
                empty = f"np.empty({(0, *shape)!r}, {dtype_name(aval.dtype)})"
            lines.append(f"{s} = np.stack({n}) if {n} else {empty}")
        return lines


def _leave(writer, sub, flag: int, carried: list[str], lines: list[str]) -> list[str]:
    """The end of a body that can break: its `lines`, then `if <flag>: break` (the flag is
    computed before `lines` when it reads a carried variable they assign)."""
    if sub.graph[flag].op == "const":  # a break that always runs
        return lines + ["break"]
    node = sub.graph[flag]
    if node.op == "logical_not" and flag in sub.inline:  # `else: break`: if not <condition>
        test = ast.UnaryOp(ast.Not(), sub.expr(node.inputs[0]))
    else:
        test = sub.expr(flag)
    if {n.id for n in ast.walk(test) if isinstance(n, ast.Name)} & set(carried):
        name = fresh("stop", writer.used)
        lines = [f"{name} = {ast.unparse(test)}", *lines]
        test = ast.Name(name, ast.Load())
    return [*lines, f"if {ast.unparse(test)}:", "    break"]


def _while_head(writer, cond, names: list[str]) -> list[str]:
    """`while <test>:`, or, when the test needs statements of its own, `while True:` with
    those statements and a `break`."""
    sub = writer.sub_writer(cond, dict(zip(cond.params, names)))
    statements = sub.statements()
    writer.helpers |= sub.helpers
    test = ast.unparse(sub.expr(cond.outputs[0]))
    if not statements:
        return [f"while {test}:"]
    return [
        "while True:",
        *("    " + s for s in statements),
        f"    if not {test}:",
        "        break",
    ]


def write_loop_vjp(writer, node) -> list[str]:
    """The tape walked in reverse: each entry unpacked into the body's first params, the
    running cotangents (`state`) updated, the captured values' cotangents accumulated; a
    compiled one as a call of the function that runs it (`symgrad.emit.compiled`)."""
    if compiled_vjp(writer, node):
        lines = attempt(writer, lambda: _write_loop_vjp(writer, node, jit=True))
        if lines is not None:
            return lines
    return _write_loop_vjp(writer, node, jit=False)


def _write_loop_vjp(writer, node, jit: bool) -> list[str] | None:
    view = LoopVjp(node)
    body, outs, ins = view.body, view.outs, node.inputs
    tape = ins[0]
    name = lambda p: body[p].name  # noqa: E731
    lines: list[str] = []
    outside: list[str] = []  # a compiled loop's inputs computed where it is called
    entry = [fresh(name(p), writer.used) for p in view.entry_params]
    captured = [
        _name_of(writer, ins[i], outside if jit else lines, name(p), _reads(body, p))
        for i, p in zip(view.captured_inputs, view.captured_params)
    ]
    results = [fresh(name, writer.used) for _, _, name in outs]
    items = _item_ids(writer, node)
    for r, item in items.items():  # the results live in the running variables
        writer.rename(item, results[r])
    of_state = {pos: results[r] for r, (kind, pos, _) in enumerate(outs) if kind == "state"}
    state = [
        of_state.get(s) or fresh(name(p), writer.used) for s, p in enumerate(view.state_params)
    ]
    stacked = [
        _name_of(writer, ins[i], outside if jit else lines, "ys_bar") for i in view.row_inputs
    ]
    rows = [fresh(f"{name}_t", writer.used) for name in stacked]  # and of this step's row
    sub = writer.sub_writer(body, dict(zip(body.params, [*entry, *captured, *state, *rows])))
    read = _states_read(writer, node)
    initial = _initial(writer, node, view.state_inputs)
    if jit:  # (a 0-d array where the compiled loop carries a number: its entry, `a[()]`)
        initial = _computed_outside(writer, initial, state, outside)
        starts = [writer.graph[ins[i]].aval for i in view.state_inputs]
        carried = [body[p].aval for p in view.state_params]
        initial = [
            ast.Subscript(v, ast.Tuple([], ast.Load()), ast.Load())
            if number_of(a, c) is not a
            else v
            for v, a, c in zip(initial, starts, carried)
        ]
    lines += writer.assign([state[s] for s in read], [initial[s] for s in read])
    forward = writer.graph[writer.graph[tape].inputs[0]]
    inside = writer.kernels.inside
    arrays = jit or (id(writer.graph), tape) in writer.kernels.arrays and not inside
    arrays = arrays or inside and Loop(forward).index_only  # no tape: its range walked back
    index_read = bool(view.entry_params) and bool(body.users(view.entry_params[0]))
    walk = None
    if arrays:
        walk = _Walk(writer, forward, writer.names.get(tape), entry, rows, stacked, index_read)
    steps, given = (walk.steps, walk.given(body, view.entry_params)) if arrays else (None, None)
    if arrays:  # rows of a captured array at the index: a slice of it
        given |= walk.slices(sub, view)
    lines += walk.before if arrays else []
    sums = OuterSums(writer, sub, node, results, steps, given)  # Σ_t outer(a_t, b_t): 1 product
    passed = {}  # the results added into the running cotangent of the loop around it
    for r, item in items.items():
        if item in writer.passed and outs[r][0] == "acc":
            passed[r] = writer.passed[item]
            if r not in sums.rows_of:
                results[r] = passed[r]
                writer.rename(item, results[r])
    accs = {
        r: (results[r], view.captured_params[pos])
        for r, (kind, pos, _) in enumerate(outs)
        if kind == "acc" and r not in sums.rows_of
    }
    added = into(sub, accs) if writer.in_place else set()  # by the nests computing them
    if writer.in_place:  # zeros with values added at indices: `acc[i] += v` at each (`chains`)
        added |= chains(sub, {r: a for r, a in accs.items() if r not in added})
        added |= _passed_on(sub, {r: a for r, a in accs.items() if r not in added})
    for r, (kind, pos, _) in enumerate(outs):
        if kind == "acc" and r not in sums.rows_of and r not in passed:
            of = writer.graph[ins[view.captured_inputs[pos]]].aval
            lines.append(f"{results[r]} = {_zeros(captured[pos], of, writer.in_place)}")
    lines += sums.before()

    def assign() -> list[str]:
        """Accumulate into the captured values' cotangents (reading this step's carried
        cotangents), then pass the carried cotangents on to the step before."""
        adds = sums.appends()
        for r, (acc, _) in accs.items():
            if r not in added:
                adds.append(
                    ast.unparse(_accumulate(acc, sub.expr(body.outputs[r]), writer.in_place))
                )
        updates = [(state[pos], r) for r, (kind, pos, _) in enumerate(outs) if kind == "state"]
        values = [sub.expr(body.outputs[r]) for _, r in updates]
        return adds + writer.assign([t for t, _ in updates], values)

    after = sums.after({r: f"np.zeros_like({captured[outs[r][1]]})" for r in sums.rows_of})
    after += [f"{passed[r]} += {results[r]}" for r in sums.rows_of if r in passed]
    head = walk.head() if arrays else [_list_walk(writer, node, entry, rows, stacked)]
    lines += head + _body_lines(writer, sub, assign) + after
    if not jit:
        return lines
    avals = [writer.graph[items[r]].aval for r in items]
    compiled = wrap(writer, node, lines, [results[r] for r in items], avals, back=True)
    return None if compiled is None else outside + compiled


def _passed_on(sub, accs: dict[int, tuple[str, int]]) -> set[int]:
    """accs: body output position -> (its running cotangent's name, the captured param). The
    outputs that are the cotangent a nested backward loop gives of a value it captures, read
    nowhere else: that loop adds into the running cotangent itself, with no zeros of its own
    (`sub.passed`); returns their positions."""
    g, out = sub.graph, set()
    for r, (acc, captured) in accs.items():
        o = g.outputs[r]
        if g[o].op != "item" or g.users(o) or g.outputs.count(o) != 1:
            continue
        a, b = g[o].aval, g[captured].aval
        if not all(isinstance(v, Aval) and v.kind == ARRAY and v.known for v in (a, b)):
            continue
        if (a.shape, a.dtype) != (b.shape, b.dtype):
            continue  # (added whole, an array of the captured value's shape and dtype)
        back = g[g[o].inputs[0]]
        if back.op == "loop_vjp" and LoopVjp(back).outs[g[o].attrs["index"]][0] == "acc":
            sub.passed[o] = acc
            out.add(r)
    return out


def _list_walk(writer, node, entry, rows, stacked) -> str:
    """The head of a backward loop over the list its loop taped: `for h in reversed(tape):`
    (or over its range walked back, where it tapes nothing)."""
    tape, forward = node.inputs[0], writer.graph[writer.graph[node.inputs[0]].inputs[0]]
    unpack = "(" + ", ".join(entry) + ("," if len(entry) == 1 else "") + ")"  # (i,) or ()
    target, walk = unpack[1:-1] if len(entry) > 1 else unpack, f"reversed({writer.names[tape]})"
    if writer.kernels.inside:  # a list, in a compiled loop (Numba has no `reversed`)
        walk = f"{writer.names[tape]}[::-1]"
    elif Loop(forward).index_only and len(entry) == 1:  # the same range, walked back
        unpack = target = entry[0]
        walk = f"reversed({_range(writer, *forward.inputs[:3])})"
    loop = f"for {target} in {walk}:"
    if stacked:  # each step also reads its row of each stacked output's cotangent
        steps = ", ".join([walk, *(f"{s}[::-1]" for s in stacked)])
        loop = f"for {unpack}, {', '.join(rows)} in zip({steps}):"
    return loop


class _Walk:
    """How a backward loop walks the arrays its loop's tape keeps (`ArrayRows`) from the last
    step: step k's entry is `h = h_tape[k]` (`h_tape, ... = tape`), and the index, which a
    `for` loop that cannot break does not tape, is computed from k and the bounds (it is k
    itself for `range(stop)`); a loop that records no tape is walked over its range alike.
    Step k also reads row k of each stacked output's cotangent (`rows`, `stacked`). A Python
    loop walks `reversed(range(n))`, a compiled one `range(n - 1, -1, -1)`."""

    def __init__(self, writer, forward, tape, entry: list[str], rows, stacked, index_read=True):
        view = Loop(forward)
        self.inside = writer.kernels.inside
        counted = view.counted and (view.index_only or _index_recomputed(view))
        bounds = forward.inputs[:3]
        by_one = counted and _from_zero_by_one(writer, bounds[0], bounds[2])
        k = self.k = entry[0] if by_one else fresh("k", writer.used)
        taped = entry[1:] if counted else entry
        self.slots = [fresh(f"{e}_tape", writer.used) for e in taped]
        unpack = ", ".join(self.slots) + ("," if len(self.slots) == 1 else "")
        self.before = [f"{unpack} = {tape}"] if self.slots else []
        self.reads = [f"{e} = {slot}[{k}]" for e, slot in zip(taped, self.slots)]
        self.bounds = None  # a range's (start, step) where static, start >= 0 and step >= 1
        if counted:
            values = [_value(writer, b) for b in bounds[::2]]
            if all(type(v) is int for v in values) and values[0] >= 0 and values[1] >= 1:
                self.bounds = tuple(values)
            n = _count(writer, *bounds)
            if not n.isdigit():  # a count known when the loop runs: a variable
                name = fresh("n", writer.used)
                self.before.append(f"{name} = {n}")
                n = name
            if not by_one and index_read:
                self.reads.insert(0, f"{entry[0]} = {_nth(writer, bounds[0], bounds[2], k)}")
        else:
            n = f"len({self.slots[0]})"
        self.steps = (n, k)
        self.reads += [f"{row} = {s}[{k}]" for row, s in zip(rows, stacked)]

    def given(self, body, params: list[int]) -> dict[int, str]:
        """Body param (of a tape entry's, `params`) -> the array on the tape holding its value
        at every step; not for a large array, which a compiled loop's tape keeps in a list
        (`compiled.large`)."""
        pairs = zip(params[len(params) - len(self.slots) :], self.slots)
        return {p: slot for p, slot in pairs if not large(body[p].aval)}

    def slices(self, sub, view: LoopVjp) -> dict[int, str]:
        """Body node -> the array of its values at every step, for each read `x[i]` of a
        captured array x at the index i of a range of static start (at least 0) and step (at
        least 1): `x[:n]`, or x itself where it has n rows. An outer product's rows read from
        there (`symgrad.emit.outer_sums`) need no copy."""
        if self.bounds is None or not view.entry_params:
            return {}
        start, step = self.bounds
        body, index = view.body, view.entry_params[0]
        captured, n = set(view.captured_params), self.steps[0]
        out = {}
        for node in body.nodes():
            x = node.inputs[0] if node.op == "getitem" else None
            if x not in captured or node.inputs[1:] != (index,) or node.attrs["index"] != (Dyn(0),):
                continue
            name, rows = sub.names[x], body[x].aval
            if (start, step) != (0, 1):
                stop = start + int(n) * step if n.isdigit() else f"{start} + {n} * {step}"
                out[node.id] = f"{name}[{start} : {stop} : {step}]"
            elif rows is not None and rows.known and n.isdigit() and rows.shape[:1] == (int(n),):
                out[node.id] = name
            else:
                out[node.id] = f"{name}[:{n}]"
        return out

    def head(self) -> list[str]:
        n = self.steps[0]
        steps = f"range({n} - 1, -1, -1)" if self.inside else f"reversed(range({n}))"
        return [f"for {self.k} in {steps}:", *("    " + r for r in self.reads)]


def _nth(writer, start: int, step: int, k: str) -> str:
    """The index at step k of `range(start, stop, step)`."""
    by = _value(writer, step)
    down = type(by) is int and by < 0
    term: ast.expr = ast.Name(k, ast.Load())
    if type(by) is not int or abs(by) != 1:  # (as an AST: `k * (n + 1)` gets its brackets)
        term = ast.BinOp(term, ast.Mult(), ast.Constant(-by) if down else writer.expr(step))
    if _const(writer, start, 0):
        return ast.unparse(ast.UnaryOp(ast.USub(), term) if down else term)
    return ast.unparse(ast.BinOp(writer.expr(start), ast.Sub() if down else ast.Add(), term))


def _states_read(writer, node) -> list[int]:
    """The running cotangents a backward loop needs to start: those its body reads (or hands
    on as they are: to a captured value's cotangent, or as another running cotangent's next
    value, `h_bar = s_bar` of `s = s + h; h = x[t]`), changes, or that the code after it reads
    (a seed the body uses as a constant needs none)."""
    view = LoopVjp(node)
    body, items = view.body, _item_ids(writer, node)
    out = []
    for s, p in enumerate(view.state_params):
        rs = [r for r, (kind, pos, _) in enumerate(view.outs) if kind == "state" and pos == s]
        changed = any(body.outputs[r] != p for r in rs)
        handed = any(
            o == p and (kind, at) != ("state", s)
            for o, (kind, at, _) in zip(body.outputs, view.outs)
        )
        if body.users(p) or handed or changed or any(r in items for r in rs):
            out.append(s)
    return out


def write_cond(writer, node) -> list[str]:
    pred, *operands = node.inputs
    branches, n = node.attrs["branches"], len(node.attrs["branches"][0].outputs)
    items = _items(writer, node)
    lines: list[str] = []
    names = {
        j: b[p].name for b, ps in zip(branches, node.attrs["params"]) for p, j in zip(b.params, ps)
    }
    captured = [_name_of(writer, i, lines, names.get(j) or "t") for j, i in enumerate(operands)]
    read = sorted(items) if items else range(n)  # the outputs read after the if
    results = [items.get(k) or fresh("t", writer.used) for k in read]
    one = _as_expression(writer, node, captured, read)
    if one is not None:
        return lines + writer.assign(results, [one])
    parts = []
    for branch, params in zip(branches, node.attrs["params"]):
        fixed = {p: captured[j] for p, j in zip(branch.params, params)}
        outputs = [branch.outputs[k] for k in read]
        made = [o for o in outputs if branch[o].op not in ("param", "const")]
        sub_plan = writer.plan.subplans.get(id(branch))
        made = [o for o in made if sub_plan is None or o not in sub_plan.updates]
        for o, name in zip(outputs, results):  # a value made for the variable: named after it
            if o in made and outputs.count(o) == 1:  # (an update in place keeps its array's)
                fixed[o] = name
        sub = writer.sub_writer(branch, fixed)
        outs = lambda sub=sub, b=branch: writer.assign(  # noqa: E731
            results, [sub.expr(b.outputs[k]) for k in read]
        )
        parts.append(_body_lines(writer, sub, outs))
    return lines + [f"if {ast.unparse(writer.expr(pred))}:", *parts[0], "else:", *parts[1]]


def _zeros(name: str, aval, in_place: bool = False) -> str:
    """The zero cotangent of the value `name` (where a backward loop starts the sum of a
    captured value's cotangents, what a branch gives one it does not read): zeros like it, or
    0.0 for a float64 number (Python's, NumPy's, or one that may be either), in floats where
    it is not known to be floats (an int array's cotangent is floats), and without updates in
    place for any Python float (a 0-d array would not mix with another library's
    arrays, CuPy's, nor take a number's type in a compiled branch or loop)."""
    kind = getattr(aval, "kind", ARRAY)
    if not in_place and kind == PYTHON or float64_number(aval):
        return "0.0"
    dtype = getattr(aval, "dtype", None)  # (unknown: an int array given to a module for any
    if dtype is None or dtype.kind not in "fcO":  # shapes sums floats, as `_fit` gives them;
        return f"np.zeros_like({name}, np.result_type({name}, 0.0))"  # a float32 one float32,
    return f"np.zeros_like({name})"  # and the proofs' arrays of SymPy values, objects)


def _accumulate(acc: str, value: ast.expr, in_place: bool) -> ast.stmt:
    """`acc += value`, or without updates in place `acc = acc + value` (a Dask array, or the
    NumPy 0-d array a Python float's sum starts as, takes no `+=` of one)."""
    if in_place:
        return ast.AugAssign(ast.Name(acc, ast.Store()), ast.Add(), value)
    total = ast.BinOp(ast.Name(acc, ast.Load()), ast.Add(), value)
    return ast.Assign([ast.Name(acc, ast.Store())], total, lineno=0)


def _as_expression(writer, node, captured: list[str], read) -> ast.expr | None:
    """A cond the source wrote as an expression (attribute `expression`: `b if c else a`,
    `c and b`), of one value read after it that each branch computes with no statement of its
    own: `b if c else a`, or `c and b` / `c or a` where a branch gives the condition itself
    (Python's `and` and `or` evaluate their second operand only where it decides, as the
    branch would)."""
    if len(read) != 1 or not node.attrs.get("expression"):
        return None
    pred, values = node.inputs[0], []
    for branch, params in zip(node.attrs["branches"], node.attrs["params"]):
        sub = writer.sub_writer(branch, dict(zip(branch.params, [captured[j] for j in params])))
        if _has_statements(sub):
            return None
        out = branch.outputs[read[0]]
        given = None  # the cond's input the branch gives, if it gives one
        if branch[out].op == "param":
            given = node.inputs[1 + params[branch.params.index(out)]]
        values.append(("pred" if given == pred else None, sub.expr(out), sub))
    test = writer.expr(pred)
    (kind_a, a, sub_a), (kind_b, b, sub_b) = values
    writer.helpers |= sub_a.helpers | sub_b.helpers
    if kind_b == "pred":
        return ast.BoolOp(ast.And(), [test, a])
    if kind_a == "pred":
        return ast.BoolOp(ast.Or(), [test, b])
    return ast.IfExp(test, a, b)


def _has_statements(sub) -> bool:
    """Whether `sub.statements()` writes a line, told without writing them: a node that is no
    param or item and is not written inline (a structured node never is). Writing them would
    try a nested cond as an expression first too, then write it again as statements: twice the
    work per level of nesting, 2^9 conds for an item of a list of 9 picked at run time."""
    return bool(sub.adds_into) or any(
        n.op not in ("param", "item") and n.id not in sub.inline for n in sub.graph.nodes()
    )


def write_cond_vjp(writer, node) -> list[str]:
    view = Cond(node)
    pred, outs, branches = node.inputs[0], node.attrs["outs"], view.branches
    operands = [node.inputs[i] for i in view.captured_inputs]
    seeds = [node.inputs[i] for i in view.seed_inputs]
    lines: list[str] = []
    captured = [_name_of(writer, i, lines, "t") for i in operands]
    avals = [writer.graph[i].aval for i in operands]
    read = [  # whether a branch reads seed k (one of an output without gradient may go unread)
        any(b.users(q) or q in b.outputs for b in branches for q in [view.seed_params(b)[k]])
        for k in range(len(seeds))
    ]
    seed_names = [_name_of(writer, i, lines, "t_bar") if r else "_" for i, r in zip(seeds, read)]
    results = [fresh(_base(writer, operands[j]) + suffix, writer.used) for j, suffix in outs]
    for r, item in _item_ids(writer, node).items():
        writer.rename(item, results[r])
    parts = []
    for branch, params, wrt in zip(branches, node.attrs["params"], node.attrs["wrt"]):
        names = [captured[j] for j in params] + seed_names
        sub = writer.sub_writer(branch, dict(zip(branch.params, names)))

        def assign(sub=sub, branch=branch, wrt=wrt) -> list[str]:
            values = [
                sub.expr(branch.outputs[wrt.index(r)])
                if r in wrt
                else ast.parse(_zeros(captured[j], avals[j]), mode="eval").body
                for r, (j, _) in enumerate(outs)
            ]
            return writer.assign(results, values)

        parts.append(_body_lines(writer, sub, assign))
    return lines + [f"if {ast.unparse(writer.expr(pred))}:", *parts[0], "else:", *parts[1]]


def _base(writer, nid: int) -> str:
    return writer.names.get(nid) if nid not in writer.inline else "t"


WRITERS = {
    "loop": write_loop,
    "while": write_loop,
    "loop_vjp": write_loop_vjp,
    "cond": write_cond,
    "cond_vjp": write_cond_vjp,
}
