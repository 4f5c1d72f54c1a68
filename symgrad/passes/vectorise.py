"""Loop vectorisation: a loop whose steps do not depend on one another becomes whole-array code.

Contract: `vectorised(rw, node)` looks at one `loop` or `loop_vjp` node of the typed
graph that the rewriter `rw` (`symgrad.passes.simplify`) rewrites, its body simplified and
typed, and returns `{item node: equivalent new node}` for the loop's results, or None where it
leaves the loop as it is. Each step's work becomes one operation on a batch of all the steps
(a leading axis, step t of the range at position t), as `jax.vmap` batches a function:

- the range is static (a `zip` loop's `np.minimum` of static lengths too), of two steps or
  more, walking up; a `loop_vjp` walks back a forward loop of such a range that cannot break,
  and batches with it: what its tape holds for the backward steps
  (`symgrad.passes.residuals`) is the forward loop's batches of those values, and a carried
  array taped before a step wrote its entry is the array before the loop there;
- the index i enters only as `i + c` (c a static int) in a subscript of a value the loop
  captures: `x[i + c]` is the slice `x[a : a + n]`, `x[i + c1 : i + c2]` rows of the window
  view `sliding_window_view(x, c2 - c1)` (`symgrad.rules.windows`); every read is in bounds;
- the other work is elementwise, a reduction (its axes one further) or a matrix product of
  vectors and matrices, on batched values and values every step sees the same (those are
  computed once, before: loop-invariant code moves out);
- a carried value (a backward loop's running cotangent) stays as it is, or is only written at
  `[i + c]` (and read there before, never elsewhere: each step has its own entries), or is only
  summed into (`acc = acc + v`, `acc - v`, read nowhere else): it becomes one slice assignment
  or the sum of the batch added once; a stacked row is the batch itself; a backward loop's
  cotangent of a captured value, summed over the steps, is the batch summed over its leading
  axis, or, where each step adds it at `[i + c]` or `[i + c1 : i + c2]` (`index_add`, and
  further values added there, `t[i] = t[i] + v`), one addition at a slice or the windows' sums
  (`_window_sums`) per place;
- every batched value has the Aval of the step's with the leading axis before it (checked for
  each new node: NumPy's promotion of a batch is that of its rows), and none that is made (not
  a view) holds more than `LIMIT` entries or the largest array the loop reads, whichever is
  more, and that the results read: a long loop over large rows keeps its loop, which costs
  little there, rather than make temporaries much larger than its arrays; but a sum over the
  steps of windows times a number per step is one correlation (`_correlate`, made by
  `symgrad.passes.correlations` as the sum is made), which reads no batch, however large (in
  a module of the Numba backend a compiled loop nest: `symgrad.rules.runtime_compiled`, 1.9x
  faster than the compiled loop over 31 taps of 200,000 entries, 3.7x than np.correlate).

A 1-D convolution written element by element, `out[i] = np.sum(x[i : i + k] * w)`, becomes
`np.sum(windows[0:n] * w, axis=1)`, its backward loop `_window_sums` of a batch and a sum; a
convolution over the kernel taps, `out = out + w[j] * x[j : j + m]`, the sum of `w[:, None] *`
its windows. The results agree with the loop's to rounding (the sums add in another order).
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from symgrad.ir.avals import PYTHON, Aval, broadcast
from symgrad.ir.index import Dyn, Slice
from symgrad.ir.structured import Loop, LoopVjp
from symgrad.passes.correlations import correlated
from symgrad.rules import RULES
from symgrad.rules.elementwise import python_pick

LIMIT = 1 << 16  # entries of a batched temporary that are always worth a loop's overhead
_ELEMENT = (Dyn(0),)  # x[i + c]
_WINDOW = (Slice(Dyn(0), Dyn(1), None),)  # x[i + c1 : i + c2]
_VIEWS = {"getitem", "windows", "expand_dims"}  # batched values that are views, not made


class _Refused(Exception):
    """The loop is left as it is."""


def vectorised(rw, node) -> dict[int, int] | None:
    if node.op not in ("loop", "loop_vjp"):
        return None
    plan = _for_loop(rw.g, node) if node.op == "loop" else _backward_loop(rw.g, node)
    if plan is None:
        return None
    try:
        if node.op == "loop_vjp":
            _taped_batches(rw, node, plan[1])
        return _Batch(rw, node, *plan, strict=False).results()
    except _Refused:  # what it made so far is read by nothing: dead code
        return None


def _taped_batches(rw, node, roles: dict) -> None:
    """The roles of a backward loop's taped values (what its steps read of the forward's,
    `symgrad.passes.residuals`): the forward loop's batches of them, where it batches."""
    taped = LoopVjp(node).entry_params[1:]
    if not taped:
        return
    forward = rw.g[rw.g[node.inputs[0]].inputs[0]]
    plan = _for_loop(rw.g, forward, taped=True)
    if plan is None:
        raise _Refused
    batch = _Batch(rw, forward, *plan, strict=True)  # (the backward reads its batches)
    batch.results()  # (the forward loop's own results are dead until it is batched itself)
    view = Loop(forward)
    for p, j in zip(taped, view.taped):  # a carried value before the step: entries it writes
        role = batch.env.get(view.next_carried[j]) if j < view.k else None
        if role is None or role[0] != "written":
            raise _Refused
        roles[p] = ("before", forward.inputs[view.carried_inputs[j]], role[3])
    for p, out in zip(taped[len(view.taped) :], view.decisions):
        roles[p] = ("bat", batch.batch_of(out))


