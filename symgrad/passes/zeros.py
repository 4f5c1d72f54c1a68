"""Structural zeros: the work done on values known to be all zeros, dropped.

Contract. A value is zeros (`is_zeros`) where it is made so: `np.zeros`, `np.zeros_like` (a
rule whose `fill` is 0), or a Python 0 or 0.0. In a graph whose Avals are known (a
specialisation), `rewrite(rw, node)` (a `symgrad.passes.simplify` rewriter) gives an
equivalent node that does no work, or None:

- `np.zeros(shape)` of node's Aval (a float64 array) where every input of one group of its
  rule is zeros: the inputs it is linear in (`jvp` LINEAR: a slice of zeros, a stack of
  zeros, a product of matrices one of which is zeros, a part of zeros an update did not
  write: `symgrad.passes.disjoint.past`) each make a group, and `Rule.zeros` lists more (the
  factors of a product). A product (a group of `Rule.zeros`, or a linear input beside other
  differentiable ones: `zeros @ x`) counts in the backward pass alone: there a zero cotangent
  times a partial derivative that is not finite is zero, as JAX's symbolic zeros make it (an
  output the function does not read passes no gradient), where NumPy's arithmetic would give
  nan; in the forward pass `0.0 * x` and `np.zeros((2, 3)) @ x` stay as they are;
- `np.zeros(shape)` for a backward pass's cotangent (a float64 array) of a value of integers
  (`out[i] = x[i] * 10` into an int array truncates: near x, out is constant, and its
  cotangent passes nothing to x), for what such a value's VJP passes on (`Node.vjp_of`: where
  its cotangent is another's, `out.astype(float)`'s), and for a forward pass's tangent of
  either (of any dtype, the zeros float64: a tangent written into ints was truncated, or cast
  into them raised);
- x for `x + zeros`, `zeros + x` and `x - zeros`, and `-x` for `zeros - x`, of x's Aval (a
  sum whose shape and dtype the zeros do not change);
- x for an update of x (`x[i] = v`) that writes zeros into zeros, or x's own entries back;
- `np.zeros(shape)` for a backward pass's `np.zeros_like(x)` (a cotangent's buffer) of an x
  of known Aval that nothing else reads and that is a new array computed (`Rule.fresh`: no
  param, no view, no loop's result, which the loop computes anyway): x need not be computed
  for its shape. (Elsewhere `np.zeros_like` stays: NumPy fills it in memory freed before,
  where a large `np.zeros` gets fresh pages, which each call faults in, 2x slower on
  GradBench ode's gradient at n = 10^5.)

So the cotangents of values the output does not depend on, which reverse mode starts as
zeros (`np.stack([e0, e1])[0]` read alone: e1's cotangent is a row of zeros), vanish with the
work they would do.
"""

from __future__ import annotations

import numpy as np

from symgrad.ir.avals import ARRAY, Aval
from symgrad.passes.disjoint import past
from symgrad.rules import RULES, split_inputs
from symgrad.rules.table import LINEAR


def is_zeros(g, nid: int) -> bool:
    node = g[nid]
    if node.op == "const":
        v = node.attrs["value"]
        return type(v) in (int, float) and v == 0
    rule = RULES.get(node.op)
    return rule is not None and rule.fill == 0


def _zeros_aval(aval) -> bool:
    """An Aval a value of zeros made with `np.zeros(shape)` has."""
    return isinstance(aval, Aval) and aval.known and aval.kind == ARRAY and aval.dtype == np.float64


def rewrite(rw, node) -> int | None:
    g, op = rw.g, node.op
    made = integer_cotangent(rw, node)  # (a float written into an int array: truncated)
    if made is not None:
        return made
    if op == "zeros_like" and len(node.inputs) == 1 and not node.attrs.get("kwargs"):
        x = node.inputs[0]
        rule = RULES.get(g[x].op)  # (a new array computed for nothing else: not a param, a
        work = rule is not None and rule.fresh and not is_zeros(g, x)  # view, a loop's result)
        if node.backward and work and _zeros_aval(node.aval) and g.read_alone_by(x, node.id):
            return _made(rw, node)
        return None
    if op in ("add", "subtract"):
        return _sum_with_zeros(rw, node)
    if op == "setitem":
        return _update_of_nothing(rw, node)
    if op == "getitem" and _zeros_aval(node.aval):  # a part of zeros that an update missed
        x = past(g, node)
        if x is not None and is_zeros(g, x):
            return _made(rw, node)
    rule = RULES.get(op)
    if rule is None or rule.fill is not None or not any(is_zeros(g, i) for i in node.inputs):
        return None  # (most nodes read no zeros: asked first, it costs least)
    if not _zeros_aval(node.aval):
        return None
    grouped = split_inputs(rule, node.inputs, node.attrs)
    alone = len(rule.vjp) == 1  # (linear in its one differentiable input: no product)
    groups = [(p,) for p, t in rule.jvp.items() if t is LINEAR and (alone or node.backward)]
    if node.backward:
        groups += list(rule.zeros)
    for group in groups:
        ids = [i for p in group for i in _as_list(grouped.get(p))]
        if ids and all(is_zeros(g, i) for i in ids):
            return _made(rw, node)
    return None


