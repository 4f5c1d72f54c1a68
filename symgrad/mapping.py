"""`vmap`: a function mapped over an axis of its arguments, by emitted code.

Contract: `vmap(fun, in_axes=0, out_axes=0)` returns a `Vmapped`. Called with arguments that
have one more axis (`in_axes`: per positional argument the axis it is mapped over, None for an
argument passed as it is; an int for every argument), it returns fun's result at each index
of that axis, stacked along `out_axes`, as JAX's `vmap` does. `fun` is a Python function of one
output (a custom_vjp or custom_jvp function too), or `grad` or `value_and_grad` of one
(per-example gradients: `vmap(grad(loss), in_axes=(None, 0, 0))`), containers of parameters
included: a mapped container is mapped leaf by leaf, and results come in fun's structure.

The emitted module (`.source`, importing only NumPy) holds fun's function (for a gradient, its
emitted gradient) and the driver `vmap_<name>` (`symgrad.emit.drivers.vmap_driver`). Where the
batching pass (`symgrad.passes.batch`, which batches the Jacobians' seeds) can rewrite every
node computed from the mapped arguments, the function is emitted batched and runs once on the
whole batch, the mapped axes moved last; otherwise the driver calls it once per index and
stacks the results. `.batched` says which. It is compiled once per container structure and
mapping (the module does not depend on shapes) and again when what it read changes.
"""

from __future__ import annotations

import copy
import inspect
import types
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from symgrad.api import (
    Compiled,
    _bind,
    _check_differentiable,
    _compile,
    refused,
    signature,
    source_graph,
    user_function,
)
from symgrad.containers import leaves_of, more_constants
from symgrad.display import Source
from symgrad.emit import emit_module, load
from symgrad.emit.drivers import VMAP_HELPERS, vmap_driver
from symgrad.errors import NeedsConstant, SymgradError
from symgrad.frontend.nested import Inline
from symgrad.frontend.reads import Reads, free_params, read_free
from symgrad.ir import Graph
from symgrad.passes import batch, simplify


@dataclass
class _Module:
    source: Source
    graph: Graph  # the function the driver calls (batched, where it is)
    batched: bool
    reads: Reads
    fn: Callable


def _axis(v: Any, what: str) -> int | None:
    if v is None or isinstance(v, int) and not isinstance(v, bool):
        return v
    raise SymgradError(
        f"vmap: {what} must be an int or None, not {v!r}",
        hint="in_axes=(None, 0, 0) maps the last two arguments over their first axis.",
    )


