"""Abstract values are exact or unknown: every inferred Aval against what NumPy computes.

For each rule-table example, the function and its VJP graph are typed for the example's
arguments (`symgrad.passes.avals.infer`), then run node by node (each node's emitted expression
evaluated on its inputs' values), and every node with an Aval must have exactly that shape, dtype,
kind and static value. Then the same for whole gradients: the specialised module of a call agrees
with the shape-polymorphic one, and reads like a hand-written backward pass.
"""

from __future__ import annotations

import ast

import numpy as np
import pytest

import symgrad
from symgrad.checks.examples import example_function, parse_example, sample
from symgrad.emit.codegen import _helper_functions
from symgrad.frontend import lower
from symgrad.frontend.reads import Reads
from symgrad.ir.avals import ARRAY, DTYPE, INDICES, PYTHON, SCALAR, TUPLE, Aval, broadcast, of_value
from symgrad.passes import reverse
from symgrad.passes.avals import infer, may_decide_shapes
from symgrad.rules import RULES
from symgrad.rules.table import ARRAY as ARRAY_PARAM
from symgrad.rules.table import SEQ

EXAMPLES = [(name, ex) for name in sorted(RULES) for ex in RULES[name].examples]


def run_nodes(graph, args) -> dict:
    """Each node's value, evaluating its emitted expression; a structured node and whatever
    depends on it are left out."""
    values, env = {}, {"np": np, **_helper_functions()}
    for node in graph.nodes():
        if node.op == "param":
            values[node.id] = args[graph.params.index(node.id)]
            continue
        if node.op == "const":
            values[node.id] = node.attrs["value"]
            continue
        rule = RULES[node.op]
        if rule.structured or any(i not in values for i in node.inputs):
            continue
        exprs, pos = [], 0
        for p in rule.params:
            if p.kind == ARRAY_PARAM:
                exprs.append(ast.Name(f"v{node.inputs[pos]}", ast.Load()))
                pos += 1
            elif p.kind == SEQ:
                n = node.attrs["n_" + p.name]
                names = [ast.Name(f"v{i}", ast.Load()) for i in node.inputs[pos : pos + n]]
                exprs.append(ast.List(names, ast.Load()))
                pos += n
        tree = ast.fix_missing_locations(ast.Expression(rule.emit(exprs, node.attrs, rule)))
        scope = {**env, **{f"v{i}": values[i] for i in node.inputs}}
        with np.errstate(all="ignore"):
            values[node.id] = eval(compile(tree, "<node>", "eval"), scope)
    return values


def assert_matches(aval: Aval, value, what: str) -> None:
    kinds = {
        ARRAY: lambda v: type(v) is np.ndarray,
        SCALAR: lambda v: isinstance(v, np.generic),
        PYTHON: lambda v: isinstance(v, (bool, int, float)),
        TUPLE: lambda v: isinstance(v, tuple),
        DTYPE: lambda v: isinstance(v, (type, np.dtype)),  # np.float32, or x.dtype's value
        INDICES: lambda v: isinstance(v, tuple) and len(v) == len(aval.parts),
    }
    if aval.kind == INDICES:  # a tuple of index arrays (np.triu_indices'): each its part's
        assert kinds[INDICES](value), f"{what}: {aval} is not {value}"
        for k, (part, array) in enumerate(zip(aval.parts, value)):
            assert_matches(part, array, f"{what}, array {k}")
        return
    if aval.kind is not None:
        assert kinds[aval.kind](value), f"{what}: {aval} is not {type(value).__name__}"
    shape = value if aval.kind == TUPLE else () if aval.kind == DTYPE else np.shape(value)
    if aval.kind == TUPLE:
        assert aval.value in (None, value), f"{what}: {aval} holds {value}"
    elif aval.shape is not None:
        assert len(aval.shape) == len(shape), f"{what}: {aval} has shape {shape}"
        for d, n in zip(aval.shape, shape):
            assert d in (None, n), f"{what}: {aval} has shape {shape}"
        if aval.dtype is not None:
            dtype = np.asarray(value).dtype if type(value) is list else np.result_type(value)
            assert dtype == aval.dtype, f"{what}: {aval} is {dtype}"  # (a list NumPy reads)
        if aval.value is not None:
            same = aval.value == value or aval.value != aval.value and value != value  # (NaN)
            assert same, f"{what}: {aval} is {value}"


