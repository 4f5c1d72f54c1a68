"""Forward mode and higher order: jvp, linearize, hvp, jacfwd, jacrev, jacobian, hessian.

Contract: each is built from the same passes as `grad` (symgrad.api): `jvp` and `linearize` emit
forward-mode code; `jacfwd` and `jacrev` emit a module holding its JVPs or its VJP (and the function
where the driver needs it) and a driver that assembles the Jacobian (shape `out.shape + x.shape`)
from one batched call for all unit seeds, or one call per seed where a loop or branch cannot
batch; `hessian` is `jacfwd` of `grad` and `hvp` is `jvp` of `grad` (forward over reverse), so
higher derivatives are the first-order passes run on emitted gradient graphs. Transformations of
`symgrad.grad(...)` objects compose: `grad(grad(f))`, `jvp(grad(f), ...)`.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from typing import Any, Callable

import numpy as np

from symgrad.api import (
    _AS_GIVEN,
    Compiled,
    Derivative,
    Learnt,
    _bind,
    _run,
    _static,
    as_tuple,
    copies,
    grad,
    inlined,
    run_on_copies,
    signature_key,
    specialised,
)
from symgrad.containers import differentiable, real_arrays, tangent_leaves
from symgrad.errors import NotDifferentiableError, SymgradError
from symgrad.frontend.lower import Layout
from symgrad.frontend.nested import Inline


def _tangent_like(fun: Callable, where: str, primal, tangent):
    """The tangent as an argument of the emitted code: the primal's shape and dtype."""
    if type(primal) is float and type(tangent) in (float, int):  # (the common case, first)
        return float(tangent)
    if np.shape(tangent) != np.shape(primal):
        raise SymgradError(
            f"jvp of {fun.__qualname__}: the tangent of {where} has shape "
            f"{np.shape(tangent)}, but the argument has shape {np.shape(primal)}"
        )
    if isinstance(primal, float):
        return float(tangent)
    if isinstance(primal, np.generic):
        return primal.dtype.type(tangent)
    return np.asarray(tangent, dtype=primal.dtype)


def _paired(fun: Callable, primals, tangents) -> tuple[tuple, tuple]:
    """jvp's primals and tangents as tuples of one length."""
    primals = as_tuple("the primals", primals, "jvp(f, (x,), (v,))")
    tangents = as_tuple("the tangents", tangents, "jvp(f, (x,), (v,))")
    if len(primals) != len(tangents):
        raise SymgradError(
            f"jvp of {getattr(fun, '__qualname__', fun)}: {len(primals)} primals but "
            f"{len(tangents)} tangents (give one tangent per positional argument; None for "
            "those not differentiated)"
        )
    real_arrays(primals, f"an argument of {getattr(fun, '__qualname__', fun)}")
    return primals, tangents


class _Forward:
    """The forward-mode module of fun differentiating the arguments `nums` (containers
    flattened, compiled for their structure), called on primals and their tangents."""

    def __init__(self, fun: Callable, nums: tuple[int, ...], backend: str):
        self.fun, self.nums = fun, nums
        self.compiled = Compiled(fun, nums, "jvp", backend=backend)
        params = inspect.signature(self.compiled.fn).parameters.values()
        positional = all(p.kind == p.POSITIONAL_OR_KEYWORD for p in params)
        self.arity = len(params) if positional and self.compiled.bound is None else None

    def __call__(
        self, primals: tuple, tangents: tuple, fast: _Fast | None, at: tuple | None = None
    ) -> tuple[Any, Any]:
        """(outputs, their tangents), in the output's structure. The module specialised for
        these arguments goes to `fast` where it ran on them as they were given, so that a
        call with arguments of their types skips the binding, flattening and casting. `at`:
        what `Compiled.on_leaves` gave for the primals once (linearize's point: the module
        compiled then, whatever the function reads changing since)."""
        leaves, pairs, artifact = at or self.compiled.on_leaves(primals)
        trees = dict(pairs)
        ts = []
        for k, at in zip(self.nums, self.compiled.argnums):  # (a method's self comes first)
            cast = lambda where, p, t, k=k: _tangent_like(self.fun, f"argument {k}{where}", p, t)  # noqa: E731
            ts += tangent_leaves(primals[k], tangents[k], trees.get(at), cast)
        values = leaves + ts
        module = specialised(artifact, values)
        result = _run(module, self.compiled.fn, values)
        if fast is not None and self._as_given(primals, tangents, ts) and not artifact.free:
            as_is = artifact.out is None and len(result) == 2  # (one output and its tangent)
            entry = (self, artifact, module, as_is)
            fast.learn(primals + tangents, artifact.shape_ints or (), entry)
        return _outputs(result, artifact.out)

    def _as_given(self, primals: tuple, tangents: tuple, ts: list) -> bool:
        """Whether the module's arguments were the primals, then the tangents, as given:
        every argument there, each a float (Python's or NumPy's: a result of an earlier call),
        an int or an array, each tangent one the cast kept. (Not a NumPy int: its value, which
        may decide a length, is no part of the key.)"""
        return (
            len(primals) == self.arity
            and not self.compiled._constants  # (an int compiled as a constant is no argument)
            and all(type(p) is int or type(p) in _AS_GIVEN for p in primals)
            and all(t is tangents[k] for k, t in zip(self.nums, ts))
        )


