"""List comprehensions and generator expressions differentiate as the loops they are."""

import math

import numpy as np
import pytest

import symgrad
from symgrad.errors import UnsupportedSyntaxError


def sum_over_range(x):
    return sum(np.sin(x[j]) * x[j + 1] for j in range(x.shape[0] - 1))


def sum_with_a_filter_and_a_start(x, k):
    return sum((x[j] ** 2 for j in range(x.shape[0]) if j != k), 1.5)


def stacked_rows(W, x):
    hs = [np.tanh(W[k] @ x) for k in range(W.shape[0])]
    return np.sum(np.stack(hs) ** 2)


def over_rows_and_pairs(W, X):
    terms = [np.sum(np.tanh(W @ row)) for row in X]
    pairs = np.array([a * b for a, b in zip(X[0], X[1])])
    return sum(terms) + np.sum(pairs)


def over_a_tuple_with_enumerate(a, b):
    return sum(k * np.sum(p**2) for k, p in enumerate((a, b, a)))


def nested(x):
    return sum(sum(x[i] * x[j] for j in range(i)) for i in range(x.shape[0]))


def names_stay_the_comprehensions_own(x):
    j = 2
    ys = x * 2.0
    ys = [ys[j] * y for y in ys]  # reads the ys it replaces, and the j outside
    t = sum(x[j] for j in range(3))
    return np.sum(np.stack(ys)) * t * x[j]


def gmm_constant(alpha, m):
    d = alpha.shape[0]
    nu = d + m + 1
    log_gamma = d * (d - 1) / 4 * math.log(math.pi) + sum(
        math.lgamma(nu / 2 + (1 - r) / 2) for r in range(1, d + 1)
    )
    return np.sum(alpha**2) * log_gamma


def lists_of_lists(X):  # a list of the lists an inner comprehension makes: a matrix
    rows = [[np.sin(X[i, j]) * X[j, i] for j in range(3)] for i in range(2)]
    return np.sum(np.array(rows[1])) + len(rows) * np.sum(np.stack(rows) ** 2)


def read_by_list_tuple_and_sorted(x):  # builtins that read a generator at once
    v = list(np.sin(x[i]) * x[i] for i in range(3))
    t = tuple(x[i] ** 2 for i in range(x.shape[0]))
    s = sorted(x[i] * 2.0 for i in range(x.shape[0]))
    return v[0] + v[2] * sum(v) + t[1] * len(t) + s[0] + 3.0 * s[-1]


def read_by_any_and_all(x):
    if any(x[i] > 2.0 for i in range(x.shape[0])):
        return np.sum(x**2)
    if all(x[i] < 0.0 for i in range(x.shape[0])):
        return np.sum(x)
    return np.sum(x**3)


def read_over_a_tuple(x):  # a generator over a tuple the source spells out (unrolled)
    y = 2.0 * x
    if any(np.max(a) > 3.0 for a in [x, y]):
        t = tuple(p * 2.0 for p in (x, y))
        return np.sum(t[0] * t[1])
    s = sorted(np.sum(a) for a in (x, y, -x))
    return s[0] * s[2] + float(all(np.min(a) > -5.0 for a in (x, y)))


def lambdas_made_in_one(x):  # each lambda's v its own default; the body reads its parameter
    v = x * 0.5
    fs = [(lambda z, v=v: z * v) for v in (2.0, 3.0)]
    gs = [(lambda z: z * v) for v in (4.0, 5.0)]  # noqa: B023 (the last v, as Python reads)
    return np.sum(fs[0](x)) + np.sum(gs[0](x)) + np.sum(v * x)


def in_a_while_condition(x):
    n = 0
    while sum(1 for j in range(n)) < 3:
        n = n + 1
    return np.sum(x) * n


def read_by_numpy_functions(W, x):  # NumPy reads a list of arrays as their stack
    errs = [np.sum((W[k] - x) ** 2) for k in range(W.shape[0])]
    rows = []
    for k in range(W.shape[0]):
        rows.append(np.tanh(W[k] * x))
    top = np.max(rows, axis=0)
    return np.mean(errs) + np.std(errs) + np.sum(np.where(top > 0.0, top, rows[0]))


RNG = np.random.default_rng(0)
W, X = RNG.standard_normal((3, 4)), RNG.standard_normal((5, 4))
CASES = [
    (sum_over_range, (X[0],), (0,)),
    (sum_with_a_filter_and_a_start, (X[0], 2), (0,)),
    (stacked_rows, (W, X[0]), (0, 1)),
    (over_rows_and_pairs, (W, X), (0, 1)),
    (over_a_tuple_with_enumerate, (W, X), (0, 1)),
    (nested, (X[1],), (0,)),
    (names_stay_the_comprehensions_own, (X[2],), (0,)),
    (gmm_constant, (X[3], 3), (0,)),
    (lists_of_lists, (RNG.standard_normal((3, 3)),), (0,)),
    (read_by_list_tuple_and_sorted, (X[4],), (0,)),
    (read_over_a_tuple, (np.array([0.3, -0.4, 0.5]),), (0,)),
    (lambdas_made_in_one, (X[0],), (0,)),
    (read_over_a_tuple, (np.array([2.0, -0.4, 0.5]),), (0,)),
    (read_by_any_and_all, (np.array([0.5, -1.5, 3.0]),), (0,)),
    (read_by_any_and_all, (np.array([-0.5, -1.5, -3.0]),), (0,)),
    (read_by_any_and_all, (np.array([0.5, 1.5, -1.0]),), (0,)),
    (read_by_numpy_functions, (W, X[0]), (0, 1)),
]