def check_typed(graph, args) -> int:
    """Type the graph for args and check every Aval against the values; how many were known."""
    infer(graph, [of_value(a) for a in args])
    values = run_nodes(graph, args)
    known = 0
    for node in graph.nodes():
        if node.aval is not None and node.id in values:
            assert_matches(node.aval, values[node.id], f"{node.op} (node {node.id})")
            known += node.aval.shape is not None
    return known


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, example", EXAMPLES, ids=[f"{n}: {e}" for n, e in EXAMPLES])
def test_avals_are_what_numpy_computes(name, example, dtype):
    """Every example, its float arrays float64 or float32 (a float32 gradient came back float64
    where a helper's Aval took the seed 1.0 as weak and np.tensordot took it as float64)."""
    expr, inputs = parse_example(example)
    f = example_function(expr, inputs)
    args = [sample(i, np.random.default_rng(0)) for i in inputs]
    args = [
        a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args
    ]
    graph = lower(f)
    check_typed(graph, args)
    argnums = [k for k, i in enumerate(inputs) if i.differentiable]
    if argnums and not any(RULES[n.op].structured for n in graph.nodes() if n.op in RULES):
        out = run_nodes(graph, args)[graph.outputs[0]]
        ct = np.ones_like(out) if isinstance(out, np.ndarray) else 1.0
        check_typed(reverse(graph, argnums, seed="param"), [*args, ct])


def _inner(a, b):
    return np.inner(a, b)


def _einsum(a, b):
    return 0.5 * np.einsum("i,i->", a, b)


def _dot(a, b):
    return np.dot(a, b)


def _outer(a, b):
    return -np.sum(np.outer(a, b))


PRODUCTS = [_inner, _einsum, _dot, _outer]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.float32, np.float64)])
@pytest.mark.parametrize("k", range(len(PRODUCTS)))
def test_gradients_of_products_have_their_arguments_dtypes(k, dtypes, backend):
    """np.inner and np.einsum of float32 vectors gave float64 gradients (np.tensordot took the
    seed 1.0 as a float64 array), and np.dot of a float32 and a float64 vector swapped the two
    gradients' dtypes (a helper's Aval was its own operand's dtype, not the other's)."""
    pytest.importorskip(backend)
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal(4).astype(t) for t in dtypes)
    grads = symgrad.grad(PRODUCTS[k], argnums=(0, 1), backend=backend)(a, b)
    want = symgrad.grad(PRODUCTS[k], argnums=(0, 1))(a.astype(np.float64), b.astype(np.float64))
    for got, arg, w in zip(grads, (a, b), want):
        assert got.dtype == arg.dtype
        assert np.allclose(got, w, rtol=1e-5)


def _python_arithmetic(a, n, flag):
    b = -a * 0.5 - n // 2 + n / 4
    return b**2 + n**-1 + (n % 3) * b + (flag + flag) * (-flag) + abs((-a) ** 0.5)


def test_operators_on_python_numbers_give_python_numbers():
    """`a * 0.5` of a Python float is a Python float (a loop carrying one keeps its type), and
    `True + True` a Python int, `n ** -1` a Python float; a power to a float may be complex, so
    only its shape is claimed."""
    graph = lower(_python_arithmetic)
    check_typed(graph, [1.5, 7, True])
    kinds = {(n.op, n.aval.kind if n.aval else None) for n in graph.nodes()}
    ops = ["multiply", "subtract", "add", "divide", "floor_divide", "remainder", "negative"]
    assert {(op, PYTHON) for op in ops} <= kinds, kinds
    assert {("power", PYTHON), ("power", None)} <= kinds  # b ** 2, (-a) ** 0.5
    assert all(n.aval.shape == () for n in graph.nodes())


