"""Sums of outer products over a backward loop's steps, written as one matrix product.

Contract: `OuterSums(writer, sub, node, results)` finds the sums a `loop_vjp` node accumulates
for captured values that are, per step, `np.outer(a, b)` of two vectors of the captured
value's dtype (an RNN's weight gradient, Σ_t g_t h_tᵀ; known from the Avals of a specialised
module). Their `rows_of` (result position -> its two lists) are not accumulated step by step:
`before()` starts a list per vector (one list for a vector two sums read), `appends()` adds
this step's vectors, and `after(zeros)` assigns each result `np.stack(A).T @ np.stack(B)` once
the loop is done (a list read twice stacked once), or `zeros[r]` when the loop ran no step.
In a compiled loop (`steps`: the step count's text and the step counter's name) the rows go to
arrays made before the loop instead (`a_rows[k] = a`), and a vector the tape holds already
(`given`: body param -> its array on the tape) is read from there. A backward loop nested in a
compiled one (lists, which Numba cannot stack) adds its outer products step by step.
"""

from __future__ import annotations

import ast

from symgrad.emit.compiled import empty
from symgrad.ir.names import fresh
from symgrad.ir.structured import LoopVjp


class OuterSums:
    def __init__(self, writer, sub, node, results: list[str], steps=None, given=None):
        self.writer, self.sub, self.steps = writer, sub, steps
        a, body = node.attrs, node.attrs["body"]
        self.lists: dict[int, str] = {}  # each vector's rows, in a list (or an array)
        self.rows_of: dict[int, list[str]] = {}
        self.results = results
        given = given or {}
        captured = LoopVjp(node).captured_params
        lists = steps is None and writer.kernels.inside  # lists in a compiled loop: add per step
        for r, (kind, pos, _) in enumerate(a["outs"] if not lists else ()):
            out = body.outputs[r]
            if kind != "acc" or not _outer_of_vectors(body, out, captured[pos]):
                continue
            for side, v in zip(("left", "right"), body[out].inputs):
                base = _row_name(sub, v) or f"{results[r]}_{side}"
                self.lists.setdefault(v, given.get(v) or fresh(f"{base}_rows", writer.used))
            self.rows_of[r] = [self.lists[v] for v in body[out].inputs]
        self.made = {v: name for v, name in self.lists.items() if v not in given}

    def before(self) -> list[str]:
        if self.steps is None:
            return [f"{name} = []" for name in self.made.values()]
        n, body, inside = self.steps[0], self.sub.graph, self.writer.kernels.inside
        return [
            f"{name} = {empty(f'({n}, {body[v].aval.shape[0]})', body[v].aval.dtype, inside)}"
            for v, name in self.made.items()
        ]

    def appends(self) -> list[str]:
        if self.steps is None:
            return [
                f"{name}.append({ast.unparse(self.sub.expr(v))})" for v, name in self.made.items()
            ]
        k = self.steps[1]
        return [f"{name}[{k}] = {ast.unparse(self.sub.expr(v))}" for v, name in self.made.items()]

    def after(self, zeros: dict[int, str]) -> list[str]:
        if not self.rows_of:
            return []
        lists = [name for pair in self.rows_of.values() for name in pair]
        stacked = {}
        lines = []
        for name in dict.fromkeys(lists):
            if lists.count(name) > 1 and self.steps is None:
                stacked[name] = fresh(name.removesuffix("_rows") + "_stack", self.writer.used)
                lines.append(f"{stacked[name]} = np.stack({name})")
        read = lambda name: stacked.get(name, f"np.stack({name})")  # noqa: E731
        if self.steps is not None:  # arrays already
            read = lambda name: name  # noqa: E731
        lines += [
            f"{self.results[r]} = {read(a)}.T @ {read(b)}" for r, (a, b) in self.rows_of.items()
        ]
        none = [f"{self.results[r]} = {zeros[r]}" for r in self.rows_of]
        if self.steps is not None and self.steps[0].isdigit():  # a number of steps known
            return lines if int(self.steps[0]) else none
        return [
            f"if {lists[0] if self.steps is None else self.steps[0]}:",
            *("    " + s for s in lines),
            "else:",
            *("    " + s for s in none),
        ]


def _row_name(sub, v: int) -> str | None:
    """What to call the list of v's values: after v, or the array v is a row of (`xs[t]`)."""
    if v not in sub.inline:
        return sub.names.get(v)
    node = sub.graph[v]
    if node.op == "getitem" and node.inputs[0] not in sub.inline:
        return sub.names.get(node.inputs[0])
    return None


def _outer_of_vectors(body, out: int, captured: int) -> bool:
    """Whether a body output is `np.outer(a, b)` of two vectors (known from their Avals), of
    the dtype of the `captured` value it is the cotangent of."""
    node, acc = body[out], body[captured].aval
    if node.op != "outer" or node.aval is None or acc is None or node.aval.dtype != acc.dtype:
        return False
    return all(getattr(body[i].aval, "rank", None) == 1 for i in node.inputs)
