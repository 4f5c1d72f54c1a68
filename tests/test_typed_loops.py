"""Typed loops: Avals through loop bodies, and the backward loops they let symgrad write.

A loop's carried values are typed by a fixed point (what holds on every iteration), its index
is known relative to itself (`x[i : i + n]` has length n where that stays inside x), and the
backward loop is specialised with them: no `_fit` or `_unbroadcast` in it, no value taped for
its shape alone, the values its VJP reads taped instead of recomputed, sums of outer products
made one matrix product. Every gradient here is checked against central differences.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import symgrad
from symgrad.ir.avals import ARRAY, PYTHON, Aval, Sym, join
from symgrad.ir.index import Dyn, Slice
from symgrad.ir.verify import verify
from symgrad.passes.residuals_nested import STACKED_MAX
from symgrad.rules import RULES
from symgrad.rules.indexing import _slice_lengths
from tests.conftest import BACKENDS
from tests.fixtures.array_fns import elements as conv_elements
from tests.fixtures.golden_fns import rnn


def _body(source: str) -> str:
    return source[source.index("\ndef grad_") :]


def conv_taps(w, b, x, target):
    n, k = x.shape[0], w.shape[0]
    out = np.zeros(n - k + 1)
    for j in range(k):
        out = out + w[j] * x[j : j + n - k + 1]
    r = np.maximum(out + b, 0.0)
    return np.mean((r - target) ** 2)


def clipped(x, w):
    total = 0.0
    for j in range(4):
        total = total + np.sum(w * x[j : j + 3] ** 2)  # the last reads run past the end
    return total


def test_a_loop_over_taps_tapes_nothing_and_sums_by_dot(loops_kept):
    rng = np.random.default_rng(0)
    args = (rng.standard_normal(4), 0.1, rng.standard_normal(20), rng.standard_normal(17))
    g = symgrad.grad(conv_taps, argnums=(0, 1))
    g(*args)
    verify(g.graph, RULES)
    symgrad.check_grads(conv_taps, args, (0, 1))
    body = _body(g.source)
    assert "tape" not in body and "for j_1 in reversed(range(4)):" in body
    assert "w_bar_1[j_1] += out_bar @ x[" in body  # one dot per tap, added where it belongs
    for helper in ("_unbroadcast(", "broadcast_shapes", "np.add.at"):
        assert helper not in body, helper


def test_the_rnn_tape_keeps_the_activations_and_sums_outer_products_once():
    rng = np.random.default_rng(1)
    args = (
        0.5 * rng.standard_normal((5, 5)),
        rng.standard_normal((5, 3)),
        rng.standard_normal((6, 3)),
    )
    g = symgrad.grad(rnn, argnums=(0, 1))
    dW, dU = g(*args)
    verify(g.graph, RULES)  # the tape's entries as the backward loop reads them
    symgrad.check_grads(rnn, args, (0, 1))
    backward = _body(g.source).split("# backward pass")[1]
    code = [line for line in backward.splitlines() if not line.strip().startswith("#")]
    assert not any("np.tanh" in line for line in code)  # read from the tape, not recomputed
    # the tape is one array of the activations (h before a step is h after the one before);
    # Σ_t g_t h_tᵀ is one product of the rows kept with the tape, Σ_t g_t x_tᵀ one with xs
    assert "tape_h_1[t + 1] = h_2" in _body(g.source) and "tape.append" not in g.source
    assert "t4_rows.T @ h_3_tape" in backward and "t4_rows.T @ xs" in backward
    assert dW.shape == (5, 5) and dU.shape == (5, 3)


def test_an_rnn_of_no_steps_has_zero_gradients():
    rng = np.random.default_rng(2)
    W, U = rng.standard_normal((3, 3)), rng.standard_normal((3, 2))
    dW, dU = symgrad.grad(rnn, argnums=(0, 1))(W, U, np.zeros((0, 2)))
    assert np.all(dW == 0) and np.all(dU == 0) and dW.shape == (3, 3)


def test_an_element_loop_walks_its_range_back_without_a_tape(loops_kept):
    rng = np.random.default_rng(3)
    args = (rng.standard_normal(12), rng.standard_normal(3))
    g = symgrad.grad(conv_elements, argnums=(0, 1))
    g(*args)
    verify(g.graph, RULES)
    symgrad.check_grads(conv_elements, args, (0, 1))
    body = _body(g.source)
    assert "tape" not in body and "in reversed(range(10)):" in body
    assert "_fit(" not in body and "_unbroadcast(" not in body


def recurrence(x):
    y = np.zeros(x.shape[0])
    y[0] = x[0]
    for i in range(1, x.shape[0]):
        y[i] = y[i - 1] * x[i] + 0.1
    return np.sum(y**2)


def test_a_recurrence_tapes_the_element_it_reads_not_the_array():
    # the tape held a copy of y per step (O(n^2) memory and time: 122 MiB at n = 4000)
    x = np.random.default_rng(5).uniform(0.5, 1.5, 9)
    symgrad.check_grads(recurrence, (x,), 0)
    g = symgrad.grad(recurrence)
    g(x)
    body = _body(g.source)
    assert "_setitem(y" not in body and "y_1[i] = " in body, g.source
    assert re.search(r"tape\.append\(\(i, t\d+\)\)", body), g.source


def sweep(x, c):
    u = x.copy()
    for i in range(len(u) - 1):
        u[i] = u[i] + c * (u[i + 1] - u[i]) ** 2
    return np.sum(u * x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_elements_read_to_recompute_a_number_are_taped_not_the_array(backend):
    """`u[i + 1] - u[i]` is a number the backward body recomputed, from a copy of u taped at
    every step (n^2 floats: 49 s and 12.8 GB at n = 40,000); the two elements are taped."""
    x = np.random.default_rng(6).standard_normal(9)
    symgrad.check_grads(sweep, (x, 0.3), (0, 1), backend=backend)
    if backend != "numpy":  # (a compiled loop's tape is arrays made before it)
        return
    g = symgrad.grad(sweep, argnums=(0, 1))
    g(x, 0.3)
    body = _body(g.source)
    assert "_setitem(u" not in body and re.search(r"tape\.append\(\(i, t\d*, t\d*\)\)", body), body


def test_a_slice_that_may_run_past_the_end_is_not_given_a_length():
    args = (np.linspace(-1.0, 1.0, 5), np.array([0.5, -1.0, 2.0]))
    g = symgrad.grad(clipped, argnums=(0, 1))
    with pytest.raises(ValueError):
        g(*args)  # NumPy cannot broadcast w against the shorter last reads: no length assumed
    args = (np.linspace(-1.0, 1.0, 6), np.array([0.5, -1.0, 2.0]))
    g(*args)
    symgrad.check_grads(clipped, args, (0, 1))


@pytest.mark.parametrize(
    "start, stop, n, length",
    [
        (Sym(1, 0, 0, 4), Sym(1, 3, 0, 4), 7, 3),  # x[j : j + 3], j in 0..4, len(x) 7
        (Sym(1, 0, 0, 4), Sym(1, 3, 0, 4), 6, None),  # the last read is clipped
        (Sym(1, -1, 0, 4), Sym(1, 2, 0, 4), 9, None),  # x[-1 : 2] wraps around
        (Sym(1, 0, 0, 4), Sym(2, 3, 0, 4), 9, None),  # two different unknowns
        (Sym(1, 0), Sym(1, 3), 9, None),  # an index without bounds
    ],
)
def test_slice_lengths_from_one_unknown_index(start, stop, n, length):
    parts = [Aval((), np.dtype(int), PYTHON, sym=start), Aval((), np.dtype(int), PYTHON, sym=stop)]
    lengths = _slice_lengths((Slice(Dyn(0), Dyn(1)),), parts, (n,))
    assert lengths == (None if length is None else {0: length})


def test_join_keeps_what_every_value_agrees_on():
    a = Aval((3, 4), np.dtype("float64"), ARRAY)
    assert join(a, a) == a
    assert join(a, Aval((3, 5), np.dtype("float64"), ARRAY)) == Aval((3, None), a.dtype, ARRAY)
    assert join(a, Aval((3,), np.dtype("float64"), ARRAY)).shape is None
    number = Aval((), np.dtype("float64"), PYTHON, 0.0)
    scalar = Aval((), np.dtype("float64"), "scalar")
    assert join(number, scalar) == Aval((), np.dtype("float64"), None)
    assert join(a, None) is None


def stacked_layers(W, e, x, seq):
    layers = W.shape[0] // 2  # static once W's shape is known
    s = x.copy()
    total = 0.0
    for t in range(seq.shape[0] - 1):
        u = seq[t] * e[0]
        for i in range(layers):
            b = u.shape[0]  # sliced by a length the shapes decide: `w[:b]`
            w = W[2 * i]
            h = np.tanh(w[:b] * s[2 * i] + w[b:] * u)
            s[2 * i] = h
            u = h
        total = total + np.sum(seq[t + 1] * u * e[1])
    return total


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_lengths_the_shapes_decide_type_a_nested_loop(backend):
    """`W.shape[0] // 2` is the number 2 and `w[:b]` of a b the shapes give has a length, so
    the layer loop nested in the step loop, and its backward loop, are typed throughout: no
    shape is worked out at run time (an LSTM's layers, as GradBench writes them)."""
    rng = np.random.default_rng(3)
    args = (rng.standard_normal((4, 6)), rng.standard_normal((2, 3)))
    args += (rng.standard_normal((4, 3)), rng.standard_normal((5, 3)))
    g = symgrad.grad(stacked_layers, argnums=(0, 1), backend=backend)
    g(*args)
    source = g.source[g.source.index("\n\n\n") :]  # the kernels (numba) and the function
    assert "layers = 2" in source or backend == "numba"  # (numba: the loops' argument, 2)
    for helper in ("np.shape", "_unbroadcast", "broadcast_shapes", "_fit"):
        assert helper not in source
    if backend == "numba":  # the step loop, its layer loop and tape, compiled whole; the
        # step loop stacks the layer loop's tape entries, which the backward loop reads back
        assert "def _loop1(" in source and re.search(r"def _back\d\(", source), source
        assert "for t_1 in range(n_2 - 1, -1, -1):" in source and "[::-1]" not in source
        assert "h_rows_1 = h_rows_1_tape[t_1]" in source and "h_1 = h_rows_1[i_2]" in source
    symgrad.check_grads(stacked_layers, args, (0, 1), backend=backend)


def _backward(source: str) -> list[str]:
    """The lines of the backward pass, comments left out: the compiled backward loops, or the
    lines after `# backward pass`."""
    if "def _back" in source:
        backward = source[source.index("def _back") :]
    else:
        backward = source.split("# backward pass")[-1]
    return [line for line in backward.splitlines() if not line.strip().startswith("#")]


def layers_from(W, e, x, seq, first):
    """`stacked_layers` with a layer loop starting at `first`, and a branch in its body."""
    s = x.copy()
    total = 0.0
    for t in range(seq.shape[0] - 1):
        u = seq[t] * e[0]
        for i in range(first, W.shape[0] // 2):
            h = np.tanh(W[2 * i, :3] * s[2 * i] + W[2 * i, 3:] * u)
            if np.sum(h) > 0:
                h = h * e[1]
            s[2 * i] = h
            u = h
        total = total + np.sum(seq[t + 1] * np.sin(u))
    return total


def triangle(W, x):
    """A nested loop whose length the outer index decides."""
    total = 0.0
    h = x
    for t in range(3):
        for i in range(t + 1):  # noqa: B007 (a loop over an index it does not read)
            h = np.tanh(W @ h)
        total = total + np.sum(h**2)
    return total


def changing_rows(x, y):
    """A nested loop carrying w, 0.0 at its first step and an array after: its tape entries
    differ in shape, and cannot be stacked."""
    total = 0.0
    for t in range(2):
        w = 0.0
        for i in range(2):  # noqa: B007 (a loop over an index it does not read)
            w = w + np.sin(x * w) * y[t]
        total = total + np.sum(np.sin(w))
    return total


def _steps(h, mode):
    for i in range(2):  # noqa: B007 (a loop over an index it does not read)
        if mode:
            h = np.sin(h) + h
        else:
            h = np.cos(h) * h
    return h


def twin_loops(x, seq):
    """Two loops of one source line, from the same values: one differentiated, one only
    tested. The first is not the second's twin."""
    total = 0.0
    for t in range(3):
        u = x * seq[t]
        scale = 1.0 if np.sum(_steps(u, True)) > 0.0 else 2.0
        total = total + scale * np.sum(_steps(u, False) ** 2)
    return total


def squashed(x):
    total = 0.0
    for t in range(2):
        h = x * (t + 1.0)
        for i in range(2):  # noqa: B007 (a loop over an index it does not read)
            h = np.tanh(h)
        total = total + np.sum(h)
    return total


def test_a_nested_loop_whose_stacks_would_be_large_stays_recomputed():
    """Stacked for every step of the outer loop, the nested loop's activations would take
    memory without bound: beyond `STACKED_MAX` entries a step they are recomputed."""
    rng = np.random.default_rng(7)
    for n, stacked in ((10, True), (STACKED_MAX, False)):
        x = rng.standard_normal(n)
        g = symgrad.grad(squashed)
        g(x)
        assert ("h_rows" in g.source) == stacked, g.source
        if n == 10:
            symgrad.check_grads(squashed, (x,), 0)
        else:  # (too large for central differences: against d/dx tanh(tanh(cx)), c = 1, 2)
            np.testing.assert_allclose(
                g(x),
                (1 - np.tanh(np.tanh(x)) ** 2) * (1 - np.tanh(x) ** 2)
                + 2 * (1 - np.tanh(np.tanh(2 * x)) ** 2) * (1 - np.tanh(2 * x) ** 2),
                rtol=1e-12,
            )


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_the_outer_loop_tapes_the_residuals_of_a_nested_one(backend):
    """The backward step loop reads the layer loop's activations, stacked by the forward step
    loop (`symgrad.passes.residuals_nested`), instead of running the layer loop again to tape
    them, and the layer loop's backward adds into the step loop's running cotangent of W. A
    layer loop starting elsewhere than 0, whose length the step decides, or whose entries
    change shape from step to step, stays recomputed. Every gradient against central
    differences."""
    rng = np.random.default_rng(4)
    args = (rng.standard_normal((4, 6)), rng.standard_normal((2, 3)))
    args += (rng.standard_normal((4, 3)), rng.standard_normal((5, 3)))
    g = symgrad.grad(stacked_layers, argnums=(0, 1), backend=backend)
    g(*args)
    verify(g.graph, RULES)
    symgrad.check_grads(stacked_layers, args, (0, 1), backend=backend)
    assert not any("np.tanh" in line for line in _backward(g.source)), g.source
    assert any("h_rows" in line for line in _backward(g.source))
    assert "s_rows" not in g.source  # the rows of the state it reads, not the whole state
    # the layer loop's backward adds into W's running cotangent: no zeros of its own
    assert sum("zeros_like(W)" in line for line in _backward(g.source)) == 1, g.source
    for first in (0, 1):
        symgrad.check_grads(layers_from, (*args, first), (0, 1), backend=backend)
    g = symgrad.grad(layers_from, argnums=(0, 1), backend=backend)
    g(*args, 1)
    assert "h_rows" not in g.source and "tape_1.append((" in g.source  # starts at 1
    W, x = 0.5 * rng.standard_normal((3, 3)), rng.standard_normal(3)
    symgrad.check_grads(triangle, (W, x), 0, backend=backend)
    args = (rng.standard_normal(3), rng.standard_normal((2, 3)))
    symgrad.check_grads(changing_rows, args, (0, 1), backend=backend)
    args = (np.array([0.3, -0.2, 0.5]), np.array([0.5, 1.5, -0.7]))
    symgrad.check_grads(twin_loops, args, 0, backend=backend)  # (the stacking loop: its own)


def test_specialisations_whose_kernels_are_spelt_alike_share_them():
    """Another number of steps (a compiled loop's argument) or of rows of e (the loops read e[0]
    and e[1] alone) runs the functions already compiled: three modules, one set of them."""
    rng = np.random.default_rng(4)
    g = symgrad.grad(stacked_layers, argnums=(0, 1), backend="numba")
    W, x = rng.standard_normal((4, 6)), rng.standard_normal((4, 3))
    kernels = []
    for steps, rows in ((5, 2), (7, 2), (7, 3)):
        e, seq = rng.standard_normal((rows, 3)), rng.standard_normal((steps, 3))
        g(W, e, x, seq)
        assert f"e: float64[{rows},3], x: float64[4,3], seq: float64[{steps},3]" in g.source
        assert f"_loop1(s, {steps - 1}, " in g.source  # the number of steps: an argument
        symgrad.check_grads(stacked_layers, (W, e, x, seq), (0, 1), backend="numba")
        namespace = g._latest.fn.__globals__
        kernels.append({k: v for k, v in namespace.items() if k.startswith(("_loop", "_back"))})
    assert kernels[0] and all(k.keys() == kernels[0].keys() for k in kernels)
    assert all(k[name] is kernels[0][name] for k in kernels for name in kernels[0])