class _Fast(Learnt):
    """The jvp modules of one function by the types of the latest calls' arguments
    (`signature_key` of primals and tangents, as a compiled call's fast path keys them): a
    call with arguments of those types, nothing the function read changed since, runs its
    module on them directly. Learnt only from calls whose module ran on the arguments as
    given (`_Forward._as_given`): none of them needs a cast or a check. An entry: (its
    _Forward, the artifact, the specialised module, whether what the module returns is the
    result as it is: `(out, out_dot)`)."""

    def __call__(self, primals: tuple, tangents: tuple, frozen=False) -> tuple[Any, Any] | None:
        """The call's result, where an entry serves it (`frozen`: whether or not what the
        function reads changed since: linearize's, whose entries are its point's module)."""
        hit = self.entries.get(signature_key(primals + tangents, self.shape_ints))
        if hit is None or not (frozen or hit[1].reads.fresh()):
            return None
        forward, artifact, module, as_is = hit
        nums = forward.nums  # (all of them where there are as many: a subset of the positions)
        picked = tangents if len(nums) == len(tangents) else tuple(tangents[k] for k in nums)
        result = _run(module, forward.compiled.fn, primals + picked)
        return result if as_is else _outputs(result, artifact.out)


_FORWARDS: OrderedDict = OrderedDict()  # (fun, nums, backend) -> its _Forward, the latest 64
_FAST: OrderedDict = OrderedDict()  # (fun, backend) -> its _Fast, the latest 64


def _jvp_compiled(
    fun: Callable, primals: tuple, tangents: tuple, backend: str, fast: _Fast | None
) -> tuple[Any, Any]:
    """(primal_out, tangent_out) of a `jvp` call that is not on `fast`'s path (the fast
    entries of fun, if any yet): its module found (compiled where it is new) and learnt for
    calls like it."""
    primals, tangents = _paired(fun, primals, tangents)
    nums = tuple(
        k
        for k, (p, t) in enumerate(zip(primals, tangents))
        if t is not None and (type(p) is float or differentiable(p))
    )
    key = (fun, nums, backend)
    try:
        forward = _FORWARDS.pop(key)
    except KeyError:
        forward = _Forward(fun, nums, backend)
    except TypeError:  # (an unhashable callable)
        return _Forward(fun, nums, backend)(primals, tangents, None)
    _FORWARDS[key] = forward
    if fast is None:
        fast = _FAST[(fun, backend)] = _Fast()
    for table in (_FORWARDS, _FAST):
        if len(table) > 64:
            table.popitem(last=False)
    return forward(primals, tangents, fast)


def _outputs(result: tuple, layout: Layout | None) -> tuple[Any, Any]:
    """(outputs, tangents) from the emitted `(*outputs, *tangents)`: one each, or tuples (the
    gradients of several arguments, and their tangents), or the function's container and its
    tangent in the container's structure (`layout`)."""
    if layout is not None:
        n = layout.n_outputs
        return layout.build(result[:n]), layout.build(result[n:], constants=False)
    n = len(result) // 2
    return (result[0], result[1]) if n == 1 else (result[:n], result[n:])


def jvp(fun: Callable, primals, tangents, *, backend: str = "numpy") -> tuple[Any, Any]:
    """`(fun(*primals), J tangents)`: the Jacobian-vector product, by emitted forward-mode code.

    As in JAX, `primals` and `tangents` are tuples with one entry per positional argument. Float
    arguments (Python floats, float arrays) are differentiated along their tangent, which is
    cast to the argument's dtype and must have its shape; the tangents of other arguments are
    ignored, and None for a float argument means a zero tangent (nothing is computed for it).
    A container argument's tangent has its structure (None at a leaf: a zero tangent), and a
    container output's tangent comes in its structure (None at leaves that are no float).
    The tangent output has the primal output's shape and dtype. The emitted module is
    `symgrad.Compiled(fun, argnums, "jvp").source` (or `linearize(...)[1].source`).
    `backend` as in `symgrad.grad`.
    """
    fast = None
    if type(primals) is tuple and type(tangents) is tuple:  # (the common case, first)
        try:
            fast = _FAST.get((fun, backend))
        except TypeError:  # (an unhashable callable)
            pass
        if fast is not None:
            result = fast(primals, tangents)
            if result is not None:
                return result
    return _jvp_compiled(fun, primals, tangents, backend, fast)


