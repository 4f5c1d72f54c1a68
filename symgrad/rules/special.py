"""Special functions: log Γ and the polygamma functions, its derivatives; the error function.

Contract: `lgamma` is Python's math.lgamma (log |Γ(x)|) entry by entry, and `polygamma` with
static order n is ψ⁽ⁿ⁾, the (n + 1)-th derivative of log Γ, so each one's VJP is the next:
B[lgamma](v) = v ⊙ ψ(x), B[ψ⁽ⁿ⁾](v) = v ⊙ ψ⁽ⁿ⁺¹⁾(x), and gradients of gradients need nothing
more. Their helpers are numeric code (`numeric_helper`): the symbolic proofs run SymPy's
loggamma and polygamma in their place, and the generated tests check the helpers' numbers
against central differences.
"""

import math

from symgrad.rules import runtime
from symgrad.rules.build import ops
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
    twins=("scipy.special.digamma", "scipy.special.psi"),  # order 0, their one argument
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