def _items(g, node) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for u in g.users(node.id):
        if g[u].op == "item":
            out.setdefault(g[u].attrs["index"], []).append(u)
    return out


def _walk_up(g, bounds) -> range | None:
    values = [_bound(g, b) for b in bounds]
    if None in values or values[2] <= 0:
        return None
    steps = range(*values)
    return steps if len(steps) >= 2 else None


def _bound(g, nid: int) -> int | None:
    """A range bound's static int: its Aval's, or the least (greatest) of static ints, as a
    `zip` loop stops at `np.minimum(len(x), len(y))` (as a bound, np.int64 or int alike)."""
    aval, node = g[nid].aval, g[nid]
    if aval is not None and type(aval.value) is int:
        return aval.value
    if node.op in ("minimum", "maximum") and len(node.inputs) == 2:
        values = [_bound(g, i) for i in node.inputs]
        if None not in values:
            return min(values) if node.op == "minimum" else max(values)
    return None


def _for_loop(g, node, taped: bool = False):
    """(range, param roles, outputs) of a `for` loop that may batch, else None. An output is
    (item index, body output, what it is: "carried" with its param and initial value, or
    "stacked"). Where `taped`, its tape may be read (by a backward loop batched with it). A
    step's decisions are the values its backward step reads (a branch would refuse)."""
    view = Loop(node)
    if not view.counted or view.breaks or "cond" in view.attrs:
        return None
    steps = _walk_up(g, node.inputs[:3])
    items = _items(g, node)
    tape = view.k + view.n_stacked
    if steps is None or view.records and tape in items and not taped:
        return None
    roles = {view.index_param: ("aff", 0)}
    outputs = []
    carried = zip(view.carried_params, view.carried_inputs, view.next_carried)
    for k, (p, i, out) in enumerate(carried):
        roles[p] = ("inv", node.inputs[i]) if out == p else ("carried", node.inputs[i])
        outputs.append((k, out, ("carried", p, node.inputs[i])))
    for p, i in zip(view.captured_params, view.captured_inputs):
        roles[p] = ("inv", node.inputs[i])
    for j, out in enumerate(view.stacked):
        outputs.append((view.k + j, out, ("stacked",)))
    return steps, roles, outputs, items


def _backward_loop(g, node):
    """The same for a `loop_vjp` walking back a forward `for` loop that cannot break: its
    running cotangents are carried values, and its cotangents of captured values ("acc") are
    summed over the steps (its taped values' roles are `_taped_batches`')."""
    view = LoopVjp(node)
    tape = g[node.inputs[0]]
    if tape.op != "item":
        return None
    forward = g[tape.inputs[0]]
    fview = Loop(forward) if forward.op == "loop" else None
    if fview is None or not fview.counted or fview.breaks or "cond" in fview.attrs:
        return None  # (a loop that may break tapes the steps it took)
    steps = _walk_up(g, forward.inputs[:3])
    if steps is None:
        return None
    roles = {view.entry_params[0]: ("aff", 0)}
    for p, i in zip(view.captured_params, view.captured_inputs):
        roles[p] = ("inv", node.inputs[i])
    for p, i in zip(view.row_params, view.row_inputs):  # row t of the stacked cotangents
        roles[p] = ("bat", node.inputs[i])
    for p, i in zip(view.state_params, view.state_inputs):  # (unchanged where no output)
        roles[p] = ("inv", node.inputs[i])
    outputs = []
    for j, ((kind, k, _), out) in enumerate(zip(view.outs, view.body.outputs)):
        if kind == "state":
            p, init = view.state_params[k], node.inputs[view.state_inputs[k]]
            roles[p] = ("inv", init) if out == p else ("carried", init)
            outputs.append((j, out, ("carried", p, init)))
        else:
            outputs.append((j, out, ("acc", node.inputs[view.captured_inputs[k]])))
    return steps, roles, outputs, _items(g, node)


