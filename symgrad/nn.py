"""Neural-network modules: plain NumPy functions, primitives with textbook backward functions.

Contract: each public function here (`linear`, `relu`, `sigmoid`, `tanh`, `softmax`, `log_softmax`,
`mse`, `binary_cross_entropy`, `binary_cross_entropy_with_logits`, `cross_entropy`, `layer_norm`,
`conv1d`, `conv2d`, `max_pool2d`) runs on NumPy arrays like any function, and inside a function
symgrad differentiates it is one primitive of the rule table (`symgrad/rules/nn.py`) whose backward
function is the hand-derived one of the textbook (B[MM, z](v) = Wᵀv, B[σ, z](v) = v ⊙ σ(1 − σ),
transposed convolution for conv, ...), never a differentiation of the code below. The functions
and the private backward helpers are self-contained (they use only `np` and each other), because
emitted modules carry their source with them and import nothing but NumPy. They are vectorised
(sliding windows and tensordot; no Python loop per output pixel) and also run on object arrays
of SymPy symbols, on which every rule is proved. New arrays are made from existing ones only.
`tanh` is NumPy's: its rule already uses the saved output, v ⊙ (1 − tanh²).
"""

from __future__ import annotations

import numpy as np

tanh = np.tanh  # the rule of np.tanh is the textbook one: v ⊙ (1 − ans²)


def linear(W: np.ndarray, z: np.ndarray, b: np.ndarray) -> np.ndarray:
    """W z + b for one vector z of shape (n,); row-wise for a batch z of shape (batch, n),
    i.e. z @ W.T + b. W has shape (m, n), b shape (m,)."""
    return z @ np.swapaxes(W, -1, -2) + b


def _linear_vjp_W(ct, z):
    """B[W](v) = v zᵀ, summed over the batch: the cotangent of W in linear(W, z, b)."""
    if np.ndim(z) == 1:
        return ct[:, None] * z[None, :]
    return np.swapaxes(ct, -1, -2) @ z


