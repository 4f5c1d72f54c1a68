"""The fence: rejects, before lowering, every construct symgrad does not differentiate.

Contract: `check(src)` walks the function's AST and raises `UnsupportedSyntaxError` at the first
unsupported construct, naming it, with file, line, column, caret, and what to write instead.
Passing the fence means lowering only meets statements and expressions it handles.
"""

from __future__ import annotations

import ast

from symgrad.errors import UnsupportedSyntaxError
from symgrad.frontend import comprehensions, element_stores, errstate, loop_exits, trajectories
from symgrad.frontend.branches import fold_returns
from symgrad.frontend.jumps import always_jumps
from symgrad.frontend.source import FunctionSource, own_nodes, read_function

REJECT: dict[type, tuple[str, str]] = {
    ast.Try: ("try/except", "let errors propagate; the gradient code has no handlers"),
    ast.With: ("a with block", "move the context manager outside the differentiated function"),
    ast.AsyncWith: ("async with", "differentiate synchronous code"),
    ast.AsyncFor: ("async for", "differentiate synchronous code"),
    ast.AsyncFunctionDef: ("an async function", "differentiate synchronous code"),
    ast.Await: ("await", "differentiate synchronous code"),
    ast.Yield: ("yield", "return a value instead of generating values"),
    ast.YieldFrom: ("yield from", "return a value instead of generating values"),
    ast.Global: ("a global statement", "pass the value in as an argument and return results"),
    ast.Nonlocal: ("a nonlocal statement", "pass the value in as an argument and return results"),
    ast.ClassDef: ("a class definition", "define classes at module level"),
    ast.Delete: ("del", "leave the name unused instead"),
    ast.Import: ("an import inside the function", "import at module level"),
    ast.ImportFrom: ("an import inside the function", "import at module level"),
    ast.ListComp: (
        "a list comprehension in a while condition, an assert or a dict comprehension",
        "compute it in a statement of its own (a list per key: a loop over the dict's items)",
    ),
    ast.SetComp: ("a set comprehension", "build the array with NumPy operations"),
    ast.GeneratorExp: (
        "a generator expression read later than where it stands (bound to a name, in a "
        "container, passed to a function of your own, in a while condition or an assert)",
        "pass it straight to the call that reads it (sum(...), np.stack(...)), or write a list "
        "comprehension [...], which Python computes where it stands",
    ),
    ast.Set: ("a set", "use a tuple"),
    ast.NamedExpr: ("an assignment expression (:=)", "assign in a statement of its own"),
    ast.Starred: ("a starred expression", "pass the arguments one by one"),  # (a target's is fine)
}


def read(fn, helper: bool = False) -> FunctionSource:
    """fn's source as lowering takes it: read, its comprehensions written as the loops they
    are (`symgrad.frontend.comprehensions`), a loop's reads of the last item of the list it
    fills written as a name of their own (`symgrad.frontend.trajectories`), and checked (a
    `helper` it calls may end with no return, returning None, as one that fills an array it
    is given does)."""
    src = read_function(fn)
    errstate.desugar(src)
    element_stores.desugar(src)
    loop_exits.desugar(src)
    comprehensions.desugar(src)
    trajectories.desugar(src)
    check(src, helper=helper)
    return src


