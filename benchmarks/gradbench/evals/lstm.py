"""lstm: the next-character loss of a diagonal-weight LSTM, and its gradient (SPEC §8.3).

Input: `main_params` (2l × 4b: row 2i the weights of layer i, row 2i+1 its biases, each row four
b-blocks F, I, O, G), `extra_params` (3 × b: input scaling, output scaling, output bias), `state`
(2l × b: row 2i the hidden state h_i, row 2i+1 the cell s_i) and `sequence` (c × b: each
character's code point in b binary digits, most significant first). One layer with input u:

    f = σ(u ⊙ W_F + B_F)    ι = σ(h ⊙ W_I + B_I)    o = σ(u ⊙ W_O + B_O)    g = tanh(h ⊙ W_G + B_G)
    s ← s ⊙ f + ι ⊙ g       h ← o ⊙ tanh(s)

At step t: u = sequence[t] ⊙ extra[0], the layers in order (u ← h_i), ŷ = u ⊙ extra[1] + extra[2];
states persist between steps. objective = −Σ_t Σ_r sequence[t+1][r] (ŷ_t − log(2 + Σ exp ŷ_t))[r]
/ ((c − 1) b) over t = 0 … c−2; `jacobian` = ∂objective/∂main_params (row-major) then
∂objective/∂extra_params (row-major), one flat list of 8lb + 3b.

GradBench reads its text from evals/lstm/data/lstm_full.txt, which is not available here: this
module uses the opening of Shakespeare's sonnets (with U+2019 apostrophes, as in ADBench's copy,
so b = 14) repeated to the length needed. GradBench draws the parameters from NumPy's global RNG
without a seed; this module seeds it once per workload list, for reproducible runs.
"""

import math

import numpy as np
from fake_eval import directional

FUNCTIONS = ("objective", "jacobian")
LAYERS = (2, 4, 6)
CHARS = (1024, 4096, 8192)
SEED = 20240601  # GradBench leaves the RNG unseeded; a fixed seed makes runs repeatable

_SONNETS = """THE SONNETS

by William Shakespeare

                     1

From fairest creatures we desire increase,
That thereby beauty’s rose might never die,
But as the riper should by time decease,
His tender heir might bear his memory:
But thou contracted to thine own bright eyes,
Feed’st thy light’s flame with self-substantial fuel,
Making a famine where abundance lies,
Thy self thy foe, to thy sweet self too cruel:
Thou that art now the world’s fresh ornament,
And only herald to the gaudy spring,
Within thine own bud buriest thy content,
And, tender churl, mak’st waste in niggarding:
  Pity the world, or else this glutton be,
  To eat the world’s due, by the grave and thee.

                     2

When forty winters shall besiege thy brow,
And dig deep trenches in thy beauty’s field,
Thy youth’s proud livery so gazed on now,
Will be a tatter’d weed of small worth held:
Then being asked, where all thy beauty lies,
Where all the treasure of thy lusty days;
To say, within thine own deep sunken eyes,
Were an all-eating shame, and thriftless praise.
How much more praise deserv’d thy beauty’s use,
If thou couldst answer ‘This fair child of mine
Shall sum my count, and make my old excuse,’
Proving his beauty by succession thine!
  This were to be new made when thou art old,
  And see thy blood warm when thou feel’st it cold.

                     3

Look in thy glass and tell the face thou viewest
Now is the time that face should form another;
Whose fresh repair if now thou not renewest,
Thou dost beguile the world, unbless some mother.
For where is she so fair whose unear’d womb
Disdains the tillage of thy husbandry?
Or who is he so fond will be the tomb,
Of his self-love to stop posterity?
Thou art thy mother’s glass and she in thee
Calls back the lovely April of her prime;
So thou through windows of thine age shalt see,
Despite of wrinkles this thy golden time.
  But if thou live, remember’d not to be,
  Die single and thine image dies with thee.

                     4

Unthrifty loveliness, why dost thou spend
Upon thy self thy beauty’s legacy?
Nature’s bequest gives nothing but doth lend,
And being frank she lends to those are free:
Then, beauteous niggard, why dost thou abuse
The bounteous largess given thee to give?
Profitless usurer, why dost thou use
So great a sum of sums, yet canst not live?
For having traffic with thy self alone,
Thou of thy self thy sweet self dost deceive:
Then how when nature calls thee to be gone,
What acceptable audit canst thou leave?
  Thy unused beauty must be tomb’d with thee,
  Which, used, lives th’ executor to be.

"""


