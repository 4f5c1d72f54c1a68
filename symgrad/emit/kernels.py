"""Compiled loops: each `fused` node as one Numba loop nest, called from the emitted function.

Contract: `write_fused(writer, node)` returns the statement calling the loop nest of one
`fused` node (`symgrad.passes.fuse`) and adds the nest's source to `writer.kernels`, which
`emit_module` writes above the functions, after `import numba`. The nest reads each input
entry by entry (a broadcast input at index 0 along the axes it spans once, a number as it is),
computes the cluster's work on numbers with each rule's `Rule.scalar` spelling, writes every
result array in the same pass and folds the reductions it holds (`Rule.fold`: into a number, or
along the axes a reduction keeps, into an array: `b_bar[j] += ...`, `m[i, 0] = np.maximum(m[i,
0], ...)`):

    @numba.njit(cache=True, error_model="numpy")
    def _fused1(x, t4, shape):
        \"\"\"float64, entry by entry: 14 steps, 1 total.\"\"\"
        t8 = np.empty(shape, np.float64)
        t9 = 0.0
        for i in range(shape[0]):
            x_i = x[i]
            ...
            t8[i] = ...
            t9 += ...
        return t8, t9

called as `t8, t9 = _fused1(x, t4, (1000,))`. The lengths are the nest's arguments, not part of
its text, so specialisations for other lengths (with the same axes of length 1 broadcast) run
the same compiled function (`symgrad.emit.load`).
`error_model="numpy"` makes a division by zero give inf or nan, as in NumPy; no `fastmath`, so
results match the NumPy module's up to the order of additions in a sum. `cache=True` keeps the
machine code on disk beside the module file (`symgrad.emit.load`).
"""

from __future__ import annotations

import ast

import numpy as np

from symgrad.emit.codegen import _Writer
from symgrad.emit.compiled import DECORATOR, count_of, dtype_name, numbers_back
from symgrad.emit.control import _items
from symgrad.ir.avals import ARRAY
from symgrad.ir.names import fresh
from symgrad.rules import RULES
from symgrad.rules.table import SAME, literal

_INDICES = {1: ["i"], 2: ["i", "j"], 3: ["i", "j", "k"]}


class Kernels:
    """The compiled functions one module's functions call, in the order they are written:
    loop nests, and where `loops` (a module for the Numba backend), whole loops
    (`symgrad.emit.compiled`; `inside` while one is written)."""

    def __init__(self, loops: bool = False):
        self.sources: list[str] = []
        self.loops, self.inside = loops, False
        self.arrays: set[tuple[int, int]] = set()  # (id of a graph, its tape item) as arrays
        # while a compiled loop is written (`compiled.attempt`): its parameters that stand for
        # values known statically -> their text at its call, and const nodes -> those names
        self.literals: dict[str, str] = {}
        self.lifted: dict[tuple[int, int], str] = {}

    def constant(self, writer, nid: int, numbers=(int,), besides=()) -> bool:
        """Whether node nid of writer's graph, read in the compiled loop being written, is a
        number it takes as an argument: a constant of one of these types, but for `besides`."""
        node = writer.graph[nid]
        value = node.attrs.get("value") if node.op == "const" else None
        return self.inside and type(value) in numbers and value not in besides

    def lift(self, writer, nid: int, name: str) -> str:
        """The parameter of the compiled loop being written that stands for const node nid of
        writer's graph (its value passed where the loop is called)."""
        key = (id(writer.graph), nid)
        if key not in self.lifted:
            self.lifted[key] = fresh(name, writer.used)
            self.literals[self.lifted[key]] = ast.unparse(literal(writer.graph[nid].attrs["value"]))
        return self.lifted[key]

    @property
    def names(self) -> set[str]:
        return {s.split("def ", 1)[1].split("(", 1)[0] for s in self.sources}

    def imports(self, numba: bool = False) -> list[str]:
        """The module's imports: NumPy, and with loop nests (or helpers that are compiled
        loops, `numba`), Numba (and math where a nest reads it)."""
        if not self.sources and not numba:
            return ["import numpy as np"]
        uses_math = any("math." in s for s in self.sources)
        return ["import math"] * uses_math + ["import numba", "import numpy as np"]