@pytest.mark.parametrize("fn, args, argnums", CASES, ids=[c[0].__name__ for c in CASES])
def test_a_comprehension_differentiates_and_computes_what_python_does(fn, args, argnums):
    symgrad.check_grads(fn, args, argnums)
    value, _ = symgrad.value_and_grad(fn, argnums=argnums)(*args)
    assert np.isclose(value, fn(*args), rtol=1e-12, atol=0)


def test_a_sum_over_no_terms_is_its_start():
    g = symgrad.value_and_grad(sum_over_range)
    value, grad = g(np.ones(1))
    assert value == 0 and np.array_equal(grad, np.zeros(1))


def test_the_emitted_code_keeps_the_loop():
    g = symgrad.grad(sum_over_range)
    g(X[0])
    assert "for j in range(3):" in g.source
    assert "total = total + " in g.source


def test_a_comprehension_in_a_while_condition_is_refused_where_it_is():
    with pytest.raises(UnsupportedSyntaxError, match="generator expression read later") as e:
        symgrad.grad(in_a_while_condition)(X[0])
    assert "test_comprehensions.py" in str(e.value)


def nested_def_with_a_comprehension(x):
    def squares(y):
        return sum(y[j] ** 2 for j in range(y.shape[0]))

    return squares(x) * 2.0


def test_a_comprehension_in_a_nested_def_stays_in_it():
    symgrad.check_grads(nested_def_with_a_comprehension, (X[0],), (0,))


def smallest_after_the_first(x):
    return min(x[i] for i in range(x.shape[0]) if i > 0)


def products(a, b):
    return np.sum(np.array([u * v for u in a for v in b]))


@pytest.mark.parametrize("fn", [smallest_after_the_first, products])
def test_a_comprehension_of_a_length_known_when_it_runs_is_refused_in_its_words(fn):
    # the message named the list symgrad made of it: "terms.append must run exactly once"
    with pytest.raises(UnsupportedSyntaxError, match="with an if clause or several for"):
        symgrad.grad(fn, argnums=0)(*([np.ones(3)] * fn.__code__.co_argcount))


def kept_generator(x):
    H = np.ones((3, 2)) * x[0]
    gen = (H[0, k] * 2.0 for k in range(2))
    H[0] = x[:2] * 3.0
    return sum(gen)


def test_a_generator_expression_read_later_is_refused():
    """Python reads its items when `sum` runs, after `H[0]` changed (NumPy: 6 * sum(x[:2]));
    written as loops where it stood, it had read the old row (silently wrong)."""
    with pytest.raises(UnsupportedSyntaxError, match="generator expression read later"):
        symgrad.grad(kept_generator)(X[0])


SORTED = """
def repeated(x):
    return np.sum(np.array(sorted((x[1], x[0])) * 2))


def of_arrays(x):
    return np.sum(x) * any((x, x - 1.0))


def of_rows(x):
    s = sorted((x[:2], x[1:3]))
    return np.sum(s[0])


def truth(x):
    s = sorted((x[1], x[0]))
    if s:
        return x[0] * 2.0
    return x[0]


def unpacked_in_a_loop(x, y):  # (was refused: "cannot unpack Stacked")
    s = 0.0
    for i in range(len(x)):
        a, b = sorted([x[i], y[i]])
        s = s + a * 2.0 + b
    return s
"""


def test_what_sorted_any_and_all_read_are_numbers_as_pythons(make_fn):
    # sorted() was an array (`* 2` doubled its entries: Python repeats the list; now a list of
    # its items, sorted, it is the list Python's is); any() and
    # sorted() of arrays gave a value where Python raises; `if sorted(...)` raised NumPy's
    m = make_fn(SORTED)
    x = np.array([0.3, -1.2, 1.7])
    assert symgrad.jit(m.repeated)(x) == m.repeated(x)  # (a list: repeated, as Python's)
    symgrad.check_grads(m.repeated, (x,))
    symgrad.check_grads(m.unpacked_in_a_loop, (x, x[::-1] * 0.7), (0, 1), modes=("rev", "fwd"))
    for f in (m.of_arrays, m.of_rows):
        with pytest.raises(symgrad.SymgradError, match="of arrays .* Python compares them"):
            symgrad.jit(f)(x)
    assert symgrad.jit(m.truth)(x) == m.truth(x)
    symgrad.check_grads(m.truth, (x,))


def test_any_all_and_bool_give_pythons_bool(make_fn):
    # any() gave np.bool_, and bool(x) was "cannot compile a call to bool"
    m = make_fn(
        "def f(x):\n    return any(v > 0.5 for v in (x[0], x[1]))\n\n\n"
        "def g(x):\n    return np.sum(x) * bool(x[0] > 0)\n"
    )
    x = np.array([0.3, 0.7])
    assert symgrad.jit(m.f)(x) is True
    assert symgrad.jit(m.g)(x) == m.g(x)
    symgrad.check_grads(m.g, (x,))


def test_list_arithmetic_on_a_list_a_loop_filled_is_refused(make_fn):
    """`errs * 2` repeats the list and `errs + errs` joins it (np.mean of either is not
    np.mean(np.stack(errs) * 2)): refused, where a NumPy function reads the list as its stack."""
    for expr in ("errs * 2", "errs + errs"):
        m = make_fn(
            f"def f(x):\n    errs = [np.sum(x * k) for k in range(3)]\n    return np.mean({expr})\n"
        )
        with pytest.raises(UnsupportedSyntaxError, match="a list a loop filled"):
            symgrad.grad(m.f)(np.ones(2))
