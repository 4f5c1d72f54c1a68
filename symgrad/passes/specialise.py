"""Specialisation: what the abstract values decide, resolved in the graph.

Contract: with every node's `aval` inferred (`symgrad.passes.avals`) for one call signature,
`rewrite(rewriter, node)` gives an equivalent node that does no work the Avals decide, or None:
a value that depends only on shapes (`np.shape(x)`, `np.broadcast_shapes`, a size) becomes a
constant; `unbroadcast(g, shape)` becomes g or the sums it does (`np.sum(g, axis=0)`);
`broadcast_to(v, shape)` of a v of that shape becomes v; a sum is pushed below a negation or
into an einsum, a scaling of a product onto its smallest operand (`symgrad.passes.pushdown`);
a read of an update's result at a place it did not write reads the array before it; a read
of one row of `np.stack` is the array stacked there; a read of a seed an update just wrote is
the seed (`symgrad.passes.disjoint`); a reshape to the shape its array has (or had before a
reshape, `expand_dims` or `squeeze`) is that array, and one of a sum that kept its axes to the
shape without them is the sum without keepdims;
`t + index_add(x, v, i)` of one shape and dtype becomes `t[i] = t[i] + v` for a basic index
(one buffer for the cotangents of several reads of x); `np.sum(a * b)` of two vectors in the
backward pass is `a @ b`; a lone
`index_add(x, v, i)` of a basic index into a small array is zeros like x with `[i] = v`;
`np.asarray` of an array is the array itself; an index's runtime parts known statically are
written into it (`g[t:t + n]` of a known t and n: `g[3:6]`); work on zeros is dropped
(`symgrad.passes.zeros`); `fit(g, x)` of a
g broadcast against x sums it first (`fit(np.sum(g, axis=0), x)`), and is g itself where g has
x's Aval (but for a function's outputs: `own_outputs`), or, in a loop body of a function whose
floats are all float64, where both are 0-d float64s: a Python float, a NumPy float64 and a 0-d
array of one give the same values and dtypes in every operation there, so a running cotangent
of `loss = 0.0; loss = loss + ...` need not take its type per step (the function's outputs are
fitted still); a primitive whose rule has a `specialise` hook (a helper dispatching on ranks)
becomes the template it picks.
`np.zeros_like(x)` of a Python float x is 0.0, as x's tangent starts in forward mode: a 0-d
array would take another type on a loop's first step (`loss_dot = loss_dot + ...`), and its
dtype would not be weak where x's is; so is that of any 0-d float64 in a loop body of a
float64 function (the zero cotangent of a number a backward step does not read), and of a
float64 number (a NumPy one, or one that may be either) anywhere in one (the tangent or
cotangent a loop carries in for a number it may replace with a Python float: a compiled loop's
carried value takes one type).
`fitted(value, x)` says when a gradient needs no `_fit` for its argument x: an ndarray already
of x's shape and dtype, a NumPy number of x's dtype for a NumPy number (a jvp's tangent of a
sum), or a Python float for a Python float. Each rewrite is exact for the
signature the Avals describe, and the emitted module is used only for that signature.
"""

from __future__ import annotations

import inspect

import numpy as np

from symgrad.ir.avals import ARRAY, LARGE, PYTHON, SCALAR, Aval, broadcast, nbytes, one_int, reduced
from symgrad.ir.index import folded
from symgrad.passes.correlations import correlated
from symgrad.passes.disjoint import read_joined, read_past, read_written
from symgrad.passes.pushdown import einsum_product, pushed_scale, pushed_sum
from symgrad.passes.zeros import rewrite as on_zeros
from symgrad.rules import RULES
from symgrad.rules.build import Value, building, ops, split_inputs
from symgrad.rules.shapes import summed_shape


