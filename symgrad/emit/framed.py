"""The loop nest of a `fused` node whose values lie in frames: slices read and updated in it.

Contract: `write_framed(writer, node, ...)` is `symgrad.emit.kernels.write_fused` for a fused
node with a layout (`attrs["frames"]`, `symgrad.passes.stencils`): it returns the statement
calling the nest and adds the nest's source to `writer.kernels`. The nest runs over
`attrs["shape"]`, from the first index or from the last (`attrs["order"]`), and computes each
value at the indices of its frame. Its last axis is split where a frame begins or ends along
it, one loop per piece (`for i in range(1, shape[0] - 1):`), so that no test along it is left
inside a loop (LLVM vectorises what remains); a frame's other axes are tested (`if i >= 1:`)
where it does not span them. A value used once is written into its reader, which runs where
it does. An update is its value inside its region and what it updates elsewhere (a conditional
expression where the region does not decide it); an array filled with a number is that
number. A value read from outside is read at the entry its reader needs: named once per index
(`x_i = x[i]`) where its frame spans the space, else where it is read (`x[i - 1]`). A value
read at an offset keeps each index's value until it is read: from one index to the next (the
offset one step back along the last axis, or a value computed at one index: `t9_1 = t9`, read
as t9_1), or in an array of its shape. Each result array is written at its own entries
(`k1[i - 1] = ...`), a number computed at one index assigned there, a total added up where
its operand is computed, and a result added into a running cotangent
(`symgrad.emit.scatter.into`) added there. Bounds are written from the axis's length where the
frames give them so (`shape[0] - 1`): one compiled nest serves the lengths that give the same
text.
"""

from __future__ import annotations

import ast

from symgrad.emit.compiled import DECORATOR, count_of, dtype_name, numbers_back
from symgrad.emit.control import _items
from symgrad.emit.inplace import Plan
from symgrad.ir.avals import ARRAY
from symgrad.ir.names import fresh
from symgrad.passes.frames import Bound, at, lengths, ranged
from symgrad.rules import RULES

_INDICES = ["i", "j", "k"]


def _bound(b: Bound, d: int) -> str:
    """A Bound's text: `3`, `shape[0]`, `shape[0] - 1`."""
    if not b.k:
        return str(b.c)
    base = f"shape[{d}]"
    return base if not b.c else f"{base} + {b.c}" if b.c > 0 else f"{base} - {-b.c}"


def _minus(index: str, b: Bound, d: int) -> str:
    """`index - b` as text."""
    if not b.k:
        return index if not b.c else f"{index} - {b.c}" if b.c > 0 else f"{index} + {-b.c}"
    return f"{index} - ({_bound(b, d)})" if b.c else f"{index} - {_bound(b, d)}"


def _plus(index: str, k: int, c: int, d: int) -> str:
    """`index + (shape[d] * k + c)` as text."""
    if not k:
        return index if not c else f"{index} + {c}" if c > 0 else f"{index} - {-c}"
    sign = "+" if k > 0 else "-"
    k, c = abs(k), c if k > 0 else -c  # index - (shape[d] * |k| - c) where k < 0
    length = f"shape[{d}]" if k == 1 else f"{k} * shape[{d}]"
    term = length if not c else f"({length} + {c})" if c > 0 else f"({length} - {-c})"
    return f"{index} {sign} {term}"


def _entry(frame, index: list[str]) -> list[str]:
    """The value's entry at the nest's index: one position per axis of its own."""
    return [_minus(index[d], frame[d].lo, d) for d in ranged(frame)]


def _spans(frame) -> bool:
    return all(not a.point and a.lo == (0, 0) and a.hi == (1, 0) for a in frame)


def _sizes(frame) -> list[str]:
    """The length of each of the value's axes, as text."""
    return [
        _bound(Bound(frame[d].hi.k - frame[d].lo.k, frame[d].hi.c - frame[d].lo.c), d)
        for d in ranged(frame)
    ]


def _shape_text(frame) -> str:
    """The value's shape as text, `shape` where it spans the nest."""
    if _spans(frame):
        return "shape"
    dims = _sizes(frame)
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _zero(dtype) -> str:
    return "0.0" if dtype.kind == "f" else "False" if dtype.kind == "b" else "0"


def _loads(aval, frame, index: list[str], nest: tuple) -> list[str]:
    """The position a value read from outside is read at, for a reader of this frame: its
    entry, and 0 along each axis it spans once (broadcast)."""
    own, sizes = _entry(frame, index), lengths(frame, nest)
    offset = len(own) - len(aval.shape)
    return [
        "0" if d == 1 and sizes[offset + a] != 1 else own[offset + a]
        for a, d in enumerate(aval.shape)
    ]


