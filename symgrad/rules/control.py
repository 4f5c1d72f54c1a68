"""Control flow: structured ops that own sub-graphs, so loops stay loops in emitted code.

Contract: `loop` runs `for index in range(start, stop, step)` over its body graph (attribute
`body`: params `[index, *carried, *captured]`, outputs the next `carried`); its inputs are
`start, stop, step`, the carried values' initial values, then the captured values (read, not
changed, by the body). `while` is a loop whose `cond` graph (params as
its body's, without the index) decides each iteration; its inputs are the carried values' initial
values, then the captured values. `item` is output k of a loop (the final carried values; with
`attrs["tape"]` set by the reverse pass, index `n_carried` is the tape: the list of the body's
params, one entry per iteration). `loop_vjp` runs the body's VJP graph (attribute `body`)
backwards over a tape: its inputs are the tape, the cotangents of the carried outputs, and the
captured values; its outputs (through `item`) the cotangents of the carried initial values, then
of the captured values.

`cond` runs one of its two branch graphs (attribute `branches`, each with `params`, a tuple of
operand positions its params stand for) on `pred`; its outputs (through `item`) are the values
of the variables either branch assigns. `cond_vjp` runs the VJP graph of the same branch: its
inputs are `pred`, the operands, then the cotangents of the cond's outputs; its outputs the
cotangents of the operands in `wrt`.

These rules are `structured`: the reverse and forward passes and the code generator handle
them directly (see
`symgrad.passes.control` and `symgrad.emit.codegen`), so their `vjp` entries only say which inputs
carry gradients; calling one as a template is a bug.
"""

from __future__ import annotations

from symgrad.rules.table import defrule


def _handled_by_the_pass(*args, **kwargs):
    raise AssertionError("a structured op is differentiated by the reverse pass, not a template")


defrule(
    "loop",
    "start, stop, step, *operands",
    None,
    vjp={"operands": _handled_by_the_pass},
    jvp={"operands": _handled_by_the_pass},
    structured=True,
    math="the body's VJP, run backwards over the iterations (a tape of the carried values)",
)
defrule(
    "while",
    "*operands",
    None,
    vjp={"operands": _handled_by_the_pass},
    jvp={"operands": _handled_by_the_pass},
    structured=True,
    math="as loop, for as many iterations as the forward pass ran",
)
defrule(
    "item",
    "tup, index=...",
    None,
    vjp={"tup": _handled_by_the_pass},
    jvp={"tup": _handled_by_the_pass},
    structured=True,
    math="v at position index of the loop's outputs",
)
defrule(
    "loop_vjp",
    "tape, *operands",
    None,
    structured=True,
    math="(second derivatives through loops are not supported yet)",
)
defrule(
    "cond",
    "pred, *operands",
    None,
    vjp={"operands": _handled_by_the_pass},
    jvp={"operands": _handled_by_the_pass},
    structured=True,
    math="the VJP of the branch the forward pass took",
)
defrule(
    "cond_vjp",
    "pred, *operands",
    None,
    structured=True,
    math="(second derivatives through branches are not supported yet)",
)
