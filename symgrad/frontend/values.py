"""Frontend values: what lowering gives besides graph `Value`s and Python objects found by name.

Contract: `is_const(v)` says whether v is a Python constant known when compiling (a number, a
string, None, Ellipsis, a dtype given as a type, or a tuple or list of those); lowering folds
operations on constants at once. `Method` is `x.name` for a graph value x, waiting to be called.
`ListAppend` is `xs.append` on a list of the current scope. `Unbound` is what a name holds
where reading it is an error; its `reason` completes the message.
`Stacked` is what a list a loop filled holds after it. Loops add values of their own
(`symgrad.frontend.loops`: `Appender`, `AppendTo`).
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any

import numpy as np

from symgrad.rules import Value

_CONST_TYPES = (int, float, bool, complex, str, type(None), type(Ellipsis))


def is_number(v: Any) -> bool:
    """An int or a float (not a bool): a value a loop or branch may carry beside arrays."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def is_const(v: Any) -> bool:
    if isinstance(v, (tuple, list)):
        return all(is_const(x) for x in v)
    if isinstance(v, type):  # a dtype given as a type: float, np.float32
        return v in (float, int, bool, complex) or issubclass(v, np.generic)
    return isinstance(v, _CONST_TYPES)


FUNCTIONS = (types.FunctionType, types.BuiltinFunctionType, np.ufunc, type(np.sum))  # (np.sum:
# NumPy's dispatcher of a Python function)


def is_callable_constant(v: Any) -> bool:
    """A function, a NumPy function, a class or a module: an object the code compares by
    identity when compiling (`act is np.tanh`, `act == np.sin` of a function given)."""
    return isinstance(v, (*FUNCTIONS, type, types.ModuleType)) and not isinstance(v, Value)


@dataclass(frozen=True)
class Method:
    """`x.name` for a graph value x, waiting to be called."""

    receiver: Value
    name: str


LIST_CHANGES = ("extend", "insert", "pop")  # a list's own methods, run when lowering


@dataclass(frozen=True)
class Limits:
    """`np.finfo(x.dtype)` (or iinfo) of a dtype known only when the function runs, waiting for
    the attribute read of it (`.eps`, `.tiny`, `.max`)."""

    of: str  # "finfo" or "iinfo"
    dtype: Value


@dataclass(frozen=True)
class ListAppend:
    """`xs.append` for a Python list `xs` of this scope (not a list a loop fills), waiting to
    be called: it appends to the list, which every name holding it sees."""

    items: list


@dataclass(frozen=True)
class Stacked:
    """What a list filled by a loop holds after it: its items stacked along a new first axis.
    `np.stack(xs)`, `np.array(xs)`, `xs[i]` and `len(xs)` read it. `shared` says why an item
    may be an array from before the loop itself (appended as it was), not a row of a copy."""

    value: Value
    name: str
    shared: str | None = None


class Unbound:
    """What a name holds where reading it would depend on how the code ran (bound only inside a
    loop, or in one branch of an `if`), or would see a change NumPy makes through a view:
    reading it is an error that gives the `reason`."""

    def __init__(self, reason: str, hint: str | None = None):
        self.reason, self.hint = reason, hint


class Withheld(Unbound):
    """A part of a NumPy function's result that its composition does not compute (lstsq's
    residuals): unpacked into a name as any item (`x, res, rank, s = ...`), an error where
    read."""
