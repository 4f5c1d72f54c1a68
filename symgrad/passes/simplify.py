"""Simplification: CSE, constant folding, algebraic identities, broadcast sinking, dead code.

Contract: `simplify(graph, float_params, avals)` rewrites the graph in place to an equivalent one
with no more nodes on any path: identical nodes merged; arithmetic on Python-number constants
folded; `x * 1`, `x + 0`, `x ** 1`, `--x` dropped where x is known to be a float array (so no
dtype changes); constant factors gathered (`0.5 * (2 * x)` is `x`); a scalar broadcast to a shape
sunk below elementwise ops that would broadcast it anyway (so no full array of one value is
made); two scatters of one index merged into one; in a backward pass, a cotangent that
np.where zeroed kept zero through the products that read it (`where(c, v, 0) * d` is
`where(c, v * d, 0)`: the same values, but 0 where the zero times an infinite or NaN partial
derivative of the untaken branch gave NaN); nodes no output needs removed. Every
rewrite points users at an earlier or new equivalent node. A function's (not a loop body's)
outputs are then made arrays of their own (`symgrad.passes.outputs`). It runs on graphs a
pass made, never on one still to differentiate: it first makes the primitives of users' custom
derivatives the plain values they are (`symgrad.rules.custom.settle`).
Given the params' abstract values (`avals`: a specialisation, as at call time), it also resolves
what they decide (`symgrad.passes.specialise`): shapes become constants, unbroadcasts become the
sums they do or nothing, helpers dispatching on ranks become the one line the ranks choose. The
bodies of backward loops are simplified with their params' Avals too (what every iteration
sees), a running cotangent that starts as a constant and stays unchanged becomes that constant
there, and the tape then records what the backward body reads (`symgrad.passes.residuals`) and
nothing it no longer needs (`symgrad.passes.tape.untape`).
"""

from __future__ import annotations

import math

import numpy as np

from symgrad.errors import UnsupportedSyntaxError
from symgrad.ir import Graph
from symgrad.ir.avals import PYTHON, TUPLE, Aval, float64_number
from symgrad.ir.graph import subgraphs
from symgrad.ir.structured import LoopVjp, schema
from symgrad.passes import residuals, specialise, tape, zeros
from symgrad.passes.avals import infer, infer_again, kept, node_aval
from symgrad.passes.dce import dce
from symgrad.passes.decided import decided
from symgrad.passes.hoist import hoist_products
from symgrad.passes.outputs import own_outputs
from symgrad.passes.shapes import SCALAR, shape_classes, shape_classes_again, shape_key
from symgrad.passes.vectorise import vectorised
from symgrad.rules import RULES
from symgrad.rules.custom import settle
from symgrad.rules.runtime import _entry_view

_EW_BINARY = {"add", "subtract", "multiply", "divide", "power"}
_COMPARISONS = {"greater", "less", "greater_equal", "less_equal", "equal", "not_equal"}
_MASK_OPS = _COMPARISONS | {"logical_and", "logical_or", "logical_not"}  # (clip's: an and)
_MASKED = {  # a backward pass's op that takes a select's zeros apart: its `_Rewriter` method
    "multiply": "masked_product",
    "divide": "masked_product",
    "negative": "masked_negation",
    "add": "masked_sum",
    "subtract": "masked_sum",
}


def cse(graph: Graph, rewired: set[int]) -> bool:
    """Merge identical nodes; the users pointed at the node kept go to `rewired`. (Not a
    contribution of a value of integers with one of floats: `zeros.of_integers`.)"""
    seen: dict[tuple, int] = {}
    changed = False
    for node in list(graph.nodes()):
        if node.op == "param":
            continue
        key = (node.key(), (node.backward or node.tangent) and zeros.of_integers(graph, node))
        if key in seen:
            rewired.update(graph.users(node.id))
            graph.replace_uses(node.id, seen[key])
            _keep_naming(graph, seen[key], node)
            changed = True
        else:
            seen[key] = node.id
    return changed


def _keep_naming(graph: Graph, kept: int, dropped) -> None:
    k = graph[kept]
    if (k.backward or k.tangent) and k.name is None and k.cot_of is None and k.tan_of is None:
        k.name, k.cot_of, k.tan_of = dropped.name, dropped.cot_of, dropped.tan_of
    if k.backward and k.cot_of is None and k.vjp_of is None:  # (a contribution simplified)
        k.vjp_of = dropped.vjp_of
    elif k.vjp_of != dropped.vjp_of and dropped.vjp_of is not None:  # (a contribution to two
        k.vjp_of = None  # values: of integers only where both are, which is not known here)


def _exactly_scaled(c1, c2) -> bool:
    """Whether c1 or c2 is a power of two (of either sign), whose product with a float is
    exact: c1 * (c2 * y) is then (c1 * c2) * y, float for float, overflow aside of neither."""
    return any(
        isinstance(c, (int, float)) and c != 0 and math.isfinite(c) and abs(math.frexp(c)[0]) == 0.5
        for c in (c1, c2)
    )


def _number(graph: Graph, nid: int):
    node = graph[nid]
    if node.op == "const":
        v = node.attrs["value"]
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return v
    return None


def _floats(graph: Graph, float_params: set[int]) -> set[int]:
    """Nodes known to hold float values: float params, nodes whose Aval says so, and, where it
    does not tell the dtype, differentiable ops on float inputs, of a dtype given as a float
    one (`x.astype(int)` holds ints), an update of its array's (`Rule.dtype_of`: a float
    written into an int array is an int array)."""
    out = set(float_params)
    for node in graph.nodes():
        if _float_aval(node.aval) or node.op == "const" and isinstance(node.attrs["value"], float):
            out.add(node.id)
            continue
        if node.op in ("param", "const") or getattr(node.aval, "dtype", None) is not None:
            continue  # (of a dtype known, no float's)
        rule = RULES[node.op]
        if rule.nondiff:
            continue
        given = _given_dtype(graph, node, rule)
        if given is not None:
            if given is not _NOT_KNOWN and given.kind in "fc":
                out.add(node.id)
            continue
        inputs = [node.inputs[k] for k in rule.dtype_of] if rule.dtype_of else node.inputs
        if any(i in out for i in inputs):
            out.add(node.id)
    return out