def rewrite(rw, node) -> int | None:
    g, op, aval = rw.g, node.op, node.aval
    rule = RULES.get(op)
    if rule is None or rule.structured:
        return None
    if aval is not None and aval.value is not None:  # known statically: a shape, a length
        return rw.const(node, aval.value)
    zero = on_zeros(rw, node)  # work on structural zeros, dropped
    if zero is not None:
        return zero
    if op in ("sum", "multiply"):
        pushed = pushed_sum(rw, node) if op == "sum" else pushed_scale(rw, node)
        if pushed is not None:
            return pushed
    if op == "einsum":
        product = einsum_product(rw, node)
        if product is not None:
            return product
    if op in ("sum", "matmul", "window_sums"):  # products of a vector's sliding windows
        found = correlated(rw, node)
        if found is not None:
            return found
    if op in ("getitem", "setitem", "index_add"):
        static = _static_index(rw, node)
        if static is not None:
            return static
    if op == "getitem":
        past = read_past(rw, node)
        if past is not None:
            return past
        for read in (read_joined, read_written):
            found = read(rw, node)
            if found is not None:
                return found
    if op == "reshape" and aval is not None and aval.known:  # back to the shape it had
        inner = g[node.inputs[0]]
        source = inner.inputs[0] if inner.op in ("reshape", "expand_dims", "squeeze") else None
        for x in (inner.id, source):
            if x is not None and g[x].aval is not None and g[x].aval == aval:
                return x
        dropped = _kept_dims_dropped(rw, node, inner)
        if dropped is not None:
            return dropped
    if op in ("unbroadcast", "broadcast_to"):
        v = g[node.inputs[0]].aval
        if aval is not None and v is not None and v.shape == aval.shape and aval.known:
            return node.inputs[0]
        if op == "unbroadcast" and aval is not None and aval.known and v is not None and v.known:
            return _sums(rw, node, v.shape, aval.shape)
    if op == "fit":  # the sums it does, where they are known, so that nothing is left to fit
        v, x = (g[i].aval for i in node.inputs)
        if fitted(v, x) and (rw.body or node.id not in g.outputs):  # (own_outputs sees those)
            return node.inputs[0]
        if rw.body and rw.float64 and _number64(v) and _number64(x):  # a 0-d running cotangent
            return node.inputs[0]  # (see the docstring)
        if v is not None and x is not None and v.known and fitted(Aval(x.shape, v.dtype, ARRAY), x):
            if v.shape != x.shape and summed_shape(v.shape, x.shape) == x.shape:
                shape = rw.const(node, x.shape)
                total = rw.new(node, "unbroadcast", (node.inputs[0], shape))
                return rw.new(node, "fit", (total, node.inputs[1]))
    if rule.shape == "elementwise" and aval is not None and aval.known:
        ins = list(node.inputs)  # op(broadcast_to(v, S), y) of shape S: op(v, y) broadcasts v
        for k, i in enumerate(ins):
            b = g[i]
            if b.op == "broadcast_to" and g[b.inputs[0]].aval is not None:
                rest = [g[j].aval for j in ins[:k] + ins[k + 1 :]]
                shapes = [g[b.inputs[0]].aval.shape] + [a.shape if a else None for a in rest]
                if broadcast(shapes) == aval.shape:
                    ins[k] = b.inputs[0]
        if ins != list(node.inputs):
            return rw.new(node, op, tuple(ins), dict(node.attrs))
    if op == "add" and aval is not None and aval.known:
        for k in (0, 1):  # t + index_add(x, v, i) of one shape and dtype: t[i] = t[i] + v
            acc, scatter = (g[i] for i in (node.inputs[k], node.inputs[1 - k]))
            if scatter.op == "index_add" and acc.aval == aval == scatter.aval:
                x, v, *parts = scatter.inputs
                if not all(one_int(g[p].aval) for p in parts):  # no repeats: basic indexing
                    continue
                read = rw.new(node, "getitem", (acc.id, *parts), _index_attrs(scatter))
                total = rw.new(node, "add", (read, v))
                return rw.new(node, "setitem", (acc.id, total, *parts), _index_attrs(scatter))
    if op == "index_add" and not rw.body and _basic_scatter(g, node):  # zeros, then x[i] = v
        x, v, *parts = node.inputs
        zeros = _build(rw, node, lambda x: ops.zeros_like(x), {"x": Value(x)})
        return rw.new(node, "setitem", (zeros, v, *parts), _index_attrs(node))
    if op == "zeros_like" and len(node.inputs) == 1 and not node.attrs.get("kwargs"):
        x = g[node.inputs[0]].aval
        if _python_float(x) or rw.float64 and _number64(x) and (rw.body or x.kind != ARRAY):
            return rw.const(node, 0.0)
    if op == "asarray" and node.attrs.get("dtype") is None and not node.attrs.get("kwargs"):
        if _is_array(g[node.inputs[0]].aval):  # np.asarray of an array: the array itself
            return node.inputs[0]
    if op == "sum" and node.backward and _inner_product(g, node):  # np.sum(a * b): a @ b
        return rw.new(node, "matmul", g[node.inputs[0]].inputs)
    return hooked(rw, node)


