"""`a op= w` on an ndarray is NumPy's update in place (`symgrad.rules.updates`): the total keeps
a's dtype (a float32 total stays float32) and stays an ndarray (a 0-d one too), a value of
another shape or a dtype the 'same_kind' rule refuses raises as NumPy raises; on a number it is
`a = a op w`. Values are compared with the function's own, gradients with central differences
(or, through a float32 cast, the formula)."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from tests.conftest import BACKENDS

X = np.array([1.1, 2.3, 3.7])

SOURCE = """
def float32_total(x):
    s = np.zeros(3, dtype=np.float32)
    for i in range(3):
        s += x[i] * x
    return np.sum(s * x)


def zero_d_total(x):
    s = np.zeros(())
    s += np.sum(x ** 2)
    s[()] = s * 2.0
    return np.sum(s * x)


def grows(x):
    s = np.zeros(3)
    s += x[:, None] * x
    return np.sum(s)


def int_total(x):
    s = np.zeros(3, dtype=int)
    s += x
    return np.sum(s)


def number_total(x):
    t = np.sum(x) * 0.5
    t += np.sum(x ** 2)
    return t * np.sum(x)


def aliased(x):
    y = np.zeros(len(x))
    y += x
    w = y
    w *= 2.0
    y[0] = 0.0
    return np.sum(w * x)


def mapped(x):
    s = np.zeros(3)
    s += x * x
    s *= 2.0
    return s
"""


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    from tests.conftest import load_module

    return load_module(tmp_path_factory.mktemp("augmented"), SOURCE)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_float32_total_stays_float32(mod, backend):
    """NumPy casts each step's sum back to float32: the value is NumPy's to the last bit (a
    float64 total, as `s = s + ...` would make, differs in the 8th digit); the gradient is the
    formula's, a cast's derivative being 1."""
    f = mod.float32_total
    assert symgrad.jit(f, backend=backend)(X) == f(X)
    expected = np.sum(X * X) + 2 * np.sum(X) * X  # f = sum(x) sum(x²), the casts aside
    np.testing.assert_allclose(symgrad.grad(f, backend=backend)(X), expected, rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_zero_d_total_stays_an_array(mod, backend):
    """`s += ...` keeps a 0-d array one (`s + ...` is a NumPy number, which `s[()] = ...`
    cannot change)."""
    f = mod.zero_d_total
    jitted = symgrad.jit(f, backend=backend)
    np.testing.assert_allclose(jitted(X), f(X), rtol=1e-12)
    assert "_updated" not in jitted.source  # (np.asarray: specialised)
    symgrad.check_grads(f, (X,), modes=("rev", "fwd"), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_names_sharing_an_updated_array_see_each_update(mod, backend):
    """`w = y; w *= 2.0; y[0] = 0.0` after `y += x`: one array (it was refused once, the
    update's value not read as the array the function made)."""
    f = mod.aliased
    np.testing.assert_allclose(symgrad.jit(f, backend=backend)(X), f(X), rtol=1e-12)
    symgrad.check_grads(f, (X,), modes=("rev", "fwd"), backend=backend)


def test_a_number_total_is_a_new_number(mod):
    f = mod.number_total
    np.testing.assert_allclose(symgrad.jit(f)(X), f(X), rtol=1e-12)
    symgrad.check_grads(f, (X,), modes=("rev", "fwd"))


@pytest.mark.parametrize("name, error", [("grows", ValueError), ("int_total", TypeError)])
def test_what_numpy_cannot_hold_raises(mod, name, error):
    f = getattr(mod, name)
    with pytest.raises(error):  # NumPy's (UFuncTypeError a TypeError)
        f(X)
    for transform in (symgrad.jit, symgrad.grad):  # (a helper's message: a SymgradError)
        with pytest.raises((error, symgrad.SymgradError), match="cannot|Cannot"):
            transform(f)(X)


def test_the_module_for_any_shapes_checks_when_it_runs(mod, tmp_path):
    """The shape-polymorphic module (saved, shipped) cannot know the shapes: its helper checks
    them when it runs, as NumPy would, and keeps a float32 total float32."""
    from tests.conftest import load_module

    saved = load_module(tmp_path, symgrad.emit_module(mod.grows, kind="jit"))
    with pytest.raises(ValueError, match="cannot hold"):
        saved.jit_grows(X)
    saved = load_module(tmp_path, symgrad.emit_module(mod.float32_total, kind="jit"))
    assert saved.jit_float32_total(X) == mod.float32_total(X)


def test_batched_updates_map_each_row(mod):
    """vmap and jacfwd batch `_updated` (a trailing axis on the value, or on both)."""
    xs = np.random.default_rng(0).normal(size=(4, 3))
    mapped = symgrad.vmap(mod.mapped)
    np.testing.assert_allclose(mapped(xs), [mod.mapped(x) for x in xs])
    assert mapped.batched  # (one run for the batch: `s *= 2.0` of the mapped s as well)
    np.testing.assert_allclose(symgrad.jacfwd(mod.mapped)(X), np.diag(4 * X), rtol=1e-12)
    np.testing.assert_allclose(symgrad.jacrev(mod.mapped)(X), np.diag(4 * X), rtol=1e-12)
