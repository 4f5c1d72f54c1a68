"""symgrad.vmap: JAX's in_axes and out_axes, batched by the batching pass where it can and
looped over the mapped axis otherwise, composed with grad (per-example gradients), against a
Python loop over the examples and against central differences; what is refused."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad

RNG = np.random.default_rng(0)
W = RNG.standard_normal((3, 4))
B = RNG.standard_normal(3)
X = RNG.standard_normal((5, 4))
Y = RNG.standard_normal((5, 3))


def layer(W, x, b):
    return np.sum(np.tanh(W @ x + b) ** 2)


def relu_ratio(x):
    return np.sum(np.maximum(x, 0.0)) / np.linalg.norm(x)


def gated(x, w):
    return np.sum(np.where(x > 0.0, w * x, 0.1 * x))  # a comparison: no batching rule


def loss(params, x, y):
    h = np.tanh(params["W"] @ x + params["b"])
    return 0.5 * np.sum((h - y) ** 2)


def _loop(f, *args, axes):
    """f at each index of the mapped axis, stacked: the oracle."""
    n = next(np.shape(a)[k] for a, k in zip(args, axes) if k is not None)
    take = lambda a, k, i: a if k is None else np.take(a, i, axis=k)  # noqa: E731
    return np.stack([f(*(take(a, k, i) for a, k in zip(args, axes))) for i in range(n)])


@pytest.mark.parametrize(
    "f, args, in_axes, batched",
    [
        (layer, (W, X, B), (None, 0, None), True),
        (layer, (W, X.T, B), (None, 1, None), True),
        (relu_ratio, (X,), 0, True),
        (relu_ratio, (X.T,), -1, True),
        (gated, (X, X[0]), (0, None), False),
        (gated, (X, X), 0, False),
    ],
)
def test_vmap_matches_a_loop_over_examples(f, args, in_axes, batched):
    v = symgrad.vmap(f, in_axes=in_axes)
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    np.testing.assert_allclose(v(*args), _loop(f, *args, axes=axes), rtol=1e-12)
    assert v.batched == batched
    body = v.source.split('"""', 2)[2]
    assert "import symgrad" not in body and f"def vmap_{f.__name__}(" in body
    assert (f"def {f.__name__}_batched(" in body) == batched


def scaled_sines(x, c):
    return np.sin(x) * c + x * (c * 2.0)


def summed_sines(x, c):
    return np.sum(scaled_sines(x, c))


def test_an_unmapped_python_float_keeps_the_dtype_of_the_arrays():
    # a Python number's dtype is weak: float32 * 2.0 is float32 (it came back float64, the
    # number made a length-1 array of its own)
    x = X.astype(np.float32)
    for f, batched in ((scaled_sines, True), (symgrad.grad(summed_sines), False)):
        v = symgrad.vmap(f, in_axes=(0, None))
        got, want = v(x, 2.0), _loop(f, x, 2.0, axes=(0, None))
        assert v.batched == batched and got.dtype == want.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-6)


def summed_over_axis_0(x):
    return np.sum(x, axis=0)


def test_an_axis_an_example_lacks_is_numpys_axis_error():
    # each example 0-d: ZeroDivisionError (axis % 0) from the batched sum
    with pytest.raises(np.exceptions.AxisError):
        symgrad.vmap(summed_over_axis_0)(np.ones(3))


def test_out_axes_and_an_output_that_is_not_mapped():
    v = symgrad.vmap(layer, in_axes=(None, 1, None), out_axes=-1)
    np.testing.assert_allclose(v(W, X.T, B), [layer(W, x, B) for x in X])
    w = symgrad.vmap(gated, in_axes=(1, None), out_axes=0)
    np.testing.assert_allclose(w(X.T, X[0]), [gated(x, X[0]) for x in X])
    scaled = symgrad.vmap(symgrad.grad(layer, argnums=(0, 2)), in_axes=(0, None, None))
    Ws = np.stack([W, 2 * W])
    gW, gb = scaled(Ws, X[0], B)  # one W per index; x and b as they are
    assert gW.shape == (2, 3, 4) and gb.shape == (2, 3)
    np.testing.assert_allclose(gb[1], symgrad.grad(layer, argnums=2)(2 * W, X[0], B))


