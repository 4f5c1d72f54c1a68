"""Type inference through loops and branches: the Avals of a structured node's outputs and of
every value in the graphs it owns.

Contract: `structured(graph, node, infer)` (called by `symgrad.passes.avals.infer` with itself)
infers the graphs `node` owns, with params typed from its inputs, and returns one Aval (or None)
per output of the node, which its `item`s take. What holds on every iteration holds on the
body's params: a loop's carried values start with their initial values' Avals and are joined
with what the body makes of them until nothing changes (`join`: a length, dtype or kind that
differs between iterations is not known), so a rewrite that reads a body's Avals is exact on
every iteration. A cond's outputs are the join of its branches'. A `loop_vjp`'s tape entries
take the Avals of the forward loop's body params they record; its running cotangents are
joined with their next values as carried values are; a captured value's cotangent is an array
of the captured value's shape and dtype (`np.zeros_like`, added to in place), or for a
float64 number a float64 number; a branch's zero cotangent of a float64 number is 0.0. A
stacked output is an array of its rows, as many as the loop's steps where the range is static
and the loop cannot break; the backward loop's row of its cotangent is one such row (an array,
or a NumPy number for a row of a vector). Anything else (the tape itself, a tangent entry) is None.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from symgrad.ir import Graph
from symgrad.ir.avals import ARRAY, PYTHON, SCALAR, Aval, Sym, float64_number, join
from symgrad.ir.structured import Cond, Loop, LoopVjp, schema

_ROUNDS = 8  # a join loses something each round, so a fixed point comes within a few


def structured(graph: Graph, node, infer: Callable) -> tuple:
    a = node.attrs
    ins = [graph[i].aval for i in node.inputs]
    view = schema(node)
    if isinstance(view, Loop):
        body = view.body
        index = [_index(body, ins[:3])] if view.counted else []
        initial = [ins[i] for i in view.carried_inputs]
        captured = [ins[i] for i in view.captured_inputs]
        carried = _fixed_point(body, index, initial, captured, view.next_carried, infer)
        if "cond" in a:
            infer(a["cond"], carried + captured)
        steps = None if view.breaks or not view.counted else static_steps(ins[:3])
        stacked = [_stack(body[o].aval, steps) for o in view.stacked]
        return (*carried, *stacked, *[None] * (len(body.outputs) - view.k - view.n_stacked + 1))
    if node.op == "cond":
        outs = []
        for branch, ps in zip(a["branches"], a["params"]):
            infer(branch, [ins[1 + j] for j in ps])
            outs.append([branch[o].aval for o in branch.outputs])
        return tuple(join(*column) for column in zip(*outs))
    if node.op == "cond_vjp":
        return _cond_vjp(node, ins, infer)
    if node.op == "loop_vjp":
        return _loop_vjp(graph, node, ins, infer)
    return ()


def _index(body: Graph, bounds: list) -> Aval:
    """`for i in range(start, stop, step)` gives Python ints, each known relative to the index
    (a `Sym` of its own), within the range's bounds where they are static."""
    values = _static(bounds)
    lo = hi = None
    if values is not None and len(range(*values)):
        steps = range(*values)
        lo, hi = min(steps[0], steps[-1]), max(steps[0], steps[-1])
    return Aval((), np.dtype(int), PYTHON, sym=Sym(id(body), 0, lo, hi))


def _static(bounds: list) -> list[int] | None:
    """A range's bounds, where all are static (and the step not 0)."""
    values = [b.value if b is not None and type(b.value) is int else None for b in bounds]
    return values if None not in values and values[2] != 0 else None


def static_steps(bounds: list) -> int | None:
    """The number of steps of a range whose bounds' Avals are these, where all are static."""
    values = _static(bounds)
    return None if values is None else len(range(*values))


def _stack(row: Aval | None, steps: int | None) -> Aval | None:
    """`np.stack` of a loop's rows of this Aval, `steps` of them (None: not known)."""
    if row is None or row.shape is None or row.dtype is None:
        return None
    return Aval((steps, *row.shape), row.dtype, ARRAY)


