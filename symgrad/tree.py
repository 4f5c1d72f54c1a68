"""Containers of parameters (pytrees): flatten them into leaves, and build them back.

Contract: a tree is a dict, list, tuple, NamedTuple or dataclass instance whose items are trees
or leaves, or an object of a class of the user's own (not a library's, nor one `object.__new__`
cannot make: an IntEnum, a float subclass) whose attributes are (`vars`; one holding what can be
no leaf, a set, is a leaf itself, keyed by identity); anything else is a leaf. `flatten(tree)`
gives its leaves in a fixed order (a dict's by sorted key, as JAX orders them; a dataclass's by
field) and a `Treedef`, a hashable description of its structure; `unflatten(treedef, leaves)`
builds the same structure around new leaves (a dict with its keys in its own order again: `for W
in params.values()` runs as in Python); `map(f, tree, *others)` applies f leaf by leaf (the
others of the same structure, whatever their leaves hold). A `Treedef` also says each leaf's
path (`paths()`: keys, indices and field names from the root), and `statics` gives the leaves
that are no array or float (ints, bools, strings, None): symgrad compiles a function of a tree
once per structure and values of those, as constants, and differentiates the others.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from symgrad.errors import SymgradError

_LIST, _TUPLE, _DICT, _NAMED, _DATA = "list", "tuple", "dict", "namedtuple", "dataclass"
_OBJECT = "object"  # an object of a class of the user's own: its attributes (`vars`)


@dataclass(frozen=True)
class Treedef:
    """A tree's structure: `kind` and `keys` of a container (its children's treedefs in
    `children`), or a leaf (`kind` None; `static` holds a static leaf's value, as `(value,)`)."""

    kind: str | None
    cls: Any = None
    keys: tuple = ()
    children: tuple = ()
    static: tuple = dataclasses.field(default=(), compare=False)  # (compared as `static_key`)
    floating: bool = False  # a leaf that is a float or a float array: one to differentiate
    order: tuple = ()  # a dict's keys in its own order, where that is not sorted: the order
    # `unflatten` builds it in, so that the function iterates it as Python does

    static_key: tuple = ()  # what tells static leaves apart: their types too (1 and True)

    @property
    def leaf(self) -> bool:
        return self.kind is None

    def paths(self, prefix: tuple = ()) -> list[tuple]:
        """The path of each leaf, in flatten order."""
        if self.leaf:
            return [prefix]
        return [p for k, c in zip(self.keys, self.children) for p in c.paths(prefix + (k,))]

    def leaves(self) -> list[Treedef]:
        """The leaves' treedefs, in flatten order."""
        return [self] if self.leaf else [x for c in self.children for x in c.leaves()]

    def statics(self) -> list[tuple]:
        """Per leaf: `(value,)` for a static leaf, `()` for an array or float."""
        return [leaf.static for leaf in self.leaves()]

    def floatings(self) -> list[bool]:
        """Per leaf: whether it is a float or a float array."""
        return [leaf.floating for leaf in self.leaves()]

    def structure(self) -> tuple:
        """The containers alone, without what the leaves hold: equal for two trees whose
        leaves sit at the same places (a cotangent's and its output's)."""
        if self.leaf:
            return ()
        return (self.kind, self.cls, self.keys, tuple(c.structure() for c in self.children))


def tuple_of(children: list[Treedef]) -> Treedef:
    """The structure of a tuple of trees of these structures."""
    return Treedef(_TUPLE, None, tuple(range(len(children))), tuple(children))


def is_tree(x: Any) -> bool:
    """A container flatten opens (a leaf otherwise): an object of a class of the user's own
    too (a model passed as an argument), its attributes its items."""
    return _kind(x) is not None or _users_object(x)


def flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list, Treedef]:
    """(the leaves, the structure) of a tree; `is_leaf(x)` true: x is a leaf (as JAX's)."""
    leaves: list = []
    return leaves, _flatten(tree, leaves, set(), is_leaf)


def unflatten(treedef: Treedef, leaves) -> Any:
    it = iter(leaves)
    try:
        out = _build(treedef, it)
    except StopIteration:
        raise ValueError("fewer leaves than the tree has") from None
    if next(it, _END) is not _END:
        raise ValueError("more leaves than the tree has")
    return out