def full_text(chars):
    """The first `chars` characters of the text (the sonnets above, repeated as needed)."""
    return (_SONNETS * (chars // len(_SONNETS) + 1))[:chars]


def _bits(text):
    return math.ceil(math.log2(max(ord(ch) for ch in text)))


def _text_to_matrix(text, bits):
    return [[float(d) for d in bin(ord(ch))[2:].zfill(bits)] for ch in text]


def _generate(text, layers, chars):
    """One input as GradBench's gen_lstm makes it (state, main_params, extra_params in order)."""
    use = text[:chars]
    b = _bits(use)
    state = np.random.random((2 * layers, b))
    main_params = np.random.random((2 * layers, 4 * b))
    extra_params = np.random.random((3, b))
    return {
        "main_params": main_params.tolist(),
        "extra_params": extra_params.tolist(),
        "state": state.tolist(),
        "sequence": _text_to_matrix(use, b),
    }


def _inputs(combinations):
    np.random.seed(SEED)
    text = full_text(max(c for _, c in combinations))
    ordered = sorted(combinations, key=lambda v: v[0] * v[1])  # stable, as GradBench's eval
    return [(f"l={l},c={c}", _generate(text, l, c)) for l, c in ordered]


def workloads():
    return _inputs([(l, c) for l in LAYERS for c in CHARS])


def small_workloads():
    return _inputs([(1, 2), (1, 5), (2, 12), (3, 40), (1, 130)])  # c=130 reaches a ’: b=14


EXAMPLES = [
    (
        function,
        {
            "main_params": [
                [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
                [0.05, -0.1, 0.15, -0.2, 0.25, -0.3, 0.35, -0.4],
            ],
            "extra_params": [[1.0, 0.5], [0.9, -0.8], [0.1, 0.2]],
            "state": [[0.3, -0.2], [0.1, 0.4]],
            "sequence": [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
        },
        expected,
    )
    for function, expected in (
        ("objective", 0.953994964244864),
        (
            "jacobian",
            [
                2.09946706368e-4,
                -1.51016414712e-4,
                -8.09999572008e-4,
                2.24155145556e-3,
                3.63876941047e-3,
                -2.03601302216e-3,
                -3.19322226628e-3,
                -5.81786990175e-3,
                -3.5276461402e-3,
                8.47729297518e-3,
                -4.03749858152e-3,
                -1.50110206308e-2,
                -5.79367869754e-3,
                -5.17425059142e-3,
                -1.56816834345e-2,
                4.41861442007e-2,
                1.84037937587e-3,
                -2.50362219248e-3,
                -7.6577783457e-3,
                1.24072426001e-2,
                -3.11814068801e-2,
                -0.291914449653,
            ],
        ),
    )
]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _loss(main, extra, state, sequence):
    """The objective for a batch of parameter sets: main (k, 2l, 4b), extra (k, 3, b) -> (k,).

    A direct transcription of the mathematics; the leading axis k lets the central differences
    below evaluate every perturbed parameter set in one pass over the sequence.
    """
    layers = main.shape[1] // 2
    c, b = sequence.shape
    hidden = [np.broadcast_to(state[2 * i], (main.shape[0], b)) for i in range(layers)]
    cell = [np.broadcast_to(state[2 * i + 1], (main.shape[0], b)) for i in range(layers)]
    total = np.zeros(main.shape[0])
    for t in range(c - 1):
        u = sequence[t] * extra[:, 0]
        for i in range(layers):
            w, bias = main[:, 2 * i], main[:, 2 * i + 1]
            gate = [w[:, j * b : (j + 1) * b] for j in range(4)]
            shift = [bias[:, j * b : (j + 1) * b] for j in range(4)]
            f = _sigmoid(u * gate[0] + shift[0])
            ig = _sigmoid(hidden[i] * gate[1] + shift[1])
            o = _sigmoid(u * gate[2] + shift[2])
            g = np.tanh(hidden[i] * gate[3] + shift[3])
            cell[i] = cell[i] * f + ig * g
            hidden[i] = o * np.tanh(cell[i])
            u = hidden[i]
        y = u * extra[:, 1] + extra[:, 2]
        ynorm = y - np.log(2.0 + np.sum(np.exp(y), axis=1, keepdims=True))
        total += np.sum(sequence[t + 1] * ynorm, axis=1)
    return -total / ((c - 1) * b)


MAX_FD_WORK = 3e6  # (parameters) x (time steps) x (layers) that central differences may cost


def reference(function, input):
    main = np.asarray(input["main_params"], dtype=np.float64)
    extra = np.asarray(input["extra_params"], dtype=np.float64)
    state = np.asarray(input["state"], dtype=np.float64)
    sequence = np.asarray(input["sequence"], dtype=np.float64)
    if function == "objective":
        return float(_loss(main[None], extra[None], state, sequence)[0])
    theta = np.concatenate((main.ravel(), extra.ravel()))
    p = theta.size
    if p * len(sequence) * (main.shape[0] // 2) > MAX_FD_WORK:
        return None
    eps = 1e-6
    points = np.concatenate((theta + eps * np.eye(p), theta - eps * np.eye(p)))
    values = _loss(
        points[:, : main.size].reshape((-1,) + main.shape),
        points[:, main.size :].reshape((-1,) + extra.shape),
        state,
        sequence,
    )
    return ((values[:p] - values[p:]) / (2 * eps)).tolist()


def check(function, input, output) -> list[str] | None:
    """Where the gradient is too large for `reference`: its products with three random
    directions against central differences of the objective along them (float64)."""
    if function == "objective":
        return None
    main = np.asarray(input["main_params"], dtype=np.float64)
    extra = np.asarray(input["extra_params"], dtype=np.float64)
    state = np.asarray(input["state"], dtype=np.float64)
    sequence = np.asarray(input["sequence"], dtype=np.float64)
    theta = np.concatenate((main.ravel(), extra.ravel()))

    def loss(points):
        return _loss(
            points[:, : main.size].reshape((-1,) + main.shape),
            points[:, main.size :].reshape((-1,) + extra.shape),
            state,
            sequence,
        )

    return directional(loss, theta, np.asarray(output, dtype=np.float64))
