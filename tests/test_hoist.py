"""Products hoisted out of loops (`symgrad.passes.hoist`): a step's `A @ X[t]` of values the loop
captures is row t of one product made before the loop; each gradient against central
differences, in reverse and forward mode, on both backends."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import symgrad
from tests.fixtures.golden_fns import rnn  # h = np.tanh(W @ h + U @ xs[t]) for t in range(T)

BACKENDS = ["numpy"] + (["numba"] if importlib.util.find_spec("numba") else [])
RNG = np.random.default_rng(5)


def row_times_matrix(B, xs):
    total = 0.0
    for t in range(1, xs.shape[0]):  # all rows but the first: still one product
        total = total + np.sum(np.sin(xs[t] @ B) * t)
    return total


def vector_times_rows(a, xs):
    s = 0.0
    for t in range(xs.shape[0]):
        s = np.cos(s + a @ xs[t])
    return s


def few_rows(U, xs):
    total = 0.0
    for t in range(2):  # two rows of ten: a product of all ten would be five times the work
        total = total + np.sum(np.tanh(U @ xs[t]))
    return total


CASES = {  # name: (function, arguments, argnums, the product before the loop or None)
    "rnn": (rnn, (0.3 * RNG.standard_normal((5, 5)), RNG.standard_normal((5, 3)),
                  RNG.standard_normal((6, 3))), (0, 1, 2), "xs @ U.T"),
    "row_times_matrix": (row_times_matrix, (RNG.standard_normal((3, 4)),
                                            RNG.standard_normal((5, 3))), (0, 1), "xs @ B"),
    "vector_times_rows": (vector_times_rows, (RNG.standard_normal(3),
                                              RNG.standard_normal((4, 3))), (0, 1), "xs @ a"),
    "few_rows": (few_rows, (RNG.standard_normal((4, 3)), RNG.standard_normal((10, 3))), (0, 1),
                 None),
}  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_steps_product_of_captured_values_is_one_product_before_the_loop(case, backend):
    f, args, argnums, hoisted = CASES[case]
    symgrad.check_grads(f, args, argnums, modes=("rev", "fwd"), backend=backend)
    source = symgrad.emit_module(f, argnums=argnums, backend=backend, args=args)
    code = [line for line in source.splitlines() if not line.strip().startswith(("#", '"""'))]
    steps = [line for line in code if "xs[t] @" in line or "@ xs[t]" in line]
    if hoisted is None:
        assert "xs @" not in source, source
    else:
        assert f" = {hoisted}\n" in source and not steps, source
    jvp = symgrad.emit_module(f, argnums=argnums, kind="jvp", backend=backend, args=args)
    assert (" = xs @ " in jvp) == (hoisted is not None), jvp
