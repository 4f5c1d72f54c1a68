"""The public API: grad, value_and_grad, vjp, jvp, linearize, emit_module, the compiled object.

Contract: each entry point lowers the user's function once (lazily, on first use), runs the
reverse (or, for `jvp` and `linearize`, the forward) and simplify passes, emits and loads a
standalone module, and caches the result per
(function, argnums, kind) for as long as what lowering read outside the function (globals,
closure cells, inlined helpers' code) is unchanged; a failed compilation caches nothing. Calls
bind arguments with the user function's own signature (defaults included), refuse gradients for
non-float arguments, and return gradients with the shape and dtype of the arguments they belong to.
"""

from __future__ import annotations

import copy
import functools
import gc
import importlib.util
import inspect
import math
import threading
import types
import warnings
import weakref
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from symgrad import partials, tree
from symgrad.containers import (
    by_leaves,
    differentiable,
    gradient_layout,
    in_structures,
    is_float,
    jacobian,
    leaf_argnums,
    leaf_params,
    leaves_of,
    more_constants,
    output_leaves,
    real_arrays,
)
from symgrad.display import Source
from symgrad.emit import emit_module as _emit
from symgrad.emit import load
from symgrad.emit.drivers import BATCHED_HELPERS, jacfwd_driver, jacrev_driver
from symgrad.emit.drivers import HELPERS as DRIVER_HELPERS
from symgrad.emit.guard import guarded
from symgrad.errors import (
    NeedsConstant,
    NotDifferentiableError,
    SourceUnavailableError,
    SpecialisationWarning,
    SymgradError,
)
from symgrad.foreign import coerced, failure, known_shapes, like_of
from symgrad.frontend import lower
from symgrad.frontend.lower import Layout
from symgrad.frontend.nested import Inline
from symgrad.frontend.reads import Reads, free_origin, free_params, read_free
from symgrad.frontend.source import read_function
from symgrad.ir import Graph
from symgrad.ir.avals import ARRAY, PYTHON, SCALAR, Aval, foreign, of_value
from symgrad.passes import batch as batching
from symgrad.passes import forward, reverse, simplify
from symgrad.passes.avals import infer, kept, may_decide_shapes, node_aval
from symgrad.passes.copies import uncopied
from symgrad.passes.fuse import NOT_NUMBAS, fuse
from symgrad.passes.idioms import stop_shifts
from symgrad.passes.made_like import made_like
from symgrad.passes.methods import spell_methods
from symgrad.passes.symmetry import by_symmetry

_CACHE: "weakref.WeakKeyDictionary[Callable, dict]" = weakref.WeakKeyDictionary()
_SIGNATURES: "weakref.WeakKeyDictionary[Callable, tuple]" = weakref.WeakKeyDictionary()


def defaults_of(fn: Callable) -> tuple:
    """fn's defaults as they are now: `__defaults__` (a tuple), and the items of
    `__kwdefaults__` (a dict, which `f.__kwdefaults__["c"] = 5.0` changes in place)."""
    kw = getattr(fn, "__kwdefaults__", None)
    return (getattr(fn, "__defaults__", None), tuple(kw.items()) if kw else ())


def same_defaults(known: tuple, now: tuple) -> bool:
    """Whether two `defaults_of` hold the same objects."""
    (args, kw), (args_now, kw_now) = known, now
    pairs = zip(kw, kw_now)
    return (
        args is args_now
        and len(kw) == len(kw_now)
        and all(k == j and v is w for (k, v), (j, w) in pairs)
    )


def signature(fn: Callable) -> inspect.Signature:
    """`inspect.signature(fn)`, worked out once per function and its defaults (a call binds
    its arguments with it, and working it out costs more than a small gradient's whole call);
    new defaults (`f.__defaults__ = ...`, `f.__kwdefaults__["c"] = ...`) give a new one, of
    the function a transformation transforms too (its signature is that function's), and so
    does new code (`f.__code__ = g.__code__`)."""
    user = user_function(fn)
    code, defaults = getattr(user, "__code__", None), defaults_of(user)
    try:
        known_code, known, sig = _SIGNATURES[fn]
        if known_code is code and same_defaults(known, defaults):
            return sig
    except (KeyError, TypeError):
        pass
    sig = inspect.signature(fn)
    try:
        _SIGNATURES[fn] = (code, defaults, sig)
    except TypeError:  # not weakly referable
        pass
    return sig


@dataclass
class _Artifact:
    """A compiled transformation: its graph, and its module, emitted and loaded when first
    needed (a call runs the module specialised for its arguments, `specialised`). A
    derivative that can be specialised keeps the graph its pass built (`raw`) and simplifies a
    copy of it (`finish`) only when the shape-polymorphic module is asked for: a call needs
    the specialised one alone."""

    emit: Callable[[Graph], str]  # the module's source, from the finished graph
    finish: Callable[[], Graph]  # the finished graph (simplified), made once when first needed
    name: str  # of the module's main function
    reads: Reads  # what lowering read from outside the function: stale when any changed
    floats: list[int] | None = None  # the float params, where it can be specialised
    doc: str = ""
    raw: Graph | None = None  # the graph to specialise (not simplified yet)
    aux: Layout | None = None  # where the aux outputs go (a function with has_aux)
    out: Layout | None = None  # where the outputs go (a function returning a container)
    specialised: OrderedDict = field(default_factory=OrderedDict)  # signature key -> _Artifact
    shape_ints: tuple[int, ...] | None = None  # the int params a specialisation keys on by value
    backend: str = "numpy"  # "numba": a specialisation's elementwise work as compiled loops
    recompute: bool = False  # a specialisation's loops tape what they carry, not their residuals
    defaults: tuple = (None, ())  # the function's defaults when compiled (`defaults_of`)
    fallback: Callable[[], "_Artifact"] | None = None  # the same without compiled loops
    typed: Callable[[list, str, bool], str] | None = None  # (Avals, signature, loops) -> the
    # specialised module's source, for a module of several graphs (a Jacobian's: `_typed_jacobian`)
    ready: bool = False  # `_fn` loaded and called (compiled loops compiled): a call calls it
    foreign: bool = False  # for arrays of another library: NumPy floats made its arrays first
    free: tuple | None = None  # where the arrays read from outside are (`free_values`)
    _graph: Graph | None = None
    _source: Source | None = None
    _fn: Callable | None = None

    @property
    def graph(self) -> Graph:
        if self._graph is None:
            _made(self, "_graph", self.finish)
        return self._graph

    @property
    def source(self) -> Source:
        if self._source is None:
            _made(self, "_source", lambda: Source(self.emit(self.graph)))
        return self._source

    @property
    def fn(self) -> Callable:
        if self._fn is None:
            _made(self, "_fn", lambda: load(self.source, self.name))
        return self._fn


_SPECIALISATIONS = 8  # per compiled function, the most recent kept


def _key(v: Any) -> Any:
    """What a compiled function's specialisation for this argument (and whether it can be
    differentiated) depends on."""
    if type(v) is np.ndarray:
        return (v.shape, v.dtype)
    if type(v) is float:
        return float
    if isinstance(v, (type, np.dtype)):  # a dtype given as an argument (x.astype(dt)): its own
        return (type(v), v)
    dtype = tree.dtype_of(v)
    if dtype is not None and foreign(v):  # a Dask or CuPy array: its shape is known too
        return (type(v), of_value(v))
    return (type(v), dtype)


def _library(v: Any) -> str:
    """For an array of another library, its type as a signature names it (`dask Array `)."""
    return f"{type(v).__module__.split('.')[0]} {type(v).__name__} " if foreign(v) else ""


_COMPILING = threading.RLock()  # held by each compilation step: threads compile one at a time


def _compiling(compile_step: Callable) -> Callable:
    """Run a compilation step holding `_COMPILING`, with the cyclic garbage collector paused.
    Threads compile one at a time: the steps fill caches that the others read (a specialised
    module, the artifact of a signature), and CPython 3.11's `ast` is not safe to use from
    several threads at once. Compiling allocates thousands of short-lived objects, so a
    collection often falls inside it, and the full one scans the whole heap (NumPy, networkx,
    ast): tens of milliseconds, more than the step itself. Python collects as usual once the
    step is done."""

    @functools.wraps(compile_step)
    def paused(*args, **kwargs):
        with _COMPILING:
            if not gc.isenabled():
                return compile_step(*args, **kwargs)
            gc.disable()
            try:
                return compile_step(*args, **kwargs)
            finally:
                gc.enable()

    return paused


@_compiling
def _made(artifact: _Artifact, name: str, make: Callable[[], Any]) -> None:
    """Set the artifact's attribute `name` to `make()`, unless another thread just did."""
    if getattr(artifact, name) is None:
        setattr(artifact, name, make())


def signature_key(values, shape_ints: tuple[int, ...]) -> tuple:
    """What a specialisation for these arguments depends on: each one's type (`_key`) and the
    values of the ints that decide shapes (`_shape_ints`). Every cached call builds it, so it
    is built the cheapest way for a few arguments (Python 3.11): a flat tuple grown in a plain
    loop, a NumPy array's shape and dtype two entries (no other argument's entry is a tuple
    of ints), a float's `_key` written out, `_key`'s other cases one."""
    key = ()
    for v in values:
        t = type(v)
        key += (v.shape, v.dtype) if t is np.ndarray else (float,) if t is float else (_key(v),)
    for k in shape_ints:  # (a call may leave a defaulted int out: no value for it then)
        key += (_int(values[k]) if k < len(values) else None,)
    return key


