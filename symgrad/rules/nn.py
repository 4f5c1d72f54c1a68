"""Neural-network modules (`symgrad.nn`) as primitives with their textbook backward functions.

Contract: each module of `symgrad.nn` is one rule whose `helper=` is the module's own function, so
a call to `symgrad.nn.conv2d` lowers to the primitive `conv2d` and is emitted as a call to a copy
of that function (the emitted module stays standalone). The backward functions are the
hand-derived ones (BACKPROP.md): templates of existing primitives where they read like the
textbook (linear, relu, sigmoid, softmax, the losses), and backward helpers from `symgrad.nn`
where a template would be clumsy (v zᵀ over a batch, layer norm, the transposed convolution, max
pooling's routing). Every backward helper has a VJP and a JVP of its own, so gradients through
the modules can be differentiated again: the bilinear ones (linear's B[W], conv's B[x] and B[w])
and max pooling's routing here, layer norm's and cross-entropy's in `symgrad.rules.nn_backward`.
"""

import ast

from symgrad import nn
from symgrad.rules.build import ops
from symgrad.rules.table import DIAGONAL, LINEAR, call, defrule

EW = {"shape": "elementwise", "broadcasts": True}


def _call_without_none(path: str):
    """Emit `path(...)` like `call`, leaving out a trailing optional array that is None (a conv
    without bias reads `conv2d(x, w, stride=2)`)."""
    base = call(path)

    def emit(args, attrs, rule):
        node = base(args, attrs, rule)
        last = node.args[-1] if node.args else None
        if isinstance(last, ast.Constant) and last.value is None:
            node.args.pop()
        return node

    emit.calls = path
    return emit


def _through_gradient(vjp: dict) -> dict:
    """JVP templates of a rule with a 0-d output (a loss): ⟨∇f, t⟩ = Σ VJP(1) ⊙ t."""
    import inspect

    def jvp_of(template):
        def jvp(t, **args):
            return ops.sum(template(g=1.0, **args) * t)

        P = inspect.Parameter
        rest = [P(n, P.KEYWORD_ONLY) for n in inspect.signature(template).parameters if n != "g"]
        jvp.__signature__ = inspect.Signature([P("t", P.POSITIONAL_OR_KEYWORD), *rest])
        return jvp

    return {name: jvp_of(template) for name, template in vjp.items()}


def _to_output(t, ans):
    """A tangent added onto the output (a bias), broadcast to the output's shape."""
    return ops.broadcast_to(t, ops.shape(ans))


def _scipy_axis(x, axis=None):
    """scipy.special.softmax's and log_softmax's call: every axis at once by default."""
    return (x,), {"axis": axis}


def _optional_bias(x, w, b=None, stride=1, padding="valid"):
    return (x, w, b), {"stride": stride, "padding": padding}


# linear: u = W z + b --------------------------------------------------------------------------

defrule(
    "linear",
    "W, z, b",
    call("linear"),
    helper=nn.linear,
    vjp={
        "W": lambda g, z: ops.linear_vjp_W(g, z),
        "z": lambda g, W: g @ W,
        "b": lambda g, b: ops.unbroadcast(g, ops.shape(b)),
    },
    jvp={
        "W": lambda t, z: z @ ops.swapaxes(t, axis1=-1, axis2=-2),
        "z": lambda t, W: t @ ops.swapaxes(W, axis1=-1, axis2=-2),
        "b": _to_output,
    },
    math="B[z](v) = Wᵀv;  B[W](v) = v zᵀ;  B[b](v) = v (batched: summed over the batch)",
    examples=(
        "linear(W, z, b) | W: 3x4, z: 2x4, b: 3",
        "linear(W, z, b) | W: 3x4, z: 4, b: 3",
        "linear(W, z, b) | W: 2x3, z: 5x3, b: ",
    ),
)
defrule(
    "linear_vjp_W",
    "ct, z",
    call("_linear_vjp_W"),
    helper=nn._linear_vjp_W,
    vjp={"ct": lambda g, z: z @ g.T, "z": lambda g, ct: ct @ g},
    jvp=LINEAR,
    math="v zᵀ (Σ over the batch)",
    examples=("_linear_vjp_W(ct, z) | ct: 2x3, z: 2x4", "_linear_vjp_W(ct, z) | ct: 3, z: 4"),
)

