"""Residuals across nested loops: a backward loop's step reads a nested loop's tape from the
outer tape, where it would otherwise run that loop again to record it.

Contract: `stack(vjp, fwd, to_fwd, keys, add)` is called by `symgrad.passes.residuals.record`
with the body `vjp` of a backward loop and the body `fwd` of the forward loop whose tape it
walks (`to_fwd`: vjp's params -> fwd's; `keys`: fwd's nodes by `Node.key`; `add(out, name,
order)` records fwd's value `out` on the outer tape and gives vjp's param holding it).

Each step of the backward loop recomputes a nested loop (an LSTM's layers, at a time step) to
record that loop's tape for the nested backward loop. Where the forward body runs the same loop
(the same inputs, from the same params; counting from 0 by 1, over a static number of steps,
at least one), that loop stacks each iteration's tape entry instead, as outputs: its taped
carried values (or the parts of one the nested backward loop reads at indices computed from
its index, where they are smaller: rows 2i and 2i+1 of an LSTM's whole state) and the
residuals it records (`symgrad.passes.residuals`), copied into its body as residuals are.
The outer tape records those stacks (and any result of the loop the backward step reads), and
the nested backward loop reads row i of each, captured, where it read its tape entry at step
i. The recomputed loop then has nothing left to compute (`tape.prune` drops its carried
values): its backward loop walks its range reversed. A nested loop whose entry comes through
another loop or a branch, whose forward twin differs, or whose stacks would hold more than
`STACKED_MAX` entries a step (the outer tape keeps them for every step), stays recomputed.
"""

from __future__ import annotations

import math
from typing import Callable

from symgrad.ir import Graph
from symgrad.ir.index import Dyn
from symgrad.ir.structured import Loop, LoopVjp
from symgrad.passes import tape
from symgrad.passes.avals_control import static_steps
from symgrad.passes.dce import dce
from symgrad.passes.twins import ancestry_ok, copy_node

_ROW = {"n_parts": 1, "index": (Dyn(0),)}  # rows[i]
STACKED_MAX = 1 << 14  # entries a step of the outer loop may stack (128 KiB of float64): more
# stays recomputed, as a tape of the outer loop's steps times that would take too much memory


def stack(vjp: Graph, fwd: Graph, to_fwd: dict, keys: dict, add: Callable) -> None:
    changed = False
    for inner in list(vjp.nodes()):
        if inner.op == "loop" and not inner.backward and not inner.tangent:
            back = _walked_by(vjp, inner)
            if back is None or not all(ancestry_ok(vjp, i, to_fwd) for i in inner.inputs):
                continue
            ins = [copy_node(vjp, fwd, i, to_fwd, keys, make=False) for i in inner.inputs]
            twin = _twin(fwd, inner, ins)
            if twin is not None and _stacked(vjp, fwd, inner, back, twin, add):
                changed = True
    if changed:
        tape.prune(vjp)


def _walked_by(vjp: Graph, inner):
    """The backward loop walking the tape that loop `inner` records, where it counts from 0 by
    1 over a static number of steps (at least one), cannot break, and tapes more than its
    index; else None."""
    view = Loop(inner)
    if not view.records or view.breaks or view.index_only or "dotted" in inner.attrs:
        return None
    start, stop, step = inner.inputs[:3]
    for b, value in ((start, 0), (step, 1)):
        if not vjp.is_const(b) or vjp.const_value(b) != value:
            return None
    if not static_steps([vjp[b].aval for b in (start, stop, step)]):
        return None
    items = [u for u in vjp.users(inner.id) if vjp[u].attrs["index"] == view.n_results]
    readers = vjp.users(items[0]) if len(items) == 1 else []
    if len(readers) != 1 or vjp[readers[0]].op != "loop_vjp":
        return None
    back = vjp[readers[0]]
    return back if LoopVjp(back).n_tape == view.entry_size else None


def _twin(fwd: Graph, inner, ins: list):
    """The loop of fwd that runs what `inner` runs, recording no tape: its inputs are `ins`,
    and its body computes the same results from its params, node by node (two loops of one
    source line, inlined twice, may differ in a constant)."""
    if None in ins:
        return None
    view = Loop(inner)
    for node in fwd.nodes():
        if node.op != "loop" or node.inputs != tuple(ins) or "dotted" in node.attrs:
            continue
        other = Loop(node)
        if other.records or other.n_decisions or other.breaks:
            continue
        if (other.k, other.n_stacked) == (view.k, view.n_stacked) and _same(view, other):
            return node
    return None


def _same(view: Loop, other: Loop) -> bool:
    """Whether two loops' bodies compute their results alike from their params."""
    body, tbody = view.body, other.body
    if len(body.params) != len(tbody.params):
        return False
    to_other = dict(zip(body.params, tbody.params))
    tkeys = {node.key(): node.id for node in tbody.nodes() if node.op != "param"}
    n = view.n_results
    for out, twin_out in zip(body.outputs[:n], tbody.outputs[:n]):
        if copy_node(body, tbody, out, to_other, tkeys, make=False) != twin_out:
            return False
    return True


