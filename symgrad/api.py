"""The public API: grad, value_and_grad, vjp, jvp, linearize, emit_module, the compiled object.

Contract: each entry point lowers the user's function once (lazily, on first use), runs the
reverse (or, for `jvp` and `linearize`, the forward) and simplify passes, emits and loads a
standalone module, and caches the result per
(function, argnums, kind); a failed compilation caches nothing. Calls bind arguments with the
user function's own signature (defaults included), refuse gradients for non-float arguments, and
return gradients with the shape and dtype of the arguments they belong to.
"""

from __future__ import annotations

import inspect
import types
import weakref
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from symgrad.emit import emit_module as _emit
from symgrad.emit import load
from symgrad.errors import NotDifferentiableError, SourceUnavailableError, SymgradError
from symgrad.frontend import lower
from symgrad.ir import Graph
from symgrad.passes import forward, reverse, simplify

_CACHE: "weakref.WeakKeyDictionary[Callable, dict]" = weakref.WeakKeyDictionary()


@dataclass
class _Artifact:
    source: str
    graph: Graph
    fn: Callable


def _normalise_argnums(fn: Callable, argnums) -> tuple[tuple[int, ...], bool]:
    """(argnums as a tuple, whether the caller asked for a single int)."""
    single = isinstance(argnums, int) and not isinstance(argnums, bool)
    nums = (argnums,) if single else tuple(argnums)
    params = inspect.signature(fn).parameters.values()
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        lower(fn)  # refuses *args/**kwargs, naming the file and line
    n = len(params)
    for k in nums:
        if not isinstance(k, int) or isinstance(k, bool) or not -n <= k < n:
            raise SymgradError(
                f"argnums {argnums!r} does not fit {fn.__qualname__}, which has "
                f"{n} parameter{'s' * (n != 1)}"
            )
    return tuple(k % n for k in nums), single


def _compile(fn: Callable, argnums: tuple[int, ...], kind: str) -> _Artifact:
    key = (kind, argnums)
    cached = _CACHE.get(fn, {}).get(key)
    if cached is not None:
        return cached
    fwd = lower(fn)
    if kind == "jvp":
        graph = forward(fwd, list(argnums))
        floats = [graph.params[k] for k in argnums] + graph.params[len(fwd.params) :]
    else:
        graph = reverse(
            fwd,
            list(argnums),
            seed="param" if kind == "vjp" else "one",
            with_value=kind == "value_and_grad",
        )
        floats = [graph.params[k] for k in argnums]
    simplify(graph, floats)
    name = f"{kind}_{fwd.name}"
    wrt = ", ".join(fwd[fwd.params[k]].name for k in argnums)
    what = {
        "grad": "Gradient",
        "value_and_grad": "Value and gradient",
        "vjp": "Vector-Jacobian product",
        "jvp": "Jacobian-vector product",
    }[kind]
    params = ", ".join(fwd[p].name for p in fwd.params)
    source = _emit(graph, name, f"{what} of {fwd.name}({params}) with respect to {wrt}.")
    artifact = _Artifact(source, graph, load(source, name))
    _CACHE.setdefault(fn, {})[key] = artifact  # only a finished compilation is cached
    return artifact


def _check_differentiable(fn: Callable, values: list, argnums: tuple[int, ...]) -> None:
    names = list(inspect.signature(fn).parameters)
    for k in argnums:
        v = values[k]
        dtype = getattr(v, "dtype", None)
        ok = isinstance(v, float) or (dtype is not None and np.dtype(dtype).kind == "f")
        if not ok:
            kind = f"a {type(v).__name__}" if dtype is None else f"an array of {dtype}"
            raise NotDifferentiableError(
                f"cannot differentiate {fn.__qualname__} with respect to argument "
                f"{names[k]!r}: it is {kind}, not a float or a float array",
                hint="Pass floats (np.asarray(x, dtype=float)), or leave it out of argnums.",
            )


def _bind(fn: Callable, args: tuple, kwargs: dict) -> list:
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except TypeError as e:
        raise SymgradError(f"bad arguments for {fn.__qualname__}: {e}") from None
    bound.apply_defaults()
    return list(bound.arguments.values())


