"""The public API: grad, value_and_grad, vjp, emit_module, and the compiled-function object.

Contract: each entry point lowers the user's function once (lazily, on first use), runs the
reverse and simplify passes, emits and loads a standalone module, and caches the result per
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
from symgrad.passes import reverse, simplify

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
    graph = reverse(
        fwd,
        list(argnums),
        seed="param" if kind == "vjp" else "one",
        with_value=kind == "value_and_grad",
    )
    simplify(graph, [graph.params[k] for k in argnums])
    name = f"{kind}_{fwd.name}"
    wrt = ", ".join(fwd[fwd.params[k]].name for k in argnums)
    what = {
        "grad": "Gradient",
        "value_and_grad": "Value and gradient",
        "vjp": "Vector-Jacobian product",
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


def emit_module(
    fun: Callable, path: str | None = None, argnums: int | tuple[int, ...] = 0, kind: str = "grad"
) -> str:
    """The emitted gradient module of `fun` as text; also written to `path` when given."""
    compiled = Compiled(fun, argnums, kind)
    return compiled.save(path) if path else compiled.source
