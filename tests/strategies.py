"""Hypothesis strategies for differential fuzzing: random straight-line NumPy programs.

Contract: `programs()` draws a `Program`: the source of `def f(<inputs>): t1 = ...; ...; return ...`
(registered with linecache, so symgrad reads it like any user function), the arguments to check it
at and the `argnums` to differentiate. Statements compose the rule table's primitives, spelled as
its examples spell them and grouped by the table's facts: shape-preserving unaries (`shape ==
"elementwise"`, one input), broadcasting binaries (`broadcasts`, two inputs), reductions (`shape ==
"reduce"`) with random `axis`/`keepdims`, contractions, reshapes, transposes, indexing, joins, and
every other example as a template whose missing operands are fresh inputs of the declared shape.
Inputs may be used many times, and some are not differentiated (ints, masks, constants).

The builder evaluates each statement as it goes. An operand outside its primitive's domain (the
example's declared domain) is first mapped into it (`np.exp(t)`, `np.tanh(t) * 0.9`, ...), and a
statement is kept only away from kinks and discontinuities (ties of max/maximum, clip bounds,
comparison thresholds, abs at 0) and from large values, so that central differences are an exact
enough oracle: a failed check is symgrad's fault, never the generator's.
"""

from __future__ import annotations

import itertools
import linecache
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from symgrad.checks.examples import Input, parse_example, sample
from symgrad.rules import BY_METHOD, RULES

GAP = 0.05  # distance kept from every kink and threshold
BOUND = 20.0  # largest magnitude of any intermediate value
FINAL_BOUND = 30.0  # largest sum of magnitudes of the output's entries
MAX_SIZE = 120  # largest number of entries of any intermediate value
_COUNTER = itertools.count()


# the rule table, grouped by its facts -------------------------------------------------------


def _template(example: str) -> tuple[str, list[Input]]:
    """'np.log(x) | x: 3x4 positive' -> ('np.log({0})', inputs): operands become slots."""
    expr, inputs = parse_example(example)
    names = {inp.name: "{%d}" % k for k, inp in enumerate(inputs)}
    expr = expr.replace("{", "{{").replace("}", "}}")
    if names:
        expr = re.sub(r"\b(%s)\b" % "|".join(names), lambda m: names[m.group(1)], expr)
    return expr, inputs


def _differentiable(rule) -> bool:
    """A rule a user's code can call (not a VJP helper), with a gradient and examples."""
    internal = rule.helper is not None and rule.helper in rule.callables
    user_facing = rule.callables or rule.name in (*BY_METHOD.values(), "astype", "getitem")
    user_facing = (user_facing or rule.name == "split_part") and not internal
    return bool(user_facing and rule.vjp and not rule.nondiff and rule.examples)


def _table():
    unary, binary, reduce, other = [], [], {}, []
    for name, rule in sorted(RULES.items()):
        if not _differentiable(rule):
            continue
        templates = [_template(ex) for ex in rule.examples]
        if rule.shape == "elementwise" and len(rule.array_params) == 1:
            unary += dict.fromkeys((name, e, i[0].domain) for e, i in templates if len(i) == 1)
        elif rule.shape == "elementwise" and rule.broadcasts and len(rule.array_params) == 2:
            e, i = templates[0]
            binary.append((name, e, i[0].domain, i[1].domain))
        elif rule.shape == "reduce":
            expr = parse_example(rule.examples[0])[0]
            reduce[name] = (expr.split("(")[0], any(f"a.{name}(" in ex for ex in rule.examples))
        else:
            other += [(name, e, list(i)) for e, i in templates]
    return unary, binary, reduce, other


UNARY, BINARY, REDUCE, OTHER = _table()
BINARY += [("subtract", "{0} - {1}", "real", "real")]  # the operator spellings
UNARY += [("negative", "-{0}", "real")]
# clip, where, comparisons and casts to int have kinks or jumps: built below, with margins
OTHER = [o for o in OTHER if o[0] not in ("clip", "where") and not re.search(r"[<>]|int\)", o[1])]
PAIRS = [o for o in OTHER if o[0] in ("matmul", "dot", "inner", "outer")]