class _Batch:
    """The batched code of one loop, built in the graph around it."""

    def __init__(
        self,
        rw,
        node,
        steps: range,
        roles: dict,
        outputs: list,
        items: dict,
        strict: bool,
    ):
        self.rw, self.g, self.node = rw, rw.g, node
        self.body = node.attrs["body"]
        self.steps, self.n = steps, len(steps)
        self.env = dict(roles)
        self.outputs, self.items = outputs, items
        sizes = [_size(self.g[i].aval) for i in node.inputs]
        self.limit = max([LIMIT, *(s for s in sizes if s is not None)])
        self.windows: dict[tuple, int] = {}
        self.oversized: list[int] = []  # made batches over `limit`: none may reach a result
        self.strict = strict  # none may be made at all (a forward loop's, which a backward
        # loop's batches read: `_taped_batches`)
        self.reads: dict[int, dict[int, int]] = {}  # carried param: its reads, their offsets
        self.writes: dict[int, set[int]] = {}  # carried param: its writes

    # the body, node by node ------------------------------------------------------------------
    def results(self) -> dict[int, int]:
        for m in self.body.nodes():
            if m.id not in self.env:
                self.env[m.id] = self.batched(m)
        out = {}
        for j, o, what in self.outputs:
            new = self.carried(o, *what[1:]) if what[0] == "carried" else None
            if what[0] == "stacked":
                new = self.batch_of(o)
            elif what[0] == "acc":
                new = self.summed(o, what[1])
            for item in self.items.get(j, ()):
                out[item] = new
        if self.oversized and set(self.oversized) & self.g.ancestors_of(out.values()):
            raise _Refused  # (one a correlation left unread costs nothing: `carried`)
        return out

    def batched(self, m) -> tuple:
        roles = [self.env[i] for i in m.inputs]
        kinds = {r[0] for r in roles}
        rule = RULES.get(m.op)
        if m.op == "const":
            return ("inv", self.rw.const(self.node, m.attrs["value"]))
        if rule is None or rule.structured:
            raise _Refused
        if m.op == "getitem" and roles[0][0] in ("written", "before"):
            return self.entry_read(m, roles)
        if {"scatter", "scatter_entry"} & kinds:
            return self.scattered(m, roles)
        if m.op == "setitem" and roles[0][0] == "written" and roles[1][0] in ("inv", "bat"):
            _, p, _, c = roles[0]  # the entry written again
            if _index(m) != _ELEMENT or roles[2:] != [("aff", c)]:
                raise _Refused
            return ("written", p, roles[1], c)
        if "carried" in kinds:
            return self.update(m, roles)
        if kinds <= {"inv"} and m.op not in ("setitem", "index_add"):
            return ("inv", self.new(m, m.op, [r[1] for r in roles], dict(m.attrs), check=False))
        if m.op in ("add", "subtract") and "aff" in kinds:
            return self.offset(m, roles)
        if m.op == "getitem" and roles[0][0] == "inv" and kinds - {"inv"} == {"aff"}:
            return self.read(m, roles[0][1], roles[1:])
        if m.op == "index_add" and roles[0][0] == "inv" and roles[1][0] in ("bat", "inv"):
            return ("scatter", roles[0][1], ((m, roles[1], roles[2:]),))
        if kinds - {"inv", "bat"}:
            raise _Refused
        if rule.shape == "elementwise":
            return self.elementwise(m, roles)
        if m.op == "broadcast_to" and [r[0] for r in roles] == ["bat", "inv"]:
            return self.broadcast(m, roles[0][1])
        if rule.shape == "reduce" and len(roles) == 1 and set(m.attrs) <= {"axis", "keepdims"}:
            return self.reduction(m, roles[0][1])
        if m.op == "matmul" and not m.attrs:
            return self.product(m, roles)
        if m.op == "outer" and self.rank(m.inputs[0]) == self.rank(m.inputs[1]) == 1:
            a, b = (("n" if kind == "bat" else "") + c for (kind, _), c in zip(roles, "ij"))
            attrs = {"n_operands": 2, "subscripts": f"{a},{b}->nij"}  # an outer product a step
            return ("bat", self.new(m, "einsum", [r[1] for r in roles], attrs))
        raise _Refused

    def entry_read(self, m, roles) -> tuple:
        """A step's entry [i + c] of a carried value, read after the step wrote it (the value
        written) or, in a backward loop, before the forward step did (its initial value)."""
        (kind, *what), index = roles[0], roles[1:]
        if _index(m) != _ELEMENT or [r[0] for r in index] != ["aff"]:
            raise _Refused
        c = index[0][1]
        if kind == "written":
            (value_kind, v), written = what[1], self.body[m.inputs[0]].inputs[1]
            if c != what[2]:
                raise _Refused
            if m.aval == self.body[written].aval:
                return (value_kind, v)
            if value_kind == "bat":  # (a Python float read back from a NumPy array)
                raise _Refused
            shape = self.rw.const(self.node, (self.n, *_known(m.aval).shape))
            return ("bat", self.new(m, "broadcast_to", [v, shape]))  # the same at every step
        init, wrote = what
        if c != wrote:
            raise _Refused
        return ("bat", self.rows(m, init, self.steps[0] + self.entry(init, c)))

    def offset(self, m, roles) -> tuple:
        """i + c, c + i, i - c: the index moved by a static int."""
        (ka, a), (kb, b) = roles
        if ka == "aff" and kb == "inv" and (c := self.static_int(b)) is not None:
            return ("aff", a + c if m.op == "add" else a - c)
        if ka == "inv" and kb == "aff" and m.op == "add":
            c = self.static_int(a)
            if c is not None:
                return ("aff", b + c)
        raise _Refused

    def read(self, m, x: int, parts: list, check: bool = True) -> tuple:
        """x[i + c] (rows a, a + step, ...) or x[i + c1 : i + c2] (rows of its windows)."""
        xa = self.g[x].aval
        if xa is None or not xa.known or not xa.shape or any(p[0] != "aff" for p in parts):
            raise _Refused  # (x[i : n]: a length that changes from step to step)
        length, index = xa.shape[0], _index(m)
        first, last = self.steps[0], self.steps[-1]
        if index == _ELEMENT and len(parts) == 1:
            c = parts[0][1]
            if first + c < 0 or last + c >= length:
                raise _Refused
            return ("bat", self.rows(m, x, first + c, check))
        if index == _WINDOW and len(parts) == 2 and len(xa.shape) == 1:
            c1, c2 = parts[0][1], parts[1][1]
            if c2 <= c1 or first + c1 < 0 or last + c2 > length:
                raise _Refused
            key = (x, c2 - c1)
            if key not in self.windows:
                attrs = {"window_shape": c2 - c1, "axis": 0}
                self.windows[key] = self.new(m, "windows", [x], attrs, check=False)
            return ("bat", self.rows(m, self.windows[key], first + c1, check))
        raise _Refused

    def rows(self, m, x: int, start: int, check: bool = True) -> int:
        """x[start : ... : step], one row per step (x itself where that is all of it)."""
        if self.whole(x, start):
            return x
        return self.new(m, "getitem", [x], self.slice(start), check=check)

    def whole(self, x: int, start: int) -> bool:
        """Whether the steps' entries [i + c], from `start`, are all of x's."""
        aval = _known(self.g[x].aval)
        return start == 0 and self.steps.step == 1 and aval.shape[:1] == (self.n,)

    def slice(self, start: int) -> dict:
        """The index attributes of [start : ... : step], one entry per step."""
        step = self.steps.step
        stop = start + (self.n - 1) * step + 1
        return {"n_parts": 0, "index": (Slice(start, stop, None if step == 1 else step),)}

    def entry(self, init: int, c: int) -> int:
        """c, where every step's entry [i + c] of the carried value `init` exists."""
        aval = self.g[init].aval
        if aval is None or not aval.known or not aval.shape:
            raise _Refused
        if self.steps[0] + c < 0 or self.steps[-1] + c >= aval.shape[0]:
            raise _Refused
        return c

    def elementwise(self, m, roles) -> tuple:
        """The step's operation on the batch; one spelt as Python's builtin (abs, min, max the
        user called) as NumPy's, min and max picking as Python does (the first at a tie or
        beside a NaN); Python's round of numbers (`round(x[i], 1)`) not at all."""
        if getattr(RULES[m.op].emit, "calls", None) in vars(builtins):
            raise _Refused
        rank = self.rank(m.id)
        args = []
        for kind, v in roles:  # a batch of fewer axes than the result: length-1 axes after n
            have = len(_known(self.g[v].aval).shape) - 1 if kind == "bat" else rank
            if have < rank:
                v = self.new(m, "expand_dims", [v], {"axis": _axes(1, rank - have)}, check=False)
            args.append(v)
        picked = m.attrs.get("builtin")
        if picked in ("min", "max"):
            add = lambda op, inputs: self.new(m, op, inputs, {}, check=False)  # noqa: E731
            op, inputs = python_pick(picked, *args, add)
            return ("bat", self.new(m, op, inputs))
        return ("bat", self.new(m, m.op, args, {**m.attrs, "builtin": ""} if picked else m.attrs))

    def broadcast(self, m, v: int) -> tuple:
        """np.broadcast_to(v, shape) of a static shape: to (steps, *shape), v's axes after the
        steps' (length-1 axes put in where v has fewer)."""
        shape = self.body[m.inputs[1]].aval
        if shape is None or not isinstance(shape.value, tuple) or m.aval is None:
            raise _Refused
        have = len(_known(self.g[v].aval).shape) - 1
        if have < len(shape.value):
            axes = _axes(1, len(shape.value) - have)
            v = self.new(m, "expand_dims", [v], {"axis": axes}, check=False)
        to = self.rw.const(self.node, (self.n, *shape.value))
        return ("bat", self.new(m, "broadcast_to", [v, to]))

    def reduction(self, m, v: int) -> tuple:
        rank = self.rank(m.inputs[0])
        axis = m.attrs.get("axis")
        if axis is None:
            moved = _axes(1, rank)
        elif isinstance(axis, int):
            moved = axis % rank + 1
        else:
            moved = tuple(a % rank + 1 for a in axis)
        attrs = {**m.attrs, "axis": moved}
        return ("bat", self.new(m, m.op, [v], attrs))

    def product(self, m, roles) -> tuple:
        """a @ b with a vector or a matrix each step: the batch a matrix of rows, or a stack."""
        (ka, a), (kb, b) = roles
        ra, rb = self.rank(m.inputs[0]), self.rank(m.inputs[1])
        if ka == "bat" and kb == "inv" and ra == 1 and rb in (1, 2):
            return ("bat", self.new(m, "matmul", [a, b]))
        if ka == "inv" and kb == "bat" and rb == 1 and ra in (1, 2):
            if ra == 2:  # A v for each row v: the rows times A's transpose
                a = self.new(m, "transpose", [a], {"axes": None}, check=False)
            return ("bat", self.new(m, "matmul", [b, a]))
        if ka == kb == "bat" and ra == rb == 1:  # a dot product per step
            attrs = {"n_operands": 2, "subscripts": "ij,ij->i"}
            return ("bat", self.new(m, "einsum", [a, b], attrs))
        if ka == "bat" and ra >= 2 and kb == "inv" or kb == "bat" and rb >= 2 and ka == "inv":
            return ("bat", self.new(m, "matmul", [a, b]))  # stacks of matrices broadcast
        raise _Refused

    # carried values and sums over the steps ---------------------------------------------------
    def update(self, m, roles) -> tuple:
        """A carried value read at its step's entry, written there, or summed into."""
        p = m.inputs[0]
        if m.op == "getitem" and roles[0][0] == "carried" and _index(m) == _ELEMENT:
            if [r[0] for r in roles[1:]] == ["aff"]:  # its step's entry, read
                c = self.entry(roles[0][1], roles[1][1])
                self.reads.setdefault(p, {})[m.id] = c
                return ("bat", self.rows(m, roles[0][1], self.steps[0] + c))
        if m.op == "setitem" and roles[0][0] == "carried" and _index(m) == _ELEMENT:
            if roles[1][0] in ("inv", "bat") and roles[2][0] == "aff":
                self.writes.setdefault(p, set()).add(m.id)
                return ("written", p, roles[1], self.entry(roles[0][1], roles[2][1]))
        if m.op in ("add", "subtract"):
            for k in (0, 1) if m.op == "add" else (0,):
                if roles[k][0] == "carried" and roles[1 - k][0] == "bat":
                    return ("summed", m.inputs[k], m.op, roles[1 - k][1], m.inputs[1 - k])
        raise _Refused

    def carried(self, o: int, p: int, init: int) -> int:
        role = self.env.get(o)
        if o == p:
            return init
        if role is None or role[0] not in ("written", "summed") or role[1] != p:
            raise _Refused
        readers = [u for u in self.body.users(p) if u != o and u not in self.writes.get(p, ())]
        if role[0] == "written":
            _, _, (kind, v), c = role
            reads = self.reads.get(p, {})
            if set(readers) != set(reads) or set(reads.values()) - {c}:
                raise _Refused  # read elsewhere than at the entry it writes
            region = _known(self.body[p].aval).shape[1:]
            written = _known(self.body[self.body[o].inputs[1]].aval)
            if self.body[o].aval != self.body[p].aval or kind == "bat" and written.shape != region:
                raise _Refused
            start = self.steps[0] + c
            if kind == "bat" and self.whole(init, start) and self.fresh(v, init):
                return v  # every entry written: the batch, a new array, is the result
            return self.new(self.body[o], "setitem", [init, v], self.slice(start), check=False)
        _, _, op, v, row = role
        if readers or self.body[o].aval != self.body[p].aval:
            raise _Refused
        carried_shape = _known(self.body[p].aval).shape
        row_shape = _known(self.body[row].aval).shape
        if broadcast([carried_shape, row_shape]) != carried_shape:
            raise _Refused
        dtype = _known(self.body[p].aval).dtype
        if np.zeros(0, dtype).sum().dtype != dtype:  # (a narrow int's sum is an int64: the
            raise _Refused  # loop's carried int8 wraps where the sum would not)
        total = self.new(self.body[o], "sum", [v], {"axis": 0, "keepdims": False}, check=False)
        correlation = correlated(self.rw, self.g[total])  # Σ_j w[j] x[j : j + m]: one pass
        if correlation is not None:  # (its batch of products, however large, left unread)
            total = correlation
        if op == "add" and self.g[init].op in ("zeros", "zeros_like"):
            if self.g[total].aval == self.g[init].aval:  # 0 + total: the total, a new array
                return total
        return self.new(self.body[o], op, [init, total], check=False)

    def summed(self, o: int, captured: int) -> int:
        """A backward loop's cotangent of a captured value: the steps' summed."""
        role, want = self.env.get(o), self.g[captured].aval
        if role is None or want is None or not want.known:
            raise _Refused
        if role[0] == "bat":
            per = _known(self.body[o].aval)
            if per.shape != want.shape or per.dtype != want.dtype:
                raise _Refused
            return self.new(self.body[o], "sum", [role[1]], {"axis": 0}, check=False)
        if role[0] == "inv" and self.body[o].op in ("zeros_like", "zeros"):
            return role[1]  # (a cotangent no step adds to)
        if role[0] != "scatter" or _known(self.body[o].aval).shape != want.shape:
            raise _Refused
        x, terms = role[1:]
        total = None
        for m, value, parts in terms:
            term = self.added(m, x, value, parts)
            total = term if total is None else self.new(m, "add", [total, term], check=False)
        made = self.g[total].aval
        if made is None or made.shape != want.shape or made.dtype != want.dtype:
            raise _Refused
        return total

    def added(self, m, x: int, value: tuple, parts: list) -> int:
        """The steps' values added at their indices of zeros like x."""
        kind, v = value
        if any(part[0] != "aff" for part in parts):
            raise _Refused
        rows = self.g[self.read(m, x, parts, check=False)[1]]  # where the steps add
        if kind == "inv":  # the same value at every step
            shape = self.rw.const(self.node, _known(rows.aval).shape)
            v = self.new(m, "broadcast_to", [v, shape], check=False)
        if _known(self.g[v].aval).shape != _known(rows.aval).shape:
            raise _Refused
        if rows.id == x:  # every entry of x, once each
            total = v
        elif rows.op == "getitem" and rows.inputs[0] == x:  # x[i + c]: one addition, a slice
            total = self.new(m, "index_add", [x, v], dict(rows.attrs), check=False)
        else:  # x[i + c1 : i + c2]: the windows' sums (of some windows: the others' are 0)
            windows = rows if rows.op == "windows" else self.g[rows.inputs[0]]
            if rows.op == "getitem":
                v = self.new(m, "index_add", [windows.id, v], dict(rows.attrs), check=False)
            total = self.new(m, "window_sums", [v, x], dict(windows.attrs), check=False)
        return total

    def scattered(self, m, roles) -> tuple:
        """A step's value added at its entry [i + c] or window [i + c1 : i + c2] of a scatter
        (a backward step's cotangent of x, after a `t[i] = t[i] + v` rewrite): `t[i]`,
        `t[i] + v`, then the entry set to that, one more term of the scatter."""
        kinds, index = [r[0] for r in roles], _index(m)
        if m.op == "getitem" and kinds[0] == "scatter" and index in (_ELEMENT, _WINDOW):
            if set(kinds[1:]) == {"aff"}:
                return ("scatter_entry", m.inputs[0], index, roles[1:])
        if m.op == "setitem" and kinds[:2] == ["scatter", "scatter_plus"]:
            (_, x, terms), (_, of, at, parts, value) = roles[:2]
            if of == m.inputs[0] and index == at and roles[2:] == parts:
                return ("scatter", x, (*terms, (m, value, parts)))
            raise _Refused
        if m.op not in ("add", "subtract") or len(roles) != 2:
            raise _Refused
        if kinds[0] == "scatter_entry":  # t[i] + v, t[i] - v
            entry, value = roles
        elif m.op == "add" and kinds[1] == "scatter_entry":  # v + t[i]
            value, entry = roles
        else:
            raise _Refused
        if value[0] not in ("bat", "inv"):
            raise _Refused
        if m.op == "subtract":
            value = (value[0], self.new(m, "negative", [value[1]], check=value[0] == "bat"))
        return ("scatter_plus", *entry[1:], value)

    # helpers ----------------------------------------------------------------------------------
    def batch_of(self, o: int) -> int:
        role = self.env.get(o)
        if role is None or role[0] != "bat":
            raise _Refused
        return role[1]

    def fresh(self, v: int, like: int) -> bool:
        """Whether batch v is a new array (no view of another) of the Aval of `like`."""
        return RULES[self.g[v].op].fresh and self.g[v].aval == self.g[like].aval

    def rank(self, body_node: int) -> int:
        aval = self.body[body_node].aval
        if aval is None or not aval.known or aval.kind == PYTHON:
            raise _Refused
        return len(aval.shape)

    def static_int(self, nid: int) -> int | None:
        aval = self.g[nid].aval
        value = None if aval is None else aval.value
        return value if type(value) is int else None

    def new(self, m, op: str, inputs, attrs=None, check: bool = True) -> int:
        """A node of the batched code for body node m (its line), checked, where `check`, to
        hold a batch of m's values: m's Aval after a leading axis of the steps."""
        nid = self.rw.new(self.node, op, tuple(inputs), attrs or {})
        made = self.g[nid]
        made.loc = m.loc
        if check:
            per, aval = m.aval, made.aval
            if per is None or not per.known or per.kind == PYTHON or aval is None:
                raise _Refused
            if aval.shape != (self.n, *per.shape) or aval.dtype != per.dtype:
                raise _Refused
        if op not in _VIEWS and (_size(made.aval) or 0) > self.limit:
            if self.strict:
                raise _Refused
            self.oversized.append(nid)  # (refused where a result reads it: `results`)
        return nid


def _axes(first: int, count: int):
    axes = tuple(range(first, first + count))
    return axes[0] if len(axes) == 1 else axes  # (no axes: (), the value itself)


def _index(m) -> tuple | None:
    """m's index less the whole-axis slices after its first item: `x[i, :]` is `x[i]`."""
    index = m.attrs.get("index")
    if not index:
        return index
    whole = len(index)
    while whole > 1 and index[whole - 1] == Slice(None, None, None):
        whole -= 1
    return index[:whole]


def _known(aval: Aval | None) -> Aval:
    """The Aval, where its shape and dtype are known (else the loop is left as it is)."""
    if aval is None or not aval.known:
        raise _Refused
    return aval


def _size(aval: Aval | None) -> int | None:
    if aval is None or not aval.known:
        return None
    return math.prod(aval.shape)
