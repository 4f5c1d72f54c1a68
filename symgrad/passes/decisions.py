"""Branch decisions: the conditions of `cond` nodes, taken once and replayed by the gradient.

A gradient runs a branch's VJP under the condition the forward pass took. Where the VJP sits
next to the forward code (a top-level `if`), it reads the forward's condition. Where it does
not, the decision must travel: a loop's backward pass recomputes each iteration from its tape,
and a branch's VJP recomputes the branch, `if`s nested in it included. So the forward code
records those decisions and the VJP reads them, instead of evaluating the condition again.

Contract:

- `find(graph)` lists the decisions taken in a graph (a loop body, a branch): one
  `(path, pred)` per `cond` node at any depth of nested branches (not inside nested loops, which
  replay their own) whose condition `pred` is computed there (not a param, which the VJP has
  already; a condition a branch reads from outside counts where it is computed). `path` is the
  `(cond id, branch)` steps from `graph` to the graph holding `pred`.
- `hoist(graph, path, pred)` makes the decision a value of `graph`: each cond on the path gets
  one more output, the condition from the branch the path takes and False from the other
  (its last `n_decisions` outputs are such decisions). It changes the forward code and returns
  the node holding the decision.
- `replay(graph, found, at, build)` differentiates a copy of `graph` in which each decision's
  condition is read from a new param (inserted at position `at`; a nested one is passed down as
  an operand of the conds on its path; the condition itself is removed where nothing else reads
  it, and nothing more): `build(copy, n)` (n: the number of such params) returns the VJP graph.
  Decisions the VJP does not read are dropped and the copy built again. Returns (the VJP graph, the
  decisions kept, in the order of their params).
"""

from __future__ import annotations

import copy
from typing import Callable

from symgrad.ir import Graph
from symgrad.passes.dce import dce

Decision = tuple[tuple[tuple[int, int], ...], int]  # ((cond id, branch), ...), condition node

NAME = "cond"  # what a recorded decision is called in the emitted code, unless it has a name


def find(graph: Graph) -> list[Decision]:
    return _find(graph)[0]


def _find(graph: Graph) -> tuple[list[Decision], set[int]]:
    """The decisions taken in graph, and its params read as conditions."""
    out: list[Decision] = []
    read: set[int] = set()

    def condition(pred: int) -> None:
        if graph[pred].op == "param":
            read.add(pred)
        elif graph[pred].op != "const" and ((), pred) not in out:
            out.append(((), pred))

    for node in graph.nodes():
        if node.op != "cond":
            continue
        condition(node.inputs[0])
        for b, branch in enumerate(node.attrs["branches"]):
            inner, params = _find(branch)
            out.extend((((node.id, b), *path), p) for path, p in inner)
            for q, j in zip(branch.params, node.attrs["params"][b]):
                if q in params:  # a condition computed here, decided in a nested branch
                    condition(node.inputs[1 + j])
    return out, read


def hoist(graph: Graph, path, pred: int) -> int:
    if not path:
        if graph[pred].name is None:
            graph[pred].name = NAME
        return pred
    (cid, b), rest = path[0], path[1:]
    cond = graph[cid]
    branches = cond.attrs["branches"]
    inner = hoist(branches[b], rest, pred)
    n = len(branches[b].outputs)
    index = next(  # recorded already (a gradient differentiated again)
        (
            k
            for k in range(n - cond.attrs.get("n_decisions", 0), n)
            if branches[b].outputs[k] == inner
        ),
        None,
    )
    if index is None:
        for k, branch in enumerate(branches):
            branch.outputs = [*branch.outputs, inner if k == b else branch.const(False)]
        cond.attrs["n_decisions"] = cond.attrs.get("n_decisions", 0) + 1  # its last outputs
        index = n
    for u in graph.users(cid):
        if graph[u].op == "item" and graph[u].attrs["index"] == index:
            return u
    return graph.add("item", (cid,), {"index": index}, cond.loc, name=NAME, order=cond.order)


def is_decision(graph: Graph, nid: int) -> bool:
    """Whether nid is a decision a cond records (one of its last `n_decisions` outputs): a
    boolean, which has neither tangent nor cotangent."""
    node = graph[nid]
    if node.op != "item" or graph[node.inputs[0]].op != "cond":
        return False
    cond = graph[node.inputs[0]]
    n = len(cond.attrs["branches"][0].outputs)
    return node.attrs["index"] >= n - cond.attrs.get("n_decisions", 0)


def replay(graph: Graph, found: list[Decision], at: int, build: Callable) -> tuple:
    kept = list(found)
    while True:
        variant = _replayed(graph, kept, at)
        out = build(variant, len(kept))
        dce(out)
        params = variant.params[at : at + len(kept)]
        read = [d for d, p in zip(kept, params) if is_read(out, p)]
        if len(read) == len(kept):
            return out, kept
        kept = read


def _replayed(graph: Graph, decisions: list[Decision], at: int) -> Graph:
    """A copy of graph whose decisions' conditions are new params, at position `at`."""
    g = copy.deepcopy(graph)
    new = []
    for path, pred in decisions:
        name = _name(graph, path, pred)
        where, p = g, g.param(name)
        new.append(p)
        for cid, b in path:  # pass the decision down as an operand of each cond on the path
            cond = where[cid]
            j = cond.attrs["n_operands"]
            where.set_inputs(cid, (*cond.inputs, p))
            cond.attrs["n_operands"] = j + 1
            branch = cond.attrs["branches"][b]
            params = list(cond.attrs["params"])
            params[b] = (*params[b], j)
            cond.attrs["params"] = tuple(params)
            where, p = branch, branch.param(name)
        where.replace_uses(pred, p)
        _drop_unread(where, pred)  # the condition, if nothing else reads it
    g.params = [*g.params[:at], *new, *[p for p in g.params[at:] if p not in new]]
    for position, p in enumerate(g.params):
        g[p].attrs["index"] = position
    return g


def _drop_unread(graph: Graph, nid: int) -> None:
    """Remove nid, and then each of its inputs, when nothing reads it any more. Nothing else
    goes: a later decision's path and condition stay, and so do the outputs of loops and
    branches that nothing reads (the VJP takes zero cotangents of their shapes)."""
    stack = [nid]
    while stack:
        n = stack.pop()
        node = graph[n] if n in graph else None
        if node is None or node.op == "param" or graph.users(n):
            continue
        if n in graph.outputs or n in graph.checks:
            continue
        graph.remove([n])
        stack.extend(set(node.inputs))


def _name(graph: Graph, path, pred: int) -> str:
    """A decision's name: its variable's at the top level (a flag's too), else `cond`."""
    return NAME if path else graph[pred].name or NAME


def is_read(graph: Graph, param: int) -> bool:
    """Whether the value of `param` is needed for graph's outputs: read by a node they need,
    other than as an operand of a branch that passes it to a param nothing reads."""
    needed = graph.ancestors_of(graph.outputs + graph.checks)
    for u in sorted(set(graph.users(param))):
        node = graph[u]
        if u not in needed:
            continue
        if node.op not in ("cond", "cond_vjp") or node.inputs[0] == param:
            return True
        positions = {j for j, i in enumerate(node.inputs[1:]) if i == param}
        for branch, ps in zip(node.attrs["branches"], node.attrs["params"]):
            if any(j in positions and is_read(branch, q) for q, j in zip(branch.params, ps)):
                return True
    return False
