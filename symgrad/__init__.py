"""symgrad: source-to-source differentiation of Python/NumPy functions.

`grad`, `value_and_grad` and `vjp` read a function's source, build an IR graph, apply the rule
table's backward functions and emit a standalone NumPy module computing the derivative.
"""

from symgrad.api import Compiled, emit_module, grad, value_and_grad, vjp
from symgrad.check import check_grads
from symgrad.errors import (
    NotDifferentiableError,
    SourceUnavailableError,
    SymgradError,
    UnknownCallableError,
    UnsupportedSyntaxError,
)

__version__ = "0.1.0"

__all__ = [
    "Compiled",
    "NotDifferentiableError",
    "SourceUnavailableError",
    "SymgradError",
    "UnknownCallableError",
    "UnsupportedSyntaxError",
    "check_grads",
    "emit_module",
    "grad",
    "value_and_grad",
    "vjp",
]
