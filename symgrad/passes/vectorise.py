"""Loop vectorisation: a loop whose steps do not depend on one another becomes whole-array code.

Contract: `vectorised(rw, node)` looks at one `loop` or `loop_vjp` node of the typed graph that
the rewriter `rw` (`symgrad.passes.simplify`) rewrites, its body simplified and typed, and
returns `{item node: equivalent new node}` for the loop's results, or None where it leaves the
loop as it is. Each step's work becomes one operation on a batch of all the steps (a leading
axis, step t of the range at position t), as `jax.vmap` batches a function:

- the range is static, of two steps or more, walking up (a `loop_vjp`: the reversed range of a
  forward loop whose tape holds its index alone);
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
  axis, or, where each step adds it at `[i + c]` or `[i + c1 : i + c2]`, one addition at a
  slice or the windows' sums (`_window_sums`);
- every batched value has the Aval of the step's with the leading axis before it (checked for
  each new node: NumPy's promotion of a batch is that of its rows), and none that is made (not
  a view) holds more than `LIMIT` entries or the largest array the loop reads, whichever is
  more: a long loop over large rows keeps its loop, which costs little there, rather than make
  temporaries much larger than its arrays.

A 1-D convolution written element by element, `out[i] = np.sum(x[i : i + k] * w)`, becomes
`np.sum(windows[0:n] * w, axis=1)`, its backward loop `_window_sums` of a batch and a sum; a
convolution over the kernel taps, `out = out + w[j] * x[j : j + m]`, the sum of `w[:, None] *`
its windows. The results agree with the loop's to rounding (the sums add in another order).
"""

from __future__ import annotations

import math

from symgrad.ir.avals import PYTHON, Aval, broadcast
from symgrad.ir.index import Dyn, Slice
from symgrad.ir.structured import Loop, LoopVjp
from symgrad.passes.avals_control import static_range
from symgrad.rules import RULES

LIMIT = 1 << 16  # entries of a batched temporary that are always worth a loop's overhead
_ELEMENT = (Dyn(0),)  # x[i + c]
_WINDOW = (Slice(Dyn(0), Dyn(1), None),)  # x[i + c1 : i + c2]
_VIEWS = {"getitem", "windows", "expand_dims"}  # batched values that are views, not made


class _Refused(Exception):
    """The loop is left as it is."""


def vectorised(rw, node) -> dict[int, int] | None:
    if node.op == "loop":
        plan = _for_loop(rw.g, node)
    elif node.op == "loop_vjp":
        plan = _backward_loop(rw.g, node)
    else:
        return None
    if plan is None:
        return None
    try:
        return _Batch(rw, node, *plan).results()
    except _Refused:  # what it made so far is read by nothing: dead code
        return None


def _items(g, node) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for u in g.users(node.id):
        if g[u].op == "item":
            out.setdefault(g[u].attrs["index"], []).append(u)
    return out


def _walk_up(g, bounds) -> range | None:
    steps = static_range([g[b].aval for b in bounds])
    return steps if steps is not None and steps.step > 0 and len(steps) >= 2 else None


