"""Reverse mode: the VJP pass, building backward nodes from the rule table's templates.

Contract: `reverse(graph, wrt, seed=...)` returns a new graph holding the forward nodes and, after
them, the backward functions applied in reverse order. Cotangents are accumulated per value
(contributions summed), summed back over broadcast axes where a rule broadcasts (unless shape
classes prove no broadcast happened), and finished by `fit` to each argument's shape and dtype.
The seed is the constant 1.0 (`grad`: a scalar output), a new last param `<out>_bar` (`vjp`), or
one such param per output (`seed="params"`: a loop body's VJP). Loops are differentiated by
`symgrad.passes.control`. Outputs: the value first when `with_value`, then one cotangent per entry
of `wrt`.
"""

from __future__ import annotations

import copy
import inspect

from symgrad.ir import Graph
from symgrad.passes.activity import active, diff_inputs
from symgrad.passes.control import as_cond, reverse_cond, reverse_loop
from symgrad.passes.shapes import SCALAR, shape_classes
from symgrad.rules import RULES, Value, building, ops, split_inputs

_TEMPLATE_PARAMS: dict[int, frozenset] = {}


def _template_params(template) -> frozenset:
    key = id(template)
    if key not in _TEMPLATE_PARAMS:
        _TEMPLATE_PARAMS[key] = frozenset(inspect.signature(template).parameters)
    return _TEMPLATE_PARAMS[key]


def _arguments(graph: Graph, nid: int) -> dict:
    """A node's parameters as templates see them: Values, lists of Values, static attrs."""
    node = graph[nid]
    rule = RULES[node.op]
    args = {
        name: [Value(i) for i in ids] if isinstance(ids, list) else Value(ids)
        for name, ids in split_inputs(rule, node.inputs, node.attrs).items()
    }
    args.update({p.name: node.attrs[p.name] for p in rule.params if p.name in node.attrs})
    return args


def reverse(
    fwd: Graph, wrt: list[int], seed: str = "one", with_value: bool = False, keep: int = 0
) -> Graph:
    """The gradient graph of fwd's first output with respect to params `wrt`: its outputs are
    that output (`with_value`), the `keep` forward outputs after it as they are (a function's
    aux), then one gradient per param."""
    graph = copy.deepcopy(fwd)
    out = graph.outputs[0]
    params = [graph.params[k] for k in wrt]
    live = active(graph, params)
    keys = shape_classes(graph)
    cts: dict[int, list[int]] = {}
    if seed == "one":
        seed_id = graph.const(1.0)
        if keys[out] != SCALAR:  # not provably 0-d: the emitted code checks, once, at run time
            with building(graph, graph[out].loc, backward=True):
                graph.checks.append(ops.check_scalar(Value(out)).id)
        seeds = [(out, seed_id)]
    else:
        outs = graph.outputs if seed == "params" else [out]
        seeds = [(o, graph.param((graph[o].name or "out") + "_bar")) for o in outs]
    for o, s in seeds:
        if o in live:
            cts.setdefault(o, []).append(s)
    item_cts: dict[tuple[int, int], int] = {}  # (loop, index) -> cotangent of that output

    for node in reversed(list(graph.nodes())):
        nid = node.id
        if nid not in live or nid not in cts or node.op == "param":
            continue
        if node.op == "item":
            item_cts[node.inputs[0], node.attrs["index"]] = _total(graph, nid, cts[nid])
            cts.setdefault(node.inputs[0], [])
            continue
        if node.op == "cond_vjp":  # a gradient's branch, differentiated again
            as_cond(graph, node)
        if node.op in ("loop", "while", "cond"):
            structured = reverse_cond if node.op == "cond" else reverse_loop
            for i, contrib in structured(graph, node, item_cts, live, reverse):
                cts.setdefault(i, []).append(contrib)
            continue
        g = _total(graph, nid, cts[nid])
        rule = RULES[node.op]
        args = _arguments(graph, nid)
        for name, k, i in diff_inputs(graph, nid):
            if i not in live:
                continue
            template = rule.vjp[name]
            first = graph._next  # (the nodes the template makes: nid's own contribution)
            with building(graph, node.loc, backward=True):
                avail = dict(args, g=Value(g), ans=Value(nid))
                contrib = template(**{p: avail[p] for p in _template_params(template)})
                if k is not None:
                    contrib = contrib[k]
                if rule.broadcasts and keys.get(i) != keys.get(nid):
                    contrib = ops.unbroadcast(contrib, ops.shape(Value(i)))
            if contrib.id >= first:
                graph[contrib.id].vjp_of = nid
            cts.setdefault(i, []).append(contrib.id)

    outputs = ([out] if with_value else []) + graph.outputs[1 : 1 + keep]
    for p in params:
        with building(graph, graph[p].loc, backward=True):
            g = (
                Value(_total(graph, p, cts[p], name=False))
                if p in cts
                else ops.zeros_like(Value(p))
            )
            outputs.append(ops.fit(g, Value(p)).id)
        graph[outputs[-1]].cot_of = p
    graph.outputs = outputs
    return graph


def _total(graph: Graph, nid: int, contribs: list[int], name: bool = True) -> int:
    """The cotangent of nid: the sum of its contributions, named after nid."""
    total = contribs[0]
    with building(graph, graph[nid].loc, backward=True):
        for c in contribs[1:]:
            total = (Value(total) + Value(c)).id
    node = graph[total]
    if name and node.backward and node.cot_of is None and node.name is None:
        node.cot_of = nid
    return total