_NOT_KNOWN = object()


def _given_dtype(graph: Graph, node, rule) -> np.dtype | object | None:
    """The dtype a call gives its result (`dtype=` static, or a `dtype` input): its np.dtype,
    `_NOT_KNOWN` where it is a value known only when it runs, None where none is given."""
    given = node.attrs.get("dtype", dict(node.attrs.get("kwargs", ())).get("dtype"))
    names = [p.name for p in rule.array_params]
    if given is None and "dtype" in names and names.index("dtype") < len(node.inputs):
        source = graph[node.inputs[names.index("dtype")]]
        given = source.attrs["value"] if source.op == "const" else _NOT_KNOWN
    if given is None or given is _NOT_KNOWN:
        return given
    try:
        return np.dtype(given)
    except TypeError:
        return _NOT_KNOWN


def _float_aval(aval) -> bool:
    return isinstance(aval, Aval) and aval.dtype is not None and aval.dtype.kind in "fc"


class _Rewriter:
    """One round of rewrites. `rewired` (None: unknown) are the nodes whose inputs changed since
    the last round, whose shape classes were `keys` (None: none yet): both the Avals and the
    classes are brought up to date, not worked out again. `compiled`: the module's elementwise
    work runs in compiled loop nests (the Numba backend)."""

    def __init__(
        self,
        graph: Graph,
        float_params: set[int],
        avals,
        body: bool,
        float64: bool,
        rewired,
        keys: dict | None = None,
        compiled: bool = False,
    ):
        self.g, self.body, self.compiled = graph, body, compiled
        if keys is None or rewired is None:
            self.keys = shape_classes(graph)
        else:
            self.keys = shape_classes_again(graph, keys, rewired)
        self.typed = avals is not None
        self.float64 = float64  # every float of the function is a float64
        if self.typed:  # again: a rewrite may refine a dtype (`s * y` for broadcast_to(s) * y)
            if rewired is None:
                infer(graph, avals)
            else:  # (the Avals of a round of rewrites ago, brought up to date)
                infer_again(graph, rewired)
        self.floats = _floats(graph, float_params)
        self.sure = self.floats if self.typed else _floats(graph, set())  # (not the params a
        # module for any shapes takes as floats: it may be given ints, `kept_by`)

    def kept_by(self, node, x: int, c: int) -> bool:
        """Whether node, x and the constant c (1 or 0: `x * 1`, `x + 0`, `x / 1`), is x: of
        floats, and of x's own dtype (`alike`). In a module for any shapes, the function's
        own arithmetic on its arguments may be on ints: `x * 1.0`, `x / 1` of those are
        floats, and stay; `x * 1` keeps an int x's dtype too."""
        if x not in self.floats or not self.alike(node, x):
            return False
        if self.typed or node.backward or node.tangent or x in self.sure:
            return True
        return node.op != "divide" and type(_number(self.g, c)) is int

    def new(self, like, op: str, inputs, attrs=None) -> int:
        """A node like `like` (same loc and flags) computing op(inputs)."""
        nid = self.g.add(
            op,
            inputs,
            attrs or {},
            like.loc,
            backward=like.backward,
            tangent=like.tangent,
            order=like.order,
        )
        self.register(nid, like.id in self.floats)
        return nid

    def register(self, nid: int, is_float: bool = False) -> None:
        """Learn what a new node is: its shape class, its Aval, whether it holds floats."""
        self.keys[nid] = shape_key(self.g, self.g[nid], self.keys)
        if self.typed:
            self.g[nid].aval = node_aval(self.g, self.g[nid])
        if is_float or _float_aval(self.g[nid].aval):
            self.floats.add(nid)

    def const(self, like, value) -> int:
        return self.new(like, "const", (), {"value": value})

    def alike(self, node, x: int) -> bool:
        """Whether x may stand for node (`x * 1`): not where the Avals tell a value of the
        function apart from it, as a 0-d array x and its product, a NumPy number, nor where
        the function returns it and x is an argument (a derivative's may: the code reading it
        takes either)."""
        if node.backward or node.tangent:
            return True
        if not self.body and node.id in self.g.outputs and self.g[x].op == "param":
            return False  # (the function returns a new array, not its argument itself)
        a, b = node.aval, self.g[x].aval
        return not (isinstance(a, Aval) and isinstance(b, Aval)) or a.kind == b.kind

    def rewrite(self, node) -> int | None:
        """An equivalent node to use instead of `node`, or None."""
        g, op = self.g, node.op
        ins = node.inputs
        if op in ("add", "subtract") and not self.body:  # in a body, it may cost an update in
            merged = self.one_scatter(node)  # place its copy (symgrad.emit.inplace)
            if merged is not None:
                return merged
        if self.typed:
            typed = specialise.rewrite(self, node)
        else:
            typed = zeros.integer_cotangent(self, node)
            typed = specialise.hooked(self, node) if typed is None else typed
        if typed is not None:
            return typed
        python = getattr(RULES[op].emit, "python", None)  # spelt as a Python operator
        if op in ("not", "equal", "not_equal"):  # (a check's test: `x.shape != w.shape`)
            known = [g[i].attrs["value"] if g[i].op == "const" else None for i in ins]
            if op == "not" and type(known[0]) is bool or all(type(k) is tuple for k in known):
                return self.const(node, python(*known))
        if python and all(_number(g, i) is not None for i in ins):
            try:
                value = python(*(_number(g, i) for i in ins))
            except (ArithmeticError, TypeError):
                return None
            if isinstance(value, (int, float)):
                return self.const(node, value)
        if op == "negative" and ins[0] in self.floats:
            stripped = self.strip_negation(ins[0])
            if stripped is not None:
                return stripped
        if op == "multiply":
            if _number(g, ins[1]) == 1 and self.kept_by(node, ins[0], ins[1]):
                return ins[0]
            if _number(g, ins[0]) == 1 and self.kept_by(node, ins[1], ins[0]):
                return ins[1]
            if _number(g, ins[0]) == -1 and ins[1] in self.floats:
                return self.new(node, "negative", ins[1:])
            if _number(g, ins[1]) == -1 and ins[0] in self.floats:
                return self.new(node, "negative", ins[:1])
            gathered = self.gather_constants(node)
            if gathered is not None:
                return gathered
            quotient = self.reciprocal_times(node)
            if quotient is not None:
                return quotient
        if op in ("divide", "multiply") and (node.backward or node.tangent):
            cancelled = self.cancelled(node)
            if cancelled is not None:
                return cancelled
        if (node.backward or node.tangent) and op in _MASKED:
            masked = getattr(self, _MASKED[op])(node)
            if masked is not None:
                return masked
        if (node.backward or node.tangent) and op in ("multiply", "divide"):
            selected = self.mask_of_a_quotient(node) if op == "multiply" else None
            if selected is None:
                selected = self.masked_blow_up(node)
            if selected is not None:
                return selected
        # a + -b, a - -c * b: a - b, a + c * b, for floats only (`strip_negation`)
        if op in ("add", "subtract") and g[ins[1]].op != "const":
            stripped = self.strip_negation(ins[1])
            if stripped is not None:
                flipped = "subtract" if op == "add" else "add"
                return self.new(node, flipped, (ins[0], stripped))
        if op == "add" and g[ins[0]].op == "negative" and ins[0] in self.floats:  # -a + b
            return self.new(node, "subtract", (ins[1], g[ins[0]].inputs[0]))
        if op in ("add", "subtract") and _number(g, ins[1]) == 0:
            if self.kept_by(node, ins[0], ins[1]):
                return ins[0]
        if op == "add" and _number(g, ins[0]) == 0 and self.kept_by(node, ins[1], ins[0]):
            return ins[1]
        if op in ("divide", "power") and _number(g, ins[1]) == 1:
            if self.kept_by(node, ins[0], ins[1]):
                return ins[0]
        if op == "power" and _number(g, ins[1]) == 0 and float64_number(g[ins[0]].aval):
            return self.const(node, 1.0)  # (IEEE's pow(x, 0) is 1 for every x, NaN and inf too)
        if op == "add" and ins[0] == ins[1] and ins[0] in self.floats:
            return self.new(node, "multiply", (self.const(node, 2), ins[0]))
        if op == "power" and self.typed:
            negative = self.int_to_negative_power(node)
            if negative is not None:
                return negative
        if op == "power" and self.compiled and self.typed:  # x ** n of a computed int n:
            return self.float_exponent(node)  # Numba's raises at x = 0, n < 0 (NumPy: inf)
        if op == "where" and g[ins[1]].op == "where" and g[ins[1]].inputs[0] == ins[0]:
            inner = g[ins[1]]  # where(c, where(c, a, 0), b): where(c, a, b)
            if (node.backward or node.tangent) and _number(g, inner.inputs[2]) is not None:
                return self.new(node, "where", (ins[0], inner.inputs[1], ins[2]))
        if op == "shape":
            return self.shape_without_value(node)
        if op == "unbroadcast" and self.keys[ins[0]] == self.keys[node.id]:
            return ins[0]
        if op == "fit" and _fits_like(g, ins[0], ins[1]):  # fit(fit(g, x), fit(h, x))
            return ins[0]
        if op == "fit" and self.unbroadcasts_to(ins[0], ins[1]):  # fit sums to x's shape itself
            return self.new(node, "fit", (g[ins[0]].inputs[0], ins[1]))
        if op == "size" and self.is_broadcast(ins[0]):
            return self.new(node, "shape_size", (self.new(node, "shape", ins),))
        if op == "broadcast_shapes" and len(set(ins)) < len(ins):
            unique = tuple(dict.fromkeys(ins))
            if len(unique) == 1:
                return unique[0]
            return self.new(node, op, unique, {"n_shapes": len(unique)})
        if op in _EW_BINARY:
            return self.sink_broadcast(node)
        if op == "expand_dims" and self.typed and node.aval is not None and node.aval.known:
            b = g[ins[0]]  # expand_dims(broadcast_to(s, S)): broadcast_to(s, S expanded)
            if b.op == "broadcast_to" and self.keys[b.inputs[0]] == SCALAR:
                shape = self.const(node, node.aval.shape)
                return self.new(node, "broadcast_to", (b.inputs[0], shape))
        if op == "negative" and g[ins[0]].op == "broadcast_to":  # -broadcast_to(s, S)
            b = g[ins[0]]
            if self.keys[b.inputs[0]] == SCALAR:
                inner = self.new(node, "negative", b.inputs[:1])
                return self.new(node, "broadcast_to", (inner, b.inputs[1]))
        return None

    def one_scatter(self, node) -> int | None:
        """index_add(x, a, i) ± index_add(x, b, i) -> index_add(x, a ± b, i): one array of zeros
        for two cotangents of the same read (the scatter is linear in what it adds)."""
        a, b = (self.g[i] for i in node.inputs)
        if not a.op == b.op == "index_add" or a.attrs != b.attrs:
            return None
        if a.inputs[0] != b.inputs[0] or a.inputs[2:] != b.inputs[2:]:
            return None
        total = self.new(node, node.op, (a.inputs[1], b.inputs[1]))
        return self.new(node, "index_add", (a.inputs[0], total, *a.inputs[2:]), dict(a.attrs))

    def unbroadcasts_to(self, nid: int, x: int) -> bool:
        """Whether nid is `unbroadcast(g, shape(x))`."""
        node = self.g[nid]
        if node.op != "unbroadcast":
            return False
        shape = self.g[node.inputs[1]]
        return shape.op == "shape" and shape.inputs == (x,)

    def strip_negation(self, nid: int) -> int | None:
        """-x for x = -a, -a * b, (-a * b) / c, -2.0 * b, ...: the same product without the
        sign, for floats only, at every level (-a of a uint8 a wraps: not a float's sign, and
        `(-u) * 0.5` is not `-(u * 0.5)`); a negative number, a factor of a float's product."""
        node = self.g[nid]
        c = _number(self.g, nid)
        if c is not None and c < 0:
            return self.const(node, -c)
        if nid not in self.floats:
            return None
        if node.op == "negative":
            return node.inputs[0]
        if node.op in ("multiply", "divide"):
            for k in (0, 1) if node.op == "multiply" else (0,):
                inner = self.strip_negation(node.inputs[k])
                if inner is not None:
                    ins = list(node.inputs)
                    ins[k] = inner
                    return self.new(node, node.op, tuple(ins))
        return None

    def is_broadcast(self, nid: int) -> bool:
        """An elementwise op whose value is needed for nothing but its shape or size."""
        rule = RULES.get(self.g[nid].op)
        return rule is not None and rule.shape == "elementwise"

    def shape_without_value(self, node) -> int | None:
        """shape(f(a, b)) for elementwise f is found from a's and b's shapes, so f(a, b) need
        not be computed when only its shape is used (the seed of a sum, say)."""
        g = self.g
        src = g[node.inputs[0]]
        if self.keys[src.id] == SCALAR and src.op != "const":  # provably 0-d
            return self.const(node, ())
        rule = RULES.get(src.op)
        if rule is not None and rule.shape == "first":
            return self.new(node, "shape", src.inputs[:1])
        if rule is None or rule.shape != "elementwise":
            return None
        arrays = list({self.keys[i]: i for i in src.inputs if self.keys[i] != SCALAR}.values())
        if not arrays:
            return None
        if len(arrays) == 1:
            return self.new(node, "shape", (arrays[0],))
        shapes = [self.new(node, "shape", (i,)) for i in arrays]
        return self.new(node, "broadcast_shapes", shapes, {"n_shapes": len(shapes)})

    def masked_product(self, node) -> int | None:
        """`where(c, v, 0) * d` (or `/ d`, or `where(c, 0, v)`) in a backward pass is
        `where(c, v * d, 0)`: the entries of a cotangent that np.where set to zero stay zero.
        0 * d is NaN where d is not finite, which is where a partial derivative of the branch
        np.where did not take often is: d log(x) / dx at 0, of `np.where(x > 0, np.log(x),
        x)`, whose true derivative there is 1. Done where every reader of the where is such a
        product (or a negation, `masked_negation`), so that none reads it as it is."""
        for k in (0, 1) if node.op == "multiply" else (0,):
            masked = self.masked(node.inputs[k])
            if masked is None:
                continue
            c, zero, v = masked
            d = node.inputs[1 - k]
            product = self.new(node, node.op, (v, d) if k == 0 else (d, v))
            return self.masked_where(node, c, zero, product)
        return None

    def masked_negation(self, node) -> int | None:
        """`-where(c, v, 0)` in a backward pass (see `masked_product`): `where(c, -v, 0)`."""
        masked = self.masked(node.inputs[0])
        if masked is None:
            return None
        c, zero, v = masked
        return self.masked_where(node, c, zero, self.new(node, "negative", (v,)))

    def masked_sum(self, node) -> int | None:
        """`where(c, a, 0) ± where(c, b, 0)` in a backward pass: `where(c, a ± b, 0)`, and
        `where(c, a, 0) ± where(c, 0, b)`: `where(c, a, ±b)` (one select, not two and a sum;
        the same entries up to the sign of a zero)."""
        one, two = (self.masked(i, alone_by=node.id) for i in node.inputs)
        if one is None or two is None or one[0] != two[0]:
            return None
        c, zero, a = one
        b = two[2]
        if zero == two[1]:
            return self.masked_where(node, c, zero, self.new(node, node.op, (a, b)))
        if node.op == "subtract":
            b = self.new(node, "negative", (b,))
        return self.new(node, "where", (c, a, b) if zero == 1 else (c, b, a))

    def masked(self, nid: int, alone_by: int | None = None):
        """(c, k, v) for a value `where(c, v, 0)` (k = 1: the zero is the second branch; `v *
        (a > b)` is one, c the comparison) or `where(c, 0, v)` (k = 0) of a backward pass that
        the products and negations that read it may each take apart (`masked_product`), or,
        with `alone_by`, that only that node reads; else None. (Of a number v, `where(c, v *
        d, 0)` takes d's dtype where `where(c, v, 0) * d` of a float32 d was float64: the
        gradient is cast to its argument's dtype in either case, and a float32 NaN of the
        branch not taken no longer reaches it.)"""
        g = self.g
        w = g[nid]
        if w.op not in ("where", "multiply") or not (w.backward or w.tangent) or nid in g.outputs:
            return None  # (an output is read as is)
        if alone_by is not None:
            if not g.read_alone_by(nid, alone_by):
                return None
        elif not all(_masks(g, u, nid) for u in g.users(nid)):
            return None
        if w.op == "multiply":  # v * (a > b): maximum's and relu's backward functions
            for k in (0, 1):
                if g[w.inputs[k]].op in _MASK_OPS and w.inputs[1 - k] in self.floats:
                    return w.inputs[k], 1, w.inputs[1 - k]
            return None
        c, *branches = w.inputs
        for zero in (1, 0):
            v = branches[1 - zero]
            if _number(g, branches[zero]) == 0:
                return c, zero, v
        return None

    def mask_of_a_quotient(self, node) -> int | None:
        """`v * (a > b)` (or a mask's and, clip's) of a derivative v computed here that may be
        inf or NaN where the mask is False (a quotient, a power: `0.5 / np.sqrt(m)` of
        `np.sqrt(np.maximum(x, 0))`, maximum's backward function after sqrt's):
        `where(a > b, v, 0)`, the select it is, so that the entries the mask zeroes stay zero
        (0 * inf is NaN)."""
        g = self.g
        for k in (0, 1):
            c, v = node.inputs[k], node.inputs[1 - k]
            if g[c].op in _MASK_OPS and v in self.floats and _may_blow_up(g, v):
                return self.masked_where(node, c, 1, v)
        return None

    def masked_blow_up(self, node) -> int | None:
        """`u * d` or `u / d` of a backward pass (or a tangent's) where u is zero wherever a
        mask c is False (`_zero_outside`: a select, a product or sum of them) and d a
        derivative that may be inf or NaN there (a quotient or a power; any divisor):
        `where(c, u * d, 0)`, as `mask_of_a_quotient` for a mask itself: the second
        derivative `np.where(x > 0, 1.0, 0.0) * (0.5 / np.sqrt(x))` of a select of
        `np.sqrt(x) * x` was NaN at x < 0. Where u is summed to d's shape first
        (`unbroadcast(where(mask, 1.0, 0.0), shape(x)) / x` of a mask of another shape), d
        goes inside the sum, which it does not vary along: `unbroadcast(u / x, shape(x))`;
        where u is reshaped to d's (`m[None, :]`'s), d reshaped to u's goes inside."""
        g = self.g
        for k in (0, 1) if node.op == "multiply" else (0,):
            u, d = node.inputs[k], node.inputs[1 - k]
            if d not in self.floats or not (node.op == "divide" or _may_blow_up(g, d)):
                continue
            if node.op == "divide" and _number(g, d) not in (None, 0):
                continue
            negated = g[u].op == "negative"  # (-unbroadcast(.): 1/x's derivative's sign)
            summed = g[u].inputs[0] if negated else u
            if g[summed].op in ("unbroadcast", "reshape") and self.same_shape(d, summed):
                inner = g[summed].inputs[0]
                if _zero_outside(g, inner):
                    if g[summed].op == "reshape" and self.keys[d] != SCALAR:  # (d of inner's
                        d = self.new(node, "reshape", (d, self.new(node, "shape", (inner,))))
                    if negated:  # shape)
                        inner = self.new(node, "negative", (inner,))
                    product = self.new(node, node.op, (inner, d) if k == 0 else (d, inner))
                    rest = g[summed].inputs[1:]
                    return self.new(node, g[summed].op, (product, *rest), dict(g[summed].attrs))
            masks = _zero_outside(g, u)
            if not masks or any(_selected(g, node.id, c) for c in masks):  # (made here, or
                continue  # summed into one)
            return self.masked_where(node, min(masks), 1, self.new(node, node.op, node.inputs))
        return None

    def same_shape(self, a: int, b: int) -> bool:
        """Whether a has b's shape (its class, or its Aval's where known), or is 0-d."""
        if self.keys[a] in (SCALAR, self.keys[b]):
            return True
        x, y = self.g[a].aval, self.g[b].aval
        return (
            self.typed
            and all(isinstance(v, Aval) and v.known for v in (x, y))
            and (x.shape == y.shape)
        )

    def masked_where(self, like, c: int, zero: int, v: int) -> int:
        """`where(c, v, 0)` (zero = 1) or `where(c, 0, v)` (zero = 0), beside `like`."""
        z = self.const(like, 0.0)
        return self.new(like, "where", (c, v, z) if zero == 1 else (c, z, v))

    def gather_constants(self, node) -> int | None:
        """c1 * (c2 * y) and friends -> (c1 * c2) * y; (c1 * a) * (c2 * b) -> (c1 * c2) *
        (a * b), a factor maybe under `np.expand_dims` (the cotangent of `-0.5 * z ** 2` is
        `-0.5 * g * (2 * z)`: g * z, one pass over z's size fewer). Only in derivative code
        (the user's own products are computed in their order: `x * 2.0 * 0.5` of 1e308 is inf),
        and where one of c1 and c2 is a power of two, which scales exactly: then the products
        are the same floats but past the ends of the float range (`x * 0.1 * 10.0` is not
        `x * 1.0`, nor `x * 1e300 * 1e-300`, inf, `x`)."""
        g = self.g
        if not (node.backward or node.tangent):
            return None
        for outer_c, inner in ((0, 1), (1, 0)):
            c1 = _number(g, node.inputs[outer_c])
            inner_node = g[node.inputs[inner]]
            if c1 is None or inner_node.op != "multiply" or inner_node.id not in self.floats:
                continue  # (2 * u of a uint8 u wraps: 0.5 * (2 * u) is not u)
            for k in (0, 1):
                c2 = _number(g, inner_node.inputs[k])
                if c2 is not None and _exactly_scaled(c1, c2):
                    y = inner_node.inputs[1 - k]
                    return self.new(node, "multiply", (self.const(node, c1 * c2), y))
        a, b = (self.scaled(i, node.id) for i in node.inputs)
        if a is None or b is None or any(i not in self.floats for i in node.inputs):
            return None
        if not _exactly_scaled(a[0], b[0]):
            return None
        factors = [self.unscaled(node, *a[1:]), self.unscaled(node, *b[1:])]
        product = self.new(node, "multiply", tuple(factors))
        return self.new(node, "multiply", (self.const(node, a[0] * b[0]), product))

    def reciprocal_times(self, node) -> int | None:
        """(1 / b) * a -> a / b, the reciprocal read by this product alone (the cotangent of
        `a / b` times another factor): one pass fewer, and `a / b` met again is one value."""
        g = self.g
        for k in (0, 1):
            d, a = g[node.inputs[k]], node.inputs[1 - k]
            if d.op != "divide" or _number(g, d.inputs[0]) != 1 or a not in self.floats:
                continue
            if _number(g, a) is None and g.read_alone_by(d.id, node.id):
                return self.new(node, "divide", (a, d.inputs[1]))
        return None

    def int_to_negative_power(self, node) -> int | None:
        """n ** -k.0 for n ** -k of a Python int n and a constant int k > 0: the float Python
        computes (Numba's power of ints is an int, 2 ** -2 == 0). Of NumPy ints, which NumPy
        refuses when it runs, refused where it is written."""
        g = self.g
        k, x = _number(g, node.inputs[1]), g[node.inputs[0]].aval
        if type(k) is not int or k >= 0 or not isinstance(x, Aval) or x.dtype is None:
            return None
        if x.dtype.kind not in "biu":
            return None
        if x.kind != PYTHON:
            raise UnsupportedSyntaxError(
                "an array of integers to a negative integer power, which NumPy refuses "
                "('Integers to negative integer powers are not allowed'): write a float "
                f"exponent (** {float(k)})",
                node.loc,
            )
        return self.new(node, "power", (node.inputs[0], self.const(node, float(k))))

    def float_exponent(self, node) -> int | None:
        """x ** (n * 1.0) for x ** n, x of floats and n computed ints (integral floats: the
        same powers; Numba's power of an int exponent raises ZeroDivisionError at x = 0 for
        n < 0, NumPy's and Numba's of a float one give inf)."""
        g = self.g
        x, n = (g[i].aval for i in node.inputs)
        if _number(g, node.inputs[1]) is not None or not _float_aval(x):
            return None
        if n is None or n.dtype is None or n.dtype.kind not in "iu":
            return None
        one = 1.0 if x.dtype == np.float64 else x.dtype.type(1.0)  # (n * np.float32(1.0):
        # float32 for an np.int16 n, as NumPy's power of x by it; 1.0 would make it float64)
        exponent = self.new(node, "multiply", (node.inputs[1], self.const(node, one)))
        return self.new(node, "power", (node.inputs[0], exponent))

    def cancelled(self, node) -> int | None:
        """In a backward or forward pass, `(a * d) / d` -> a, `(a * d ** k) / d` -> a * d ** (k -
        1), and `(a / d) * (c * d)` -> a * c: equal where d is not 0, and where it is, the limit
        that a derivative continuous there takes, not NaN (`np.linalg.norm(x) ** 2` at x = 0:
        2 n / n, n the norm). The result keeps the node's shape (a number broadcast to it)."""
        g = self.g
        if node.op == "divide":
            d, rest = node.inputs[1], (lambda: self.quotient(node, node.inputs[0], node.inputs[1]))
            a = None
        else:  # (a / d) * q
            quotients = [k for k in (0, 1) if g[node.inputs[k]].op == "divide"]
            if not quotients:
                return None
            k = quotients[0]
            a, d = g[node.inputs[k]].inputs
            rest = lambda: self.quotient(node, node.inputs[1 - k], d)  # noqa: E731
        if _number(g, d) is not None or d not in self.floats:
            return None
        q = rest()
        if q is None:
            return None
        if a is not None:
            q = a if q == () else self.new(node, "multiply", (a, q))
        elif q == ():
            q = self.const(node, 1.0)
        number = _number(g, q)
        if number is not None:  # (every other factor a number: the node has d's shape)
            shape = self.new(node, "shape", (d,))
            return self.new(node, "broadcast_to", (self.const(node, float(number)), shape))
        if q not in self.floats:
            return None
        if self.keys[q] == self.keys[node.id]:
            return q
        if self.typed and node.aval is not None and node.aval.known:
            return self.new(node, "broadcast_to", (q, self.const(node, node.aval.shape)))
        return None

    def quotient(self, like, q: int, d: int, depth: int = 3):
        """q / d with one factor d taken out of q: () for d itself, d ** (k - 1) for d ** k (a
        number k > 1), a product with the factor taken out of one operand; None where d is
        no factor of q (looked for `depth` products deep)."""
        g = self.g
        if q == d:
            return ()
        node = g[q]
        if node.op == "power" and node.inputs[0] == d:
            k = _number(g, node.inputs[1])
            if k is None or k <= 1:
                return None
            return d if k == 2 else self.new(like, "power", (d, self.const(like, k - 1)))
        if node.op != "multiply" or depth == 0:
            return None
        for k in (0, 1):
            taken = self.quotient(like, node.inputs[k], d, depth - 1)
            if taken is not None:
                other = node.inputs[1 - k]
                return other if taken == () else self.new(like, "multiply", (taken, other))
        return None

    def scaled(self, nid: int, reader: int) -> tuple | None:
        """(c, y, expand_dims attrs or None) where nid, read by `reader` alone, is c * y for a
        number c, or np.expand_dims of such a product."""
        g = self.g
        node = g[nid]
        if not g.read_alone_by(nid, reader):
            return None
        if node.op == "expand_dims" and len(node.inputs) == 1:
            inner = self.scaled(node.inputs[0], nid)
            return None if inner is None or inner[2] else (*inner[:2], dict(node.attrs))
        if node.op != "multiply" or len(node.inputs) != 2:
            return None
        for k in (0, 1):
            c = _number(g, node.inputs[k])
            if c is not None and _number(g, node.inputs[1 - k]) is None:
                return c, node.inputs[1 - k], None
        return None

    def unscaled(self, node, y: int, expand: dict | None) -> int:
        return y if expand is None else self.new(node, "expand_dims", (y,), expand)

    def sink_broadcast(self, node) -> int | None:
        """op(broadcast_to(s, S), y) -> broadcast_to(op(s, y), S) for a scalar s and a y whose
        shape broadcasts into S (its atoms are among S's): no array of one value is made, and
        the outer broadcast_to goes away when op(s, y) already has shape S."""
        g = self.g
        for k in (0, 1):
            b = g[node.inputs[k]]
            if b.op != "broadcast_to" or self.keys[b.inputs[0]] != SCALAR:
                continue
            other = node.inputs[1 - k]
            if not self.keys[other] <= self.keys[b.id]:
                continue
            s = b.inputs[0]
            inner = self.new(node, node.op, (s, other) if k == 0 else (other, s))
            if self.keys[inner] == self.keys[b.id]:
                return inner
            return self.new(node, "broadcast_to", (inner, b.inputs[1]))
        return None


