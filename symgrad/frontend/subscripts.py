"""Subscripts: reading `a[index]`, writing `a[index] = value`, and which arrays may be written.

Contract: `index_spec(lw, index, e)` splits an evaluated index into the graph values it reads
(`parts`) and its static form (`spec`: ints, None, Ellipsis, `Slice`s, and `Dyn(k)` for the k-th
part); `getitem(lw, base, index, e)` is the `getitem` node reading it. `setitem(lw, target,
value)` lowers `a[index] = value` to a `setitem` node, a new array that every name holding the
old one now holds (`symgrad.frontend.aliases.update`). Only an array the function made can be
written: `symgrad.frontend.aliases.owned(graph, nid)` says whether a value is one (not a param,
a constant or a view of one, followed through the items of loops and branches), so that writing
to it changes nothing the caller can see.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

import numpy as np

from symgrad.errors import UnsupportedSyntaxError
from symgrad.frontend import raises, sequences
from symgrad.frontend.aliases import owned, refuse_if_appended, update
from symgrad.frontend.values import Stacked, is_const
from symgrad.ir.index import Dyn, Slice
from symgrad.rules import Value

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer


CONTAINERS = (  # the hint where a container argument is read as an array
    "A gradient of a function of dicts, dataclasses or other containers is compiled for "
    "their structure when it is first called: call it before reading .source or .graph, and "
    "give emit_module example arguments (args=...)."
)
OBJECTS = (  # the hint where an argument read as an array is used as an object
    "An object holding arrays is read as parameters where it is a dataclass, a dict, a tuple "
    "or a list, or the self of a method: differentiate the bound method "
    "(symgrad.grad(model.loss)), or make its class a dataclass."
)


def index_spec(lw: _Lowerer, index: Any, e: ast.AST) -> tuple[list, tuple]:
    """The graph values an index reads (`parts`) and its static form (`spec`). A tuple
    computed when the function runs (`(0,) * x.ndim`, `x.shape[:1]`) is refused: an index of
    its ints would be read as one integer array's."""
    if isinstance(index, Value) and sequences.tuple_valued(lw, index.id):
        raise lw.error(
            e,
            "an index that is a tuple computed when the function runs is not supported",
            "Write the index's entries out (x[0, 0]), or index a reshaped array.",
            cls=UnsupportedSyntaxError,
        )
    items = index if isinstance(index, tuple) else (index,)
    parts: list = []

    def static(item):
        if isinstance(item, slice):
            return Slice(static(item.start), static(item.stop), static(item.step))
        if isinstance(item, Stacked):  # (a list a loop or a comprehension filled: its array,
            item = lw.call_rule("list_index", (item.value,), {}, e)  # as NumPy reads a list)
        if isinstance(item, (Value, list)):
            parts.append(lw.as_value(item, e))
            return Dyn(len(parts) - 1)
        if isinstance(item, (int, type(None), type(Ellipsis))) and not isinstance(item, bool):
            return item
        if isinstance(item, np.integer):  # (an argument compiled as a constant, an axis too)
            return int(item)
        if isinstance(item, str):  # a dict's key, on a value compiled as an array
            raise lw.error(e, f"index {item!r} of an array is not supported", CONTAINERS)
        raise lw.error(e, f"index {item!r} is not supported")

    spec = tuple(static(i) for i in items)
    if not isinstance(index, tuple):
        spec = spec[:1]
    return parts, spec


def getitem(lw: _Lowerer, base: Value, index: Any, e: ast.AST) -> Value:
    parts, spec = index_spec(lw, index, e)
    return lw.call_rule("getitem", (base, parts), {"index": spec}, e)


def setitem(lw: _Lowerer, target: ast.Subscript, value: Any) -> None:
    """`a[index] = value`: a new array, which every name holding the old one now holds; of a
    dict or list the function made, the container itself changed (`_set_item`)."""
    name = target.value.id if isinstance(target.value, ast.Name) else None
    old = lw.env[name] if name in lw.env else None
    if isinstance(old, (dict, list)):
        _set_item(lw, old, name, lw.index(target.slice), value, target)
        return
    _writable(lw, old, name, target)
    parts, spec = index_spec(lw, lw.index(target.slice), target)
    new = lw.call_rule("setitem", (old, value, parts), {"index": spec}, target)
    update(lw, old, new, target, name)


def add_at(lw: _Lowerer, args: tuple, e: ast.Call) -> None:
    """`np.add.at(a, indices, b)`: b added to a at a[indices] in place, an entry named twice
    getting both (where `a[indices] += b` keeps one): a + the scatter of b (`index_add`)."""
    if len(args) != 3 or e.keywords or not isinstance(e.args[0], ast.Name):
        raise lw.error(
            e,
            "np.add.at is supported as np.add.at(a, indices, b), a an array named",
            cls=UnsupportedSyntaxError,
        )
    old, index, b = args
    name = e.args[0].id
    _writable(lw, old, name, e)
    parts, spec = index_spec(lw, index, e)
    read = lw.call_rule("getitem", (old, parts), {"index": spec}, e)  # (for its shape)
    full = lw.call_rule("broadcast_to", (b, lw.call_rule("shape", (read,), {}, e)), {}, e)
    scattered = lw.call_rule("index_add", (old, full, parts), {"index": spec}, e)
    total = lw.binop(ast.Add(), old, scattered, e)  # (written into a: a's dtype, as NumPy's)
    new = lw.call_rule("setitem", (old, total, []), {"index": (Ellipsis,)}, e)
    update(lw, old, new, e, name)


