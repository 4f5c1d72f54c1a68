"""Reading a function's source: its `ast.FunctionDef` with line numbers of the real file.

Contract: `read_function(fn)` returns the function's AST (decorators dropped, line and column
numbers as in the file) and a `locate(node)` that turns an AST node into a `Loc` (file, line,
column, and the line's text for the caret). Functions without readable source raise
`SourceUnavailableError` saying why and what to do instead, and so does source that is not the
code the function runs (its file edited after it was defined): the text read must compile to the
function's bytecode, names and constants.
"""

from __future__ import annotations

import ast
import copy
import dis
import inspect
import linecache
import re
import textwrap
import types
from dataclasses import dataclass
from typing import Callable

from symgrad.errors import Loc, SourceUnavailableError
from symgrad.syntax import children, last_line, nested_codes, walk

_SCOPES = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_FUTURE = 0x1FE0000  # co_flags bits that are `from __future__` features (CO_FUTURE_*)


@dataclass
class FunctionSource:
    fn: Callable
    tree: ast.FunctionDef
    file: str
    builtins: tuple = ()  # builtins read while reading it (`sum` of a generator, folded)
    lists: frozenset = frozenset()  # the lists its comprehensions became (`terms`, `items`)
    moved: bool = False  # a return moved after its loop (`loop_exits`): read where it stood
    enclosing: frozenset = frozenset()  # a nested def's: the names the defs around it bind
    _read_last: dict | None = None  # (`read_last`'s, once)
    _locals: frozenset | None = None  # (`local_names`', once)

    def read_last(self) -> dict[str, tuple[int, int]]:
        """Where the function last reads each name (line, column; `t += 1` reads t too), in the
        source's text (a return moved after its loop reads after it, `moved`)."""
        if self._read_last is None:
            found: dict[str, tuple[int, int]] = {}
            for n in walk(self.tree):
                target = n.target if isinstance(n, ast.AugAssign) else None
                n = target if isinstance(target, ast.Name) else n
                if isinstance(n, ast.Name) and (target is not None or isinstance(n.ctx, ast.Load)):
                    at = (n.lineno, n.col_offset)
                    found[n.id] = max(found.get(n.id, at), at)
            self._read_last = found
        return self._read_last

    def local_names(self) -> frozenset[str]:
        """The names the function binds (its parameters, and every name its own statements
        assign, not a def's nested in it), and for a nested def those of the defs around it
        (`enclosing`): in Python, each is theirs wherever it is read, never a global's."""
        if self._locals is None:
            args = self.tree.args
            named = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
            named += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
            body = self.tree.body
            stack: list = list(body) if isinstance(body, list) else [body]  # (a lambda's: one)
            while stack:
                n = stack.pop()
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                    named.append(n.id)
                if isinstance(n, ast.FunctionDef):
                    named.append(n.name)  # (its own names are its own)
                elif not isinstance(n, _SCOPES):  # (nor a lambda's or a comprehension's)
                    stack += [c for c in children(n) if isinstance(c, ast.AST)]
            self._locals = frozenset(named) | self.enclosing
        return self._locals

    def locate(self, node: ast.AST) -> Loc:
        line = getattr(node, "lineno", self.tree.lineno)
        col = getattr(node, "col_offset", 0)
        text = linecache.getline(self.file, line).rstrip("\n")
        return Loc(self.file, line, col, text)


def read_function(fn: Callable) -> FunctionSource:
    name = getattr(fn, "__qualname__", repr(fn))
    try:
        file = inspect.getfile(fn)  # (its code's file: getsourcefile may look through sys.modules)
        if getattr(fn, "__name__", "") == "<lambda>":
            read = _lambda(fn, file, name), 0
        else:
            found = _quick_lines(fn)
            read = _parsed(*found, fn, file) if found is not None else None
        if read is None:  # (inspect tokenizes the file from fn's first line)
            read = _parsed(*inspect.getsourcelines(fn), fn, file, name)
    except (OSError, TypeError) as e:
        raise SourceUnavailableError(
            f"cannot read the source of {name}: {e}",
            hint="symgrad differentiates Python functions defined in a file (or registered with "
            "linecache); built-ins, C extensions and functions typed into a bare REPL have none.",
        ) from None
    tree, indent = read
    owner = _class_of(fn)
    for node in ast.walk(tree) if indent or owner else ():
        if indent and hasattr(node, "col_offset"):
            node.col_offset += indent
        if owner and node is not tree:  # `self.__W` in a method of class C: `self._C__W`
            for field in _MANGLED.get(type(node), ()):
                if _private(getattr(node, field) or ""):
                    setattr(node, field, f"_{owner}{getattr(node, field)}")
    source = FunctionSource(fn, tree, file)
    if (inspect.isfunction(fn) or inspect.ismethod(fn)) and inspect.unwrap(fn) is not fn:
        raise SourceUnavailableError(  # (inspect reads the source of the function inside)
            f"{name} is a decorator's wrapper (functools.wraps): what the wrapper does to the "
            "function's arguments and value is not in the source symgrad would read",
            source.locate(tree.decorator_list[0] if tree.decorator_list else tree),
            f"Differentiate {fn.__name__}.__wrapped__ (the function itself) where the "
            "decorator leaves its value as it is, or write the wrapper's work into a function.",
        )
    tree.decorator_list = []
    return source