# maps from any real operand into a domain, tried in order; `{0}` is the operand
INTO = {
    "real": ["{0}"],
    "positive": ["np.exp({0})", "{0} * {0} + 1.0", "np.abs({0}) + 0.5", "np.exp(np.tanh({0}))"],
    "unit": ["np.tanh({0}) * 0.9", "np.sin({0}) * 0.8", "np.tanh({0} * 0.3) * 0.9"],
    "nonzero": ["{0}", "{0} * {0} + 0.5", "np.exp({0})"],
    "withzero": ["{0}", "np.tanh({0})"],
    "above_one": ["{0} * {0} + 1.2", "np.exp({0}) + 1.2", "np.cosh({0}) + 0.3"],
    "probability": ["np.tanh({0}) * 0.4 + 0.5"],
}


def in_domain(v, domain: str) -> bool:
    v = np.asarray(v)
    if domain == "positive":
        return v.min() > 0.2
    if domain == "unit":
        return np.abs(v).max() < 0.9
    if domain == "above_one":  # (arccosh's: its derivative is infinite at 1)
        return v.min() > 1.15
    if domain == "probability":
        return 0.05 < v.min() and v.max() < 0.95
    if domain == "nonzero":
        return np.abs(v).min() > GAP
    if domain == "invertible":
        return v.ndim >= 2 and v.shape[-1] == v.shape[-2] > 1 and np.linalg.cond(v).max() < 20
    if domain.endswith(("svd", "qr")):  # full rank (QR's R invertible), and for the SVD
        if v.ndim < 2:  # singular values apart: differentiable (a broadcast matrix's rows alike,
            return False  # a cross product's rows in one plane: a zero one, its vectors arbitrary)
        s = np.linalg.svd(v, compute_uv=False)
        gaps = -np.diff(s, axis=-1) if s.shape[-1] > 1 and domain.endswith("svd") else s
        return bool(s.min() > GAP and gaps.min() > GAP)
    return True


def _gap_to(v, thresholds) -> float:
    v = np.asarray(v, dtype=float)
    return min(float(np.abs(v - t).min()) for t in thresholds)


def _top_two_gap(v, axis, largest: bool) -> float:
    """The smallest distance between the extreme entry and the next one along `axis`."""
    v = np.asarray(v, dtype=float)
    axes = tuple(range(v.ndim)) if axis is None else np.atleast_1d(axis) % max(v.ndim, 1)
    axes = tuple(int(a) for a in axes)
    if v.ndim == 0 or all(v.shape[a] == 1 for a in axes):
        return np.inf
    rest = [a for a in range(v.ndim) if a not in axes]
    flat = np.transpose(v, rest + list(axes)).reshape([v.shape[a] for a in rest] + [-1])
    flat = np.sort(flat if largest else -flat, axis=-1)
    return float((flat[..., -1] - flat[..., -2]).min())


# programs ------------------------------------------------------------------------------------


@dataclass
class Program:
    source: str
    args: list
    argnums: tuple[int, ...]
    f: object = field(repr=False, default=None)

    def __repr__(self) -> str:
        args = ", ".join(
            f"np.array({a.tolist()!r})" if isinstance(a, np.ndarray) else repr(a) for a in self.args
        )
        return f"{self.source}args = [{args}]\nargnums = {self.argnums}\n"


def program_function(source: str):
    """The function defined by `source` (named f), with a source symgrad can read."""
    filename = f"<symgrad fuzz {next(_COUNTER)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"np": np}
    exec(compile(source, filename, "exec"), namespace)
    return namespace["f"]


class _Reject(Exception):
    pass


