"""Batched Jacobians across the rule table: one call for all seeds equals one call per seed.

The oracle for a batched Jacobian is the same module's unbatched JVP or VJP, called once per unit
seed (each of those is checked against central differences in test_forward.py and test_rules.py);
for Hessians, forward over reverse (`hvp`) along each unit vector.
"""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from symgrad.checks.examples import Input, example_function, parse_example, sample
from symgrad.rules import RULES, batching, runtime

EXAMPLES = [(name, ex) for name in sorted(RULES) for ex in RULES[name].examples]


def _units(x):
    x = np.asarray(x, dtype=float)
    for k in range(x.size):
        e = np.zeros_like(x)
        e.flat[k] = 1.0
        yield e if x.ndim else float(e)


def _setup(example):
    expr, inputs = parse_example(example)
    diff = [k for k, i in enumerate(inputs) if i.differentiable]
    f = example_function(expr, inputs)
    rng = np.random.default_rng(0)
    args = [sample(i, rng) for i in inputs]
    out = f(*args)
    if not diff or np.asarray(out).dtype.kind != "f":
        pytest.skip("no float input or output to differentiate")
    return expr, inputs, diff, f, args, out, rng


@pytest.mark.parametrize("name, example", EXAMPLES, ids=[f"{n}: {e}" for n, e in EXAMPLES])
def test_batched_jacobians_match_one_seed_at_a_time(name, example):
    expr, inputs, diff, f, args, out, rng = _setup(example)
    fwds = symgrad.jacfwd(f, argnums=tuple(diff))(*args)
    revs = symgrad.jacrev(f, argnums=tuple(diff))(*args)
    for k, fwd, rev in zip(diff, fwds, revs):
        assert np.shape(fwd) == np.shape(rev) == np.shape(out) + np.shape(args[k])
        tangents = [None] * len(args)
        cols = []
        for e in _units(args[k]):
            tangents[k] = e
            cols.append(np.asarray(symgrad.jvp(f, tuple(args), tuple(tangents))[1]))
        expected = np.reshape(np.stack(cols, axis=-1), np.shape(fwd))
        np.testing.assert_allclose(fwd, expected, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(rev, expected, rtol=1e-9, atol=1e-11)
    k = diff[0]

    # the Hessian of s = sum(w * f) by one batched forward-over-reverse call, column by column
    *statements, value = expr.split(";")
    dims = "x".join(map(str, np.shape(out)))
    s = example_function(
        ";".join([*statements, f"np.sum(({value}) * w_)"]), [*inputs, Input("w_", dims, "const")]
    )
    w = rng.standard_normal(np.shape(out))
    try:
        H = symgrad.hessian(s, argnums=k)(*args, w)
    except symgrad.NotDifferentiableError as e:  # a second derivative not in the table yet
        pytest.skip(str(e).splitlines()[0])
    tangents = [None] * (len(args) + 1)
    cols = []
    for e in _units(args[k]):
        tangents[k] = e
        cols.append(np.asarray(symgrad.jvp(_first(s, k), (*args, w), tuple(tangents))[1]))
    np.testing.assert_allclose(
        H, np.reshape(np.stack(cols, -1), np.shape(H)), rtol=1e-9, atol=1e-10
    )


def _first(s, k):
    """The gradient with respect to argument k, whose JVP is the Hessian's column (hvp's gradient
    is with respect to argument 0)."""
    return symgrad.grad(s, argnums=k)


def test_every_batching_rule_names_parameters_and_a_function():
    assert sum(bool(rule.batch) for rule in RULES.values()) >= 14
    for name, rule in RULES.items():
        params = {p.name for p in rule.array_params}
        for param, (fn, _) in rule.batch.items():  # (a tuple: parameters batched together)
            named = set(param) if isinstance(param, tuple) else {param}
            assert named <= params and callable(getattr(batching, fn, None)), (name, param, fn)


def test_batched_code_calls_each_primitive_once_for_all_seeds(tmp_path):
    from tests.conftest import load_module

    mod = load_module(
        tmp_path,
        """
        def f(W, x):
            h = np.tanh(W @ x)
            return np.sum(h ** 2) + np.mean(x[1:] * x[:-1])
        """,
    )
    source = symgrad.hessian(mod.f, argnums=1).source
    driver = source[source.index("def hessian_f") :]
    assert "_unit_columns(x)" in driver and " in range(" not in driver
    assert "_per_column" not in source  # every primitive here has a vectorised batching rule


def test_lists_of_operands_batch_too(tmp_path):
    """einsum, stack and concatenate (a list of operands, some batched) and ravel: one pass for
    every seed, where the Jacobian had looped over the seeds (a forward pass each)."""
    from tests.conftest import load_module

    mod = load_module(
        tmp_path,
        """
        def f(W, T, x):
            p = np.einsum("vb,bij,vj->vi", W, T, x)
            q = np.concatenate([np.stack([p, x[:, :3]], axis=-1), np.ones((5, 3, 1))], axis=2)
            return np.ravel(np.sin(q))
        """,
    )
    rng = np.random.default_rng(0)
    args = rng.standard_normal((5, 3)), rng.standard_normal((3, 3, 4)), rng.standard_normal((5, 4))
    for transform in (symgrad.jacfwd, symgrad.jacrev):
        J = transform(mod.f, argnums=(0, 1, 2))
        J(*args)
        driver = J.source[J.source.index(f"def {transform.__name__}_f") :]
        assert " in range(" not in driver and "_per_column" not in J.source
    symgrad.check_grads(mod.f, args, (0, 1, 2), modes=("rev", "fwd"))
    for k, fwd in enumerate(symgrad.jacfwd(mod.f, argnums=(0, 1, 2))(*args)):
        h, moved = 1e-6, [list(args), list(args)]
        columns = []
        for e in _units(args[k]):
            moved[0][k], moved[1][k] = args[k] + h * e, args[k] - h * e
            columns.append((mod.f(*moved[0]) - mod.f(*moved[1])) / (2 * h))
        np.testing.assert_allclose(fwd, np.reshape(np.stack(columns, -1), fwd.shape), atol=1e-8)


@pytest.mark.parametrize(
    "a_shape, b_shape, batched",
    [((7, 5), (5, 3, 4), "b"), ((2, 7, 5), (5, 3, 4), "b"), ((5,), (5, 3, 4), "b"),
     ((7, 5), (5, 4), "b"), ((7, 5, 4), (5, 3), "a"), ((5, 4), (5, 7), "a"),
     ((2, 7, 5, 4), (5, 3), "a"), ((7, 5, 4), (2, 5, 3), "a")],
)  # fmt: skip
def test_a_batched_product_is_the_product_of_each_column(a_shape, b_shape, batched):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    columns = (b if batched == "b" else a).shape[-1]
    each = [a @ b[..., k] if batched == "b" else a[..., k] @ b for k in range(columns)]
    np.testing.assert_allclose(batching._matmul_batched(a, b, batched), np.stack(each, axis=-1))


@pytest.mark.parametrize(
    "a_shape, b_shape",
    [((4,), (2, 4, 3)), ((4,), (5, 2, 4, 3)), ((4,), (4, 3)), ((4,), (4,)), ((2, 3, 4), (4,)),
     ((3, 4), (2, 4, 5)), ((2, 3, 4), (4, 5)), ((1, 3, 4), (2, 4, 5))],
)  # fmt: skip
def test_a_matmul_vjp_of_a_batch_of_cotangents_is_the_vjp_of_each(a_shape, b_shape):
    """jacrev of x @ B for a vector x and a stack of matrices B raised NumPy's ValueError (the
    vector's row axis missing from the batched cotangent), and so did the Hessian through it."""
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    g = rng.standard_normal((*np.shape(a @ b), 3))
    for vjp, batched in [
        (runtime._matmul_vjp_a, batching._matmul_vjp_a_batched),
        (runtime._matmul_vjp_b, batching._matmul_vjp_b_batched),
    ]:
        each = [vjp(g[..., k], a, b) for k in range(3)]
        np.testing.assert_allclose(batched(g, a, b), np.stack(each, axis=-1), atol=1e-12)


def test_jacobians_of_an_argument_with_no_entries(tmp_path):
    """A batch of no seeds: `np.reshape(a, (-1, 0))` is ambiguous, so jacfwd and hessian of a
    ravel, a reshape with -1 or a concatenate(axis=None) of an empty argument raised."""
    from tests.conftest import load_module

    mod = load_module(
        tmp_path,
        """
        def flat(X, c):
            return np.concatenate([np.ravel(X), c], axis=None)

        def squares(X):
            return np.sum(np.reshape(X, (-1, 2)) ** 2)
        """,
    )
    X, c = np.zeros((0, 2)), np.ones(2)
    assert symgrad.jacfwd(mod.flat, argnums=(0, 1))(X, c)[0].shape == (2, 0, 2)
    np.testing.assert_array_equal(symgrad.jacfwd(mod.flat, argnums=1)(X, c), np.eye(2))
    assert symgrad.jacfwd(mod.flat, argnums=1)(np.ones((2, 2)), np.zeros(0)).shape == (4, 0)
    assert symgrad.hessian(mod.squares)(X).shape == (0, 2, 0, 2)
