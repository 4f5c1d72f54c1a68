"""Memory facts about graph values: which uses read only a shape and dtype, which ops make arrays.

Emitted code may update an array in place (`symgrad.emit.inplace`) and a loop need not tape a
value its backward pass does not read (`symgrad.passes.tape`). Both ask the same questions, and
this module answers them from the rule table's facts, conservatively (an op whose entry says
nothing may return, or keep, any of its inputs):

- `meta_use(node, position)`: the node reads only the shape, dtype and type of input `position`
  (`Rule.shape_reads`: `fit`'s target, `shape`, `zeros_like`, `index_add`'s array, ...). An
  update in place changes none of these, so such a read may come after it, and it needs no
  taped value.
- `fresh(op)`: op's result is always a new array (or a new number) sharing memory with none of
  its inputs (`Rule.fresh`): arithmetic, reductions, `np.zeros`, `x.copy()`, ...
- `value_read(graph, nid)`: whether some use of nid reads its value, not only its shape
  (`reads_value(graph, node, k)`, one use): a use outside `meta_use`; an output of the graph; a
  structured node whose sub-graph param reads it (`schema(node).sub_params()`, recursively; an
  input no param stands for, a loop's bounds, a branch's condition, a tape, is read); an op
  whose result's shape and dtype do not depend on that input's value (`Rule.value_feeds`:
  arithmetic, `a[i]`'s array, a reduction, a transpose) when its own value is read
  (`np.shape(out[0])` reads only out's shape).
"""

from __future__ import annotations

from symgrad.ir import Graph
from symgrad.ir.structured import schema
from symgrad.rules import RULES


def meta_use(node, position: int) -> bool:
    rule = RULES.get(node.op)
    return rule is not None and position in rule.shape_reads


def fresh(op: str) -> bool:
    """Whether op's result is always a new array or number (`Rule.fresh`)."""
    rule = RULES.get(op)
    return rule is not None and rule.fresh


def value_read(graph: Graph, nid: int, memo: dict | None = None) -> bool:
    memo = {} if memo is None else memo
    if nid not in memo:
        memo[nid] = nid in graph.outputs or nid in graph.checks
        for u in sorted(set(graph.users(nid))):
            user = graph[u]
            for k, i in enumerate(user.inputs):
                if i == nid and not memo[nid]:
                    memo[nid] = reads_value(graph, user, k, memo)
    return memo[nid]


def reads_value(graph: Graph, node, k: int, memo: dict | None = None) -> bool:
    """Whether node reads the value of its input k, not only its shape and dtype."""
    if meta_use(node, k):
        return False
    if node.op == "item":
        return True
    view = schema(node)
    mapped = [(sub, q) for i, sub, q in view.sub_params() if i == k] if view else []
    if mapped:
        return any(value_read(sub, q) for sub, q in mapped)
    rule = RULES.get(node.op)
    if rule is not None and rule.feeds_value(k):
        return value_read(graph, node.id, memo)  # read for the shape of node alone, or more
    return True
