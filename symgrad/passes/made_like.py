"""Arrays made from shapes alone, made like an argument: for code run on another library's arrays.

Contract: `made_like(graph, param)` rewrites each `np.zeros(shape)`, `np.ones(shape)` and
`np.empty(shape)` of a specialised graph whose shape and dtype the Avals know as
`np.zeros_like(x, shape=..., dtype=...)` (`ones_like`, `empty_like`) of the graph's param
`param`, an array of that library (`symgrad.foreign`): the array is then that library's, made
where its arrays live (CuPy's on the GPU: a host array of NumPy's does not add to a device one).
Arrays made so inside a loop body or a branch stay NumPy's (the body does not read `param`).
"""

from __future__ import annotations

from symgrad.ir import Graph
from symgrad.ir.avals import Aval

_LIKE = {"zeros": "zeros_like", "ones": "ones_like", "empty": "empty_like"}


def made_like(graph: Graph, param: int) -> Graph:
    for node in list(graph.nodes()):
        aval = node.aval
        if node.op not in _LIKE or node.attrs.get("kwargs") or len(node.inputs) != 1:
            continue
        if not isinstance(aval, Aval) or not aval.known:
            continue
        kwargs = (("shape", tuple(aval.shape)), ("dtype", aval.dtype.name))
        like = graph.add(
            _LIKE[node.op],
            (param,),
            {"n_args": 1, "kwargs": kwargs},
            node.loc,
            name=node.name,
            backward=node.backward,
            tangent=node.tangent,
            aval=aval,
        )
        graph.set_order(like, node.order)
        graph.replace_uses(node.id, like)
        graph.remove([node.id])
    return graph
