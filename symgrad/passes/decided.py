"""Branches a specialisation decides: a `cond` or `cond_vjp` whose condition became a constant
(`isinstance(w, float)`, `x.ndim == 2`, a check of shapes, known once the call's types are) is
the branch taken, its nodes copied into the graph in the node's place.

Contract: `decided(rw, node)` (a simplifier's rewrite of a structured node, as
`symgrad.passes.vectorise.vectorised`) returns {each `item` of node: the value it is}, or None
where the condition is not a constant. The copies keep their fields (name, flags, the cotangent
or tangent they are, mapped to the copies), their Avals inferred from the operands', are listed
where the node was, and the branch's checks become the graph's.
"""

from __future__ import annotations

import copy

import numpy as np

from symgrad.ir.structured import Cond
from symgrad.rules import RULES, Value
from symgrad.rules.build import add_node

_MAPPED = ("cot_of", "vjp_of", "tan_of")  # fields naming another node of the same graph


def decided(rw, node) -> dict[int, int] | None:
    if node.op not in ("cond", "cond_vjp"):
        return None
    g = rw.g
    pred = g[node.inputs[0]]
    if pred.op != "const" or type(pred.attrs["value"]) not in (bool, np.bool_):
        return None
    view = Cond(node)
    taken = 0 if pred.attrs["value"] else 1
    if node.op == "cond_vjp" and not _float_operands(g, node, taken):
        return None
    branch = copy.deepcopy(view.branches[taken])
    operands = view.operand_params[taken]
    seeds = view.seed_params(branch)
    if len(branch.params) != len(operands) + len(seeds):
        return None
    ids = {branch.params[q]: node.inputs[1 + j] for q, j in enumerate(operands)}
    ids.update({p: node.inputs[i] for p, i in zip(seeds, view.seed_inputs)})
    for n in branch.nodes():
        if n.op == "param":
            continue
        fields = {f: ids.get(getattr(n, f)) for f in _MAPPED}
        new = g.add(
            n.op,
            [ids[i] for i in n.inputs],
            n.attrs,
            n.loc,
            name=n.name,
            backward=n.backward,
            tangent=n.tangent,
            order=node.order,
            **fields,
        )
        ids[n.id] = new
        rw.register(new)  # (its Aval of the operands', now known; a float's, a float)
    g.checks += [ids[c] for c in branch.checks]
    items = {u: g[u].attrs["index"] for u in g.users(node.id) if g[u].op == "item"}
    if node.op == "cond":
        return {u: ids[branch.outputs[r]] for u, r in items.items()}
    wrt, outs = node.attrs["wrt"][taken], node.attrs["outs"]  # (a cotangent per active
    return {u: _cotangent(rw, node, ids, branch, wrt, outs, r) for u, r in items.items()}


def _float_operands(g, node, taken: int) -> bool:
    """Whether the operands a `cond_vjp`'s taken branch gives no cotangent for are floats (their
    zeros: `zeros_like`; an int operand's are floats, which `symgrad.emit.control` writes)."""
    wrt = node.attrs["wrt"][taken]
    for r, (j, _) in enumerate(node.attrs["outs"]):
        aval = g[node.inputs[1 + j]].aval
        if r not in wrt and (aval is None or aval.dtype is None or aval.dtype.kind != "f"):
            return False
    return True


def _cotangent(rw, node, ids: dict, branch, wrt: tuple, outs: tuple, r: int) -> int:
    """A `cond_vjp`'s result r: the taken branch's output for it, or zeros of the operand
    where the branch gives none (as `symgrad.emit.control` writes it)."""
    if r in wrt:
        return ids[branch.outputs[wrt.index(r)]]
    operand = Value(node.inputs[1 + outs[r][0]])
    flags = {"backward": node.backward, "tangent": node.tangent, "order": node.order}
    zeros = add_node(rw.g, RULES["zeros_like"], (operand,), {}, node.loc, **flags)
    rw.register(zeros, True)
    return zeros