# activations ----------------------------------------------------------------------------------

defrule(
    "relu",
    "z",
    call("relu"),
    helper=nn.relu,
    vjp={"z": lambda g, z: g * (z > 0)},
    jvp=DIAGONAL,  # 0 at the kink, as jax.nn.relu
    sympy=lambda sp, z: sp.Max(z, 0),
    math="v ⊙ (z > 0)",
    examples=("relu(z) | z: 3x4", "relu(z) | z: 2x3x2"),
    **{**EW, "scalar": "np.maximum({0}, 0.0)"},
)
defrule(
    "sigmoid",
    "z",
    call("sigmoid"),
    helper=nn.sigmoid,
    twins=("scipy.special.expit",),
    vjp={"z": lambda g, ans: g * ans * (1 - ans)},
    jvp=DIAGONAL,
    sympy=lambda sp, z: 1 / (1 + sp.exp(-z)),
    math="v ⊙ σ(z)(1 − σ(z)), from the saved output",
    examples=("sigmoid(z) | z: 3x4", "sigmoid(z) | z: 4"),
    **{**EW, "scalar": "np.exp(-np.logaddexp(0.0, -{0}))"},
)
defrule(
    "softmax",
    "z, axis=-1",
    call("softmax"),
    helper=nn.softmax,
    vjp={"z": lambda g, ans, axis: ans * (g - ops.sum(g * ans, axis=axis, keepdims=True))},
    jvp=DIAGONAL,  # not diagonal, but symmetric (diag(s) − s sᵀ): the VJP with t for g
    shape="first",
    math="s ⊙ (v − ⟨v, s⟩), s the saved output",
    examples=(
        "softmax(z) | z: 2x3",
        "softmax(z, axis=0) | z: 3x2",
        "softmax(z) | z: 4",
        "softmax(z, axis=None) | z: 2x3",
    ),
    twins=(("scipy.special.softmax", _scipy_axis),),
)
defrule(
    "log_softmax",
    "z, axis=-1",
    call("log_softmax"),
    helper=nn.log_softmax,
    vjp={"z": lambda g, ans, axis: g - ops.exp(ans) * ops.sum(g, axis=axis, keepdims=True)},
    jvp={"z": lambda t, ans, axis: t - ops.sum(ops.exp(ans) * t, axis=axis, keepdims=True)},
    shape="first",
    math="v − softmax(z) Σ v, softmax(z) = exp of the saved output",
    examples=(
        "log_softmax(z) | z: 2x3",
        "log_softmax(z, axis=0) | z: 3x2",
        "log_softmax(z, axis=(0, 1)) | z: 2x3",
    ),
    twins=(("scipy.special.log_softmax", _scipy_axis),),
)

# losses ---------------------------------------------------------------------------------------


def _mse_pred(g, pred, target):
    d = pred - target
    return 2 * g * d / ops.size(d)


def _mse_target(g, pred, target):
    d = pred - target
    return -2 * g * d / ops.size(d)


defrule(
    "mse",
    "pred, target",
    call("mse"),
    helper=nn.mse,
    vjp={"pred": _mse_pred, "target": _mse_target},
    jvp=_through_gradient({"pred": _mse_pred, "target": _mse_target}),
    shape="scalar",
    broadcasts=True,
    math="B[pred](v) = 2v (pred − target) / N;  B[target](v) = −2v (pred − target) / N",
    examples=(
        "mse(pred, target) | pred: 3x2, target: 3x2",
        "mse(pred, target) | pred: 4, target: ",
    ),
)