def _may_blow_up(g: Graph, v: int) -> bool:
    """Whether v is a quotient or a power, or a product or negation of one among its factors:
    a derivative that may be inf or NaN where its operands are finite."""
    factors, seen = [v], set()
    while factors:  # (a walk, not a recursion: an unrolled loop's products nest deep)
        f = factors.pop()
        if g[f].op in ("divide", "power"):
            return True
        if g[f].op in ("multiply", "negative") and f not in seen:
            seen.add(f)
            factors.extend(g[f].inputs)
    return False


def _zero_outside(g: Graph, nid: int, depth: int = 8) -> frozenset:
    """The booleans c such that nid is zero wherever c is False, each of nid's shape or
    broadcasting to it: a mask (`x > 0`), `where(c, v, 0)` (c, and v's), a product's factors'
    (a quotient's dividend's, a negation's), the ones both terms of a sum or difference share;
    none found `depth` levels down: the empty set."""
    node = g[nid]
    if node.op in _MASK_OPS:
        return frozenset((nid,))
    if depth == 0:
        return frozenset()
    if node.op == "where":
        if _number(g, node.inputs[2]) != 0:
            return frozenset()
        return frozenset((node.inputs[0],)) | _zero_outside(g, node.inputs[1], depth - 1)
    if node.op in ("multiply", "divide", "negative"):
        factors = node.inputs[:1] if node.op == "divide" else node.inputs
        return frozenset().union(*(_zero_outside(g, f, depth - 1) for f in factors))
    if node.op in ("add", "subtract"):
        a, b = (_zero_outside(g, i, depth - 1) for i in node.inputs)
        return a & b
    return frozenset()