def _int(v: Any) -> int | None:
    """v where it is an int (a length a specialisation knows), else None."""
    return v if type(v) is int else None


class Learnt:
    """What a cached call's fast path looks up: an entry (a specialised module, and what the
    call needs with it) per signature of the arguments of the latest calls, `signature_key`
    with the values of the ints in `shape_ints`, the most recent `_SPECIALISATIONS` of them.
    A call looks `entries` up itself (no method call on the hot path)."""

    def __init__(self):
        self.shape_ints: tuple[int, ...] = ()  # the positions of the ints the keys hold
        self.entries: dict = {}

    def learn(self, values, shape_ints: tuple[int, ...], entry) -> None:
        """Keep `entry` for calls on arguments like `values`, whose module keys the ints at
        `shape_ints` by value (another module's positions start the entries afresh)."""
        if shape_ints != self.shape_ints or len(self.entries) >= _SPECIALISATIONS:
            self.entries.clear()
            self.shape_ints = shape_ints
        self.entries[signature_key(values, shape_ints)] = entry


_AS_GIVEN = (float, np.ndarray, np.float64, np.float32)  # a module's arguments as they are,
# keyed whole by `signature_key` (an int is too where its value is part of the key)


def _shape_ints(graph: Graph, values: list) -> tuple[int, ...]:
    """The positions of the Python int arguments whose values decide a length in the graph
    (`np.ones(n)`, `x[:n]`): a specialisation knows their values, as it knows an array's
    shape, and is keyed on them. Found by inferring the graph's Avals with the ints' values
    unknown, then known (again only for the nodes computed from them, the others' cannot
    change): an int decides a length where knowing it tells more of some shape. The graph's
    own Avals are left as they were. Where the rule table tells that no shape depends on
    their values (`may_decide_shapes`), none is inferred."""
    ints = [k for k, v in enumerate(values) if type(v) is int]
    if not ints or not may_decide_shapes(graph, [graph.params[k] for k in ints]):
        return ()
    with kept(graph):
        infer(graph, [of_value(v) for v in values])
        after = graph.descendants_of([graph.params[k] for k in ints])
        blind = {nid: _shape(graph[nid].aval) for nid in after}
        for k in ints:
            graph[graph.params[k]].aval = of_value(values[k], static=True)
        for node in graph.nodes():
            if node.id in after and node.op != "param":
                node.aval = node_aval(graph, node)
        changed = [nid for nid in after if _shape(graph[nid].aval) != blind[nid]]
    if not changed:
        return ()
    decide = graph.ancestors_of([i for nid in changed for i in graph[nid].inputs])
    return tuple(k for k in ints if graph.params[k] in decide)


def _shape(aval) -> Any:
    """A node's shape (a structured node's: its outputs'), None where unknown."""
    if isinstance(aval, tuple):
        return tuple(a.shape if isinstance(a, Aval) else None for a in aval)
    return aval.shape if isinstance(aval, Aval) else None


def inlined(
    artifact: _Artifact, fn: Callable, arguments: list, result: Callable[[list], Any]
) -> Inline:
    """The artifact's graph, of a transformation of fn, as a caller splices it in (nested AD,
    `symgrad.frontend.nested`): a copy whose nodes count as forward nodes, bound to
    `arguments`, which fn's defaults filled in: the caller reads them too."""
    graph = copy.deepcopy(artifact.graph).as_forward()
    reads, root = Reads(), user_function(fn)
    reads.extend(artifact.reads)
    for attr in ("__defaults__", "__kwdefaults__"):
        reads.note(root, attr, getattr(root, attr, None))
    return Inline(graph, arguments, reads, result)


def _with_free(args: tuple, frees: tuple) -> tuple | None:
    """The arguments and the arrays read from outside as they are now (`read_free`), None
    where one is gone (a global container that shrank: not the call the fast path learnt)."""
    try:
        return args + tuple(map(read_free, frees))
    except (LookupError, AttributeError, ValueError):  # (ValueError: an emptied cell)
        return None


def free_values(artifact: _Artifact) -> list:
    """The arrays the function reads from outside (a module's globals, closure cells), as
    they are now: the module's arguments after the function's own (`Lowerer.free`)."""
    if artifact.free is None:
        graph = artifact.raw if artifact.raw is not None else artifact.graph
        artifact.free = tuple(n.attrs["free"] for n in free_params(graph))
    return [read_free(key) for key in artifact.free]


@_compiling
def specialised(artifact: _Artifact, values: list) -> _Artifact:
    """The artifact specialised on the types (shapes, dtypes) of `values`, as `jax.jit`
    specialises: compiled on first use per signature, the latest `_SPECIALISATIONS` kept."""
    if artifact.floats is None:
        return artifact
    base = artifact.raw if artifact.raw is not None else artifact.graph
    if artifact.shape_ints is None:
        try:
            artifact.shape_ints = _shape_ints(base, values)
        except Exception:  # a shape rule's bug costs the lengths, not the gradient
            artifact.shape_ints = ()
    key = signature_key(values, artifact.shape_ints)
    cache = artifact.specialised
    found = cache.get(key)
    if found is not None:
        cache.move_to_end(key)
        return found
    shape_ints = artifact.shape_ints
    known = [_int(v) is not None and k in shape_ints for k, v in enumerate(values)]
    names = [base[p].name for p in base.params]
    like = like_of(values)  # Dask's, CuPy's: the NumPy floats are made its arrays (`_run`)
    if like is not None:
        known_shapes(values, names)
    typed = values if like is None else coerced(values, like)
    avals = [of_value(v, static=static) for v, static in zip(typed, known)]
    signature = ", ".join(
        f"{n}: {_library(v)}{a if a is not None else type(v).__name__}"
        + (f" = {v}" if known[k] else "")
        for k, (n, a, v) in enumerate(zip(names, avals, values))
    )
    try:
        loops = artifact.backend == "numba" and like is None and all(map(_numba_types, avals))
        other = None if like is None else next(k for k, v in enumerate(values) if v is like)
        found = _specialisation(artifact, base, avals, signature, loops, other)
    except SymgradError:  # (what the arguments' types make refused: `simplify._refuse_views`)
        raise
    except Exception as e:  # a shape rule's bug must not cost the user the gradient
        warnings.warn(
            f"symgrad could not specialise {artifact.name} for {signature} ({type(e).__name__}: "
            f"{e}); running the shape-polymorphic module. Please report this.",
            SpecialisationWarning,
            stacklevel=3,
        )
        found = artifact
    cache[key] = found
    if len(cache) > _SPECIALISATIONS:
        cache.popitem(last=False)
    return found


_COMPILED_DOC = " Numba backend: elementwise work and loops compiled, where NumPy is not faster."
# (a module's docstring)


def _numba_types(aval) -> bool:
    """Whether Numba has the dtype of a value of this Aval (float16 and long double: none;
    nor an array of the other byte order, `np.dtype(">f8")` here)."""
    dtype = getattr(aval, "dtype", None)
    return dtype is None or dtype.isnative and dtype not in NOT_NUMBAS


def _specialisation(
    artifact: _Artifact,
    base: Graph,
    avals: list,
    signature: str,
    loops: bool,
    other: int | None = None,
) -> _Artifact:
    """The module of base specialised for `avals`, with its elementwise work as compiled
    loops where `loops` (then able to fall back on the plain one, `_run`); for arrays of
    another library, param `other` one of them (`symgrad.foreign`): no array changed in place
    and no copy made, which Dask's immutable arrays need (NumPy's `np.copy` would compute
    them), and arrays made from shapes made like param `other` (`made_like`)."""
    if artifact.typed is not None:  # a Jacobian's graphs, typed alike (not for foreign arrays)
        if other is not None:
            return artifact
        source = artifact.typed(avals, signature, loops)
        found = _Artifact(lambda g: source, lambda: artifact.graph, artifact.name, artifact.reads)
        if loops:
            found.fallback = lambda: _specialisation(artifact, base, avals, signature, False)
        return found
    graph = copy.deepcopy(base)
    floats = [graph.params[k] for k in artifact.floats]
    simplify(
        graph,
        floats,
        avals=avals,
        batch_loops=other is None,
        compiled=loops,
        residuals_taped=not artifact.recompute,
    )
    doc = f"{artifact.doc}\nSpecialised for {signature}."
    if loops:
        fuse(graph)
        doc += _COMPILED_DOC
    spell_methods(graph)  # `g.sum(axis=0)`, `a.T`: no dispatch through np.sum
    if other is not None:  # Dask's, CuPy's (`symgrad.foreign`)
        uncopied(graph)
        made_like(graph, graph.params[other])
        doc += " No array is changed in place or copied."
    source = _emit(graph, artifact.name, doc, loops=loops, in_place=other is None)
    found = _Artifact(lambda g: source, lambda: graph, artifact.name, artifact.reads)
    found.foreign = other is not None
    if loops:
        found.fallback = lambda: _specialisation(artifact, base, avals, signature, False)
    return found