def _call(artifact: _Artifact, fn: Callable, values: list) -> Any:
    try:
        return artifact.fn(*values)
    except ValueError as e:
        tb = e.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None and tb.tb_frame.f_code.co_name == "_check_scalar":
            raise NotDifferentiableError(f"{fn.__qualname__}: {e}") from None
        raise


class Compiled:
    """A differentiated function: call it, read `.source`, inspect `.graph`, `.save(path)`."""

    def __init__(self, fn: Callable, argnums, kind: str):
        if not isinstance(fn, types.FunctionType):
            what = getattr(fn, "__name__", type(fn).__name__)
            raise SourceUnavailableError(
                f"cannot differentiate {what}: it is a {type(fn).__name__}, not a Python function "
                "with source",
                hint=f"Wrap it in a `def` in a source file: def f(x): return np.sum({what}(x)).",
            )
        self.fn = fn
        self.kind = kind
        self.argnums, self._single = _normalise_argnums(fn, argnums)
        self.__name__ = f"{kind}_{getattr(fn, '__name__', 'f')}"
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    @property
    def _artifact(self) -> _Artifact:
        return _compile(self.fn, self.argnums, self.kind)

    @property
    def source(self) -> str:
        """The emitted module, as text."""
        return self._artifact.source

    @property
    def graph(self) -> Graph:
        """The IR the source was emitted from (`.nx` is the networkx graph)."""
        return self._artifact.graph

    def save(self, path: str) -> str:
        """Write the emitted module to `path`; it imports only NumPy. Returns the source."""
        with open(path, "w") as f:
            f.write(self.source)
        return self.source

    def __call__(self, *args, **kwargs):
        values = _bind(self.fn, args, kwargs)
        _check_differentiable(self.fn, values, self.argnums)
        result = _call(self._artifact, self.fn, values)
        if self.kind == "value_and_grad":
            value, *grads = result
            return value, grads[0] if self._single else tuple(grads)
        if self._single:
            return result
        return result if isinstance(result, tuple) else (result,)

    def __repr__(self) -> str:
        return f"<symgrad {self.kind} of {self.fn.__qualname__} argnums={self.argnums}>"


def _decorator(kind: str, fun: Callable | None, argnums) -> Any:
    if fun is None:
        return lambda f: Compiled(f, argnums, kind)
    if not callable(fun):
        raise SymgradError(f"{kind} expects a function, got {type(fun).__name__}")
    return Compiled(fun, argnums, kind)


def grad(fun: Callable | None = None, argnums: int | tuple[int, ...] = 0) -> Any:
    """The gradient of a scalar-valued `fun` with respect to the arguments `argnums`.

    Use as `grad(f)`, `grad(f, argnums=(0, 1))`, `@grad` or `@grad(argnums=1)`. An int argnums
    gives one gradient, a tuple a tuple of gradients, each shaped and typed like its argument.
    """
    return _decorator("grad", fun, argnums)


def value_and_grad(fun: Callable | None = None, argnums: int | tuple[int, ...] = 0) -> Any:
    """Like `grad`, but the call returns `(fun(*args), gradient)`."""
    return _decorator("value_and_grad", fun, argnums)


def vjp(fun: Callable, *primals) -> tuple[Any, Callable]:
    """`(fun(*primals), vjp_fn)` where `vjp_fn(ct)` returns one cotangent per primal.

    Cotangents are computed for the float primals; non-float primals get None.
    """
    values = list(primals)
    floats = tuple(
        k
        for k, v in enumerate(values)
        if isinstance(v, float) or np.dtype(getattr(v, "dtype", object)).kind == "f"
    )
    out = fun(*primals)
    if not floats:
        raise NotDifferentiableError(f"vjp of {fun.__qualname__}: no float argument")
    compiled = Compiled(fun, floats, "vjp")

    def vjp_fn(ct):
        if np.shape(ct) != np.shape(out):
            raise SymgradError(
                f"vjp of {fun.__qualname__}: the cotangent has shape "
                f"{np.shape(ct)}, but the output has shape {np.shape(out)}"
            )
        result = _call(compiled._artifact, fun, values + [ct])
        result = result if isinstance(result, tuple) else (result,)
        it = iter(result)
        return tuple(next(it) if k in floats else None for k in range(len(values)))

    vjp_fn.source = compiled.source  # type: ignore[attr-defined]
    vjp_fn.graph = compiled.graph  # type: ignore[attr-defined]
    return out, vjp_fn