def _where(entry: list[str]) -> str:
    """An entry's subscript: `i, 0`, or `()` for a 0-d array's one entry."""
    return ", ".join(entry) or "()"


def _next(off, order: int, nest: tuple) -> bool:
    """Whether an offset reads the value at the index just before, along the last axis."""
    if any(k for k, _ in off):
        return False
    return at(off, nest) == (0,) * (len(nest) - 1) + (-order,)


def _segments(frames: list, nest: tuple, order: int, start: int) -> list[tuple[Bound, Bound]]:
    """The pieces of the last axis from `start`, in the order the loop runs them, where no
    frame begins or ends inside one."""
    d, n = len(nest) - 1, nest[-1]
    cuts: dict[int, Bound] = {start: Bound(0, start), n: Bound(1, 0)}
    for frame in frames:
        axis = frame[d]
        hi = axis.lo.plus(1) if axis.point else axis.hi
        for b in (axis.lo, hi):
            cuts.setdefault(b.at(n), b)
    points = sorted(v for v in cuts if start <= v <= n)
    pieces = [(cuts[a], cuts[b]) for a, b in zip(points, points[1:])]
    return pieces if order > 0 else pieces[::-1]


class _Segment:
    """The piece [lo, hi) of the last axis a loop runs over (`_segments`)."""

    def __init__(self, lo: Bound, hi: Bound, nest: tuple):
        self.lo, self.hi, self.nest = lo, hi, nest

    def test(self, frame, index: list[str]) -> str | None:
        """The test that an index of this piece lies in the frame: '' where every one does,
        None where none does."""
        parts, last = [], len(self.nest) - 1
        for d, (axis, i) in enumerate(zip(frame, index)):
            n = self.nest[d]
            lo = axis.lo.at(n)
            hi = lo + 1 if axis.point else axis.hi.at(n)
            if d == last:
                if not lo <= self.lo.at(n) < hi:
                    return None
                continue
            if axis.point:
                parts.append(f"{i} == {_bound(axis.lo, d)}")
                continue
            if axis.lo != (0, 0):
                parts.append(f"{i} >= {_bound(axis.lo, d)}")
            if axis.hi != (1, 0):
                parts.append(f"{i} < {_bound(axis.hi, d)}")
        return " and ".join(parts)