def _normalise_argnums(fn: Callable, argnums) -> tuple[tuple[int, ...], bool]:
    """(argnums as a tuple, whether the caller asked for a single int)."""
    single = isinstance(argnums, int) and not isinstance(argnums, bool)
    if not single and not isinstance(argnums, (tuple, list)):
        raise SymgradError(
            f"argnums must be an int or a tuple of ints, not {argnums!r}",
            hint="grad(f, argnums=0) differentiates the first argument, argnums=(0, 1) two.",
        )
    nums = (argnums,) if single else tuple(argnums)
    params = signature(fn).parameters.values()
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        lower(user_function(fn))  # refuses *args/**kwargs, naming the file and line
    n = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
    keywords = n < len(params)  # keyword-only parameters, which argnums never counts (JAX's)
    for k in nums:
        if not isinstance(k, int) or isinstance(k, bool) or not -n <= k < n:
            raise SymgradError(
                f"argnums {argnums!r} does not fit {fn.__qualname__}, which has "
                f"{n} {'positional ' * keywords}parameter{'s' * (n != 1)}",
                hint="argnums counts the positional parameters, as JAX's: make a keyword-only "
                "one positional to differentiate it."
                if keywords
                else None,
            )
    return tuple(k % n for k in nums), single


JACOBIANS = ("jacfwd", "jacrev")  # kinds whose call returns the driver's result as it is
KINDS = ("grad", "value_and_grad", "vjp", "jvp", *JACOBIANS, "hessian", "jit")  # emit_module's
_WHAT = {
    "grad": "Gradient",
    "value_and_grad": "Value and gradient",
    "vjp": "Vector-Jacobian product",
    "jvp": "Jacobian-vector product",
}


def _name_of(fn: Callable) -> str:
    """The name fn's modules are named after: its own, or a lambda's as its source names it
    (`sq = lambda x: ...`: sq; `frontend.source.read_function`)."""
    name = getattr(fn, "__name__", "f")
    if name.isidentifier():
        return name
    try:
        return read_function(fn).tree.name
    except SymgradError:
        return "anonymous"


def user_function(fn: Callable) -> Callable:
    """The user's function under any number of compiled transformations."""
    while isinstance(fn, Compiled):
        fn = fn.fn
    return fn


def source_graph(
    fn: Callable,
    reads: Reads,
    trees: dict | None = None,
    aux: list | None = None,
    out: list | None = None,
    rules: bool = True,
) -> Graph:
    """The graph a transformation of `fn` starts from: its lowered source (with the max shifts
    of log-sum-exps and softmaxes stopped, `symgrad.passes.idioms`), or, for a compiled
    gradient (`grad(grad(f))`, `jvp` of a `grad`), the gradient's own graph, differentiated
    again. Its nodes count as forward nodes there (names kept, pass flags cleared), so the new
    pass's lines are the backward pass of the emitted code. What it read goes to `reads`;
    `trees`, `aux` and `out` are `lower`'s (a gradient of containers returns its arguments'
    structures: `out` receives their layout, and without `out` it is refused)."""
    if not isinstance(fn, Compiled):
        return stop_shifts(lower(fn, reads, trees, aux, out, rules))
    if fn.has_aux:
        raise SymgradError(
            f"cannot differentiate {fn!r} again: it returns an aux beside its gradient",
            hint="Differentiate symgrad.grad(f) without has_aux.",
        )
    if fn.kind != "grad":
        raise SymgradError(
            f"cannot differentiate {fn!r}: only gradients (symgrad.grad) can be differentiated "
            "again",
            hint="Differentiate symgrad.grad(f) (for a Hessian, symgrad.hessian(f)).",
        )
    if not trees:
        artifact = fn._artifact
    else:  # the gradient compiled for these containers, its outputs in their structures
        if fn.bound is not None:
            raise SymgradError(
                f"cannot differentiate {fn!r} again: the gradient of a bound method is not "
                "differentiated again yet",
                hint="Differentiate the gradient of the plain function, self an argument.",
            )
        pairs = tuple(sorted(trees.items()))
        artifact = _compile(fn.fn, fn.argnums, "grad", fn._single, pairs, False, fn.backend)
        layout = gradient_layout(trees, fn.argnums, fn._single)
        if layout is not None and out is None:
            raise SymgradError(
                f"cannot take the gradient of {fn!r}: it returns a container (a gradient in "
                "its argument's structure), not one number",
                hint="Differentiate it with symgrad.jacfwd, symgrad.jacrev or symgrad.hessian, "
                "or take grad with respect to a float argument.",
            )
        if layout is not None:
            out.append(layout)
    reads.extend(artifact.reads)
    graph = copy.deepcopy(artifact.graph).as_forward()
    graph.name = fn.__name__
    return graph


@_compiling
def _compile(
    fn: Callable,
    argnums: tuple[int, ...],
    kind: str,
    single: bool,
    trees: tuple = (),
    has_aux: bool = False,
    backend: str = "numpy",
    recompute: bool = False,
) -> _Artifact:
    """The transformation, compiled once per `trees` (the structure of each container
    argument, `(position, symgrad.tree.Treedef)` pairs) and kept until what it read changes."""
    key = (kind, argnums, single, trees, has_aux, backend, recompute)
    cached = _CACHE.get(fn, {}).get(key)
    # the function's defaults, which the emitted function's signature holds (not in `reads`:
    # a cached call passes the module every argument, so only a new module reads them)
    root = user_function(fn)
    defaults = defaults_of(root)
    if cached is None or not cached.reads.fresh() or not same_defaults(cached.defaults, defaults):
        if kind in JACOBIANS:
            cached = _jacobian(fn, argnums, kind, single, dict(trees))
        else:
            cached = _derivative(fn, argnums, kind, dict(trees), has_aux)
        cached.backend, cached.recompute, cached.defaults = backend, recompute, defaults
        _CACHE.setdefault(fn, {})[key] = cached  # only a finished compilation is cached
        if not cached.reads.fresh():  # (something it read is new at each look-up)
            names = ", ".join(cached.reads.stale())
            warnings.warn(
                f"symgrad: what {fn.__qualname__} reads from outside ({names}) "
                "gives a new object at each look-up (a property making one?), so each call "
                "compiles it again: pass it as an argument, or read it once into a global",
                SpecialisationWarning,
                stacklevel=3,
            )
    return cached


def _single_output(fwd: Graph, kind: str) -> None:
    if len(fwd.outputs) != 1:
        raise SymgradError(
            f"{kind} of {fwd.name}: it returns {len(fwd.outputs)} gradients, not one value",
            hint="Give the inner grad one argnum, or use symgrad.jacfwd, jacrev or hessian.",
        )


def _derivative(
    fn: Callable,
    argnums: tuple[int, ...],
    kind: str,
    trees: dict | None = None,
    has_aux: bool = False,
) -> _Artifact:
    """grad, value_and_grad, vjp (reverse mode) and jvp (forward mode). With `trees`, the
    graph's params are the container arguments' leaves, and the gradients those of their
    float leaves (`leaf_argnums`). With `has_aux`, fn returns (value, aux): the module returns
    the aux's arrays after the value (value_and_grad) and before the gradients. A vjp or jvp
    of a function returning a container has one output per array or float leaf (the module's
    `out` layout), and a vjp takes a cotangent for each."""
    reads = Reads()
    aux: list = []
    out: list | None = [] if kind in ("vjp", "jvp", "jit") else None
    fwd = source_graph(fn, reads, trees, aux if has_aux else None, out, kind != "jit")
    if out == [] and isinstance(fn, Compiled) and not fn._single:  # a gradient's tuple, (g,)
        out.append(gradient_layout({}, fn.argnums, False))  # too, as jvp's and vjp's values
    argnums, holds = leaf_params(_params(fn), [fwd[p].name for p in fwd.params], trees, argnums)
    own, outside = _own_params(fwd)
    holds += outside
    if kind == "jvp":
        graph = forward(fwd, list(argnums))
        floats = [graph.params[k] for k in argnums] + graph.params[len(fwd.params) :]
    elif kind == "jit":  # the function itself
        graph, floats = fwd, []
    else:
        if not (has_aux or out):
            _single_output(fwd, kind)
        try:
            graph = reverse(
                fwd,
                list(argnums),
                seed="params" if out else "param" if kind == "vjp" else "one",
                with_value=kind == "value_and_grad",
                keep=0 if out else len(fwd.outputs) - 1,
            )
        except NotDifferentiableError:  # a gradient's loop: forward over reverse, by symmetry
            second = isinstance(fn, Compiled) and not isinstance(fn.fn, Compiled)
            if not (second and (kind == "vjp" or kind in ("grad", "value_and_grad") and not out)):
                raise
            inner = leaf_argnums(len(_params(fn.fn)), trees, fn.argnums)  # (a container's
            at = [p for ps in inner for p in ps]  # float leaves: the gradient's leaves)
            graph = by_symmetry(lower(fn.fn, reads, trees), at, list(argnums), kind)
        floats = [graph.params[k] for k in argnums]
    name = f"{kind}_{fwd.name}"
    wrt = ", ".join(fwd[fwd.params[k]].name for k in argnums)
    params = ", ".join(own)
    if kind == "jit":
        doc = f"{fwd.name}({params}), compiled.{holds}{_returns_doc(fwd.name, out)}"
    else:
        doc = f"{_WHAT[kind]} of {fwd.name}({params}) with respect to {wrt}.{holds}"
    if has_aux and aux:  # (a call returns the gradient first, as JAX's: the module does not)
        n = aux[0].n_outputs
        first = "the value, then " if kind == "value_and_grad" else ""
        held = "the aux" if n == 1 else f"the aux's {n} arrays"
        doc += f"\nReturns {first}{held}, then the gradient{'s' * (len(argnums) > 1)}."
    float_params = [graph.params.index(p) for p in floats]

    def finish() -> Graph:
        return simplify(copy.deepcopy(graph), [graph.params[k] for k in float_params])

    emit = lambda g: _emit(g, name, doc)  # noqa: E731
    aux_layout, out_layout = (aux[0] if aux else None), (out[0] if out else None)
    return _Artifact(
        emit, finish, name, reads, float_params, doc, raw=graph, aux=aux_layout, out=out_layout
    )


