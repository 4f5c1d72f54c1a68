"""Sums and scalings pushed below what they add up or multiply, where that does less work.

Contract: `pushed_sum(rw, node)` (a `symgrad.passes.simplify` rewriter whose graph has its
Avals) gives, for a `np.sum` node, an equivalent node that sums fewer numbers, or None:

- `np.sum(-x)` is `-np.sum(x)` (the negation on the smaller array);
- a sum of an `einsum`'s output along indices that one operand alone holds, at its full
  length (no axis of length 1 broadcast there), is that einsum of the operand summed first
  (along indices several hold, the einsum without them in its output, which sums them):
  `np.sum(np.einsum('nki,kij->nkj', g, Q), axis=0)` is `np.einsum('ki,kij->kj', np.sum(g,
  axis=0), Q)`, which multiplies K·D·D numbers, not N·K·D·D (the backward pass of
  `Q_k (x_n - mu_k)` reads so for mu's cotangent). With keepdims, the summed axes are put
  back with `np.expand_dims`.

In a derivative (a backward or tangent node) of a NumPy module outside loop bodies,
`np.sum(c * v)` of a number c is `c * np.sum(v)` (along the same axes), where that keeps v's
dtype: c multiplies the total, not every entry (the result agrees to rounding; the primal's sums
keep theirs). Elsewhere it is left as it is. In a loop body, a running cotangent scaled so took
a NumPy number's type, and the backward loop of `s = s + np.sum(np.sin(W[i] * x) * s)` no
longer compiled whole (Numba). In a module of compiled loop nests, the scaling costs no pass of
its own, and the sum of a scaled array folds into a nest where the sum of a parameter alone
(the layer-norm MLP's `Y.sum(axis=1)`) stays a NumPy call.

The value summed must be read by the sum alone (else both would be computed).

`einsum_product(rw, node)` gives, for a two-operand einsum that is a matrix product of matrices
or vectors (`np.einsum('ni,nj->ij', a, b)`) or of stacks of them (`'kij,nkj->nki'`), that
product (`a.T @ b`, a batched `@` between transposes), which BLAS computes; not where a sum
reads it (pushed into it first).

`pushed_scale(rw, node)` gives, for `c * p` (either order) of a number c and a product p (an
`einsum` or a `matmul`) that the multiplication alone reads, the product with c multiplying
its smallest operand, where that operand is smaller than p: `2 * np.einsum('ji,jir->jir', g,
Qx)` is `np.einsum('ji,jir->jir', 2 * g, Qx)`, K·N numbers scaled, not K·N·D (and `2 * (-0.5
* t)` then folds). Where the scaling could change a dtype (a NumPy float64 c and float32
arrays) nothing is pushed. The result agrees with the original to rounding (exactly for a
power of two).
"""

from __future__ import annotations

import math

from symgrad.ir.avals import ARRAY, Aval, result_dtype
from symgrad.rules.linalg import ELLIPSIS, parse_einsum


def pushed_sum(rw, node) -> int | None:
    g = rw.g
    if node.op != "sum" or set(node.attrs) - {"axis", "keepdims"} or len(node.inputs) != 1:
        return None
    x = g[node.inputs[0]]
    if not g.read_alone_by(x.id, node.id):
        return None
    if x.op == "negative" and len(x.inputs) == 1:
        total = rw.new(node, "sum", x.inputs, dict(node.attrs))
        return rw.new(node, "negative", (total,))
    if x.op == "einsum":
        return _einsum_summed(rw, node, x)
    if x.op == "multiply" and (node.backward or node.tangent) and not (rw.body or rw.compiled):
        return _scale_summed(rw, node, x)
    return None


def _scale_summed(rw, node, product) -> int | None:
    """`np.sum(c * v)` of a number c: `c * np.sum(v)`, c multiplying the total, not every
    entry of v (a derivative only: the primal's sum keeps its rounding)."""
    g = rw.g
    for side in (0, 1):
        c, v = g[product.inputs[side]], g[product.inputs[1 - side]]
        if c.aval is None or c.aval.shape != () or not _known(v.aval) or v.aval.kind != ARRAY:
            continue
        if result_dtype(c.aval, v.aval) != v.aval.dtype or product.aval != v.aval:
            continue
        total = rw.new(node, "sum", (v.id,), dict(node.attrs))  # (v has c * v's Aval)
        return rw.new(node, "multiply", (c.id, total) if side == 0 else (total, c.id))
    return None