def write_framed(writer, node, scalar_writer, base, shape_argument) -> list[str]:
    """See the module docstring (`scalar_writer`: `kernels._ScalarWriter`; `base`: the variable
    an argument reads, to name its parameter; `shape_argument`: the lengths' text where the
    nest is called)."""
    body, nest = node.attrs["body"], node.attrs["shape"]
    frames, order = node.attrs["frames"], node.attrs["order"]
    kernels = writer.kernels
    name = f"_fused{len(kernels.sources) + 1}"
    used = {"np", "math", "numba", "shape"}
    index = [fresh(_INDICES[d] if d < 3 else f"i{d}", used) for d in range(len(nest))]
    texts = [ast.unparse(writer.expr(i)) for i in node.inputs]
    args: dict[str, str] = {}  # an outer value's text -> its argument (one per value)
    for o, p in zip(texts, body.params):
        if o not in args:
            args[o] = fresh(base(ast.parse(o, mode="eval").body) or body[p].name or "a", used)
    arg_of = {p: args[o] for o, p in zip(texts, body.params)}
    spans = [p for p in body.params if _spans(frames[p]) and body[p].aval.kind == ARRAY]
    names = {
        p: fresh(f"{arg_of[p]}_{''.join(index)}", used) if p in spans else arg_of[p]
        for p in body.params
    }
    offsets = [n for n in body.nodes() if n.op == "getitem" and "offset" in n.attrs]
    stored = list(dict.fromkeys(n.inputs[0] for n in offsets))
    carried = {  # kept in a number: read at the index before, or computed at one index
        w
        for w in stored
        if not ranged(frames[w])
        or all(_next(n.attrs["offset"], order, nest) for n in offsets if n.inputs[0] == w)
    }
    sub = _framed_writer(scalar_writer)(
        node, index, arg_of, spans, carried, body, used, names, Plan(forced=set(stored)), writer
    )
    sub.keep = {w: fresh(f"{sub.names[w]}_{'1' if w in carried else 's'}", used) for w in stored}
    into, items = writer.into.get(node.id, {}), _items(writer, node)
    folds = node.attrs["folds"]
    n_arrays = len(body.outputs) - len(folds)
    named = {**items, **{k: acc for k, (acc, _) in into.items()}}
    results = [fresh(named.get(k, "out"), used) for k in range(len(node.aval))]
    before = []
    for w in stored:  # the values read at an offset: kept from index to index, or in arrays
        dtype = body[w].aval.dtype
        if w in carried:
            before.append(f"{sub.keep[w]} = {_zero(dtype)}")
        else:
            shape = _shape_text(frames[w])
            before.append(f"{sub.keep[w]} = np.empty({shape}, {dtype_name(dtype)})")
    for k, (r, o) in enumerate(zip(results, body.outputs)):
        aval, frame = node.aval[k], frames[o]
        if k in into:
            continue
        if k < n_arrays and ranged(frame):
            before.append(f"{r} = np.empty({_shape_text(frame)}, {dtype_name(aval.dtype)})")
        elif k < n_arrays:  # a number computed at one index
            before.append(f"{r} = {_zero(aval.dtype)}")
        else:  # a fold: one running value, or one per entry of the axes kept
            op, reduced, keepdims = folds[k - n_arrays]
            shape = None
            if aval.shape != ():
                dims = [
                    ("1" if keepdims else "") if a in reduced else n
                    for a, n in enumerate(_sizes(frame))
                ]
                dims = [x for x in dims if x]
                shape = f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"
            fold = RULES[op].fold
            before.append(f"{r} = {fold.made(shape, dtype_name(aval.dtype), aval.dtype.kind)}")

    def steps(piece: _Segment) -> list[tuple[str, str]]:
        """The statements of one index in this piece of the last axis, each with its test."""
        sub.piece = piece
        out = []
        for p in spans:
            test = piece.test(frames[p], index)
            if test is not None:
                where = _where(_loads(body[p].aval, frames[p], index, nest))
                out.append((test, f"{names[p]} = {arg_of[p]}[{where}]"))
        for n in body.nodes():
            test = piece.test(frames[n.id], index) if n.id in frames else None
            if n.op in ("param", "const") or n.id in sub.inline or test is None:
                continue
            sub.inline.add(n.id)
            value = ast.unparse(sub.expr(n.id))
            sub.inline.discard(n.id)
            out.append((test, f"{sub.names[n.id]} = {value}"))
        for k, (r, o) in enumerate(zip(results, body.outputs)):
            frame = frames[o]
            test = piece.test(frame, index)
            if test is None:
                continue
            value, own = ast.unparse(sub.expr(o)), _entry(frame, index)
            if k in into:
                out.append((test, f"{r}[{', '.join(own)}] += {value}"))
            elif k < n_arrays and not own:
                out.append((test, f"{r} = {value}"))
            elif k < n_arrays:
                out.append((test, f"{r}[{', '.join(own)}] = {value}"))
            else:  # a fold
                op, reduced, keepdims = folds[k - n_arrays]
                target = r
                if node.aval[k].shape != ():
                    kept = [
                        ("0" if keepdims else "") if a in reduced else e for a, e in enumerate(own)
                    ]
                    target += f"[{', '.join(x for x in kept if x)}]"
                out.append((test, RULES[op].fold.step.format(r=target, v=value)))
        for w in stored:
            test = piece.test(frames[w], index)
            if test is not None:
                target = sub.keep[w]
                if w not in carried:
                    target += f"[{', '.join(_entry(frames[w], index))}]"
                out.append((test, f"{target} = {ast.unparse(sub.expr(w))}"))  # (a fill: 0.0)
        return out

    all_frames = [*frames.values(), *node.attrs["regions"].values()]
    start = node.attrs.get("start", 0)
    pieces = [_Segment(lo, hi, nest) for lo, hi in _segments(all_frames, nest, order, start)]
    lines = before + _loops(index, order, nest, pieces, steps)
    returned = [r for k, r in enumerate(results[:n_arrays]) if k not in into]
    outs = zip(results[n_arrays:], folds, body.outputs[n_arrays:], node.aval[n_arrays:])
    for r, (op, reduced, _), o, aval in outs:
        sizes = _sizes(frames[o])
        count = count_of([sizes[a] for a in sorted(reduced)])
        number = dtype_name(aval.dtype) if aval.shape == () else None
        returned.append(RULES[op].fold.result(r, count, number))
    if returned:
        lines.append(f"return {', '.join(returned)}")
    work = [n for n in body.nodes() if n.op not in ("param", "const") and "offset" not in n.attrs]
    doc = f"{node.aval[0].dtype.name}, entry by entry"
    doc += ", from the last" if order < 0 else ""
    doc += f": {len(work)} step" + "s" * (len(work) != 1)
    doc += f", {len(folds)} total{'s' * (len(folds) != 1)}" if folds else ""
    added = [results[k] for k in into]
    doc += f", added into {', '.join(added)}" if into else ""
    params = ", ".join([*added, *args.values(), "shape"])
    source = [DECORATOR, f"def {name}({params}):", f'    """{doc}."""']
    kernels.sources.append("\n".join(source + ["    " + line for line in lines]))
    lengths_text = shape_argument(writer, nest)
    call = f"{name}({', '.join([*(array for _, array in into.values()), *args, lengths_text])})"
    if not returned:
        return [call]
    kept = [k for k in range(len(node.aval)) if k not in into]
    targets = [items.get(k, "_") for k in kept]
    out = [f"{', '.join(targets)} = {call}"]
    return out + numbers_back(targets, [node.aval[k] for k in kept], kernels.inside)


