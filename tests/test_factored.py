"""The exact points of svd's and qr's proofs: their factors, as SymPy computes them, rational."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from symgrad.checks.examples import DOMAINS, Input, sample
from symgrad.checks.sym_array import symarray
from symgrad.rules import RULES

SHAPES = [("svd", s) for s in ("3x2", "2x2", "2x4", "4x2", "2x3x2")]  # the closed form's
SHAPES += [("qr", s) for s in ("3x2", "2x2", "2x3", "4x3", "2x3x2")]


@pytest.mark.parametrize("kind, shape", SHAPES)
def test_the_factors_are_rational(kind, shape):
    a = sample(Input("a", shape, f"rational_{kind}"), np.random.default_rng(len(shape)))
    assert a.dtype == np.float64 and a.shape == tuple(map(int, shape.split("x")))
    factors = RULES[kind].symbolic(sp, symarray(a))  # the exact values: sym_array.exact
    assert all(_entry(x).is_Rational for f in factors for x in np.asarray(f, dtype=object).ravel())
    assert all(np.allclose(np.abs(f), np.abs(g)) for f, g in zip(factors, _numpy(kind, a)))
    if kind == "svd":
        low, high = DOMAINS["rational_svd"]
        s = np.asarray(factors.S, dtype=float)
        assert (s >= low).all() and (s <= high).all() and (np.abs(np.diff(s)) > 0.05).all()


def _entry(x):
    return sp.sympify(np.asarray(x, dtype=object).item())  # Gram-Schmidt's are 0-d arrays


def _numpy(kind, a):
    return np.linalg.svd(a, full_matrices=False) if kind == "svd" else np.linalg.qr(a)


def test_a_vector_has_no_such_point():
    with pytest.raises(ValueError, match="a matrix"):
        sample(Input("a", "3", "rational_svd"), np.random.default_rng(0))
