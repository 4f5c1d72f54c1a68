"""Lowering calls to functions with a custom derivative (`symgrad.custom_vjp`, `custom_jvp`).

Contract: `call(lw, custom, args, kwargs, e, inline)` lowers the call `e` to a function that
`symgrad.custom_vjp` or `symgrad.custom_jvp` wraps (an object with `symgrad_custom`, "vjp" or
"jvp", its function `fun`, `nondiff_argnums` and its rule: `fwd` and `bwd`, or `jvp`), as
`symgrad.rules.custom` describes, with JAX's conventions: `fwd(*args) -> (y, residuals)`,
`bwd(*nondiff_args, residuals, g) -> (one cotangent per other argument)`, and
`jvp(*nondiff_args, primals, tangents) -> (y, tangent)`. `inline(lw, fn, args, kwargs, e)`
inlines a user function (`symgrad.frontend.calls`): the forward and JVP functions are inlined
so; the backward function is lowered to a graph of its own, whose params are the residuals'
array leaves and the cotangent. A call to the function inside its own rule (`f_fwd` calling
`f`, as JAX's examples do) is a call to the plain function. What lowering read of the rule
counts as read, so `defvjp` given new functions compiles the gradient again. A lowering for
`jit` (`lower(..., rules=False)`) inlines the function itself: no rule is read there.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable

from symgrad import tree
from symgrad.errors import UnsupportedSyntaxError
from symgrad.frontend import fence
from symgrad.frontend.aliases import Memory
from symgrad.frontend.reads import free_params
from symgrad.ir import Graph
from symgrad.rules import Value

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer

_RULE = {"vjp": ("fwd", "bwd"), "jvp": ("jvp",)}
_DEFINE = {"vjp": "f.defvjp(f_fwd, f_bwd)", "jvp": "f.defjvp(f_jvp)"}


def call(lw: _Lowerer, custom, args: tuple, kwargs: dict, e, inline: Callable) -> Any:
    kind, fun = custom.symgrad_custom, custom.fun
    rule = [getattr(custom, attr) for attr in _RULE[kind]]
    if not lw.memory.rules:  # (compiled, not differentiated: the function, as JAX's jit)
        return inline(lw, fun, args, kwargs, e)
    if any(r is not None and lw.running(r.__code__) for r in rule):  # inside its own rule
        return inline(lw, fun, args, kwargs, e)
    if None in rule:
        raise lw.error(
            e,
            f"{fun.__qualname__} is a custom_{kind} function without its rule",
            f"Give it one before differentiating it: {_DEFINE[kind]}.",
        )
    for attr in _RULE[kind]:
        lw.reads.note(custom, attr, getattr(custom, attr))
    try:
        bound = inspect.signature(fun).bind(*args, **kwargs)
    except TypeError as err:
        raise lw.error(e, f"bad call to {fun.__qualname__}: {err}") from None
    bound.apply_defaults()
    values = list(bound.arguments.values())
    nondiff = [_fixed(lw, values[k], fun, e) for k in custom.nondiff_argnums]
    diff = [v for k, v in enumerate(values) if k not in custom.nondiff_argnums]
    if kind == "jvp":
        return _jvp(lw, custom, nondiff, diff, e, inline)
    out = _pair(lw, inline(lw, custom.fwd, tuple(values), {}, e), custom.fwd, "(y, residuals)", e)
    y = _one(lw, out[0], f"{custom.fwd.__qualname__}'s y", e)
    primals = [v for arg in diff for v in tree.flatten(arg)[0] if isinstance(v, Value)]
    bwd, captured, slots = _backward(lw, custom, nondiff, out[1], diff, e)
    attrs = {"bwd": bwd, "slots": slots, "of": fun.__qualname__}
    return lw.call_rule("custom_vjp", (y, captured, primals), attrs, e)


def _fixed(lw: _Lowerer, arg: Any, fun: Callable, e) -> Any:
    """A nondiff argument, each array leaf marked `nondiff_arg`: what the rule gives no
    derivative, which a differentiated value may not reach (`symgrad.passes.activity`)."""
    leaves, treedef = tree.flatten(arg)
    marked = [
        lw.call_rule("nondiff_arg", (v,), {"of": fun.__qualname__}, e)
        if isinstance(v, Value)
        else v
        for v in leaves
    ]
    return tree.unflatten(treedef, marked)


def _jvp(lw: _Lowerer, custom, nondiff: list, diff: list, e, inline: Callable) -> Any:
    """The JVP rule applied to the primals (not differentiated) and to zero tangents whose
    derivatives are the primals'; its value, differentiated as its tangent."""
    leaves, treedef = tree.flatten(tuple(diff))
    primals, tangents = [], []
    for v in leaves:
        if isinstance(v, Value):
            primals.append(lw.call_rule("custom_primal", (v,), {}, e))
            tangents.append(lw.call_rule("tangent_seed", (v,), {}, e))
        else:  # a constant: a zero tangent where it is a float
            primals.append(v)
            tangents.append(0.0 if isinstance(v, float) else None)
    arguments = (*nondiff, tree.unflatten(treedef, primals), tree.unflatten(treedef, tangents))
    out = _pair(lw, inline(lw, custom.jvp, arguments, {}, e), custom.jvp, "(y, tangent)", e)
    name = custom.jvp.__qualname__
    y, tangent = _one(lw, out[0], f"{name}'s y", e), _one(lw, out[1], f"{name}'s tangent", e)
    if isinstance(tangent, Value) and isinstance(y, Value):  # (0.0: a zero tangent)
        what = f"the custom_jvp rule {name} returned a tangent"
        tangent = lw.call_rule("shaped_as", (tangent, y), {"what": what, "of": "its value"}, e)
    return lw.call_rule("custom_jvp", (y, tangent), {}, e)


