"""Elementwise primitives: NumPy ufuncs and friends, with their backward functions.

Contract: every rule here maps arrays of broadcast-compatible shapes to their broadcast shape; the
reverse pass sums each cotangent back to its input's shape (so templates ignore broadcasting).
Templates use `ans` (the saved output) where the textbook backward function does: tanh, sigmoid,
exp, sqrt. Where a template divides by a primal value, it multiplies the cotangent by a local
derivative of primal values alone where that saves work (sqrt: `g * (0.5 / ans)`; divide's x2:
`-g * (ans / x2)`, and `-g * (ans * ans)` for `1 / x2`): the factor is computed once for every
cotangent and tangent that needs it (common subexpressions), off the cotangent's chain of
dependent operations, where `g / (2 * ans)` divided each one anew. Their Jacobians are diagonal,
so each JVP is its VJP with the tangent for the cotangent (`jvp=DIAGONAL`); a tangent may keep
its input's (smaller) shape, and broadcasts.
Piecewise rules follow JAX: abs has derivative sign(x), and 1 at 0; maximum/minimum
share a tie evenly between two arrays (JAX's balanced rule) and give 0 at a tie with a constant
(`np.maximum(z, 0.0)` is relu: jax.nn.relu's derivative at 0 is 0). SymPy forms receive the
sympy module and one symbol per input.
"""

import ast
import math as pymath

import numpy as np

from symgrad.ir.avals import ARRAY, PYTHON, Aval, of_value
from symgrad.rules import runtime
from symgrad.rules import runtime_vector as rv
from symgrad.rules.build import is_const, is_none, ops, value_of
from symgrad.rules.table import DIAGONAL, SAME, binop, call, defrule, int_division_jit, unaryop

EW = {"shape": "elementwise", "broadcasts": True, "scalar": SAME}
VECTOR = ("float32", "float64")  # Rule.simd of NumPy's SVML-derived loops
PLAIN = {"simd": ()}  # (arithmetic: a loop nest's is as fast)


def unary(name, vjp, sympy, math, domain="real", numpy=None, methods=(), emit=None, **facts):
    """An elementwise function of one input (`numpy`: the NumPy callables denoting it, default
    np.<name>). `twin` names its function in Python's math module (default: the same name,
    where math has it), which denotes it too: math.exp(x) of a float is np.exp(x), a NumPy
    float (a float). NumPy computes it with vectorised loops (`Rule.simd`) unless `simd`
    says otherwise."""
    fns = numpy if isinstance(numpy, tuple) else (numpy or getattr(np, name),)
    examples = (f"np.{name}(x) | x: 3x4 {domain}", f"np.{name}(x) | x: f {domain}")
    twin, facts = facts.pop("twin", None), {"simd": VECTOR, **facts}
    python = getattr(pymath, twin or name, None)
    defrule(
        name,
        "x",
        emit or call(f"np.{name}"),
        numpy=fns if python is None else (*fns, python),
        methods=methods,
        vjp={"x": vjp},
        sympy=sympy,
        math=math,
        domain={"x": domain},
        examples=examples,
        jvp=DIAGONAL,
        **EW,
        **facts,
    )


def binary_examples(spelling: str, d1: str = "real", d2: str = "real") -> tuple[str, ...]:
    """Same shapes, broadcasting both ways, and a Python-float operand."""
    call_ = spelling if "{" in spelling else spelling + "({0}, {1})"
    shapes = (("3x4", "3x4"), ("2x1x4", "3x1"), ("4", "3x4"), ("3x4", "f"))
    return tuple(call_.format("x1", "x2") + f" | x1: {a} {d1}, x2: {b} {d2}" for a, b in shapes)