class Vmapped:
    """A function mapped over axes of its arguments: call it, read `.source` and `.graph`."""

    def __init__(self, fun: Callable, in_axes: Any = 0, out_axes: int = 0):
        gradient = isinstance(fun, Compiled)
        if gradient and fun.kind not in ("grad", "value_and_grad"):
            raise SymgradError(
                f"vmap of {fun!r}: symgrad maps Python functions and their grad and "
                "value_and_grad so far",
                hint="Map the function, or its gradient: vmap(grad(f), in_axes=...).",
            )
        if not gradient and not isinstance(fun, types.FunctionType):
            if isinstance(fun, types.MethodType):
                raise SymgradError(
                    f"vmap of the method {fun.__qualname__!r}: symgrad maps Python functions "
                    "and their gradients so far",
                    hint="Map a function calling it, `def loss(x): return model.loss(x)`, or "
                    "its gradient: vmap(grad(model.loss)).",
                )
            if not getattr(fun, "symgrad_custom", None):
                inner = " (a vmap of a vmap is not supported yet)" * isinstance(fun, Vmapped)
                raise SymgradError(
                    f"vmap of {getattr(fun, '__qualname__', fun)!r}: it is a "
                    f"{type(fun).__name__}, not a Python function with source{inner}",
                    hint="Map a function defined with def; write the inner map as a loop or "
                    "as NumPy on the whole batch.",
                )
        if isinstance(in_axes, (tuple, list)):
            self.in_axes = tuple(_axis(a, "each of in_axes") for a in in_axes)
        else:
            self.in_axes = _axis(in_axes, "in_axes")
        if out_axes is None or _axis(out_axes, "out_axes") is None:
            raise SymgradError("vmap: out_axes must be an int (symgrad stacks every output)")
        self.fun, self.out_axes = fun, out_axes
        self.root = user_function(fun)
        name = getattr(fun, "__name__", "f")
        self.__name__ = self.__qualname__ = f"vmap_{name}"
        self.__wrapped__ = fun
        self._modules: dict[tuple, _Module] = {}
        self._latest: tuple | None = None
        self._constants: tuple = ()  # unmapped arguments compiled as constants (an axis)

    def __repr__(self) -> str:
        of = fun._describe() if isinstance(fun := self.fun, Compiled) else fun.__qualname__
        return f"<symgrad vmap of {of} in_axes={self.in_axes} out_axes={self.out_axes}>"

    def symgrad_inline(self, args: tuple, kwargs: dict) -> Inline:
        raise SymgradError(
            f"{self!r} is called inside a differentiated function: vmap is the outermost "
            "transformation so far",
            hint="Differentiate first and map the derivative: vmap(grad(f), in_axes=...).",
        )

    def _axes(self, n: int) -> list[int | None]:
        """The axis of each of n positional arguments."""
        if not isinstance(self.in_axes, tuple):
            return [self.in_axes] * n
        if len(self.in_axes) != n:
            raise SymgradError(
                f"{self.__name__}: in_axes has {len(self.in_axes)} entries for {n} positional "
                "arguments (one per argument, as in JAX)"
            )
        return list(self.in_axes)

    def __call__(self, *args, **kwargs) -> Any:
        if kwargs:
            raise SymgradError(
                f"{self.__name__}: pass the arguments positionally (in_axes names each by its "
                "position)"
            )
        gradient = isinstance(self.fun, Compiled)
        bound = [self.fun.bound] if gradient and self.fun.bound is not None else []
        values = _bind(self.root, (*bound, *args), {})
        axes = [None] * len(bound) + self._axes(len(args))
        axes += [None] * (len(values) - len(axes))  # defaults: passed as they are
        if gradient:
            _check_differentiable(self.fun.fn, values, self.fun.argnums)
        while True:
            leaves, trees = leaves_of(values, bool(bound), self._constants)
            leaf_axes = _leaf_axes(values, axes, trees)
            _check_sizes(self.__name__, leaves, leaf_axes)
            try:
                module = self._module(trees, tuple(leaf_axes))
                break
            except NeedsConstant as error:  # (`Compiled._compiled_for`: an int as an axis)
                names = list(inspect.signature(self.root).parameters)
                free = [k for k in range(len(bound), len(values)) if axes[k] is None]
                self._constants = more_constants(error, values, names, free, self._constants)
        free = [read_free(n.attrs["free"]) for n in free_params(module.graph)]
        try:
            result = module.fn(*leaves, *free)  # (arrays read from outside: not mapped)
        except (ValueError, TypeError) as e:
            refused(self.root, e)
            if isinstance(e, np.exceptions.AxisError) and _raised_in(e, module.fn):
                raise SymgradError(  # (the driver's np.moveaxis or np.stack along out_axes)
                    f"{self.__name__}: out_axes={self.out_axes} does not fit its output ({e})",
                    hint="out_axes counts the axes of the output with the mapped axis in it.",
                ) from None
            raise
        if not gradient:
            return result
        aux = _compile(*self._compiled_key(trees)).aux
        return self.fun.from_leaves(result, aux, trees)

    def _compiled_key(self, trees: tuple) -> tuple:
        f = self.fun
        return (f.fn, f.argnums, f.kind, f._single, trees, f.has_aux, "numpy")

    def _module(self, trees: tuple, axes: tuple) -> _Module:
        key = (trees, axes)
        found = self._modules.get(key)
        if found is None or not found.reads.fresh():
            found = self._modules[key] = self._compile(trees, axes)
        self._latest = key
        return found

    def _compile(self, trees: tuple, axes: tuple) -> _Module:
        """The module mapping fun (for containers `trees`) over the leaves' `axes`."""
        if isinstance(self.fun, Compiled):
            artifact = _compile(*self._compiled_key(trees))
            inner, reads, name = artifact.graph, artifact.reads, artifact.name
        else:
            reads = Reads()
            inner = simplify(source_graph(self.fun, reads, dict(trees)), [])
            name = inner.name
        params = [inner[p].name for p in inner.params]
        axes += (None,) * (len(params) - len(axes))  # (arrays read from outside: not mapped)
        mapped = [p for p, a in zip(inner.params, axes) if a is not None]
        graph = copy.deepcopy(inner)  # (the batching pass rewrites it in place)
        steps = batch.plan(graph, mapped)
        over = " and ".join(f"axis {a} of {p}" for p, a in zip(params, axes) if a is not None)
        what = f"{name} mapped over {over} (symgrad.vmap), stacked along axis {self.out_axes}"
        n_out = len(graph.outputs)
        if steps is not None:
            carried = graph.descendants_of(mapped)
            batched = [o in carried for o in graph.outputs]
            batch.apply(graph, steps)
            main = f"{name}_batched"
            doc = f"{what}: {main} runs on the whole batch (the mapped axes last)."
            driver = vmap_driver(
                f"vmap_{name}", doc, main, params, list(axes), n_out, self.out_axes, batched
            )
        else:
            graph, main = inner, name
            doc = f"{what}: one call of {name} per index."
            driver = vmap_driver(
                f"vmap_{name}", doc, main, params, list(axes), n_out, self.out_axes
            )
        source = Source(emit_module(graph, main, f"{what}.", [], [driver], VMAP_HELPERS))
        return _Module(source, graph, steps is not None, reads, load(source, f"vmap_{name}"))

    def _shown(self) -> _Module:
        """The latest call's module, or before any call the one for arrays mapped as
        in_axes says."""
        if self._latest is not None:
            return self._modules[self._latest]
        if isinstance(self.fun, Compiled) and self.fun.bound is not None:
            raise SymgradError(
                f"{self.__name__} maps a method's gradient: call it once, then read its module"
            )
        n = len(signature(self.root).parameters)
        given = len(self.in_axes) if isinstance(self.in_axes, tuple) else n
        return self._module((), tuple(self._axes(given) + [None] * (n - given)))

    @property
    def source(self) -> Source:
        """The emitted module: fun's function (batched, where it can be) and the driver."""
        return self._shown().source

    @property
    def graph(self) -> Graph:
        """The IR of the function the driver calls."""
        return self._shown().graph

    @property
    def batched(self) -> bool:
        """Whether the function runs once on the whole batch (else once per index)."""
        return self._shown().batched