def _bce_p(g, p, y, eps):
    pc = ops.clip(p, eps, 1 - eps)
    d = pc - y
    return g * d / (pc * (1 - pc)) / ops.size(d)


def _bce_y(g, p, y, eps):
    pc = ops.clip(p, eps, 1 - eps)
    return g * (ops.log(1 - pc) - ops.log(pc)) / ops.size(pc - y)


defrule(
    "binary_cross_entropy",
    "p, y, eps=1e-12",
    call("binary_cross_entropy"),
    helper=nn.binary_cross_entropy,
    vjp={"p": _bce_p, "y": _bce_y},
    jvp=_through_gradient({"p": _bce_p, "y": _bce_y}),
    shape="scalar",
    broadcasts=True,
    math="B[p](v) = v (p − y) / (p (1 − p)) / N;  B[y](v) = v log((1 − p) / p) / N",
    domain={"p": "probability"},
    examples=(
        "binary_cross_entropy(p, y) | p: 3x2 probability, y: 3x2 probability",
        "binary_cross_entropy(p, y) | p: 4 probability, y: 4 const",
    ),
)


def _bce_logits_x(g, logits, y):
    d = ops.sigmoid(logits) - y
    return g * d / ops.size(d)


def _bce_logits_y(g, logits, y):
    return -g * logits / ops.size(logits - y)


defrule(
    "binary_cross_entropy_with_logits",
    "logits, y",
    call("binary_cross_entropy_with_logits"),
    helper=nn.binary_cross_entropy_with_logits,
    vjp={"logits": _bce_logits_x, "y": _bce_logits_y},
    jvp=_through_gradient({"logits": _bce_logits_x, "y": _bce_logits_y}),
    shape="scalar",
    broadcasts=True,
    math="B[x](v) = v (σ(x) − y) / N;  B[y](v) = −v x / N",
    examples=(
        "binary_cross_entropy_with_logits(x, y) | x: 3x2, y: 3x2 probability",
        "binary_cross_entropy_with_logits(x, y) | x: 4, y: 4 const",
    ),
)
defrule(
    "cross_entropy",
    "logits, labels",
    call("cross_entropy"),
    helper=nn.cross_entropy,
    vjp={
        "logits": lambda g, logits, labels: ops.cross_entropy_vjp(g, logits, labels),
        "labels": lambda g, logits: -g * ops.log_softmax(logits) / ops.shape(logits)[0],
    },
    jvp=_through_gradient(
        {
            "logits": lambda g, logits, labels: ops.cross_entropy_vjp(g, logits, labels),
            "labels": lambda g, logits: -g * ops.log_softmax(logits) / ops.shape(logits)[0],
        }
    ),
    shape="scalar",
    math="B[z](v) = v (softmax(z) − y) / batch, y one-hot;  B[y](v) = −v log softmax(z) / batch",
    examples=(
        "cross_entropy(z, np.array([0, 2, 1])) | z: 3x4",
        "cross_entropy(z, y) | z: 2x3, y: 2x3 probability",
    ),
)

# layer norm -----------------------------------------------------------------------------------