def test_the_common_primitives_are_typed():
    """A shape rule, or facts implying one, for what ordinary models use."""
    for name in ["matmul", "add", "tanh", "sum", "mean", "getitem", "transpose", "reshape",
                 "broadcast_to", "unbroadcast", "fit", "matmul_vjp_a", "matmul_vjp_b",
                 "zeros_like", "maximum", "where", "shape", "index_add", "setitem", "einsum",
                 "make_tuple"]:  # fmt: skip
        rule = RULES[name]
        assert rule.aval or rule.shape or rule.ndarray or rule.view or rule.reads_shape, name


@pytest.mark.parametrize(
    "shapes, out",
    [
        ([(3, 1), (4,)], (3, 4)),
        ([(None, 4), (3, 1)], (3, 4)),
        ([(None,), (1,)], (None,)),
        ([(2,), (3,)], None),
        ([None, (3,)], None),
        ([(), (2, 1)], (2, 1)),
    ],
)
def test_broadcast_of_partly_known_shapes(shapes, out):
    assert broadcast(shapes) == out


def _mlp(W1, b1, W2, b2, X, y):
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    return np.mean((logits - y) ** 2)


def test_specialised_gradient_reads_like_a_hand_written_one():
    rng = np.random.default_rng(0)
    args = [rng.standard_normal(s) for s in [(4, 5), (5,), (5, 2), (2,), (8, 4), (8, 2)]]
    g = symgrad.grad(_mlp, argnums=(0, 1, 2, 3))
    polymorphic = symgrad.grad(_mlp, argnums=(0, 1, 2, 3)).source
    grads = g(*args)
    symgrad.check_grads(_mlp, args, (0, 1, 2, 3))
    source = g.source
    assert "Specialised for W1: float64[4,5], b1: float64[5]" in source
    for helper in ("_fit", "_unbroadcast", "_matmul_vjp", "broadcast_shapes", "np.shape"):
        assert helper in polymorphic and helper not in source, helper
    assert ".sum(axis=0)" in source  # the biases' gradients
    assert "X.T @ " in source and "@ W2.T" in source and "np.transpose" not in source
    assert [x.shape for x in grads] == [a.shape for a in args[:4]]


def test_each_signature_gets_its_module():
    g = symgrad.grad(_mlp, argnums=(0, 2))
    rng = np.random.default_rng(1)
    for n in (3, 7, 3):
        args = [rng.standard_normal(s) for s in [(4, 5), (5,), (5, 2), (2,), (n, 4), (n, 2)]]
        g(*args)
        assert f"X: float64[{n},4]" in g.source
        symgrad.check_grads(_mlp, args, (0, 2))
    args32 = [a.astype(np.float32) for a in args]
    dW1, dW2 = g(*args32)
    assert dW1.dtype == dW2.dtype == np.float32
    assert "float32[3,4]" in g.source
    assert "_fit" not in g.source


def _with_a_constant_total(x):
    total = 0
    for r in range(1, 4):  # an int, then a float: its shape (0-d) is known, its dtype not
        total = total + 0.5 * r
    return np.sum(x**2) + total


def test_a_shape_is_known_where_the_dtype_is_not():
    """The gradient does not compute a constant's shape (nor the constant) to broadcast 1.0."""
    g = symgrad.grad(_with_a_constant_total)
    assert np.allclose(g(np.arange(3.0)), 2 * np.arange(3.0))
    assert "for r in" not in g.source and "broadcast_shapes" not in g.source, g.source


def test_a_numpy_float64_is_a_numpy_scalar_not_a_python_float():
    """np.float64 subclasses float, but NumPy types it strongly: np.float64(0.5) * a float32
    array is float64, where 0.5 * it stays float32."""
    assert of_value(np.float64(0.5)).kind == SCALAR and of_value(0.5).kind == PYTHON
    assert of_value(np.float64(0.5)).dtype == (np.float64(0.5) * np.ones(2, np.float32)).dtype