unary("exp", lambda g, ans: g * ans, lambda sp, x: sp.exp(x), "v ⊙ exp(x)", vector=rv._vexp)
unary("log", lambda g, x: g / x, lambda sp, x: sp.log(x), "v / x", "positive", vector=rv._vlog)
unary(
    "log2",
    lambda g, x: g / (x * 0.6931471805599453),
    lambda sp, x: sp.log(x, 2),
    "v / (x ln 2)",
    "positive",
)
unary(
    "log10",
    lambda g, x: g / (x * 2.302585092994046),
    lambda sp, x: sp.log(x, 10),
    "v / (x ln 10)",
    "positive",
)
unary(
    "exp2",
    lambda g, ans: g * (ans * 0.6931471805599453),
    lambda sp, x: 2**x,
    "v ⊙ 2ˣ ln 2",
)
unary(
    "deg2rad",
    lambda g: g * (pymath.pi / 180),
    lambda sp, x: x * sp.pi / 180,
    "v π / 180",
    numpy=(np.deg2rad, np.radians),
    twin="radians",
    **PLAIN,
)
unary(
    "rad2deg",
    lambda g: g * (180 / pymath.pi),
    lambda sp, x: x * 180 / sp.pi,
    "v 180 / π",
    numpy=(np.rad2deg, np.degrees),
    twin="degrees",
    **PLAIN,
)
unary(
    "log1p",
    lambda g, x: g / (1 + x),
    lambda sp, x: sp.log(1 + x),
    "v / (1 + x)",
    "positive",
    vector=rv._vlog1p,
)
unary(
    "expm1",
    lambda g, ans: g * (ans + 1),
    lambda sp, x: sp.exp(x) - 1,
    "v ⊙ (expm1(x) + 1)",
    vector=rv._vexpm1,
)
unary(
    "sqrt",
    lambda g, ans: g * (0.5 / ans),
    lambda sp, x: sp.sqrt(x),
    "v / (2 √x)",
    "positive",
    **PLAIN,
)
unary("cbrt", lambda g, ans: g / (3 * ans**2), lambda sp, x: sp.cbrt(x), "v / (3 ∛x²)", "positive")
unary("square", lambda g, x: g * (2 * x), lambda sp, x: x**2, "2 v ⊙ x", **PLAIN)
unary("reciprocal", lambda g, ans: -g * ans**2, lambda sp, x: 1 / x, "−v / x²", "positive", **PLAIN)
unary(
    "sin",
    lambda g, x: g * ops.cos(x),
    lambda sp, x: sp.sin(x),
    "v ⊙ cos x",
    simd=("float32",),
    vector=rv._vsin,
)
unary(
    "cos",
    lambda g, x: -g * ops.sin(x),
    lambda sp, x: sp.cos(x),
    "−v ⊙ sin x",
    simd=("float32",),
    vector=rv._vcos,
)
unary("tan", lambda g, ans: g * (1 + ans**2), lambda sp, x: sp.tan(x), "v ⊙ (1 + tan² x)", "unit")
unary(
    "arcsin",
    lambda g, x: g / ops.sqrt(1 - x**2),
    lambda sp, x: sp.asin(x),
    "v / √(1 − x²)",
    "unit",
    twin="asin",
)
unary(
    "arccos",
    lambda g, x: -g / ops.sqrt(1 - x**2),
    lambda sp, x: sp.acos(x),
    "−v / √(1 − x²)",
    "unit",
    twin="acos",
)
unary("arctan", lambda g, x: g / (1 + x**2), lambda sp, x: sp.atan(x), "v / (1 + x²)", twin="atan")
unary("sinh", lambda g, x: g * ops.cosh(x), lambda sp, x: sp.sinh(x), "v ⊙ cosh x")
unary("cosh", lambda g, x: g * ops.sinh(x), lambda sp, x: sp.cosh(x), "v ⊙ sinh x")
unary(
    "tanh",
    lambda g, ans: g * (1 - ans**2),
    lambda sp, x: sp.tanh(x),
    "v ⊙ (1 − tanh² x)",
    vector=rv._vtanh,
)
unary(
    "arcsinh",
    lambda g, x: g / ops.sqrt(x**2 + 1),
    lambda sp, x: sp.asinh(x),
    "v / √(x² + 1)",
    twin="asinh",
)