def integer_cotangent(rw, node) -> int | None:
    """A backward pass's cotangent, or a forward pass's tangent, of a value known to hold
    integers (a constant's, a loop index's, an int array's that a float is written into):
    `np.zeros(shape)` of its Aval (a float64 array's; a tangent's an array of any dtype, whose
    zeros are float64) where the Avals are known, else `np.zeros(np.shape(value))` (the
    shape-polymorphic module)."""
    if node.op == "zeros":
        return None
    made, of = _origins(rw.g, node)
    if rw.typed and _made_of_integers(rw.g, made):
        aval = node.aval  # (what a VJP passes on from a value of integers: y[i] = x into ints)
        if isinstance(aval, Aval) and aval.shape == () and aval.dtype == np.float64:
            return rw.const(node, 0.0)
        return _made(rw, node) if _zeros_aval(aval) else None
    if of is None:
        return None
    replaced = node.tangent and of not in rw.g and _integers(node.aval)  # (a tangent in
    if not _of_an_integer(rw.g, of) and not replaced:  # integers, of a value the specialiser
        return None  # replaced: `y += n`; of a float value, an Aval of this round's inputs')
    if rw.typed and node.backward:
        return _made(rw, node) if _zeros_aval(node.aval) else None
    primal = rw.g[of].aval if of in rw.g else None
    if rw.typed and isinstance(primal, Aval) and primal.known and primal.kind == ARRAY:
        shape = rw.const(node, tuple(primal.shape))  # (a tangent's Aval may not be known)
        return rw.new(node, "zeros", (shape,), {"n_args": 1})
    if rw.typed:
        return None
    shape = rw.new(node, "shape", (of,))
    return rw.new(node, "zeros", (shape,), {"n_args": 1})


def of_integers(g, node) -> bool:
    """Whether `integer_cotangent` takes node for what a value of integers passes on (a VJP's
    contribution from one, its cotangent or tangent): `simplify.cse` merges no such node
    with one that is not, whose zeros would take the other's away too."""
    made, of = _origins(g, node)
    return _made_of_integers(g, made) or _of_an_integer(g, of)


def _origins(g, node) -> tuple:
    """(the node whose VJP made node, as a contribution: a gradient's, differentiated again,
    its tangent's too; the value node is the cotangent or tangent of), each None where none."""
    made = node.vjp_of
    if made is None and node.tangent and node.tan_of in g:
        made = g[node.tan_of].vjp_of
    return made, node.cot_of if node.backward else node.tan_of if node.tangent else None


def _made_of_integers(g, nid: int | None) -> bool:
    """Whether nid holds integers, or is a VJP's contribution from such a value (whose own
    contributions, reverse over reverse, pass nothing on either)."""
    while nid is not None and nid in g:
        if _integers(g[nid].aval):
            return True
        nid = g[nid].vjp_of
    return False


def _of_an_integer(g, forward: int | None) -> bool:
    """Whether `forward` (a cotangent's forward node) holds integers, whose cotangent is zeros:
    nothing near an integer value is another integer value."""
    return forward is not None and forward in g and _integers(g[forward].aval)


def _integers(aval) -> bool:
    return isinstance(aval, Aval) and aval.dtype is not None and aval.dtype.kind in "biu"


def _as_list(ids) -> list[int]:
    return [] if ids is None else ids if isinstance(ids, list) else [ids]


def _made(rw, node) -> int:
    """`np.zeros(shape)` of node's Aval, beside node."""
    shape = rw.const(node, tuple(node.aval.shape))
    return rw.new(node, "zeros", (shape,), {"n_args": 1})


def _sum_with_zeros(rw, node) -> int | None:
    g = rw.g
    a, b = node.inputs
    for zero, other in ((b, a), (a, b)):
        if is_zeros(g, zero) and g[other].aval == node.aval and _zeros_aval(node.aval):
            if not rw.alike(node, other):  # (x + 0.0 returned: a new array, not x)
                return None
            if other == a or node.op == "add":
                return other
            return rw.new(node, "negative", (other,))
    return None


def _update_of_nothing(rw, node) -> int | None:
    """x for `x[i] = v` of zeros into zeros, or of x[i] itself (the same index)."""
    g = rw.g
    if len(node.inputs) < 2:
        return None
    x, v, *parts = node.inputs
    if g[x].aval != node.aval:
        return None
    if is_zeros(g, x) and is_zeros(g, v) and g[x].op != "const":
        return x
    read = g[v]
    same = read.op == "getitem" and read.attrs == node.attrs and read.inputs == (x, *parts)
    return x if same else None
