"""`and`, `or`, `not` and chained comparisons, with Python's short circuit; `is None` and `in`."""

import numpy as np
import pytest

import symgrad


def search(x, t):
    i = 0
    n = x.shape[0]
    while i < n and x[i] < t:  # x[n] is never read
        i = i + 1
    return np.sum(x[:i] ** 2)


def piecewise(x, lo, hi):
    s = 0.0
    for j in range(x.shape[0]):
        if lo < x[j] < hi or x[j] > 2 * hi:
            s = s + x[j] ** 2
        elif not x[j] > 0:
            s = s - x[j]
    return s


def value_of_or(x):
    a = np.sum(x)
    b = a < -10.0 or np.sum(x**2)  # the second operand's value
    c = a > 10.0 and np.sum(x**3)  # the first's (False)
    return b * 1.0 + a + c


def chain_of_three(x):
    total = 0.0
    for j in range(x.shape[0] - 2):
        if x[j] < x[j + 1] < x[j + 2] <= 5.0:
            total = total + x[j] * x[j + 2]
    return total


def known_when_compiling(x, flag):
    scale = flag and 2.0 or 3.0
    if not flag or x.shape[0] > 3 > 2:
        scale = scale + 1.0
    return np.sum(x) * scale


def optional_mask(x, mask=None, params={"a": 2.0}, names=("w",)):  # noqa: B006 (read only)
    s = np.sum(x**2) if mask is None else np.sum(mask * x**2)
    if mask is not None and "a" in params:
        s = s + params["a"] * np.sum(mask)
    if "b" not in params and "w" in names and None is not names:
        s = s * 1.5
    return s


RNG = np.random.default_rng(0)
X = RNG.standard_normal(8)
CASES = [
    (search, (np.sort(X), 0.3)),
    (search, (np.sort(X), 9.0)),  # runs to the end
    (piecewise, (X, -0.5, 0.5)),
    (value_of_or, (X,)),
    (chain_of_three, (np.array([0.1, 0.5, 0.9, 0.2, 0.3, 0.4, 6.0, 7.0]),)),
    (known_when_compiling, (X, True)),
    (known_when_compiling, (X, False)),
    (optional_mask, (X,)),  # `is None` of an argument: asked when it runs
    (optional_mask, (X, X**2)),
]


@pytest.mark.parametrize(
    "fn, args", CASES, ids=[f"{c[0].__name__}-{k}" for k, c in enumerate(CASES)]
)
def test_a_boolean_expression_computes_and_differentiates_as_python(fn, args):
    symgrad.check_grads(fn, args, (0,))
    value, _ = symgrad.value_and_grad(fn)(*args)
    assert value == pytest.approx(fn(*args), rel=1e-12)


def scaled_if(use, w):  # the condition is the first argument: node 0 of the graph
    return (2.0 if use else 1.0) * np.sum(w**2)


def or_first(s, w):
    return (s or 1.0) * np.sum(w**2)


@pytest.mark.parametrize("fn", [scaled_if, or_first])
@pytest.mark.parametrize("first", [0.0, 0, False, 3.0])
def test_a_condition_that_is_the_first_argument_keeps_the_other_branch(fn, first):
    w = X[:3]
    value, grad = symgrad.value_and_grad(fn, argnums=1)(first, w)
    assert value == pytest.approx(fn(first, w), rel=1e-12)
    assert symgrad.jit(fn)(first, w) == pytest.approx(fn(first, w), rel=1e-12)
    assert np.allclose(grad, 2 * fn(first, w) / np.sum(w**2) * w)


def test_and_is_written_as_python_writes_it():
    g = symgrad.grad(search)
    g(np.sort(X), 0.3)
    assert " and x[i] < t" in g.source


def squares(xs, n):
    s = 0.0
    for d in range(n):
        s = s + np.sum(xs[d] ** 2)  # d known at run time only: a chain of conditional expressions
    return s


def test_an_item_picked_at_run_time_from_a_long_list_is_written_in_linear_work(monkeypatch):
    """Each level of the chain `xs[0] if d == 0 or d == -n else (xs[1] if ...)` is written
    once: trying a cond as an expression once wrote its branches in full, and writing it as
    statements wrote them again, so a list of 12 items took 4,119 writes of a cond (36 now)."""
    writes = []
    cond = symgrad.emit.codegen.WRITERS["cond"]
    monkeypatch.setitem(
        symgrad.emit.codegen.WRITERS, "cond", lambda w, node: writes.append(1) or cond(w, node)
    )
    counts = {}
    for n in (4, 12):
        xs = [np.full(3, float(k)) for k in range(n)]
        writes.clear()
        grads = symgrad.grad(squares)(xs, n - 1)
        counts[n] = len(writes)
        assert all(
            np.array_equal(g, 2 * x if k < n - 1 else 0 * x)
            for k, (g, x) in enumerate(zip(grads, xs))
        )
    assert 0 < counts[12] <= 4 * counts[4], counts


