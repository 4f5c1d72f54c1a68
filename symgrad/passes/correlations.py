"""Products of sliding windows of a vector written as the correlations and convolutions they
are: one pass over the vector, no (count x window) temporary, no strided view.

Contract: `correlated(rw, node)` (a `symgrad.passes.simplify` rewriter whose graph has its
Avals) gives, for a `sum`, `matmul` or `window_sums` node, an equivalent `correlate` or
`convolve` (`symgrad.rules.windows`) node, or None. W stands for rows a .. a + K - 1 of the
windows of length k of a float vector x (`sliding_window_view(x, k)[a : a + K]`, or all of
them), c for a float vector, and the windows' `x[a : a + K + k - 1]` is y:

- `np.sum(W * c, axis=1)` and `W @ c` (c of length k) are `_correlate(y, c)`: entry i is
  Σ_j x[a + i + j] c[j];
- `np.sum(c[:, None] * W, axis=0)` and `c @ W` (c of length K) are `_correlate(y, c)`: entry
  j is Σ_i c[i] x[a + i + j];
- `_window_sums(c[:, None] * d, x)` of all the windows (c of their count, d of length k) is
  `_convolve(c, d)`: entry p is Σ_{i + j = p} c[i] d[j].

A product must be read by the rewritten node alone (else it would be computed anyway), and
every operand be of one float dtype. The vectorised loops of `symgrad.passes.vectorise` (a
convolution written with a loop) read so; so does code written with `sliding_window_view`.
The results agree to rounding (sums in another order).
"""

from __future__ import annotations

from symgrad.ir.index import Slice


def correlated(rw, node) -> int | None:
    g = rw.g
    if node.op == "matmul" and not node.attrs:
        for side in (0, 1):  # W @ c (side 0: along W's rows), c @ W (side 1: down them)
            found = _correlation(rw, node, node.inputs[side], node.inputs[1 - side], 1 - side)
            if found is not None:
                return found
    if node.op == "sum" and set(node.attrs) <= {"axis", "keepdims"}:
        prod = g[node.inputs[0]]
        if node.attrs.get("keepdims") or prod.op != "multiply" or len(prod.inputs) != 2:
            return None
        if not g.read_alone_by(prod.id, node.id) or node.attrs.get("axis") not in (0, 1, -1):
            return None
        along = 0 if node.attrs["axis"] == 0 else 1
        for side in (0, 1):
            w, c = prod.inputs[side], prod.inputs[1 - side]
            if along == 0:  # Σ_i c[i] W[i, j]: c stands as a column
                c = _column(g, c)
            found = None if c is None else _correlation(rw, node, w, c, along)
            if found is not None:
                return found
    if node.op == "window_sums":
        return _convolution(rw, node)
    return None


def _correlation(rw, node, w: int, c: int, along: int) -> int | None:
    """_correlate(y, c) for W's rows summed against c along axis `along` of W."""
    g = rw.g
    rows = _window_rows(g, w)
    if rows is None or not _vector(g, c):
        return None
    x, k, a, count = rows
    if g[c].aval.shape[0] != (k if along == 1 else count):
        return None
    return _checked(rw, node, "correlate", (_span(rw, node, x, a, count + k - 1), c))


def _convolution(rw, node) -> int | None:
    g = rw.g
    prod, x = g[node.inputs[0]], node.inputs[1]
    if prod.op != "multiply" or len(prod.inputs) != 2 or not _vector(g, x):
        return None
    if not g.read_alone_by(prod.id, node.id) or node.attrs.get("axis") not in (None, 0):
        return None
    k, n = node.attrs["window_shape"], g[x].aval.shape[0]
    for side in (0, 1):
        c, d = _column(g, prod.inputs[side]), prod.inputs[1 - side]
        if c is not None and _vector(g, d) and g[d].aval.shape == (k,):
            if g[c].aval.shape == (n - k + 1,):
                return _checked(rw, node, "convolve", (c, d))
    return None


def _window_rows(g, nid: int) -> tuple | None:
    """(x, k, a, K) where nid is rows a .. a + K - 1 of the windows of length k of vector x."""
    node = g[nid]
    a = 0
    if node.op == "getitem" and node.attrs.get("n_parts") == 0:
        index = node.attrs["index"]
        if len(index) != 1 or not isinstance(index[0], Slice) or index[0].step is not None:
            return None
        a = index[0].start or 0
        node = g[node.inputs[0]]
        if type(a) is not int or a < 0:
            return None
    if node.op != "windows" or node.attrs.get("axis") not in (None, 0):
        return None
    x = node.inputs[0]
    if not _vector(g, x) or g[nid].aval is None or not g[nid].aval.known:
        return None
    count, k = g[nid].aval.shape
    return x, k, a, count


def _column(g, nid: int) -> int | None:
    """c where nid is c[:, None] (`np.expand_dims(c, axis=1)`) of a vector c."""
    node = g[nid]
    if node.op == "expand_dims" and node.attrs.get("axis") in (1, -1, (1,), (-1,)):
        return node.inputs[0] if _vector(g, node.inputs[0]) else None
    return None


def _vector(g, nid: int) -> bool:
    aval = g[nid].aval
    return aval is not None and aval.known and len(aval.shape) == 1 and aval.dtype.kind == "f"


def _span(rw, node, x: int, start: int, length: int) -> int:
    """x[start : start + length], or x where that is all of it."""
    if start == 0 and rw.g[x].aval.shape[0] == length:
        return x
    index = (Slice(start, start + length, None),)
    return rw.new(node, "getitem", (x,), {"n_parts": 0, "index": index})


def _checked(rw, node, op: str, inputs: tuple) -> int | None:
    """The new node, where it has node's Aval exactly (one dtype throughout), else None."""
    new = rw.new(node, op, inputs)
    return new if rw.g[new].aval == node.aval else None