def _selected(g: Graph, nid: int, c: int, depth: int = 8) -> bool:
    """Whether every reader of nid is `where(c, ., 0)`, or a sum, product or negation each of
    whose readers is, `depth` levels up: nid's zeros outside c are selected already."""
    readers = g.users(nid)
    if not readers or depth == 0 or nid in g.outputs:
        return False
    for r in readers:
        node = g[r]
        if node.op == "where":
            if node.inputs[0] != c or node.inputs[1] != nid or _number(g, node.inputs[2]) != 0:
                return False
        elif node.op not in ("add", "subtract", "multiply", "negative"):
            return False
        elif not _selected(g, r, c, depth - 1):
            return False
    return True


def _masks(g: Graph, reader: int, w: int) -> bool:
    """Whether `reader` takes where-node w apart (`_Rewriter.masked_product`): a product of
    the backward pass (or of a tangent's), w not its divisor, or a negation."""
    r = g[reader]
    if not (r.backward or r.tangent):
        return False
    return r.op in ("multiply", "negative") or r.op == "divide" and r.inputs[0] == w != r.inputs[1]


def _union(a: set | None, b: set) -> set | None:
    return None if a is None else a | b


def _fits_like(graph: Graph, a: int, b: int) -> bool:
    """Both are `fit(_, x)` for the same x: the same shape and dtype."""
    return graph[a].op == graph[b].op == "fit" and graph[a].inputs[1] == graph[b].inputs[1]