def hooked(rw, node) -> int | None:
    """The template a rule's `specialise` hook picks for the node's input Avals, built; None
    where the rule has no hook or the hook picks none. (An untyped graph, simplified for the
    shape-polymorphic module, has the Avals that no argument decides: its constants' and its
    loops' indices'.)"""
    rule = RULES.get(node.op)
    if rule is None or rule.specialise is None:
        return None
    grouped = split_inputs(rule, node.inputs, node.attrs)
    template = rule.specialise({k: _each(i, lambda j: rw.g[j].aval) for k, i in grouped.items()})
    if template is None:
        return None
    args = {k: _each(i, Value) for k, i in grouped.items()}
    statics = inspect.signature(template).parameters.keys() - args.keys()  # (those it takes)
    return _build(rw, node, template, {**args, **{k: node.attrs[k] for k in statics}})


def _each(ids, f):
    """f of an input, or the list of f of a sequence parameter's inputs."""
    return [f(j) for j in ids] if type(ids) is list else f(ids)


def _kept_dims_dropped(rw, node, inner) -> int | None:
    """`np.reshape(np.sum(x, axis, keepdims=True), s)` (or of its negation), s the shape of the
    sum without the kept axes, read by the reshape alone: `np.sum(x, axis)`."""
    g, negated = rw.g, inner.op == "negative"
    total = g[inner.inputs[0]] if negated else inner
    if total.op != "sum" or set(total.attrs) != {"axis", "keepdims"} or not total.attrs["keepdims"]:
        return None
    if not g.read_alone_by(inner.id, node.id):
        return None
    if negated and not g.read_alone_by(total.id, inner.id):
        return None
    x = g[total.inputs[0]].aval
    axis = total.attrs.get("axis")
    if x is None or x.shape is None or reduced(x.shape, axis, False) != node.aval.shape:
        return None
    out = rw.new(node, "sum", total.inputs, {"axis": axis, "keepdims": False})
    return rw.new(node, "negative", (out,)) if negated else out


def _python_float(aval: Aval | None) -> bool:
    return aval is not None and aval.kind == PYTHON and aval.dtype == np.float64


def _basic_scatter(g, node) -> bool:
    """Whether `index_add(x, v, i)` is zeros like x with v at i, written once: x an array of
    the result's dtype, smaller than `LARGE` (its zeros would live beside v's temporaries), i a
    basic index (ints and slices: no element repeats), and no sum reading it that may take it
    as the buffer of a second read (`t + index_add(...)`); in a loop body a sum of such
    scatters is added in place instead (`symgrad.emit.control`)."""
    x, v, *parts = node.inputs
    xa = g[x].aval
    if node.aval is None or xa is None or xa.kind != ARRAY or node.aval.dtype != xa.dtype:
        return False
    if (nbytes(xa) or 0) >= LARGE:  # `_index_add` makes its zeros after v's temporaries die
        return False
    if any(g[u].op in ("add", "subtract") for u in g.users(node.id)):
        return False
    return all(one_int(g[p].aval) for p in parts)


