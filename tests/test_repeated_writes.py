"""Assignments through an index that repeats an entry: `y[[0, 1, 1]] = v` writes entry 1 twice,
and NumPy keeps one of the writes (the last, in practice). The value that lost has no effect on
y, so its cotangent is zero: a gradient that gave it the entry's cotangent too was silently
wrong (it once did). Each case is checked against central differences, both modes, on the
NumPy backend, and a few of them on the Numba one."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from tests.conftest import on_backends

rng = np.random.default_rng(11)

CASES = {  # name: (source of f(x), x's shape)
    "vector_of_values": (
        """
        def f(x):
            y = np.zeros(4)
            y[np.array([0, 1, 1, 3])] = x[:4]
            return np.sum(y * np.arange(1.0, 5.0))
        """,
        (6,),
    ),
    "list_index": (
        """
        def f(x):
            y = x * 2.0
            y[[2, 0, 2, 2]] = x[1:5] ** 2
            return np.sum(np.sin(y))
        """,
        (6,),
    ),
    "one_value_broadcast": (
        """
        def f(x):
            y = np.zeros(4)
            y[np.array([0, 1, 1, 3])] = x[0]
            return np.sum(y * np.arange(1.0, 5.0))
        """,
        (3,),
    ),
    "pairs_of_indices": (
        """
        def f(x):
            Y = np.zeros((3, 3))
            Y[np.array([0, 2, 0]), np.array([1, 1, 1])] = x[:3]
            return np.sum(Y * np.arange(9.0).reshape(3, 3))
        """,
        (4,),
    ),
    "rows_and_a_slice": (
        """
        def f(x):
            Y = np.ones((3, 4))
            Y[np.array([1, 1, 0]), 1:] = x.reshape(3, 3)
            return np.sum(Y ** 2 * np.arange(12.0).reshape(3, 4))
        """,
        (9,),
    ),
    "added_in_place": (  # y[i] += v reads y[i] then writes: one of the sums is kept
        """
        def f(x):
            y = x[:4] * 1.0
            y[np.array([0, 1, 1, 3])] += x[2:]
            return np.sum(y * np.arange(1.0, 5.0))
        """,
        (6,),
    ),
    "in_a_loop": (
        """
        def f(x):
            y = np.zeros(3)
            for k in range(2):
                y[np.array([0, 2, 2])] = x[3 * k : 3 * k + 3] * y[1] + x[k]
                y[1] = y[1] + 0.5
            return np.sum(y * np.arange(1.0, 4.0))
        """,
        (6,),
    ),
    "arange_that_wraps_around": (  # uint8's arange: 0, 128, 0, 128 (not distinct)
        """
        def f(x):
            y = np.zeros(130)
            y[np.arange(0, 512, 128, dtype=np.uint8)] = x[:4]
            return np.sum(y * np.arange(130.0))
        """,
        (4,),
    ),
    "loop_of_element_writes": (  # a loop of independent steps writing entries of p
        """
        def f(x):
            p = np.array([1, 0, 1, 1, 2])
            y = np.zeros(3)
            for i in range(5):
                y[p[i]] = x[i] ** 2
            return np.sum(y * np.arange(1.0, 4.0))
        """,
        (5,),
    ),
}


@pytest.mark.parametrize(
    "name, backend", on_backends(CASES, ["vector_of_values", "pairs_of_indices", "in_a_loop"])
)
def test_a_write_that_is_overwritten_has_no_gradient(name, backend, make_fn):
    source, shape = CASES[name]
    m = make_fn(source)
    x = rng.uniform(0.5, 1.5, shape)
    symgrad.check_grads(m.f, [x], 0, modes=("rev", "fwd"), backend=backend)


def test_the_gradient_of_an_overwritten_value_is_zero(make_fn):
    m = make_fn(CASES["vector_of_values"][0])
    g = symgrad.grad(m.f)(np.ones(6))
    np.testing.assert_array_equal(g, [1.0, 0.0, 2.0, 4.0, 0.0, 0.0])  # x[1] lost to x[2]


def test_the_shape_polymorphic_module_masks_overwritten_values_too(make_fn, tmp_path):
    m = make_fn(CASES["one_value_broadcast"][0])
    path = tmp_path / "grad_f.py"
    symgrad.grad(m.f).save(str(path))
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    np.testing.assert_array_equal(namespace["grad_f"](np.ones(3)), [1.0 + 2.0 + 4.0, 0.0, 0.0])


def test_an_index_of_distinct_places_is_not_masked(make_fn):
    # np.arange's entries are distinct, and so are np.triu_indices' pairs (`Aval.distinct`), so
    # the specialised gradient needs no `_kept_writes`; a list of entries may repeat one
    m = make_fn(
        """
        def f(q, l):
            d = q.shape[0]
            cols, rows = np.triu_indices(d, 1)
            diag = np.arange(d)
            Q = np.zeros((d, d))
            Q[diag, diag] = np.exp(q)
            Q[rows, cols] = l
            return np.sum(Q @ Q.T)

        def g(q, l):
            Q = np.zeros((3, 3))
            Q[[1, 2, 2], [0, 0, 1]] = l
            return np.sum(Q @ Q.T) + np.sum(q)
        """
    )
    args = [rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 3)]
    for fn, masked in [(m.f, False), (m.g, True)]:
        grad = symgrad.grad(fn, argnums=(0, 1))
        grad(*args)
        assert ("_kept_writes(" in grad.source) == masked
        symgrad.check_grads(fn, args, (0, 1), modes=("rev", "fwd"))


ADD_AT = """
def histogram(x, w):
    y = np.zeros(4)
    np.add.at(y, np.array([0, 1, 1, 3, 0]), w * x)
    np.add.at(y, 2, 1.5)
    return np.sum(y ** 2)

def rows_and_entries(X, v):
    Y = np.zeros((3, 2))
    np.add.at(Y, (np.array([0, 2, 0]), np.array([1, 1, 1])), v)
    np.add.at(Y, np.array([1, 1]), X)
    return np.sum(Y * np.arange(6).reshape(3, 2)) + np.sum(Y ** 2)

def on_an_argument(y, x):
    np.add.at(y, np.array([0, 0]), x)
    return np.sum(y)
"""


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_np_add_at_adds_every_write(make_fn, backend):
    # `np.add.at(y, idx, v)`: an entry named twice gets both (where y[idx] += v keeps one);
    # it was "cannot differentiate a call to at"
    m = make_fn(ADD_AT)
    x, X = rng.standard_normal(5), rng.standard_normal((2, 2))
    for f, args in ((m.histogram, (x, 0.7)), (m.rows_and_entries, (X, rng.standard_normal(3)))):
        assert symgrad.jit(f, backend=backend)(*args) == pytest.approx(f(*args), rel=1e-12)
        symgrad.check_grads(f, args, (0, 1), modes=("rev", "fwd"), backend=backend)
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="only arrays the function created"):
        symgrad.grad(m.on_an_argument, argnums=1)(np.zeros(3), 1.0)


def test_np_add_at_keeps_the_arrays_dtype(make_fn):
    # a float64 value added into a float32 array made it float64 (NumPy writes into a)
    m = make_fn("def f(x):\n    a = x * 2.0\n    np.add.at(a, [0, 0], 0.1)\n    return np.sum(a)\n")
    x = np.ones(2, np.float32)
    value, grad = symgrad.value_and_grad(m.f)(x)
    assert value.dtype == m.f(x).dtype == np.float32 and grad.dtype == np.float32
