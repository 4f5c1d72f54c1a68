"""Lowering calls: NumPy functions, ndarray methods, a few builtins, and user functions.

Contract: `lower_call(lw, e)` evaluates the callee and the arguments of the call `e` with the
lowerer `lw` and returns the call's value. A NumPy callable in the rule table, `abs`, `len` or
an ndarray method (a `Method`) becomes a rule application (`np.array` of a list of arrays stacks
them); `sum`, `min` and `max` fold constants at once and otherwise become `sum`/`add`,
`min`/`minimum`, `max`/`maximum` nodes; `float` and `int` fold constants (`float(x)` of an array
is x), and so do `round` and `math`'s functions; `round(x)` is `int(np.round(x))` (`round(x, n)`
of a constant n: Python's, `round_digits`), `math.floor(x)` is `int(np.floor(x))` (`ceil`,
`trunc` alike) and `math.log(x, b)` is `log(x) / log(b)`; NumPy functions that are compositions
of primitives (`np.take`, `np.average`, `np.split`) are lowered as such
(`symgrad.frontend.composites`); a call returning several arrays (`Rule.parts`:
`np.linalg.eigh`) gives NumPy's NamedTuple of one node per part; a NamedTuple class called is
that container; `xs.append(v)`, `np.stack(xs)`, `np.array(xs)` and `len(xs)` read a list a loop
fills. A Python function defined in a source file (not NumPy's, SciPy's or symgrad's) is read,
fenced and inlined with a lowerer of its own, at any depth (64 calls); a recursive call (the same
code on the same object of the user's: `_frame`) is refused. `getattr(obj, "name")` of a constant
name is `obj.name`; a `math` function computes on floats, as Python's (`float(np.exp(float(x)))`,
the casts dropped where the Avals show Python floats); a list a loop filled, given to a NumPy
function, is its stack, as NumPy reads it (`_stacks`).
symgrad's own transformations are spliced in (`symgrad.frontend.nested`), and a function with a
custom derivative (`symgrad.custom_vjp`) is lowered with its rule (`symgrad.frontend.custom`).
Anything else is an `UnknownCallableError` naming the callable.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import itertools
import math
import os
import sys
import types
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import numpy as np

from symgrad import tree
from symgrad.errors import SymgradError, UnknownCallableError, UnsupportedSyntaxError
from symgrad.frontend import (
    aliases,
    composites,
    custom,
    fence,
    local_functions,
    nested,
    raises,
    subscripts,
)
from symgrad.frontend.loops import Appender, AppendTo, holds_items
from symgrad.frontend.values import (
    LIST_CHANGES,
    Limits,
    ListAppend,
    Method,
    Stacked,
    is_const,
)
from symgrad.rules import BY_METHOD, RULES, Value, rule_for_callable
from symgrad.rules.build import add_bound, deciding
from symgrad.rules.nondiff import class_name, stop_gradient
from symgrad.rules.table import CONVENTIONS, SEQ

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer

_BUILTIN_RULES = {abs: "abs", len: "len", int: "int", bool: "bool"}
_FOLDS = {sum: ("sum", "add"), min: ("min", "minimum"), max: ("max", "maximum")}
_INDEX_TUPLES = (  # itertools' tuples of constants: a list of them, known when compiling
    itertools.combinations,
    itertools.combinations_with_replacement,
    itertools.permutations,
    itertools.product,
)
DICT_READS = ("keys", "values", "items", "get")  # of a container of parameters
_TO_INT = {math.floor: "floor", math.ceil: "ceil", math.trunc: "trunc"}  # an int, of NumPy's
_ON_STACKED = (np.stack, np.array, np.asarray, np.concatenate, len, sum, min, max)
_ON_STACKED += (list, tuple, sorted, any, all, reversed, bool)


def lower_call(lw: _Lowerer, e: ast.Call) -> Any:
    if _reverses_a_filled_list(lw, e):  # (`xs.reverse()` after the loop that filled xs)
        return None
    callee = lw.expr(e.func)
    args: list = []
    for a in e.args:  # (`f(*xs)`: a tuple's or list's items, one by one)
        args += _spread(lw, a.value, "*") if isinstance(a, ast.Starred) else [lw.expr(a)]
    args = tuple(args)
    kwargs: dict = {}
    for k in e.keywords:  # (`f(**kw)`: a dict's items, by name)
        items = _spread(lw, k.value, "**") if k.arg is None else {k.arg: lw.expr(k.value)}
        for name in items:
            if name in kwargs:
                raise lw.error(e, f"{name!r} is given twice", cls=UnsupportedSyntaxError)
        kwargs.update(items)
    with deciding(lw.graph, lw.src.locate(e), ast.unparse(e.func)):  # (Value.__bool__)
        if kwargs.get("out") is not None and isinstance(callee, np.ufunc):
            return _into(lw, e, callee, args, kwargs)
        return _lowered(lw, e, callee, args, kwargs)


def _reverses_a_filled_list(lw: _Lowerer, e: ast.Call) -> bool:
    """`xs.reverse()` of a list a loop filled (`Stacked`): xs now its rows reversed."""
    f = e.func
    if not (isinstance(f, ast.Attribute) and f.attr == "reverse" and not e.args):
        return False
    if e.keywords or not isinstance(f.value, ast.Name):
        return False
    held = lw.env.get(f.value.id)
    if not isinstance(held, Stacked):
        return False
    rows = Stacked(lw.call_rule("flip", (held.value,), {"axis": 0}, e), held.name, held.shared)
    for name in [n for n, v in dict.items(lw.env) if v is held]:  # (`b = xs` reads it too)
        lw.env[name] = rows
    lw.env[f.value.id] = rows
    return True


def _spread(lw: _Lowerer, e: ast.expr, stars: str) -> Any:
    """The items `*e` (a tuple or list the function holds) or `**e` (a dict of str keys) pass
    to a call."""
    value = lw.expr(e)
    if stars == "*" and isinstance(value, (tuple, list)):
        return list(value)
    if stars == "**" and isinstance(value, dict) and all(type(k) is str for k in value):
        return dict(value)
    what = "a tuple or list" if stars == "*" else "a dict of names"
    raise lw.error(
        e,
        f"{stars}{ast.unparse(e)} passes the items of {what} to a call, and this is "
        f"{'a list a loop filled' if isinstance(value, Stacked) else 'not one'}",
        "Pass the arguments one by one, or a tuple the function builds: f(*(a, b)).",
        cls=UnsupportedSyntaxError,
    )


def _into(lw: _Lowerer, e: ast.Call, callee, args: tuple, kwargs: dict) -> Any:
    """`np.f(..., out=y)` of a ufunc, y a name (or a tuple of one): `y[...] = np.f(...)`, which
    every name holding y sees (y an array the function made, as such an assignment needs),
    and y, changed, its value."""
    target = next(k.value for k in e.keywords if k.arg == "out")
    if isinstance(target, ast.Tuple) and len(target.elts) == 1:
        target = target.elts[0]
    if not isinstance(target, ast.Name):
        raise lw.error(
            e,
            f"out= of {ast.unparse(target)} is not supported",
            "Write y[...] = np.f(...) for the array y.",
            cls=UnsupportedSyntaxError,
        )
    casting = kwargs.get("casting", "same_kind")
    if casting not in ("same_kind", "unsafe"):
        raise lw.error(e, f"casting={casting!r} is not supported", "Use 'same_kind' or 'unsafe'.")
    rest = {k: v for k, v in kwargs.items() if k not in ("out", "casting")}
    value = _lowered(lw, e, callee, args, rest)
    if isinstance(lw.env.get(target.id), Value):  # (y's shape and dtype, cast as a ufunc's
        how = {"what": f"out={target.id}", "casting": casting}  # output: 'same_kind', a float
        value = lw.call_rule("updated", (value, lw.env[target.id]), how, e)  # into ints raising)
    whole = ast.Subscript(target, ast.Constant(Ellipsis), ast.Store())
    subscripts.setitem(lw, ast.copy_location(whole, target), value)
    return lw.env[target.id]


def _lowered(lw: _Lowerer, e: ast.Call, callee, args: tuple, kwargs: dict) -> Any:
    while isinstance(callee, functools.partial):  # f's call with the partial's arguments first
        lw.reads.note(callee, "args", callee.args)  # (a list it holds changed: compiled again)
        lw.reads.note(callee, "keywords", callee.keywords)
        held = [lw.outside(a, "an argument the partial holds", e) for a in callee.args]
        keywords = {k: lw.outside(v, k, e) for k, v in callee.keywords.items()}
        callee, args, kwargs = callee.func, (*held, *args), {**keywords, **kwargs}
    if isinstance(callee, Method):
        return _call_method(lw, callee, args, kwargs, e)
    if isinstance(callee, AppendTo) and callee.method == "append" and len(args) == 1:
        callee.appender.append(lw, args[0], e)
        return None
    if isinstance(callee, AppendTo) and len(args) == 2 and type(args[0]) is int and not args[0]:
        callee.appender.append(lw, args[1], e, front=True)  # (`xs.insert(0, v)`)
        return None
    if isinstance(callee, AppendTo):
        raise lw.error(
            e,
            f"a loop fills {callee.appender.name} by one append, or one insert at 0, per step; "
            "this call is neither",
            cls=UnsupportedSyntaxError,
        )
    if isinstance(callee, ListAppend) and len(args) == 1 and not kwargs:
        callee.items.append(args[0])
        return None
    if args and isinstance(args[0], Stacked) and callee in _ON_STACKED:
        return _stacked(lw, callee, args, kwargs, e)
    if callee is sorted and len(args) == 1 and set(kwargs) <= {"reverse"} and _keyed(args[0]):
        return lw.made(sorted(args[0], **kwargs))  # sorted(params), sorted(params.items())
    if callee in _READERS and len(args) == 1 and not kwargs and type(args[0]) in (list, tuple):
        return _read(lw, callee, args[0], e)  # any(v > 0 for v in (a, b)): its list unrolled
    if isinstance(getattr(callee, "__self__", None), dict) and callee.__name__ in DICT_READS:
        out = callee(*args, **kwargs)  # a container of parameters, read
        return list(out) if callee.__name__ != "get" else out
    if isinstance(getattr(callee, "__self__", None), list) and callee.__name__ in LIST_CHANGES:
        return _list_change(lw, callee, args, kwargs, e)
    copied = (
        getattr(callee, "__self__", None) if getattr(callee, "__name__", "") == "copy" else None
    )
    if isinstance(copied, (dict, list)) and not args and not kwargs:
        return lw.made(copied.copy())  # d.copy(), xs.copy(): a new container of the same items
    if callee in (dict, list) and len(args) == 1 and not kwargs and type(args[0]) in (dict, list):
        return lw.made(callee(args[0]))  # dict(d), list(xs), a copy
    if callee is stop_gradient and len(args) == 1 and not kwargs and tree.is_tree(args[0]):
        leaves, treedef = tree.flatten(args[0])  # (of a container: each leaf's, as JAX's)
        stopped = [
            lw.call_rule("stop_gradient", (v,), {}, e) if isinstance(v, Value) else v
            for v in leaves
        ]
        return tree.unflatten(treedef, stopped)
    if callee in (np.finfo, np.iinfo) and len(args) == 1 and not kwargs:
        if isinstance(args[0], Value):  # (of x.dtype: read when it runs, `Limits`)
            return Limits(callee.__name__, args[0])
        try:
            return callee(args[0])  # (its attributes NumPy numbers: `lw.outside`)
        except (TypeError, ValueError) as err:
            raise lw.error(e, f"bad arguments to np.{callee.__name__}: {err}") from None
    if callee in (isinstance, hasattr, callable) and not kwargs:
        return _type_test(lw, callee, args, e)
    if callee is dict and (not args or len(args) == 1 and type(args[0]) is dict):
        return lw.made(dict(*args, **kwargs))  # dict(lr=0.1, w=x), dict(d, w=x): a new dict
    if isinstance(getattr(callee, "__self__", None), dict) and callee.__name__ == "update":
        return _update(lw, callee.__self__, args, kwargs, e)
    if _named_tuples(callee):  # st._replace(h=...), State._make([...]): containers made
        try:
            out = callee(*args, **kwargs)
            return lw.made(out) if isinstance(out, dict) else out  # (`_asdict()`'s a new one)
        except (TypeError, ValueError) as err:
            raise lw.error(e, f"bad arguments to {callee.__name__}: {err}") from None
    if callee is len and len(args) == 1 and isinstance(args[0], (dict, list, tuple)):
        return len(args[0])  # (a container's, or a list's of its layers: known when lowering)
    if isinstance(callee, type) and issubclass(callee, tuple) and hasattr(callee, "_fields"):
        try:  # a NamedTuple: a container, as a tuple is
            return callee(*args, **kwargs)
        except TypeError as err:
            raise lw.error(e, f"bad arguments to {callee.__qualname__}: {err}") from None
    if callee is super and not args and not kwargs:  # super().act(z) in a method
        return _super(lw, e)
    if callee is range and 1 <= len(args) <= 3 and not kwargs:  # idx = list(range(k)): its
        for bound in args:  # ints, a list known when compiling (a for loop's is the loop's)
            if not is_const(bound):
                said = "range() here is a list of ints known when compiling, and its bound is "
                said += "known only when the function runs (np.arange, or x[range(n)], are not)"
                raise composites.not_constant(lw, e, bound, said)
        try:
            return list(range(*args))
        except TypeError as err:
            raise lw.error(e, f"bad arguments to range: {err}") from None
    if callee is slice and 1 <= len(args) <= 3 and not kwargs:  # x[:, slice(lo, hi)]
        return slice(*args)  # (an index's bounds: constants, or values known when it runs)
    if callee is divmod and len(args) == 2 and not kwargs:  # (a // b, a % b)
        return tuple(lw.binop(op(), *args, e) for op in (ast.FloorDiv, ast.Mod))
    if getattr(callee, "__self__", None) is np.add and callee.__name__ == "at":
        return subscripts.add_at(lw, args, e)  # np.add.at(a, indices, b)
    if callee is np.fill_diagonal:
        return subscripts.fill_diagonal(lw, args, kwargs, e)
    if getattr(callee, "symgrad_custom", None):  # symgrad.custom_vjp, symgrad.custom_jvp
        return lower_custom(lw, callee, args, kwargs, e)
    inline = getattr(callee, "symgrad_inline", None)
    if inline is not None:  # a compiled grad, symgrad.jvp: its graph spliced in
        return nested.call(lw, inline, args, kwargs, e)
    if getattr(callee, "symgrad_static", False):  # symgrad.grad(phi): made now
        return nested.make(lw, callee, args, kwargs, e)
    if callee in (float, int, str) and len(args) == 1 and not kwargs and is_const(args[0]):
        return callee(args[0])  # (known when lowering: a length, a static loop bound, a key)
    if _folds(callee) and is_const((*args, *kwargs.values())):  # math.floor(n / 2), round(2.5)
        try:
            return callee(*args, **kwargs)
        except (ArithmeticError, ValueError, TypeError) as err:
            raise lw.error(e, f"{callee.__name__} of these constants raises: {err}") from None
    if callee in _INDEX_TUPLES and is_const((*args, *kwargs.values())):
        return list(callee(*args, **kwargs))  # (the index pairs of combinations(range(n), 2))
    if callee is getattr and len(args) == 2 and not kwargs and type(args[1]) is str:
        return _getattr(lw, args[1], e)
    if isinstance(getattr(callee, "__self__", None), str) and is_const((*args, *kwargs.values())):
        return callee(*args, **kwargs)  # a string's method on constants (a dict's key)
    integral = _TO_INT.get(callee) if isinstance(callee, Hashable) else None
    if integral and len(args) == 1 and not kwargs and not is_const(args):
        return lw.call_rule("int", (lw.call_rule(integral, args, {}, e),), {}, e)
    if callee is round and not kwargs and len(args) == 2 and type(args[1]) is int:
        return lw.call_rule("round_digits", args[:1], {"ndigits": args[1]}, e)  # (Python's)
    if callee is round and not kwargs and 1 <= len(args) <= 2 and not is_const(args):
        rounded = lw.call_rule("round", args, {}, e)  # (half to even, as Python's)
        return rounded if len(args) == 2 else lw.call_rule("int", (rounded,), {}, e)
    if callee is math.log and len(args) == 2 and not kwargs and not is_const(args):
        base = math.log(args[1]) if is_const(args[1]) else lw.call_rule("log", args[1:], {}, e)
        return lw.binop(ast.Div(), lw.call_rule("log", args[:1], {}, e), base, e)
    rule = rule_for_callable(callee)
    if rule is not None:
        rule, args, kwargs = _in_rule_terms(lw, rule, callee, args, kwargs, e)
    known = callee if isinstance(callee, Hashable) else None  # (a dataclass: unhashable)
    if rule is None and known in _BUILTIN_RULES:
        rule = RULES[_BUILTIN_RULES[callee]]
    if (
        rule is not None
        and rule.name == "asarray"
        and args
        and not is_const(args[0])
        and isinstance(args[0], (list, tuple))
    ):  # np.array([a, b]) of arrays stacks them (cast to its dtype, where it is given)
        if set(kwargs) == {"dtype"} and len(args) == 1:
            stacked = lw.call_rule("stack", args, {}, e)
            return lw.call_rule("asarray", (stacked,), kwargs, e)
        rule = RULES["stack"]
    if rule is not None and rule.name == "asarray" and len(args) == 1 and set(kwargs) <= {"dtype"}:
        if callee is np.array and isinstance(args[0], Value):  # a copy, as NumPy makes: not the
            dtype = kwargs.get("dtype")  # array itself (b[0] = 5 changed it), whatever a is
            cast = args[0] if dtype is None else lw.call_rule("asarray", args, kwargs, e)
            return lw.call_rule("copy", (cast,), {}, e)
        return _asarray(lw, args[0], e, kwargs.get("dtype"))
    if rule is not None or composites.known(known):  # np.mean(xs) of a list a loop filled
        args, kwargs = _stacks(lw, rule, args, kwargs, e)
    if rule is not None and rule.parts is not None:
        return _parts(lw, rule, args, kwargs, e)
    if rule is not None and _folds(callee):  # math.exp(s), math.isnan(s): Python's
        floats = [lw.call_rule("float", (a,), {}, e) if isinstance(a, Value) else a for a in args]
        value = lw.call_rule(rule.name, tuple(floats), kwargs, e)  # (of floats, a float)
        return lw.call_rule("bool" if rule.nondiff else "float", (value,), {}, e)
    if rule is not None:
        value = lw.call_rule(rule.name, args, kwargs, e)
        return _builtin(lw, value, callee) if callee is abs else value
    if known in _FOLDS and (not kwargs or known is sum):
        if is_const(args) and is_const(tuple(kwargs.values())):
            return callee(*args, **kwargs)
        return _fold(lw, callee, args, e, kwargs)
    if isinstance(callee, types.FunctionType) and not _is_library(callee):
        return _inline(lw, callee, args, kwargs, e)
    if isinstance(callee, local_functions.LocalFunction):
        return local_functions.call(lw, callee, args, kwargs, e)
    method = getattr(callee, "__func__", None)
    if isinstance(callee, types.MethodType) and isinstance(method, types.FunctionType):
        if not _is_library(method):  # a method of self, or a classmethod: self comes first
            return _inline(lw, method, (callee.__self__, *args), kwargs, e)
    method = type(callee).__call__ if callable(callee) else None  # an object called: layer(x)
    if isinstance(method, types.FunctionType) and not _is_library(method):
        lw.reads.note(type(callee), "__call__", method)  # (its class's, which may change)
        return _inline(lw, method, (callee, *args), kwargs, e)
    if composites.known(known):  # np.take, np.average, np.split: the primitives they are
        return composites.lower(lw, callee, args, kwargs, e)
    if _a_plain_dataclass(callee):  # Layer(W, b): an object holding the values, a record
        try:
            made = callee(*args, **kwargs)
        except TypeError as err:
            raise lw.error(e, f"bad arguments to {callee.__name__}: {err}") from None
        lw.memory.records.add(id(made))
        lw.memory.objects[id(made)] = (made, lw.graph)
        return made
    if _a_plain_class(callee):  # Normal(mu, sigma): its __init__ inlined on a new record
        made = object.__new__(callee)
        lw.memory.records.add(id(made))
        lw.memory.objects[id(made)] = (made, lw.graph)
        lw.reads.note(callee, "__init__", callee.__init__)  # (its class's, which may change)
        if callee.__init__ is object.__init__:
            if args or kwargs:
                raise lw.error(e, f"bad arguments to {callee.__name__}: it takes none")
            return made
        _inline(lw, callee.__init__, (made, *args), kwargs, e)
        return made
    if isinstance(callee, Value):  # an argument read as an array: an object called, `m(x)`
        raise lw.error(
            e,
            f"{ast.unparse(e.func)} is read as an array (as every argument is, or a container "
            "of them), which cannot be called",
            "An argument that is a function (a def, np.tanh) is compiled as the function it "
            "is; another callable (functools.partial, an object) is not. " + subscripts.OBJECTS,
            cls=UnsupportedSyntaxError,
        )
    what = (
        getattr(callee, "__qualname__", None)
        or getattr(callee, "__name__", None)
        or type(callee).__name__
    )
    module = getattr(callee, "__module__", None)
    full = f"{module}.{what}" if module and module != "builtins" else what
    if isinstance(getattr(callee, "__self__", None), np.ufunc):  # np.logaddexp.accumulate
        full = f"np.{callee.__self__.__name__}.{callee.__name__}"
    hint = (
        "symgrad knows the NumPy functions in its rule table "
        "(symgrad.rules.RULES) and Python functions defined in source files."
    )
    if isinstance(callee, type) and not _is_library(callee):  # (a class of the user's)
        hint = (
            "An object made in the function is supported where its class is a dataclass "
            "(its __init__ the one dataclasses writes, no __post_init__) or a plain class (no "
            "__new__, __slots__ or metaclass of its own); or make it outside and pass it as "
            "an argument."
        )
    raise lw.error(e, f"cannot compile a call to {full}", hint, cls=UnknownCallableError)


def _in_rule_terms(lw: _Lowerer, rule, callee: Any, args: tuple, kwargs: dict, e: ast.AST):
    """(rule, args, kwargs): the call in its rule's parameters, a twin's own convention
    (`Rule.twins`: scipy.special.softmax's axis=None) and the rule's route (`Rule.route`:
    np.linalg.svd(a, compute_uv=False) is np.linalg.svdvals(a)) applied."""
    convention = CONVENTIONS.get(id(callee))
    try:
        if convention is not None:
            args, kwargs = convention(*args, **kwargs)
        routed = rule.route(*args, **kwargs) if rule.route is not None else None
    except TypeError as err:
        name = f"{getattr(callee, '__module__', '')}.{getattr(callee, '__name__', rule.name)}"
        raise lw.error(e, f"bad arguments to {name.lstrip('.')}: {err}") from None
    except SymgradError as err:
        raise lw.error(e, err.message, err.hint) from None
    if routed is None:
        return rule, args, kwargs
    name, args, kwargs = routed
    return RULES[name], args, kwargs


def _read(lw: _Lowerer, callee: Any, items: list | tuple, e: ast.Call) -> Any:
    """list, tuple, sorted, any or all of a list or tuple of values: a new list or tuple of
    them (sorted: of the rows of the items stacked and sorted); any and all of the items
    stacked, as of a list a loop filled (constants: Python's)."""
    if is_const(items):
        out = callee(items)
        return lw.made(out) if isinstance(out, list) else out
    if callee in (list, tuple):
        return lw.made(list(items)) if callee is list else tuple(items)
    rows = lw.call_rule("stack", (list(items),), {}, e)
    out = _stacked(lw, callee, (Stacked(rows, "the list"),), {}, e)
    if callee is sorted:  # (a list of as many items, sorted: `a, b = sorted([u, v])`)
        return lw.made([subscripts.getitem(lw, out.value, k, e) for k in range(len(items))])
    return out


_READERS = (list, tuple, sorted, any, all)


def _super(lw: _Lowerer, e: ast.Call) -> Any:
    """`super()` in a method being inlined: the proxy of its class's parents for its first
    argument (self, the instance or its record), whose methods are inlined in turn."""
    cell = lw.cells.get("__class__")
    params = lw.src.tree.args.posonlyargs + lw.src.tree.args.args
    this = lw.env.get(params[0].arg) if params and params[0].arg in lw.env else None
    cls = cell.cell_contents if cell is not None else None
    if not isinstance(cls, type) or not isinstance(this, cls):
        raise lw.error(
            e,
            "super() is supported in a method of a class, called on an instance of it",
            cls=UnsupportedSyntaxError,
        )
    return super(cls, this)


def _class_entry(lw: _Lowerer, order: tuple, e: ast.Attribute, subject: str) -> tuple:
    """The first class in `order` holding `e.attr` and its entry there, read for staleness
    (`Reads`): the entry (`owner.name` of a staticmethod is the function inside, a
    classmethod's a new bound method at each look-up), and the absence of the name from the
    classes before it (one given it later, `B.act = ...` of an intermediate class, would be
    what Python reads)."""
    owner = next((c for c in order if e.attr in vars(c)), None)
    if owner is None:
        said = f"{subject} has no attribute {e.attr!r}"
        if any("__getattr__" in vars(c) for c in order):  # (Python's fallback: user code)
            said += ", which its class's __getattr__ computes: symgrad does not run it"
        raise lw.error(e, said, cls=UnknownCallableError)
    for cls in order[: order.index(owner)]:
        lw.reads.note_absent(vars(cls), e.attr)
    found = vars(owner)[e.attr]
    lw.reads.note(vars(owner), e.attr, found)
    return owner, found


def super_attribute(lw: _Lowerer, proxy: super, e: ast.Attribute) -> Any:
    """`super().name`: the entry of the first class after the method's own in the instance's
    order of classes that has it (read for staleness: the proxy is new at each call), a
    method bound to the instance, a property's getter inlined on it."""
    order = type(proxy.__self__).__mro__
    after = order[order.index(proxy.__thisclass__) + 1 :]
    owner, found = _class_entry(lw, after, e, "super()")
    if isinstance(found, property) and isinstance(found.fget, types.FunctionType):
        return _inline(lw, found.fget, (proxy.__self__,), {}, e)
    if not isinstance(found, (types.FunctionType, staticmethod, classmethod)):
        raise lw.error(
            e,
            f"super().{e.attr} is a {type(found).__name__} of {owner.__name__}, which symgrad "
            "does not read through super()",
            "Read it as self." + e.attr + ", or compute it in a method.",
            cls=UnknownCallableError,
        )
    return getattr(proxy, e.attr)


def _folds(callee: Any) -> bool:
    """Whether a call of this callable on constants is computed when lowering: Python's
    `math` functions and `round`, which give a number of numbers."""
    return callee is round or getattr(callee, "__module__", None) == "math"


def _stacked(lw: _Lowerer, callee: Any, args: tuple, kwargs: dict, e: ast.AST) -> Any:
    """A call on a list a loop filled: np.stack(xs) (along any axis), np.array(xs),
    np.concatenate(xs) (along any axis), len(xs), Python's sum, min and max over its
    items, list(xs) and tuple(xs) (the list), reversed(xs) (its rows the other way),
    sorted(xs) (its items sorted, np.sort's), bool(xs) (whether it holds an item), and
    any(xs) and all(xs) (np.any's and np.all's of its items, which are checked to be
    numbers)."""
    rows = args[0].value
    if callee in (np.stack, np.concatenate):  # (of no step: NumPy's error, not no rows)
        empty = lw.call_rule("not", (holds_items(lw, args[0], e),), {}, e)
        said = f"need at least one array to {'stack' if callee is np.stack else 'concatenate'}"
        raises.check(lw, e, empty, ValueError, (said,))
    if callee in (np.stack, np.array, np.asarray) and len(args) == 1 and not kwargs:
        return rows
    if callee in (list, tuple) and len(args) == 1 and not kwargs:
        return args[0]
    if callee is bool and len(args) == 1 and not kwargs:  # (whether it holds an item)
        return holds_items(lw, args[0], e)
    if callee is reversed and len(args) == 1 and not kwargs:  # (its rows, the other way)
        return Stacked(lw.call_rule("flip", (rows,), {"axis": 0}, e), args[0].name)
    if callee in (sorted, any, all) and len(args) == 1 and not kwargs:
        loc = lw.src.locate(e)
        what = f"{callee.__name__}() on line {loc.line}"
        check = add_bound(lw.graph, RULES["check_numbers"], {"items": rows, "what": what}, loc)
        lw.graph.checks.append(check)  # (of numbers, as Python compares them)
        if callee is sorted:  # a list still: `+`, `*` of it are a list's, not arithmetic
            return Stacked(lw.call_rule("sort", (rows,), {"axis": 0}, e), "sorted(...)")
        return lw.call_rule("bool", (lw.call_rule(callee.__name__, (rows,), {}, e),), {}, e)
    if callee in (np.stack, np.concatenate) and set(kwargs) <= {"axis"} and len(args) <= 2:
        axis = args[1] if len(args) == 2 else kwargs.get("axis", 0)
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise lw.error(
                e, f"np.{callee.__name__} of a list a loop filled takes a constant int axis"
            )
        if callee is np.concatenate:
            return _joined(lw, rows, axis, e)
        return rows if axis == 0 else lw.call_rule("moveaxis", (rows, 0, axis), {}, e)
    if callee is len and len(args) == 1:
        return lw.call_rule("len", (rows,), {}, e)
    if callee in _FOLDS and (len(args) == 1 and not kwargs or callee is sum):
        return _fold(lw, callee, (rows, *args[1:]), e, kwargs)
    raise lw.error(
        e,
        f"{args[0].name} is a list a loop filled; this call on it is not supported",
        f"Read it as np.stack({args[0].name}) (or {args[0].name}[i], len({args[0].name}), "
        f"sum({args[0].name}), for item in {args[0].name}).",
        cls=UnsupportedSyntaxError,
    )


def _asarray(lw: _Lowerer, value: Any, e: ast.AST, dtype: Any = None) -> Any:
    """`np.asarray(a)`: `a` itself where it is an ndarray, a new array where it is a number;
    with a dtype, a itself where it has that dtype, else a new array. Where lowering cannot
    tell, neither may be changed in place afterwards."""
    array = isinstance(value, Value) and aliases.array_kind(lw.graph, value.id, lw.memory)
    if array and dtype is None:
        return value
    out = lw.call_rule("asarray", (value,), {} if dtype is None else {"dtype": dtype}, e)
    if isinstance(value, Value):
        reason = (
            f"np.asarray on line {lw.src.locate(e).line} gives the same array for an ndarray "
            "(of its dtype) and a new one for a number (or another dtype), and symgrad cannot "
            "tell which it got"
        )
        for v in (value, out):
            lw.memory.mark_unsure(lw.graph, v.id, reason)
        if not aliases.owned(lw.graph, value.id):  # it may be the argument (or view) itself
            lw.graph[out.id].attrs["owned"] = False
    return out


def _joined(lw: _Lowerer, rows: Value, axis: int, e: ast.AST) -> Value:
    """`np.concatenate(xs, axis)` of a list a loop filled, from its rows stacked along a new
    first axis: that axis moved beside the items' `axis`, then the two merged into one."""
    at = axis if axis >= 0 else axis - 1  # (the stacked array has an axis more)
    moved = rows if at == 0 else lw.call_rule("moveaxis", (rows, 0, at), {}, e)
    shape = lw.call_rule("shape", (moved,), {}, e)
    head = subscripts.getitem(lw, shape, slice(None, at), e) if at else ()
    tail = subscripts.getitem(lw, shape, slice(at + 2, None), e) if at != -2 else ()
    merged = lw.binop(ast.Add(), lw.binop(ast.Add(), head, (-1,), e), tail, e)
    return lw.call_rule("reshape", (moved, merged), {}, e)


def _fold(lw: _Lowerer, fn, args: tuple, e: ast.AST, kwargs=None) -> Any:
    """Python's sum, min and max: over a tuple or list of values, elementwise (`sum` adds
    them up from its start, 0 unless given: `sum(xs, start)`); over one array, along its
    first axis, as Python iterates it."""
    reduce_rule, binary_rule = _FOLDS[fn]
    for v in args:
        if isinstance(v, Appender):  # (the list the loop fills: `sum(ys)` in its loop)
            raise lw.filling(v, e)
    args, start = _start(lw, fn, args, kwargs or {}, e)
    if len(args) == 1 and isinstance(args[0], Value):
        total = lw.call_rule(reduce_rule, (args[0],), {"axis": 0}, e)
        return total if start is None else lw.call_rule(binary_rule, (start, total), {}, e)
    items = list(args[0]) if len(args) == 1 else list(args)
    if not items and start is None:
        raise lw.error(e, f"{fn.__name__}() of an empty sequence")
    if fn is sum:
        total = 0 if start is None else start
    else:
        total = items.pop(0)
    for item in items:
        total = lw.call_rule(binary_rule, (total, item), {}, e)
        total = total if fn is sum else _builtin(lw, total, fn)
    return total


def _builtin(lw: _Lowerer, value: Any, fn) -> Any:
    """value, a node of Python's `abs`, `min` or `max` of two values, spelt as that builtin:
    of Python numbers a Python number, as Python's (`np.minimum` gives a NumPy one, which a
    float32 array it meets becomes float64 with; of NaN, the operand Python keeps); of an
    array, `abs` is `np.abs`, and `min` and `max` raise as Python does."""
    if isinstance(value, Value) and not lw.graph.is_const(value.id):
        node = lw.graph[value.id]
        node.attrs = {**node.attrs, "builtin": fn.__name__}
    return value


def _start(lw: _Lowerer, fn, args: tuple, kwargs: dict, e: ast.AST) -> tuple[tuple, Any]:
    """(the iterable or items, sum's start or None) of a call of sum, min or max."""
    if fn is not sum:
        if kwargs:
            raise lw.error(e, f"{fn.__name__}() takes no keyword arguments here")
        return args, None
    if set(kwargs) - {"start"} or len(args) + len(kwargs) > 2 or not args:
        raise lw.error(e, "sum() takes an iterable and, optionally, a start: sum(xs, start)")
    if len(args) == 2:
        return args[:1], args[1]
    return args, kwargs.get("start")


def _call_method(lw: _Lowerer, m: Method, args: tuple, kwargs: dict, e: ast.AST) -> Any:
    if m.name == "copy":
        if args or kwargs:  # an order or subclass choice changes nothing to differentiate
            raise lw.error(e, "x.copy() takes no arguments here (write x.copy() or np.copy(x))")
        return lw.call_rule("copy", (m.receiver,), {}, e)
    if m.name in ("reshape", "transpose") and len(args) > 1:
        args = (args,)
    if m.name == "transpose" and args:
        kwargs = {"axes": args[0]}
        args = ()
    if m.name == "astype":
        return lw.call_rule("astype", (m.receiver,) + args, kwargs, e)
    if m.name == "take":
        return composites.lower(lw, np.take, (m.receiver,) + args, kwargs, e)
    out = lw.call_rule(BY_METHOD[m.name], (m.receiver,) + args, kwargs, e)
    return lw.call_rule("copy", (out,), {}, e) if m.name == "flatten" else out  # (ravel's view)


def _stacks(lw: _Lowerer, rule, args: tuple, kwargs: dict, e: ast.AST) -> tuple[tuple, dict]:
    """A NumPy function's arguments with each list a loop filled as its stack, as NumPy reads
    a list of arrays; where the function takes a list of arrays itself (np.vstack), refused:
    it reads the items, not their stack."""
    stacked = [a for a in (*args, *kwargs.values()) if isinstance(a, Stacked)]
    if not stacked:
        return args, kwargs
    if rule is not None and any(p.kind == SEQ for p in rule.params):
        name = stacked[0].name
        raise lw.error(
            e,
            f"np.{rule.name} of {name}, a list a loop filled, is not supported",
            f"Join its items as you mean them: np.stack({name}) (along a new axis) or "
            f"np.concatenate({name}) (along an axis of theirs).",
            cls=UnsupportedSyntaxError,
        )
    args = tuple(a.value if isinstance(a, Stacked) else a for a in args)
    return args, {k: a.value if isinstance(a, Stacked) else a for k, a in kwargs.items()}


def _getattr(lw: _Lowerer, name: str, e: ast.Call) -> Any:
    """`getattr(obj, "name")` of a constant name: `obj.name`, where obj is a name or an
    attribute of one (read again, as the attribute reads it: nothing runs twice)."""
    base = e.args[0]
    while isinstance(base, ast.Attribute):
        base = base.value
    if not isinstance(base, ast.Name) or not name.isidentifier():
        raise lw.error(
            e,
            "getattr of an object a call or an operation computes, or of a name that is not "
            "an identifier, is not supported",
            "Bind the object to a name first: obj = ...; getattr(obj, name).",
            cls=UnsupportedSyntaxError,
        )
    read = ast.copy_location(ast.Attribute(e.args[0], name, ast.Load()), e)
    read.end_lineno, read.end_col_offset = e.end_lineno, e.end_col_offset
    return lw.expr(read)


def _parts(lw: _Lowerer, rule, args: tuple, kwargs: dict, e: ast.AST) -> Any:
    """A call returning several arrays (`Rule.parts`): one node per part, in the NamedTuple
    NumPy returns (`w, v = np.linalg.eigh(a)`, `np.linalg.eigh(a).eigenvalues`)."""
    fields = range(len(rule.parts._fields))
    return rule.parts(*(lw.call_rule(rule.name, args, dict(kwargs, part=k), e) for k in fields))


def lower_custom(lw: _Lowerer, fn: Any, args: tuple, kwargs: dict, e: ast.AST) -> Any:
    """A call to a function with a custom derivative, its rule inlined."""
    return custom.call(lw, fn, args, kwargs, e, _inline)


def _inline(lw: _Lowerer, fn: types.FunctionType, args: tuple, kwargs: dict, e: ast.AST) -> Any:
    frame = _frame(fn, args)
    if frame in lw.stack:
        raise lw.error(
            e,
            f"recursive call to {fn.__qualname__} is not supported",
            cls=UnsupportedSyntaxError,
        )
    if len(lw.stack) >= MAX_DEPTH:
        raise lw.error(
            e,
            f"calls nested more than {MAX_DEPTH} deep (the call of {fn.__qualname__} here)",
            cls=UnsupportedSyntaxError,
        )
    src = fence.read(fn, helper=True)
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except TypeError as err:
        raise lw.error(e, f"bad call to {fn.__qualname__}: {err}") from None
    bound.apply_defaults()
    env = {}
    for name, value in bound.arguments.items():
        env[name] = lw.outside(value, name, e) if not _is_frontend(value) else value
    return lw.inlined(src, env, frame).run()


MAX_DEPTH = 64  # calls of the user's functions inlined inside one another


def _frame(fn: types.FunctionType, args: tuple) -> Hashable:
    """What a call inlined is, for telling recursion: its code, and the object its first
    argument is where that is an object of the user's (`self`): a module's `__call__` calling
    the `forward` of each layer, which calls the same `__call__` on another object, is not
    recursion (the objects are known when compiling, and their count bounds the depth)."""
    first = args[0] if args else None
    if first is None or _is_frontend(first) or isinstance(first, (type, types.ModuleType)):
        return fn.__code__
    return (fn.__code__, id(first))


NAMED_READS = ("_replace", "_asdict", "_make", "_fields")  # a NamedTuple's, run as they are


def _list_change(lw: _Lowerer, callee: Any, args: tuple, kwargs: dict, e: ast.Call) -> Any:
    """`xs.extend(items)` of a tuple or list, `xs.insert(i, v)`, `xs.pop()` or `xs.pop(i)`, an
    index a constant int: the list changed now, as every name holding it sees."""
    name = callee.__name__
    ok = not kwargs and (
        name == "extend"
        and len(args) == 1
        and isinstance(args[0], (tuple, list))
        or name == "insert"
        and len(args) == 2
        and type(args[0]) is int
        or name == "pop"
        and len(args) <= 1
        and all(type(a) is int for a in args)
    )
    if not ok:
        what = "a tuple or list" if name == "extend" else "constant ints"
        raise lw.error(
            e,
            f"list.{name} takes {what} here (the list's items are known when compiling)",
            cls=UnsupportedSyntaxError,
        )
    try:
        return callee(*args)
    except IndexError as err:
        raise lw.error(e, f"list.{name}: {err}") from None


def _a_plain_class(callee: Any) -> bool:
    """Whether callee is a class of the user's whose instances are made as Python makes them
    (object's __new__, a __dict__, no metaclass's __call__) and whose __init__ is Python
    source or object's: calling it is making a record and running its __init__ on it."""
    if not isinstance(callee, type) or type(callee) is not type or _is_library(callee):
        return False
    if callee.__new__ is not object.__new__ or "__slots__" in vars(callee):
        return False
    if callee.__getattribute__ is not object.__getattribute__:
        return False  # (its attributes are not what its __dict__ holds)
    init = callee.__init__
    return init is object.__init__ or isinstance(init, types.FunctionType)


def set_attribute(lw: _Lowerer, record: Any, target: ast.Attribute, value: Any) -> None:
    """`obj.name = value` of a record the function made in this block (`Memory.objects`: a
    class called, its __init__'s `self.mu = mu`), which holds it from then on, for every name
    holding the object; refused for any other object (an argument's, a global's: Python's
    assignment would change the caller's object) and where a descriptor of its class (a
    property's setter) would run."""
    made = lw.memory.objects.get(id(record))
    if made is None or made[0] is not record or made[1] is not lw.graph:
        raise lw.error(
            target,
            f"assignment to the attribute .{target.attr} of an object the function did not "
            "make here (an argument's, a global's, or one made before this loop or if) is not "
            "supported",
            "Keep the value in a variable, or make the object where its attributes are set.",
            cls=UnsupportedSyntaxError,
        )
    cls = type(record)
    found = inspect.getattr_static(cls, target.attr, None)
    if hasattr(type(found), "__set__") or hasattr(type(found), "__delete__"):
        raise lw.error(
            target,
            f"assignment to .{target.attr}, a {type(found).__name__} of {cls.__name__}, is not "
            "supported",
            cls=UnsupportedSyntaxError,
        )
    if cls.__setattr__ is not object.__setattr__ or not hasattr(record, "__dict__"):
        raise lw.error(  # (a frozen dataclass's raises; __slots__ hold no other attribute)
            target,
            f"assignment to an attribute of {cls.__name__}, whose __setattr__ or __slots__ are "
            "its own, is not supported",
            "Make the object with the values it holds.",
            cls=UnsupportedSyntaxError,
        )
    object.__setattr__(record, target.attr, value)


def _a_plain_dataclass(callee: Any) -> bool:
    """Whether callee is a dataclass whose __init__ is the one `dataclasses` writes, which
    only stores its arguments (no __post_init__ computing on them)."""
    if not (isinstance(callee, type) and dataclasses.is_dataclass(callee)):
        return False
    init = getattr(callee.__init__, "__code__", None)
    return (
        init is not None and init.co_filename == "<string>" and not hasattr(callee, "__post_init__")
    )


def _keyed(items: Any) -> bool:
    """Whether sorted() orders items when compiling: a dict (its keys), or a list or tuple of
    constants, or of tuples whose first items are distinct constants (`params.items()`)."""
    if isinstance(items, dict):
        return True
    if type(items) not in (list, tuple):
        return False
    firsts = [i[0] if type(i) is tuple and i else i for i in items]
    return all(map(is_const, firsts)) and len(set(map(repr, firsts))) == len(firsts)


def _type_test(lw: _Lowerer, callee: Any, args: tuple, e: ast.Call) -> Any:
    """isinstance, hasattr or callable of a value known when compiling (a container, an
    object, a constant), as Python's; `isinstance(x, float)` of a value computed (an array or
    number argument) a node decided when the call's types are known, a built-in's or NumPy's
    class tested, as Python does."""
    if not any(isinstance(a, (Value, Stacked)) for a in args):
        try:
            return callee(*args)
        except TypeError as err:
            raise lw.error(e, f"bad arguments to {callee.__name__}: {err}") from None
    classes = args[1] if len(args) == 2 and type(args[1]) is tuple else args[1:]
    named = callee is isinstance and len(args) == 2 and isinstance(args[0], Value)
    if not (named and classes and all(isinstance(c, type) and class_name(c) for c in classes)):
        raise lw.error(
            e,
            f"{callee.__name__} of a value computed when the function runs is supported as "
            "isinstance(x, cls) of built-in and NumPy classes (float, int, np.ndarray, ...)",
            cls=UnsupportedSyntaxError,
        )
    return lw.call_rule("isinstance", (args[0],), {"classinfo": tuple(classes)}, e)


def _update(lw: _Lowerer, d: dict, args: tuple, kwargs: dict, e: ast.Call) -> None:
    """`d.update(other, k=v)` of a dict the block made (as `d[k] = v`, `subscripts.setitem`):
    changed now, as every name holding it sees."""
    if lw.memory.maker(d) is not lw.graph:
        raise lw.error(
            e,
            "d.update(...) is supported on a dict the function made, in the block that made it "
            "(not an argument's or a global's, whose change the caller would see)",
            "Make a new dict: d = {**d, **other}.",
            cls=UnsupportedSyntaxError,
        )
    if len(args) > 1 or args and type(args[0]) is not dict:
        raise lw.error(e, "d.update takes a dict and keywords here", cls=UnsupportedSyntaxError)
    d.update(*args, **kwargs)


def _named_tuples(callee: Any) -> bool:
    """Whether callee is a NamedTuple's (or its class's) method of `NAMED_READS`, which make
    a container of the items they are given."""
    owner = getattr(callee, "__self__", None)
    cls = owner if isinstance(owner, type) else type(owner)
    return hasattr(cls, "_fields") and getattr(callee, "__name__", None) in NAMED_READS


def record_attribute(lw: _Lowerer, record: Any, e: ast.Attribute) -> Any:
    """`self.name` (or a field of a dataclass of parameters, an attribute of a NamedTuple): an
    attribute of the instance (a leaf or a constant of its container), or one its class holds,
    read from the class as it is now each call (`Reads`): a constant, a method, a property's
    getter inlined on `record`."""
    if hasattr(type(record), "_fields"):  # a NamedTuple (its fields read before)
        own = e.attr in NAMED_READS
    else:
        try:
            own = e.attr in vars(record)
        except TypeError:  # (a class with __slots__: its fields are descriptors of the class)
            own = True
    if own:
        return getattr(record, e.attr)
    _, found = _class_entry(lw, type(record).__mro__, e, type(record).__name__)
    if isinstance(found, property) and isinstance(found.fget, types.FunctionType):
        return _inline(lw, found.fget, (record,), {}, e)
    plain = (types.FunctionType, staticmethod, classmethod, type)
    if hasattr(type(found), "__get__") and not isinstance(found, plain):
        raise lw.error(
            e,
            f"attribute .{e.attr} of {type(record).__name__} is a {type(found).__name__}, which "
            "symgrad does not read",
            "Compute the value in a method, and call it.",
            cls=UnknownCallableError,
        )
    return getattr(record, e.attr)


def _is_library(fn: types.FunctionType | type) -> bool:
    """Whether fn (a function or a class) is a library's, never read from its source: NumPy's,
    SciPy's, symgrad's, or Python's standard library's (`collections.namedtuple`: its code is
    not the user's; by its file, so that a user's module named as a standard one, `code.py`,
    stays the user's; a class of a module with no file, a built-in, is Python's)."""
    module = (fn.__module__ or "").split(".")[0]
    return module in ("numpy", "symgrad", "scipy") or _in_the_standard_library(fn)


def _in_the_standard_library(fn: types.FunctionType | type) -> bool:
    code = getattr(fn, "__code__", None)
    file = code.co_filename if code else getattr(sys.modules.get(fn.__module__), "__file__", None)
    if file is None:
        return True
    stdlib, site = _library_folders()
    file = os.path.abspath(file)
    return file.startswith(stdlib) and not file.startswith(site)


@functools.cache
def _library_folders() -> tuple[str, str]:
    """The standard library's folder and site-packages' (read once, when first needed: not
    on `import symgrad`'s path)."""
    import sysconfig

    paths = sysconfig.get_paths()
    return tuple(os.path.join(os.path.abspath(paths[k]), "") for k in ("stdlib", "purelib"))


def _is_frontend(v: Any) -> bool:
    if isinstance(v, (tuple, list)):
        return all(_is_frontend(x) for x in v)
    return isinstance(v, (Value, Method)) or is_const(v)