def _inner_product(g, node) -> bool:
    """Whether a `sum` over every axis is of the product of two float vectors of one shape and
    dtype that nothing else reads (one BLAS dot instead of a product and a sum)."""
    prod = g[node.inputs[0]]
    if prod.op != "multiply" or not g.read_alone_by(prod.id, node.id):
        return False
    if node.attrs.get("axis") not in (None, 0, (0,)) or node.attrs.get("keepdims"):
        return False
    if set(node.attrs) - {"axis", "keepdims"}:
        return False
    a, b = (g[i].aval for i in prod.inputs)
    return (
        a is not None
        and a == b
        and a.kind == ARRAY
        and a.rank == 1
        and a.known
        and a.dtype.kind == "f"
    )


def _number64(aval: Aval | None) -> bool:
    return aval is not None and aval.shape == () and aval.dtype == np.float64


def _is_array(aval: Aval | None) -> bool:
    return aval is not None and aval.kind == ARRAY


def _static_index(rw, node) -> int | None:
    """The same indexing with the runtime parts of the index that are Python ints known
    statically (a slice's bounds from shapes: `g[t:t + n]`) written into its static index."""
    g = rw.g
    n_parts = node.attrs["n_parts"]
    first = len(node.inputs) - n_parts
    parts = node.inputs[first:]
    known = {k: g.const_value(i) for k, i in enumerate(parts) if _static_int(g, i)}
    if not known:
        return None
    index, left = folded(node.attrs["index"], n_parts, known)
    attrs = {**node.attrs, "n_parts": len(left), "index": index}
    return rw.new(node, node.op, node.inputs[:first] + tuple(parts[k] for k in left), attrs)


def _static_int(g, nid: int) -> bool:
    return g.is_const(nid) and type(g.const_value(nid)) is int


def _index_attrs(node) -> dict:
    return {"n_parts": node.attrs["n_parts"], "index": node.attrs["index"]}


def _sums(rw, node, have: tuple, want: tuple) -> int | None:
    """g of shape `have` summed to shape `want` over the axes it was broadcast along."""
    extra = len(have) - len(want)
    if extra < 0:
        return None
    out = node.inputs[0]
    if extra:
        axis = 0 if extra == 1 else tuple(range(extra))
        out = rw.new(node, "sum", (out,), {"axis": axis, "keepdims": False})
    ones = tuple(k for k, n in enumerate(want) if n == 1 and have[extra + k] != 1)
    if ones:
        axis = ones[0] if len(ones) == 1 else ones
        out = rw.new(node, "sum", (out,), {"axis": axis, "keepdims": True})
    return out


def _build(rw, node, template, args: dict) -> int:
    """The template's value, built beside `node` (its loc and flags), every new node typed."""
    g = rw.g
    first = g._next
    with building(g, node.loc, backward=node.backward, tangent=node.tangent):
        out = template(**args).id
    for nid in range(first, g._next):
        if nid in g:
            g[nid].order = node.order
            rw.register(nid, node.id in rw.floats)
    return out


def fitted(value: Aval | None, x: Aval | None) -> bool:
    """Whether a gradient of Aval `value` is already what `_fit(value, x)` would return: an
    ndarray of x's shape and dtype, a NumPy number of x's dtype for a NumPy number, or a
    Python float for a Python float."""
    if value is None or x is None or not x.known:
        return False
    if value.kind == x.kind == PYTHON:
        return value.dtype == x.dtype == np.float64
    if value.kind == x.kind == SCALAR:
        return value.dtype == x.dtype is not None
    return value.kind == x.kind == ARRAY and value.shape == x.shape and value.dtype == x.dtype