unary(
    "arccosh",
    lambda g, x: g / ops.sqrt(x**2 - 1),
    lambda sp, x: sp.acosh(x),
    "v / √(x² − 1)",
    "above_one",
    twin="acosh",
)
unary(
    "arctanh",
    lambda g, x: g / (1 - x**2),
    lambda sp, x: sp.atanh(x),
    "v / (1 − x²)",
    "unit",
    twin="atanh",
)


def _sinc_vjp(g, x, ans):
    """sinc'(x) = (cos πx − sinc x) / x; for |x| < 0.002, its Taylor terms −(π²/3) x +
    (π⁴/30) x³, whose value and derivatives at 0 are sinc's (to the fourth derivative): the
    quotient's cancellation there (relative error ε / x²: all of it at x = 1e-8) exceeds the
    terms left out (0.35 x⁴) below 0.002, and both stay under 2e-11 relative."""
    near = ops.abs(x) < 0.002
    taylor = x * (-(pymath.pi**2) / 3 + pymath.pi**4 / 30 * x * x)
    away = (ops.cos(pymath.pi * x) - ans) / ops.where(near, 1.0, x)
    return g * ops.where(near, taylor, away)


defrule(
    "sinc",
    "x",
    call("np.sinc"),
    numpy=(np.sinc,),
    vjp={"x": _sinc_vjp},
    jvp=DIAGONAL,
    math="v ⊙ (cos πx − sinc x) / x (near 0 its Taylor terms: exact at 0 to the 4th derivative)",
    examples=("np.sinc(x) | x: 3x4 withzero", "np.sinc(x) | x: f"),
    **EW,
)


def abs_slope(x):
    """The derivative of |x|: its sign, and 1 at 0, as in JAX."""
    return ops.where(x >= 0, 1.0, -1.0)


unary(
    "abs",
    lambda g, x: g * abs_slope(x),
    lambda sp, x: sp.Abs(x),
    "v ⊙ sign x (1 at 0, as in JAX)",
    "nonzero",
    numpy=np.abs,
    methods=("__abs__",),
    **PLAIN,
)
unary(  # (abs of floats; of ints, a float: np.abs keeps their dtype)
    "fabs",
    lambda g, x: g * abs_slope(x),
    lambda sp, x: sp.Abs(x),
    "v ⊙ sign x (1 at 0, as abs)",
    "nonzero",
    **PLAIN,
)
unary("negative", lambda g: -g, lambda sp, x: -x, "−v", emit=unaryop(ast.USub), **PLAIN)
unary("positive", lambda g: g, lambda sp, x: x, "v", **PLAIN)


def _where_finite(g, x):
    """v where x is finite; 0 where np.nan_to_num put a constant in its place."""
    return ops.where(ops.isfinite(x), g, 0.0)


defrule(
    "nan_to_num",
    "x, copy=True, nan=0.0, posinf=None, neginf=None",
    call("np.nan_to_num"),
    numpy=(np.nan_to_num,),
    vjp={"x": lambda g, x: _where_finite(g, x)},
    jvp={"x": lambda t, x: _where_finite(t, x)},
    sympy=lambda sp, x: x,
    math="v where x is finite, 0 where a NaN or an infinity was replaced",
    domain={"x": "real"},
    examples=("np.nan_to_num(x) | x: 3x4", "np.nan_to_num(x, nan=1.0, posinf=2.0) | x: 3x4"),
    **EW,
    **PLAIN,
)


