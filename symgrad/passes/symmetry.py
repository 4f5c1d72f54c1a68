"""Second derivatives by symmetry: the reverse-mode derivative of a gradient, by forward mode.

Contract: `by_symmetry(fwd, ks, wrt, kind)` differentiates the gradients ∂f/∂x_k, k in `ks`,
of the function graph `fwd` with respect to the arguments `wrt` without a reverse pass over
them. Second derivatives are symmetric, so uᵀ ∂/∂x_j (∂f/∂x_k) = ∂/∂x_k (∂f/∂x_j) · u: the VJP
of the gradients for cotangents u_k is the tangent of the gradients ∂f/∂x_j along the tangents
u_k of the x_k (forward over reverse). With `kind="vjp"` the graph takes each u_k as a new
param `<x_k>_bar_bar`, in the order of `ks` (a gradient of several arguments, or of a
container's leaves, one cotangent per leaf); with `kind="grad"` (one k) u is 1 (the
gradient ∂f/∂x_k must then be a scalar, which the graph checks when it runs), and with
`kind="value_and_grad"` too, ∂f/∂x_k its first output. The outputs are one derivative per
entry of `wrt`. The API uses
this where reverse over reverse cannot run (a loop's backward function has no VJP yet);
not through a custom derivative rule, whose "derivative" need not be one (a gradient clipped,
scaled or passed straight through), so that the symmetry need not hold: refused there.
"""

from __future__ import annotations

from symgrad.errors import NotDifferentiableError
from symgrad.ir import Graph
from symgrad.ir.graph import subgraphs
from symgrad.passes.forward import forward
from symgrad.passes.reverse import reverse
from symgrad.passes.simplify import simplify
from symgrad.rules import RULES, Value, building, ops


def by_symmetry(fwd: Graph, ks: list[int], wrt: list[int], kind: str) -> Graph:
    custom = _custom_rule(fwd)
    if custom is not None:  # (its derivative need not be one: J need not be symmetric)
        raise NotDifferentiableError(
            "reverse mode over a gradient through a loop takes the symmetry of second "
            "derivatives, which the custom derivative rule here need not have",
            custom.loc,
            "Differentiate the gradient in forward mode: symgrad.jacfwd(symgrad.grad(f)), or "
            "symgrad.jvp of it.",
        )
    every = sorted(set(wrt) | set(ks)) if kind == "value_and_grad" else wrt
    grads = reverse(fwd, every)
    simplify(grads, [grads.params[j] for j in every])
    graph = forward(grads.as_forward(), ks)  # (*gradients, *their tangents along the x_k)
    us = graph.params[len(graph.params) - len(ks) :]
    values, tangents = graph.outputs[: len(every)], graph.outputs[len(every) :]
    graph.outputs = [tangents[every.index(j)] for j in wrt]
    if kind == "vjp":
        for u, k in zip(us, ks):
            graph[u].name = f"{graph[graph.params[k]].name}_bar_bar"
        return graph
    (k,), (u,) = ks, us  # (grad, value_and_grad: of one gradient, a scalar)
    x = graph.params[k]
    if kind == "value_and_grad":  # the gradient's value, ∂f/∂x_k, first
        graph.outputs.insert(0, values[every.index(k)])
    with building(graph, graph[x].loc, order=graph[x].order):  # checked first
        graph.checks.append(ops.check_scalar(Value(x)).id)
    graph.replace_uses(u, graph.const(1.0))
    graph.remove([u])
    graph.params.pop()
    return graph


def _custom_rule(graph: Graph):
    """A node of graph (or of the graphs its nodes hold) applying a user's custom derivative
    rule (`custom_jvp`, `custom_vjp`), or None."""
    for node in graph.nodes():
        if node.op in RULES and RULES[node.op].custom:
            return node
        for sub in subgraphs(node):
            found = _custom_rule(sub)
            if found is not None:
                return found
    return None
