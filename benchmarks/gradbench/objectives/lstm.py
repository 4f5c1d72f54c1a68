"""GradBench `lstm`: the next-character loss of a diagonal-weight LSTM (SPEC §8.3).

Input: `main_params` (2l × 4b; row 2i the weights of layer i, row 2i+1 its biases, each split
into the four b-blocks forget, input gate, output gate, cell candidate), `extra_params` (3 × b:
input scaling, output scaling, output bias), `state` (2l × b: row 2i the initial hidden state of
layer i, row 2i+1 its cell) and `sequence` (c × b, the bits of the text's characters).

    objective = −Σ_t Σ_r sequence[t+1][r] · (ŷ_t − log(2 + Σ exp ŷ_t))[r] / ((c − 1) · b)

`objective` is that float; `jacobian` is its gradient with respect to `main_params` (row-major)
followed by the one with respect to `extra_params`, one flat list. The loss is plain NumPy, a
loop over time steps holding the loop over layers; the gradient is symgrad's reverse mode. On
the Numba backend the loss is run as `symgrad.jit` of the same function (its loops compiled,
as JAX's tool runs its loss under `jax.jit`).
"""

import numpy as np
from objectives.backend import BACKEND, compiled

import symgrad


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_layer(weight, bias, hidden, cell, inp):
    b = hidden.shape[0]
    forget = sigmoid(inp * weight[:b] + bias[:b])
    ingate = sigmoid(hidden * weight[b : 2 * b] + bias[b : 2 * b])
    outgate = sigmoid(inp * weight[2 * b : 3 * b] + bias[2 * b : 3 * b])
    change = np.tanh(hidden * weight[3 * b :] + bias[3 * b :])
    cell = cell * forget + ingate * change
    hidden = outgate * np.tanh(cell)
    return hidden, cell


def lstm_objective(main_params, extra_params, state, sequence):
    layers = main_params.shape[0] // 2
    c, b = sequence.shape
    s = state.copy()
    total = 0.0
    for t in range(c - 1):
        x = sequence[t] * extra_params[0]
        for i in range(layers):
            h, cell = lstm_layer(
                main_params[2 * i], main_params[2 * i + 1], s[2 * i], s[2 * i + 1], x
            )
            s[2 * i] = h
            s[2 * i + 1] = cell
            x = h
        ypred = x * extra_params[1] + extra_params[2]
        ynorm = ypred - np.log(2.0 + np.sum(np.exp(ypred)))
        total = total + np.sum(sequence[t + 1] * ynorm)
    return -total / ((c - 1) * b)


_grad = symgrad.grad(lstm_objective, argnums=(0, 1), backend=BACKEND)


_loss = compiled(lstm_objective)


def objective(main_params, extra_params, state, sequence):
    return _loss(main_params, extra_params, state, sequence)


def jacobian(main_params, extra_params, state, sequence):
    d_main, d_extra = _grad(main_params, extra_params, state, sequence)
    return np.concatenate((d_main.ravel(), d_extra.ravel()))


FUNCTIONS = {"objective": objective, "jacobian": jacobian}


def _compile():
    """Compile the loss and its gradient at define time (not timed), as in lse.py, on 14 bits
    (the width of every workload's characters), two layers and ten characters (a number of
    steps equal to another number the loops read would be one argument, and another machine
    code)."""
    rng = np.random.default_rng(0)
    b, layers = 14, 2
    main = rng.random((2 * layers, 4 * b))
    state = rng.random((2 * layers, b))
    args = (main, rng.random((3, b)), state, (rng.random((10, b)) > 0.5).astype(float))
    objective(*args)
    jacobian(*args)


_compile()


def prepare(function, input):
    return tuple(
        np.asarray(input[k], dtype=np.float64)
        for k in ("main_params", "extra_params", "state", "sequence")
    )


def output(function, value):
    if function == "objective":
        return float(value)
    return [float(v) for v in value]
