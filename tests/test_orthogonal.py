"""np.linalg.svd, svdvals and qr, np.cross, and scipy.special's logsumexp, xlogy, softmax,
log_softmax and polygamma beyond their rule-table examples: inside loop bodies (reverse and
forward mode, the NumPy and Numba backends), larger and stacked matrices, SciPy's calling
conventions, and the calls that are refused, with what to write instead."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import symgrad

NUMBA = importlib.util.find_spec("numba") is not None
BACKENDS = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(not NUMBA, reason="numba"))]
RNG = np.random.default_rng(7)


def rotations(r, p):
    """Bundle adjustment's spelling: points rotated with cross products, one per step."""
    s = 0.0
    for i in range(p.shape[0]):
        v = p[i] + 2.0 * np.cross(r, np.cross(r, p[i]) + p[i])
        s = s + np.sum(v * v)
    return s


def spectra(a):
    s = 0.0
    for i in range(a.shape[0]):
        s = s + np.sum(np.linalg.svd(a[i], compute_uv=False) ** 2 * (i + 1))
    return s


def factors(a):
    s = 0.0
    for i in range(a.shape[0]):
        q, r = np.linalg.qr(a[i])
        u, w, vh = np.linalg.svd(a[i], full_matrices=False)
        s = s + np.sum(q[:, 0] * u[:, 0]) * np.sum(r * vh) + np.sum(w * np.diagonal(r))
    return s


def scores(z):
    s = 0.0
    for i in range(z.shape[0]):
        s = s + np.sum(special.softmax(z[i]) * z[i]) + special.logsumexp(z[i])
    return s


try:
    from scipy import special
except ImportError:  # SciPy is optional
    special = None

LOOPS = {  # name: (function, arguments)
    "rotations": (rotations, (0.5 * RNG.standard_normal(3), RNG.standard_normal((5, 3)))),
    "spectra": (spectra, (RNG.standard_normal((3, 4, 3)),)),
    "factors": (factors, (RNG.standard_normal((3, 4, 3)),)),
    "scores": (scores, (RNG.standard_normal((3, 4)),)),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", sorted(LOOPS))
def test_inside_a_loop_body_in_reverse_and_forward_mode(case, backend):
    if case == "scores" and special is None:
        pytest.skip("SciPy is not installed")
    f, args = LOOPS[case]
    argnums = tuple(range(len(args)))
    symgrad.check_grads(f, args, argnums, backend=backend, modes=("rev", "fwd"))
    source = symgrad.grad(f, argnums, backend=backend).source
    assert "for " in source  # a loop of the gradient, not one unrolled


@pytest.mark.skipif(not NUMBA, reason="the numba extra is not installed")
def test_a_loop_of_cross_products_compiles_whole_with_numba():
    f, args = LOOPS["rotations"]  # the gradient in r alone: no rows of p written back
    g = symgrad.grad(f, 0, backend="numba")
    np.testing.assert_allclose(g(*args), symgrad.grad(f)(*args), rtol=1e-10)
    assert "\ndef _loop" in g.source and "\ndef _back" in g.source
    assert "np.cross(" in g.source.split("\ndef _back", 1)[1]


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (2, 3, 4)])
def test_svd_of_larger_and_stacked_matrices(shape):
    def f(a, w):
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        return np.sum(u[..., :2] ** 3) + np.sum(s * w[: s.shape[-1]]) + np.sum(vh * vh[..., :1, :])

    a, w = RNG.standard_normal(shape), RNG.standard_normal(5)
    symgrad.check_grads(f, (a, w), (0,), modes=("rev", "fwd"))


@pytest.mark.parametrize("shape", [(5, 3), (4, 4), (2, 6, 2), (2, 5), (2, 3, 4)])
def test_qr_of_larger_stacked_and_wide_matrices(shape):
    def f(a):
        q, r = np.linalg.qr(a)
        return np.sum(q * q[..., :1]) + np.sum(np.triu(r) ** 2 * np.arange(r.shape[-1]))

    symgrad.check_grads(f, (RNG.standard_normal(shape),), (0,), modes=("rev", "fwd"))