def relu(z: np.ndarray) -> np.ndarray:
    """max(z, 0), entry by entry."""
    return np.maximum(z, 0)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e⁻ᶻ), computed as exp(−log(1 + e⁻ᶻ)) so that no exponential overflows."""
    return np.exp(-np.logaddexp(0, -z))


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """e^{zᵢ} / Σⱼ e^{zⱼ} along `axis` (shifted by the maximum, which changes nothing but range)."""
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(z) = z − log Σ e^{z}, along `axis`, computed without overflow."""
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def mse(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The mean squared error, mean((pred − target)²)."""
    return np.mean((pred - target) ** 2)


def binary_cross_entropy(p: np.ndarray, y: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """mean(−y log p − (1 − y) log(1 − p)) for probabilities p, clipped to [eps, 1 − eps] so that
    a saturated prediction gives a large finite loss, not inf. (Where p is clipped, the backward
    function is still the textbook (p − y) / (p (1 − p)) at the clipped p.)"""
    p = np.clip(p, eps, 1 - eps)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def binary_cross_entropy_with_logits(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """binary_cross_entropy(sigmoid(logits), y) computed stably: mean(log(1 + eˣ) − y x)."""
    return np.mean(np.logaddexp(0, logits) - y * logits)


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Categorical cross-entropy of softmax(logits) (batch, k), averaged over the batch. `labels`
    are integer classes (batch,) or target distributions (batch, k), e.g. one-hot rows."""
    lsm = log_softmax(logits, axis=-1)
    n = np.shape(logits)[0]
    if np.ndim(labels) == np.ndim(logits):
        return -np.sum(labels * lsm) / n
    return -np.sum(lsm[np.arange(n), labels]) / n


def _cross_entropy_vjp(ct, logits, labels):
    """B[logits](v) = v (softmax(logits) − y) / batch, y the one-hot labels (softmax(logits) Σy − y
    for targets that do not sum to 1)."""
    p = softmax(logits, axis=-1)
    n = np.shape(logits)[0]
    if np.ndim(labels) == np.ndim(logits):
        return ct * (p * np.sum(labels, axis=-1, keepdims=True) - labels) / n
    p[np.arange(n), labels] -= 1
    return ct * p / n


def _cross_entropy_mass(labels, logits):
    """Σ y over each row, shape (batch, 1): the mass of the targets, 1 for integer labels."""
    if np.ndim(labels) == np.ndim(logits):
        return np.sum(labels, axis=-1, keepdims=True)
    return np.ones_like(logits[..., :1])


def layer_norm(z: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """γ ⊙ ẑ + β with ẑ = (z − μ) / √(σ² + ε), μ and σ² the mean and variance over the last axis."""
    return gamma * _layer_norm_zhat(z, eps) + beta


def _layer_norm_zhat(z, eps=1e-5):
    """ẑ = (z − μ) / √(σ² + ε) over the last axis."""
    centred = z - np.mean(z, axis=-1, keepdims=True)
    return centred / np.sqrt(np.mean(centred**2, axis=-1, keepdims=True) + eps)


def _layer_norm_vjp_z(ct, z, gamma, eps=1e-5):
    """B[z](v) = (v' − mean(v') − ẑ ⊙ mean(v' ⊙ ẑ)) / √(σ² + ε) with v' = γ ⊙ v, means over the
    last axis: the backward function through the mean and the variance."""
    centred = z - np.mean(z, axis=-1, keepdims=True)
    rstd = 1 / np.sqrt(np.mean(centred**2, axis=-1, keepdims=True) + eps)
    zhat = centred * rstd
    vp = gamma * ct
    mean_vp = np.mean(vp, axis=-1, keepdims=True)
    return rstd * (vp - mean_vp - zhat * np.mean(vp * zhat, axis=-1, keepdims=True))


# convolution: one implementation for any number of spatial axes (conv1d, conv2d) ---------------


def _conv_pads(shape, kernel, stride, padding):
    """(before, after) padding of each spatial axis: none ('valid'), TensorFlow's 'same' (output
    length ceil(n / stride), the odd one at the end), or an int on both sides."""
    if padding == "valid":
        return [(0, 0) for _ in kernel]
    if padding == "same":
        totals = [max((-(-n // s) - 1) * s + k - n, 0) for n, k, s in zip(shape, kernel, stride)]
        return [(t // 2, t - t // 2) for t in totals]
    return [(padding, padding) for _ in kernel]


def _conv_windows(x, kernel, stride, padding):
    """The padded input's windows at the strided output positions: (batch, c, out..., kernel...)."""
    d = len(kernel)
    stride = (stride,) * d if np.ndim(stride) == 0 else tuple(stride)
    pads = _conv_pads(np.shape(x)[2:], kernel, stride, padding)
    xp = np.pad(x, [(0, 0), (0, 0)] + pads) if any(p != (0, 0) for p in pads) else x
    win = np.lib.stride_tricks.sliding_window_view(xp, kernel, axis=tuple(range(2, 2 + d)))
    return win[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)]


def _conv(x, w, stride=1, padding="valid"):
    """Cross-correlation of x (batch, c_in, spatial...) with w (c_out, c_in, kernel...), without
    bias: out[n, o, p] = Σ_{i, j} w[o, i, j] x_padded[n, i, stride p + j]."""
    d = np.ndim(w) - 2
    win = _conv_windows(x, np.shape(w)[2:], stride, padding)
    taps = list(range(2 + d, 2 + 2 * d))
    out = np.tensordot(win, w, axes=([1] + taps, [1] + list(range(2, 2 + d))))
    return np.moveaxis(out, -1, 1)


def _conv_vjp_x(ct, w, x, stride=1, padding="valid"):
    """B[x](v): the transposed convolution. v is dilated by the stride, padded by kernel − 1 on
    both sides (the full convolution), correlated with the flipped kernel, and the input's
    padding cropped off. x is used for its shape only."""
    d = np.ndim(w) - 2
    kernel, n_out, n_in = np.shape(w)[2:], np.shape(ct)[2:], np.shape(x)[2:]
    stride = (stride,) * d if np.ndim(stride) == 0 else tuple(stride)
    pads = _conv_pads(n_in, kernel, stride, padding)
    dilated_shape = tuple((o - 1) * s + 1 for o, s in zip(n_out, stride))
    dilated = np.zeros_like(ct, shape=np.shape(ct)[:2] + dilated_shape)
    dilated[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)] = ct
    rest = [
        n + lo + hi - (m + k - 1) for n, (lo, hi), m, k in zip(n_in, pads, dilated_shape, kernel)
    ]
    full = np.pad(dilated, [(0, 0), (0, 0)] + [(k - 1, k - 1 + r) for k, r in zip(kernel, rest)])
    axes = tuple(range(2, 2 + d))
    win = np.lib.stride_tricks.sliding_window_view(full, kernel, axis=axes)
    taps = list(range(2 + d, 2 + 2 * d))
    gx = np.moveaxis(
        np.tensordot(win, np.flip(w, axis=axes), axes=([1] + taps, [0] + list(axes))), -1, 1
    )
    return gx[
        (slice(None), slice(None)) + tuple(slice(lo, lo + n) for (lo, _), n in zip(pads, n_in))
    ]


def _conv_vjp_w(ct, x, w, stride=1, padding="valid"):
    """B[w](v)[o, i, j] = Σ_{n, p} v[n, o, p] x_padded[n, i, stride p + j]: v correlated with the
    input. w is used for its shape only."""
    d = np.ndim(w) - 2
    win = _conv_windows(x, np.shape(w)[2:], stride, padding)
    batch_and_out = [0] + list(range(2, 2 + d))
    return np.tensordot(ct, win, axes=(batch_and_out, batch_and_out))


def conv1d(x: np.ndarray, w: np.ndarray, b=None, stride=1, padding="valid") -> np.ndarray:
    """1-D convolution (cross-correlation, as in deep learning) of x (batch, c_in, length) with
    w (c_out, c_in, k), plus b (c_out,); padding 'valid', 'same' or an int."""
    out = _conv(x, w, stride, padding)
    return out if b is None else out + b[:, None]


def conv2d(x: np.ndarray, w: np.ndarray, b=None, stride=1, padding="valid") -> np.ndarray:
    """2-D convolution of x (batch, c_in, height, width) with w (c_out, c_in, kh, kw), plus
    b (c_out,); stride an int or a pair; padding 'valid', 'same' or an int."""
    out = _conv(x, w, stride, padding)
    return out if b is None else out + b[:, None, None]


def max_pool2d(x: np.ndarray, size: int = 2, stride: int | None = None) -> np.ndarray:
    """The maximum of each size × size window of x (batch, c, height, width), windows `stride`
    apart (default: size, non-overlapping)."""
    s = size if stride is None else stride
    win = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::s, ::s]
    return np.max(win, axis=(-2, -1))


def _max_pool2d_argmax(x, size=2, stride=None):
    """The index (batch, channel, row, column) of each window's maximum (the first, on ties)."""
    s = size if stride is None else stride
    win = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::s, ::s]
    n, c, oh, ow = np.shape(win)[:4]
    arg = np.argmax(np.reshape(win, (n, c, oh, ow, size * size)), axis=-1)
    rows = np.arange(oh)[:, None] * s + arg // size
    cols = np.arange(ow)[None, :] * s + arg % size
    return np.arange(n)[:, None, None, None], np.arange(c)[:, None, None], rows, cols


def _max_pool2d_vjp(ct, x, size=2, stride=None):
    """B[x](v): each window's v routed to the position of its maximum (the first, on ties);
    overlapping windows accumulate."""
    out = np.zeros_like(x, dtype=np.result_type(x, ct))
    np.add.at(out, _max_pool2d_argmax(x, size, stride), ct)
    return out


def _max_pool2d_gather(gx, x, size=2, stride=None):
    """gx at the position of each window's maximum of x: the adjoint of `_max_pool2d_vjp`."""
    return gx[_max_pool2d_argmax(x, size, stride)]