def _index_arithmetic(sign: int):
    """`i + c`, `c + i`, `i - c` for a Python int i known relative to another (`Aval.sym`: a
    loop's index) and a static int c: known relative to it too. Else what the facts imply."""

    def aval(ins: dict, attrs: dict):
        a, b = ins["x1"], ins["x2"]
        if sign == 1 and _static_int(a):
            a, b = b, a
        if _static_int(b) and a is not None and a.sym is not None and a.kind == PYTHON:
            return Aval((), a.dtype, PYTHON, sym=a.sym.shifted(sign * b.value))
        return NotImplemented

    return aval


def _static_int(a) -> bool:
    return a is not None and a.kind == PYTHON and type(a.value) is int


defrule(
    "add",
    "x1, x2",
    binop("+"),
    numpy=(np.add,),
    vjp={"x1": lambda g: g, "x2": lambda g: g},
    sympy=lambda sp, a, b: a + b,
    math="v; v",
    examples=binary_examples("{0} + {1}", "real", "real"),
    jvp=DIAGONAL,
    aval=_index_arithmetic(1),
    **EW,
)
defrule(
    "subtract",
    "x1, x2",
    binop("-"),
    numpy=(np.subtract,),
    vjp={"x1": lambda g: g, "x2": lambda g: -g},
    sympy=lambda sp, a, b: a - b,
    math="v; −v",
    examples=binary_examples("np.subtract", "real", "real"),
    jvp=DIAGONAL,
    aval=_index_arithmetic(-1),
    **EW,
)
defrule(
    "multiply",
    "x1, x2",
    binop("*"),
    numpy=(np.multiply,),
    vjp={"x1": lambda g, x2: g * x2, "x2": lambda g, x1: g * x1},
    sympy=lambda sp, a, b: a * b,
    math="v ⊙ x2; v ⊙ x1",
    examples=binary_examples("{0} * {1}", "real", "real"),
    jvp=DIAGONAL,
    zeros=(("x1",), ("x2",)),
    **EW,
)


def _product_if_no_int(ins: dict):
    """`_list_times` where other's Aval shows no int: the product (NumPy's, as Python's)."""
    other = ins["other"]
    if other is None or other.dtype is None or other.dtype.kind in "biu":
        return None
    return lambda seq, other: seq * other


defrule(  # `[a, b] * n` of a computed n (`symgrad.frontend.sequences`)
    "list_times",
    "seq, other",
    call("_list_times"),
    helper=runtime._list_times,
    vjp={"seq": lambda g, other: g * other, "other": lambda g, seq: g * seq},
    math="v ⊙ other; v ⊙ seq (a product: an int other, a repetition in Python, raises)",
    specialise=_product_if_no_int,
    jvp=DIAGONAL,
    zeros=(("seq",), ("other",)),
    examples=("_list_times(x1, x2) | x1: 3, x2: 2x3", "_list_times(x1, x2) | x1: 3, x2: f"),
    shape="elementwise",
    broadcasts=True,
)


def _divide_vjp_x2(g, ans, x1, x2):
    """−v x1 / x2²: −v (ans / x2), or −v ans² where x1 is the number 1 (a reciprocal: one
    multiplication where the division was)."""
    if is_const(x1) and isinstance(value_of(x1), (int, float)) and value_of(x1) == 1:
        return -g * (ans * ans)
    return -g * (ans / x2)


defrule(
    "divide",
    "x1, x2",
    binop("/"),
    numpy=(np.divide, np.true_divide),
    vjp={"x1": lambda g, x2: g / x2, "x2": _divide_vjp_x2},
    sympy=lambda sp, a, b: a / b,
    math="v / x2; −v ⊙ x1 / x2²",
    domain={"x2": "positive"},
    examples=binary_examples("{0} / {1}", "real", "positive")
    + ("1.0 / x2 | x2: 3x4 positive", "1 / x2 | x2: f positive"),
    jvp=DIAGONAL,
    zeros=(("x1",),),
    **EW,
)


