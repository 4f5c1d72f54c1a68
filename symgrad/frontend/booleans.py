"""`and`, `or` and chained comparisons, with Python's short circuit.

Contract: `lower_boolop(lw, e)` gives what Python's `a and b` (`a or b`) gives: b if a is true
else a (a if a is true else b), with a evaluated once and b only where it is needed, so that
`i < n and x[i] > 0` never reads x[n]. Where a is known when compiling, so is the choice; where
it is a runtime value, the choice is a conditional expression (`b if a else a`, a branch in the
IR, symgrad.frontend.branches) whose second operand is lowered in its own branch.
`lower_chain(lw, e)` gives `a < b < c` as `a < b and b < c`, each operand evaluated once, in
order, and those after a false comparison not at all. `pick(lw, items, index, e)` gives
`items[index]` of a tuple or list for an index known only at run time: the item whose
position (or position minus the length) the index equals, as conditional expressions, and
`_index_error` (Python's IndexError) where it equals none. `identity_or_membership(lw, op, left,
right, e)` decides `is`, `is not`, `in` and `not in` when compiling: `mask is None` is false
for an array or a number computed in the function, and asked when it runs of an argument (an
`is_none` node, which a specialisation knows: an argument whose Aval is known is no None);
`"bias" in params` asks a dict's keys (a container of parameters) or a constant list, tuple
or string. Identity of two computed values, and membership among computed values, are
refused.
"""

from __future__ import annotations

import ast
import itertools
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from symgrad.errors import UnsupportedSyntaxError
from symgrad.frontend.aliases import BodyEnv
from symgrad.frontend.branches import lower_ifexp
from symgrad.frontend.values import is_callable_constant, is_const
from symgrad.rules import Value, runtime

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer

_NAMES = itertools.count()


def lower_boolop(lw: _Lowerer, e: ast.BoolOp) -> Any:
    first, rest = e.values[0], e.values[1:]
    second = rest[0] if len(rest) == 1 else ast.copy_location(ast.BoolOp(e.op, rest), e)
    is_and = isinstance(e.op, ast.And)
    with _bound(lw, lw.expr(first), first) as (value, name):
        if not isinstance(value, Value):  # known now: Python decides
            return lw.expr(second) if bool(value) == is_and else value
        body, orelse = (second, name) if is_and else (name, second)
        return lower_ifexp(lw, ast.copy_location(ast.IfExp(name, body, orelse), e))


def identity_or_membership(lw: _Lowerer, op: ast.cmpop, left: Any, right: Any, e) -> bool:
    if isinstance(op, (ast.Is, ast.IsNot)):
        other = right if left is None else left if right is None else None
        if isinstance(other, Value) and _may_be_none(lw, other):  # None when called?
            return lw.call_rule("is_none", (other,), {"negated": isinstance(op, ast.IsNot)}, e)
        known = [is_const(v) or is_callable_constant(v) for v in (left, right)]
        if left is None or right is None or all(known):
            same = left is right  # (a value computed at run time is never None)
            return same if isinstance(op, ast.Is) else not same
        what = "identity (is) of values computed when the function runs"
        hint = "Compare them with == (np.array_equal for arrays)."
    else:
        if is_const(left) and (isinstance(right, dict) or is_const(right)):
            found = left in right  # (a dict of parameters: its keys)
            return found if isinstance(op, ast.In) else not found
        if isinstance(left, Value) and type(right) in (tuple, list) and is_const(right):
            return _among(lw, op, left, right, e)  # (`mode in ("sum", "mean")` of an argument)
        what = "membership (in) among values computed when the function runs"
        hint = "Test a constant's membership in a constant list, tuple or dict."
    raise lw.error(e, f"{what} is not supported", hint, UnsupportedSyntaxError)


def _may_be_none(lw: _Lowerer, value: Value) -> bool:
    """Whether value may be None when the function runs: an argument of the function (read in
    a loop's body or a branch through their captures, or carried by a loop from it: `h=None`
    bound again in the loop), not a value computed, nor a loop's index, nor a value a loop
    carries from one computed (arrays and numbers: `m = x if m is None else ...` in the steps
    after a first one that bound m, `loops._first_step`)."""
    while lw.parent is not None:  # (a function inlined: the graph's own scope)
        lw = lw.parent
    graph, env, nid = lw.graph, lw.env, value.id
    while isinstance(env, BodyEnv):
        if nid in env.outer_ids:
            nid = env.outer_ids[nid]
        elif nid in env.slot_inits:  # (a carried value: the one from before the loop)
            nid = env.slot_inits[nid]
        else:
            return False
        graph, env = env.outer_graph, env.outer
    return graph[nid].op == "param"


def _among(lw: _Lowerer, op: ast.cmpop, left: Value, items, e) -> Any:
    """`v in (a, b)` of a value known when it runs and constants: `v == a or v == b`, as
    Python compares (its `not` for `not in`)."""
    found: Any = False
    for item in reversed(items):
        equal = lw.call_rule("equal", (left, item), {}, e)
        found = equal if found is False else lw.call_rule("logical_or", (equal, found), {}, e)
    return lw.call_rule("not", (found,), {}, e) if isinstance(op, ast.NotIn) else found


def lower_chain(lw: _Lowerer, e: ast.Compare) -> Any:
    with _bound(lw, lw.expr(e.left), e.left) as (_, left):
        with _bound(lw, lw.expr(e.comparators[0]), e.comparators[0]) as (_, middle):
            first = ast.copy_location(ast.Compare(left, e.ops[:1], [middle]), e)
            rest = ast.copy_location(ast.Compare(middle, e.ops[1:], e.comparators[1:]), e)
            both = ast.copy_location(ast.BoolOp(ast.And(), [first, rest]), e)
            return lower_boolop(lw, both)


@contextmanager
def _bound(lw: _Lowerer, value: Any, where: ast.expr):
    """(value, a Name reading it): the value bound, while lowering what reads it, to a name
    no source can spell."""
    name = f"<operand {next(_NAMES)}>"
    lw.env[name] = value
    try:
        yield value, ast.copy_location(ast.Name(name, ast.Load()), where)
    finally:
        dict.pop(lw.env, name, None)


def pick(lw: _Lowerer, items, index: Value, e: ast.expr) -> Any:
    n = len(items)
    with ExitStack() as bound:
        names = [bound.enter_context(_bound(lw, v, e))[1] for v in items]
        _, i = bound.enter_context(_bound(lw, index, e))
        _, fail = bound.enter_context(_bound(lw, runtime._index_error, e))
        choice: ast.expr = ast.Call(fail, [i, ast.Constant(n)], [])
        for k in reversed(range(n)):
            at = [ast.Compare(i, [ast.Eq()], [ast.Constant(p)]) for p in (k, k - n)]
            choice = ast.IfExp(ast.BoolOp(ast.Or(), at), names[k], choice)
        return lw.expr(ast.fix_missing_locations(ast.copy_location(choice, e)))