def map(f: Callable, tree: Any, *others: Any) -> Any:  # noqa: A001 (JAX's name)
    leaves, treedef = flatten(tree)
    rest = [flatten(o) for o in others]
    if any(d.structure() != treedef.structure() for _, d in rest):
        raise ValueError("trees of different structures")
    return unflatten(treedef, [f(*xs) for xs in zip(leaves, *(ls for ls, _ in rest))])


def flatten_object(obj: Any) -> tuple[list, Treedef]:
    """A tree as `flatten` gives it, or any other object's attributes (`vars`) as one: the
    `self` of a method, read as a container of its arrays and floats, and so, inside it, the
    objects of classes of the user's own it holds (`self.layers`, a list of layers each
    holding its W and b), each once."""
    if is_tree(obj):
        return flatten(obj)
    _plain_lookup(obj)
    leaves: list = []
    return leaves, _object(obj, leaves, {id(obj)})


def _object(obj: Any, leaves: list, seen: set, is_leaf=None) -> Treedef:
    if not isinstance(getattr(obj, "__dict__", None), dict):  # (__slots__: no attributes read)
        raise SymgradError(
            f"an object of {type(obj).__name__}, a class with __slots__, is not read as a "
            "container of its attributes",
            hint="Pass its arrays as arguments, or give the class a __dict__ (no __slots__).",
        )
    attrs = vars(obj)
    keys = tuple(sorted(attrs))
    children = tuple(_flatten(attrs[k], leaves, seen, is_leaf) for k in keys)
    return Treedef(_OBJECT, type(obj), keys, children)


_LIBRARIES = frozenset(
    "builtins numpy scipy symgrad types functools typing collections dask cupy torch jax jaxlib "
    "pandas xarray numba sympy networkx".split()
)
_ARRAY_PROTOCOLS = ("__array__", "__array_function__", "__array_ufunc__", "__dask_graph__")


def _users_object(x: Any) -> bool:
    """An instance of a class of the user's (not a library's or Python's, and no array of
    any library: Dask's, CuPy's are leaves), with attributes."""
    cls = type(x)
    if (getattr(cls, "__module__", None) or "").split(".")[0] in _LIBRARIES:
        return False
    if isinstance(x, type) or any(hasattr(cls, p) for p in _ARRAY_PROTOCOLS):
        return False
    if cls.__new__ is not object.__new__:  # (an int's, an Enum's, a C type's: made otherwise)
        return False
    return isinstance(getattr(x, "__dict__", None), dict)


def held_object(d: Treedef) -> type | None:
    """The class of an object of the user's own (`is_object`) a structure holds, or None."""
    if d.kind == _OBJECT:
        return d.cls
    return next((c for c in (held_object(k) for k in d.children) if c is not None), None)


def is_object(x: Any) -> bool:
    """An object of a class of the user's own (no dataclass), read as a container of its
    attributes (`flatten`)."""
    return _kind(x) is None and _users_object(x)


def records(x: Any, treedef: Treedef) -> list:
    """The dataclass instances and objects in x, a tree of that structure (x included)."""
    if treedef.leaf:
        return []
    if treedef.kind in (_DICT, _DATA, _OBJECT):
        get = x.get if treedef.kind == _DICT else lambda k: getattr(x, k)
        items = [get(k) for k in treedef.keys]
    else:
        items = list(x)
    own = [x] if treedef.kind in (_DATA, _OBJECT) else []
    return own + [r for item, c in zip(items, treedef.children) for r in records(item, c)]


def _plain_lookup(obj: Any) -> None:
    """Refuse an object whose class has its own `__getattribute__`: each attribute read would
    run it on the values symgrad traces, not on arrays (`__getattr__`, run for an attribute
    the object lacks, is no reason: the attributes it has are read as any object's)."""
    if type(obj).__getattribute__ is not object.__getattribute__:
        raise SymgradError(
            f"an object of {type(obj).__name__}, a class with its own __getattribute__, is not "
            "read as a container of its attributes",
            hint="Pass its arrays as arguments.",
        )


def dtype_of(x: Any) -> np.dtype | None:
    """x's dtype where its class has one (an array's, a NumPy scalar's), else None: an object
    of the user's is not asked (its `__getattr__` may raise anything; a class, np.float64,
    holds a descriptor)."""
    return getattr(x, "dtype", None) if hasattr(type(x), "dtype") else None


def is_static(leaf: Any) -> bool:
    """A leaf compiled as a constant: not an array and not a float."""
    if isinstance(leaf, np.ndarray):
        return False
    return not isinstance(leaf, (float, complex, np.floating, np.complexfloating))