def _loops(index: list[str], order: int, nest: tuple, pieces: list, steps) -> list[str]:
    """The loop nest: a loop over each axis but the last, then one loop per piece of the
    last (an assignment of the index for a piece of one) with work to do, each running
    `steps(piece)`, a statement under its test (one `if` for a run of statements under the
    same one)."""
    lines, last = [], len(nest) - 1
    for d, i in enumerate(index[:-1]):
        bounds = f"shape[{d}]" if order > 0 else f"shape[{d}] - 1, -1, -1"
        lines.append("    " * d + f"for {i} in range({bounds}):")
    outer = "    " * last
    for piece in pieces:
        work = steps(piece)
        if not work:  # (nothing lies there: an entry no value of the nest covers)
            continue
        i, n = index[-1], nest[-1]
        if piece.hi.at(n) - piece.lo.at(n) == 1:
            head = f"{i} = {_bound(piece.lo, last)}"
        elif order > 0:
            start = "" if piece.lo == (0, 0) else f"{_bound(piece.lo, last)}, "
            head = f"for {i} in range({start}{_bound(piece.hi, last)}):"
        else:
            head = f"for {i} in range({_bound(piece.hi.plus(-1), last)}, "
            head += f"{_bound(piece.lo.plus(-1), last)}, -1):"
        lines.append(outer + head)
        pad, current = outer + "    " * head.startswith("for "), None
        for test, text in work:
            if test != current:
                current = test
                if test:
                    lines.append(f"{pad}if {test}:")
            inner = pad + "    " * bool(test)
            lines += [inner + s for s in text.splitlines()]
    if last and lines[-1].lstrip().startswith("for "):
        lines.append(outer + "pass")
    return lines


def _framed_writer(scalar_writer):
    """The scalar writer, reading by frame (see the module docstring)."""

    class Framed(scalar_writer):
        def __init__(self, node, index, arg_of, spans, carried, body, used, names, plan, writer):
            self.frames, self.regions = node.attrs["frames"], node.attrs["regions"]
            self.nest = node.attrs["shape"]
            self.index, self.arg_of, self.spans, self.carried = index, arg_of, set(spans), carried
            self.keep: dict[int, str] = {}
            self.piece = _Segment(Bound(0, 0), Bound(1, 0), self.nest)  # (until one is set)
            super().__init__(
                body, used, names, True, plan, _no_kernels(), writer.helper_names, False
            )
            self.inline |= {n.id for n in body.nodes() if "fill" in n.attrs}  # a number

        def expr(self, nid: int) -> ast.expr:
            node = self.graph[nid]
            if node.op == "param":
                if nid in self.spans or node.aval.kind != ARRAY:
                    return ast.Name(self.names[nid], ast.Load())
                where = _where(_loads(node.aval, self.frames[nid], self.index, self.nest))
                return ast.parse(f"{self.arg_of[nid]}[{where}]", mode="eval").body
            if nid not in self.inline:
                return ast.Name(self.names[nid], ast.Load())
            if node.op == "getitem" and "offset" in node.attrs:
                return self.shifted(node)
            if node.op == "setitem":
                base, value = node.inputs
                test = self.piece.test(self.regions[nid], self.index)
                if test is None:
                    return self.expr(base)
                if not test:
                    return self.expr(value)
                test_expr = ast.parse(test, mode="eval").body
                return ast.IfExp(test_expr, self.expr(value), self.expr(base))
            if "fill" in node.attrs:
                fill, kind = node.attrs["fill"], node.aval.dtype.kind
                value = float(fill) if kind == "f" else bool(fill) if kind == "b" else fill
                return ast.Constant(value)
            return super().expr(nid)

        def shifted(self, node) -> ast.expr:
            """A value read at an offset: kept from the index before, or in its array."""
            w = node.inputs[0]
            keep = self.keep.get(w, "t99")  # (measuring a line: not named yet)
            if w in self.carried:
                return ast.Name(keep, ast.Load())
            off, frame = node.attrs["offset"], self.frames[w]
            entry = [  # index + offset - lo
                _plus(self.index[d], off[d][0] - frame[d].lo.k, off[d][1] - frame[d].lo.c, d)
                for d in ranged(frame)
            ]
            return ast.parse(f"{keep}[{', '.join(entry)}]", mode="eval").body

    return Framed


def _no_kernels():
    from symgrad.emit.kernels import Kernels

    return Kernels()