def _power_vjp_base(g, x1, x2):
    """v x2 x1^(x2−1), and 0 where x2 = 0 (x ** 0 is constant, also at x = 0), where the power
    taken is x1 ** 1 (x1 ** -1 at x1 = 0 would be an inf masked, and NumPy's warning: of
    `np.polyval` at 0). A computed exponent less one is a float: an int one (`x ** n` at
    n = 0) made Numba's power raise ZeroDivisionError at x = 0."""
    if is_const(x2) and isinstance(value_of(x2), (int, float)):
        p = value_of(x2)
        return g * 0.0 if p == 0 else g * (p * x1 ** (p - 1))
    zero = ops.equal(x2, 0)
    return g * ops.where(zero, 0.0, x2 * x1 ** ops.where(zero, 1.0, x2 - 1.0))


def _power_aval(ins: dict, attrs: dict):
    """`x1 ** x2` as the operator computes it: an array to a static exponent (2, 0.5, -1, ...)
    is np.square (np.sqrt, np.reciprocal, ...) of it, whose dtype is np.power's but for bools
    (np.square of bools is int8, np.power's int64); else what the facts imply."""
    x1, x2 = ins["x1"], ins["x2"]
    if x1 is None or x2 is None or x2.kind != PYTHON or type(x2.value) not in (int, float):
        return NotImplemented
    if x1.kind != ARRAY or not x1.known or x1.dtype.kind != "b":
        return NotImplemented
    with np.errstate(all="ignore"):
        dtype = (np.ones((1,), x1.dtype) ** x2.value).dtype
    return Aval(x1.shape, dtype, ARRAY)


def _int_power_differs(ins: dict) -> bool:
    """An integer to an integer power not known to be at least 0: NumPy raises ValueError for
    a negative one (a Python int's is a float), where Numba gives 0, 1 or -2**63."""
    x1, x2 = ins["x1"], ins["x2"]
    ints = all(a is not None and a.dtype is not None and a.dtype.kind in "iub" for a in (x1, x2))
    return ints and not (type(x2.value) is int and x2.value >= 0)


defrule(
    "power",
    "x1, x2",
    binop("**"),
    numpy=(np.power, pymath.pow, pow),
    vjp={
        "x1": lambda g, x1, x2: _power_vjp_base(g, x1, x2),
        "x2": lambda g, ans, x1: g * ans * ops.log(ops.where(ops.equal(x1, 0), 1.0, x1)),
    },
    sympy=lambda sp, a, b: a**b,
    aval=_power_aval,
    ints_differ=_int_power_differs,
    math="v ⊙ x2 x1^(x2−1) (0 where x2 = 0); v ⊙ x1^x2 ln x1 (0 where x1 = 0)",
    domain={"x1": "positive"},
    examples=binary_examples("{0} ** {1}", "positive", "real")
    + ("x1 ** 0 + x1 ** 2 + x1 ** 0.5 | x1: 3x4 positive", "x1[:, None] ** np.arange(3) | x1: 4"),
    jvp=DIAGONAL,
    **EW,
)


def _winner_vjp(g, x1, x2, wins, python=""):
    """Cotangent of x1 in maximum/minimum: v where x1 wins, v/2 at ties between two arrays.
    Against a constant (relu is np.maximum(z, 0.0)) the tie gets 0, the relu convention. Of
    Python's min or max (`python`: whether x1 is its "first" or "second" operand), v where
    Python picks x1: the second where it beats the first, else the first (at a tie, or beside
    a NaN)."""
    if python:
        second_wins = wins(x1, x2) if python == "second" else wins(x2, x1)
        picked = second_wins + 0.0 if python == "second" else 1.0 - second_wins  # (floats:
        return g * picked  # a product with a mask is np.where, which a compiled loop lacks)
    if is_const(x2):
        return g * wins(x1, x2)
    return g * (wins(x1, x2) + 0.5 * ops.equal(x1, x2))


