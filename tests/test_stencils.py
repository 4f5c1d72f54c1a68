"""Loop nests reading and updating slices (`symgrad.passes.stencils`, `symgrad.emit.framed`):
shifted reads, updates of slices of zeros, work on single entries, each program's gradient
checked against central differences and the NumPy backend; the nests they make (one per step
of an explicit Runge-Kutta loop and two per backward step); and the geometry of frames
(`symgrad.passes.frames`).
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest

import symgrad
from symgrad.errors import SpecialisationWarning
from symgrad.ir.index import Slice
from symgrad.passes import frames as fr
from tests.fixtures.golden_fns import rk4

numba_only = pytest.mark.skipif(
    importlib.util.find_spec("numba") is None, reason="the numba extra is not installed"
)
RNG = np.random.default_rng(11)


def differences(x, w):
    d = x[1:] - x[:-1]
    return np.sum(d * d * w[1:]) + np.sum(np.sin(x[:-1]) * w[:-1])


def shifted_zeros(x):
    z = np.zeros_like(x)
    z[0] = x[0]
    z[1:] = x[1:] * x[:-1]
    return np.sum(np.sin(z) * x)


def two_axes(a):
    dx = a[1:, :] - a[:-1, :]
    dy = a[:, 1:] - a[:, :-1]
    return np.sum(dx * dx) + np.sum(np.cos(dy) * a[:, :-1])


def ends(x, w):
    g = np.zeros_like(x)
    g[1:] = x[1:] * w[:-1]
    g[0] = g[0] + w[0] * x[-1]
    g[-1] = g[-1] * x[0]
    return np.sum(g * g)


def steps(x, s):
    y = x.copy()
    for _ in range(s):
        z = np.zeros_like(y)
        z[1:] = 0.5 * y[:-1]
        z[:-1] = z[:-1] + 0.25 * np.tanh(y[1:])
        y = y + 0.1 * z
    return np.sum(y * y)


def both_ways(x):  # reads at the index before and after: one index of work runs ahead
    a = np.sin(x)
    c = np.zeros_like(x)
    c[1:] = a[1:] * a[:-1]
    d = c[:-1] + 2.0 * c[1:]
    return np.sum(d * d)


def windows(x, y, w):  # found by the loop fuzzer (seed 195): a piece of the axis no work covers
    out = np.zeros(7)
    for i in range(0, 5):
        out[i + 2] = np.sum(np.sin(y[i + 2 : 7])) + np.tanh(np.exp(0.5 * x[i]))
    return np.sum(np.sin(out) * out) + np.sum(w * w)


def _bump(v, s):
    v[-1] += s
    return v


def last_entry(x, y):  # found by the control fuzzer (seed 47): x[2] and x[-1] are one entry
    x = np.zeros_like(x)
    _bump(x, np.exp(x[2]))
    return np.mean(x * y[1])


def zero_d(x, c, d):  # found by the rule-table fuzzer: a 0-d array read by a framed nest
    t = np.concatenate([x, c])  # (its one entry was written `d[]`, a SyntaxError; now `d[()]`)
    return np.sum(np.minimum(d, t[0:2]))


def wrapped_end(x):  # the last entry read back from the first (an offset of -(n - 1)):
    out = np.zeros(len(x) + 1)  # written i - (n + 1), a wrong value and gradient
    out[:-1] = np.exp(x)
    out[-1] = out[0]
    return np.sum(out**2)


def empty_slice(x):  # x[:0]'s cotangent, an update of no entry, had no frame: a crash
    return np.sum(x[:0] ** 2) - np.sum(x[0:] ** 3)


def oscillator(y0, k):  # k's cotangent, a number, was added up in a nest as `k_bar[] += ...`
    y = y0
    for _ in range(10):
        y = y + 0.1 * np.array([y[1], -k * y[0]])
    return y[0]


def sines_of_a_slice(x):  # the cotangent x[1:]'s nest added into zeros: written with the
    t = np.concatenate([np.sin(x[1:])])  # nest's shape at no offset ([a, b] for [0, a, b])
    return np.sum(t * t)


def overlapping_slices(x, w):
    t5 = np.concatenate([x[-4:3], w[1:4]])
    t6 = np.maximum(t5, 0.0) ** 2
    return np.sum(t5 * t5) + np.mean(t6[-4:4] * x[1:5]) + t5[0] * t6[2]


CASES = {
    "differences": (differences, (RNG.standard_normal(30), RNG.standard_normal(30)), (0, 1)),
    "shifted_zeros": (shifted_zeros, (RNG.standard_normal(20),), 0),
    "two_axes": (two_axes, (RNG.standard_normal((6, 7)),), 0),
    "ends": (ends, (RNG.standard_normal(9), RNG.standard_normal(9)), (0, 1)),
    "steps": (steps, (RNG.standard_normal(12), 4), 0),
    "rk4": (rk4, (RNG.uniform(1.0, 2.0, 16), 5), 0),
    "both_ways": (both_ways, (RNG.standard_normal(15),), 0),
    "windows": (windows, (RNG.standard_normal(7), RNG.standard_normal(7), np.ones(2)), (0, 2)),
    "last_entry": (last_entry, (RNG.standard_normal(3), RNG.standard_normal((2, 3))), 1),
    "zero_d": (zero_d, (np.array([-0.7]), np.array([0.3]), np.array(0.1)), (0, 1, 2)),
    "wrapped_end": (wrapped_end, (RNG.standard_normal(5),), 0),
    "empty_slice": (empty_slice, (RNG.standard_normal(2),), 0),
    "oscillator": (oscillator, (np.array([1.0, 0.2]), 2.0), (0, 1)),
    "sines_of_a_slice": (sines_of_a_slice, (np.array([0.3, -0.5, 0.8]),), 0),
    "overlapping_slices": (
        overlapping_slices,
        (np.linspace(-0.7, 0.9, 6), np.linspace(0.5, -0.4, 6)),
        (0, 1),
    ),
}


@numba_only
@pytest.mark.parametrize("case", sorted(CASES))
def test_slices_read_and_updated_in_nests_match_central_differences_and_numpy(case):
    f, args, argnums = CASES[case]
    symgrad.check_grads(f, args, argnums, backend="numba", modes=("rev", "fwd"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpecialisationWarning)
        got = symgrad.value_and_grad(f, argnums, backend="numba")(*args)
    want = symgrad.value_and_grad(f, argnums)(*args)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    pairs = zip(got[1], want[1]) if isinstance(argnums, tuple) else [(got[1], want[1])]
    for a, b in pairs:
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _kernels(source: str) -> dict[str, str]:
    """The compiled functions of a module's source, by name."""
    out = {}
    for part in source.split("@numba.njit(")[1:]:
        name = part.split("def ", 1)[1].split("(", 1)[0]
        out[name] = part
    return out