def _pair(lw: _Lowerer, out: Any, fn: Callable, what: str, e) -> tuple:
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise lw.error(e, f"{fn.__qualname__} must return a pair {what} (JAX's convention)")
    return tuple(out)


def _one(lw: _Lowerer, value: Any, what: str, e) -> Any:
    """value, which must be one array or number: a custom rule's function has one output."""
    if isinstance(value, Value) or isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raise lw.error(
        e,
        f"{what} is a {type(value).__name__}: symgrad's custom rules are for functions of one "
        "output, an array or a number, so far",
        "Return one array (np.stack several), or give each output a function of its own.",
    )


def _backward(lw: _Lowerer, custom, nondiff: list, res: Any, diff: list, e):
    """(graph, captured values, slots): the backward function lowered to a graph of its own,
    whose params are the captured values (the array leaves of the nondiff arguments and of
    the residuals), then the cotangent; slot k the output holding primal k's cotangent."""
    bwd, name = custom.bwd, custom.bwd.__qualname__
    src = fence.read(bwd)
    for attr in ("__code__", "__defaults__", "__kwdefaults__"):
        lw.reads.note(bwd, attr, getattr(bwd, attr))
    graph = Graph(src.tree.name, src.file, src.tree.lineno)
    leaves, treedef = tree.flatten((tuple(nondiff), res))
    captured = [v for v in leaves if isinstance(v, Value)]
    inner = [
        Value(graph.param(lw.graph[v.id].name or "res")) if isinstance(v, Value) else v
        for v in leaves
    ]
    nondiff_in, res_in = tree.unflatten(treedef, inner)
    g = Value(graph.param("g"))
    try:
        bound = inspect.signature(bwd).bind(*nondiff_in, res_in, g)
    except TypeError as err:
        raise lw.error(
            e,
            f"bad call to {name}: {err}",
            "JAX's convention: f_bwd(*nondiff_args, residuals, g).",
        ) from None
    given = list(bound.arguments)
    bound.apply_defaults()
    env = {
        k: v if k in given else lw.outside(v, k, e) for k, v in bound.arguments.items()
    }  # defaults, as read from outside
    lowerer = type(lw)(graph, src, env, lw.stack + (bwd.__code__,), Memory(), lw.reads)
    cts = lowerer.run()
    outside = [n.name for n in free_params(graph)]
    if outside:  # (its graph's params are the residuals and the cotangent alone)
        raise lw.error(
            e,
            f"{name} reads the array {outside[0]} from outside it: a custom_vjp's backward "
            "function reads what the forward function gives it",
            f"Return {outside[0]} among the residuals of {custom.fwd.__qualname__}.",
            cls=UnsupportedSyntaxError,
        )
    if not isinstance(cts, (tuple, list)) or len(cts) != len(diff):
        got = f"{len(cts)} values" if isinstance(cts, (tuple, list)) else type(cts).__name__
        raise lw.error(
            e,
            f"{name} must return a tuple of {len(diff)} cotangent(s), one per argument of "
            f"{custom.fun.__qualname__} (JAX's convention); it returns {got}",
            "Return (g_x,) for a function of one argument.",
        )
    where = src.locate(src.tree.body[-1])
    slots: list[int | None] = []
    for k, (arg, ct) in enumerate(zip(diff, cts)):
        primals = tree.flatten(arg)[0]
        leaves = [None] * len(primals) if ct is None else tree.flatten(ct)[0]
        if len(leaves) != len(primals):
            raise lw.error(
                e,
                f"{name}'s cotangent {k} has {len(leaves)} leaves, but its argument has "
                f"{len(primals)}: a cotangent has its argument's structure",
            )
        for primal, c in zip(primals, leaves):
            if not isinstance(primal, Value):
                continue
            if c is None or isinstance(c, (int, float)) and c == 0:
                slots.append(None)
                continue
            graph.outputs.append(lowerer.as_node(graph, c, where))
            slots.append(len(graph.outputs) - 1)
    return graph, captured, tuple(slots)