def test_per_example_gradients_of_a_dict_of_parameters():
    params = {"W": W, "b": B}
    per_example = symgrad.vmap(symgrad.grad(loss), in_axes=(None, 0, 0))
    grads = per_example(params, X, Y)
    assert sorted(grads) == ["W", "b"] and grads["W"].shape == (5, 3, 4)
    for i in range(5):
        expected = symgrad.grad(loss)(params, X[i], Y[i])
        np.testing.assert_allclose(grads["W"][i], expected["W"], rtol=1e-12)
        np.testing.assert_allclose(grads["b"][i], expected["b"], rtol=1e-12)
    eps, i, (r, c) = 1e-6, 3, (1, 2)  # central differences, one entry of one example
    up, down = W.copy(), W.copy()
    up[r, c] += eps
    down[r, c] -= eps
    numeric = (loss({"W": up, "b": B}, X[i], Y[i]) - loss({"W": down, "b": B}, X[i], Y[i])) / (
        2 * eps
    )
    np.testing.assert_allclose(grads["W"][i, r, c], numeric, rtol=1e-6)
    values, _ = symgrad.vmap(symgrad.value_and_grad(loss), in_axes=(None, 0, 0))(params, X, Y)
    np.testing.assert_allclose(values, [loss(params, x, y) for x, y in zip(X, Y)])


def fit(w, x):
    r = np.sin(x) * w
    return np.sum(r**2), {"r": r, "n": 3}


def test_a_gradient_that_batches_with_its_aux():
    per_example = symgrad.vmap(symgrad.value_and_grad(fit, has_aux=True), in_axes=(None, 0))
    (values, aux), grads = per_example(B, X[:, :3])
    assert per_example.batched and aux["n"] == 3  # (an int of the aux as it is)
    for i, x in enumerate(X[:, :3]):
        (value, one), grad = symgrad.value_and_grad(fit, has_aux=True)(B, x)
        np.testing.assert_allclose([values[i], *aux["r"][i], *grads[i]], [value, *one["r"], *grad])
    np.testing.assert_allclose(grads[2], 2 * np.sin(X[2, :3]) ** 2 * B)


@symgrad.custom_vjp
def clip_gradient(x):
    return x


def clip_fwd(x):
    return x, None


def clip_bwd(res, g):
    return (np.clip(g, -0.5, 0.5),)


clip_gradient.defvjp(clip_fwd, clip_bwd)


def clipped(x):
    return np.sum(clip_gradient(x) ** 2)


def test_vmap_of_the_gradient_of_a_custom_rule():
    per_example = symgrad.vmap(symgrad.grad(clipped))(X)
    np.testing.assert_allclose(per_example, np.clip(2 * X, -0.5, 0.5))
    np.testing.assert_allclose(symgrad.vmap(clip_gradient)(X), X)


def test_refusals():
    with pytest.raises(symgrad.SymgradError, match="different lengths"):
        symgrad.vmap(layer, in_axes=(None, 0, 0))(W, X, np.ones((4, 3)))
    with pytest.raises(symgrad.SymgradError, match="maps no argument"):
        symgrad.vmap(relu_ratio, in_axes=None)(X)
    with pytest.raises(symgrad.SymgradError, match="3 entries for 1 positional"):
        symgrad.vmap(relu_ratio, in_axes=(0, 0, 0))(X)
    with pytest.raises(symgrad.SymgradError, match=r"shape \(5, 4\) over axis 2"):
        symgrad.vmap(relu_ratio, in_axes=2)(X)
    with pytest.raises(symgrad.SymgradError, match="in_axes must be an int or None"):
        symgrad.vmap(relu_ratio, in_axes="rows")
    with pytest.raises(symgrad.SymgradError, match="grad and value_and_grad so far"):
        symgrad.vmap(symgrad.jacfwd(relu_ratio))
    with pytest.raises(symgrad.SymgradError, match="vmap of a vmap"):
        symgrad.vmap(symgrad.vmap(relu_ratio))
    for out_axes in (2, -3):  # (NumPy's AxisError from the driver's np.moveaxis had come out)
        with pytest.raises(symgrad.SymgradError, match=f"out_axes={out_axes} does not fit"):
            symgrad.vmap(layer, in_axes=(None, 0, None), out_axes=out_axes)(W, X, B)
    with pytest.raises(symgrad.SymgradError, match="outermost transformation") as e:
        symgrad.grad(sums_a_map)(X)
    assert e.value.loc.line == sums_a_map.__code__.co_firstlineno + 1


per_row = symgrad.vmap(relu_ratio)


def sums_a_map(x):
    return np.sum(per_row(x))


def test_results_of_other_shapes_for_other_indices_are_refused(make_fn):
    """`x[x > 0]` per row: NumPy's stacking error had reached the user."""
    mod = make_fn("def f(x):\n    return x[x > 0]\n")
    with pytest.raises(symgrad.SymgradError, match=r"shapes \(1,\), \(2,\) for different indices"):
        symgrad.vmap(mod.f)(np.array([[1.0, -2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(
        symgrad.vmap(mod.f)(np.array([[1.0, -2.0], [3.0, -4.0]])), [[1.0], [3.0]]
    )