def _constant_states(graph: Graph, back) -> bool:
    """Make each running cotangent of a `loop_vjp` that starts as a constant and that its body
    passes on unchanged (the seed 1.0 of `loss = loss + ...`) that constant in the body.
    Whether any was."""
    a, body = back.attrs, back.attrs["body"]
    nxt = {pos: body.outputs[r] for r, (kind, pos, _) in enumerate(a["outs"]) if kind == "state"}
    changed = False
    for s, p in enumerate(LoopVjp(back).state_params):
        init = graph[back.inputs[1 + s]]
        if init.op == "const" and nxt.get(s, p) == p and body.users(p):
            c = body.add("const", (), dict(init.attrs), body[p].loc, order=body[p].order)
            body[c].aval = body[p].aval
            outputs = list(body.outputs)
            body.replace_uses(p, c)
            body.outputs = outputs  # it is still passed on as it is
            changed = True
    return changed


def _float64_only(graph: Graph) -> bool:
    """Whether every value of the graph and of the graphs it owns has a known dtype, and every
    float among them is a float64 (complex128): then a Python float and a NumPy float64 give
    the same results wherever they go. (A loop's tape and stacked rows are made of its body's
    values; a check has no value.)"""
    for node in graph.nodes():
        avals = node.aval if isinstance(node.aval, tuple) else (node.aval,)
        if not isinstance(node.aval, tuple) and node.op != "item" and node.id not in graph.checks:
            if node.aval is None or node.aval.dtype is None:
                return False
        for a in avals:
            if a is not None and a.dtype is not None and a.dtype.kind in "fc":
                if a.dtype not in (np.float64, np.complex128):
                    return False
        if not all(_float64_only(sub) for sub in subgraphs(node)):
            return False
    return True