def test_singular_values_alone_are_svdvals_in_the_emitted_code():
    def f(a):
        return np.sum(np.linalg.svd(a, compute_uv=False)) + np.sum(np.linalg.svdvals(a.T))

    a = RNG.standard_normal((4, 3))
    symgrad.check_grads(f, (a,), (0,))
    g = symgrad.grad(f)
    g(a)
    code = [line for line in g.source.splitlines() if not line.lstrip().startswith("#")]
    assert not any("compute_uv" in line or "svdvals" in line for line in code)  # shapes known
    assert any("np.linalg.svd(a, full_matrices=False)[0]" in line for line in code)
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(g(a), 2 * u @ vh, rtol=1e-10)  # ∇ Σ s = U Vh, twice


def svd_full(a):
    return np.sum(np.linalg.svd(a)[0])


def svd_hermitian(a):
    return np.sum(np.linalg.svd(a, full_matrices=False, hermitian=True)[1])


def qr_r(a):
    return np.sum(np.linalg.qr(a, mode="r"))


def cross_axis(a, b):
    return np.sum(np.cross(a, b, axisa=0))


@pytest.mark.parametrize(
    "f, says",
    [
        (svd_full, "full_matrices=False"),
        (svd_hermitian, "hermitian=True"),
        (qr_r, "mode='r'"),
        (cross_axis, "axisa"),
    ],
)
def test_refused_calls_say_what_to_write(f, says):
    a = RNG.standard_normal((3, 3))
    with pytest.raises(symgrad.SymgradError, match="test_orthogonal.py:") as info:
        symgrad.grad(f, tuple(range(f.__code__.co_argcount)))(*[a] * f.__code__.co_argcount)
    assert says in str(info.value)


@pytest.mark.skipif(special is None, reason="SciPy is not installed")
def test_scipy_conventions_are_scipys():
    def f(z, x, y):
        return (
            np.sum(special.softmax(z) * z)  # every axis at once
            + np.sum(special.log_softmax(z, axis=0)[0])
            + np.sum(special.logsumexp(z, axis=1, keepdims=True) * z)
            + special.logsumexp(z)
            + np.sum(special.xlogy(x, y))
            + np.sum(special.polygamma(2, y) * x)  # the order first
        )

    z, x, y = RNG.standard_normal((3, 4)), RNG.standard_normal(4), RNG.uniform(0.5, 2, 4)
    x[0] = 0.0  # xlogy is 0 there, and its derivative in x is still log y
    symgrad.check_grads(f, (z, x, y), (0, 1, 2), modes=("rev", "fwd"))
    value, _ = symgrad.value_and_grad(f, (0, 1, 2))(z, x, y)
    np.testing.assert_allclose(value, f(z, x, y), rtol=1e-12)


@pytest.mark.skipif(special is None, reason="SciPy is not installed")
def test_logsumexp_with_weights_is_refused():
    def f(z):
        return special.logsumexp(z, b=z)

    with pytest.raises(symgrad.SymgradError, match="b and return_sign"):
        symgrad.grad(f)(RNG.standard_normal(3))


def singular_values_of_the_full_svd(a):
    return np.sum(np.linalg.svd(a)[1] ** 2) + np.sum(np.linalg.svd(a).S)


def test_the_singular_values_of_the_full_svd_differentiate():
    # (np.linalg.svd(a)[1] was refused: full_matrices=True's U and Vh have no derivative,
    # and its singular values are the reduced SVD's)
    a = RNG.standard_normal((2, 3))
    symgrad.check_grads(singular_values_of_the_full_svd, (a,), 0, modes=("rev", "fwd"))
    assert symgrad.jit(singular_values_of_the_full_svd)(a) == singular_values_of_the_full_svd(a)