class _ScalarWriter(_Writer):
    """Writes a fused body's statements on numbers (each rule's `scalar` spelling; in a nest
    marked `vector`, its `vector` function of a float64, which LLVM vectorises). `limited`
    collects the arguments of vector functions exact only below a bound (`exact_below`: sin
    and cos), as (text, bound); None: such a function is not used."""

    compiled = True
    vector = False
    limited: list | None = None

    def spell(self, rule, args: list[ast.expr], attrs: dict, node=None) -> ast.expr:
        fn = rule.vector if self.vector and _float64s(self.graph, node) else None
        bound = getattr(fn, "exact_below", None)
        if fn is not None and (bound is None or self.limited is not None):
            if bound is not None:
                self.limited.append((ast.unparse(args[0]), bound))
            self.helpers.add(fn.__name__)
            return ast.Call(ast.Name(fn.__name__, ast.Load()), args, [])
        if rule.scalar is SAME:
            return rule.emit(args, attrs, rule)
        return _template(rule.scalar, args)


def _float64s(graph, node) -> bool:
    """Whether node (where given) and its inputs are float64 numbers or arrays."""
    if node is None:
        return False
    values = [node, *(graph[i] for i in node.inputs)]
    return all(getattr(v.aval, "dtype", None) == np.float64 for v in values)


def _template(text: str, args: list[ast.expr]) -> ast.expr:
    """`text` ("np.maximum({0}, 0.0)") with the k-th argument's expression at {k}."""
    tree = ast.parse(text.format(*[f"_arg{k}" for k in range(len(args))]), mode="eval").body

    class Put(ast.NodeTransformer):
        def visit_Name(self, node):
            return args[int(node.id[4:])] if node.id.startswith("_arg") else node

    return Put().visit(tree)


def _base(expr: ast.expr) -> str | None:
    """The variable an argument reads (`x` of `x[:-1]` or `x.T`), to name its parameter."""
    while isinstance(expr, (ast.Subscript, ast.Attribute)):
        expr = expr.value
    return expr.id if isinstance(expr, ast.Name) else None


def write_fused(writer, node) -> list[str]:
    if "frames" in node.attrs:  # slices read or updated in the nest (`symgrad.emit.framed`)
        from symgrad.emit.framed import write_framed

        return write_framed(writer, node, _ScalarWriter, _base, shape_argument)
    body, shape = node.attrs["body"], node.attrs["shape"]
    kernels = writer.kernels
    name = f"_fused{len(kernels.sources) + 1}"
    used = {"np", "math", "numba", "abs", *_shapes(node)}  # (the lengths' names: no argument's)
    index = [fresh(i, used) for i in _INDICES.get(len(shape), [f"i{k}" for k in range(len(shape))])]
    outer = [writer.expr(i) for i in node.inputs]
    args = [fresh(_base(o) or body[p].name or "a", used) for o, p in zip(outer, body.params)]
    items, into = _items(writer, node), writer.into.get(node.id)
    named = {k: acc for k, (acc, _) in into.items()} if into else items  # into: (acc, array)
    results = [fresh(named.get(k, "out"), used) for k in range(len(node.aval))]
    loads, elements = _loads(body, shape, index, args, used)
    sub = _ScalarWriter(body, used, elements, True, None, kernels, writer.helper_names)
    sub.vector = node.attrs.get("vector", False)
    again = None  # where sin or cos is vectorised: the C library's, in a second pass if needed
    if sub.vector and not into and not node.attrs.get("scatters"):
        sub.limited = []
        again = _ScalarWriter(body, used, elements, True, None, kernels, writer.helper_names)
    lines = _nest(node, sub, index, results, loads, into is not None, again)
    writer.helpers |= sub.helpers  # (vectorised functions: `Rule.vector`)
    n_steps = sum(1 for n in body.nodes() if n.op not in ("param", "const"))
    folds = node.attrs["folds"]
    doc = f"{node.aval[0].dtype.name}, entry by entry: {n_steps} step"
    doc += "s" * (n_steps != 1)
    doc += f", {len(folds)} total{'s' * (len(folds) != 1)}" if folds else ""
    doc += f", added into {', '.join(results)}" if into else ""
    shapes = _shapes(node)
    params = ", ".join([*(results if into else ()), *args, *shapes])
    source = [DECORATOR, f"def {name}({params}):", f'    """{doc}."""']
    kernels.sources.append("\n".join(source + ["    " + line for line in lines]))
    call = [ast.unparse(o) for o in outer] + [shape_argument(writer, v) for v in shapes.values()]
    if into:
        return [f"{name}({', '.join([*(array for _, array in into.values()), *call])})"]
    targets = [items.get(k, "_") for k in range(len(node.aval))]
    lines = [f"{', '.join(targets)} = {name}({', '.join(call)})"]
    return lines + numbers_back(targets, node.aval, kernels.inside)