def _infer_untyped(graph: Graph) -> None:
    """The Avals of a graph whose params' are unknown (those no argument decides); where a
    shape rule fails, none (its bug costs these Avals, not the shape-polymorphic module)."""
    try:
        with kept(graph):  # (whatever happens, the Avals are put back as they were)
            infer(graph, [None] * len(graph.params))
            inferred = [(node, node.aval) for node in _all_nodes(graph)]
    except Exception:
        return
    for node, aval in inferred:
        node.aval = aval


def _all_nodes(graph: Graph):
    for node in graph.nodes():
        yield node
        for sub in subgraphs(node):
            yield from _all_nodes(sub)


def _refuse_views(graph: Graph) -> None:
    """A `check_entry` of a value whose Aval has an axis, read by ints alone (a matrix's row,
    a view, held while its array changes in place) is refused now, where it was written."""
    for c in graph.checks:
        check, value = graph[c], graph[graph[c].inputs[0]].aval
        if check.op != "check_entry" or not isinstance(value, Aval) or not value.rank:
            continue
        if _read_by_an_array(graph, check) is False:
            raise UnsupportedSyntaxError(_entry_view(check.attrs["what"], value.shape), check.loc)


def _known_shapes(graph: Graph) -> None:
    """`np.shape(v)` of a v whose Aval knows its shape, as that tuple: v is not computed for
    its shape alone (a loop whose result only a backward pass's unbroadcast reads the shape of
    is not simplified, only to be dropped)."""
    for node in list(graph.nodes()):
        if node.op != "shape" or len(node.inputs) != 1:
            continue
        aval = graph[node.inputs[0]].aval
        shape = aval.shape if isinstance(aval, Aval) and aval.kind != TUPLE else None
        if shape is not None and None not in shape:
            const = graph.const(tuple(shape), node.loc)
            graph[const].aval = graph[node.id].aval
            graph.replace_uses(node.id, const)