@numba_only
def test_an_explicit_runge_kutta_step_is_one_nest_and_its_backward_step_two():
    """Each stage reads the last at the index before (`y[:-1]` into `z[1:]`): the four stages
    and the step's sum run in one nest, keeping each stage's value for the next index in a
    number (`t1_1`); the backward step recomputes two stages from the first index, then
    computes every cotangent from the last, adding x's into its running cotangent."""
    x = RNG.uniform(1.0, 2.0, 50)
    g = symgrad.grad(rk4, backend="numba")
    np.testing.assert_allclose(g(x, 4), symgrad.grad(rk4)(x, 4), rtol=1e-12)
    kernels = _kernels(g.source)
    loop = next(k for n, k in kernels.items() if n.startswith("_loop"))
    back = next(k for n, k in kernels.items() if n.startswith("_back"))
    assert loop.count("_fused") == 1 and back.count("_fused") == 2, g.source
    nests = [k for n, k in kernels.items() if n.startswith("_fused")]
    assert "from the last" not in nests[0] and "t1_1 = t1" in nests[0]
    assert "from the last" in nests[2] and "added into x_bar_1" in nests[2]
    for nest in nests:
        assert " if " not in nest and "np.zeros" not in nest, nest  # pieces, no tests


@numba_only
def test_a_primal_step_compiled_by_jit_is_one_nest():
    x = RNG.uniform(1.0, 2.0, 40)

    def run(x, s):
        h = 2.0 / s
        y = np.zeros_like(x)
        for _ in range(s):
            z = np.zeros_like(y)
            z[0] = x[0]
            z[1:] = x[1:] * y[:-1]
            y = y + h * z
        return y

    compiled = symgrad.jit(run, backend="numba")
    np.testing.assert_allclose(compiled(x, 5), run(x, 5), rtol=1e-14)
    assert compiled.source.count("def _fused") == 1, compiled.source