def shape_argument(writer, shape: tuple) -> str:
    """A nest's lengths where it is called: `(1000,)`; in a compiled loop, a parameter of the
    loop's function standing for them (`Kernels.literals`), so that its text serves other
    lengths too."""
    text, literals = repr(tuple(shape)), writer.kernels.literals
    if not writer.kernels.inside:
        return text
    same = [n for n, v in literals.items() if v == text and n.startswith("shape")]
    if same:
        return same[0]
    name = fresh("shape", writer.used)
    literals[name] = text
    return name


def _shapes(node) -> dict[str, tuple]:
    """The shapes a nest takes as arguments, by parameter name: the loop nest's, then that of
    each array of zeros its results are added into (`scatters`)."""
    scatters = node.attrs.get("scatters", ())
    out = {"shape": tuple(node.attrs["shape"])}
    out.update({f"shape{k + 1}": tuple(dest) for k, (dest, _, _) in enumerate(scatters)})
    return out


def _loads(body, shape, index, args, used) -> tuple[list[str], dict[int, str]]:
    """The statements reading each array argument's entry (`x_i = x[i]`; a broadcast one at 0
    along the axes it spans once), and the name each body param is read by (a number's: its
    argument's)."""
    loads, elements = [], {}
    for p, a in zip(body.params, args):
        aval = body[p].aval
        if aval.kind != ARRAY:
            elements[p] = a
            continue
        offset = len(shape) - len(aval.shape)
        spans = [
            "0" if d == 1 and shape[offset + k] != 1 else index[offset + k]
            for k, d in enumerate(aval.shape)
        ]
        elements[p] = fresh(f"{a}_{''.join(s for s in spans if s != '0')}".rstrip("_"), used)
        loads.append(f"{elements[p]} = {a}[{', '.join(spans) if spans else '()'}]")
    return loads, elements


def _tuple(dims: list[str]) -> str:
    """A shape tuple's spelling from its lengths' (`""`: an axis left out)."""
    kept = [d for d in dims if d]
    return f"({kept[0]},)" if len(kept) == 1 else f"({', '.join(kept)})"


def _nest(node, sub, index, results, loads, into: bool = False, again=None) -> list[str]:
    """The kernel's body: the result arrays and totals, the loop nest, the totals finished;
    `into`: the results are arrays of the nest's shape it adds into (`scatter.into`). Where
    sub vectorised functions exact only below a bound (`_ScalarWriter.limited`: sin, cos), the
    nest counts the entries with an argument beyond it, and where there are some, runs again
    with `again`'s statements (the C library's functions), its totals started afresh."""
    length = [f"shape[{d}]" for d in range(len(node.attrs["shape"]))]  # (its arguments)
    made, started, steps = _pass(node, sub, index, results, loads, into, length)
    limited = dict(sub.limited or ())
    if again is not None and limited:
        flag = fresh("beyond", sub.used)
        made.insert(0, f"{flag} = 0  # entries whose sin or cos the C library computes, after")
        steps += [f"{flag} += abs({text}) > {bound!r}" for text, bound in limited.items()]
    lines = made + started + _loops(index, length, steps)
    if again is not None and limited:
        _, started, steps = _pass(node, again, index, results, loads, into, length)
        lines += [
            f"if {flag}:",
            *("    " + line for line in started + _loops(index, length, steps)),
        ]
    return lines if into else lines + [f"return {', '.join(_returned(node, results, length))}"]


