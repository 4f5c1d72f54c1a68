"""Residuals: a loop's tape records the values its backward loop would otherwise recompute.

Contract: `record(graph, back)` is called on a `loop_vjp` node `back` whose tape is recorded by
a forward `loop` or `while` of `graph`. The body of `back` recomputes, from the taped carried
values, the forward values its VJP reads (`h = np.tanh(W @ h_prev + U @ x[t])` again, to
multiply by `1 - h ** 2`). Each such array that costs work to recompute (not a param, a
constant, a view, a shape or a number) and that the forward body computes from the same
params (matched node by node, as CSE matches; a node it lacks is added to it) becomes one more
entry of the tape: an output of the forward body after its decisions (recorded with them, at
the end of each iteration) and a param of the backward body after its entry's others. What
only the recomputation needed is then dead in the backward body and removed. Values computed
through a nested loop or branch, or from a decision, stay recomputed, as do those computed
from a taped value (`1 - h ** 2` from the taped `h`).

The tape then holds what the VJP needs, as a hand-written backward pass keeps the forward
activations; recomputation (the tape of carried values alone) trades that memory for time.
"""

from __future__ import annotations

from symgrad.ir import Graph
from symgrad.ir.avals import ARRAY
from symgrad.ir.structured import Loop, LoopVjp
from symgrad.passes import tape
from symgrad.passes.dce import dce
from symgrad.rules import RULES


def record(graph: Graph, back) -> None:
    loop = tape.recorder(graph, back)
    if loop is None:
        return
    vjp, fwd = back.attrs["body"], loop.attrs["body"]
    to_fwd = _param_map(graph, loop, back)
    found = [r for r in _recomputed(vjp) if _ancestry_ok(vjp, r, to_fwd)]
    view = Loop(loop)
    n_decisions = view.n_decisions
    keys = {node.key(): node.id for node in fwd.nodes() if node.op != "param"}
    at = view.k + view.n_stacked + n_decisions  # the new entries: after the decisions
    params = list(vjp.params)
    n_tape = back.attrs["n_tape"]
    taken = set()
    for r in found:
        if vjp.ancestors_of([r]) & taken:  # computed from a taped value: recomputed from it
            continue  # (`1 - h ** 2` from the taped h)
        out = _copy(vjp, fwd, r, to_fwd, keys)
        fwd.outputs.insert(at, out)
        at += 1
        q = vjp.param(vjp[r].name or fwd[out].name or "t")
        vjp.set_order(q, vjp[r].order)
        vjp.replace_uses(r, q)
        to_fwd[q] = out
        taken.add(q)
        params.insert(n_tape, q)
        n_tape += 1
    if not taken:
        return
    vjp.params = params
    for position, p in enumerate(vjp.params):
        vjp[p].attrs["index"] = position
    dce(vjp)
    loop.attrs["n_decisions"] = n_decisions + len(taken)
    back.attrs["n_tape"] = n_tape


def _param_map(graph: Graph, loop, back) -> dict[int, int]:
    """Backward-body param -> the forward-body param holding the same value: the index, the
    taped carried values, and captured values both loops read."""
    fwd, bwd = Loop(loop), LoopVjp(back)
    entry = bwd.entry_params
    out = {entry[0]: fwd.index_param} if fwd.counted else {}
    for r, j in enumerate(fwd.taped):
        if j < fwd.k:
            out[entry[fwd.counted + r]] = fwd.carried_params[j]
    read: dict[int, int] = {}  # the forward body's param for each value it captures
    for i, p in zip(fwd.captured_inputs, fwd.captured_params):
        read.setdefault(loop.inputs[i], p)
    for i, q in zip(bwd.captured_inputs, bwd.captured_params):
        if back.inputs[i] in read:
            out[q] = read[back.inputs[i]]
    return out


def _recomputed(vjp: Graph) -> list[int]:
    """The forward values of the backward body that backward values (or outputs) read and
    that cost work to recompute, in order."""
    out = []
    for node in vjp.nodes():
        if node.backward or node.tangent or node.op in ("param", "const"):
            continue
        rule = RULES.get(node.op)
        if rule is None or rule.view or rule.reads_shape or rule.structured or rule.nondiff:
            continue
        if getattr(node.aval, "kind", None) != ARRAY or not node.aval.rank:
            continue  # a number (`i + k`) costs less to compute again than to keep
        readers = [vjp[u] for u in vjp.users(node.id)]
        if node.id in vjp.outputs or any(u.backward or u.tangent for u in readers):
            out.append(node.id)
    return out


def _ancestry_ok(vjp: Graph, r: int, to_fwd: dict) -> bool:
    """Whether r is computed from mapped params by plain primitives alone."""
    for a in vjp.ancestors_of([r]):
        node = vjp[a]
        if node.op == "param" and a not in to_fwd:
            return False
        if node.backward or node.tangent:
            return False
        if node.op not in ("param", "const") and RULES[node.op].structured:
            return False
    return True


def _copy(vjp: Graph, fwd: Graph, r: int, to_fwd: dict, keys: dict) -> int:
    """The forward-body node computing what r computes in the backward body (made if none)."""
    made = dict(to_fwd)
    needed = vjp.ancestors_of([r])
    for node in vjp.nodes():
        if node.id not in needed or node.id in made:
            continue
        inputs = tuple(made[i] for i in node.inputs)
        probe = type(node)(-1, node.op, inputs, node.attrs)
        nid = keys.get(probe.key())
        if nid is None:
            nid = fwd.add(node.op, inputs, dict(node.attrs), node.loc, name=node.name)
            keys[fwd[nid].key()] = nid
        made[node.id] = nid
    return made[r]
