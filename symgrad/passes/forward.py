"""Forward mode: the JVP pass, computing tangents alongside the primal from the rule table.

Contract: `forward(graph, wrt)` returns a new graph with one more param per entry of `wrt`, the
tangent `<x>_dot` of that argument (after all the function's params), and the outputs `(*values,
*their tangents)`: `(out, out_dot)` for a function of one output, and for a gradient with several
outputs (forward over reverse) one tangent per output. Walking the forward nodes in order, each
active node (activity analysis, as in reverse mode) gets a tangent: the sum of its rule's JVP
templates applied to the tangents of its active inputs (`LINEAR`: the rule itself applied to the
tangent). Tangent nodes take the place of the node they differentiate, so each tangent line is
emitted right after its primal line. A tangent may keep a smaller shape that broadcasts to its
value's (the tangent of `x + b` is just `x_dot`): elementwise rules broadcast it naturally, any
other rule gets it broadcast to the value's shape first, and so does the operand of a loop or
branch (a sub-graph's tangent params have their params' shapes, as the function's own tangent
arguments do, and the shape classes of the sub-graph rely on it); the output's tangent is finished
by `fit` to the output's shape and dtype (zeros where the output does not depend on `wrt`).
"""

from __future__ import annotations

import copy

from symgrad.ir import Graph
from symgrad.passes.activity import active, diff_inputs
from symgrad.passes.control_forward import forward_structured
from symgrad.passes.reverse import _arguments, _template_params
from symgrad.passes.shapes import shape_classes, shape_key
from symgrad.rules import RULES, Value, building, ops
from symgrad.rules.build import add_bound
from symgrad.rules.table import LINEAR

_STRUCTURED = ("loop", "while", "cond", "loop_vjp", "cond_vjp")


def forward(fwd: Graph, wrt: list[int], body: bool = False) -> Graph:
    """See the module docstring. A loop or branch `body` gets the tangent of every output,
    after the outputs: `(*outputs, *their tangents)`."""
    graph = copy.deepcopy(fwd)
    params = [graph.params[k] for k in wrt]
    live = active(graph, params, kind="jvp")
    keys = shape_classes(graph)
    tangents: dict[int, int] = {}
    for p in params:
        tangents[p] = graph.param(graph[p].name + "_dot", graph[p].loc)
        graph[tangents[p]].tan_of = p
        graph.set_order(tangents[p], graph[p].order)  # listed beside its argument, not last
        keys[tangents[p]] = keys[p]  # a tangent argument has its argument's shape
    if not body and len(graph.outputs) == 1:
        out = graph.outputs[0]
        if graph[out].name is None and graph[out].cot_of is None and graph[out].op != "const":
            graph[out].name = "out"  # so that its tangent is `out_dot`
    full: dict[int, int] = {}  # tangents broadcast to their value's shape, made once

    def tangent_of(i: int, exact: bool) -> Value:
        """The tangent of input i; with `exact`, of exactly i's shape."""
        t = tangents[i]
        if not exact or keys[t] == keys[i]:
            return Value(t)
        if i not in full:
            with building(graph, graph[i].loc, tangent=True, order=graph[t].order):
                full[i] = ops.broadcast_to(Value(t), ops.shape(Value(i))).id
            _key_new(graph, keys)
        return Value(full[i])

    def operand_tangent(i: int) -> int:
        """The tangent of a loop's or branch's operand i (which has one), of exactly i's shape:
        its sub-graph's tangent param is taken to have the shape of the param it is beside."""
        return tangent_of(i, exact=True).id

    for node in list(graph.nodes()):
        nid = node.id
        if nid not in live or node.op in ("param", "item"):
            continue  # an item's tangent comes with its loop's or cond's (new) node
        if node.op in _STRUCTURED:  # their items' tangents, from one new node
            new = forward_structured(graph, node, tangents, live, forward, operand_tangent)
            tangents.update(new)
            _key_new(graph, keys)
            continue
        rule = RULES[node.op]
        exact = rule.shape != "elementwise"
        args = _arguments(graph, nid)
        ins: dict[str, Value | list | None] = {}  # the tangent of each input (None: zero)
        for name, k, i in diff_inputs(graph, nid, kind="jvp"):
            t = tangent_of(i, exact) if i in live else None
            if k is None:
                ins[name] = t
            else:  # a list of arrays: a list of tangents
                ins.setdefault(name, []).append(t)
        contribs = []
        if rule.jvp_joint is not None and sum(t is not None for t in ins.values()) > 1:
            with building(graph, node.loc, tangent=True, order=node.order):
                avail = dict(args, t=ins, ans=Value(nid))
                template = rule.jvp_joint
                contribs.append(template(**{p: avail[p] for p in _template_params(template)}).id)
            ins = {}  # the joint template gave the whole tangent
        for name, t in ins.items():
            if t is None or isinstance(t, list) and all(ti is None for ti in t):
                continue
            with building(graph, node.loc, tangent=True, order=node.order):
                template = rule.jvp[name]
                if template is LINEAR:
                    if isinstance(t, list):  # jointly linear in a list: zeros for the inactive
                        t = [
                            ops.zeros_like(x) if ti is None else ti for ti, x in zip(t, args[name])
                        ]
                    contrib = add_bound(
                        graph,
                        rule,
                        dict(args, **{name: t}),
                        node.loc,
                        tangent=True,
                        order=node.order,
                    )
                else:
                    avail = dict(args, t=t, ans=Value(nid))
                    contrib = template(**{p: avail[p] for p in _template_params(template)}).id
            contribs.append(contrib)
        if not contribs:  # its active inputs have no tangent after all (a branch's flag)
            live.discard(nid)
            continue
        with building(graph, node.loc, tangent=True, order=node.order):
            total = contribs[0]
            for c in contribs[1:]:
                total = (Value(total) + Value(c)).id
        _key_new(graph, keys)
        if exact:  # made from tangents of their values' shapes: the shape of the value
            keys[total] = keys[nid]
        tangents[nid] = total
        tnode = graph[total]
        unnamed = tnode.tan_of is None and tnode.name is None
        if nid not in graph.outputs and tnode.tangent and unnamed:
            tnode.tan_of = nid  # named `<name>_dot` (the output's is the finished one below)

    finished = []
    for o in graph.outputs:  # an output may be a replaced item
        with building(graph, graph[o].loc, tangent=True, order=graph[o].order):
            t = Value(tangents[o]) if o in tangents else ops.zeros_like(Value(o))
            finished.append(ops.fit(t, Value(o)).id)
        if body:  # (the tangent of what it gives out: zeros for a value of integers)
            if graph[finished[-1]].tan_of is None:
                graph[finished[-1]].tan_of = o
            continue
        if graph[o].op == "param":  # f(x) = x: x_dot is taken by the argument
            single = len(graph.outputs) == 1
            graph[finished[-1]].name = "out_dot" if single else f"{graph[o].name}_out_dot"
        else:
            graph[finished[-1]].tan_of = o
    graph.outputs = [*graph.outputs, *finished]
    return graph


def _key_new(graph: Graph, keys: dict) -> None:
    """Shape classes for the nodes added since `keys` was last brought up to date."""
    for nid in sorted(set(graph.ids()) - set(keys)):
        keys[nid] = shape_key(graph, graph[nid], keys)
