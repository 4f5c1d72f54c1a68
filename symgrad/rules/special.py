"""Special functions: log Γ and the polygamma functions, its derivatives; the error function,
its complement and the normal distribution function (scipy.special.ndtr); x log y; log Σ exp.
With SciPy installed, scipy.special's functions of the same name are theirs.

Contract: `lgamma` is Python's math.lgamma (log |Γ(x)|) entry by entry, and `polygamma` with
static order n is ψ⁽ⁿ⁾, the (n + 1)-th derivative of log Γ, so each one's VJP is the next:
B[lgamma](v) = v ⊙ ψ(x), B[ψ⁽ⁿ⁾](v) = v ⊙ ψ⁽ⁿ⁺¹⁾(x), and gradients of gradients need nothing
more (scipy.special.polygamma(n, x) takes the order first). Their helpers are numeric code
(`numeric_helper`): the symbolic proofs run SymPy's loggamma and polygamma in their place, and
the generated tests check the helpers' numbers against central differences. `xlogy` is x log y,
0 where x is 0 (scipy.special.xlogy): B[x](v) = v ⊙ log y, B[y](v) = v ⊙ x / y. `logsumexp`
is log Σ exp(a) over `axis` (every axis by default, as scipy.special.logsumexp; its weights `b`
and `return_sign` have no rule), computed shifted by the maximum: B[a](v) = v ⊙ exp(a − ans),
v and ans spread back over the reduced axes.
"""

import math

import numpy as np

from symgrad.errors import SymgradError
from symgrad.rules import runtime
from symgrad.rules.build import ops
from symgrad.rules.reductions import _spread
from symgrad.rules.table import DIAGONAL, call, defrule

_SPECIAL = {"shape": "elementwise", "broadcasts": True, "numeric_helper": True}

defrule(
    "lgamma",
    "x",
    call("_lgamma"),
    helper=runtime._lgamma,
    numpy=(math.lgamma,),
    vjp={"x": lambda g, x: g * ops.polygamma(x)},
    jvp=DIAGONAL,
    sympy=lambda sp, x: sp.loggamma(x),
    math="v ⊙ ψ(x)",
    domain={"x": "positive"},
    examples=("_lgamma(x) | x: 3x4 positive", "_lgamma(x) * x | x: f positive"),
    twins=("scipy.special.gammaln",),
    scalar="math.lgamma({0})",
    **_SPECIAL,
)
defrule(
    "polygamma",
    "x, n=0",
    call("_polygamma"),
    helper=runtime._polygamma,
    vjp={"x": lambda g, x, n: g * ops.polygamma(x, n=n + 1)},
    jvp=DIAGONAL,
    sympy=lambda sp, x, n=0: sp.polygamma(n, x),
    math="v ⊙ ψ⁽ⁿ⁺¹⁾(x)",
    domain={"x": "positive"},
    examples=(
        "_polygamma(x) | x: 3x4 positive",
        "_polygamma(x, n=1) * x | x: f positive",
        "_polygamma(x, n=2) | x: 4 positive",
    ),
    twins=(
        "scipy.special.digamma",  # order 0, their one argument
        "scipy.special.psi",
        ("scipy.special.polygamma", lambda n, x: ((x,), {"n": n})),  # the order first
    ),
    **_SPECIAL,
)
defrule(
    "erf",
    "x",
    call("_erf"),
    helper=runtime._erf,
    numpy=(math.erf,),
    vjp={"x": lambda g, x: g * (2 / math.sqrt(math.pi)) * ops.exp(-(x**2))},
    jvp=DIAGONAL,
    sympy=lambda sp, x: sp.erf(x),
    math="v ⊙ 2/√π exp(−x²)",
    examples=("_erf(x) | x: 3x4", "_erf(x) * x | x: f"),
    twins=("scipy.special.erf",),
    scalar="math.erf({0})",
    **_SPECIAL,
)


