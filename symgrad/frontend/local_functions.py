"""Functions defined inside the differentiated function: nested `def`s and lambdas.

Contract: `define(lw, node)` binds a nested `def` (`lambda` expressions: `define_lambda`) to
a `LocalFunction`, its defaults evaluated where it is defined, as Python does; `call(lw, fn,
args, kwargs, e)` inlines a call to it like a call to a module-level function. Its names that
are not its own (parameters, or names it assigns) are the enclosing function's variables as
they are *when it is called* (Python's closures bind late): they are looked up in the caller's
scope where the call is made from the function that defined it (in a loop body: the value the
loop has reached), else, for a function passed to a helper and called there, in the scope of
the defining function's call that is still being lowered. A recursive local function is
refused.
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from symgrad.errors import UnsupportedSyntaxError
from symgrad.frontend.source import FunctionSource, lambda_def

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer


@dataclass(eq=False)
class LocalFunction:
    tree: ast.FunctionDef
    signature: inspect.Signature
    owner: Any  # the function-level lowerer whose body defines it
    src: FunctionSource  # of the function that defines it

    @property
    def name(self) -> str:
        return self.tree.name


def define(lw: _Lowerer, node: ast.FunctionDef) -> None:
    lw.env[node.name] = _local(lw, node)


def define_lambda(lw: _Lowerer, e: ast.Lambda) -> LocalFunction:
    return _local(lw, lambda_def(e))


def call(lw: _Lowerer, fn: LocalFunction, args: tuple, kwargs: dict, e: ast.AST) -> Any:
    if fn.tree in lw.stack:
        raise lw.error(
            e, f"recursive call to {fn.name} is not supported", cls=UnsupportedSyntaxError
        )
    try:
        bound = fn.signature.bind(*args, **kwargs)
    except TypeError as err:
        raise lw.error(e, f"bad call to {fn.name}: {err}") from None
    bound.apply_defaults()
    scope = _calling_scope(lw, fn.owner)
    if scope is None:
        raise lw.error(
            e,
            f"{fn.name} is called after the function that defines it has returned",
            cls=UnsupportedSyntaxError,
        )
    env = _Scope(scope)
    env.update(bound.arguments)
    around = fn.src.local_names()  # (its globals, and the names of the defs around it)
    src = FunctionSource(fn.src.fn, fn.tree, fn.src.file, moved=fn.src.moved, enclosing=around)
    child = type(lw)(lw.graph, src, env, lw.stack + (fn.tree,), lw.memory, lw.reads, lw)
    child.waiting = lw.waiting_for(bound.arguments.values())
    return child.run()


def _local(lw: _Lowerer, node: ast.FunctionDef) -> LocalFunction:
    a = node.args
    if a.vararg or a.kwarg:
        raise lw.error(node, "*args/**kwargs parameters are not supported")
    defaults = [lw.expr(d) for d in a.defaults]
    kw_defaults = [None if d is None else lw.expr(d) for d in a.kw_defaults]
    positional = a.posonlyargs + a.args
    first_default = len(positional) - len(defaults)
    params = [
        inspect.Parameter(
            p.arg,
            inspect.Parameter.POSITIONAL_ONLY
            if k < len(a.posonlyargs)
            else inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=defaults[k - first_default] if k >= first_default else inspect.Parameter.empty,
        )
        for k, p in enumerate(positional)
    ]
    params += [
        inspect.Parameter(
            p.arg,
            inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty if ast_d is None else d,
        )
        for p, d, ast_d in zip(a.kwonlyargs, kw_defaults, a.kw_defaults)
    ]
    return LocalFunction(node, inspect.Signature(params), _function_level(lw), lw.src)


def _function_level(lw: _Lowerer) -> _Lowerer:
    """The lowerer of the function body lw is in (a loop body's or branch's enclosing one)."""
    while lw.enclosing is not None:
        lw = lw.enclosing
    return lw


def _calling_scope(lw: _Lowerer, owner: _Lowerer) -> dict | None:
    """The env in which the owner's variables have their values now: the caller's own, or,
    from a helper the owner called, the owner's scope at that call."""
    while lw is not None:
        if _function_level(lw) is owner:
            return lw.env
        lw = _function_level(lw).parent
    return None


class _Scope(dict):
    """A local function's names: its own, then the enclosing scope's (read, never written)."""

    def __init__(self, outer):
        super().__init__()
        self.outer = outer

    def __contains__(self, name) -> bool:
        return dict.__contains__(self, name) or name in self.outer

    def __getitem__(self, name: str) -> Any:
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        return self.outer[name]

    def get(self, name, default=None):
        return self[name] if name in self else default