def _stacked(vjp: Graph, fwd: Graph, inner, back, twin, add: Callable) -> bool:
    """Make `twin` stack what `inner` tapes, `back` read it from the outer tape (`add`), and
    `inner` record its index alone; False (nothing changed) where an entry's value comes
    through a nested loop or branch, changes shape or dtype from step to step, or the stacks
    would exceed `STACKED_MAX` entries."""
    view, tview = Loop(inner), Loop(twin)
    body, tbody = view.body, tview.body
    to_twin = dict(zip(body.params, tbody.params))
    parts = [view.carried_params[j] for j in view.taped] + view.decisions
    if not all(ancestry_ok(body, d, to_twin) for d in parts):
        return False
    bview = LoopVjp(back)
    bbody = bview.body
    index, *entry = bview.entry_params
    captured, rest = bview.captured_params, [*bview.state_params, *bview.row_params]
    reads = [_rows_read(bbody, e, index) for e in entry]
    sizes = [_entries(bbody[r].aval) for rs in reads for r in rs]
    if None in sizes:
        return False  # (a row's shape or dtype differs between steps: `0.0`, then an array)
    if static_steps([vjp[b].aval for b in inner.inputs[:3]]) * sum(sizes) > STACKED_MAX:
        return False  # (memory: kept for every step of the outer loop)
    tkeys = {n.key(): n.id for n in tbody.nodes() if n.op != "param"}
    rows = []  # (the twin's value to stack, the backward body's node it stands for)
    for d, e, rs in zip(parts, entry, reads):
        value = copy_node(body, tbody, d, to_twin, tkeys)
        to_tbody = {index: tview.index_param, e: value}
        rows += [(copy_node(bbody, tbody, r, to_tbody, tkeys), r) for r in rs]
    first = tview.n_results  # after its stacked outputs
    tbody.outputs[first:first] = [value for value, _ in rows]
    twin.attrs["n_stacked"] = tview.n_stacked + len(rows)
    stacks, new = [], []
    for r, (_, read) in enumerate(rows):
        name = f"{bbody[read].name or 't'}_rows"
        item = fwd.add("item", (twin.id,), {"index": first + r}, twin.loc, name=name)
        fwd.set_order(item, twin.order)
        stacks.append(add(item, name, inner.order))
        c = bbody.param(name)
        got = bbody.add("getitem", (c, index), dict(_ROW), bbody[read].loc, name=bbody[read].name)
        bbody.replace_uses(read, got)
        new.append(c)
    dce(bbody)
    bbody.remove(entry)
    bbody.params = [index, *captured, *new, *rest]
    for position, p in enumerate(bbody.params):
        bbody[p].attrs["index"] = position
    vjp.set_inputs(back.id, (*back.inputs, *stacks))
    back.attrs["n_tape"] = 1
    back.attrs["n_operands"] += len(stacks)
    body.outputs = body.outputs[: view.n_results]  # it records its index alone
    inner.attrs.update(n_decisions=0, taped=())
    dce(body)
    _results(vjp, fwd, inner, twin, add)
    return True


def _rows_read(bbody: Graph, e: int, index: int) -> list[int]:
    """What the backward body reads of tape entry e: e itself, nothing (unread), or where it
    reads only parts of e at indices computed from the step's index (`s[2 * i]` of an LSTM's
    whole state, at layer i), those parts, where they hold fewer entries than e."""
    users = bbody.users(e)
    if not users:
        return []
    parts = [bbody[u] for u in set(users)]
    size = _entries(bbody[e].aval)
    if size is None or any(u.op != "getitem" or u.inputs.count(e) != 1 for u in parts):
        return [e]
    if any(u.inputs[0] != e or not ancestry_ok(bbody, u.id, {e: e, index: index}) for u in parts):
        return [e]
    sizes = [_entries(u.aval) for u in parts]
    if None in sizes or sum(sizes) >= size:
        return [e]
    return [u.id for u in parts]


def _entries(aval) -> int | None:
    """The number of entries of a value of this Aval, where its shape and dtype are known."""
    shape = getattr(aval, "shape", None)
    if shape is None or None in shape or aval.dtype is None:
        return None
    return math.prod(shape)


def _results(vjp: Graph, fwd: Graph, inner, twin, add: Callable) -> None:
    """The results of `inner` that vjp reads: its twin's, from the outer tape."""
    view = Loop(inner)
    twins = {fwd[u].attrs["index"]: u for u in fwd.users(twin.id)}
    for u in list(vjp.users(inner.id)):
        j = vjp[u].attrs["index"]
        if j >= view.n_results or not (vjp.users(u) or u in vjp.outputs):
            continue
        if j not in twins:
            twins[j] = fwd.add("item", (twin.id,), {"index": j}, twin.loc, name=vjp[u].name)
            fwd.set_order(twins[j], twin.order)
        vjp.replace_uses(u, add(twins[j], vjp[u].name, vjp[u].order))