defrule(
    "erfc",
    "x",
    call("_erfc"),
    helper=runtime._erfc,
    numpy=(math.erfc,),
    vjp={"x": lambda g, x: g * (-2 / math.sqrt(math.pi)) * ops.exp(-(x**2))},
    jvp=DIAGONAL,
    sympy=lambda sp, x: sp.erfc(x),
    math="v ⊙ −2/√π exp(−x²)",
    examples=("_erfc(x) | x: 3x4", "_erfc(x) * x | x: f"),
    twins=("scipy.special.erfc",),
    scalar="math.erfc({0})",
    **_SPECIAL,
)
defrule(
    "ndtr",
    "x",
    call("_ndtr"),
    helper=runtime._ndtr,
    vjp={"x": lambda g, x: g * (1 / math.sqrt(2 * math.pi)) * ops.exp(-(x**2) / 2)},
    jvp=DIAGONAL,
    sympy=lambda sp, x: sp.erfc(-x / sp.sqrt(2)) / 2,
    math="v ⊙ exp(−x²/2) / √(2π)",
    examples=("_ndtr(x) | x: 3x4", "_ndtr(x) * x | x: f"),
    twins=("scipy.special.ndtr",),
    scalar="0.5 * math.erfc(-({0}) / math.sqrt(2.0))",
    **_SPECIAL,
)


def _xlogy(x, y):
    """x log y, and 0 where x is 0 (y = 0 too), as scipy.special.xlogy."""
    zero = np.equal(x, 0)
    out = x * np.log(np.where(zero, 1.0, y))
    return np.where(zero, 0.0 * out, out)[()]


defrule(
    "xlogy",
    "x, y",
    call("_xlogy"),
    helper=_xlogy,
    vjp={"x": lambda g, y: g * ops.log(y), "y": lambda g, x, y: g * x / y},
    jvp=DIAGONAL,
    sympy=lambda sp, x, y: x * sp.log(y),
    math="B[x](v) = v ⊙ log y;  B[y](v) = v ⊙ x / y",
    domain={"y": "positive"},
    examples=("_xlogy(x, y) | x: 3x4, y: 4 positive", "_xlogy(x, y) * x | x: f, y: f positive"),
    twins=("scipy.special.xlogy",),
    scalar="({0} * np.log({1}) if {0} != 0 else 0.0 * {1})",
    **_SPECIAL,
)


def _logsumexp(a, axis=None, keepdims=False):
    """log Σ exp(a) over `axis` (every axis: None), as scipy.special.logsumexp: shifted by
    the maximum, so that no exponential overflows (by 0 where the maximum is ±inf, which
    gives ±inf; an array of symbols has no infinite entries); of no entries, −inf (log 0, as
    NumPy's logaddexp.reduce)."""
    if np.size(a) == 0:  # (np.max of no entries raises)
        top = np.zeros(np.shape(np.sum(a, axis=axis, keepdims=True)))
    else:
        top = np.max(a, axis=axis, keepdims=True)
    if top.dtype.kind == "f":
        top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):  # log 0 = −inf where every entry is −inf
        out = np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True)) + top
    return out if keepdims else np.squeeze(out, axis=axis)[()]


def _scipy_logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """scipy.special.logsumexp's call in the rule's parameters: without weights or signs."""
    if b is not None or return_sign is not False:
        raise SymgradError(
            "scipy.special.logsumexp's b and return_sign have no rule",
            hint="Write logsumexp(a + np.log(b)) for positive weights b.",
        )
    return (a,), {"axis": axis, "keepdims": keepdims}


def _logsumexp_vjp(g, a, ans, axis, keepdims):
    return _spread(g, a, axis, keepdims) * ops.exp(a - _spread(ans, a, axis, keepdims))


def _logsumexp_jvp(t, a, ans, axis, keepdims):
    weights = ops.exp(a - _spread(ans, a, axis, keepdims))
    return ops.sum(t * weights, axis=axis, keepdims=keepdims)


defrule(
    "logsumexp",
    "a, axis=None, keepdims=False",
    call("_logsumexp"),
    helper=_logsumexp,
    vjp={"a": _logsumexp_vjp},
    jvp={"a": _logsumexp_jvp},
    shape="reduce",
    math="v ⊙ exp(a − ans) (v and ans spread over the reduced axes): softmax(a) ⊙ v",
    examples=(
        "_logsumexp(a) | a: 2x3",
        "_logsumexp(a, axis=1) | a: 3x4",
        "_logsumexp(a, axis=(0, 2), keepdims=True) | a: 2x2x2",
        "_logsumexp(a, -1) * a[..., 0] | a: 2x3",
    ),
    twins=(("scipy.special.logsumexp", _scipy_logsumexp),),
)