def _checks_in_place(graph: Graph) -> None:
    """Each check listed where the function made it: what its test is computed from no later
    than it (a test a rewrite made anew is listed last among the nodes free to go anywhere;
    the function's `raise` comes before the work after it, which bad arguments may fail)."""
    for c in graph.checks:
        at = graph[c].order
        for n in graph.ancestors_of([c]):
            if graph[n].order > at:
                graph.set_order(n, at)


def _checks_nothing(graph: Graph, check) -> bool:
    """A `check_scalar` or `check_entry` of a value whose Aval is 0-d checks nothing, nor a
    `check_entry` of a value read by an array of ints or a mask (a copy), nor a
    `check_numbers` of items whose Aval is a vector."""
    if check.op == "check_entry" and _read_by_an_array(graph, check):
        return True
    value = graph[check.inputs[0]].aval
    if check.op == "raise_if":  # (a test known false: `x.ndim != 1` of a vector's shape)
        test = graph[check.inputs[0]]
        known = test.attrs["value"] if test.op == "const" else getattr(value, "value", None)
        return isinstance(known, (bool, int, np.bool_, np.integer)) and not known
    if check.op == "check_numbers":
        return isinstance(value, Aval) and value.shape is not None and len(value.shape) == 1
    ops = ("check_scalar", "check_entry")
    return check.op in ops and isinstance(value, Aval) and value.shape == ()