def pushed_scale(rw, node) -> int | None:
    g = rw.g
    if node.op != "multiply" or len(node.inputs) != 2 or node.attrs:
        return None
    for side in (0, 1):
        c, p = g[node.inputs[side]], g[node.inputs[1 - side]]
        if p.op not in ("einsum", "matmul") or c.aval is None or c.aval.shape != ():
            continue
        if not g.read_alone_by(p.id, node.id):
            continue
        operands = [g[i].aval for i in p.inputs]
        if not (_known(p.aval) and all(_known(a) for a in operands)):
            continue
        k = min(range(len(operands)), key=lambda j: math.prod(operands[j].shape))
        small = operands[k]
        if math.prod(small.shape) >= math.prod(p.aval.shape):
            continue
        if result_dtype(c.aval, small) != small.dtype or node.aval != p.aval:
            continue
        inputs = list(p.inputs)
        inputs[k] = rw.new(node, "multiply", (c.id, inputs[k]) if side == 0 else (inputs[k], c.id))
        return rw.new(node, p.op, tuple(inputs), dict(p.attrs))
    return None


def _einsum_summed(rw, node, einsum) -> int | None:
    g, aval = rw.g, einsum.aval
    operands = [g[i].aval for i in einsum.inputs]
    if not (_known(aval) and all(_known(a) for a in operands)):
        return None
    terms, out = parse_einsum(einsum.attrs["subscripts"], len(operands))
    if ELLIPSIS in "".join(terms):  # (how many axes '...' stands for: not read here)
        return None
    if any(len(set(t)) != len(t) for t in terms):  # (a diagonal: its index is no axis of one)
        return None
    axis = node.attrs.get("axis")
    axes = range(len(out)) if axis is None else (axis,) if isinstance(axis, int) else axis
    if not isinstance(axes, (range, tuple)) or not all(type(a) is int for a in axes):
        return None
    summed = {out[a % len(out)] for a in axes} if out else set()
    holders = {c: [k for k, t in enumerate(terms) if c in t] for c in summed}
    if not summed:
        return None
    if any(len(h) != 1 for h in holders.values()):  # the einsum sums them: no axis made
        return _einsum_kept(rw, node, einsum, terms, "".join(c for c in out if c not in summed))
    length = dict(zip(out, aval.shape))
    for c, (k,) in holders.items():  # the operand's full length: nothing broadcast along c
        if operands[k].shape[terms[k].index(c)] != length[c]:
            return None
    inputs, new_terms = [], []
    for i, term in zip(einsum.inputs, terms):
        drop = tuple(p for p, c in enumerate(term) if c in summed)
        if drop:
            i = rw.new(node, "sum", (i,), {"axis": _one(drop), "keepdims": False})
        inputs.append(i)
        new_terms.append("".join(c for c in term if c not in summed))
    kept = "".join(c for c in out if c not in summed)
    spec = ",".join(new_terms) + "->" + kept
    attrs = {**einsum.attrs, "n_operands": len(inputs), "subscripts": spec}
    result = rw.new(node, "einsum", tuple(inputs), attrs)
    if node.attrs.get("keepdims"):
        back = tuple(sorted(a % len(out) for a in axes))
        result = rw.new(node, "expand_dims", (result,), {"axis": _one(back)})
    return result


def einsum_product(rw, node) -> int | None:
    """A two-operand einsum that is a matrix product, written as one: BLAS, where einsum runs
    its own loops. Of matrices or vectors, `np.einsum('ni,nj->ij', a, b)` is `a.T @ b`; of
    stacks of matrices (indices both operands and the result hold: a batch), one index summed
    and one kept from each side, a batched product, `np.einsum('kij,nkj->nki', Q, x)` is
    `np.transpose(Q @ np.transpose(x, (1, 2, 0)), (2, 0, 1))`, where each kept side has two
    entries or more (a product with one column is a loop einsum runs faster)."""
    attrs = node.attrs
    if node.op != "einsum" or attrs.get("n_operands") != 2 or attrs.get("optimize", False):
        return None
    if _summed_later(rw.g, node.id):
        return None  # (a sum may be pushed into it first: `pushed_sum`)
    (ta, tb), out = parse_einsum(attrs["subscripts"], 2)
    if ELLIPSIS in ta + tb or len(set(ta)) != len(ta) or len(set(tb)) != len(tb):
        return None
    if not all(_known(rw.g[x].aval) for x in node.inputs):
        return None
    if any(x in ta and x in tb for x in out):
        return _batched_product(rw, node, ta, tb, out)
    shared = set(ta) & set(tb)
    if len(shared) != 1 or not (1 <= len(ta) <= 2 and 1 <= len(tb) <= 2):
        return None
    (c,) = shared
    i, j = ta.replace(c, ""), tb.replace(c, "")
    a, b = node.inputs
    if out != i + j and out == j + i:  # (b @ a)'s layout
        a, b, ta, tb, i, j = b, a, tb, ta, j, i
    if out != i + j:
        return None
    if ta != i + c:
        a = rw.new(node, "transpose", (a,), {"axes": None})
    if tb != c + j:
        b = rw.new(node, "transpose", (b,), {"axes": None})
    product = rw.new(node, "matmul", (a, b))
    return product if rw.g[product].aval == node.aval else None