def _own_params(fwd: Graph) -> tuple[list[str], str]:
    """(the names of the function's own params, the docstring's line naming the arrays it
    reads from outside, its module's params after them: `Lowerer.free`)."""
    outside = free_params(fwd)
    held = {n.id for n in outside}
    own = [fwd[p].name for p in fwd.params if p not in held]
    free = [f"{n.name}, {free_origin(n.attrs['free'], n.name)}" for n in outside]
    if not free:
        return own, ""
    return own, (
        f"\nIts parameters after {own[-1] if own else 'none'} are the arrays {fwd.name} reads "
        f"from outside ({'; '.join(free)}), which a call passes as it finds them."
    )


def _returns_doc(name: str, out: list | None) -> str:
    """What a compiled function's module returns, where `name` returns a container or a
    constant (`Layout`): its arrays and numbers leaf by leaf, the constants left out."""
    layout = out[0] if out else None
    if layout is None or layout.treedef.leaf and not layout.slots[0]:
        return ""
    paths = ["".join(f"[{k!r}]" for k in p) for p in layout.treedef.paths()]
    returned = [p or "its value" for p, s in zip(paths, layout.slots) if not s]
    kept = [f"{p or 'its value'} = {s[0]!r}" for p, s in zip(paths, layout.slots) if s]
    text = f"\nReturns, of what {name} returns, {', '.join(returned) or 'nothing'}"
    return text + (f" (constants: {', '.join(kept)})." if kept else ".")


def _jacobian(
    fn: Callable,
    argnums: tuple[int, ...],
    kind: str,
    single: bool,
    trees: dict | None = None,
    named: str | None = None,
) -> _Artifact:
    """jacfwd and jacrev: the function itself, its JVPs (one per argument) or VJPs (one per
    output), and a driver that calls them once for a batch of all unit seeds
    (`symgrad.passes.batch`), or, where some primitive cannot batch, once per column or row. The
    graph is the last JVP's or VJP's. The Jacobian of a gradient by jacfwd is the Hessian,
    emitted as `hessian_<f>`. With containers (`trees`, or a container output: the artifact's
    `out`), the driver returns a tuple per output of a block per differentiated leaf, which
    `symgrad.containers.jacobian` nests as JAX does. (`named`: the name jacrev's fallback on
    jacfwd keeps, `jacrev_grad_<f>`, as the transformation's `__name__` says.)"""
    reads = Reads()
    out: list = []
    fwd = source_graph(fn, reads, trees, None, out)
    given = argnums  # (by argument: a fallback on jacfwd starts again from them)
    argnums, holds = leaf_params(_params(fn), [fwd[p].name for p in fwd.params], trees, argnums)
    own, outside = _own_params(fwd)
    holds += outside
    params = [fwd[p].name for p in fwd.params]  # (the module's: those read from outside too)
    wrt = [params[k] for k in argnums]
    what = f"Jacobian of {fwd.name}({', '.join(own)}) with respect to {', '.join(wrt)}"
    name = f"{kind}_{fwd.name}"
    if isinstance(fn, Compiled) and kind == "jacfwd":
        root = user_function(fn)
        name = named or f"hessian_{_name_of(root)}"
        what = f"Hessian of {root.__name__}({', '.join(own)}) with respect to {', '.join(wrt)}"
    n_out = len(fwd.outputs)
    nest = (isinstance(fn, Compiled) and not fn._single, not single)
    if trees or out:
        nest = (True, True)
    if kind == "jacfwd":
        graphs, mains = [], []
        for k in argnums:
            graphs.append(forward(fwd, [k]))
            simplify(graphs[-1], [graphs[-1].params[k], graphs[-1].params[-1]])
            mains.append(f"jvp_{fwd.name}" + (f"_{params[k]}" if len(argnums) > 1 else ""))
        seeds = [f"its tangent along {params[k]}" for k in argnums]
    else:
        graphs, mains = [], []
        for i, o in enumerate(fwd.outputs):  # a VJP per output, the others left out
            one = copy.deepcopy(fwd)
            one.outputs = [o]
            try:
                graphs.append(reverse(one, list(argnums), seed="param"))
            except NotDifferentiableError:  # a gradient's loop: the same matrix forward
                if not isinstance(fn, Compiled):
                    raise
                return _jacobian(fn, given, "jacfwd", single, trees, named=name)
            simplify(graphs[-1], [graphs[-1].params[k] for k in argnums] + [graphs[-1].params[-1]])
            mains.append(f"vjp_{fwd.name}" + (f"_{i}" if n_out > 1 else ""))
        seeds = ["the cotangents of its arguments"] * n_out
    plans = [batching.plan(g, [g.params[-1]]) for g in graphs]
    batched = all(p is not None for p in plans)
    if batched:  # every graph, or none: one driver calls them all
        for g, p in zip(graphs, plans):
            batching.apply(g, p)
        seeds = [f"{s} for a batch of seeds (a trailing axis)" for s in seeds]
    passes = ", ".join(mains)
    if kind == "jacfwd":
        per = "for all entries at once" if batched else "per entry"
        doc = f"{what}: forward mode ({passes}) {per}.{holds}"
        driver = jacfwd_driver(
            name, doc, fwd.name, params, wrt, mains, n_out, nest, batched, fwd.defaults
        )
    else:
        per = "for all entries of the output at once" if batched else "per entry of the output"
        doc = f"{what}: reverse mode ({passes}) {per}.{holds}"
        driver = jacrev_driver(name, doc, fwd.name, params, wrt, mains, nest, batched, fwd.defaults)
    before = [(g, m, f"{fwd.name} and {s}.") for g, m, s in zip(graphs, mains, seeds)]
    has_primal = not (batched and kind == "jacfwd")  # the driver calls the function itself
    if has_primal:
        primal = simplify(copy.deepcopy(fwd), [])
        before.insert(0, (primal, fwd.name, f"{fwd.name}({', '.join(params)}), as read."))
    helpers = BATCHED_HELPERS if batched else DRIVER_HELPERS
    graph, main, _ = before[-1]

    def emit(g: Graph) -> str:  # the shape-polymorphic module, when asked for (`.save`)
        return _emit(graph, main, f"{what}.", before[:-1], [driver], helpers)

    artifact = _Artifact(emit, lambda: graph, name, reads, out=out[0] if out else None)
    if not (trees or out):  # specialised as a JVP or a VJP is
        artifact.floats, artifact.raw = list(argnums), fwd  # (`_shape_ints` types fwd)
        seeds = (kind, argnums, has_primal, batched)

        def typed(avals: list, signature: str, loops: bool) -> str:
            doc = f"{what}.\nSpecialised for {signature}."
            if loops:
                doc += _COMPILED_DOC
            return _typed_jacobian(before, seeds, avals, doc, driver, helpers, loops)

        artifact.typed = typed
    return artifact


def _typed_jacobian(
    before: list, seeds: tuple, avals: list, doc: str, driver, helpers, loops: bool
) -> str:
    """The source of a Jacobian's module (`before`, a list of (graph, name, doc): the function
    where the driver calls it, then a JVP per argument or a VJP per output) with every graph
    simplified for the arguments' Avals, and each seed (a JVP's tangent, a VJP's cotangent)
    typed as the driver's is (`seeds`: the kind, argnums, whether `before` starts with the
    function, whether batched): `_basis` of the argument or of the output, or `_unit_columns`
    of it where batched. With `loops`, each graph's elementwise work and loops are compiled
    by Numba, as a gradient's are; the driver stays Python."""
    kind, argnums, has_primal, batched = seeds
    typed, outs = [], []
    for j, (g, main, what) in enumerate(before):
        t = copy.deepcopy(g)
        if has_primal and j == 0:  # the function itself: its outputs' Avals type the cotangents
            simplify(t, [], avals=avals, compiled=loops)
            outs = [t[o].aval for o in t.outputs]
        elif kind == "jacfwd":
            k = argnums[j - has_primal]
            floats = [t.params[k], t.params[-1]]
            simplify(t, floats, avals=[*avals, _seed(avals[k], batched)], compiled=loops)
        else:
            floats = [t.params[k] for k in argnums] + [t.params[-1]]
            simplify(t, floats, avals=[*avals, _seed(outs[j - 1], batched)], compiled=loops)
        if loops:
            fuse(t)
        spell_methods(t)
        typed.append((t, main, what))
    graph, main, _ = typed.pop()
    return _emit(graph, main, doc, typed, [driver], helpers, loops=loops)