def test_python_float_and_numpy_scalar_arguments_keep_their_types():
    def f(a, x):
        return np.sum(a * x**2)

    g = symgrad.grad(f, argnums=(0, 1))
    x = np.arange(3.0)
    for a in (2.0, np.float32(2.0), np.array(2.0)):
        da, dx = g(a, x)
        assert type(da) is type(a) and np.isclose(da, np.sum(x**2))
        assert np.allclose(dx, 2 * a * x)


def _rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def _reads_with_repeats(x, y, idx):
    return np.sum(x * y) + np.sum(x[idx] ** 2) + np.sum(x[1:] * 3.0)


def test_reads_of_one_array_share_one_cotangent_buffer():
    x = np.linspace(-1.0, 1.5, 7)
    g = symgrad.grad(_rosenbrock)
    g(x)
    symgrad.check_grads(_rosenbrock, (x,), 0)
    assert g.source.count("np.zeros_like(x)") == 1  # one buffer: the first read's cotangent
    assert "[:-1] = " in g.source and "_index_add" not in g.source  # written into it,
    assert "[1:] += " in g.source  # and the second read's cotangent added into the same buffer
    args = (x, np.arange(7.0), np.array([1, 1, 2]))  # repeated indices accumulate
    g = symgrad.grad(_reads_with_repeats)
    assert np.allclose(g(*args), args[1] + 2 * np.bincount([1, 1, 2], minlength=7) * x
                       + np.r_[0.0, 3.0 * np.ones(6)])  # fmt: skip
    symgrad.check_grads(_reads_with_repeats, args, 0)
    assert args[1][0] == 0.0 and np.all(args[1] == np.arange(7.0))  # the argument is untouched


def _constant(x, a):
    s = 0.2
    return s * 1.0  # a constant


def test_a_constant_output_keeps_its_zero_tangent():
    """fit's Aval is its argument's shape and dtype, never its value."""
    x = np.array([0.8, -0.7])
    out, tangent = symgrad.jvp(_constant, (x, 0.4), (np.ones(2), 1.0))
    assert out == 0.2 and tangent == 0.0
    symgrad.check_grads(_constant, (x, 0.4), (0, 1))


def test_a_broken_shape_rule_costs_the_specialisation_not_the_gradient(monkeypatch):
    from symgrad.errors import SpecialisationWarning
    from symgrad.rules import RULES

    def broken(ins, attrs):
        raise KeyError("a bug")

    monkeypatch.setattr(RULES["matmul"], "aval", broken)
    rng = np.random.default_rng(2)
    args = [rng.standard_normal(s) for s in [(4, 5), (5,), (5, 2), (2,), (3, 4), (3, 2)]]
    g = symgrad.grad(_mlp, argnums=0)
    with pytest.warns(SpecialisationWarning, match="shape-polymorphic"):
        dW1 = g(*args)
    assert "_matmul_vjp" in g.source  # the polymorphic module ran
    monkeypatch.undo()
    symgrad.api._CACHE.pop(_mlp, None)  # the fallback was cached for this signature
    assert np.allclose(dW1, symgrad.grad(_mlp, argnums=0)(*args))


@pytest.mark.parametrize(
    "call",
    [
        "np.arange(7)",
        "np.arange(2, 11, 3)",
        "np.arange(0.5, 3.0, 0.7)",
        "np.arange(5, 1)",
        "np.linspace(0.0, 1.0, 6)",
        "np.linspace(0, 1, num=4, endpoint=False)",
        "np.eye(3)",
        "np.eye(2, 5)",
        "np.identity(4, dtype=np.float32)",
    ],
)
def test_constructors_of_static_lengths_are_typed(call, make_fn):
    graph = lower(make_fn(f"def f(x):\n    return x * {call}\n").f)
    assert check_typed(graph, [1.5]) == len(list(graph.nodes()))  # every node's shape known