class Builder:
    """Grows one program, statement by statement, keeping the value of every name."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng  # every choice: uniform, where hypothesis's draws favour the first
        self.inputs: list[tuple[str, object, bool]] = []  # name, value, differentiated
        self.env: dict[str, object] = {}
        self.values: list[str] = []  # names holding float values, oldest first
        self.lines: list[str] = []
        self.helpers: list[str] = []  # source of helper functions the program calls
        self.count = 0

    # choices ---------------------------------------------------------------------------------
    def integer(self, low: int, high: int) -> int:
        return int(self.rng.integers(low, high + 1))

    def choice(self, seq):
        return seq[self.integer(0, len(seq) - 1)]

    def flip(self, p: float = 0.5) -> bool:
        return self.rng.random() < p

    def operand(self) -> str:
        """An existing value, most often a recent one (fan-out happens when one is reused)."""
        n = len(self.values)
        k = self.integer(0, n - 1) if self.flip(0.4) else n - 1 - self.integer(0, min(1, n - 1))
        return self.values[k]

    def shape_of(self, name: str) -> tuple[int, ...]:
        return np.shape(self.env[name])

    # inputs ------------------------------------------------------------------------------------
    def new_input(self, shape: tuple | str, domain: str = "real", diff: bool = True) -> str:
        name = "abcdwxyzuv"[len(self.inputs)] if len(self.inputs) < 10 else f"p{len(self.inputs)}"
        spec = shape if isinstance(shape, str) else "x".join(map(str, shape))
        value = sample(Input(name, spec, domain), self.rng)
        self.inputs.append((name, value, diff))
        self.env[name] = value
        self.values.append(name)
        return name

    def random_shape(self) -> tuple | str:
        ndim = self.choice([0, 1, 1, 2, 2, 2, 3])
        if ndim == 0:
            return self.choice(["f", ""])
        return tuple(self.choice([1, 2, 3, 4]) for _ in range(ndim))

    def broadcast_partner_shape(self, shape: tuple) -> tuple | str:
        """A shape that broadcasts against `shape`: bias vectors, (3, 1) with (4,), scalars."""
        kind = self.choice(["same", "suffix", "ones", "grow", "scalar"])
        if kind == "scalar" or not shape:
            return self.choice(["f", ""])
        if kind == "same":
            return shape
        if kind == "suffix":
            return shape[self.integer(1, len(shape)) :] or "f"
        out = [1 if (self.flip() and d > 1) else d for d in shape]
        out = [self.choice([2, 3, 4]) if d == 1 and self.flip() else d for d in out]
        if kind == "grow" and len(shape) < 3:
            out = [self.choice([2, 3])] + out
        return tuple(out)

    # statements --------------------------------------------------------------------------------
    def evaluate(self, expr: str, bound: float = BOUND):
        try:
            with np.errstate(all="raise"), warnings.catch_warnings():
                warnings.simplefilter("error")
                value = eval(expr, {"np": np}, dict(self.env))
        except Exception as e:
            raise _Reject(expr) from e
        scalars = {k: v[()] for k, v in self.env.items() if np.ndim(v) == 0 and hasattr(v, "shape")}
        if scalars:  # central differences perturb a 0-d array into a NumPy scalar: both must work
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    eval(expr, {"np": np}, {**self.env, **scalars})
            except Exception as e:
                raise _Reject(expr) from e
        if isinstance(value, (tuple, list)) or not (
            isinstance(value, float) or getattr(value, "dtype", None) == np.float64
        ):
            raise _Reject(expr)
        v = np.asarray(value)
        if (
            v.size == 0
            or v.size > MAX_SIZE
            or not np.isfinite(v).all()
            or v.ndim > 4
            or np.abs(v).max() > bound
        ):
            raise _Reject(expr)
        return value

    def into(self, name: str, domain: str) -> str:
        """An expression of `name` inside `domain` (raises _Reject when none is)."""
        if domain == "invertible":
            n = self.shape_of(name)[-1] if len(self.shape_of(name)) >= 2 else 0
            maps = ["{0}", "{0} * 0.2 + 2.0 * np.eye(%d)" % n] if n > 1 else []
        else:
            maps = INTO.get(domain, ["{0}"])
        start = self.integer(0, len(maps) - 1) if len(maps) > 1 else 0
        for m in maps[start:] + maps[:start]:
            expr = m.format(name)
            try:
                if in_domain(self.evaluate(expr), domain):
                    return expr if expr == name else f"({expr})"
            except _Reject:
                pass
        raise _Reject(domain)

    def assign(self, expr: str, check=None) -> str:
        value = self.evaluate(expr)
        if check is not None and not check(value):
            raise _Reject(expr)
        used = sorted(set(re.findall(r"\b[a-z]\w*\b", expr)) & set(self.env))
        if len(used) == 1 and self.flip(0.1):  # through a helper function (symgrad inlines it)
            helper = f"h{len(self.helpers) + 1}"
            body = re.sub(rf"\b{used[0]}\b", "v", expr)
            self.helpers.append(f"def {helper}(v):\n    return {body}\n\n\n")
            expr = f"{helper}({used[0]})"
        return self.bind(expr, value)

    def bind(self, expr: str, value, target: str | None = None) -> str:
        self.count += 1
        name = f"t{self.count}"
        self.lines.append(f"    {target or name} = {expr}")
        self.env[name] = value
        self.values.append(name)
        return name

    def augment(self, name: str) -> str:
        """Sometimes `name += u`: only on a fresh array or number (no alias sees it change)."""
        if not self.flip(0.15) or "np.asarray" in self.lines[-1] or "np.array(" in self.lines[-1]:
            return name
        shape = self.shape_of(name)
        fits = [v for v in self.values if _broadcasts(self.shape_of(v), shape)]
        fits = [v for v in fits if np.broadcast_shapes(self.shape_of(v), shape) == shape]
        op = self.choice(["+", "-", "*"])
        other = self.choice(fits + ["2.0"])
        try:
            value = self.evaluate(f"{name} {op} {other}")
        except _Reject:
            return name
        self.lines.append(f"    {name} {op}= {other}")
        self.env[name] = value
        return name

    # one statement of each kind ----------------------------------------------------------------
    def unary(self):
        name, template, domain = self.choice(UNARY)
        return self.augment(self.assign(template.format(self.into(self.operand(), domain))))

    def partner(self, t: str, domain: str) -> str:
        """A second operand for an elementwise binary: existing, fresh, a constant or an int."""
        shape = self.shape_of(t)
        kind = self.choice(["existing", "fresh", "fresh", "constant"])
        if kind == "existing":
            fits = [v for v in self.values if _broadcasts(self.shape_of(v), shape)]
            return self.into(self.choice(fits), domain)
        if kind == "fresh":
            u = self.new_input(self.broadcast_partner_shape(shape), diff=self.flip(0.85))
            return self.into(u, domain)
        if domain == "real" and self.flip(0.2):  # an int input, never differentiated
            name = f"k{len(self.inputs)}"
            self.inputs.append((name, int(self.choice([2, 3])), False))
            self.env[name] = self.inputs[-1][1]
            return name
        return self.choice(["2.0", "0.5", "3", "1.5"] if domain != "real" else ["2.0", "-1.5", "3"])

    def binary(self):
        name, template, d1, d2 = self.choice(BINARY)
        t = self.operand()
        if name == "power" and self.flip(0.4):  # constant exponents: any base for integers
            k = self.choice(["2", "3", "0.5", "-1"])
            return self.assign(
                f"{self.into(t, 'positive' if k in ('0.5', '-1') else 'real')} ** {k}"
            )
        a, b = self.into(t, d1), self.partner(t, d2)
        if self.flip(0.4):
            if d1 != d2:
                return self.assign(template.format(self.into(b, d1), self.into(a, d2)))
            a, b = b, a
        check = None
        if name in ("maximum", "minimum"):
            check = lambda _: _gap_to(self.evaluate(f"{a} - {b}"), [0.0]) > GAP  # noqa: E731
        if name == "power":
            check = lambda _: np.abs(self.evaluate(b)).max() < 4  # noqa: E731
        return self.augment(self.assign(template.format(a, b), check))

    def reduction(self):
        name = self.choice(sorted(REDUCE))
        path, method = REDUCE[name]
        t = self.operand()
        shape = self.shape_of(t)
        if not shape:
            raise _Reject(name)
        axis = self.choice([None, self.integer(-len(shape), len(shape) - 1)])
        if axis is not None and len(shape) > 1 and self.flip(0.3):
            axis = tuple(sorted(self.rng.choice(len(shape), 2, replace=False).tolist()))
        keepdims = self.flip(0.3)
        args = [] if axis is None else [f"axis={axis}"]
        args += ["keepdims=True"] if keepdims else []
        if name in ("var", "std") and self.flip(0.3):
            args.append("ddof=1")
        operand = self.into(t, "withzero" if name == "prod" else "real")
        call = (
            f"{operand}.{name}({', '.join(args)})"
            if method and self.flip(0.3)
            else f"{path}({', '.join([operand] + args)})"
        )
        value = self.evaluate(operand)
        if name in ("max", "min"):
            check = lambda _: _top_two_gap(value, axis, name == "max") > GAP  # noqa: E731
        elif name in ("std", "norm"):
            check = lambda r: np.min(r) > GAP  # noqa: E731
        elif name == "prod":
            check = lambda r: np.size(value) // max(np.size(r), 1) <= 6  # noqa: E731
        else:
            check = None
        return self.assign(call, check)

    def contraction(self):
        """matmul / dot / inner / outer with a second operand shaped to fit: W @ x + b layers."""
        name, template, _ = self.choice(PAIRS)
        t = self.operand()
        s = self.shape_of(t)
        if not s:
            raise _Reject(name)
        m = self.choice([1, 2, 3, 4])
        if name == "outer":
            other = (self.choice([2, 3]),)
        elif name == "inner":
            other = (m, s[-1]) if self.flip() else (s[-1],)
        elif self.flip():  # t on the left: contract its last axis
            other = (s[-1], m) if self.flip(0.7) else (s[-1],)
        else:  # t on the right: contract its first (1-D) or second-to-last axis
            other = (m, s[0] if len(s) == 1 else s[-2])
            return self.assign(template.format(self.fitting(other), t))
        return self.assign(template.format(t, self.fitting(other)))

    def einsum(self):
        """np.einsum over t's axes and a second operand sharing some of them, any output."""
        t = self.operand()
        s = self.shape_of(t)
        if not s or len(s) > 3:
            raise _Reject("einsum")
        mine = "ijk"[: len(s)]
        size = dict(zip(mine, s))
        size["m"] = self.choice([1, 2, 3])
        theirs = "".join(c for c in mine if self.flip(0.6)) + ("m" if self.flip() else "")
        theirs = "".join(self.rng.permutation(list(theirs))) if theirs else ""
        for c in theirs:  # a length-1 axis broadcasts against the same index of the other
            if size[c] == 1 and c != "m" and self.flip(0.3):
                size[c] = 3
        labels = sorted(set(mine + theirs))
        out = "".join(c for c in self.rng.permutation(labels) if self.flip(0.6))
        spec = f"{mine},{theirs}" if theirs else mine
        spec += f"->{out}" if self.flip(0.7) else ""
        if not theirs:
            return self.assign(f"np.einsum('{spec}', {t})")
        other = self.fitting(tuple(size[c] for c in theirs))
        return self.assign(f"np.einsum('{spec}', {t}, {other})")

    def fitting(self, shape: tuple) -> str:
        fits = [v for v in self.values if self.shape_of(v) == shape]
        if fits and self.flip(0.3):
            return self.choice(fits)
        return self.new_input(shape, diff=self.flip(0.9))

    def reshape(self):
        t = self.operand()
        s = self.shape_of(t)
        n = int(np.prod(s))
        factors = [d for d in range(1, n + 1) if n % d == 0]
        d = self.choice(factors)
        target = self.choice([(n,), (d, n // d), (d, -1), (-1,), (d, 1, n // d)])
        spelled = ", ".join(map(str, target))
        axis = self.integer(0, len(s))
        spellings = [
            f"{t}.reshape({spelled})",
            f"np.reshape({t}, ({spelled},))",
            f"np.expand_dims({t}, {axis})",
            f"np.broadcast_to({t}, {(self.choice([2, 3]),) + tuple(s)})",
        ]
        if 1 in s:
            ones = [k for k, d in enumerate(s) if d == 1]
            spellings += [f"np.squeeze({t})", f"np.squeeze({t}, axis={self.choice(ones)})"]
            grown = tuple(self.choice([2, 3]) if d == 1 else d for d in s)
            spellings.append(f"np.broadcast_to({t}, {grown})")
        return self.assign(self.choice(spellings))

    def transpose(self):
        t = self.operand()
        nd = len(self.shape_of(t))
        if nd < 2:
            raise _Reject("transpose")
        perm = tuple(int(p) for p in self.rng.permutation(nd))
        i, j = self.rng.choice(nd, 2, replace=False).tolist()
        return self.assign(
            self.choice(
                [
                    f"{t}.T",
                    f"np.transpose({t}, {perm})",
                    f"np.swapaxes({t}, {i}, {j - nd})",
                    f"np.moveaxis({t}, {i}, {j})",
                ]
            )
        )

    def index(self):
        t = self.operand()
        s = self.shape_of(t)
        if not s or 0 in s:
            raise _Reject("index")
        parts = self.index_parts(s)
        if self.flip(0.1):
            thr = self.choice([0.0, 0.3, -0.5])
            if _gap_to(self.env[t], [thr]) > GAP:
                return self.assign(f"{t}[{t} > {thr}]")
        return self.assign(f"{t}[{', '.join(parts)}]")

    def write(self):
        """`y = t * 1.0` then `y[index] = u`: an assignment to elements, through an index that
        may repeat an entry (NumPy keeps one of the writes: the others have no gradient)."""
        t = self.operand()
        s = self.shape_of(t)
        if not s or 0 in s:
            raise _Reject("write")
        index = ", ".join(self.index_parts(s))
        try:  # (an index whose `...` moved an int onto a shorter axis: NumPy refuses it)
            region = np.shape(eval(f"_y[{index}]", {"_y": self.env[t], "np": np}))
        except (IndexError, ValueError) as e:
            raise _Reject("write") from e
        y = self.bind(f"{t} * 1.0", self.env[t] * 1.0)
        fits = [v for v in self.values if _broadcasts(self.shape_of(v), region) and v != y]
        fits = [v for v in fits if np.broadcast_shapes(self.shape_of(v), region) == region]
        u = self.choice(fits) if fits and self.flip(0.6) else self.fitting(region)
        exec(f"_y[{index}] = _u", {"_y": self.env[y], "_u": self.env[u], "np": np})
        self.lines.append(f"    {y}[{index}] = {u}")
        self.values.remove(y)  # (the latest value again, after u)
        self.values.append(y)
        return y

    def index_parts(self, s: tuple) -> list[str]:
        """The items of an index into an array of shape s: ints, slices, steps, None, and at
        most one list of ints (repeats allowed)."""
        parts = []
        for d in s[: self.integer(1, len(s))]:
            kind = self.choice(["int", "slice", "step", "all", "rev", "none", "fancy"])
            if kind == "int":
                parts.append(str(self.integer(-d, d - 1)))
            elif kind == "slice" and d > 1:
                lo = self.integer(0, d - 2)
                parts.append(f"{lo}:{self.integer(lo + 1, d)}")
            elif kind == "step":
                parts.append(self.choice(["::2", "1::2", "::-2"] if d > 1 else ["::2", "::-2"]))
            elif kind == "rev":
                parts.append("::-1")
            elif kind == "none":
                parts += ["None", ":"]
            elif kind == "fancy" and "[" not in "".join(parts):
                idx = [int(i) for i in self.rng.integers(0, d, self.choice([1, 2, 3]))]
                parts.append(str(idx))  # repeated indices accumulate
            else:
                parts.append(":")
        if self.flip(0.15):
            parts = ["...", parts[-1]]
        return parts

    def join(self):
        t = self.operand()
        s = self.shape_of(t)
        if not s:
            raise _Reject("join")
        axis = self.integer(-len(s), len(s) - 1)
        if self.flip(0.3):
            other = self.fitting(s)
            axis = self.integer(-len(s) - 1, len(s))
            return self.assign(f"np.stack([{t}, {other}], axis={axis})")
        other_shape = list(s)
        other_shape[axis] = self.choice([1, 2, 3])
        other = t if self.flip(0.2) else self.fitting(tuple(other_shape))
        parts = [t, other] + ([t] if self.flip(0.2) else [])
        return self.assign(f"np.concatenate([{', '.join(parts)}], axis={axis})")

    def split(self):
        """`u, v = np.split(t, ...)`: tuple unpacking."""
        t = self.operand()
        s = self.shape_of(t)
        axis = self.integer(0, len(s) - 1) if s else 0
        if not s or s[axis] < 2:
            raise _Reject("split")
        sections = "2" if s[axis] % 2 == 0 and self.flip() else f"[{self.integer(1, s[axis] - 1)}]"
        call = f"np.split({t}, {sections}, axis={axis})"
        parts = [self.evaluate(f"{call}[{k}]") for k in range(2)]
        names = [f"t{self.count + 1}", f"t{self.count + 2}"]
        self.count += 2
        self.lines.append(f"    {names[0]}, {names[1]} = {call}")
        for name, value in zip(names, parts):
            self.env[name] = value
            self.values.append(name)
        return names[1]

    def select(self):
        """where and clip, with the condition and the bounds kept clear of every entry."""
        t = self.operand()
        v = self.env[t]
        if self.flip():
            lo, hi = self.choice([(-0.5, 0.7), (None, 0.2), (0.1, None), (-1.0, 1.0)])
            bounds = [b for b in (lo, hi) if b is not None]
            if _gap_to(v, bounds) <= GAP:
                raise _Reject("clip")
            return self.assign(f"np.clip({t}, {lo}, {hi})")
        c = self.choice(self.values)
        thr = self.choice([0.0, 0.3, -0.2])
        if _gap_to(self.env[c], [thr]) <= GAP:
            raise _Reject("where")
        other = self.partner(t, "real")
        if self.flip(0.3):
            return self.assign(f"{t} * ({c} > {thr})")
        return self.assign(f"np.where({c} > {thr}, {t}, {other})")

    def masked_input(self):
        """A non-differentiable input that only ever meets a comparison."""
        t = self.operand()
        m = self.new_input(self.broadcast_partner_shape(self.shape_of(t)), diff=False)
        self.values.remove(m)
        if _gap_to(self.env[m], [0.0]) <= GAP:
            raise _Reject("mask")
        return self.assign(self.choice([f"np.where({m} > 0, {t}, 0.5 * {t})", f"{t} * ({m} < 0)"]))

    def template(self):
        """Any other rule example, applied to an existing value; other operands are fresh."""
        name, template, inputs = self.choice(OTHER)
        slot = self.integer(0, len(inputs) - 1)
        operands = []
        for k, inp in enumerate(inputs):
            if k == slot:
                fits = [v for v in self.values if self.shape_of(v) == inp.dims]
                t = self.choice(fits) if fits and self.flip(0.7) else self.operand()
                operands.append(self.into(t, inp.domain))
            else:
                shape = inp.dims if inp.shape != "f" else "f"
                fresh = self.new_input(shape, inp.domain, diff=inp.differentiable)
                operands.append(fresh)
        return self.assign(template.format(*operands))

    def statement(self):
        kinds = [
            (self.unary, 4),
            (self.binary, 5),
            (self.reduction, 2),
            (self.contraction, 2),
            (self.reshape, 1),
            (self.transpose, 1),
            (self.index, 2),
            (self.write, 1),
            (self.join, 1),
            (self.select, 1),
            (self.split, 1),
            (self.einsum, 2),
            (self.masked_input, 1),
            (self.template, 3),
        ]
        weighted = [k for k, w in kinds for _ in range(w)]
        for _ in range(8):
            snapshot = (list(self.inputs), dict(self.env), list(self.values), list(self.lines))
            try:
                return self.choice(weighted)()
            except _Reject:
                self.inputs, self.env, self.values, self.lines = snapshot
        return self.assign(f"np.tanh({self.operand()})")  # always fits

    # the whole program -------------------------------------------------------------------------
    def finish(self) -> str:
        """The returned expression: the last value (reduced or not) plus every unused value.
        Its entries stay small: central differences lose about 1e-10 of the output's magnitude
        to rounding, which a small directional derivative must not drown in."""
        last = self.values[-1]
        outs = [last]
        if np.ndim(self.env[last]):
            reduced = [f"np.sum({last})", f"np.mean({last} ** 2)", f"np.sum({last} * {last})"]
            outs = [self.choice(reduced), last] if self.flip(0.6) else [last]
            outs.append(f"np.mean({last})")
        uses = "\n".join(line.split("=", 1)[1] for line in self.lines)
        dangling = [v for v in self.values if v.startswith("t") and v != last]
        dangling = [v for v in dangling if not re.search(rf"\b{v}\b", uses)]
        if dangling and self.flip(0.8):  # every statement reaches the output
            outs = [" + ".join([o] + [f"np.mean({v})" for v in dangling]) for o in outs]
        for out in outs:
            size = np.abs(self.evaluate(out, bound=np.inf)).sum()
            if size <= FINAL_BOUND:
                return out
        return f"({out}) * {10.0 ** -np.ceil(np.log10(size / FINAL_BOUND))}"


def _broadcasts(a: tuple, b: tuple) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


@st.composite
def programs(draw, max_statements: int = 7) -> Program:
    """A random straight-line NumPy program, its arguments and the argnums to check."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    b = Builder(rng)
    for _ in range(draw(st.integers(1, 2))):
        b.new_input(b.random_shape())
    for _ in range(draw(st.integers(1, max_statements))):
        b.statement()
    try:
        out = b.finish()
    except _Reject:  # (a value NumPy reduces only with a warning: an empty one)
        assume(False)
    names = [name for name, _, _ in b.inputs]
    source = "".join(b.helpers) + f"def f({', '.join(names)}):\n"
    source += "".join(line + "\n" for line in b.lines)
    source += f"    return {out}\n"
    argnums = tuple(k for k, (_, _, diff) in enumerate(b.inputs) if diff)
    if not argnums:  # at least one differentiated input
        b.inputs[0] = (b.inputs[0][0], b.inputs[0][1], True)
        argnums = (0,)
    args = [value for _, value, _ in b.inputs]
    return Program(source, args, argnums, program_function(source))
