"""symgrad: source-to-source differentiation of Python/NumPy functions.

`grad`, `value_and_grad` and `vjp` read a function's source, build an IR graph, apply the rule
table's backward functions and emit a standalone NumPy module computing the derivative; `jvp`
and `linearize` do the same in forward mode, from the table's JVP rules; `jacfwd`, `jacrev`,
`jacobian`, `hessian` and `hvp` compose the two, and gradients can be differentiated again.
"""

from symgrad import tree
from symgrad.api import Compiled, emit_module, grad, jit, value_and_grad, vjp
from symgrad.checks import CheckReport, check, check_grads, verify_rules
from symgrad.custom import custom_jvp, custom_vjp
from symgrad.errors import (
    NotDifferentiableError,
    SourceUnavailableError,
    SymgradError,
    UnknownCallableError,
    UnsupportedSyntaxError,
)
from symgrad.mapping import vmap
from symgrad.rules.nondiff import stop_gradient
from symgrad.transforms import hessian, hvp, jacfwd, jacobian, jacrev, jvp, linearize

__version__ = "0.1.0"

__all__ = [
    "CheckReport",
    "Compiled",
    "NotDifferentiableError",
    "SourceUnavailableError",
    "SymgradError",
    "UnknownCallableError",
    "UnsupportedSyntaxError",
    "check",
    "check_grads",
    "custom_jvp",
    "custom_vjp",
    "emit_module",
    "grad",
    "hessian",
    "hvp",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jit",
    "jvp",
    "linearize",
    "stop_gradient",
    "tree",
    "value_and_grad",
    "verify_rules",
    "vjp",
    "vmap",
]
