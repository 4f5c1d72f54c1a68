"""Python's + and * on lists and tuples are concatenation and repetition, as in plain Python,
never NumPy arithmetic: `x.shape[:1] + (2,)` is the shape (n, 2), `[a] + [b, c]` a list of
three, `[a] * 3` a list of three (symgrad once added and multiplied them as arrays, a silent
wrong value and gradient). Each function's value is checked against the function itself and
its derivatives against central differences; what Python refuses is refused."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from tests.conftest import on_backends


def shape_joined(x):
    z = np.zeros(x.shape[:1] + (2,))
    return np.sum((z + x[:, None]) ** 2)


def shape_extended(x):
    return np.sum(x.reshape(x.shape + (1,)) * np.ones((1, 2)))


def shape_repeated(x):
    n = len(x)
    return np.sum(np.ones((n,) * 2) @ x)


def lists_joined(x):
    entries = [x[0]] + [x[1], x[2]]
    return np.sum(np.array(entries) ** 2)


def list_repeated(x):
    return np.sum(np.array([x[0], x[1]] * 2) * np.arange(4)) * len([x[2]] * 3)


def tuples_joined(x):
    t = (x[0], x[1]) + (x[2],)
    return t[0] * t[1] + t[2] * len(t)


def list_extended(x):
    entries = [x[0]]
    alias = entries
    entries += [x[1]]
    entries += (x[2] ** 2,)
    return sum(alias) * len(alias)


def arrays_joined(a):
    return np.sum(np.concatenate([a] + [a * 2]) ** 2) + np.sum(np.stack([a] * 2) ** 3)


def array_times_list(x):  # a list beside an array: NumPy's arithmetic
    return np.sum(x * [1.0, 2.0, 3.0] + [x[0], x[1], x[2]] * x)


def entries_of_a_dtype(x):  # (was refused: "bad arguments to stack: ... 'dtype'")
    y = np.array([x[0] * x[1], x[2] ** 2], dtype=float)
    ints = np.array([x[0] * 7, x[1]], dtype=int)  # (truncated: no gradient through them)
    return np.sum(y * y) + np.sum(ints * x[1:])


def shape_repeated_by_a_length(x):  # (was refused: "by a count computed when it runs")
    w = x[:1] * 2.0
    column = np.reshape(w, (-1,) + (1,) * (x.ndim - 1))
    return np.sum(column * x) + np.sum(np.zeros((1,) * x.ndim) + x)


CASES = {
    f.__name__: f
    for f in (shape_joined, shape_extended, shape_repeated, lists_joined, list_repeated)
    + (tuples_joined, list_extended, arrays_joined, array_times_list, entries_of_a_dtype)
    + (shape_repeated_by_a_length,)
}


@pytest.mark.parametrize("name, backend", on_backends(CASES, ["shape_joined", "list_extended"]))
def test_plus_and_times_of_sequences_are_pythons(name, backend):
    f, x = CASES[name], np.array([0.5, -1.25, 2.0])
    value, _ = symgrad.value_and_grad(f, backend=backend)(x)
    np.testing.assert_allclose(value, f(x), rtol=1e-12)
    symgrad.check_grads(f, (x,), modes=("rev", "fwd"), backend=backend)


def list_and_tuple(x):
    return sum([x[0]] + (x[1],))


def shape_and_number(x):
    return np.zeros(x.shape + 1)


def list_times_float(x):
    return sum([x[0]] * 2.0)


def list_times_a_length(x):
    return sum([x[0]] * len(x))


@pytest.mark.parametrize(
    "f, message",
    [
        (list_and_tuple, "+ of a list and a tuple"),
        (shape_and_number, "+ of a tuple and a number"),
        (list_times_float, "* of a list or tuple and a number"),
        (list_times_a_length, "* of a list by a count computed when the function runs"),
    ],
)
def test_what_python_refuses_and_a_repetition_by_a_computed_count_are_refused(f, message):
    with pytest.raises(symgrad.SymgradError, match="not supported") as caught:
        symgrad.grad(f)(np.array([0.5, -1.25, 2.0]))
    assert message in str(caught.value) and "test_sequences.py" in str(caught.value)


def starred_targets(x, w):
    batch, *dims = x.shape
    *lead, last = x.shape
    first, *rest = [w[0], w[1], w[2]]
    a, *middle, z = (w[0], w[1], w[2], w[0] * w[1])
    h = x.reshape(batch, int(np.prod(dims)))
    return np.sum(h**2) * last * len(lead) + first * sum(rest) + len(middle) * a * z


def keys_iterated(w, params={"a": 2.0, "b": -1.0}):  # noqa: B006 (read only)
    total = 0.0
    for name in params:
        total = total + params[name] * np.sum(w**2)
    for k, name in enumerate(params, 1):
        total = total + k * len(name) * w[0]
    return total


def test_starred_targets_and_a_dicts_keys():
    # `n, *rest = x.shape` was refused ("a starred expression"), and so was `for k in params:`
    x, w = np.random.default_rng(0).standard_normal((3, 2, 2)), np.array([0.3, -0.5, 1.2])
    for f, args, nums in [(starred_targets, (x, w), (0, 1)), (keys_iterated, (w,), (0,))]:
        symgrad.check_grads(f, args, nums, modes=("rev", "fwd"))
        assert symgrad.value_and_grad(f, nums)(*args)[0] == pytest.approx(f(*args), rel=1e-12)


def starred_array(x):
    first, *rest = x
    return first


def test_a_starred_target_of_an_array_is_refused():
    with pytest.raises(symgrad.SymgradError, match="a starred target of an array"):
        symgrad.grad(starred_array)(np.ones((2, 2)))


def repeated_by_an_argument(a, n):
    return np.sum(np.array([a] * n) ** 2)


@pytest.mark.parametrize("transform", [symgrad.value_and_grad, symgrad.jit])
def test_a_list_times_an_int_argument_is_refused_when_it_runs(transform):
    # it was NumPy's product, np.stack([a]) * n: 45 where Python's repetition gives 15
    with pytest.raises(symgrad.SymgradError, match="times an int repeats it"):
        transform(repeated_by_an_argument)(np.array([1.0, 2.0]), 3)
    value = transform(repeated_by_an_argument)(np.array([1.0, 2.0]), np.array([[1.0], [3.0]]))
    want = repeated_by_an_argument(np.array([1.0, 2.0]), np.array([[1.0], [3.0]]))
    assert np.allclose(value[0] if isinstance(value, tuple) else value, want)


def sum_from_an_entry(x):
    return np.sum(sum([x[0], x[1]], x[2]))  # Python's start: x[2] + x[0] + x[1]


def sum_of_rows_from_one(x):
    return np.sum(sum(x, 1.0) ** 2)


def sum_of_numbers_from_a_keyword(a, b, c):
    return sum((a, b), start=c) * 2.0


def sum_of_a_filled_list_from_a_start(x):
    xs = []
    for i in range(3):
        xs.append(x[i] ** 2)
    return np.sum(sum(xs, 5.0)) + sum(xs, start=x[0]) + sum((x[i] for i in range(2)), 1.5)


@pytest.mark.parametrize(
    "f, args, nums",
    [
        (sum_from_an_entry, (np.arange(1.0, 7.0).reshape(3, 2),), (0,)),
        (sum_of_rows_from_one, (np.arange(1.0, 7.0).reshape(3, 2),), (0,)),
        (sum_of_numbers_from_a_keyword, (1.0, 2.0, 3.0), (0, 1, 2)),
        (sum_of_a_filled_list_from_a_start, (np.array([0.5, 1.5, 2.0]),), (0,)),
    ],
)
def test_sum_starts_from_its_second_argument_as_pythons_does(f, args, nums):
    # sum(seq, start) once stacked start with the items (x[2] added as a third item of a
    # list, a value of 32.0 for 21.0), and was refused over a list a loop filled
    symgrad.check_grads(f, args, nums, modes=("rev", "fwd"))
    assert symgrad.value_and_grad(f, nums)(*args)[0] == pytest.approx(f(*args), rel=1e-12)


def layers_zipped(params, x):
    for W, b in zip(params["W"], params["b"]):
        x = np.tanh(W @ x + b)
    return np.sum(x)


def layers_counted(params, x):
    for i, (W, b) in enumerate(zip(params["W"], params["b"]), 1):
        x = np.tanh(W @ x + b) * i
    for i, W in zip(range(2), params["W"]):  # a range of constants beside a list
        x = np.tanh(W @ x) + i
    return np.sum(x)


def pairs(a, b, x):
    s = 0.0
    for u, v in zip([a, b], [b, a]):
        s = s + u * v * x
    return s


def test_zip_of_lists_is_unrolled_as_a_list_is():
    # "a for loop goes over range(), an array, enumerate() or zip(), not a list"
    rng = np.random.default_rng(0)
    params = {"W": [rng.standard_normal((3, 3)) for _ in range(2)], "b": [np.ones(3)] * 2}
    x = rng.standard_normal(3)
    for f in (layers_zipped, layers_counted):
        symgrad.check_grads(f, (params, x), (0, 1), modes=("rev", "fwd"))
        assert symgrad.value_and_grad(f)(params, x)[0] == pytest.approx(f(params, x), rel=1e-12)
    symgrad.check_grads(pairs, (1.5, 2.0, 3.0), (0, 1, 2))
