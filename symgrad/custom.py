"""Custom derivatives with JAX's conventions: `custom_vjp` and `custom_jvp`.

Contract: `custom_vjp(f)` (a decorator) wraps f in an object that calls f as Python does and
takes its derivative from `f.defvjp(f_fwd, f_bwd)`: `f_fwd(*args) -> (y, residuals)` computes
the value and what the backward pass needs, `f_bwd(residuals, g) -> (one cotangent per
argument)`. `custom_jvp(f)` takes it from `f.defjvp(f_jvp)` (also a decorator):
`f_jvp(primals, tangents) -> (y, tangent)`, the tangent linear in the tangents. With
`nondiff_argnums`, those arguments are not differentiated and come first to `f_bwd` and
`f_jvp` (`f_bwd(*nondiff_args, residuals, g)`, `f_jvp(*nondiff_args, primals, tangents)`),
the others in order. The rule's functions are read from source and inlined into the emitted
code like any other code symgrad reads, wherever a differentiated function calls f and in
`symgrad.grad(f)` itself (`symgrad.frontend.custom`, `symgrad.rules.custom`).

As in JAX, forward mode refuses a custom_vjp function (forward over reverse, `hessian` and
`hvp`, does not: the gradient differentiates through f_fwd and f_bwd), and reverse mode
transposes a custom_jvp rule. A derivative taken of a derivative differentiates the rule's
functions as ordinary code.
"""

from __future__ import annotations

import functools
import inspect
import types
from typing import Any, Callable

from symgrad.errors import SymgradError


def _function(fn: Any, what: str) -> Callable:
    """fn, which must be a Python function (symgrad reads its source)."""
    if not isinstance(fn, types.FunctionType):
        raise SymgradError(
            f"{what} must be a Python function defined with def, not a {type(fn).__name__}",
            hint="symgrad reads the rule's source and inlines it into the emitted code.",
        )
    return fn


def _nondiff(fun: Callable, nums: tuple[int, ...], what: str) -> tuple[int, ...]:
    n = len(inspect.signature(fun).parameters)
    if not isinstance(nums, (tuple, list)) or not all(
        isinstance(k, int) and not isinstance(k, bool) and -n <= k < n for k in nums
    ):
        raise SymgradError(
            f"{what} of {fun.__qualname__}: nondiff_argnums must be a tuple of argument "
            f"positions (it has {n} parameters), not {nums!r}"
        )
    return tuple(sorted({k % n for k in nums}))


class _Custom:
    """What both kinds share: the plain call, the wrapped function and the argument roles."""

    symgrad_custom = ""  # "vjp" or "jvp": how symgrad.frontend.custom lowers a call

    def __init__(self, fun: Callable, nondiff_argnums: tuple[int, ...] = ()):
        what = f"custom_{self.symgrad_custom}"
        self.fun = _function(fun, f"the function {what} wraps")
        functools.update_wrapper(self, fun)
        self.nondiff_argnums = _nondiff(fun, nondiff_argnums, what)

    def __call__(self, *args, **kwargs) -> Any:
        return self.fun(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<symgrad custom_{self.symgrad_custom} of {self.fun.__qualname__}>"


class custom_vjp(_Custom):  # lower case: JAX's name
    """`@symgrad.custom_vjp` on f, then `f.defvjp(f_fwd, f_bwd)`: see the module docstring."""

    symgrad_custom = "vjp"

    def __init__(self, fun: Callable, nondiff_argnums: tuple[int, ...] = ()):
        super().__init__(fun, nondiff_argnums)
        self.fwd: Callable | None = None
        self.bwd: Callable | None = None

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        """Give f its derivative: `fwd(*args) -> (y, residuals)`, `bwd(residuals, g) ->`
        one cotangent per argument (a tuple, even of one; None for a zero one)."""
        name = self.fun.__qualname__
        _function(fwd, f"the forward function of {name}'s custom_vjp rule")
        _function(bwd, f"the backward function of {name}'s custom_vjp rule")
        self.fwd, self.bwd = fwd, bwd


class custom_jvp(_Custom):
    """`@symgrad.custom_jvp` on f, then `@f.defjvp` on `f_jvp`: see the module docstring."""

    symgrad_custom = "jvp"

    def __init__(self, fun: Callable, nondiff_argnums: tuple[int, ...] = ()):
        super().__init__(fun, nondiff_argnums)
        self.jvp: Callable | None = None

    def defjvp(self, jvp: Callable) -> Callable:
        """Give f its derivative: `jvp(primals, tangents) -> (y, tangent)`, primals and
        tangents tuples with one entry per argument. Returns `jvp` (a decorator)."""
        self.jvp = _function(jvp, f"the JVP function of {self.fun.__qualname__}'s custom_jvp")
        return jvp