def _class_of(fn: Callable) -> str | None:
    """The name, without its leading underscores, of the class fn is defined in (its
    `__qualname__`'s part before its own), whose private names (`__W`) its code mangles."""
    return (_enclosing_class(getattr(fn, "__qualname__", "")) or "").lstrip("_") or None


def _enclosing_class(qualname: str) -> str | None:
    """The name of the class a qualified name (`C.f`) is defined in, as written: None for a
    module's function or one local to a function (`g.<locals>.f`)."""
    parts = qualname.split(".")
    return parts[-2] if len(parts) > 1 and parts[-2] != "<locals>" else None


_MANGLED = {  # the fields of names Python mangles in a class's body
    ast.Attribute: ("attr",),
    ast.Name: ("id",),
    ast.arg: ("arg",),
    ast.FunctionDef: ("name",),
}


def _private(name: str) -> bool:
    return name.startswith("__") and not name.endswith("__")


def _quick_lines(fn: Callable) -> tuple[list[str], int] | None:
    """fn's source lines and the number of the first, as `inspect.getsourcelines` gives them,
    found without tokenizing: from fn's first line to the last its code (nested code too) has
    a position on, where the next line of code is indented no deeper than the first (else the
    body goes on, past code compiled away: None, as for code of no function)."""
    inner = inspect.unwrap(fn)
    code = getattr(inner, "__code__", None)
    if code is None:
        return None
    found = _file_lines(code, getattr(inner, "__globals__", None))
    if found is None:
        return None
    lines, k = found
    end = last_line(code)
    if end <= k:
        return None
    depth = len(lines[k]) - len(lines[k].lstrip())
    for line in lines[end:]:
        text = line.lstrip()
        if text and not text.startswith("#"):
            if len(line) - len(text) > depth:
                return None
            break
    return lines[k:end], k + 1


_DEF = re.compile(r"^(\s*def\s)|(\s*async\s+def\s)|(.*(?<!\w)lambda(:|\s))|^(\s*@)")


def _file_lines(code: types.CodeType, module_globals: dict | None) -> tuple[list, int] | None:
    """The lines of code's file and the index of its `def` (or first decorator) line, as
    `inspect.findsource(code)` gives them, or None where there are none. The file's module is
    the function's globals: `inspect.getmodule` would look for it through `sys.modules`, every
    module of which it checks again on each call (milliseconds where thousands are loaded),
    for a code object (`inspect.getsourcefile`'s, where the file is not on disk) too."""
    file = code.co_filename
    linecache.checkcache(file)
    lines = linecache.getlines(file, module_globals)
    k = code.co_firstlineno - 1
    if not lines or k >= len(lines):
        return None
    while k > 0 and not _DEF.match(lines[k]):
        k -= 1
    return lines, k


def _parsed(
    lines: list[str], start: int, fn: Callable, file: str, name: str | None = None
) -> tuple[ast.FunctionDef, int] | None:
    """The `def` of `lines` (starting at line `start` of the file), with the file's line
    numbers, and the indent its column numbers lack; where it is not fn's source, a
    `SourceUnavailableError` saying why, or, without fn's `name`, None."""
    text = "".join(lines)
    indent = len(lines[0]) - len(lines[0].lstrip())
    try:  # (blank lines before it give it the file's line numbers)
        module = ast.parse("\n" * (start - 1) + textwrap.dedent(text))
    except SyntaxError as e:
        if name is None:
            return None
        raise SourceUnavailableError(f"cannot parse the source of {name}: {e}") from None
    tree = module.body[0]
    if isinstance(tree, ast.FunctionDef) and _is_source_of(text, tree, inspect.unwrap(fn), file):
        return tree, indent
    if name is None:
        return None
    if not isinstance(tree, ast.FunctionDef):
        raise SourceUnavailableError(f"the source of {name} is not a `def` statement")
    raise SourceUnavailableError(
        f"the source of {name} in {file} is not the code it runs: the file changed after "
        "the function was defined",
        hint="Reload the module (importlib.reload) or run the definition again, so that "
        "the function runs what its file says.",
    )


