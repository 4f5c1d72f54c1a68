"""Calls to symgrad's own transformations inside a differentiated function (nested AD).

Contract: a callable with a `symgrad_inline(args, kwargs) -> Inline` method (a compiled
`grad` or `value_and_grad`, and `symgrad.jvp`) is not called: its graph is spliced in at the
call, its params bound to the call's arguments, and the call's value is built from the spliced
outputs (`Inline.result`), so the outer transformation differentiates through it as through
any other code (`grad(f)` where f calls `grad(phi)`: forward-over-reverse or reverse-over-reverse
at the user's choice). A callable marked `symgrad_static` (`symgrad.grad` itself) is called
when lowering, on arguments known then (a function, argnums), and gives such a callable. What
the spliced transformation read counts as read by the outer one, so either going stale
recompiles both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from symgrad.errors import SymgradError
from symgrad.frontend.local_functions import LocalFunction
from symgrad.frontend.reads import Reads
from symgrad.ir import Graph
from symgrad.rules import Value

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer


@dataclass
class Inline:
    """A transformation as it is spliced into a function that calls it."""

    graph: Graph  # a copy, its own to splice
    arguments: list  # the call's values for the graph's params, in order
    reads: Reads  # what compiling it read
    result: Callable[[list], Any]  # the call's value, from the graph's outputs' values


def call(lw: _Lowerer, inline_of: Callable, args: tuple, kwargs: dict, e) -> Any:
    _no_local_functions(lw, args, kwargs, e)
    try:
        inline = inline_of(args, kwargs)
    except SymgradError as err:
        raise lw.error(e, err.message, err.hint) from None
    lw.reads.extend(inline.reads)
    return inline.result(splice(lw, inline.graph, inline.arguments, e))


def make(lw: _Lowerer, maker: Callable, args: tuple, kwargs: dict, e) -> Any:
    """`symgrad.grad(phi, argnums=1)` in the function: made now, from constants."""
    _no_local_functions(lw, args, kwargs, e)
    if any(isinstance(v, Value) for v in (*args, *kwargs.values())):
        raise lw.error(e, f"symgrad.{maker.__name__} takes a function and constants here")
    try:
        return maker(*args, **kwargs)
    except SymgradError as err:
        raise lw.error(e, err.message, err.hint) from None


def _no_local_functions(lw: _Lowerer, args: tuple, kwargs: dict, e) -> None:
    """A transformation inside the function differentiates functions defined outside it."""
    for v in (*args, *kwargs.values()):
        if isinstance(v, LocalFunction):
            name = "this lambda" if v.name == "<lambda>" else v.name
            raise lw.error(
                e,
                f"{name} is defined inside the differentiated function: symgrad transforms "
                "it there only where it is defined at module level",
                f"Define {name} at module level (a def), its free values passed as arguments.",
            )


def splice(lw: _Lowerer, graph: Graph, arguments: list, e) -> list[Value]:
    """Copy graph's nodes into the lowerer's graph, its params bound to `arguments`; the
    values of its outputs (an array it reads from outside, the outer function reads too). The
    copies take the call's location: their lines in the emitted code point at the call."""
    loc = lw.src.locate(e)
    given = iter(arguments)
    ids = {}
    for p in graph.params:  # (an array read from outside: the outer function's read of it)
        key = graph[p].attrs.get("free")
        value = (
            lw.free(key, graph[p].name, e) if key is not None else lw.as_value(next(given), e, True)
        )
        ids[p] = lw.as_node(lw.graph, value, loc)
    for node in graph.nodes():
        if node.op == "param":
            continue
        ids[node.id] = lw.graph.add(
            node.op,
            [ids[i] for i in node.inputs],
            node.attrs,
            loc,
            name=node.name,
            cot_of=ids.get(node.cot_of),
            tan_of=ids.get(node.tan_of),
        )
    lw.graph.checks += [ids[c] for c in graph.checks]
    return [Value(ids[o]) for o in graph.outputs]