_MIN = {"builtin": "min"}  # (Python's min of two lengths: folded where both are known)


def fill_diagonal(lw: _Lowerer, args: tuple, kwargs: dict, e: ast.Call) -> None:
    """`np.fill_diagonal(a, val)` of a matrix the function made: `a[i, i] = val` for i below
    its shorter side (NumPy's `wrap=False`), in place as an element assignment; an array val's
    entries flat, in turn, as NumPy writes them (again from the first where fewer)."""
    wrap = kwargs.get("wrap", False)
    if len(args) != 2 or set(kwargs) - {"wrap"} or wrap or not isinstance(e.args[0], ast.Name):
        raise lw.error(
            e,
            "np.fill_diagonal is supported as np.fill_diagonal(a, val), a a matrix named "
            "(wrap=False)",
            cls=UnsupportedSyntaxError,
        )
    old, value = args
    name = e.args[0].id
    _writable(lw, old, name, e)
    other = lw.call_rule("not_equal", (lw.call_rule("ndim", (old,), {}, e), 2), {}, e)
    said = "symgrad: np.fill_diagonal is differentiated for a matrix (a 2-d array) only"
    raises.check(lw, e, other, ValueError, (said,))
    rows, columns = (getitem(lw, lw.call_rule("shape", (old,), {}, e), k, e) for k in (0, 1))
    side = lw.call_rule("minimum", (rows, columns), _MIN, e)
    if is_const(value) and not isinstance(value, (list, tuple)):  # (a number: every entry)
        diagonal = lw.call_rule("arange", (side,), {}, e)
    else:  # (NumPy's flat write: val's entries in turn, again from the first; none: nothing)
        flat = lw.call_rule("ravel", (value,), {}, e)
        count = lw.call_rule("size", (flat,), {}, e)
        side = lw.call_rule("minimum", (side, lw.binop(ast.Mult(), side, count, e)), _MIN, e)
        diagonal = lw.call_rule("arange", (side,), {}, e)
        value = getitem(lw, flat, lw.binop(ast.Mod(), diagonal, count, e), e)
    parts, spec = index_spec(lw, (diagonal, diagonal), e)
    new = lw.call_rule("setitem", (old, value, parts), {"index": spec}, e)
    update(lw, old, new, e, name)


def _set_item(lw: _Lowerer, old: dict | list, name: str, key: Any, value: Any, target) -> None:
    """`d[k] = v` or `xs[i] = v`, k or i a constant, on a dict or list this block made
    (`Memory.made`): the container changed, as every name holding it sees. One made elsewhere
    (an argument's, the caller's) or before a loop or branch this block is (which reads a
    copy of it) is refused."""
    kind = type(old).__name__
    if lw.memory.maker(old) is not lw.graph:
        new = "{**" + f"{name}, 'k': v" + "}" if kind == "dict" else "[...]"
        raise lw.error(
            target,
            f"assigning to an item of the {kind} {name} is supported where the function made "
            f"the {kind} (or in a loop that carries it, where nothing else holds it: no other "
            f"name, container or caller), not in a branch, and not on an argument's or a "
            f"global's {kind}, whose change the caller would see",
            f"Bind {name} to a new {kind}: {name} = {new}.",
            cls=UnsupportedSyntaxError,
        )
    if not is_const(key) or isinstance(old, list) and type(key) is not int:
        raise lw.error(
            target,
            f"an item of the {kind} {name} is assigned by a key known when compiling "
            f"({'an int' if kind == 'list' else 'a constant'}), not "
            + ("a value known only when the code runs" if isinstance(key, Value) else repr(key)),
            cls=UnsupportedSyntaxError,
        )
    try:
        old[key] = value
    except IndexError as err:
        raise lw.error(target, f"{name}[{key!r}] = ...: {err}") from None


def refuse_augmented_item(lw: _Lowerer, target: ast.Subscript) -> None:
    """`d[k] += v` of an array in a dict or list: NumPy's update in place of the array, which
    names holding it see; symgrad makes a new one."""
    name = target.value.id if isinstance(target.value, ast.Name) else None
    old = lw.env[name] if name in lw.env else None
    if isinstance(old, (dict, list, tuple)):
        text = ast.unparse(target)
        raise lw.error(
            target,
            f"`{text} op= ...` of an array in a {type(old).__name__} is not supported (NumPy "
            "changes that array in place)",
            f"Write {text} = {text} + ... (a new array).",
            cls=UnsupportedSyntaxError,
        )


def _writable(lw: _Lowerer, old: Any, name: str | None, target: ast.AST) -> None:
    """Refuse an update of entries of what is no array the function made."""
    if isinstance(old, Stacked):
        raise lw.error(
            target,
            f"assigning to an item of {name}, a list a loop filled (read as np.stack({name})), "
            "is not supported",
            f"Stack it into an array of your own first: a = np.stack({name}); a[i] = v.",
            cls=UnsupportedSyntaxError,
        )
    if isinstance(old, tuple):
        raise lw.error(
            target,
            f"assigning to an item of the tuple {name}: a tuple cannot change",
            "Build a new one with the item you want.",
            cls=UnsupportedSyntaxError,
        )
    if not isinstance(old, Value) or not owned(lw.graph, old.id):
        raise lw.error(
            target,
            "only arrays the function created can be assigned to element by element",
            "Make the array first (np.zeros_like(x), x.copy(), ...): symgrad does not "
            "change the caller's arrays, or arrays seen through a view.",
            cls=UnsupportedSyntaxError,
        )
    refuse_if_appended(
        lw, old, name, target, "assigning to its elements would change", "assign before appending"
    )
