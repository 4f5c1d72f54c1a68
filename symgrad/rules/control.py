"""Control flow: structured ops that own sub-graphs, so loops stay loops in emitted code.

Contract: `loop` runs `for index in range(start, stop, step)` over its body graph (attribute
`body`: params `[index, *carried, *captured]`, outputs the next `carried`, then the stacked
outputs); its inputs are `start, stop, step`, the carried values' initial values, then the
captured values (read, not changed, by the body). `while` is a loop whose `cond` graph (params
as its body's, without the index) decides each iteration; its inputs are the carried values'
initial values, then the captured values. `item` is output k of a loop (the final carried values,
then the stacked outputs; with `attrs["tape"]` set by the reverse pass, the next index is the
tape: a list with one entry per iteration, the body's index and carried params followed by the
`n_decisions` body outputs after the stacked ones, the branch decisions the iteration took;
forward mode over a gradient may keep some carried values off it: attribute `taped`, the
positions it records). A body that can break (attribute `breaks`) has one more output, last:
whether to leave.

`loop_vjp` walks a tape backwards through the VJP graph of a loop's body (attribute `body`). Its
inputs are the tape, the initial values of the `n_carried` running cotangents (state), the
`n_stacked` cotangents of stacked outputs (read one row per step), and the captured values. The
body's params are `[*entry, *captured, *state, *rows]` (`entry`: the first `n_tape`, a tape
entry); its outputs, one per entry `(kind, position, name)` of `outs`, are the next value of
state `position` (`"state"`) or a term added to the running sum for captured value `position`
(`"acc"`, starting from zeros); the node's outputs (through `item`) are the final states and sums.
Its forward mode is a `loop_vjp` of the same form (`symgrad.passes.control_forward`).

`cond` runs one of its two branch graphs (attribute `branches`, each with `params`, a tuple of
operand positions its params stand for) on `pred`; its outputs (through `item`) are the values
of the variables either branch assigns (and the decisions of `if`s nested in its branches, added
by the reverse pass). `cond_vjp` runs the VJP graph of the same branch: its inputs are `pred`,
the `n_captured` operands (the cond's, then those decisions), then the `n_seeds` cotangents of
the cond's outputs; its outputs are one per entry `(operand, suffix)` of `outs`, the cotangent
of that operand (named after it with `suffix`); branch b computes those listed in `wrt[b]`, in
order, and zeros for the others. Forward mode gives a `cond_vjp` of the same form; reverse mode
first rewrites it as the `cond` it is (`symgrad.passes.control.as_cond`).

`fused` computes a cluster of elementwise work in one loop nest over the array shape
`attrs["shape"]` (a compiled backend's, `symgrad.passes.fuse`): its inputs are the values the
cluster reads, broadcast to that shape or numbers; its body graph computes one entry (params
for the inputs); its outputs (through `item`) are the arrays of the body's outputs, then, for
each reduction named in `attrs["folds"]` (one with a `Rule.fold`: sum, mean, max, min), its
value along its axes of one of the last outputs.
It is made after differentiating, for emitting, and is never differentiated.

These rules are `structured`: the reverse and forward passes and the code generator handle
them directly (see `symgrad.passes.control`, `symgrad.passes.control_forward` and
`symgrad.emit.control`), so their `vjp` and `jvp` entries only say which inputs carry
gradients; calling one as a template is a bug.
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
    value_feeds=(0,),
    math="v at position index of the loop's outputs",
)
defrule(
    "loop_vjp",
    "tape, *operands",
    None,
    jvp={"tape": _handled_by_the_pass, "operands": _handled_by_the_pass},
    structured=True,
    math="forward mode: the body's JVP run back over a tape holding the carried tangents too",
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
    vjp={"operands": _handled_by_the_pass},
    jvp={"operands": _handled_by_the_pass},
    structured=True,
    math="the derivative of the VJP of the branch the forward pass took (as a cond)",
)
defrule(
    "fused",
    "*operands",
    None,
    structured=True,
    nondiff=True,
    fresh=True,  # its results are arrays its loop nest makes, or numbers
    math="none: made after differentiating, to emit elementwise work as one compiled loop",
)