def _polyfit_sign(x, n):
    t = np.linspace(-1.0, 1.0, n)
    power, fit = np.ones(n), np.zeros(n)
    for j in range(x.shape[0]):
        fit = fit + x[j] * power
        power = power * t
    return 0.5 * np.sum((np.sign(t) - fit) ** 2)


def _scaled_pick(x, k):
    return np.sum(x[k] * x)


def _central(f, x, *rest, h=1e-6):
    eye = np.eye(x.size)
    return np.array([(f(x + h * e, *rest) - f(x - h * e, *rest)) / (2 * h) for e in eye])


def test_an_int_that_decides_a_length_is_part_of_the_signature():
    g = symgrad.grad(_polyfit_sign)
    x = np.random.default_rng(3).standard_normal(4)
    for n in (5, 9, 5, 9):  # (the second 5 and 9 on the fast path: each its own module)
        np.testing.assert_allclose(g(x, n), _central(_polyfit_sign, x, n), rtol=1e-6, atol=1e-8)
        assert f"n: pyint64[] = {n}" in g.source
        assert "_unbroadcast(" not in g.source and "_fit(" not in g.source
    pick = symgrad.grad(_scaled_pick)
    for k in (0, 2):  # an index decides no length: one module for every k
        np.testing.assert_allclose(pick(x, k), _central(_scaled_pick, x, k), rtol=1e-6, atol=1e-8)
        assert "k: pyint64[]." in pick.source


def _head_sum(x, n=3):
    return np.sum(x[:n] ** 2)


def test_a_defaulted_int_that_decides_a_length_may_be_left_out_of_a_call():
    g = symgrad.grad(_head_sum)
    x = np.arange(5.0)
    for _ in range(2):  # (the second time on the fast path)
        np.testing.assert_array_equal(g(x, 2), [0, 2, 0, 0, 0])
        np.testing.assert_array_equal(g(x), [0, 2, 4, 0, 0])
        np.testing.assert_array_equal(g(x, n=4), [0, 2, 4, 6, 0])


def _weighted(x, m):  # m's value reaches only values: through a loop, a tuple's item
    total = 0.0
    for r in range(1, x.shape[0] + 1):
        total = total + np.log(m + r)
    return np.sum(x * (m + 1)) + total


def _window_in_loop(x, n):  # n decides a length inside a loop's body
    total = 0.0
    for _ in range(2):
        total = total + np.sum(x[:n])
    return total


def _steps(x, n):  # n decides a loop's trip count
    for _ in range(n):
        x = np.sin(x)
    return np.sum(x)


@pytest.mark.parametrize(
    "fn, decides",
    [(_weighted, False), (_scaled_pick, True), (_head_sum, True), (_polyfit_sign, True)]
    + [(_window_in_loop, True), (_steps, True)],
)
def test_the_rule_table_tells_which_ints_may_decide_a_shape(fn, decides):
    graph = lower(fn, Reads())
    assert may_decide_shapes(graph, [graph.params[1]]) == decides  # (_scaled_pick: a maybe)


POSITIONS = [
    ("argmin", (4, 5, 6), (), {}),
    ("argmin", (4, 5, 6), (1,), {}),
    ("argmax", (4, 5, 6), (), {"axis": -1, "keepdims": True}),
    ("argmax", (4, 5, 6), (), {"keepdims": True}),
    ("argmax", (7,), (), {}),
    ("argsort", (4, 5), (), {}),
    ("argsort", (4, 5), (0,), {}),
    ("argsort", (4, 5), (), {"axis": None}),
]


@pytest.mark.parametrize("name, shape, args, kwargs", POSITIONS)
def test_the_positions_of_maxima_minima_and_sorts_have_numpys_shape(name, shape, args, kwargs):
    """np.argmin, np.argmax, np.argsort: the Aval of what NumPy returns, from the shape alone
    (so that what reads them, `centroids[nearest]`, is specialised too)."""
    x = np.random.default_rng(0).standard_normal(shape)
    ins = {"args": [of_value(x), *(of_value(a, static=True) for a in args)]}
    got = RULES[name].aval(ins, {"kwargs": tuple(kwargs.items())})
    want = np.asarray(getattr(np, name)(x, *args, **kwargs))
    assert (got.shape, got.dtype) == (want.shape, want.dtype)


