"""Containers of parameters (pytrees) at the boundary of an emitted module.

Contract: an emitted module takes arrays and floats one by one and returns them one by one.
These functions flatten a call's container arguments (and a VJP's cotangent, a JVP's tangents)
into the module's arguments, checked against the structures they belong to, and build what the
module returns back into structures as JAX does: a gradient in its argument's structure, a
JVP's output and tangent and a VJP's cotangent in the output's, a Jacobian nested with the
output's structure outside and the arguments' inside (`jacobian`). A leaf that is no float (an
int, a string, None, an int array) has None as its derivative. Nothing here compiles: the
transformations (`symgrad.api`, `symgrad.transforms`) do, and call these around the module.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

from symgrad import tree
from symgrad.errors import SymgradError
from symgrad.frontend.lower import Layout
from symgrad.frontend.values import FUNCTIONS


def leaves_of(values: list, bound: bool = False, constants: tuple = ()) -> tuple[list, tuple]:
    """(the module's arguments, the containers' `(position, Treedef)` pairs) for a call on
    `values`: a container's array and float leaves in its place (with `bound`, the first
    value, a method's self, read as one: `tree.flatten_object`); the values at `constants`
    (positions) compiled as constants, as a container's static leaves are."""
    leaves, trees = [], []
    for k, v in enumerate(values):
        if (k in constants or static_value(v)) and _constant(v):  # (an array given there since)
            trees.append((k, tree.static_leaf(v)))
            continue
        if not tree.is_tree(v) and not (k == 0 and bound):
            leaves.append(v)
            continue
        ls, d = tree.flatten_object(v)
        trees.append((k, d))
        leaves += [leaf for leaf, s in zip(ls, d.statics()) if not s]
    return real_arrays(leaves, "an argument"), tuple(trees)


def static_value(v: Any) -> bool:
    """Whether an argument is compiled as a constant whatever its position: None, a bool and
    a string, options the function decides on, so that it decides when compiling (`if mask
    is None:`, `if causal:`, `initial=None`, `activation == "relu"`, `np.clip(x, None, hi)`).
    Not NumPy's bool, whose arithmetic (`~flag`, `flag + flag`) is not Python's. A function
    (`act=np.tanh`, one of the user's) is compiled as the function it is, called where the
    function calls it, as a global one is."""
    return v is None or isinstance(v, (str, bool, *FUNCTIONS))


def by_leaves(values: list) -> bool:
    """Whether a call's module is compiled for its arguments' structure (`leaves_of`): a
    container among them, or a value compiled as a constant (`static_value`)."""
    return any(tree.is_tree(v) or static_value(v) for v in values)


_CONSTANTS = (int, str, type(None), np.integer, np.bool_)


def more_constants(
    error: Any, values: list, names: list[str], free: list[int], known: tuple
) -> tuple:
    """`known`, the positions of the arguments compiled as constants, with those a
    `NeedsConstant` error asks for (of `free`: not differentiated, nor a method's self): the
    parameter it names, where its value is no array (a float too: np.linalg.norm's ord), else
    every int, bool, string and None. The error itself where it asks for none more."""
    named = [k for k in free if names[k] == error.param and _constant(values[k])]
    more = named or [k for k in free if isinstance(values[k], _CONSTANTS)]
    if set(more) <= set(known):
        raise error
    return tuple(sorted({*known, *more}))


def _constant(v: Any) -> bool:
    """Whether v can be compiled as a constant: no array, and hashable."""
    if isinstance(v, np.ndarray) or hasattr(v, "__array__") and not isinstance(v, np.generic):
        return False
    try:
        hash(v)
    except TypeError:
        return False
    return not tree.is_tree(v)