@numba_only
@numba_only
def test_reads_both_ways_run_from_the_first_index_with_work_ahead():
    x = RNG.standard_normal(15)
    g = symgrad.value_and_grad(both_ways, backend="numba")
    g(x)
    kernels = [k for n, k in _kernels(g.source).items() if n.startswith("_fused")]
    assert kernels and not any("from the last" in k for k in kernels), g.source
    assert any("range(-1, " in k or "i = -1" in k for k in kernels), g.source


@numba_only
def test_a_sparse_update_stays_numpys():
    """Work on a few rows of a large array is no nest over the whole array."""

    def rows(a, v):
        g = np.zeros_like(a)
        g[1] = np.sin(v) * v
        return np.sum(g * a)

    args = (RNG.standard_normal((50, 4)), RNG.standard_normal(4))
    symgrad.check_grads(rows, args, (0, 1), backend="numba")
    g = symgrad.grad(rows, (0, 1), backend="numba")
    g(*args)
    assert "i == 1" not in g.source, g.source


def test_regions_of_slices_and_points_are_bounds_from_either_end():
    nest = (10,)
    whole = fr.full(nest)
    index = fr.static_index((Slice(1, None),), 1)
    tail = fr.region(whole, index, (10,), nest)
    assert tail == (fr.Axis(fr.Bound(0, 1), fr.Bound(1, 0)),)
    head = fr.region(whole, fr.static_index((Slice(None, -1),), 1), (10,), nest)
    assert head == (fr.Axis(fr.Bound(0, 0), fr.Bound(1, -1)),)
    last = fr.region(whole, (-1,), (10,), nest)
    assert last == (fr.Axis(fr.Bound(1, -1), None),) and last[0].point
    inner = fr.region(tail, fr.static_index((Slice(None, -1),), 1), (9,), nest)
    assert fr.lengths(inner, nest) == (8,) and fr.within(inner, nest)
    assert fr.static_index((Slice(None, None, 2),), 1) is None
    assert fr.static_index((0, Slice(1, 3)), 3) == (0, Slice(1, 3), Slice())


def test_offsets_decide_the_order_a_nest_runs_in():
    nest = (10,)
    whole = fr.full(nest)
    tail = fr.region(whole, fr.static_index((Slice(1, None),), 1), (10,), nest)
    head = fr.region(whole, fr.static_index((Slice(None, -1),), 1), (10,), nest)
    back = fr.offset(tail, head)  # z[1:] reading y[:-1]: the index before
    assert fr.at(back, nest) == (-1,)
    on = fr.offset(head, tail)
    assert fr.at(on, nest) == (1,)
    assert fr.direction([back], nest) == 1 and fr.direction([on], nest) == -1
    assert fr.direction([back, on], nest) is None and fr.direction([], nest) == 1
    point = fr.region(whole, (0,), (10,), nest)
    assert fr.offset(point, whole) is None  # a range read at a point: no fixed offset
