"""lstm (SPEC §8.3): the next-character loss of a diagonal-weight LSTM, a Python loop over time
steps holding the loop over layers, and its gradient with respect to `main_params` and
`extra_params` by `torch.autograd` (one flat tensor: main's rows, then extra's).

One layer with input u, weights W and biases B split into the four b-blocks F, I, O, G:

    f = σ(u W_F + B_F)    ι = σ(h W_I + B_I)    o = σ(u W_O + B_O)    g = tanh(h W_G + B_G)
    s ← s f + ι g         h ← o tanh(s)

objective = −Σ_t Σ_r sequence[t+1][r] (ŷ_t − log(2 + Σ exp ŷ_t))[r] / ((c − 1) b)."""

import torch

from pytorch_objectives import tensor, values


def lstm_objective(main_params, extra_params, state, sequence):
    layers = main_params.shape[0] // 2
    c, b = sequence.shape
    weights = main_params.reshape(layers, 2, 4, b)  # [layer, weight | bias, block]
    blocks = [(*weights[i, 0], *weights[i, 1]) for i in range(layers)]  # W_F .. W_G, B_F .. B_G
    hidden = list(state[0::2])
    cell = list(state[1::2])
    total = 0.0
    for t in range(c - 1):
        u = sequence[t] * extra_params[0]
        for i in range(layers):
            wf, wi, wo, wg, bf, bi, bo, bg = blocks[i]
            f = torch.sigmoid(u * wf + bf)
            ingate = torch.sigmoid(hidden[i] * wi + bi)
            o = torch.sigmoid(u * wo + bo)
            g = torch.tanh(hidden[i] * wg + bg)
            cell[i] = cell[i] * f + ingate * g
            hidden[i] = o * torch.tanh(cell[i])
            u = hidden[i]
        ypred = u * extra_params[1] + extra_params[2]
        ynorm = ypred - torch.log(2.0 + torch.sum(torch.exp(ypred)))
        total = total + torch.sum(sequence[t + 1] * ynorm)
    return -total / ((c - 1) * b)


def jacobian(main_params, extra_params, state, sequence):
    loss = lstm_objective(main_params, extra_params, state, sequence)
    d_main, d_extra = torch.autograd.grad(loss, (main_params, extra_params))
    return torch.cat((d_main.reshape(-1), d_extra.reshape(-1)))


FUNCTIONS = {"objective": lstm_objective, "jacobian": jacobian}


def prepare(function, input):
    differentiated = function == "jacobian"
    return (
        tensor(input["main_params"], requires_grad=differentiated),
        tensor(input["extra_params"], requires_grad=differentiated),
        tensor(input["state"]),
        tensor(input["sequence"]),
    )


def output(function, value):
    return values(value)