def _for_loop(g, node):
    """(range, param roles, outputs) of a `for` loop that may batch, else None. An output is
    (item index, body output, what it is: "carried" with its param and initial value, or
    "stacked")."""
    view = Loop(node)
    if not view.counted or view.breaks or view.n_decisions or "cond" in view.attrs:
        return None
    steps = _walk_up(g, node.inputs[:3])
    items = _items(g, node)
    tape = view.k + view.n_stacked
    if steps is None or view.records and tape in items:
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
    """The same for a `loop_vjp` walking back a forward loop's index alone: its running
    cotangents are carried values, and its cotangents of captured values ("acc") are summed
    over the steps."""
    view = LoopVjp(node)
    tape = g[node.inputs[0]]
    if view.n_tape != 1 or tape.op != "item":
        return None
    forward = g[tape.inputs[0]]
    if forward.op != "loop" or not Loop(forward).index_only:
        return None
    steps = _walk_up(g, forward.inputs[:3])
    if steps is None:
        return None
    roles = {view.entry_params[0]: ("aff", 0)}
    for p, i in zip(view.captured_params, view.captured_inputs):
        roles[p] = ("inv", node.inputs[i])
    for p, i in zip(view.row_params, view.row_inputs):  # row t of the stacked cotangents
        roles[p] = ("bat", node.inputs[i])
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

    def __init__(self, rw, node, steps: range, roles: dict, outputs: list, items: dict):
        self.rw, self.g, self.node = rw, rw.g, node
        self.body = node.attrs["body"]
        self.steps, self.n = steps, len(steps)
        self.env = dict(roles)
        self.outputs, self.items = outputs, items
        sizes = [_size(self.g[i].aval) for i in node.inputs]
        self.limit = max([LIMIT, *(s for s in sizes if s is not None)])
        self.windows: dict[tuple, int] = {}
        self.reads: dict[int, set[int]] = {}  # carried param: offsets it is read at

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
        return out

    def batched(self, m) -> tuple:
        roles = [self.env[i] for i in m.inputs]
        kinds = {r[0] for r in roles}
        rule = RULES.get(m.op)
        if m.op == "const":
            return ("inv", self.rw.const(self.node, m.attrs["value"]))
        if rule is None or rule.structured:
            raise _Refused
        if "carried" in kinds:
            return self.update(m, roles)
        if kinds <= {"inv"} and m.op not in ("setitem", "index_add"):
            return ("inv", self.new(m, m.op, [r[1] for r in roles], dict(m.attrs), check=False))
        if m.op in ("add", "subtract") and "aff" in kinds:
            return self.offset(m, roles)
        if m.op == "getitem" and roles[0][0] == "inv" and kinds - {"inv"} == {"aff"}:
            return self.read(m, roles[0][1], roles[1:])
        if m.op == "index_add" and roles[0][0] == "inv" and roles[1][0] == "bat":
            return ("scatter", m, roles)
        if kinds - {"inv", "bat"}:
            raise _Refused
        if rule.shape == "elementwise":
            return self.elementwise(m, roles)
        if rule.shape == "reduce" and len(roles) == 1 and set(m.attrs) <= {"axis", "keepdims"}:
            return self.reduction(m, roles[0][1])
        if m.op == "matmul" and not m.attrs:
            return self.product(m, roles)
        raise _Refused

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
        if xa is None or not xa.known or not xa.shape:
            raise _Refused
        length, index = xa.shape[0], m.attrs["index"]
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
        aval = self.g[x].aval
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
        rank = self.rank(m.id)
        args = []
        for kind, v in roles:  # a batch of fewer axes than the result: length-1 axes after n
            have = len(self.g[v].aval.shape) - 1 if kind == "bat" else rank
            if have < rank:
                v = self.new(m, "expand_dims", [v], {"axis": _axes(1, rank - have)}, check=False)
            args.append(v)
        return ("bat", self.new(m, m.op, args, dict(m.attrs)))

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
        if ka == "bat" and ra >= 2 and kb == "inv" or kb == "bat" and rb >= 2 and ka == "inv":
            return ("bat", self.new(m, "matmul", [a, b]))  # stacks of matrices broadcast
        raise _Refused

    # carried values and sums over the steps ---------------------------------------------------
    def update(self, m, roles) -> tuple:
        """A carried value read at its step's entry, written there, or summed into."""
        p = m.inputs[0]
        if m.op == "getitem" and roles[0][0] == "carried" and m.attrs["index"] == _ELEMENT:
            if [kind for kind, _ in roles[1:]] == ["aff"]:  # its step's entry, read
                c = self.entry(roles[0][1], roles[1][1])
                self.reads.setdefault(p, {})[m.id] = c
                return ("bat", self.rows(m, roles[0][1], self.steps[0] + c))
        if m.op == "setitem" and roles[0][0] == "carried" and m.attrs["index"] == _ELEMENT:
            if roles[1][0] in ("inv", "bat") and roles[2][0] == "aff":
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
        readers = [u for u in self.body.users(p) if u != o]
        if role[0] == "written":
            _, _, (kind, v), c = role
            reads = self.reads.get(p, {})
            if set(readers) != set(reads) or set(reads.values()) - {c}:
                raise _Refused  # read elsewhere than at the entry it writes
            region = self.body[p].aval.shape[1:]
            written = self.body[self.body[o].inputs[1]].aval
            if self.body[o].aval != self.body[p].aval or kind == "bat" and written.shape != region:
                raise _Refused
            start = self.steps[0] + c
            if kind == "bat" and self.whole(init, start) and self.fresh(v, init):
                return v  # every entry written: the batch, a new array, is the result
            return self.new(self.body[o], "setitem", [init, v], self.slice(start), check=False)
        _, _, op, v, row = role
        if readers or self.body[o].aval != self.body[p].aval:
            raise _Refused
        carried_shape, row_shape = self.body[p].aval.shape, self.body[row].aval.shape
        if broadcast([carried_shape, row_shape]) != carried_shape:
            raise _Refused
        total = self.new(self.body[o], "sum", [v], {"axis": 0, "keepdims": False}, check=False)
        return self.new(self.body[o], op, [init, total], check=False)

    def summed(self, o: int, captured: int) -> int:
        """A backward loop's cotangent of a captured value: the steps' summed."""
        role, want = self.env.get(o), self.g[captured].aval
        if role is None or want is None or not want.known:
            raise _Refused
        if role[0] == "bat":
            per = self.body[o].aval
            if per.shape != want.shape or per.dtype != want.dtype:
                raise _Refused
            return self.new(self.body[o], "sum", [role[1]], {"axis": 0}, check=False)
        if role[0] != "scatter":
            raise _Refused
        m, ((_, x), (_, v), *parts) = role[1], role[2]
        if any(kind != "aff" for kind, _ in parts) or m.aval.shape != want.shape:
            raise _Refused
        rows = self.g[self.read(m, x, parts, check=False)[1]]  # where the steps add
        if self.g[v].aval.shape != rows.aval.shape:
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
        made = self.g[total].aval
        if made is None or made.shape != want.shape or made.dtype != want.dtype:
            raise _Refused
        return total

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
            raise _Refused
        return nid


def _axes(first: int, count: int):
    axes = tuple(range(first, first + count))
    return axes[0] if len(axes) == 1 else axes  # (no axes: (), the value itself)


def _size(aval: Aval | None) -> int | None:
    if aval is None or not aval.known:
        return None
    return math.prod(aval.shape)