def _row(stacked: Aval | None) -> Aval | None:
    """One row of a stacked array: an array, or a NumPy number for a row of a vector."""
    if stacked is None or not stacked.shape or stacked.dtype is None:
        return None
    return Aval(stacked.shape[1:], stacked.dtype, ARRAY if len(stacked.shape) > 1 else SCALAR)


def _fixed_point(body: Graph, head: list, carried: list, rest: list, outs, infer) -> list:
    """The carried Avals true on every iteration: params `[*head, *carried, *rest]`, `outs`
    the nodes holding the carried values' next values (None: the value stays as it is)."""
    for _ in range(_ROUNDS):
        infer(body, [*head, *carried, *rest])
        nxt = [c if o is None else join(c, body[o].aval) for c, o in zip(carried, outs)]
        if nxt == carried:
            return carried
        carried = nxt
    carried = [None] * len(carried)
    infer(body, [*head, *carried, *rest])
    return carried


def _cond_vjp(node, ins: list, infer) -> tuple:
    a, view = node.attrs, Cond(node)
    outs = a["outs"]
    operands = [ins[i] for i in view.captured_inputs]
    seeds = [ins[i] for i in view.seed_inputs]
    columns: list[list] = [[] for _ in outs]
    for branch, ps, wrt in zip(a["branches"], a["params"], a["wrt"]):
        infer(branch, [operands[j] for j in ps] + seeds)
        for r, (j, _) in enumerate(outs):
            columns[r].append(
                branch[branch.outputs[wrt.index(r)]].aval if r in wrt else _zeros(operands[j], 0.0)
            )
    return tuple(join(*column) for column in columns)


def _loop_vjp(graph: Graph, node, ins: list, infer) -> tuple:
    view = LoopVjp(node)
    body = view.body
    state = [ins[i] for i in view.state_inputs]
    captured = [ins[i] for i in view.captured_inputs]
    entry = _entry(graph, node.inputs[0], view.n_tape)
    rows = [_row(ins[i]) for i in view.row_inputs]
    nxt = {pos: body.outputs[r] for r, (kind, pos, _) in enumerate(view.outs) if kind == "state"}
    outs = [nxt.get(s) for s in range(view.n_state)]  # without gradient: stays as it is
    state = _fixed_point(body, [*entry, *captured], state, rows, outs, infer)
    return tuple(
        state[pos] if kind == "state" else _zeros(captured[pos], None) for kind, pos, _ in view.outs
    )


def _entry(graph: Graph, tape: int, n_tape: int) -> list:
    """The Avals of a tape's entries: the forward loop's index and taped carried params (their
    Avals as inferred for the forward body), then its decisions."""
    item = graph[tape]
    loop = schema(graph[item.inputs[0]]) if item.op == "item" else None
    if not isinstance(loop, Loop) or not loop.records:
        return [None] * n_tape
    body, carried = loop.body, loop.carried_params
    index = [body[loop.index_param].aval] if loop.counted else []
    taped = [body[carried[j]].aval if j < loop.k else None for j in loop.taped]
    out = [*index, *taped, *(body[d].aval for d in loop.decisions)]
    return out if len(out) == n_tape else [None] * n_tape


def _zeros(aval: Aval | None, python: float | None) -> Aval | None:
    """What the zero cotangent of a value of this Aval is, as `symgrad.emit.control._zeros`
    writes it: the Python float `python` for a float64 number that is no array (None: a
    backward loop's sum of such cotangents, started at 0.0, a number of either kind), and
    `np.zeros_like` of anything else but a Python number (0.0 or a 0-d array, as the emitter
    decides)."""
    if aval is None or aval.shape is None or aval.dtype is None:
        return None
    if float64_number(aval):
        return Aval((), aval.dtype, None if python is None else PYTHON)
    if aval.kind == PYTHON:
        return None
    return Aval(aval.shape, aval.dtype, ARRAY)