def _seed(aval, batched: bool) -> Aval | None:
    """The Aval of the driver's unit seed for an x of Aval `aval` (None where it is not known):
    `_basis(x, k)` is 1.0 for a Python number, else an array of x's shape and dtype
    (`np.zeros_like` of a NumPy scalar is a 0-d array); batched, `_unit_columns(x)` is an
    array of x's shape and one axis more, x's size long, of x's dtype (float64 for a Python
    number)."""
    if not isinstance(aval, Aval) or aval.kind not in (PYTHON, SCALAR, ARRAY) or not aval.known:
        return None
    if batched:
        dtype = np.dtype(float) if aval.kind == PYTHON else aval.dtype
        return Aval((*aval.shape, math.prod(aval.shape)), dtype, ARRAY)
    if aval.kind == PYTHON:
        return Aval((), np.dtype(float), PYTHON)
    return Aval(aval.shape, aval.dtype, ARRAY)


def _params(fn: Callable) -> list[str]:
    return list(signature(fn).parameters)


def _check_differentiable(fn: Callable, values: list, argnums: tuple[int, ...]) -> None:
    real_arrays(values, f"an argument of {fn.__qualname__}")
    names = _params(fn)
    for k in argnums:
        v = values[k]
        dtype = tree.dtype_of(v)
        if tree.is_tree(v):
            structure = tree.flatten(v)[1]
            held = tree.held_object(structure)
            if held is not None:
                what = "is" if tree.is_object(v) else f"is a {type(v).__name__} holding"
                raise NotDifferentiableError(
                    f"cannot differentiate {fn.__qualname__} with respect to argument "
                    f"{names[k]!r}: it {what} a {held.__name__}, an object of a class of yours, "
                    "whose attributes symgrad reads as constants",
                    hint="Make its class a dataclass, whose fields symgrad differentiates, or "
                    "leave it out of argnums.",
                )
            if not any(structure.floatings()):
                raise NotDifferentiableError(
                    f"cannot differentiate {fn.__qualname__} with respect to argument "
                    f"{names[k]!r}: it is a {type(v).__name__} holding no float or float array",
                    hint="Leave it out of argnums, or give it float leaves.",
                )
            continue
        if not is_float(v):
            name = type(v).__name__
            article = "an" if name[0] in "aeiou" else "a"
            kind = f"{article} {name}" if dtype is None else f"an array of {dtype}"
            raise NotDifferentiableError(
                f"cannot differentiate {fn.__qualname__} with respect to argument "
                f"{names[k]!r}: it is {kind}, not a float or a float array",
                hint=(
                    "Make its class a dataclass, whose fields symgrad differentiates, or leave "
                    "it out of argnums (a bound method's self is read as constant)."
                    if hasattr(v, "__dict__")
                    else "Pass floats (np.asarray(x, dtype=float)), or leave it out of argnums."
                ),
            )


def run_on_copies(fun: Callable, args) -> Any:
    """`fun(*args)` on copies of the array arguments (and of containers' arrays): a function
    that changes its arguments in place (`x += 1`) leaves the caller's as they were, as the
    emitted code does."""
    return fun(*copies(args))


def copies(args) -> tuple:
    """The arguments with each array (a container's too) copied: what a `vjp_fn` or an
    `f_jvp` holds, so that the caller changing an array in place later changes nothing.
    Arrays that share memory share it in their copies too (`f(a, a)`, `f(a[:4], a[2:])`: one
    copy of what they view), so the function computes on them what it computes on theirs."""
    leaves = [x for a in args for x in (tree.flatten(a)[0] if tree.is_tree(a) else [a])]
    counts = Counter(id(_root(x)) for x in leaves if type(x) is np.ndarray)
    made: dict[int, np.ndarray] = {}

    def copied(a):
        if type(a) is not np.ndarray:
            return a.copy() if isinstance(a, np.ndarray) else a
        root = _root(a)
        if counts[id(root)] < 2 or not (root.flags.c_contiguous or root.flags.f_contiguous):
            return a.copy()
        whole = made.setdefault(id(root), root.copy(order="K"))
        offset = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        return np.ndarray(a.shape, a.dtype, whole, offset, a.strides)

    return tuple(tree.map(copied, a) if tree.is_tree(a) else copied(a) for a in args)


