"""A small convolutional network on handwritten digits: gradients checked, then trained.

The network conv 3 x 3 (8 channels) -> ReLU -> 2 x 2 max pool -> conv 3 x 3 (16 channels) ->
ReLU -> 2 x 2 max pool -> linear (10 classes) is written with `symgrad.nn`, whose convolution's
backward function is the transposed convolution and whose max pool routes each cotangent to its
window's maximum. Before training, `symgrad.check_grads` compares the emitted gradient with
central differences on a batch of four images; then SGD with momentum trains on scikit-learn's
bundled 8 x 8 digits (no download) and the script reports accuracy on a held-out quarter.

pip install -e ".[examples]" && python examples/cnn.py [--fast]
"""

from __future__ import annotations

import sys
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import symgrad
from symgrad import nn


def logits(w1, b1, w2, b2, W3, b3, x):
    h = nn.max_pool2d(nn.relu(nn.conv2d(x, w1, b1, padding="same")))  # (batch, 8, 4, 4)
    h = nn.max_pool2d(nn.relu(nn.conv2d(h, w2, b2, padding="same")))  # (batch, 16, 2, 2)
    return nn.linear(W3, h.reshape(h.shape[0], -1), b3)


def loss(w1, b1, w2, b2, W3, b3, x, y):
    return nn.cross_entropy(logits(w1, b1, w2, b2, W3, b3, x), y)


def init(rng):
    """He-scaled weights; biases a little above 0, so that no ReLU sits at its kink (where
    central differences and the gradient disagree) in the gradient check."""
    return [
        rng.standard_normal((8, 1, 3, 3)) * np.sqrt(2 / 9),
        np.full(8, 0.1),
        rng.standard_normal((16, 8, 3, 3)) * np.sqrt(2 / 72),
        np.full(16, 0.1),
        rng.standard_normal((10, 64)) * np.sqrt(1 / 64),
        np.zeros(10),
    ]


def accuracy(params, x, y):
    return float(np.mean(np.argmax(logits(*params, x), axis=1) == y))


def main(fast: bool = False) -> dict:
    epochs, batch, lr, momentum = (3 if fast else 20), 32, 0.02, 0.9
    digits = load_digits()
    images = digits.images[:, None] / 16.0  # (1797, 1, 8, 8): one channel
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, stratify=digits.target, random_state=0
    )
    rng = np.random.default_rng(0)
    params = init(rng)
    argnums = (0, 1, 2, 3, 4, 5)

    symgrad.check_grads(loss, (*params, x_train[:4], y_train[:4]), argnums=argnums)
    print("gradient check on 4 images against central differences: ok")

    grad = symgrad.grad(loss, argnums=argnums)
    velocity = [np.zeros_like(p) for p in params]
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            grads = grad(*params, x_train[idx], y_train[idx])
            velocity = [momentum * v - lr * g for v, g in zip(velocity, grads)]
            params = [p + v for p, v in zip(params, velocity)]
        value = loss(*params, x_train, y_train)
        print(f"epoch {epoch:>2}/{epochs}: training loss {value:.4f}")
    seconds = time.perf_counter() - t0

    test_acc = accuracy(params, x_test, y_test)
    print(f"\ntrained {epochs} epochs in {seconds:.1f} s; held-out test accuracy {test_acc:.1%}")
    print("\nThe backward pass of the emitted gradient:\n")
    source = grad.source.split("\n\n\n")[-1]
    print(source[source.index("    # backward pass") :])
    return {"test_accuracy": test_acc, "seconds": seconds}


if __name__ == "__main__":
    main(fast="--fast" in sys.argv)