defrule(
    "layer_norm",
    "z, gamma, beta, eps=1e-5",
    call("layer_norm"),
    helper=nn.layer_norm,
    vjp={
        "z": lambda g, z, gamma, eps: ops.layer_norm_vjp_z(g, z, gamma, eps=eps),
        "gamma": lambda g, z, eps: g * ops.layer_norm_zhat(z, eps=eps),
        "beta": lambda g: g,
    },
    jvp={  # ẑ's Jacobian is symmetric, so its JVP is its VJP with t for v
        "z": lambda t, z, gamma, eps: gamma * ops.layer_norm_vjp_z(t, z, 1.0, eps=eps),
        "gamma": lambda t, z, eps: t * ops.layer_norm_zhat(z, eps=eps),
        "beta": _to_output,
    },
    shape="first",
    broadcasts=True,
    math=(
        "B[z](v) = (v' − mean(v') − ẑ ⊙ mean(v' ⊙ ẑ)) / √(σ² + ε), v' = γ ⊙ v;  "
        "B[γ](v) = Σ v ⊙ ẑ;  B[β](v) = Σ v (sums over the batch)"
    ),
    examples=(
        "layer_norm(z, gamma, beta) | z: 2x4, gamma: 4, beta: 4",
        "layer_norm(z, gamma, beta, eps=0.1) | z: 3, gamma: 3, beta: 3",
    ),
)
defrule(
    "layer_norm_zhat",
    "z, eps=1e-5",
    call("_layer_norm_zhat"),
    helper=nn._layer_norm_zhat,
    vjp={"z": lambda g, z, eps: ops.layer_norm_vjp_z(g, z, 1.0, eps=eps)},
    jvp=DIAGONAL,  # not diagonal, but symmetric: the VJP with t for v
    shape="first",
    math="ẑ = (z − μ) / √(σ² + ε);  B[z](v) = B[z](v) of layer_norm with γ = 1",
    examples=("_layer_norm_zhat(z) | z: 2x4", "_layer_norm_zhat(z, eps=0.5) | z: 3"),
)

# convolution and pooling ----------------------------------------------------------------------

_CONV_STATICS = "stride=1, padding='valid'"


def _conv_x(g, w, x, stride, padding):
    return ops.conv_vjp_x(g, w, x, stride=stride, padding=padding)


def _conv_w(g, x, w, stride, padding):
    return ops.conv_vjp_w(g, x, w, stride=stride, padding=padding)


defrule(
    "conv",
    "x, w, " + _CONV_STATICS,
    call("_conv"),
    helper=nn._conv,
    vjp={"x": _conv_x, "w": _conv_w},
    jvp=LINEAR,
    math="B[x](v) = transposed convolution of v with w;  B[w](v) = v correlated with x",
    examples=(
        "_conv(x, w) | x: 1x2x4x4, w: 2x2x2x2",
        "_conv(x, w, stride=2, padding='same') | x: 1x1x5, w: 2x1x3",
    ),
)
defrule(
    "conv_vjp_x",
    "ct, w, x, " + _CONV_STATICS,
    call("_conv_vjp_x"),
    helper=nn._conv_vjp_x,
    vjp={
        "ct": lambda g, w, stride, padding: ops.conv(g, w, stride=stride, padding=padding),
        "w": lambda g, ct, w, stride, padding: ops.conv_vjp_w(
            ct, g, w, stride=stride, padding=padding
        ),
    },
    jvp=LINEAR,
    math="the convolution of v with w (the transposed convolution's adjoint)",
    examples=(
        "_conv_vjp_x(ct, w, x) | ct: 1x2x3x3, w: 2x2x2x2, x: 1x2x4x4 const",
        "_conv_vjp_x(ct, w, x, stride=2, padding='same') | ct: 1x2x3, w: 2x1x3, x: 1x1x5 const",
    ),
)
defrule(
    "conv_vjp_w",
    "ct, x, w, " + _CONV_STATICS,
    call("_conv_vjp_w"),
    helper=nn._conv_vjp_w,
    vjp={
        "ct": lambda g, x, stride, padding: ops.conv(x, g, stride=stride, padding=padding),
        "x": lambda g, ct, x, stride, padding: ops.conv_vjp_x(
            ct, g, x, stride=stride, padding=padding
        ),
    },
    jvp=LINEAR,
    math="B[ct](V) = conv(x, V);  B[x](V) = transposed convolution of ct with V",
    examples=(
        "_conv_vjp_w(ct, x, w) | ct: 1x2x3x3, x: 1x2x4x4, w: 2x2x2x2 const",
        "_conv_vjp_w(ct, x, w, stride=2, padding='same') | ct: 1x2x3, x: 1x1x5, w: 2x1x3 const",
    ),
)