def _leaf_axes(values: list, axes: list, trees: tuple) -> list[int | None]:
    """The axis of each leaf: its argument's."""
    structures = dict(trees)
    out = []
    for k, a in enumerate(axes):
        d = structures.get(k)
        out += [a] * (sum(not s for s in d.statics()) if d is not None else 1)
    return out


def _check_sizes(name: str, leaves: list, axes: list) -> None:
    """Every mapped leaf has its axis, all of one length, and at least one is mapped."""
    sizes = set()
    for leaf, a in zip(leaves, axes):
        if a is None:
            continue
        if not -np.ndim(leaf) <= a < np.ndim(leaf):
            raise SymgradError(
                f"{name}: in_axes maps an argument of shape {np.shape(leaf)} over axis {a}, "
                "which it does not have"
            )
        sizes.add(np.shape(leaf)[a])
    if not sizes:
        raise SymgradError(f"{name}: in_axes maps no argument (all None)")
    if len(sizes) > 1:
        raise SymgradError(f"{name}: the mapped axes have different lengths {sorted(sizes)}")
    if 0 in sizes:
        raise SymgradError(f"{name}: the mapped axis has length 0")


def _raised_in(error: Exception, fn: Callable) -> bool:
    """Whether `fn`'s own frame is the innermost of the emitted module's in the traceback (the
    error comes from a call it makes itself, not from the function it maps)."""
    module_file, last = fn.__code__.co_filename, None
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == module_file:
            last = tb.tb_frame.f_code
        tb = tb.tb_next
    return last is fn.__code__


def vmap(fun: Callable, in_axes: Any = 0, out_axes: int = 0) -> Vmapped:
    """`fun` mapped over axis `in_axes` of its arguments, results stacked along `out_axes`:
    see the module docstring."""
    return Vmapped(fun, in_axes, out_axes)
