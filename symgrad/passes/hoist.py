"""Products hoisted out of loops: a step's `A @ X[i]`, of A and X the same on every step and i
the loop's index, is row i of one product `X @ A.T` made before the loop.

Contract: `hoist_products(rw, node)` rewrites in place a `for` loop node of the typed graph that
the rewriter `rw` (`symgrad.passes.simplify`) rewrites, its body simplified and typed. A body
node `matmul(A, X[i])` or `matmul(X[i], B)` becomes `P[i]`, for a P made once before the loop
(`X @ A.T`, `X @ A` for a vector A, or `X @ B`) and captured by it, where:

- X and A (or B) are values the loop captures, X a matrix, A (or B) a matrix or a vector, all
  of known shapes and float dtypes; X is read at the index alone (`X[i]`, a row);
- the range's bounds are static, of two steps or more, and the steps visit at least half of X's
  rows (so the product computes at most twice what the steps would; its rows for the other
  indices, which the loop never reads, are computed and not used).

One matrix product (BLAS) takes the place of a matrix-vector product per step: an RNN's input
projections `U @ xs[t]`. Each row is the same dot products as the step's, summed by BLAS in
its own order (the NumPy results agree to rounding). Returns whether it hoisted a product.
"""

from __future__ import annotations

from symgrad.ir.avals import ARRAY
from symgrad.ir.index import Dyn
from symgrad.ir.structured import Loop
from symgrad.passes.avals import node_aval
from symgrad.passes.avals_control import static_steps
from symgrad.passes.dce import dce

_ROW = {"n_parts": 1, "index": (Dyn(0),)}  # x[i]


def hoist_products(rw, node) -> bool:
    if node.op != "loop":
        return False
    view = Loop(node)
    g, body = rw.g, view.body
    steps = static_steps([g[i].aval for i in node.inputs[:3]])
    if steps is None or steps < 2:
        return False
    captured = dict(zip(view.captured_params, view.captured_inputs))
    hoisted = False
    for m in list(body.nodes()):
        if m.op != "matmul":
            continue
        product = _product(g, body, m, view.index_param, captured, steps)
        if product is None:
            continue
        x_param, other_param, left = product
        x, other = node.inputs[captured[x_param]], node.inputs[captured[other_param]]
        if left and len(g[other].aval.shape) == 2:  # A @ X[i] is row i of X @ A.T
            other = rw.new(node, "transpose", (other,), {"axes": None})
        whole = rw.new(node, "matmul", (x, other))
        rows = body.param(f"{body[x_param].name or 'x'}_product")
        body[rows].aval = g[whole].aval
        body[rows].attrs["owned"] = False
        row = body.add("getitem", (rows, view.index_param), dict(_ROW), m.loc, order=m.order)
        body[row].aval = node_aval(body, body[row])
        body.replace_uses(m.id, row)
        g.set_inputs(node.id, (*node.inputs, whole))
        hoisted = True
    if hoisted:
        dce(body)
    return hoisted


def _product(g, body, m, index: int, captured: dict, steps: int) -> tuple | None:
    """(X's param, A's or B's param, whether X[i] is the right operand) of a matmul that
    hoists, else None."""
    for side in (1, 0):
        read, other = body[m.inputs[side]], m.inputs[1 - side]
        if read.op != "getitem" or read.attrs != _ROW or read.inputs[1:] != (index,):
            continue
        x = read.inputs[0]
        if x not in captured or other not in captured:
            continue
        xa, oa = body[x].aval, body[other].aval
        if not (_floats(xa) and _floats(oa) and len(xa.shape) == 2 and len(oa.shape) in (1, 2)):
            continue
        if 2 * steps >= xa.shape[0]:
            return x, other, side == 1
    return None


def _floats(aval) -> bool:
    return aval is not None and aval.known and aval.kind == ARRAY and aval.dtype.kind == "f"
