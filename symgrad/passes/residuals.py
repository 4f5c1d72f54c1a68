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
through a nested branch, or from a decision, stay recomputed, as do those computed from a
taped value (`1 - h ** 2` from the taped `h`); a nested loop's tape is stacked by the forward
body's run of it where it can be (`symgrad.passes.residuals_nested`).

The tape then holds what the VJP needs, as a hand-written backward pass keeps the forward
activations; recomputation (the tape of carried values alone) trades that memory for time.
"""

from __future__ import annotations

from symgrad.ir import Graph
from symgrad.ir.avals import ARRAY, SCALAR
from symgrad.ir.structured import Loop, LoopVjp
from symgrad.passes import residuals_nested as nested
from symgrad.passes import tape
from symgrad.passes.dce import dce
from symgrad.passes.twins import ancestry_ok, copy_node
from symgrad.rules import RULES


def record(graph: Graph, back) -> None:
    loop = tape.recorder(graph, back)
    if loop is None:
        return
    vjp, fwd = back.attrs["body"], loop.attrs["body"]
    to_fwd = _param_map(graph, loop, back)
    carried = {q for q, p in to_fwd.items() if p in Loop(loop).carried_params}
    found = [r for r in _recomputed(vjp, carried) if ancestry_ok(vjp, r, to_fwd)]
    keys = {node.key(): node.id for node in fwd.nodes() if node.op != "param"}
    entries = _Entries(loop, back, to_fwd)
    for r in found:
        if vjp.ancestors_of([r]) & entries.taken:  # computed from a taped value: recomputed
            continue  # from it (`1 - h ** 2` from the taped h)
        q = entries.add(copy_node(vjp, fwd, r, to_fwd, keys), vjp[r].name, vjp[r].order)
        vjp.replace_uses(r, q)
    nested.stack(vjp, fwd, to_fwd, keys, entries.add)
    entries.close()


class _Entries:
    """The entries a loop's tape gains: each a value of the forward body, recorded after its
    decisions, and a param of the backward body after its entry's others."""

    def __init__(self, loop, back, to_fwd: dict):
        self.loop, self.back, self.to_fwd = loop, back, to_fwd
        self.fwd, self.vjp = loop.attrs["body"], back.attrs["body"]
        view = Loop(loop)
        self.n_decisions = view.n_decisions
        self.at = view.k + view.n_stacked + view.n_decisions  # the new entries: at the end
        self.params, self.n_tape = list(self.vjp.params), back.attrs["n_tape"]
        self.taken: set[int] = set()

    def add(self, out: int, name: str | None, order: float) -> int:
        """The backward body's new param for the forward body's value `out`, recorded."""
        self.fwd.outputs.insert(self.at, out)
        self.at += 1
        q = self.vjp.param(name or self.fwd[out].name or "t")
        self.vjp.set_order(q, order)
        self.to_fwd[q] = out
        self.taken.add(q)
        self.params.insert(self.n_tape, q)
        self.n_tape += 1
        return q

    def close(self) -> None:
        if not self.taken:
            return
        vjp = self.vjp
        vjp.params = [p for p in self.params if p in vjp]
        for position, p in enumerate(vjp.params):
            vjp[p].attrs["index"] = position
        dce(vjp)
        self.loop.attrs["n_decisions"] = self.n_decisions + len(self.taken)
        self.back.attrs["n_tape"] = self.n_tape


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


def _recomputed(vjp: Graph, carried: set[int]) -> list[int]:
    """The forward values of the backward body that backward values (or outputs) read and
    that cost work to recompute, in order; and its elements of a taped carried array (params
    `carried`) that any value reads, which cost its whole copy on the tape each iteration
    (`y[i - 1]` of `y[i] = y[i - 1] * x[i]`, `u[i + 1] - u[i]` of an update of u[i]: O(n)
    memory where the array's copies take O(n^2))."""
    out = []
    for node in vjp.nodes():
        if node.backward or node.tangent or node.op in ("param", "const"):
            continue
        rule = RULES.get(node.op)
        if not _element_of(node, carried):
            if rule is None or rule.is_view(node.attrs) or rule.reads_shape or rule.nondiff:
                continue
            if rule.structured:
                continue
            if getattr(node.aval, "kind", None) != ARRAY or not node.aval.rank:
                continue  # a number (`i + k`) costs less to compute again than to keep
        readers = [vjp[u] for u in vjp.users(node.id)]
        if node.id in vjp.outputs or any(u.backward or u.tangent for u in readers):
            out.append(node.id)
        elif readers and _element_of(node, carried):  # read to recompute a number (`u[i + 1]
            out.append(node.id)  # - u[i]`): taped, or the whole array is, at every step
    return out


def _element_of(node, carried: set[int]) -> bool:
    """Whether node reads one element (a NumPy scalar: a copy, not a view) of a param in
    `carried`."""
    return (
        node.op == "getitem"
        and node.inputs[0] in carried
        and getattr(node.aval, "kind", None) == SCALAR
    )