def real_arrays(arrays: list, what: str) -> list:
    """arrays, where none is an np.matrix (its * and ** are matrix products, where symgrad's
    code computes an array's elementwise ones) or complex (the rules are those of real
    functions: abs, ** and exp of complex values would take wrong derivatives)."""
    if any(isinstance(a, np.matrix) for a in arrays):
        raise SymgradError(
            f"{what} holds an np.matrix, whose * and ** are matrix products where symgrad's "
            "code computes NumPy arrays' elementwise ones",
            hint="Pass np.asarray(m).",
        )
    for a in arrays:
        if isinstance(a, complex) or getattr(tree.dtype_of(a), "kind", "") == "c":
            raise SymgradError(
                f"{what} is complex ({tree.dtype_of(a) or type(a).__name__}): symgrad "
                "differentiates real-valued code, its rules (abs, **, exp) are those of real "
                "functions",
                hint="Pass the real and imaginary parts as two float arrays.",
            )
    return arrays


def leaf_argnums(n_args: int, trees: dict, argnums, floats_only: bool = True) -> list[list[int]]:
    """Per argument in argnums, the graph params of its float leaves (a container's; with
    `floats_only` False, of all its array and float leaves), or of itself: the params are the
    arguments', a container's array and float leaves in its place."""
    first, position = {}, 0
    for k in range(n_args):
        d = trees.get(k)
        dynamic = [f for f, s in zip(d.floatings(), d.statics()) if not s] if d else [True]
        first[k] = [position + j for j, f in enumerate(dynamic) if f or not floats_only]
        position += len(dynamic)
    return [first[k] for k in argnums]


def leaf_params(
    names: list[str], leaves: list[str], trees: dict | None, argnums: tuple[int, ...]
) -> tuple[tuple[int, ...], str]:
    """(the params of argnums' float leaves, a docstring's line saying which container holds
    which params) for a graph of containers `trees`, given the function's parameters' `names`
    and the graph's params' (`leaves`); argnums and "" without containers."""
    if not trees:
        return argnums, ""
    per_arg = leaf_argnums(len(names), trees, range(len(names)), floats_only=False)
    held = [k for k in sorted(trees) if not trees[k].leaf]
    holds = "; ".join(f"{names[k]} holds {', '.join(leaves[p] for p in per_arg[k])}" for k in held)
    fixed = [f"{names[k]}={trees[k].static[0]!r}" for k in sorted(trees) if trees[k].leaf]
    argnums = tuple(p for ps in leaf_argnums(len(names), trees, argnums) for p in ps)
    said = f"\nIts parameters are the leaves of its containers: {holds}." if held else ""
    if fixed:  # (`Compiled._compiled_for`: an int a NumPy function takes as its axis)
        many = len(fixed) > 1
        said += f"\nCompiled for the constant{'s' * many} {', '.join(fixed)} (no parameter"
        said += f"{'s' * many} of {'their' if many else 'its'} own: the module is for "
        said += f"{'these values' if many else 'this value'})."
    return argnums, said


def differentiated(d: tree.Treedef) -> list[bool]:
    """Per leaf of a container: whether it is differentiated (a float or a float array)."""
    return [f and not s for f, s in zip(d.floatings(), d.statics())]


def is_float(v) -> bool:
    """A Python float, a NumPy float scalar or a float array: something to differentiate."""
    dtype = tree.dtype_of(v)
    return isinstance(v, float) or isinstance(dtype, np.dtype) and dtype.kind == "f"


def differentiable(v: Any) -> bool:
    """A float, a float array, or a container holding one."""
    return any(differentiated(tree.flatten(v)[1])) if tree.is_tree(v) else is_float(v)


def in_structures(flat: Iterator, trees: dict, argnums) -> list:
    """Per argument in argnums, its derivative taken from `flat` (one per differentiated
    leaf): a container's in its structure, None at the leaves not differentiated."""
    out = []
    for k in argnums:
        d = trees.get(k)
        if d is None:
            out.append(next(flat))
            continue
        out.append(tree.unflatten(d, [next(flat) if w else None for w in differentiated(d)]))
    return out


def gradient_layout(trees: dict, argnums: tuple[int, ...], single: bool) -> Layout | None:
    """Where the outputs of a gradient compiled for containers `trees` go: its argument's
    structure (a tuple of them for a tuple argnums), None at the leaves not differentiated;
    None where the gradient is one array."""
    if single and argnums[0] not in trees:
        return None
    structures, slots = [], []
    for k in argnums:
        d = trees.get(k, tree.Treedef(None, floating=True))
        structures.append(d)
        slots += [() if w else (None,) for w in (differentiated(d) if k in trees else [True])]
    return Layout(structures[0] if single else tree.tuple_of(structures), slots)