def _summed_later(g, nid: int) -> bool:
    """Whether a sum reads nid, or its negation or a scaling of it that is read alone (the
    sum moves past them: `pushed_sum`, `pushed_scale`); so does an `unbroadcast` or `fit`
    that changes the shape (a later round sees it as the sum it is)."""
    for u in g.users(nid):
        user = g[u]
        if user.op in ("unbroadcast", "fit"):
            same = user.aval is not None and g[nid].aval is not None
            if not (same and user.aval.shape == g[nid].aval.shape):
                return True
            if _summed_later(g, u):
                return True
            continue
        if user.op == "sum":
            return True
        scaled = user.op == "multiply" and any(
            i != nid and g[i].aval is not None and g[i].aval.shape == () for i in user.inputs
        )
        if (user.op == "negative" or scaled) and g.read_alone_by(nid, u):
            return _summed_later(g, u)
    return False


def _batched_product(rw, node, ta: str, tb: str, out: str) -> int | None:
    """`einsum_product` of stacks: the batch indices first, then (kept, summed) on the left
    and (summed, kept) on the right, by transposes; the product's axes put in the result's
    order. The operands swap sides where that puts the kept indices in the result's order."""
    batch = [x for x in out if x in ta and x in tb]
    summed = [x for x in ta if x in tb and x not in out]
    left = [x for x in ta if x not in tb]
    right = [x for x in tb if x not in ta]
    if len(summed) != 1 or len(left) != 1 or len(right) != 1:
        return None
    if set(out) != set(batch + left + right):  # an index summed from one side alone
        return None
    a, b = node.inputs
    lengths = {x: n for t, v in ((ta, a), (tb, b)) for x, n in zip(t, rw.g[v].aval.shape)}
    if lengths[left[0]] < 2 or lengths[right[0]] < 2:
        return None
    if out.index(left[0]) > out.index(right[0]):  # b's kept index first: b on the left
        a, b, ta, tb, left, right = b, a, tb, ta, right, left
    a = _permuted(rw, node, a, ta, [*batch, left[0], summed[0]])
    b = _permuted(rw, node, b, tb, [*batch, summed[0], right[0]])
    product = rw.new(node, "matmul", (a, b))
    result = _permuted(rw, node, product, "".join([*batch, left[0], right[0]]), list(out))
    return result if rw.g[result].aval == node.aval else None


def _permuted(rw, node, x: int, indices: str, order: list) -> int:
    """x, whose axes hold `indices`, transposed to hold them in `order` (x itself if so)."""
    axes = tuple(indices.index(i) for i in order)
    if axes == tuple(range(len(axes))):
        return x
    return rw.new(node, "transpose", (x,), {"axes": axes})


def _einsum_kept(rw, node, einsum, terms: list, kept: str) -> int | None:
    """The einsum with only the output indices `kept` (the others summed by it)."""
    if node.attrs.get("keepdims"):
        return None
    attrs = {**einsum.attrs, "subscripts": ",".join(terms) + "->" + kept}
    result = rw.new(node, "einsum", einsum.inputs, attrs)
    return result if rw.g[result].aval == node.aval else None


def _one(axes: tuple):
    """An axis tuple as NumPy code writes it: a lone axis as an int."""
    return axes[0] if len(axes) == 1 else axes


def _known(aval) -> bool:
    return isinstance(aval, Aval) and aval.known and aval.kind == ARRAY