def _is_float(v) -> bool:
    return isinstance(v, float) or np.dtype(getattr(v, "dtype", object)).kind == "f"


def _tangent_like(fun: Callable, k: int, primal, tangent):
    """The tangent as an argument of the emitted code: the primal's shape and dtype."""
    if np.shape(tangent) != np.shape(primal):
        raise SymgradError(
            f"jvp of {fun.__qualname__}: the tangent of argument {k} has shape "
            f"{np.shape(tangent)}, but the argument has shape {np.shape(primal)}"
        )
    if isinstance(primal, float):
        return float(tangent)
    if isinstance(primal, np.generic):
        return primal.dtype.type(tangent)
    return np.asarray(tangent, dtype=primal.dtype)


def _jvp_call(fun: Callable, primals: tuple, tangents: tuple) -> tuple[Any, Any, str]:
    """(primal_out, tangent_out, emitted source)."""
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise SymgradError(
            f"jvp of {fun.__qualname__}: {len(primals)} primals but {len(tangents)} tangents "
            "(give one tangent per positional argument; None for those not differentiated)"
        )
    nums = tuple(
        k for k, (p, t) in enumerate(zip(primals, tangents)) if _is_float(p) and t is not None
    )
    compiled = Compiled(fun, nums, "jvp")
    ts = [_tangent_like(fun, k, primals[k], tangents[k]) for k in nums]
    _bind(fun, primals, {})  # the same argument errors as a plain call
    out, out_dot = _call(compiled._artifact, fun, list(primals) + ts)
    return out, out_dot, compiled.source


def jvp(fun: Callable, primals, tangents) -> tuple[Any, Any]:
    """`(fun(*primals), J tangents)`: the Jacobian-vector product, by emitted forward-mode code.

    As in JAX, `primals` and `tangents` are tuples with one entry per positional argument. Float
    arguments (Python floats, float arrays) are differentiated along their tangent, which is
    cast to the argument's dtype and must have its shape; the tangents of other arguments are
    ignored, and None for a float argument means a zero tangent (nothing is computed for it).
    The tangent output has the primal output's shape and dtype. The emitted module is
    `symgrad.Compiled(fun, argnums, "jvp").source` (or `linearize(...)[1].source`).
    """
    out, out_dot, _ = _jvp_call(fun, primals, tangents)
    return out, out_dot


def linearize(fun: Callable, *primals) -> tuple[Any, Callable]:
    """`(fun(*primals), f_jvp)` where `f_jvp(*tangents)` is `jvp(fun, primals, tangents)[1]`.

    `f_jvp` has `.source` (the emitted forward-mode module, differentiating every float argument)
    and `.graph`. Unlike JAX's, it runs the forward computation again on each call.
    """
    out = fun(*primals)
    floats = tuple(k for k, p in enumerate(primals) if _is_float(p))
    if not floats:
        raise NotDifferentiableError(f"linearize of {fun.__qualname__}: no float argument")
    compiled = Compiled(fun, floats, "jvp")

    def f_jvp(*tangents):
        if len(tangents) != len(primals):
            raise SymgradError(
                f"linearize of {fun.__qualname__}: {len(tangents)} tangents for "
                f"{len(primals)} arguments"
            )
        ts = [_tangent_like(fun, k, primals[k], tangents[k]) for k in floats]
        return _call(compiled._artifact, fun, list(primals) + ts)[1]

    f_jvp.source = compiled.source  # type: ignore[attr-defined]
    f_jvp.graph = compiled.graph  # type: ignore[attr-defined]
    return out, f_jvp


def emit_module(
    fun: Callable, path: str | None = None, argnums: int | tuple[int, ...] = 0, kind: str = "grad"
) -> str:
    """The emitted gradient module of `fun` as text; also written to `path` when given."""
    compiled = Compiled(fun, argnums, kind)
    return compiled.save(path) if path else compiled.source
