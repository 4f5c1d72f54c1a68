"""Custom derivatives: the primitives that carry a user's `custom_vjp` or `custom_jvp` rule.

Contract: a call to a `symgrad.custom_vjp` function is lowered (`symgrad.frontend.custom`) to
the user's forward function, then `custom_vjp(y, [captured], [primals], bwd, slots, of)`: the
value y it computed, whose cotangent reaches the primals (the arguments' array and float
leaves) through the user's backward function only. That function is lowered to the graph
`bwd` (params: the `captured` values it reads, residuals first, then the cotangent of y;
`slots[k]` is the output holding primal k's cotangent, None for zero), spliced in once where
the reverse pass meets the node. Forward mode through it is refused, as JAX refuses it.

A call to a `symgrad.custom_jvp` function is lowered to the user's JVP function applied to
`custom_primal(x)` for each primal x (x, through which nothing is differentiated) and
`tangent_seed(x)` (zeros, whose derivative is x's), then `custom_jvp(y, tangent)`: the value y
the rule computes, differentiated as the tangent it computes. Forward mode carries x's tangent
through the rule; reverse mode differentiates the rule's tangent back to the seeds, which
transposes the rule (it is linear in the tangents), as JAX does.

These hold for one differentiation. `settle(graph)`, which `simplify` runs on the graph a
pass made, makes each the plain value it is (`custom_vjp` and `custom_jvp` their y,
`custom_primal` its x, `tangent_seed` zeros), in the graphs structured nodes own too, so
the user's functions are then ordinary code: a gradient differentiated again differentiates
through them, as JAX does.
"""

from __future__ import annotations

import weakref

from symgrad.errors import SymgradError
from symgrad.ir import Graph
from symgrad.ir.graph import subgraphs
from symgrad.rules import runtime
from symgrad.rules.build import Value, add_node, location, ops, splice
from symgrad.rules.table import LINEAR, RULES, call, defrule

_SPLICED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # bwd -> {(node, g): cts}


def _itself(args, attrs, rule):
    return args[0]


def _backward(g, ans, captured, primals, bwd, slots, of):
    """The primals' cotangents: the backward function spliced in once per node and cotangent
    (the reverse pass asks once per primal), each checked to have its primal's shape."""
    done = _SPLICED.setdefault(bwd, {})
    key = (ans.id, g.id)
    if key not in done:
        outs = splice(bwd, [*captured, g])
        what = f"the custom_vjp backward function of {of} returned a cotangent"
        done[key] = [
            ops.zeros_like(p) if s is None else ops.shaped_as(outs[s], p, what, "an argument")
            for s, p in zip(slots, primals)
        ]
    return done[key]


def _shapes(ins) -> tuple | None:
    """(v's shape, x's shape), where both Avals know them."""
    v, x = ins["v"], ins["x"]
    known = v is not None and x is not None and v.known and x.known
    return (v.shape, x.shape) if known else None


def _same_shape(ins, attrs):
    """v's Aval, where it has x's shape (or either is not known); a shape the Avals show to
    differ is refused when the function is specialised."""
    shapes = _shapes(ins)
    if shapes is not None and shapes[0] != shapes[1]:
        raise SymgradError(
            f"{attrs['what']} of shape {shapes[0]} for {attrs['of']} of shape {shapes[1]}",
            location(),
            hint="A custom_vjp rule returns one cotangent per argument, each of its argument's "
            "shape, and a custom_jvp rule a tangent of its value's shape (as JAX requires).",
        )
    return ins["v"]


def _checked(ins):
    """v itself where the Avals show it has x's shape."""
    shapes = _shapes(ins)
    return (lambda v, x: v) if shapes is not None and shapes[0] == shapes[1] else None


def _no_forward(t, of):
    raise SymgradError(
        f"{of} has a custom_vjp rule, and forward mode (jvp, linearize, jacfwd) cannot "
        "differentiate a custom_vjp function (as in JAX)",
        location(),
        hint="Reverse mode (grad, vjp, jacrev) can, and so can forward over reverse (hessian, "
        "hvp). For forward mode, define the derivative with symgrad.custom_jvp instead: "
        "reverse mode transposes it.",
    )


