"""Quickstart: differentiate a small regression loss, print the emitted gradient, run and check it.

python examples/quickstart.py
"""

import numpy as np

import symgrad


@symgrad.grad(argnums=(0, 1))
def loss(W, b, x, y):
    z = np.tanh(W @ x + b)
    return 0.5 * np.sum((z - y) ** 2)


def main() -> None:
    rng = np.random.default_rng(0)
    W, b = rng.standard_normal((3, 4)), rng.standard_normal(3)
    x, y = rng.standard_normal(4), rng.standard_normal(3)

    print("# The gradient symgrad emitted for loss(W, b, x, y), with respect to W and b:\n")
    print(loss.source)

    dW, db = loss(W, b, x, y)
    print("dW =\n", dW)
    print("db =", db)

    symgrad.check_grads(loss.__wrapped__, (W, b, x, y), argnums=(0, 1))
    print("\nchecked against central differences: ok")


if __name__ == "__main__":
    main()
