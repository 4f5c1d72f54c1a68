"""A computational graph, step by step: J = f(g(h(x))), differentiated by the chain rule in reverse.

    h(x) = W x + b          (linear)         backward: B[h, x](v) = Wᵀ v
    g(u) = σ(u)             (sigmoid)        backward: B[g, u](v) = v ⊙ σ(u)(1 − σ(u))
    f(a) = ½ ‖a − y‖²       (squared error)  backward: B[f, a](1) = a − y

Reverse mode: run the forward pass keeping u = h(x) and a = g(u), then apply the backward
functions from the output back: ∂J/∂x = B[h, x](B[g, u](B[f, a](1))). The script prints the IR
graph symgrad built for J and its gradient, the gradient code it emitted (which is exactly that
composition), the chain rule done by hand, and a check against central differences.

python examples/computational_graph.py
"""

import sys

import numpy as np

import symgrad
from symgrad import nn
from symgrad.ir import to_text

W = np.array([[1.0, -2.0, 0.5], [0.3, 0.8, -1.0]])
b = np.array([0.1, -0.2])
y = np.array([0.25, 0.75])


def h(x, W, b):
    return nn.linear(W, x, b)


def g(u):
    return nn.sigmoid(u)


def f(a, y):
    return 0.5 * np.sum((a - y) ** 2)


def J(x, W, b, y):
    """The data W, b, y are arguments: emitted gradients are standalone and embed no arrays."""
    return f(g(h(x, W, b)), y)


def by_hand(x):
    """The same gradient, the chain rule written out: forward keeping u and a, then backward."""
    u = W @ x + b  # forward, step 1: h
    a = 1 / (1 + np.exp(-u))  # step 2: g
    a_bar = a - y  # backward, from J: B[f, a](1)
    u_bar = a_bar * a * (1 - a)  # B[g, u](a_bar), from the saved a
    return W.T @ u_bar  # B[h, x](u_bar)


def central_differences(fun, x, eps=1e-6):
    grad = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = eps
        grad[i] = (fun(x + e) - fun(x - e)) / (2 * eps)
    return grad


def main() -> dict:
    x = np.array([0.5, -1.0, 2.0])
    dJ = symgrad.grad(J)  # with respect to x

    print("# 1. The IR graph of J and its gradient (h, g, f inlined; one node per line)\n")
    print(to_text(dJ.graph))

    print("\n# 2. The gradient code symgrad emitted: the backward functions in reverse order\n")
    print(dJ.source.split("\n\n\n")[-1])

    grad = dJ(x, W, b, y)
    hand = by_hand(x)
    numeric = central_differences(lambda x: J(x, W, b, y), x)
    rel = np.linalg.norm(grad - numeric) / np.linalg.norm(grad + numeric)
    print("# 3. The gradient at x =", x)
    print("symgrad:             ", grad)
    print("chain rule by hand:  ", hand)
    print("central differences: ", numeric)
    print(f"relative difference ‖g_symgrad − g_fd‖ / ‖g_symgrad + g_fd‖ = {rel:.1e}")
    assert np.allclose(grad, hand, rtol=1e-12) and rel < 1e-8
    symgrad.check_grads(J, (x, W, b, y), argnums=(0, 1, 2))
    print("symgrad.check_grads with respect to x, W and b: ok")
    return {"grad": grad, "by_hand": hand, "numeric": numeric, "relative_difference": rel}


if __name__ == "__main__":
    main()
    sys.exit(0)