def _zeros_positional(x):
    return np.sum((np.zeros(x.shape[0], np.float32) + x) ** 2)


def _zeros_of_its_dtype(x):
    return np.sum((np.zeros(x.shape[0], x.dtype) + x) ** 2)


def _zeros_dtype_keyword(x):
    return np.sum((np.zeros(x.shape[0], dtype=x.dtype) + x) ** 2)


def _full_like_dtype_keyword(x):
    return np.sum((np.full_like(x, 2.0, dtype=x.dtype) * x) ** 2)


def _cast_to_its_dtype(x):
    return np.sum((np.ones(x.shape[0]).astype(x.dtype) + x) ** 2)


@pytest.mark.parametrize(
    "fn",
    [
        _zeros_positional,
        _zeros_of_its_dtype,
        _zeros_dtype_keyword,
        _full_like_dtype_keyword,
        _cast_to_its_dtype,
    ],
)
def test_a_dtype_given_as_a_value_is_known_statically(fn):
    """`x.dtype` and `np.float32` are dtypes the Avals know (`DTYPE`), also as a computed
    keyword (`dtype=x.dtype`, passed by position): the specialised gradient is typed (no `_fit`
    or `_unbroadcast` where the shapes decide), keeps float32, and is right."""
    x = np.linspace(-1.0, 1.0, 5)
    symgrad.check_grads(fn, (x,), 0)
    g = symgrad.grad(fn)
    assert g(x.astype(np.float32)).dtype == np.float32
    body = g.source[g.source.index("\ndef grad_") :]
    assert "_fit(" not in body and "_unbroadcast(" not in body and "np.float32" in body, body


def _on_floats(p, q, r):
    return p * p - 3.0 * q * q + 2.0 * r


def test_a_gradient_of_python_floats_is_python_floats_without_fit():
    """A Python float's cotangent that is a Python float is returned as it is (no `_fit`,
    which costs an np.sum: 8 of a call's 10 us), the constant one (2.0 for r) too, and no 0-d
    array stands in for a number."""
    g = symgrad.grad(_on_floats, (0, 1, 2))
    got = g(1.5, 2.0, -1.0)
    assert got == (3.0, -12.0, 2.0) and all(type(v) is float for v in got)
    body = g.source[g.source.index("\ndef grad_") :]
    assert "_fit(" not in body and "np.copy" not in body, body
    symgrad.check_grads(_on_floats, (1.5, 2.0, -1.0), (0, 1, 2))


def _weighted_square(x, s):
    return np.sum(x * x) * s


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_numbers_are_returned_as_they_are_without_fit(dtype):
    """A tangent or gradient that is a NumPy number of its primal's dtype (the tangent of a
    sum, the gradient of a NumPy scalar argument) is returned as it is: no `_fit` call, which
    would only make the same number again, and the types are the primal's."""
    x, s = np.linspace(-1.0, 1.0, 5).astype(dtype), dtype(1.5)
    out, out_dot = symgrad.jvp(_weighted_square, (x, s), (np.ones(5, dtype), dtype(0.5)))
    assert type(out) is type(out_dot) is dtype
    np.testing.assert_allclose(out_dot, 2 * np.sum(x) * s + 0.5 * np.sum(x * x), rtol=1e-6)
    forward = symgrad.Compiled(_weighted_square, (0, 1), "jvp")._artifact
    forward = symgrad.api.specialised(forward, [x, s, np.ones(5, dtype), dtype(0.5)])
    g = symgrad.grad(_weighted_square, (0, 1))
    dx, ds = g(x, s)
    assert dx.dtype == dtype and type(ds) is dtype
    for source in (forward.source, g.source):
        body = source[source.index("\ndef ") :]
        assert "_fit(" not in body and "np.copy" not in body, body
    symgrad.check_grads(_weighted_square, (x.astype(float), np.float64(s)), (0, 1))