def _python_pick(ins: dict, attrs: dict):
    """The Aval of Python's min or max of two values (`builtin`): the operands' where they
    agree; a number of their dtype where only their kinds differ (which one Python picks, a
    Python or a NumPy number, is known when it runs); else nothing known. NumPy's: the facts'."""
    if not attrs.get("builtin"):
        return NotImplemented
    a, b = ins["x1"], ins["x2"]
    if a is None or b is None:
        return None
    if a.kind == b.kind == PYTHON and a.value is not None and b.value is not None:
        pick = max if attrs["builtin"] == "max" else min  # (numbers known: `max(n, 1)` of a
        return of_value(pick(a.value, b.value), static=True)  # length known, folded)
    if a == b:
        return a
    if a.shape == b.shape == () and a.dtype is not None and a.dtype == b.dtype:
        return Aval((), a.dtype, None)
    return None


def python_pick(builtin: str, first, second, add) -> tuple:
    """Python's min or max (`builtin`) of two operands batched alike, in NumPy's ops: where
    the second beats the first, the second, else the first (at a tie, or beside a NaN, where
    np.minimum and np.maximum differ). `add(op, inputs)` makes the comparison's node; the
    result is the `where`'s (op, inputs), for the caller to make (a new node, or the node
    rewritten in place)."""
    beats = add("less" if builtin == "min" else "greater", (second, first))
    return "where", (beats, second, first)


def _extreme(name: str, wins, spelling: str):
    """np.maximum or np.minimum, and Python's max or min of two values (`builtin`, which
    `symgrad.frontend.calls` sets: spelt as Python's, the first kept at ties and NaNs)."""
    defrule(
        name,
        "x1, x2, builtin=''",
        call(f"np.{name}"),
        numpy=(getattr(np, name),),
        vjp={
            "x1": lambda g, x1, x2, builtin: _winner_vjp(g, x1, x2, wins, builtin and "first"),
            "x2": lambda g, x1, x2, builtin: _winner_vjp(g, x2, x1, wins, builtin and "second"),
        },
        sympy=(lambda sp, a, b: sp.Max(a, b))
        if spelling == ">"
        else (lambda sp, a, b: sp.Min(a, b)),
        math=f"v ⊙ [x1 {spelling} x2] (ties: v/2 to each array; 0 against a constant; Python's "
        f"{'max' if spelling == '>' else 'min'}: the first)",
        examples=binary_examples(f"np.{name}", "real", "real"),
        jvp=DIAGONAL,
        aval=_python_pick,
        **EW,
    )


def _nan_ignoring_vjp(larger: bool) -> dict:
    """np.fmax's VJP (larger) or np.fmin's: x1 wins where it is larger (smaller), or where x2
    is NaN and x1 is not."""

    def wins(a, b):
        beats = a > b if larger else a < b
        if is_const(b) and not np.isnan(value_of(b)).any():
            return beats
        over_nan = ops.logical_and(ops.isnan(b), ops.logical_not(ops.isnan(a)))
        return ops.logical_or(beats, over_nan)

    return {
        "x1": lambda g, x1, x2: _winner_vjp(g, x1, x2, wins),
        "x2": lambda g, x1, x2: _winner_vjp(g, x2, x1, wins),
    }


_extreme("maximum", lambda a, b: a > b, ">")
_extreme("minimum", lambda a, b: a < b, "<")
for _name, _max, _wins in (("fmax", True, ">"), ("fmin", False, "<")):  # a NaN never wins
    defrule(
        _name,
        "x1, x2",
        call(f"np.{_name}"),
        numpy=(getattr(np, _name),),
        vjp=_nan_ignoring_vjp(_max),
        sympy=(lambda sp, a, b: sp.Max(a, b)) if _max else (lambda sp, a, b: sp.Min(a, b)),
        math=f"v ⊙ [x1 {_wins} x2 or x2 is NaN] (ties as np.{_name[1:]}imum)",
        examples=binary_examples(f"np.{_name}", "real", "real"),
        jvp=DIAGONAL,
        **EW,
    )


