"""The backward helpers of layer norm and cross-entropy, as primitives that differentiate again.

Contract: `layer_norm_vjp_z` (B[z](v) of layer norm: J(z)(γ ⊙ v), J = dẑ/dz) and
`cross_entropy_vjp` (B[z](v) of cross-entropy: v (softmax(z) Σy − y) / batch) are rules whose
VJP and JVP templates are built from primitives that have VJP and JVP templates themselves
(softmax, means, var, `layer_norm_zhat`, the helpers again, and `cross_entropy_mass`, the target
mass Σy per row), so gradients through `symgrad.nn`'s layer norm and cross-entropy can be
differentiated any number of times. Both helpers are linear in v and in γ (or in float targets
y); in z they are Hessian-vector products of a scalar (⟨ẑ(z), γ ⊙ v⟩, and the loss scaled by
v), so their Jacobians in z are symmetric: the VJP in z is the JVP in z with the cotangent for
the tangent.
"""

from symgrad import nn
from symgrad.rules.build import ops
from symgrad.rules.table import LINEAR, call, defrule


def _mean(x):
    return ops.mean(x, axis=-1, keepdims=True)


def _layer_norm_hvp(v, ans, ct, z, gamma, eps):
    """d[J(z) w](v), w = γ ⊙ ct: the Hessian of ⟨ẑ(z), w⟩ times v. With r = 1/√(σ² + ε) and
    h = ẑ, J w = r (w − mean w − h mean(w h)), dr = −r² mean(h v) and dh = J v, so
    d[J w] = (dr / r) J w − r (dh mean(w h) + h mean(w dh)); J w is the saved output."""
    w = gamma * ct
    h = ops.layer_norm_zhat(z, eps=eps)
    r = 1 / ops.sqrt(ops.var(z, axis=-1, keepdims=True) + eps)
    dh = ops.layer_norm_vjp_z(v, z, 1.0, eps=eps)
    return -r * _mean(h * v) * ans - r * (dh * _mean(w * h) + h * _mean(w * dh))


defrule(
    "layer_norm_vjp_z",
    "ct, z, gamma, eps=1e-5",
    call("_layer_norm_vjp_z"),
    helper=nn._layer_norm_vjp_z,
    vjp={
        "ct": lambda g, z, gamma, eps: gamma * ops.layer_norm_vjp_z(g, z, 1.0, eps=eps),
        "z": lambda g, ans, ct, z, gamma, eps: _layer_norm_hvp(g, ans, ct, z, gamma, eps),
        "gamma": lambda g, ct, z, gamma, eps: ops.unbroadcast(
            ct * ops.layer_norm_vjp_z(g, z, 1.0, eps=eps), ops.shape(gamma)
        ),
    },
    jvp={
        "ct": LINEAR,
        "z": lambda t, ans, ct, z, gamma, eps: _layer_norm_hvp(t, ans, ct, z, gamma, eps),
        "gamma": LINEAR,
    },
    math="B[z](v) of layer_norm;  B[v](V) = γ ⊙ J V;  B[γ](V) = Σ v ⊙ J V;  "
    "B[z](V) = the Hessian of ⟨ẑ(z), γ ⊙ v⟩ times V",
    examples=(  # z apart from ct and γ: SymPy takes minutes on the square roots otherwise
        "_layer_norm_vjp_z(ct, z, gamma) | ct: 2x4, z: 2x4 const, gamma: 4",
        "_layer_norm_vjp_z(ct, z, gamma) | ct: 2x2 const, z: 2x2, gamma: 2 const",
        "_layer_norm_vjp_z(ct, z, gamma, eps=0.1) | ct: 3 const, z: 3, gamma: 3 const",
    ),
)


def _cross_entropy_hvp(v, ct, logits, labels):
    """The derivative in z along v: c s ⊙ (v − ⟨v, s⟩), s = softmax(z), c = ct Σy / batch per
    row (softmax's Jacobian, symmetric, scaled by c)."""
    s = ops.softmax(logits)
    cs = ct * ops.cross_entropy_mass(labels, logits) / ops.shape(logits)[0] * s
    return cs * (v - ops.sum(v * s, axis=-1, keepdims=True))


def _cross_entropy_labels(g, ct, logits):
    """B[y](V) = ct (⟨V, s⟩ − V) / batch, per row, for float targets y."""
    s = ops.softmax(logits)
    return ct * (ops.sum(g * s, axis=-1, keepdims=True) - g) / ops.shape(logits)[0]


defrule(
    "cross_entropy_vjp",
    "ct, logits, labels",
    call("_cross_entropy_vjp"),
    helper=nn._cross_entropy_vjp,
    vjp={
        "ct": lambda g, logits, labels: ops.sum(g * ops.cross_entropy_vjp(1.0, logits, labels)),
        "logits": lambda g, ct, logits, labels: _cross_entropy_hvp(g, ct, logits, labels),
        "labels": _cross_entropy_labels,
    },
    jvp={
        "ct": LINEAR,
        "logits": lambda t, ct, logits, labels: _cross_entropy_hvp(t, ct, logits, labels),
        "labels": LINEAR,
    },
    math="v (softmax(z) Σy − y) / batch;  B[v](V) = ⟨V, softmax(z) Σy − y⟩ / batch;  "
    "B[z](V) = (v Σy / batch) s ⊙ (V − ⟨V, s⟩);  B[y](V) = v (⟨V, s⟩ − V) / batch",
    examples=(
        "_cross_entropy_vjp(ct, z, np.array([0, 2])) | ct: , z: 2x3",
        "_cross_entropy_vjp(ct, z, y) | ct: , z: 2x3, y: 2x3 probability",
    ),
)
defrule(
    "cross_entropy_mass",
    "labels, logits",
    call("_cross_entropy_mass"),
    helper=nn._cross_entropy_mass,
    vjp={"labels": lambda g, labels: ops.broadcast_to(g, ops.shape(labels))},
    jvp=LINEAR,
    math="Σy per row (1 for integer labels);  B[y](V) = V broadcast over the row",
    examples=("_cross_entropy_mass(y, z) | y: 2x3 probability, z: 2x3 const",),
)