def _read_by_an_array(graph: Graph, check) -> bool | None:
    """Whether a `check_entry`'s value was read by an array of ints or a mask (True: a copy),
    by ints alone (False), or None where an index's Aval does not say."""
    index = [graph[i].aval for i in check.inputs[1:]]
    if any(isinstance(a, Aval) and a.rank for a in index):
        return True
    return False if all(isinstance(a, Aval) and a.rank == 0 for a in index) else None


def _near(graph: Graph, changed: set[int], inputs: dict) -> set[int]:
    """The nodes a round after the first rewrites: those a rewrite of the last round (or its
    CSE and dce) may have made rewritable, the changed nodes (new ones, those whose inputs
    changed: `changed`) and the inputs of those dce removed (fewer users), with their users
    (a rewrite reads its inputs' inputs and users). A rewrite depending on nodes farther off
    waits for the next specialisation's simplify: fewer rounds rewrite every node again."""
    seeds = {n for n in changed if n in graph}
    for nid, ins in inputs.items():
        if nid not in graph:
            seeds.update(i for i in ins if i in graph)
    near = set(seeds)
    for n in seeds:
        near.update(graph.users(n))
    return near


def simplify(
    graph: Graph,
    float_params=(),
    body: bool = False,
    avals: list | None = None,
    float64: bool = False,
    batch_loops: bool = True,
    compiled: bool = False,
    residuals_taped: bool = True,
) -> Graph:
    """Simplify in place (and return) the graph; `float_params` are params known to be floats,
    `avals` (when given) the Avals of all params. A loop `body` keeps its outputs as they are
    (a function's get arrays of their own); `float64` says that every float of the function
    it belongs to is a float64 (see `specialise.rewrite`); `batch_loops` whether loops of
    independent steps may become whole-array code (`symgrad.passes.vectorise`: NumPy's
    windows and correlations, which another library's arrays may lack), and `compiled`
    whether the loops left run compiled (Numba).
    `residuals_taped`: whether a typed loop's tape records the values its backward loop reads
    (`symgrad.passes.residuals`), or only what it carries, the backward loop recomputing the
    rest (`recompute=True` of the transformations: less memory, more time)."""
    settle(graph)  # a custom derivative is the pass's that used it (symgrad.rules.custom)
    if avals is None and not body:  # what no argument decides: constants, loop indices
        _infer_untyped(graph)
    if avals is not None:  # the bodies' params typed, as every iteration sees them
        infer(graph, avals)
        _refuse_views(graph)
        graph.checks = [c for c in graph.checks if not _checks_nothing(graph, graph[c])]
        if not body:
            _known_shapes(graph)
        dce(graph)
        float64 = float64 or not body and _float64_only(graph)

    def inside(sub: Graph, float_params, typed) -> None:  # a structured node's body
        simplify(sub, float_params, True, typed, float64, batch_loops, compiled, residuals_taped)

    taped = False  # whether a VJP's tape changed the graph since it was inferred
    for node in graph.nodes():
        forward = node.op in ("loop", "while", "cond")  # a JVP's bodies: fits of tangents
        if avals is not None and forward:
            for inner in subgraphs(node):
                typed = [inner[p].aval for p in inner.params]
                inside(inner, (), typed)
        if node.op in ("loop_vjp", "cond_vjp"):  # a VJP body's last params, its seeds, are floats
            for inner in subgraphs(node):
                seeds = schema(node).seed_params(inner)
                typed = None if avals is None else [inner[p].aval for p in inner.params]
                inside(inner, seeds, typed)
                if node.op == "loop_vjp" and _constant_states(graph, node):
                    inside(inner, seeds, typed)
            if avals is not None and node.op == "loop_vjp":
                if residuals_taped:
                    residuals.record(graph, node)  # what the VJP reads, taped, not recomputed
                tape.untape(graph, node)  # values only the recomputation read, or a shape
                taped = True
    # the nodes whose inputs changed since the graph was last inferred (None: infer it all; a
    # structured node, its bodies simplified, is inferred again in any case)
    rewired = set() if avals is not None and not taped else None
    keys = None  # the shape classes of the last round (`shapes.shape_classes`)
    near = None  # the nodes a round rewrites (None: every one; see `_near`)
    for _ in range(20):
        merged: set[int] = set()
        inputs = {n.id: n.inputs for n in graph.nodes()}  # (of the nodes dce may remove)
        cse(graph, merged)
        dce(graph)
        if near is not None:
            near = _near(graph, near | merged, inputs)
        changes = _union(rewired, merged)
        rw = _Rewriter(graph, set(float_params), avals, body, float64, changes, keys, compiled)
        keys, rewired = rw.keys, set()
        changed, first_new = False, graph._next
        for node in list(graph.nodes()):
            if node.op in ("param", "const") or node.id not in graph:
                continue
            if near is not None and node.id not in near:
                continue
            if rw.typed and hoist_products(rw, node):  # a step's A @ X[i]: (X @ A.T)[i]
                changed = True
                continue
            batched = vectorised(rw, node) if rw.typed and batch_loops else None
            batched = batched or (decided(rw, node) if rw.typed else None)  # (a cond known)
            new = None if batched else rw.rewrite(node)  # (a loop: its results, batched)
            moved = batched or ({node.id: new} if new is not None and new != node.id else {})
            for old, equal in moved.items():
                rewired.update(graph.users(old))
                _keep_naming(graph, equal, graph[old])
                graph.replace_uses(old, equal)
            changed = changed or bool(moved)
        if not changed:  # (a round that changed nothing left nothing dead: the next one's
            break  # dce, after its CSE, removes what this one's rewrites left)
        near = rewired | {n for n in range(first_new, graph._next) if n in graph}
    if avals is not None:  # (a check's test folded: `x.ndim != 1` of a vector)
        graph.checks = [c for c in graph.checks if not _checks_nothing(graph, graph[c])]
    dce(graph)
    _checks_in_place(graph)
    if not body:
        own_outputs(graph, typed=avals is not None)
        dce(graph)
    return graph