def _logaddexp(name: str, power: str, sympy, math: str) -> None:
    """np.logaddexp (base e) or np.logaddexp2: each cotangent v ⊙ base^(x − ans), `power` the
    rule of base^u."""
    defrule(
        name,
        "x1, x2",
        call(f"np.{name}"),
        numpy=(getattr(np, name),),
        vjp={
            "x1": lambda g, ans, x1: g * getattr(ops, power)(x1 - ans),
            "x2": lambda g, ans, x2: g * getattr(ops, power)(x2 - ans),
        },
        sympy=sympy,
        math=math,
        examples=binary_examples(f"np.{name}", "real", "real"),
        jvp=DIAGONAL,
        **EW,
    )


_logaddexp(
    "logaddexp",
    "exp",
    lambda sp, a, b: sp.log(sp.exp(a) + sp.exp(b)),
    "v ⊙ exp(x1 − ans); v ⊙ exp(x2 − ans)",
)
_logaddexp(
    "logaddexp2",
    "exp2",
    lambda sp, a, b: sp.log(2**a + 2**b, 2),
    "v ⊙ 2^(x1 − ans); v ⊙ 2^(x2 − ans)",
)
defrule(
    "copysign",
    "x1, x2",
    call("np.copysign"),
    numpy=(np.copysign, pymath.copysign),
    vjp={"x1": lambda g, x1, x2: g * abs_slope(x1) * ops.copysign(1.0, x2)},
    sympy=lambda sp, a, b: sp.Abs(a) * sp.sign(b),
    math="v ⊙ sign(x1) sign(x2) (x2's sign taken, no derivative: its sign is constant)",
    domain={"x1": "nonzero", "x2": "nonzero"},
    examples=binary_examples("np.copysign", "nonzero", "nonzero"),
    jvp=DIAGONAL,
    **EW,
)
defrule(
    "remainder",
    "x1, x2",
    binop("%"),
    numpy=(np.remainder,),
    vjp={"x1": lambda g: g, "x2": lambda g, x1, x2: -g * ops.floor(x1 / x2)},
    sympy=lambda sp, a, b: a - b * sp.floor(a / b),
    math="v;  −v ⊙ ⌊x1 / x2⌋ (almost everywhere)",
    domain={"x2": "positive"},
    examples=binary_examples("{0} % {1}", "real", "positive") + ("np.mod(x1, 0.7) | x1: 3x4",),
    jvp=DIAGONAL,
    jit=int_division_jit,
    **EW,
)
defrule(
    "fmod",
    "x1, x2",
    call("np.fmod"),
    numpy=(np.fmod, pymath.fmod),
    vjp={"x1": lambda g: g, "x2": lambda g, x1, x2: -g * ops.trunc(x1 / x2)},
    sympy=lambda sp, a, b: sp.Piecewise(
        (a - b * sp.floor(a / b), a / b >= 0), (a - b * sp.ceiling(a / b), True)
    ),
    math="v;  −v ⊙ trunc(x1 / x2) (almost everywhere: the sign of x1, as C's fmod)",
    domain={"x2": "positive"},
    examples=binary_examples("np.fmod", "real", "positive") + ("np.fmod(x1, 0.7) | x1: 3x4",),
    jvp=DIAGONAL,
    **EW,
)
defrule(
    "hypot",
    "x1, x2",
    call("np.hypot"),
    numpy=(np.hypot, pymath.hypot),
    vjp={
        "x1": lambda g, x1, ans: g * x1 / ops.where(ops.equal(ans, 0.0), 1.0, ans),
        "x2": lambda g, x2, ans: g * x2 / ops.where(ops.equal(ans, 0.0), 1.0, ans),
    },
    sympy=lambda sp, a, b: sp.sqrt(a**2 + b**2),
    math="v x1 / h;  v x2 / h (0 where h = 0)",
    examples=binary_examples("np.hypot"),
    jvp=DIAGONAL,
    **EW,
)
defrule(
    "arctan2",
    "x1, x2",
    call("np.arctan2"),
    numpy=(np.arctan2, pymath.atan2),
    vjp={
        "x1": lambda g, x1, x2: g * x2 / (x1**2 + x2**2),
        "x2": lambda g, x1, x2: -g * x1 / (x1**2 + x2**2),
    },
    sympy=lambda sp, a, b: sp.atan2(a, b),
    math="v x2 / (x1² + x2²); −v x1 / (x1² + x2²)",
    domain={"x2": "positive"},
    examples=binary_examples("np.arctan2", "real", "positive"),
    jvp=DIAGONAL,
    simd=VECTOR,
    **EW,
)
defrule(
    "where",
    "condition, x, y",
    call("np.where"),
    numpy=(np.where,),
    vjp={
        "x": lambda g, condition: ops.where(condition, g, 0.0),
        "y": lambda g, condition: ops.where(condition, 0.0, g),
    },
    math="where(c, v, 0); where(c, 0, v)",
    zeros=(("x", "y"),),
    domain={"condition": "bool"},
    examples=(
        "np.where(x1 > 0.3, x1 * 2.0, x2) | x1: 3x4, x2: 4",
        "np.where(c > 0, x1, 1.5) | c: 3x1, x1: 3x4",
    ),
    jvp=DIAGONAL,
    **{**EW, "scalar": "{1} if {0} else {2}"},  # np.where of numbers is a 0-d array, which
    # a loop compiled whole does not take for a number (`x[1] += np.where(c, 0.0, t)`)
    jit=lambda ins, attrs: any(a is not None and a.rank for a in ins.values()),
    route=lambda condition, *xy: None if xy else ("nonzero", (condition,), {}),  # np.where(c)
)


