"""Activity analysis: which values depend on the differentiated inputs and reach the output.

Contract: `active(graph, wrt)` is the set of nodes that (a) depend on a param in `wrt` through
differentiable inputs of differentiable rules and (b) are ancestors of an output. Only these get
cotangents, so nothing is computed for inputs nobody asked about, or past a comparison or argmax. A
differentiable rule without any backward function raises `NotDifferentiableError` when it is
reached, rather than passing no gradient. `kind="jvp"` asks the same of forward mode: inputs
are differentiable where the rule has a JVP template, and a rule without any raises.

A loop or cond counts as one node, but its outputs (`item`s) are told apart: an output depends
on `wrt` only where its body (a branch) computes it from active operands (`active_outputs`), so
an integer counter a loop carries beside an active array, or a flag a branch sets, is inactive.
"""

from __future__ import annotations

from symgrad.errors import NotDifferentiableError
from symgrad.ir import Graph
from symgrad.ir.structured import Loop
from symgrad.rules import RULES, split_inputs


def diff_inputs(graph: Graph, nid: int, kind: str = "vjp") -> list[tuple[str, int | None, int]]:
    """(param name, position in a sequence or None, input node) for each differentiable input."""
    node = graph[nid]
    rule = RULES[node.op]
    templates = getattr(rule, kind)
    out = []
    for name, ids in split_inputs(rule, node.inputs, node.attrs).items():
        if name not in templates:
            continue
        if isinstance(ids, list):
            out.extend((name, k, i) for k, i in enumerate(ids))
        else:
            out.append((name, None, ids))
    return out


def active(graph: Graph, wrt: list[int], kind: str = "vjp") -> set[int]:
    depends: set[int] = set(wrt)
    blocked = []  # differentiable rules without a backward (forward) function, reached from wrt
    needed = graph.ancestors_of(graph.outputs)
    outputs: dict[int, set[int]] = {}  # loop or cond -> its active output positions
    for node in graph.nodes():
        if node.op in ("param", "const"):
            continue
        rule = RULES[node.op]
        if rule.nondiff:
            smooth = rule.smooth_in(len(node.inputs)) if rule.smooth_in else ()
            if any(node.inputs[k] in depends for k in smooth if k < len(node.inputs)):
                blocked.append(node)
            continue
        if node.op == "item" and node.inputs[0] in outputs:
            if node.attrs["index"] in outputs[node.inputs[0]]:
                depends.add(node.id)
        elif any(i in depends for _, _, i in diff_inputs(graph, node.id, kind)):
            depends.add(node.id)
            if node.op in _STRUCTURED and node.id in needed:
                outputs[node.id] = active_outputs(graph, node, depends, kind)
        elif not getattr(RULES[node.op], kind) and any(i in depends for i in node.inputs):
            blocked.append(node)
    what = "backward function" if kind == "vjp" else "forward-mode (JVP) rule"
    for node in blocked:
        refusal = RULES[node.op].refusal
        if node.id in needed and refusal is not None:
            message, hint = refusal(node.attrs)
            raise NotDifferentiableError(message, node.loc, hint)
        if node.id in needed and RULES[node.op].nondiff:
            raise NotDifferentiableError(
                f"np.{node.op}'s value changes with a value symgrad differentiates here (a "
                f"bound, a step), and symgrad has no derivative of np.{node.op} yet",
                node.loc,
                "Write it with arithmetic: start + (stop - start) * np.linspace(0.0, 1.0, n) "
                "for np.linspace(start, stop, n), start + step * np.arange(n) for "
                "np.arange(start, stop, step).",
            )
        if node.id in needed:
            raise NotDifferentiableError(
                f"'{node.op}' has no {what} yet, so symgrad cannot differentiate "
                "through it (it appears when a gradient is differentiated again)",
                node.loc,
                _REVERSE_OF_REVERSE if node.op == "loop_vjp" else None,
            )
    return depends & needed


_STRUCTURED = ("loop", "while", "cond")


def active_outputs(graph: Graph, node, depends: set[int], kind: str = "vjp") -> set[int]:
    """The output positions of a `loop`, `while` or `cond` node that depend on its operands in
    `depends`: a cond's output where a branch computes it from them; a loop's carried value
    where its initial value is active or the body computes its next value from an active one
    (a fixpoint), a stacked output where the body computes it so; its tape (the output after
    those, once the reverse pass records one) is active, as the loop is."""
    if node.op == "cond":
        operands = node.inputs[1:]
        out: set[int] = set()
        for branch, ps in zip(node.attrs["branches"], node.attrs["params"]):
            wrt = [q for q, j in zip(branch.params, ps) if operands[j] in depends]
            reached = active(branch, wrt, kind)
            out |= {k for k, o in enumerate(branch.outputs) if o in reached}
        return out
    view = Loop(node)
    body, k = view.body, view.k
    operands = [node.inputs[i] for i in view.operand_inputs]
    params = view.operand_params
    carried = {j for j, i in enumerate(operands) if i in depends}
    while True:
        reached = active(body, [params[j] for j in sorted(carried)], kind)
        grown = carried | {j for j, o in enumerate(view.next_carried) if o in reached}
        if grown == carried:
            break
        carried = grown
    n = view.n_results  # then its tape, active as the loop is
    stacked = {k + j for j, o in enumerate(view.stacked) if o in reached}
    return {j for j in carried if j < k} | stacked | {n}


_REVERSE_OF_REVERSE = (
    "Reverse mode over a gradient's loops is not supported yet; forward mode over it is: "
    "for a gradient of f, symgrad.hessian(f), symgrad.hvp(f, ...) or "
    "symgrad.jvp(symgrad.grad(f), ...); for a function that calls symgrad.grad itself, "
    "symgrad.jacfwd or symgrad.jvp of that function."
)
