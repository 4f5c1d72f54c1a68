"""Golden tests: the emitted source of a few small functions, pinned so changes show as diffs:
the shape-polymorphic module (`.source` before a call), and the module specialised for one call
signature (`.source` after it), which must read like a hand-written backward pass.

To accept a deliberate change, run `SYMGRAD_UPDATE_GOLDEN=1 pytest tests/test_golden.py` and
review the diff of tests/golden/.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib

import numpy as np
import pytest

import symgrad
from tests.fixtures import golden_fns

GOLDEN = pathlib.Path(__file__).parent / "golden"
CASES = {
    "tanh_regression": (golden_fns.tanh_regression, (0, 1)),
    "sigmoid_bce": (golden_fns.sigmoid_bce, 0),
    "product_rule": (golden_fns.product_rule, (0, 1)),
}


def _mlp_args(rng):
    shapes = [(6, 8), (8,), (8, 1), (1,), (16, 6), (16, 1)]
    args = [rng.standard_normal(s) for s in shapes]
    args[-1] = (args[-1] > 0).astype(float)
    return args


def _layernorm_args(rng):
    args = [rng.standard_normal(s) for s in [(6, 6), (6,), (6, 3), (3,), (4, 6)]]
    return [*args, np.eye(3)[rng.integers(0, 3, 4)]]


SPECIALISED = {  # name: (function, argnums, the call's arguments)
    "mlp": (golden_fns.mlp, (0, 1, 2, 3), _mlp_args),
    "layernorm_mlp": (golden_fns.layernorm_mlp, (0, 1, 2, 3), _layernorm_args),
    "rosenbrock": (golden_fns.rosenbrock, 0, lambda rng: [rng.standard_normal(10)]),
    "rnn": (
        golden_fns.rnn,
        (0, 1),
        lambda rng: [0.5 * rng.standard_normal((5, 5)), rng.standard_normal((5, 3)),
                     rng.standard_normal((7, 3))],
    ),
    "rk4": (golden_fns.rk4, 0, lambda rng: [rng.uniform(1.0, 2.0, 8), 3]),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_emitted_source_matches_golden(name):
    fn, argnums = CASES[name]
    _compare(name, symgrad.grad(fn, argnums=argnums).source)


@pytest.mark.parametrize("name", sorted(SPECIALISED))
def test_specialised_source_matches_golden(name):
    fn, argnums, make = SPECIALISED[name]
    args = make(np.random.default_rng(0))
    g = symgrad.grad(fn, argnums=argnums)
    g(*args)
    symgrad.check_grads(fn, args, argnums)
    assert "Specialised for" in g.source
    body = g.source[g.source.index("\ndef grad_") :]
    for helper in ("_unbroadcast(", "_matmul_vjp", "broadcast_shapes", "np.shape(", "_fit("):
        assert helper not in body, helper  # the shapes decided them
    _compare(f"specialised_{name}", g.source)


NUMBA = ("mlp", "rnn", "rosenbrock", "rk4")  # also pinned with backend="numba": what it compiles


@pytest.mark.parametrize("name", NUMBA)
@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="no numba")
def test_numba_source_matches_golden(name, monkeypatch):
    from symgrad.passes import fuse

    monkeypatch.setattr(fuse, "numpy_simd", lambda: True)  # (as on this project's machines)
    fn, argnums, make = SPECIALISED[name]
    g = symgrad.grad(fn, argnums=argnums, backend="numba")
    g(*make(np.random.default_rng(0)))
    _compare(f"numba_{name}", g.source)


def _compare(name: str, source: str) -> None:
    path = GOLDEN / f"{name}.py"
    if os.environ.get("SYMGRAD_UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(source)
    assert source == path.read_text(), f"emitted source of {name} changed; see {path}"