def _lambda(fn: Callable, file: str, name: str) -> ast.FunctionDef:
    """A lambda's source (`relu = lambda z: ...` of a module, an item of a dict of them, one a
    function returned) as a def that returns its body: the lambda on its first line whose
    text compiles to its code (tried from the innermost: one around it compiles it too); none: a
    `SourceUnavailableError`."""
    code = fn.__code__
    linecache.checkcache(file)
    lines = linecache.getlines(file, getattr(fn, "__globals__", None))
    if not lines:
        raise OSError("no lines of its file can be read")
    try:
        module = _module(file, "".join(lines))
    except SyntaxError as e:
        raise SourceUnavailableError(f"cannot parse the source of {name}: {e}") from None
    named = {}  # a lambda bound to a name (`sq = lambda x: ...`): the module's function's name
    found = []
    for node in ast.walk(module):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
            if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                named[id(node.value)] = node.targets[0].id
        if isinstance(node, ast.Lambda) and node.lineno == code.co_firstlineno:
            found.append(node)
    for node in reversed(found):
        tree = lambda_def(copy.deepcopy(node))  # (the file's AST is kept: desugaring changes it)
        text = "".join(lines[node.lineno - 1 : node.end_lineno]) + f"{node.col_offset}"
        if _is_source_of(text, tree, fn, file):
            tree.name = named.get(id(node), "anonymous")  # (an emitted module's: grad_sq)
            return tree
    raise SourceUnavailableError(
        f"the source of the lambda {name} in {file} is not the code it runs: the file "
        "changed after it was defined",
        hint="Reload the module (importlib.reload) or run the definition again.",
    )


def lambda_def(node: ast.Lambda) -> ast.FunctionDef:
    """A lambda as the def it is: `def <lambda>(args): return body`, at the lambda's place."""
    body = [ast.copy_location(ast.Return(node.body), node.body)]
    fdef = ast.FunctionDef("<lambda>", node.args, body, [], None, None, **_no_params())
    return ast.copy_location(fdef, node)


_MODULES: dict[tuple[str, int], ast.Module] = {}  # (file, hash of its text) -> its AST


def _module(file: str, text: str) -> ast.Module:
    key = (file, hash(text))
    if key not in _MODULES:
        if len(_MODULES) > 64:
            _MODULES.clear()
        _MODULES[key] = ast.parse(text)
    return _MODULES[key]


_CHECKED: dict[tuple[types.CodeType, str], bool] = {}  # (code, source text) -> the verdict


def _is_source_of(text: str, tree: ast.FunctionDef, fn: types.FunctionType, file: str) -> bool:
    """Whether `text` (parsed: `tree`) is the source of fn's code, compiled once per pair."""
    key = (fn.__code__, text)
    if key not in _CHECKED:
        _CHECKED[key] = _compiles_to(tree, fn.__code__, file, _imported(fn))
    return _CHECKED[key]


def _imported(fn: types.FunctionType) -> list[str]:
    """The global names fn's code (nested code too) reads that hold modules: as a rule bound by
    an import, which makes CPython compile a call of their attributes (`np.sum(x)`) without the
    method call it compiles for other names."""
    names = {n for c in (fn.__code__, *nested_codes(fn.__code__)) for n in c.co_names}
    module = getattr(fn, "__globals__", {})
    return sorted(n for n in names if isinstance(module.get(n), types.ModuleType))