def _conv_nd(name, fn, bias_axes, examples):
    defrule(
        name,
        "x, w, b, " + _CONV_STATICS,
        _call_without_none(name),
        helper=fn,
        adapt=_optional_bias,
        vjp={"x": _conv_x, "w": _conv_w, "b": lambda g: ops.sum(g, axis=bias_axes)},
        jvp={
            "x": lambda t, w, stride, padding: ops.conv(t, w, stride=stride, padding=padding),
            "w": lambda t, x, stride, padding: ops.conv(x, t, stride=stride, padding=padding),
            "b": lambda t, ans: _to_output(ops.expand_dims(t, axis=bias_axes), ans),
        },
        math=(
            "B[x](v) = transposed convolution of v with w (v dilated by the stride, fully "
            "padded, correlated with the flipped kernel);  B[w](v) = v correlated with x;  "
            "B[b](v) = Σ v over batch and positions"
        ),
        examples=examples,
    )


_conv_nd(
    "conv1d",
    nn.conv1d,
    (0, 2),
    (
        "conv1d(x, w, b) | x: 2x2x5, w: 3x2x2, b: 3",
        "conv1d(x, w, stride=2) | x: 1x2x7, w: 2x2x3",
        "conv1d(x, w, b, padding='same') | x: 1x1x5, w: 2x1x3, b: 2",
        "conv1d(x, w, stride=2, padding='same') | x: 1x1x6, w: 1x1x4",
    ),
)
_conv_nd(
    "conv2d",
    nn.conv2d,
    (0, 2, 3),
    (
        "conv2d(x, w, b) | x: 1x2x4x4, w: 2x2x2x2, b: 2",
        "conv2d(x, w, stride=2) | x: 1x1x5x5, w: 2x1x3x3",
        "conv2d(x, w, b, padding='same') | x: 1x1x4x3, w: 1x1x3x2, b: 1",
        "conv2d(x, w, stride=(2, 1), padding=1) | x: 2x1x3x3, w: 1x1x2x2",
    ),
)
defrule(
    "max_pool2d",
    "x, size=2, stride=None",
    call("max_pool2d"),
    helper=nn.max_pool2d,
    vjp={"x": lambda g, x, size, stride: ops.max_pool2d_vjp(g, x, size=size, stride=stride)},
    jvp={"x": lambda t, x, size, stride: ops.max_pool2d_gather(t, x, size=size, stride=stride)},
    math="v routed to the position of each window's maximum",
    examples=(
        "max_pool2d(x) | x: 1x2x4x4",
        "max_pool2d(x, size=3, stride=2) | x: 1x1x5x5",
        "max_pool2d(x, 2, 1) | x: 2x1x3x3",
    ),
)
defrule(
    "max_pool2d_vjp",
    "ct, x, size=2, stride=None",
    call("_max_pool2d_vjp"),
    helper=nn._max_pool2d_vjp,
    vjp={"ct": lambda g, x, size, stride: ops.max_pool2d_gather(g, x, size=size, stride=stride)},
    jvp=LINEAR,
    math="v routed to the argmax of each window;  B[v](V) = V at those positions",
    examples=(
        "_max_pool2d_vjp(ct, x) | ct: 1x2x2x2, x: 1x2x4x4 const",
        "_max_pool2d_vjp(ct, x, 3, 2) | ct: 1x1x2x2, x: 1x1x5x5 const",
    ),
)
defrule(
    "max_pool2d_gather",
    "gx, x, size=2, stride=None",
    call("_max_pool2d_gather"),
    helper=nn._max_pool2d_gather,
    vjp={"gx": lambda g, x, size, stride: ops.max_pool2d_vjp(g, x, size=size, stride=stride)},
    jvp=LINEAR,
    math="V at each window's argmax;  B[V](v) = v routed back",
    examples=(
        "_max_pool2d_gather(gx, x) | gx: 1x2x4x4, x: 1x2x4x4 const",
        "_max_pool2d_gather(gx, x, 2, 1) | gx: 2x1x3x3, x: 2x1x3x3 const",
    ),
)