def jacobian(result: tuple, layout: Layout | None, trees: dict, argnums, single: bool) -> Any:
    """A Jacobian as JAX nests it, from a driver's blocks (a tuple per output of the module of
    a block per differentiated leaf): the output's structure outside (None at its leaves that
    are no float), the arguments' inside (a tuple of them for a tuple argnums)."""
    per_output = [in_structures(iter(row), trees, argnums) for row in result]
    per_output = [p[0] if single else tuple(p) for p in per_output]
    return per_output[0] if layout is None else layout.build(per_output, constants=False)


def output_leaves(fun: Callable, what: str, value: Any, out: Any, layout: Layout | None) -> list:
    """The module's arguments for `value`, a cotangent of `out` (what `fun` returned): one per
    output of the module, checked to have out's structure and each leaf its shape."""
    name = getattr(fun, "__qualname__", fun)
    if layout is None:
        pairs = [((), value, out)]
    else:
        values, d = tree.flatten(value)
        if d.structure() != layout.treedef.structure():
            raise SymgradError(
                f"{what} of {name}: the cotangent is a {type(value).__name__} of another "
                f"structure than the output's ({_describe(layout.treedef)})",
                hint="Give a cotangent in the output's structure, with one array per leaf.",
            )
        outs = tree.flatten(out)[0]
        paths = layout.treedef.paths()
        pairs = [(p, v, o) for p, v, o, s in zip(paths, values, outs, layout.slots) if not s]
    out = []
    for path, v, o in pairs:
        at = f" at {_path(path)}" if path else ""
        if v is None and not is_float(o):  # (no gradient flows back from ints: none given)
            v = np.zeros(np.shape(o))
        if v is None or isinstance(v, (str, bytes)):
            raise SymgradError(
                f"{what} of {name}: the cotangent{at} is {v!r}, where the output{at} is a "
                f"float{'' if np.ndim(o) == 0 else ' array'}",
                hint="Give a float (an array of the output's shape) for each float output.",
            )
        if np.shape(v) != np.shape(o):
            raise SymgradError(
                f"{what} of {name}: the cotangent{at} has shape {np.shape(v)}, but the "
                f"output{at} has shape {np.shape(o)}"
            )
        out.append(v)
    return real_arrays(out, f"the cotangent of {what}")


def tangent_leaves(
    primal: Any, tangent: Any, d: tree.Treedef | None, cast: Callable[[str, Any, Any], Any]
) -> list:
    """The module's tangent arguments for a primal (a container of structure `d`, or an array
    or float where d is None): its differentiated leaves' tangents, each `cast(where, primal
    leaf, tangent leaf)`; None at a leaf is a zero tangent."""
    if d is None:  # (None: a zero tangent, as at a leaf; linearize's module takes one)
        tangent = np.zeros_like(primal) if tangent is None else tangent
        return [cast("", primal, real_arrays([tangent], "a tangent")[0])]
    tangents, td = tree.flatten(tangent)
    if td.structure() != d.structure():
        raise SymgradError(
            f"the tangent is a {type(tangent).__name__} of another structure than its primal "
            f"({_describe(d)})",
            hint="Give a tangent in the primal's structure (symgrad.tree.map helps).",
        )
    primals = tree.flatten_object(primal)[0]
    out = []
    for path, p, t, w in zip(d.paths(), primals, tangents, differentiated(d)):
        if w:
            t = np.zeros_like(p) if t is None else t
            out.append(cast(f" at {_path(path)}", p, t))
    return real_arrays(out, "a tangent")


def _path(path: tuple) -> str:
    return "".join(f"[{k!r}]" for k in path)


def _describe(d: tree.Treedef) -> str:
    """A structure as a message names it: its kind and its leaves' paths."""
    kind = d.cls.__name__ if d.cls is not None else d.kind
    return f"a {kind} with leaves at {', '.join(_path(p) for p in d.paths()) or 'none'}"