def check(src: FunctionSource, fn: ast.FunctionDef | None = None, helper: bool = False) -> None:
    """Check the function (or `fn`, a def nested in it, with the same rules; as a helper, a
    body with no return, or bare ones only, returns None)."""
    varargs = helper and fn is None  # (a function called, read from its module: inlined)
    helper = helper or fn is not None
    fn = fn or src.tree
    returns = [n for n in own_nodes(fn) if isinstance(n, ast.Return)]
    if helper and all(r.value is None for r in returns):  # (none, or bare ones: an __init__'s
        for r in returns:  # `if flag: return`): each returns None, and so does its end
            r.value = ast.copy_location(ast.Constant(None), r)
        if not (fn.body and isinstance(fn.body[-1], ast.Return)):
            end = ast.Return(ast.Constant(None))
            fn.body.append(ast.fix_missing_locations(ast.copy_location(end, fn.body[-1])))
    args = fn.args
    if (args.vararg or args.kwarg) and not varargs:
        bad = args.vararg or args.kwarg
        raise UnsupportedSyntaxError(
            "*args/**kwargs parameters of the function differentiated (or of a def inside it) "
            "are not supported",
            src.locate(bad),
            "Name each parameter (a function it calls may take *args and **kwargs).",
        )
    spread = {id(a) for n in ast.walk(fn) if isinstance(n, ast.Call) for a in n.args}
    for stmt in fn.body:
        for node in own_nodes(stmt):
            if isinstance(node, ast.FunctionDef):
                if node.decorator_list:  # (lowering binds the def itself to its name)
                    raise UnsupportedSyntaxError(
                        f"a decorated function defined inside the function ({node.name})",
                        src.locate(node.decorator_list[0]),
                        "Define it at module level, or apply the decorator in a statement "
                        f"of its own: {node.name}_d = decorator({node.name}).",
                    )
                check(src, node)  # a nested def: a function of its own
                continue
            kind = REJECT.get(type(node))
            if isinstance(node, ast.Starred) and isinstance(node.ctx, ast.Store):
                kind = None  # a starred assignment target: `n, *rest = x.shape`
            if isinstance(node, ast.Starred) and id(node) in spread:
                kind = None  # a call's `*args`: its items passed one by one
            if kind is not None:
                what, instead = kind
                raise UnsupportedSyntaxError(
                    f"{what} is not supported", src.locate(node), f"Instead: {instead}."
                )
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    for sub in ast.walk(t):
                        stored = isinstance(getattr(sub, "ctx", None), ast.Store)
                        if stored and _an_objects_attribute(node, t, sub):
                            continue  # (`self.mu = mu`: lowering decides, by the object)
                        if stored and isinstance(sub, ast.Attribute):
                            raise UnsupportedSyntaxError(
                                "assignment to an attribute is not supported",
                                src.locate(sub),
                                "Instead: keep the value in a variable, and return it.",
                            )
                        if stored and isinstance(sub, ast.Subscript):
                            if not isinstance(sub.value, ast.Name):
                                raise UnsupportedSyntaxError(
                                    "assignment to an element of an expression is not supported",
                                    src.locate(sub),
                                    "Instead: assign to a variable's elements: a[i, j] = v.",
                                )
    for node in own_nodes(fn):  # (`loop_exits` rewrote every one: none is left to drop)
        if isinstance(node, (ast.For, ast.While)) and (node.orelse or _in_loop(node)):
            where = node.orelse[0] if node.orelse else _in_loop(node)
            raise UnsupportedSyntaxError("this loop's exit is not supported", src.locate(where))
    _check_returns(src, fn.body)
    _check_jumps(src, fn.body)
    body = fold_returns(fn.body)
    if not body or not isinstance(body[-1], ast.Return) or body[-1].value is None:
        raise UnsupportedSyntaxError(
            f"function {fn.name} does not return a value on every path",
            src.locate(fn),
            "End it with `return <value>` (an if may return early).",
        )


def _in_loop(loop: ast.For | ast.While) -> ast.Return | None:
    return next((n for n in own_nodes(loop) if isinstance(n, ast.Return)), None)


def _check_returns(src: FunctionSource, block: list[ast.stmt]) -> None:
    """A return ends its block: the function's, or a branch of an if in such a block."""
    for k, stmt in enumerate(block):
        if isinstance(stmt, ast.Return) and k != len(block) - 1:
            raise UnsupportedSyntaxError(
                "code after a return never runs", src.locate(block[k + 1]), "Remove it."
            )
        if isinstance(stmt, ast.If):
            _check_returns(src, stmt.body)
            _check_returns(src, stmt.orelse)


def _check_jumps(src: FunctionSource, block: list[ast.stmt]) -> None:
    """A break or continue ends its block, as does an if each of whose branches jumps."""
    for k, stmt in enumerate(block[:-1]):
        if isinstance(stmt, (ast.Break, ast.Continue)) or (
            isinstance(stmt, ast.If) and always_jumps([stmt])
        ):
            what = (
                type(stmt).__name__.lower()
                if not isinstance(stmt, ast.If)
                else "an if whose every branch breaks or continues"
            )
            raise UnsupportedSyntaxError(
                f"code after {what} never runs", src.locate(block[k + 1]), "Remove it."
            )
    for stmt in block:
        for child in ("body", "orelse"):
            if isinstance(stmt, (ast.If, ast.For, ast.While)):
                _check_jumps(src, getattr(stmt, child))


def _an_objects_attribute(node: ast.AST, target: ast.AST, sub: ast.AST) -> bool:
    """`name.attr = value`, a plain assignment's target (or one of a tuple of them: `self.W,
    self.b = W, b`): an attribute of an object the function made may be set
    (`symgrad.frontend.calls.set_attribute`)."""
    items = target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
    return (
        isinstance(node, ast.Assign)
        and any(sub is t for t in items)
        and isinstance(sub, ast.Attribute)
        and isinstance(sub.value, ast.Name)
    )