def _root(a: np.ndarray) -> np.ndarray:
    """The array whose memory a views (a itself where it owns its memory)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def as_tuple(what: str, value: Any, example: str) -> tuple:
    """`value` (primals, tangents, args), which must be a tuple or list: one entry per
    positional argument, as in JAX."""
    if not isinstance(value, (tuple, list)):
        raise SymgradError(
            f"{what} must be a tuple with one entry per positional argument, not a "
            f"{type(value).__name__}",
            hint=f"Write {example}.",
        )
    return tuple(value)


def _bind(fn: Callable, args: tuple, kwargs: dict) -> list:
    try:
        bound = signature(fn).bind(*args, **kwargs)
    except TypeError as e:
        raise SymgradError(f"bad arguments for {fn.__qualname__}: {e}") from None
    bound.apply_defaults()
    return list(bound.arguments.values())


def _invoke(artifact: _Artifact, values) -> Any:
    """The artifact's function on values, loaded first where it is not yet (then `ready`). The
    first call of a module with compiled loops compiles them, without Numba's performance
    hints (`'@' is faster on contiguous arrays`): they are about the emitted code, which the
    user did not write (a later call's compiling, for a new array layout, has them hidden by
    `symgrad.emit.load`'s filter)."""
    if artifact.fallback is None:
        fn = artifact.fn
        artifact.ready = True
        return fn(*values)
    from numba.core.errors import NumbaPerformanceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        out = artifact.fn(*values)
    artifact.ready = True
    return out


def _run(artifact: _Artifact, fn: Callable, values) -> Any:
    like = None
    if artifact.foreign:  # NumPy floats made arrays of the other library (`symgrad.foreign`)
        like = like_of(values)
        values = coerced(values, like)
    try:
        if artifact.ready:  # a module called before: its function itself (no property, no call)
            return artifact._fn(*values)
        return _invoke(artifact, values)
    except Exception as e:
        return _failed(artifact, fn, values, e, like)


def refused(fn: Callable, error: Exception) -> None:
    """Raise a runtime helper's refusal (a ValueError or TypeError whose message begins
    "symgrad: ") as the SymgradError it is."""
    message = str(error)
    if isinstance(error, (ValueError, TypeError)) and message.startswith("symgrad: "):
        raise SymgradError(f"{fn.__qualname__}: {message.removeprefix('symgrad: ')}") from None


def _failed(artifact: _Artifact, fn: Callable, values, error: Exception, like) -> Any:
    """What a call of the module that raised `error` gives: a `NotDifferentiableError` for a
    value that is no scalar, a `SymgradError` for what a runtime helper refuses (its message
    begins "symgrad: ": a list repeated by a computed int, a matrix norm) and for the items of
    a list a loop filled that `np.stack` cannot stack, an
    unsupported operation on another library's arrays named, or
    on a Numba failure (or a module with compiled loops that does not load), the NumPy
    module's result (once warned); else the error itself."""
    frames, tb = [], error.__traceback__
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    code = getattr(getattr(artifact, "_fn", None), "__code__", None)
    own = [f for f in frames if code is None or f.tb_frame.f_code.co_filename == code.co_filename]
    tb, at = frames[-1] if frames else None, own[-1] if own else None  # (at: the module's)
    raised_by = tb.tb_frame.f_code.co_name if tb is not None else None
    message = str(error)
    refused(fn, error)
    if isinstance(error, ArithmeticError) and any(type(v) is float for v in values):
        # (Python's floats raise where NumPy's give inf or nan: a derivative's 1.0 / x at 0.0
        # of np.log(x) the user guarded with np.where): again on NumPy's, as JAX reads them
        return _run(artifact, fn, [np.float64(v) if type(v) is float else v for v in values])
    if isinstance(error, ValueError):
        if raised_by == "_check_scalar":
            raise NotDifferentiableError(f"{fn.__qualname__}: {error}") from None
        joined = raised_by == "stack" and "same shape" in message
        lines = str(artifact.source).splitlines() if at is not None else []
        line = lines[at.tb_lineno - 1] if lines and 0 < at.tb_lineno <= len(lines) else ""
        ranks = "input arrays must have same number of dimensions" in message  # (C's: no frame)
        rows = ranks or "cannot reshape array" in message  # (the loop's rows as the first's)
        if joined or rows and "np.concatenate([np.stack(" in line:  # (a list's first items)
            raise SymgradError(
                f"{fn.__qualname__}: the items a loop appended to a list have different shapes "
                "(slices that grow, lists of different lengths): symgrad stacks the items of a "
                "list a loop fills, which must have one shape",
                hint="Append items of one shape (pad them), or keep each in a name of its own.",
            ) from None
        raise error
    unsupported = None if like is None else failure(error, artifact.name, like)
    if unsupported is not None:
        raise unsupported from error
    numba_failed = type(error).__module__.startswith("numba")
    if artifact.fallback is None or not (numba_failed or isinstance(error, SyntaxError)):
        raise error  # (a SyntaxError: the module with compiled loops, written wrong)
    why = str(error).strip()
    why = f"{type(error).__name__}: {why.splitlines()[0] if why else ''}"
    warnings.warn(
        f"symgrad could not compile the loops of {artifact.name} with Numba ({why}); "
        "running the NumPy module instead. Please report this.",
        SpecialisationWarning,
        stacklevel=4,
    )
    plain = artifact.fallback()  # from now on, in place of the module that failed
    artifact._graph, artifact._source, artifact._fn = plain.graph, plain.source, plain.fn
    artifact.fallback = None
    return artifact.fn(*values)


class Compiled:
    """A differentiated function: call it, read `.source`, inspect `.graph`, `.save(path)`."""

    def __init__(
        self,
        fn: Callable,
        argnums,
        kind: str,
        has_aux: bool = False,
        backend: str = "numpy",
        recompute: bool = False,
    ):
        if kind not in KINDS or kind == "hessian":
            raise SymgradError(
                f"unknown kind {kind!r}; the kinds are {', '.join(KINDS)}",
                hint="A Hessian is symgrad.hessian(f), the Jacobian of symgrad.grad(f).",
            )
        self.bound = None  # a bound method's self: the function's first argument, as a container
        method = getattr(fn, "__func__", None)
        if isinstance(fn, types.MethodType) and isinstance(method, types.FunctionType):
            argnums, single = _normalise_argnums(fn, argnums)
            self.bound, fn, argnums = fn.__self__, method, tuple(k + 1 for k in argnums)
            argnums = argnums[0] if single else argnums
        if isinstance(fn, Compiled) and fn.bound is not None:  # a method's gradient, again:
            argnums, single = _normalise_argnums(fn, argnums)  # that of its function, self bound
            self.bound, nums = fn.bound, fn.argnums[0] if fn._single else fn.argnums
            fn = Compiled(fn.fn, nums, fn.kind, fn.has_aux, fn.backend, fn.recompute)
            argnums = tuple(k + 1 for k in argnums)
            argnums = argnums[0] if single else argnums
        self._partial = None  # a partial differentiated: (it, what its function was made of)
        made = partials.as_function(fn) if isinstance(fn, functools.partial) else None
        if made is not None:  # (its function: `symgrad.partials`)
            self._partial, fn = (fn, partials.state(fn)), made
        custom = getattr(fn, "symgrad_custom", None)  # symgrad.custom_vjp: lowered with its rule
        if not isinstance(fn, (types.FunctionType, Compiled)) and not custom:
            what = getattr(fn, "__name__", type(fn).__name__)
            verb = "compile" if kind == "jit" else "differentiate"
            raise SourceUnavailableError(
                f"cannot {verb} {what}: it is a {type(fn).__name__}, not a Python function "
                "with source",
                hint=f"Wrap it in a `def` in a source file: def f(x): return np.sum({what}(x)).",
            )
        if has_aux and (kind not in ("grad", "value_and_grad") or isinstance(fn, Compiled)):
            raise SymgradError(
                f"has_aux is an option of grad and value_and_grad of a Python function, not of "
                f"{kind} of {getattr(fn, '__qualname__', fn)}"
            )
        self.fn = fn
        self.kind = kind
        self.has_aux = has_aux
        if kind != "jit" and isinstance(argnums, (tuple, list)) and not argnums:
            raise SymgradError(
                f"{kind} of {getattr(fn, '__qualname__', fn)} with argnums=() differentiates "
                "nothing",
                hint="Name the arguments to differentiate: argnums=0, argnums=(0, 1).",
            )
        argnums = () if kind == "jit" else argnums  # it differentiates nothing
        self.backend = checked_backend(backend)
        self.recompute = _recompute_of(kind, recompute)
        self.argnums, self._single = _normalise_argnums(fn, argnums)
        self.__name__ = f"{kind}_{_name_of(fn)}"
        self.__qualname__ = f"{kind}_{fn.__qualname__}"
        if kind == "jacfwd" and isinstance(fn, Compiled):  # as its module names it (`_jacobian`)
            root = user_function(fn)
            self.__name__, self.__qualname__ = (
                f"hessian_{_name_of(root)}",
                f"hessian_{root.__qualname__}",
            )
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn
        self._fast = Learnt()  # ((artifact, specialisation), as_is) per signature: __call__
        self._free: tuple = ()  # where the arrays its module reads from outside are
        self._last: tuple = (None, None)  # the latest call's (artifact, specialisation)
        self._constants: tuple = ()  # the positions of arguments compiled as constants
        # (`_compiled_for`: an int a NumPy function takes as its axis)

    @property
    def _emission(self) -> tuple[str, bool]:
        """How its modules are emitted: (backend, recompute), the last arguments of `_compile`."""
        return self.backend, self.recompute

    @property
    def _artifact(self) -> _Artifact:
        return _compile(
            self.fn, self.argnums, self.kind, self._single, (), self.has_aux, *self._emission
        )

    @property
    def _polymorphic(self) -> _Artifact:
        """The shape-polymorphic module: for the containers of the latest call where it had
        some (a method's self is one), else for arrays and numbers."""
        _, _, *trees = self._last
        if trees and trees[0]:
            return _compile(
                self.fn,
                self.argnums,
                self.kind,
                self._single,
                trees[0],
                self.has_aux,
                *self._emission,
            )
        if self.bound is not None:
            raise SymgradError(
                f"{self.__qualname__} of a method: its module is compiled for its object's "
                "attributes, which a call gives",
                hint="Call it once first, then save it (or read .source).",
            )
        return self._artifact

    @property
    def _latest(self) -> _Artifact:
        """The module for the signature of the latest call, or the shape-polymorphic one."""
        base, latest, *_ = self._last
        artifact = self._polymorphic
        return latest if base is artifact else artifact

    @property
    def source(self) -> Source:
        """The emitted module, as text: the one specialised for the latest call's argument
        types (its docstring says which), or before any call the shape-polymorphic one.
        Notebooks show it highlighted (`symgrad.display.Source`)."""
        return self._latest.source

    @property
    def graph(self) -> Graph:
        """The IR `source` was emitted from (`.nx` is the networkx graph)."""
        return self._latest.graph

    def save(self, path: str) -> str:
        """Write the shape-polymorphic module (for any argument shapes) to `path`; it imports
        only NumPy (for the containers, and the constants compiled into it, of the latest call,
        where it had some: `mode="mean"`, an axis; its docstring names them, and it has no
        parameter for them). Returns the source."""
        source = self._polymorphic.source
        try:
            with open(path, "w") as f:
                f.write(source)
        except OSError as e:
            raise SymgradError(f"cannot write the module to {path}: {e.strerror}") from None
        return source

    def _made_again(self) -> None:
        """A partial's function made again where the partial, or its function's defaults,
        changed since (a keyword bound anew: `p.keywords["X"] = ...`), its calls' cache
        with it."""
        p, held = self._partial
        now = partials.state(p)
        if not partials.same(held, now):
            self._partial, self.fn = (p, now), partials.as_function(p)
            self._fast, self._free, self._constants = Learnt(), (), ()

    def __call__(self, *args, **kwargs):
        if self._partial is not None:
            self._made_again()
        given = None if kwargs else _with_free(args, self._free) if self._free else args
        if given is not None:  # the fast path: a signature called before, nothing it read changed
            hit = self._fast.entries.get(signature_key(given, self._fast.shape_ints))
            if hit is not None:
                last, as_is = hit
                if last[0].reads.fresh():
                    self._last = last
                    artifact = last[1]
                    if artifact.ready and not artifact.foreign:  # (`_run`, one call fewer)
                        try:
                            result = artifact._fn(*given)
                        except Exception as e:
                            result = _failed(artifact, self.fn, given, e, None)
                    else:
                        result = _run(artifact, self.fn, given)
                    return result if as_is else self._finish(result, last[0])
        if self.bound is not None:  # a method: self's arrays and floats are leaves, constant
            values = _bind(self.fn, (self.bound, *args), kwargs)
            _check_differentiable(self.fn, values, self.argnums)
            return self._call_on_trees(values)  # (never on the fast path)
        values = _bind(self.fn, args, kwargs)
        _check_differentiable(self.fn, values, self.argnums)
        if self._constants or by_leaves(values):
            return self._call_on_trees(values)
        try:
            base = self._artifact
        except NeedsConstant as error:
            self._constants = self._more_constants(values, error)
            return self._call_on_trees(values)
        free = free_values(base)
        artifact = specialised(base, values + free)
        self._last = last = (base, artifact)  # (`last`: another thread may set `_last` too)
        result = _run(artifact, self.fn, values + free)
        if not kwargs and len(values) == len(args):  # all given: the same call binds the same
            self._free = base.free  # (the arrays read from outside: keyed on, passed after)
            entry = (last, self._as_is(base, result))
            self._fast.learn(args + tuple(free), base.shape_ints or (), entry)
        return self._finish(result, base)

    def _call_on_trees(self, values: list) -> Any:
        """A call with containers of parameters: the module compiled for their structure
        runs on their leaves, and each gradient comes back in its argument's structure (None
        at a leaf that is no float), a Jacobian nested as JAX nests it."""
        if self.kind not in ("grad", "value_and_grad", "jit", *JACOBIANS):
            raise SymgradError(
                f"{self.kind} of {self.fn.__qualname__}: a {self.kind} of containers (dicts, "
                f"lists, tuples, dataclasses) is called as symgrad.{self.kind}(f, ...)",
                hint=f"Call symgrad.{self.kind}, which flattens the containers.",
            )
        leaves, trees, base = self._compiled_for(values, self._single, self.has_aux)
        artifact = specialised(base, leaves)
        self._last = (base, artifact, trees)
        result = _run(artifact, self.fn, leaves)
        if self.kind == "jit":
            return _returned(result, base.out)
        if self.kind in JACOBIANS:
            return jacobian(result, base.out, dict(trees), self.argnums, self._single)
        return self.from_leaves(result, base.aux, trees)

    def on_leaves(self, args: tuple, kwargs: dict | None = None) -> tuple[list, tuple, _Artifact]:
        """(the module's arguments, the containers, the module) for a call on `args` (a
        method's self first, defaults filled in), compiled for their containers: what vjp, jvp
        and linearize call with their cotangents or tangents added."""
        if self._partial is not None:
            self._made_again()
        bound = self.bound is not None
        values = _bind(self.fn, (self.bound, *args) if bound else args, kwargs or {})
        return self._compiled_for(values, False, False)

    def _compiled_for(self, values: list, single: bool, has_aux: bool) -> tuple:
        """(the module's arguments, the containers, the module) for a call on `values`; where
        the function needs a constant (an axis) that an argument that is no array nor float
        gives (`def f(x, axis=-1)`), compiled with those arguments as constants, for their
        values (as `jax.jit`'s static arguments), from then on."""
        bound = self.bound is not None
        while True:
            leaves, trees = leaves_of(values, bound, self._constants)
            try:
                kind, nums, emission = self.kind, self.argnums, self._emission
                artifact = _compile(self.fn, nums, kind, single, trees, has_aux, *emission)
                return leaves + free_values(artifact), trees, artifact
            except NeedsConstant as error:
                self._constants = self._more_constants(values, error)

    def _more_constants(self, values: list, error: NeedsConstant) -> tuple:
        """The positions of the arguments to compile as constants, with those `error` asks
        for (`containers.more_constants`, raising it where none), none differentiated nor a
        method's self."""
        first = 1 if self.bound is not None else 0
        free = [k for k in range(first, len(values)) if k not in self.argnums]
        return more_constants(error, values, _params(self.fn), free, self._constants)

    def from_leaves(self, result, aux: Layout | None, trees: tuple) -> Any:
        """What the module compiled for containers `trees` returned, as the call returns it:
        each gradient in its argument's structure."""
        value, aux, flat = self._parts(result, aux)
        grads = in_structures(iter(flat), dict(trees), self.argnums)
        return self._shaped(value, aux, grads)

    def _parts(self, result, aux: Layout | None) -> tuple[Any, Any, tuple]:
        """(value or None, aux or None, gradients) of what a grad or value_and_grad module
        returned: the value, the aux's arrays, then the gradients, each where it has them."""
        flat = result if isinstance(result, tuple) else (result,)
        value = None
        if self.kind == "value_and_grad":
            value, flat = flat[0], flat[1:]
        if aux is None:
            return value, None, flat
        n = aux.n_outputs
        return value, aux.build(flat[:n]), flat[n:]

    def _shaped(self, value, aux, grads) -> Any:
        """The result as JAX gives it: the gradient (a tuple of them for a tuple argnums),
        with the value first for value_and_grad, and the aux: `(grad, aux)`,
        `((value, aux), grad)`."""
        out = grads[0] if self._single else tuple(grads)
        if self.kind == "value_and_grad":
            return ((value, aux) if self.has_aux else value), out
        return (out, aux) if self.has_aux else out

    def _as_is(self, base: _Artifact, result) -> bool:
        """Whether `_finish` returns `result`, what the emitted function of `base` returned,
        as it is (decided once per signature, so that a cached call skips it: the module of a
        signature returns results of one structure)."""
        if base.aux is not None or base.out is not None:
            return False
        single = self._single and self.kind in ("grad", "value_and_grad")  # (its pair, as is)
        several = self.kind == "grad" and isinstance(result, tuple)  # a tuple of gradients
        return self.kind in ("jit", *JACOBIANS) or single or several

    def _finish(self, result, base: _Artifact):
        """What the emitted function of `base` returned, as the transformation returns it."""
        if base.aux is not None:
            value, aux_value, grads = self._parts(result, base.aux)
            return self._shaped(value, aux_value, grads)
        kind = self.kind
        if kind == "jit":  # what the function returns
            return _returned(result, base.out)
        if kind in JACOBIANS:  # nested in the structure of a container output
            if base.out is None:
                return result
            return jacobian(result, base.out, {}, self.argnums, self._single)
        if kind == "value_and_grad":
            value, *grads = result
            return value, grads[0] if self._single else tuple(grads)
        if self._single:
            return result
        return result if isinstance(result, tuple) else (result,)

    def symgrad_inline(self, args: tuple, kwargs: dict) -> Inline:
        """This gradient called inside a function symgrad differentiates (nested AD,
        `symgrad.frontend.nested`): its shape-polymorphic graph, bound to the call's values."""
        if self.kind not in ("grad", "value_and_grad") or self.has_aux or self.bound is not None:
            raise SymgradError(
                f"{self!r} is called inside a differentiated function: only grad and "
                "value_and_grad of a function (without has_aux) can be, and symgrad.jvp",
                hint="Differentiate through symgrad.grad(f) or symgrad.jvp(f, primals, "
                "tangents) in the function.",
            )
        values = _bind(self.fn, args, kwargs)
        if any(isinstance(v, (dict, list)) or tree.is_tree(v) for v in values):
            raise SymgradError(
                f"{self!r} is called on a container inside a differentiated function; "
                "nested gradients take arrays and numbers so far"
            )

        def result(outs: list) -> Any:
            value, grads = (outs[0], outs[1:]) if self.kind == "value_and_grad" else (None, outs)
            return self._shaped(value, None, grads)

        return inlined(self._artifact, self.fn, values, result)

    def __repr__(self) -> str:
        return f"<symgrad {self._describe()}>"

    def _describe(self) -> str:
        """What it computes, as `repr` shows it: "grad of f argnums=(0, 1)", "hessian of f
        argnums=0" (jacfwd of grad at the same arguments), "grad of (grad of f argnums=0)
        argnums=0"."""
        kind, inner = self.kind, self.fn
        if (
            kind == "jacfwd"
            and isinstance(inner, Compiled)
            and (inner.kind, inner.has_aux, inner._argnums) == ("grad", False, self._argnums)
        ):
            kind, inner = "hessian", inner.fn
        of = f"({inner._describe()})" if isinstance(inner, Compiled) else inner.__qualname__
        options = [f"argnums={self._argnums}"] if kind != "jit" else []
        if self.has_aux:
            options.append("has_aux=True")
        if self.backend != "numpy":
            options.append(f"backend={self.backend!r}")
        if self.recompute:
            options.append("recompute=True")
        return " ".join([f"{kind} of {of}", *options])

    @property
    def _argnums(self) -> int | tuple[int, ...]:
        """argnums as the user gave it (a bound method's self not counted)."""
        nums = tuple(k - (self.bound is not None) for k in self.argnums)
        return nums[0] if self._single else nums


class Derivative:
    """What `vjp` and `linearize` return: a function of cotangents (tangents) at the primals
    they were given, with the emitted module's `.source` and `.graph`."""

    def __init__(self, name: str, compiled: Compiled, call: Callable, artifact: _Artifact):
        self.__name__ = self.__qualname__ = name
        self.source, self.graph = artifact.source, artifact.graph  # compiled now: errors now
        self._of, self._call = compiled, call

    def __call__(self, *args) -> Any:
        return self._call(*args)

    def __repr__(self) -> str:
        return (
            f"<symgrad {self.__name__} of {self._of.fn.__qualname__} argnums={self._of._argnums}>"
        )


def _decorator(
    kind: str,
    fun: Callable | None,
    argnums,
    has_aux: bool = False,
    backend: str = "numpy",
    recompute: bool = False,
) -> Any:
    if fun is None:
        return lambda f: Compiled(f, argnums, kind, has_aux, backend, recompute)
    if not callable(fun):
        raise SymgradError(f"{kind} expects a function, got {type(fun).__name__}")
    return Compiled(fun, argnums, kind, has_aux, backend, recompute)


RECOMPUTING = ("grad", "value_and_grad", "vjp")  # the kinds whose modules run a backward pass


def _recompute_of(kind: str, recompute) -> bool:
    """`recompute`, which must be a bool, and True only for a kind in `RECOMPUTING`."""
    if not isinstance(recompute, bool):
        raise SymgradError(f"recompute must be True or False, not {recompute!r}")
    if recompute and kind not in RECOMPUTING:
        raise SymgradError(
            f"recompute is an option of {', '.join(RECOMPUTING)}, which run a backward pass, "
            f"not of {kind}"
        )
    return recompute


BACKENDS = ("numpy", "numba")


def checked_backend(backend: str) -> str:
    """`backend`, which must be one of `BACKENDS` (and, for "numba", importable)."""
    if backend not in BACKENDS:
        raise SymgradError(
            f"unknown backend {backend!r}; the backends are {', '.join(map(repr, BACKENDS))}"
        )
    if backend == "numba" and importlib.util.find_spec("numba") is None:
        raise SymgradError(
            "backend='numba' needs Numba, which is not installed",
            hint='pip install "symgrad[numba]" (or pip install numba).',
        )
    return backend


def _static(maker: Callable) -> Callable:
    """Mark a transformation's maker as one to call when lowering, where a differentiated
    function calls it (`symgrad.grad(phi)(x)` inside f; `symgrad.frontend.nested`)."""
    maker.symgrad_static = True
    return maker


@_static
def grad(
    fun: Callable | None = None,
    argnums: int | tuple[int, ...] = 0,
    has_aux: bool = False,
    backend: str = "numpy",
    recompute: bool = False,
) -> Any:
    """The gradient of a scalar-valued `fun` with respect to the arguments `argnums`.

    Use as `grad(f)`, `grad(f, argnums=(0, 1))`, `@grad` or `@grad(argnums=1)`. An int argnums
    gives one gradient, a tuple a tuple of gradients, each shaped and typed like its argument
    (a container's in its structure). With `has_aux`, `fun` returns `(value, aux)` and the call
    `(gradient, aux)`, aux as `fun` computes it (any container of arrays and numbers).
    `backend="numba"` runs the elementwise work of each specialisation as loops compiled by
    Numba (docs/api.md, "Backends"). With `recompute=True` a loop's tape holds only the values
    it carries from step to step, and each backward step recomputes its forward step's other
    values: less memory, about one more forward pass of time (docs/api.md, "Recomputation").
    """
    return _decorator("grad", fun, argnums, has_aux, backend, recompute)


def _returned(result, out: Layout | None) -> Any:
    """What a jit's function returns, from its module's outputs (a container's leaves)."""
    if out is None:
        return result
    return out.build(result if isinstance(result, tuple) else (result,))


def jit(fun: Callable | None = None, backend: str = "numpy") -> Any:
    """`fun` itself, compiled as the transformations are: specialised at each call for its
    arguments' shapes and dtypes, and with `backend="numba"` its loops and elementwise work
    run as Numba code. The call returns what `fun` returns (an array, a number, or a tuple of
    them); `.source` shows the module. Use as `jit(f)` or `@jit(backend="numba")`."""
    return _decorator("jit", fun, (), False, backend)


@_static
def value_and_grad(
    fun: Callable | None = None,
    argnums: int | tuple[int, ...] = 0,
    has_aux: bool = False,
    backend: str = "numpy",
    recompute: bool = False,
) -> Any:
    """Like `grad`, but the call returns `(fun(*args), gradient)`; with `has_aux`,
    `((value, aux), gradient)`."""
    return _decorator("value_and_grad", fun, argnums, has_aux, backend, recompute)


def vjp(
    fun: Callable, *primals, backend: str = "numpy", recompute: bool = False
) -> tuple[Any, Derivative]:
    """`(fun(*primals), vjp_fn)` where `vjp_fn(ct)` returns one cotangent per primal.

    Cotangents are computed for the float primals (and containers holding floats, each
    cotangent in its primal's structure, None at leaves that are no float); other primals get
    None. fun may return a container: ct then has its structure. `backend` and `recompute`
    as for `grad`.
    """
    floats = tuple(k for k, v in enumerate(primals) if differentiable(v))
    out = run_on_copies(fun, primals)
    if not floats:
        raise NotDifferentiableError(f"vjp of {fun.__qualname__}: no float argument")
    compiled = Compiled(fun, floats, "vjp", backend=backend, recompute=recompute)
    leaves, trees, artifact = compiled.on_leaves(primals)
    leaves = list(copies(leaves))  # (the point vjp_fn differentiates at, a method's self too)
    fast = Learnt()  # the module specialised for a cotangent, by its signature (see below)
    every = not trees and len(floats) == len(primals)  # the module's results, as they are

    def call(ct):
        module = fast.entries.get(signature_key((ct,), ()))
        if module is None:
            cts = output_leaves(fun, "vjp", ct, out, artifact.out)
            module = specialised(artifact, leaves + cts)
            if not trees and artifact.out is None and type(ct) in _AS_GIVEN:
                fast.learn((ct,), (), module)  # one array or number of a shape its key says
        else:
            cts = [ct]
        result = _run(module, compiled.fn, leaves + cts)
        result = result if isinstance(result, tuple) else (result,)
        if every:
            return result
        cotangents = [None] * len(primals)
        for k, c in zip(floats, in_structures(iter(result), dict(trees), compiled.argnums)):
            cotangents[k] = c
        return tuple(cotangents)

    return out, Derivative("vjp_fn", compiled, call, artifact)


def emit_module(
    fun: Callable,
    path: str | None = None,
    argnums: int | tuple[int, ...] = 0,
    kind: str = "grad",
    backend: str = "numpy",
    args: tuple | None = None,
    recompute: bool = False,
) -> str:
    """The emitted module of `fun` as text (`kind`: one of `KINDS`, default the gradient); also
    written to `path` when given. With example arguments `args` (one per parameter of `fun`),
    the module specialised for their shapes and dtypes, as a call with them runs; without,
    the shape-polymorphic one (containers of parameters need `args`: the module is compiled for
    their structure, with a parameter per leaf). `backend="numba"` compiles loops over known
    shapes, so it needs `args`; `recompute` is `grad`'s (the polymorphic module recomputes)."""
    if kind == "hessian":
        _recompute_of(kind, recompute)
        compiled = Compiled(grad(fun, argnums), argnums, "jacfwd", backend=backend)
    else:
        compiled = Compiled(fun, argnums, kind, backend=backend, recompute=recompute)
    if args is None:
        if backend != "numpy":
            raise SymgradError(
                f"backend={backend!r} emits loops over known shapes: give example arguments",
                hint="emit_module(f, args=(x, y), backend='numba'); on the command line, "
                '--args "x: 1000, y: 3x4".',
            )
        return Source(compiled.save(path) if path else compiled._artifact.source)
    bound = compiled.bound is not None  # (a method: its self the function's first argument)
    target = compiled.fn if bound else user_function(fun)
    positional, keywords = _example_call(target, (compiled.bound,) * bound + tuple(args))
    values = _bind(target, positional, keywords)
    _check_differentiable(target, values, compiled.argnums)
    if kind in ("jvp", "vjp") and any(tree.is_tree(v) for v in values):
        raise SymgradError(
            f"emit_module(kind={kind!r}) of container arguments (dicts, lists, tuples, "
            "dataclasses) is not supported yet",
            hint="Emit the gradient or a Jacobian of them (kind='grad', 'jacrev'), which take "
            "their leaves, or pass the arrays as arguments of their own.",
        )
    try:
        whole = not bound and not by_leaves(values) and compiled._artifact
    except NeedsConstant as error:  # (an axis an argument gives: compiled for its value)
        if kind in ("jvp", "vjp"):
            raise
        compiled._constants = compiled._more_constants(values, error)
        whole = None
    if not whole:
        leaves, _, artifact = compiled.on_leaves(positional[bound:], keywords)
        return _written(_checked(artifact, leaves), path)
    values += free_values(compiled._artifact)  # (the arrays it reads from outside)
    if kind in ("jvp", "vjp"):
        if kind == "jvp":
            extra = [values[k] for k in compiled.argnums]
        else:  # a cotangent per output (per array or float leaf of a container)
            out, layout = run_on_copies(fun, args), compiled._artifact.out
            extra = (
                [out]
                if layout is None
                else [o for o, s in zip(tree.flatten(out)[0], layout.slots) if not s]
            )
        values += [np.zeros_like(v) if isinstance(v, np.ndarray) else 0.0 * v for v in extra]
    return _written(_checked(compiled._artifact, values), path)


def _example_call(fn: Callable, args: tuple) -> tuple[tuple, dict]:
    """`emit_module`'s example `args` (one per parameter of fn, in order) as a call's
    positional and keyword-only arguments."""
    params = list(signature(fn).parameters.values())
    n = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
    named = [p.name for p in params if p.kind == p.KEYWORD_ONLY]
    return args[:n], dict(zip(named, args[n:]))


def _checked(artifact: _Artifact, values: list) -> str:
    """The module specialised for `values`, checking that it is called with their shapes,
    dtypes and static ints (`symgrad.emit.guard`)."""
    source = specialised(artifact, values).source
    return guarded(source, artifact.name, values, artifact.shape_ints or ())


def _written(source: str, path: str | None) -> Source:
    """The module's source, also written to `path` when given."""
    if path:
        with open(path, "w") as f:
            f.write(source)
    return Source(source)