def _loops(index: list[str], length: list[str], steps: list[str]) -> list[str]:
    """The loop nest over `index`, its innermost body `steps`."""
    lines = [
        "    " * depth + f"for {i} in range({length[depth]}):" for depth, i in enumerate(index)
    ]
    return lines + ["    " * len(index) + s for text in steps for s in text.splitlines()]


def _counts(node) -> tuple[int, int]:
    """(how many arrays, how many values added into arrays of zeros) a nest's body gives
    besides its totals: its outputs are the arrays, the totals, then the values added."""
    n_added = sum(len(added) for _, _, added in node.attrs.get("scatters", ()))
    n_outputs = len(node.attrs["body"].outputs)
    return n_outputs - len(node.attrs["folds"]) - n_added, n_added


def _pass(node, sub, index, results, loads, into: bool, length: list[str]) -> tuple:
    """(the statements making the result arrays, those starting the totals, the statements of
    one entry) as sub writes them."""
    body, folds = node.attrs["body"], node.attrs["folds"]
    scatters = node.attrs.get("scatters", ())
    n_arrays, n_added = _counts(node)
    made, started, steps = [], [], [*loads, *sub.statements()]
    for k, (r, o) in enumerate(zip(results, body.outputs[: len(body.outputs) - n_added])):
        aval, value = node.aval[k], ast.unparse(sub.expr(o))
        if into:
            steps.append(f"{r}[{', '.join(index)}] += {value}")
        elif k < n_arrays:
            made.append(f"{r} = np.empty(shape, {dtype_name(aval.dtype)})")
            steps.append(f"{r}[{', '.join(index)}] = {value}")
        else:  # a fold: one running value, or one per entry of the axes kept
            op, reduced, keepdims = folds[k - n_arrays]
            fold, target, shape_text = RULES[op].fold, r, None
            if aval.shape != ():
                kept = [
                    ("0" if keepdims else "") if d in reduced else i for d, i in enumerate(index)
                ]
                dims = [
                    ("1" if keepdims else "") if d in reduced else n for d, n in enumerate(length)
                ]
                target, shape_text = f"{r}[{', '.join(i for i in kept if i)}]", _tuple(dims)
            kind = aval.dtype.kind
            started.append(f"{r} = {fold.made(shape_text, dtype_name(aval.dtype), kind)}")
            steps.append(fold.step.format(r=target, v=value))
    at_zeros = zip(results[n_arrays + len(folds) :], scatters)
    for k, (r, (_, dtype, added)) in enumerate(at_zeros):
        made.append(f"{r} = np.zeros(shape{k + 1}, {dtype_name(dtype)})")
        for o, offsets in added:
            at = [f"{i} + {d}" if d else i for i, d in zip(index, offsets)]
            steps.append(f"{r}[{', '.join(at)}] += {ast.unparse(sub.expr(body.outputs[o]))}")
    return made, started, steps


def _returned(node, results: list[str], length: list[str]) -> list[str]:
    """What the kernel returns: its arrays, its totals finished, its arrays of zeros added to."""
    folds = node.attrs["folds"]
    n_arrays, _ = _counts(node)
    returned = results[:n_arrays]
    for k, (r, (op, reduced, _)) in enumerate(zip(results[n_arrays:], folds)):
        count = count_of([length[d] for d in sorted(reduced)])
        aval = node.aval[n_arrays + k]
        number = dtype_name(aval.dtype) if aval.shape == () else None
        returned.append(RULES[op].fold.result(r, count, number))
    return returned + results[n_arrays + len(folds) :]
