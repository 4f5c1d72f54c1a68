"""Special functions that are compositions of the rule table's (`symgrad.frontend.composites`):
Γ and the beta function, by log Γ (`lgamma`); the logit and the log of the logistic function.
The SciPy ones are registered once the user's code has imported `scipy.special`.

Contract: `math.gamma(x)` and `scipy.special.gamma(x)` are `s · exp(lgamma(x))`, s the sign of
Γ(x) (−1 where x < 0 and ⌊−x⌋ is even), whose derivative is 0, so B(v) = v ⊙ Γ(x) ψ(x);
`scipy.special.betaln(a, b)` is `lgamma(a) + lgamma(b) − lgamma(a + b)` and `beta(a, b)` its
exp (of positive a and b: the sign of SciPy's for others is not taken); `scipy.special.logit(p)`
is `log(p) − log1p(−p)`; `scipy.special.log_expit(x)` is `−logaddexp(0, −x)`, finite for every
x. The values are SciPy's (and Python's) up to rounding.
"""

from __future__ import annotations

import ast
import math
from typing import TYPE_CHECKING, Any

from symgrad.frontend.composites import composite

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer


@composite(math.gamma)
@composite("scipy.special.gamma")
def _gamma(lw: _Lowerer, e: ast.AST, x) -> Any:
    turns = lw.call_rule("floor", (lw.call_rule("negative", (x,), {}, e),), {}, e)
    even = lw.call_rule("equal", (lw.binop(ast.Mod(), turns, 2, e), 0), {}, e)
    below = lw.call_rule("logical_and", (lw.call_rule("less", (x, 0), {}, e), even), {}, e)
    sign = lw.call_rule("where", (below, -1.0, 1.0), {}, e)
    magnitude = lw.call_rule("exp", (lw.call_rule("lgamma", (x,), {}, e),), {}, e)
    return lw.binop(ast.Mult(), sign, magnitude, e)


@composite("scipy.special.betaln")
def _betaln(lw: _Lowerer, e: ast.AST, a, b) -> Any:
    whole = lw.call_rule("lgamma", (lw.binop(ast.Add(), a, b, e),), {}, e)
    parts = lw.binop(ast.Add(), *(lw.call_rule("lgamma", (v,), {}, e) for v in (a, b)), e)
    return lw.binop(ast.Sub(), parts, whole, e)


@composite("scipy.special.beta")
def _beta(lw: _Lowerer, e: ast.AST, a, b) -> Any:
    return lw.call_rule("exp", (_betaln(lw, e, a, b),), {}, e)


@composite("scipy.special.logit")
def _logit(lw: _Lowerer, e: ast.AST, x) -> Any:
    complement = lw.call_rule("log1p", (lw.call_rule("negative", (x,), {}, e),), {}, e)
    return lw.binop(ast.Sub(), lw.call_rule("log", (x,), {}, e), complement, e)


@composite("scipy.special.log_expit")
def _log_expit(lw: _Lowerer, e: ast.AST, x) -> Any:
    minus = lw.call_rule("negative", (x,), {}, e)
    return lw.call_rule("negative", (lw.call_rule("logaddexp", (0.0, minus), {}, e),), {}, e)
