"""Activity analysis: which values depend on the differentiated inputs and reach the output.

Contract: `active(graph, wrt)` is the set of nodes that (a) depend on a param in `wrt` through
differentiable inputs of differentiable rules and (b) are ancestors of an output. Only these get
cotangents, so nothing is computed for inputs nobody asked about, or past a comparison or argmax. A
differentiable rule without any backward function raises `NotDifferentiableError` when it is
reached, rather than passing no gradient. `kind="jvp"` asks the same of forward mode: inputs are
differentiable where the rule has a JVP template, and a rule without any raises.
"""

from __future__ import annotations

from symgrad.errors import NotDifferentiableError
from symgrad.ir import Graph
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
    for node in graph.nodes():
        if node.op in ("param", "const") or RULES[node.op].nondiff:
            continue
        if any(i in depends for _, _, i in diff_inputs(graph, node.id, kind)):
            depends.add(node.id)
        elif not getattr(RULES[node.op], kind) and any(i in depends for i in node.inputs):
            blocked.append(node)
    needed = graph.ancestors_of(graph.outputs)
    what = "backward function" if kind == "vjp" else "forward-mode (JVP) rule"
    for node in blocked:
        if node.id in needed:
            raise NotDifferentiableError(
                f"'{node.op}' has no {what} yet, so symgrad cannot differentiate "
                "through it (it appears when a gradient is differentiated again)",
                node.loc,
                _REVERSE_OF_REVERSE if node.op == "loop_vjp" else None,
            )
    return depends & needed


_REVERSE_OF_REVERSE = (
    "Reverse mode over a gradient's loops is not supported yet; forward over reverse is: "
    "symgrad.hessian(f), symgrad.hvp(f, ...), symgrad.jvp(symgrad.grad(f), ...)."
)