_END = object()


def _kind(x: Any) -> str | None:
    if isinstance(x, dict):
        return _DICT
    if isinstance(x, tuple):
        return _NAMED if hasattr(type(x), "_fields") else _TUPLE
    if isinstance(x, list):
        return _LIST
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return _DATA
    return None


def _flatten(x: Any, leaves: list, seen: set, is_leaf=None) -> Treedef:
    """x's structure, its leaves appended to `leaves`: an object of the user's own it holds
    is a container of its attributes too, unless it is one of `seen` (the ids of the objects
    being flattened, its holders: a cycle) or one of its attributes can be no leaf (a set:
    then it is a leaf)."""
    if is_leaf is not None and is_leaf(x):
        leaves.append(x)
        return Treedef(None)
    kind = _kind(x)
    if kind is None and id(x) not in seen and _users_object(x):
        _plain_lookup(x)
        n = len(leaves)
        try:
            return _object(x, leaves, seen | {id(x)}, is_leaf)
        except SymgradError:
            del leaves[n:]
    if kind is None:
        leaves.append(x)
        kind = np.dtype(dtype_of(x) or object).kind
        floating = isinstance(x, float) or kind in "fc"
        if not is_static(x):
            return Treedef(None, floating=floating)
        return static_leaf(x, floating)
    order: tuple = ()
    if kind == _DICT:
        keys = _sorted_keys(x)
        items = [x[k] for k in keys]
        order = tuple(x) if tuple(x) != keys else ()
    elif kind == _DATA:  # its fields, then what else the instance holds (`self.scale = 3.0`
        keys = tuple(f.name for f in dataclasses.fields(x))  # over a class attribute)
        own = getattr(x, "__dict__", None)
        keys += tuple(sorted(k for k in own or () if k not in keys))
        items = [getattr(x, k) for k in keys]
    elif kind == _NAMED:
        keys, items = tuple(type(x)._fields), list(x)
    else:
        keys, items = tuple(range(len(x))), list(x)
    cls = type(x) if kind in (_NAMED, _DATA) else None
    children = tuple(_flatten(item, leaves, seen, is_leaf) for item in items)
    return Treedef(kind, cls, keys, children, order=order)


def static_leaf(x: Any, floating: bool = False) -> Treedef:
    """The treedef of x compiled as a constant (a container's int, string or None; an
    argument a NumPy function takes as a constant, `axis`)."""
    return Treedef(None, static=(x,), floating=floating, static_key=_static_key(x))


def _static_key(x: Any) -> tuple:
    """What a static leaf is compiled for: its type and value (a slice by its bounds)."""
    if isinstance(x, slice):
        return (slice, (x.start, x.stop, x.step))
    if _users_object(x):  # (one flatten could not open, holding a set): by identity, not by
        return (type(x), _Identity(x))  # its __eq__, which may overlook what the code reads
    try:
        hash(x)
    except TypeError:
        raise SymgradError(
            f"a container argument holds a {type(x).__name__}, which symgrad can neither "
            "differentiate nor compile as a constant (it is not hashable)",
            hint="Pass arrays, numbers, strings, None or tuples in containers of parameters.",
        ) from None
    return (type(x), x)


class _Identity:
    """An object as a key by identity (holding it, so that its id stays its own)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any):
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.obj is self.obj


def _sorted_keys(d: dict) -> tuple:
    """A dict's keys sorted, or where they are of types Python cannot compare (`{0: a, "b":
    b}`), by type name and repr."""
    try:
        return tuple(sorted(d))
    except TypeError:
        return tuple(sorted(d, key=lambda k: (type(k).__name__, repr(k))))


def _build(d: Treedef, leaves) -> Any:
    if d.leaf:
        return next(leaves)
    items = [_build(c, leaves) for c in d.children]
    if d.kind == _DICT:
        built = dict(zip(d.keys, items))
        return {k: built[k] for k in d.order} if d.order else built
    if d.kind == _LIST:
        return items
    if d.kind == _TUPLE:
        return tuple(items)
    if d.kind == _NAMED:
        return d.cls(*items)
    out = object.__new__(d.cls)  # a dataclass (frozen or not) or an object, with these fields
    for k, v in zip(d.keys, items):
        object.__setattr__(out, k, v)
    return out