def _compiles_to(
    tree: ast.FunctionDef, code: types.CodeType, file: str, imported: list[str]
) -> bool:
    """Whether the `def` compiles to `code` (its bytecode, names and constants): whether it
    is the source of the function that runs. Free variables are bound by an enclosing def. The
    module compiled imports the names `imported`, as the function's own module does, so that
    the bytecode is as a rule the same and compares equal without decoding it (`_ops`)."""
    fdef = ast.FunctionDef(
        tree.name, tree.args, tree.body, [], tree.returns, tree.type_comment, **_type_params(tree)
    )
    # the parsed nodes have positions: only the new ones are given theirs (no walk of the tree)
    stmts: list[ast.stmt] = [ast.copy_location(fdef, tree)]
    if code.co_freevars:
        cells = [
            ast.fix_missing_locations(ast.Assign([ast.Name(v, ast.Store())], ast.Constant(None)))
            for v in code.co_freevars
        ]
        outer = ast.FunctionDef("_symgrad_outer", ast.arguments([], [], None, [], [], None, []))
        outer.body, outer.decorator_list, outer.returns = [], [], None
        outer.type_comment = None
        for k, v in _type_params(tree).items():
            setattr(outer, k, [] if v is not None else v)
        ast.fix_missing_locations(outer).body = [*cells, fdef]
        stmts = [outer]
    owner = _class_named(code)
    if owner is not None:  # (a method's private names compile mangled in its class's body)
        stmts = [ast.fix_missing_locations(ast.ClassDef(owner, [], [], stmts, [], **_no_params()))]
    imports = [ast.fix_missing_locations(ast.Import([ast.alias(n)])) for n in imported]
    module = ast.Module([*imports, *stmts], [])
    try:
        compiled = compile(module, file, "exec", flags=code.co_flags & _FUTURE, dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return any(_same(c, code) for c in nested_codes(compiled) if c.co_name == code.co_name)


def _class_named(code: types.CodeType) -> str | None:
    """The class whose private names code holds mangled (`_C__W`), by its qualified name."""
    owner = _enclosing_class(getattr(code, "co_qualname", ""))
    prefix = f"_{owner.lstrip('_')}__" if owner else None
    names = (*code.co_names, *code.co_varnames)
    return owner if prefix and any(n.startswith(prefix) for n in names) else None


def _no_params() -> dict:
    return {"type_params": []} if "type_params" in ast.ClassDef._fields else {}


def _type_params(tree: ast.FunctionDef) -> dict:
    return {"type_params": tree.type_params} if hasattr(tree, "type_params") else {}


def _same(a: types.CodeType, b: types.CodeType) -> bool:
    if (a.co_names, a.co_varnames, a.co_freevars) != (b.co_names, b.co_varnames, b.co_freevars):
        return False
    if a.co_code != b.co_code and _ops(a) != _ops(b) or len(a.co_consts) != len(b.co_consts):
        return False
    for x, y in zip(a.co_consts, b.co_consts):
        if isinstance(x, types.CodeType) and isinstance(y, types.CodeType):
            if not _same(x, y):
                return False
        elif not _same_constant(x, y):
            return False
    return True


def _same_constant(x, y) -> bool:
    """Constants alike in type and value, -0.0 and 0.0 told apart, NaN like NaN, a tuple's
    items alike one by one (`(1, 2.0)` is not `(1.0, 2)`)."""
    if type(x) is not type(y):
        return False
    if isinstance(x, (float, complex)):
        return repr(x) == repr(y)
    if type(x) is tuple:
        return len(x) == len(y) and all(_same_constant(a, b) for a, b in zip(x, y))
    return x == y


_JUMPS = set(dis.hasjrel) | set(dis.hasjabs)
_SAME_OP = {"LOAD_METHOD": "LOAD_ATTR"}  # how a run may have rewritten an instruction


def _ops(code: types.CodeType) -> list[tuple]:
    """The instructions with their arguments, a jump's target as the place of the instruction
    it reaches among those compared: bytecode as run, which CPython may have specialised,
    compares equal to the same code freshly compiled (a module knows its imports and may push
    a NULL where a lone def loads a method, which moves every offset after it)."""
    everything = list(dis.get_instructions(code))
    kept = [i for i in everything if i.opname not in ("CACHE", "EXTENDED_ARG", "NOP", "PUSH_NULL")]
    place, k = {}, len(kept)  # offset -> the place of the first instruction kept from there on
    for i in reversed(everything):
        if k and kept[k - 1] is i:
            k -= 1
        place[i.offset] = k
    return [(_SAME_OP.get(i.opname, i.opname), _argument(i, place)) for i in kept]


def _argument(i: dis.Instruction, place: dict[int, int]):
    """An instruction's argument, as compared: a jump's, the place of its target; a nested
    function's code is compared with the constants."""
    if i.opcode in _JUMPS:
        return ("to", place.get(i.argval, i.argval))
    if isinstance(i.argval, types.CodeType):
        return None
    return i.argval


def own_nodes(node: ast.AST) -> list[ast.AST]:
    """The nodes of node (itself included) that are not inside a def nested in it (a nested
    def itself is one of them), each before its children, in `ast.iter_child_nodes`' order."""
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if not isinstance(n, ast.AST):  # (a list field may hold a str or None)
            continue
        out.append(n)
        if not isinstance(n, ast.FunctionDef) or n is node:
            stack += reversed(children(n))
    return out