def _jvp_inline(args: tuple, kwargs: dict) -> Inline:
    """`symgrad.jvp(fun, primals, tangents)` inside a differentiated function (nested AD,
    `symgrad.frontend.nested`): the forward-mode graph, bound to the primals and tangents."""
    bound = inspect.signature(jvp).bind(*args, **kwargs)
    fun, primals, tangents = bound.args
    primals, tangents = _paired(fun, primals, tangents)
    nums = tuple(k for k, t in enumerate(tangents) if t is not None)
    arguments = _bind(fun, primals, {}) + [tangents[k] for k in nums]
    artifact = Compiled(fun, nums, "jvp")._artifact
    return inlined(artifact, fun, arguments, lambda o: _outputs(tuple(o), artifact.out))


jvp.symgrad_inline = _jvp_inline  # type: ignore[attr-defined]


def linearize(fun: Callable, *primals, backend: str = "numpy") -> tuple[Any, Derivative]:
    """`(fun(*primals), f_jvp)` where `f_jvp(*tangents)` is `jvp(fun, primals, tangents)[1]`.

    `f_jvp` has `.source` (the emitted forward-mode module, differentiating every float argument)
    and `.graph`. As JAX's, it is the derivative at the point: the module compiled when
    linearize was called, with the globals its function read and a method's self as they were
    then (a global changed later changes nothing, as for vjp's function). Unlike JAX's, it runs
    the forward computation again on each call, at the primals as they were given (copies:
    changing an array in place later changes nothing either).
    """
    primals = copies(primals)
    out = run_on_copies(fun, primals)
    floats = tuple(k for k, p in enumerate(primals) if differentiable(p))
    if not floats:
        raise NotDifferentiableError(f"linearize of {fun.__qualname__}: no float argument")
    module = _Forward(fun, floats, backend)
    leaves, pairs, artifact = module.compiled.on_leaves(primals)
    at = (list(copies(leaves)), pairs, artifact)  # (the arrays read from outside, as now)
    fast = _Fast()

    def call(*tangents):
        result = fast(primals, tangents, frozen=True)
        if result is not None:
            return result[1]
        if len(tangents) != len(primals):
            raise SymgradError(
                f"linearize of {fun.__qualname__}: {len(tangents)} tangents for "
                f"{len(primals)} arguments"
            )
        return module(primals, tangents, fast, at)[1]

    return out, Derivative("f_jvp", module.compiled, call, at[2])


def hvp(fun: Callable, primals, tangents, *, backend: str = "numpy") -> Any:
    """The Hessian of scalar `fun` (with respect to its first argument) times the tangent:
    `jvp(grad(fun), primals, tangents)[1]`, by emitted forward-over-reverse code (the gradient's
    tangent), without forming the Hessian. As in `jvp`, one tangent per positional argument."""
    return jvp(grad(fun), primals, tangents, backend=backend)[1]


@_static
def jacfwd(fun: Callable, argnums: int | tuple[int, ...] = 0, backend: str = "numpy") -> Compiled:
    """The Jacobian of `fun` by forward mode, a tangent per entry of the argument: shape
    `out.shape + x.shape` (a tuple of Jacobians for tuple `argnums`). Cheap for few inputs.
    Its module is specialised for the arguments' shapes and dtypes, as `jvp`'s is (but for
    containers of arguments or outputs). With `backend="numba"`, the JVPs' loops and
    elementwise work run compiled, as a gradient's do (the driver assembling the Jacobian
    stays Python)."""
    return Compiled(fun, argnums, "jacfwd", backend=backend)


@_static
def jacrev(fun: Callable, argnums: int | tuple[int, ...] = 0, backend: str = "numpy") -> Compiled:
    """The Jacobian of `fun` by reverse mode, a cotangent per entry of the output: shape
    `out.shape + x.shape` (a tuple of Jacobians for tuple `argnums`). Cheap for few outputs.
    Its module is specialised, and with `backend="numba"` compiled, as `jacfwd`'s is."""
    return Compiled(fun, argnums, "jacrev", backend=backend)


jacobian = jacrev


@_static
def hessian(fun: Callable, argnums: int | tuple[int, ...] = 0, backend: str = "numpy") -> Compiled:
    """The Hessian of scalar `fun`: `jacfwd(grad(fun, argnums), argnums)`, shape `x.shape +
    x.shape`; for tuple `argnums`, a tuple of tuples of blocks `H[i][j]` (d² f / dxᵢ dxⱼ)."""
    return jacfwd(grad(fun, argnums), argnums, backend)