def _packed_lower(x, packed):
    d = x.shape[1]
    rows, cols = np.tril_indices(d, -1)
    diag = np.diag_indices(d)
    L = np.zeros((x.shape[0], d, d))
    L[:, diag[0], diag[1]] = np.exp(x)
    L[:, rows, cols] = packed
    return np.sum(np.tanh(L @ L))


@pytest.mark.parametrize(
    "name, args", [("triu_indices", (4, 1)), ("tril_indices", (5, -1)), ("diag_indices", (3,))]
)
def test_index_tuples_of_static_sizes_have_their_arrays_avals(name, args):
    ins = {"args": [of_value(a, static=True) for a in args]}
    got = RULES[name].aval(ins, {})
    want = getattr(np, name)(*args)
    assert [(a.shape, a.dtype, a.kind) for a in got.parts] == [
        (w.shape, w.dtype, ARRAY) for w in want
    ]


def test_a_matrix_filled_at_index_tuples_is_specialised():
    """`np.tril_indices(d, -1)` and `np.diag_indices(d)` of a static d: a tuple of arrays whose
    lengths are known, so that what `L[:, rows, cols]` reads has a shape and the packed
    entries' gradient needs no `_fit` or `_unbroadcast` (GradBench gmm's packed matrices)."""
    rng = np.random.default_rng(1)
    x, packed = rng.standard_normal((3, 4)), 0.3 * rng.standard_normal((3, 6))
    symgrad.check_grads(_packed_lower, (x, packed), (0, 1))
    g = symgrad.grad(_packed_lower, argnums=(0, 1))
    g(x, packed)
    body = g.source[g.source.index("\ndef grad_") :]
    assert "_fit(" not in body and "_unbroadcast(" not in body, body


JOINS = [(name, ex) for name, ex in EXAMPLES if name in ("stack", "concatenate")]


@pytest.mark.parametrize("name, example", JOINS, ids=[f"{n}: {e}" for n, e in JOINS])
def test_joins_have_their_shapes(name, example):
    """np.stack and np.concatenate of arrays of known shapes have a known shape and dtype (what
    NumPy computes: `check_typed`), so that what is done with the join is specialised too."""
    expr, inputs = parse_example(example)
    args = [sample(i, np.random.default_rng(0)) for i in inputs]
    graph = lower(example_function(expr, inputs))
    check_typed(graph, args)
    joins = [n for n in graph.nodes() if n.op == name]
    assert joins and all(n.aval is not None and n.aval.known for n in joins)


@pytest.mark.parametrize(
    "arrays, axis, shape",
    [
        ([(None, 3), (4, 3)], 0, (2, 4, 3)),  # a length known in one array is known in all
        ([(2, 3), (2, 4)], 0, None),  # NumPy raises
        ([(2, 3), (2, 3)], -1, (2, 3, 2)),
        ([(2, 3), (2, 3)], 3, None),
    ],
)
def test_a_stack_of_partly_known_shapes(arrays, axis, shape):
    rule = RULES["stack"]
    ins = {"arrays": [Aval(s, np.dtype(np.float64), ARRAY) for s in arrays]}
    out = rule.aval(ins, {"axis": axis})
    assert (out.shape if out is not None else None) == shape


def _first_of_a_stack(a, b):
    e = np.stack([a * b, np.sin(a)])
    return np.sum(e[0] ** 2)


def test_a_row_of_a_stack_is_the_array_stacked_there():
    """A stack's first row read is the array stacked there (`read_joined`)."""
    rng = np.random.default_rng(2)
    args = [rng.standard_normal(6), rng.standard_normal(6)]
    g = symgrad.grad(_first_of_a_stack, argnums=(0, 1))
    g(*args)
    symgrad.check_grads(_first_of_a_stack, args, (0, 1))
    code = [line for line in g.source.splitlines() if not line.lstrip().startswith("#")]
    assert not any("e[0]" in line for line in code) and "a * b" in g.source, g.source
