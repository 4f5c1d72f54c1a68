"""symgrad.nn: forward functions against reference formulas and loops, gradients of small models,
and the emitted gradient of an MLP reading like the textbook and running standalone."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symgrad
from symgrad import nn
from symgrad.frontend import lower

RNG = np.random.default_rng(0)


def randn(*shape):
    return RNG.standard_normal(shape)


# forward functions against reference NumPy -------------------------------------------------


def test_linear_is_Wz_plus_b_for_a_vector_and_each_row_of_a_batch():
    W, b = randn(3, 4), randn(3)
    z = randn(5, 4)
    np.testing.assert_allclose(nn.linear(W, z[0], b), W @ z[0] + b)
    np.testing.assert_allclose(nn.linear(W, z, b), np.stack([W @ row + b for row in z]))


def test_activations_and_softmaxes():
    z = randn(3, 5) * 3
    np.testing.assert_allclose(nn.relu(z), np.where(z > 0, z, 0))
    np.testing.assert_allclose(nn.sigmoid(z), 1 / (1 + np.exp(-z)))
    assert nn.tanh is np.tanh
    s = np.exp(z) / np.sum(np.exp(z), axis=-1, keepdims=True)
    np.testing.assert_allclose(nn.softmax(z), s)
    np.testing.assert_allclose(nn.softmax(z, axis=0), np.exp(z) / np.exp(z).sum(0))
    np.testing.assert_allclose(nn.log_softmax(z), np.log(s))
    big = np.array([[1000.0, 0.0, -1000.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # stable: no overflow warnings
        assert np.allclose(nn.softmax(big), [[1, 0, 0]])
        assert np.allclose(nn.log_softmax(big), [[0, -1000, -2000]])
        assert np.allclose(nn.sigmoid(np.array([-800.0, 800.0])), [0, 1])


def test_losses():
    pred, target = randn(4, 2), randn(4, 2)
    np.testing.assert_allclose(nn.mse(pred, target), np.mean((pred - target) ** 2))
    x, y = randn(6), (RNG.random(6) > 0.5) * 1.0
    p = 1 / (1 + np.exp(-x))
    bce = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    np.testing.assert_allclose(nn.binary_cross_entropy(p, y), bce)
    np.testing.assert_allclose(nn.binary_cross_entropy_with_logits(x, y), bce)
    assert np.isfinite(nn.binary_cross_entropy(np.array([0.0, 1.0]), np.array([1.0, 0.0])))
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        assert np.isclose(nn.binary_cross_entropy_with_logits(np.array([-800.0]), np.ones(1)), 800)
    logits, labels = randn(5, 3), np.array([0, 2, 1, 1, 0])
    onehot = np.eye(3)[labels]
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    ce = -np.mean(np.log(p[np.arange(5), labels]))
    np.testing.assert_allclose(nn.cross_entropy(logits, labels), ce)
    np.testing.assert_allclose(nn.cross_entropy(logits, onehot), ce)


def test_layer_norm_normalises_the_last_axis():
    z, gamma, beta = randn(3, 6) * 4 + 2, randn(6), randn(6)
    zhat = (z - z.mean(-1, keepdims=True)) / np.sqrt(z.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(nn.layer_norm(z, gamma, beta), gamma * zhat + beta)


def _pads(n, k, s, padding):
    if padding == "valid":
        return 0, 0
    if padding == "same":
        total = max((-(-n // s) - 1) * s + k - n, 0)
        return total // 2, total - total // 2
    return padding, padding


def conv2d_loop(x, w, b, stride, padding):
    """The definition, one output pixel at a time."""
    sh, sw = (stride, stride) if np.ndim(stride) == 0 else stride
    (t, bo), (le, r) = (
        _pads(x.shape[2], w.shape[2], sh, padding),
        _pads(x.shape[3], w.shape[3], sw, padding),
    )
    xp = np.pad(x, ((0, 0), (0, 0), (t, bo), (le, r)))
    kh, kw = w.shape[2:]
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for n in range(x.shape[0]):
        for o in range(w.shape[0]):
            for i in range(oh):
                for j in range(ow):
                    patch = xp[n, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
                    out[n, o, i, j] = np.sum(patch * w[o]) + (0 if b is None else b[o])
    return out


CONV2D_CASES = [
    ((2, 3, 6, 5), (4, 3, 3, 2), 1, "valid"),
    ((1, 2, 7, 7), (3, 2, 3, 3), 2, "valid"),
    ((2, 1, 5, 6), (2, 1, 3, 4), 1, "same"),
    ((1, 2, 7, 8), (2, 2, 3, 3), 2, "same"),
    ((1, 1, 6, 5), (1, 1, 2, 2), (2, 1), 1),
]


@pytest.mark.parametrize("xs, ws, stride, padding", CONV2D_CASES)
def test_conv2d_matches_the_loop_definition(xs, ws, stride, padding):
    x, w, b = randn(*xs), randn(*ws), randn(ws[0])
    got = nn.conv2d(x, w, b, stride=stride, padding=padding)
    np.testing.assert_allclose(got, conv2d_loop(x, w, b, stride, padding), atol=1e-12)
    if padding == "same" and stride == 1:
        assert got.shape[2:] == x.shape[2:]
    no_bias = nn.conv2d(x, w, stride=stride, padding=padding)
    np.testing.assert_allclose(no_bias, conv2d_loop(x, w, None, stride, padding), atol=1e-12)


@pytest.mark.parametrize("stride, padding", [(1, "valid"), (2, "valid"), (1, "same"), (3, "same")])
def test_conv1d_matches_the_loop_definition(stride, padding):
    x, w, b = randn(2, 3, 9), randn(4, 3, 3), randn(4)
    got = nn.conv1d(x, w, b, stride=stride, padding=padding)
    want = conv2d_loop(x[:, :, None], w[:, :, None], b, (1, stride), padding)[:, :, 0]
    if padding == "same":  # 'same' pads the length only; conv2d_loop pads height 1 with kernel 1
        assert got.shape[-1] == -(-9 // stride)
    np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("size, stride", [(2, None), (3, 2), (2, 1)])
def test_max_pool2d_matches_the_loop_definition(size, stride):
    x = randn(2, 3, 7, 6)
    s = size if stride is None else stride
    oh, ow = (7 - size) // s + 1, (6 - size) // s + 1
    want = np.zeros((2, 3, oh, ow))
    for i in range(oh):
        for j in range(ow):
            want[:, :, i, j] = x[:, :, i * s : i * s + size, j * s : j * s + size].max(axis=(2, 3))
    np.testing.assert_array_equal(nn.max_pool2d(x, size, stride), want)


# gradients of small models -------------------------------------------------------------------


def mlp_bce(W1, b1, W2, b2, x, y):
    h = nn.relu(nn.linear(W1, x, b1))
    p = nn.sigmoid(nn.linear(W2, h, b2))
    return nn.binary_cross_entropy(p, y)


def cnn(w, b, W, c, x, labels):
    h = nn.max_pool2d(nn.relu(nn.conv2d(x, w, b, padding="same")))
    return nn.cross_entropy(nn.linear(W, np.reshape(h, (h.shape[0], -1)), c), labels)


def conv1d_net(w, gamma, beta, x, y):
    h = nn.tanh(nn.conv1d(x, w, stride=2, padding="same"))
    h = nn.layer_norm(h, gamma, beta)
    return nn.mse(nn.log_softmax(h, axis=1), y) + nn.binary_cross_entropy_with_logits(h, y)


def attention_like(W, z, t):
    s = nn.softmax(nn.linear(W, z, 0.0), axis=0)
    return nn.cross_entropy(s, t) + nn.mse(nn.sigmoid(s), 0.5)


def test_gradients_of_small_models_match_central_differences():
    x, y = randn(6, 3), (RNG.random((6, 1)) > 0.5) * 1.0
    symgrad.check_grads(mlp_bce, (randn(4, 3), randn(4), randn(1, 4), randn(1), x, y), (0, 1, 2, 3))
    args = (randn(2, 1, 3, 3), randn(2), randn(3, 8), randn(3), randn(2, 1, 4, 4), np.array([0, 2]))
    symgrad.check_grads(cnn, args, (0, 1, 2, 3))
    args = (randn(2, 3, 3), randn(4), randn(4), randn(2, 3, 7), RNG.random((2, 2, 4)))
    symgrad.check_grads(conv1d_net, args, (0, 1, 2, 3))
    symgrad.check_grads(attention_like, (randn(3, 4), randn(5, 4), RNG.random((5, 3))), (0, 1, 2))


def test_nn_calls_lower_to_their_primitives():
    ops = {node.op for node in lower(cnn).nodes()}
    assert {"conv2d", "relu", "max_pool2d", "linear", "cross_entropy"} <= ops


def test_symbolic_check_of_an_mlp():
    args = (randn(3, 2), randn(3), randn(1, 3), randn(1), randn(2, 2), np.array([[1.0], [0.0]]))
    report = symgrad.check(mlp_bce, *args, argnums=(0, 1, 2, 3))
    assert report.ok, str(report)


# the emitted gradient ------------------------------------------------------------------------


def test_the_mlp_gradient_reads_like_the_textbook():
    source = symgrad.grad(mlp_bce, argnums=(0, 1, 2, 3)).source
    body = source.split("def grad_mlp_bce")[1]
    forward, backward = body.split("# backward pass")
    assert "linear(W1, x, b1)" in forward and "relu(" in forward
    assert "sigmoid(" in forward
    # the textbook backward functions: σ(1 − σ) from the saved output, Wᵀv, v zᵀ, v ⊙ (z > 0)
    assert "p * (1 - p)" in backward
    assert "@ W2" in backward
    assert "_linear_vjp_W(" in backward
    assert "> 0)" in backward
    assert "(1 - t3)" in backward  # BCE: (p − y) / (p (1 − p)) at the clipped p
    # not a differentiation of the implementations
    for inner in ("logaddexp", "np.maximum", "np.exp", "np.log(", "swapaxes(W"):
        assert inner not in backward, inner


def test_the_emitted_module_runs_standalone(tmp_path):
    args = [randn(2, 1, 3, 3), randn(2), randn(3, 8), randn(3), randn(2, 1, 4, 4), np.array([0, 2])]
    g = symgrad.grad(cnn, argnums=(0, 1, 2, 3))
    assert "import symgrad" not in g.source and "from symgrad" not in g.source
    (tmp_path / "emitted.py").write_text(g.source)
    np.savez(tmp_path / "args.npz", *args)
    script = textwrap.dedent(
        """
        import sys
        sys.modules["symgrad"] = None  # importing symgrad would fail
        import numpy as np
        import emitted
        a = np.load("args.npz")
        grads = emitted.grad_cnn(*[a[f"arr_{i}"] for i in range(6)])
        np.savez("grads.npz", *grads)
        """
    )
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True)
    with np.load(tmp_path / "grads.npz") as out:
        for k, want in enumerate(g(*args)):
            np.testing.assert_array_equal(out[f"arr_{k}"], want)