def _clip_vjp(g, a, a_min, a_max, which):
    """np.clip(a, lo, hi) is minimum(maximum(a, lo), hi): v goes to whichever value came out
    (hi when lo > hi, as in NumPy)."""
    lo = None if is_none(a_min) else a_min
    hi = None if is_none(a_max) else a_max
    if which == "a":
        inside = ([] if lo is None else [a >= lo]) + ([] if hi is None else [a <= hi])
        if not inside:  # (np.clip(x, None, None): x itself)
            return g
        return g * (ops.logical_and(*inside) if len(inside) == 2 else inside[0])
    if which == "a_min":
        return g * (ops.logical_and(lo > a, lo <= hi) if hi is not None else lo > a)
    return g * (hi < (ops.maximum(a, lo) if lo is not None else a))


def _clip_adapt(a, a_min=None, a_max=None, min=None, max=None):  # noqa: A002 (NumPy's names)
    return (a, min if a_min is None else a_min, max if a_max is None else a_max), {}


defrule(
    "clip",
    "a, a_min, a_max",
    call("np.clip"),
    numpy=(np.clip,),
    methods=("clip",),
    adapt=_clip_adapt,
    vjp={
        "a": lambda g, a, a_min, a_max: _clip_vjp(g, a, a_min, a_max, "a"),
        "a_min": lambda g, a, a_min, a_max: _clip_vjp(g, a, a_min, a_max, "a_min"),
        "a_max": lambda g, a, a_min, a_max: _clip_vjp(g, a, a_min, a_max, "a_max"),
    },
    math="v ⊙ [a_min ≤ a ≤ a_max]; v ⊙ [a < a_min ≤ a_max]; v ⊙ [a_max < max(a, a_min)]",
    examples=(
        "np.clip(a, -0.5, 0.7) | a: 3x4",
        "np.clip(a, None, 0.2) | a: 3x4",
        "a.clip(lo, hi) | a: 3x4, lo: 4, hi: f",
        "a.clip(0.1) + np.clip(a, max=0.3) | a: 3x4",
    ),
    jvp=DIAGONAL,
    **{**EW, "scalar": None},  # Numba clips arrays only; a bound may be None
)