defrule(
    "custom_vjp",
    "y, [captured], [primals], bwd=..., slots=..., of=...",
    _itself,  # the value itself; the rule is in the backward pass
    vjp={"primals": _backward},
    jvp={"primals": _no_forward},
    custom=True,
    shape="first",
    view=True,
    inline=True,
    aval=lambda ins, attrs: ins["y"],
    math="the user's f_bwd(residuals, v): one cotangent per argument (no forward mode, as in JAX)",
)
defrule(
    "shaped_as",
    "v, x, what='', of=''",
    call("_shaped_as"),
    helper=runtime._shaped_as,
    vjp={"v": lambda g: g},
    jvp=LINEAR,
    shape="first",
    shape_reads=(1,),
    value_feeds=(0,),
    view=True,
    aval=_same_shape,
    specialise=_checked,
    examples=("_shaped_as(v, x) | v: 3x4, x: 3x4 const",),
    math="v: the value itself, which raises unless it has x's shape (a custom rule's result)",
)
defrule(
    "custom_jvp",
    "y, tangent",
    _itself,
    vjp={"tangent": lambda g: g},
    jvp={"tangent": lambda t: t},
    custom=True,
    shape="first",
    view=True,
    inline=True,
    aval=lambda ins, attrs: ins["y"],
    math="v, sent to the tangent of the user's f_jvp (which reverse mode transposes)",
)
_MARK = dict(  # the facts of a mark on a value x: x itself, through which nothing is differentiated
    nondiff=True, custom=True, shape="first", view=True, inline=True, aval=lambda ins, a: ins["x"]
)
defrule(
    "custom_primal",
    "x",
    _itself,
    math="x as a custom_jvp rule reads it: not differentiated while the rule is used",
    **_MARK,
)


def _nondiff_refusal(attrs: dict) -> tuple[str, str]:
    return (
        f"an argument in nondiff_argnums of {attrs['of']} (a custom rule's function) depends "
        "on a value symgrad differentiates here, and the rule gives it no derivative (JAX "
        "refuses this too)",
        "Pass it as an ordinary argument (its cotangent returned by the backward function, its "
        "tangent read by the JVP function), or pass a value that does not depend on what is "
        "differentiated.",
    )


defrule(
    "nondiff_arg",
    "x, of=''",
    _itself,
    smooth_in=lambda n: (0,),
    refusal=_nondiff_refusal,
    math="x as a custom rule's nondiff_argnums read it: a differentiated value is refused",
    **_MARK,
)
defrule(
    "tangent_seed",
    "x",
    call("np.zeros_like"),
    vjp={"x": lambda g: g},
    jvp={"x": lambda t: t},
    custom=True,
    shape="first",
    fresh=True,
    math="v: the zero tangent a custom_jvp rule is given, whose derivative is x's",
)

_ITSELF = ("custom_vjp", "custom_jvp", "custom_primal", "nondiff_arg")


def settle(graph: Graph) -> bool:
    """Make the custom primitives of `graph` (and of the graphs its nodes own) plain values;
    whether there were any. A graph owned by a node loses the nodes no longer needed."""
    found = False
    for node in list(graph.nodes()):
        for sub in subgraphs(node):
            if settle(sub):
                keep = sub.ancestors_of(sub.outputs + sub.checks) | set(sub.params)
                sub.remove([n.id for n in sub.nodes() if n.id not in keep])
        if node.op not in RULES or not RULES[node.op].custom:
            continue
        found = True
        x = Value(node.inputs[0])
        if node.op in _ITSELF:
            graph.replace_uses(node.id, x.id)
        else:
            zeros = add_node(graph, RULES["zeros_like"], (x,), {}, node.loc, order=node.order)
            graph.replace_uses(node.id, zeros)
    return found
