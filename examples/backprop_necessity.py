"""Why backpropagation: the same 2-layer network trained by random search and by gradient descent.

A network 2 -> 64 (ReLU) -> 1 (sigmoid) with binary cross-entropy learns to separate two
interleaved spirals. Random search perturbs all 257 weights at once and keeps a step when the
loss drops; gradient descent follows the gradient symgrad emits for the loss. Both get the same
number of steps (one loss evaluation per random-search step, one gradient per descent step) and
are scored on held-out points. With matplotlib installed, `backprop_necessity.png` shows the
decision boundaries and the loss curves.

python examples/backprop_necessity.py [--fast]
"""

from __future__ import annotations

import sys
import time

import numpy as np

import symgrad


def loss(W1, b1, W2, b2, X, y):
    h = np.maximum(X @ W1 + b1, 0.0)  # ReLU
    p = 1.0 / (1.0 + np.exp(-(h @ W2 + b2)))  # sigmoid
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))  # binary cross-entropy


def predict(params, X):
    W1, b1, W2, b2 = params
    return (np.maximum(X @ W1 + b1, 0.0) @ W2 + b2) > 0


def spirals(n, rng, turns=1.75, noise=0.06):
    """Two interleaved spirals (labels 0 and 1) in the unit disc, with a little noise."""
    t = np.sqrt(rng.uniform(0, 1, n)) * turns * 2 * np.pi
    label = rng.random(n) < 0.5
    radius, angle = t / (turns * 2 * np.pi), t + np.where(label, 0.0, np.pi)
    X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return X + noise * rng.standard_normal((n, 2)), label.astype(float)


def init(rng, hidden=64):
    return [
        rng.standard_normal((2, hidden)) * 1.5,
        rng.standard_normal(hidden) * 0.5,
        rng.standard_normal(hidden) / np.sqrt(hidden),
        np.zeros(()),
    ]


def random_search(params, X, y, steps, rng, scale=0.02):
    best, curve = loss(*params, X, y), []
    for _ in range(steps):
        trial = [p + scale * rng.standard_normal(np.shape(p)) for p in params]
        value = loss(*trial, X, y)
        if value < best:
            params, best = trial, value
        curve.append(best)
    return params, curve


def gradient_descent(params, X, y, steps, lr=1.0):
    value_and_grad = symgrad.value_and_grad(loss, argnums=(0, 1, 2, 3))
    curve = []
    for _ in range(steps):
        value, grads = value_and_grad(*params, X, y)
        params = [p - lr * g for p, g in zip(params, grads)]
        curve.append(value)
    return params, curve


def main(fast: bool = False) -> dict:
    steps = 200 if fast else 3000
    rng = np.random.default_rng(0)
    X, y = spirals(400, rng)
    X_test, y_test = spirals(400, rng)
    start = init(rng)
    symgrad.check_grads(loss, (*start, X, y), argnums=(0, 1, 2, 3))

    results = {}
    for name, train in [
        ("random search", lambda: random_search(start, X, y, steps, np.random.default_rng(1))),
        ("gradient descent (symgrad)", lambda: gradient_descent(start, X, y, steps)),
    ]:
        t0 = time.perf_counter()
        params, curve = train()
        seconds = time.perf_counter() - t0
        accuracy = float(np.mean(predict(params, X_test) == (y_test > 0.5)))
        results[name] = (params, curve, accuracy, seconds)

    print(f"{steps} steps each, 400 training points, a 2-64-1 network (257 weights)\n")
    print(f"{'method':<28} {'final loss':>10} {'held-out accuracy':>18} {'seconds':>8}")
    for name, (_, curve, accuracy, seconds) in results.items():
        print(f"{name:<28} {curve[-1]:>10.4f} {accuracy:>18.1%} {seconds:>8.2f}")
    print("\nThe gradient descent step above runs this emitted code:\n")
    print(symgrad.grad(loss, argnums=(0, 1, 2, 3)).source.split("\n\n\n")[-1])
    _plot(results, X, y)
    return {name: (curve[-1], accuracy) for name, (_, curve, accuracy, _) in results.items()}


def _plot(results, X, y, path="backprop_necessity.png"):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(install matplotlib for a picture of the decision boundaries and loss curves)")
        return
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    xx, yy = np.meshgrid(np.linspace(-1.2, 1.2, 200), np.linspace(-1.2, 1.2, 200))
    grid = np.stack([xx.ravel(), yy.ravel()], axis=1)
    for ax, (name, (params, _, accuracy, _)) in zip(axes, results.items()):
        ax.contourf(xx, yy, predict(params, grid).reshape(xx.shape), alpha=0.3, cmap="coolwarm")
        ax.scatter(X[:, 0], X[:, 1], c=y, s=8, cmap="coolwarm")
        ax.set_title(f"{name}: {accuracy:.0%}")
    for name, (_, curve, _, _) in results.items():
        axes[2].plot(curve, label=name)
    axes[2].set(xlabel="step", ylabel="loss", yscale="log", title="training loss")
    axes[2].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(fast="--fast" in sys.argv)