def identical(x):
    y = x * 2.0
    return np.sum(y) if y is x else np.sum(x)


def member(x):
    return np.sum(x) if 2.0 in [x[0], x[1]] else 0.0


@pytest.mark.parametrize("fn, what", [(identical, "identity (is)"), (member, "membership (in)")])
def test_identity_and_membership_of_computed_values_are_refused(fn, what):
    with pytest.raises(symgrad.SymgradError, match=r"not supported") as caught:
        symgrad.grad(fn)(X)
    assert what in str(caught.value) and "test_booleans.py" in str(caught.value)


def masks_combined(x, lo):
    inside = (x > lo) & (x < 1.0)
    outside = ~inside | (x > 5.0)
    either = inside ^ (x < -1.0)
    return np.sum(np.where(inside, x**2, 0.0) + np.where(outside, np.sin(x), 0.0) + x * either)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_masks_combine_with_and_or_xor_and_invert(backend):
    # `&`, `|`, `^` and `~` on boolean arrays were refused
    if backend == "numba":
        pytest.importorskip("numba")
    x = np.array([-1.5, -0.3, 0.4, 0.9, 1.7, 6.0])
    symgrad.check_grads(masks_combined, (x, 0.0), (0,), modes=("rev", "fwd"), backend=backend)
    value = symgrad.value_and_grad(masks_combined, backend=backend)(x, 0.0)[0]
    assert value == pytest.approx(masks_combined(x, 0.0), rel=1e-12)


def and_of_floats(x):
    return np.sum(x & x)


def test_bitwise_operators_of_arrays_that_are_not_masks_are_refused():
    # (NumPy refuses `&` and `~` of floats; a gradient of zeros would hide it)
    with pytest.raises(symgrad.SymgradError, match="BitAnd is not supported"):
        symgrad.grad(and_of_floats)(X)


def parity_weighted(x, n):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] * (i & 1) + x[i] ** 2 * (n >> 1) + x[i] * ((i ^ 1) | (1 << i))
    return s


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_bitwise_operators_of_ints_and_a_constant(backend):
    # `i & 1` of a loop's index was refused ("BitAnd is not supported on arrays")
    if backend == "numba":
        pytest.importorskip("numba")
    x = np.array([0.5, -1.0, 2.0, 0.25])
    value, _ = symgrad.value_and_grad(parity_weighted, backend=backend)(x, 5)
    assert value == pytest.approx(parity_weighted(x, 5), rel=1e-12)
    symgrad.check_grads(parity_weighted, (x, 5), (0,), backend=backend)


def masked_by_argument(x, mask, flag=True):
    return np.sum(np.where(mask & flag, x, 0.0) ** 2) + np.sum(np.where(mask | (x > 1), x, 0.0))


@pytest.mark.parametrize("flag", [True, False])
def test_a_mask_given_combines_with_a_flag_or_a_mask(flag):
    # (`mask & flag` of a mask argument was refused: "BitAnd is not supported on arrays")
    x, mask = np.array([0.5, 2.0, -1.0]), np.array([True, False, True])
    symgrad.check_grads(masked_by_argument, (x, mask, flag), 0)
    assert symgrad.jit(masked_by_argument)(x, mask, flag) == masked_by_argument(x, mask, flag)


def off_the_diagonal(x):
    n = x.shape[0]
    mask = ~np.eye(n, dtype=bool)
    return np.sum(np.where(mask, x, 0.0) * ~np.arange(n))


def unless_all_positive(x):
    return np.sum(x**2) * (1.0 + ~np.all(x > 0)) + np.where(~(x > 1).any(), 2.0, 0.5) * x[0]


def test_invert_of_an_array_the_function_made_is_numpys():
    # (`~np.eye(n, dtype=bool)` and `~np.all(...)` were refused: "the operator Invert on
    # arrays is not supported")
    x = np.arange(9.0).reshape(3, 3) / 4.0
    assert symgrad.jit(off_the_diagonal)(x) == pytest.approx(off_the_diagonal(x), rel=1e-12)
    symgrad.check_grads(off_the_diagonal, (x,), modes=("rev", "fwd"))
    for v in (np.array([0.5, -1.0]), np.array([0.5, 2.0])):
        assert symgrad.jit(unless_all_positive)(v) == unless_all_positive(v)
        symgrad.check_grads(unless_all_positive, (v,), modes=("rev", "fwd"))
