"""Memory facts about graph values: which uses read only a shape and dtype, which ops make arrays.

Emitted code may update an array in place (`symgrad.emit.inplace`) and a loop need not tape a
value its backward pass does not read (`symgrad.passes.tape`). Both ask the same questions, and
this module answers them from the rule table's names alone, conservatively (an op it does not
know may return, or keep, any of its inputs):

- `meta_use(node, position)`: the node reads only the shape, dtype and type of input `position`
  (`fit`'s target, `shape`, `zeros_like`, `index_add`'s array, ...). An update in place changes
  none of these, so such a read may come after it, and it needs no taped value.
- `FRESH`: ops whose result is always a new array (or a new number) sharing memory with none of
  their inputs: arithmetic, reductions, `np.zeros`, `x.copy()`, ...
- `sub_params(node)`: for a structured node, the params of its sub-graphs that each input
  becomes (a loop's body param for a carried or captured value, a branch's param for an
  operand, a backward loop's param for its running cotangents, captured values and rows).
- `value_read(graph, nid)`: whether some use of nid reads its value, not only its shape
  (`reads_value(graph, node, k)`, one use): a use outside `meta_use`; an output of the graph; a
  structured node whose sub-graph param reads it (recursively; an input no param stands for, a
  loop's bounds, a branch's condition, a tape, is read); an op whose result's shape and dtype
  follow from that input's alone (arithmetic, `a[i]`'s array, a reduction, a transpose) when its
  own value is read (`np.shape(out[0])` reads only out's shape).
"""

from __future__ import annotations

from symgrad.ir import Graph

_META = {
    "fit": (1,),
    "shape": (0,),
    "ndim": (0,),
    "size": (0,),
    "len": (0,),
    "dtype": (0,),
    "zeros_like": (0,),
    "ones_like": (0,),
    "empty_like": (0,),
    "full_like": (0,),
    "index_add": (0,),
}

_ARITHMETIC = """add subtract multiply divide power negative abs exp log log2 log10 log1p expm1
sqrt cbrt square reciprocal sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh arcsinh
maximum minimum where clip logaddexp"""
_COMPARISONS = """equal not_equal less less_equal greater greater_equal logical_and logical_or
logical_xor logical_not isfinite isinf isnan sign floor ceil trunc rint round heaviside"""
_MADE = """zeros ones zeros_like ones_like full full_like empty empty_like eye identity arange
linspace copy index_add setitem matmul dot inner outer concatenate stack sum mean prod max min
var std norm argmax argmin argsort shape ndim size len dtype shape_size broadcast_shapes"""
FRESH = frozenset((_ARITHMETIC + " " + _COMPARISONS + " " + _MADE).split())  # `setitem`: copying


def meta_use(node, position: int) -> bool:
    return position in _META.get(node.op, ())


def sub_params(node) -> list[tuple[int, Graph, int]]:
    """(input position, sub-graph, param of that sub-graph) for each input of a structured node
    that a sub-graph param stands for."""
    a, op = node.attrs, node.op
    if op in ("loop", "while"):
        first = 1 if op == "loop" else 0
        start = 3 if op == "loop" else 0
        graphs = [a["body"]] + ([a["cond"]] if "cond" in a else [])
        return [
            (start + j, g, g.params[first + j] if g is a["body"] else g.params[j])
            for g in graphs
            for j in range(len(node.inputs) - start)
            if (first + j if g is a["body"] else j) < len(g.params)
        ]
    if op == "loop_vjp":
        body, n_tape = a["body"], a["n_tape"]
        n_state, n_stacked = a["n_carried"], a["n_stacked"]
        m = len(node.inputs) - 1 - n_state - n_stacked
        out = [(1 + s, body, body.params[n_tape + m + s]) for s in range(n_state)]
        out += [
            (1 + n_state + r, body, body.params[n_tape + m + n_state + r]) for r in range(n_stacked)
        ]
        out += [(1 + n_state + n_stacked + c, body, body.params[n_tape + c]) for c in range(m)]
        return out
    if op in ("cond", "cond_vjp"):
        out = []
        for branch, ps in zip(a["branches"], a["params"]):
            out += [(1 + j, branch, branch.params[q]) for q, j in enumerate(ps)]
            if op == "cond_vjp":
                n = a["n_captured"]
                out += [
                    (1 + n + s, branch, branch.params[len(ps) + s]) for s in range(a["n_seeds"])
                ]
        return out
    return []


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
    mapped = [(sub, q) for position, sub, q in sub_params(node) if position == k]
    if mapped:
        return any(value_read(sub, q) for sub, q in mapped)
    if k in _SHAPE_FOLLOWS.get(node.op, ()) or node.op in _ELEMENTWISE:
        return value_read(graph, node.id, memo)  # read for the shape of node alone, or more
    return True


_ELEMENTWISE = frozenset((_ARITHMETIC + " " + _COMPARISONS + " matmul dot inner outer").split())
_SHAPE_FOLLOWS = dict.fromkeys(  # the result's shape and dtype follow input 0's, not its values
    """getitem sum mean prod max min var std norm copy transpose swapaxes moveaxis expand_dims
    squeeze reshape ravel flip broadcast_to unbroadcast fit astype""".split(),
    (0,),
)
