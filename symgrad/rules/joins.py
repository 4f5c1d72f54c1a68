"""Joins and splits: concatenate, stack, vstack and hstack many arrays into one; np.split one
into its parts (np.array_split, np.hsplit, np.vsplit and np.dsplit too).

Contract: these move entries between arrays without arithmetic, so each backward function moves
the cotangent back: a join's cotangent is sliced apart (each array gets the slice, or the index
along the new axis, it filled), and a part's cotangent is zeros with the cotangent in that part
(`split_part_vjp`). They are linear, so each forward (JVP) rule is the primitive applied to the
tangent (`LINEAR`). The frontend lowers `np.split(a, sections)` to one `split_part` per part.
"""

import ast

import numpy as np

from symgrad.ir.avals import ARRAY, Aval
from symgrad.rules import runtime
from symgrad.rules.build import ops
from symgrad.rules.table import LINEAR, call, defrule, literal


def _join_parts(g, arrays, axis, stacked):
    """Cotangent of each joined array: its slice of g (its index along axis, when stacked)."""
    if axis is None:  # concatenate(..., axis=None) joins the flattened arrays
        flat = _join_parts(g, [ops.ravel(x) for x in arrays], 0, False)
        return [ops.reshape(p, ops.shape(x)) for p, x in zip(flat, arrays)]
    lead = (slice(None),) * axis if axis >= 0 else (Ellipsis,)
    trail = () if axis >= 0 else (slice(None),) * (-axis - 1)
    parts, start = [], None
    for i, x in enumerate(arrays):
        if stacked:
            item = i
        else:
            n = ops.shape(x)[axis]
            stop = n if start is None else start + n
            item, start = slice(start, stop), stop
        parts.append(g[lead + (item,) + trail])
    return parts


def _joined(stacked: bool):
    """The shape rule of a join: the arrays' shapes (a length known in one of them known in
    all) joined along axis, a new one of as many entries as arrays (stacked) or the lengths
    added up; the dtype NumPy's promotion gives them as arrays. None where the ranks or dtypes
    are not known, or the shapes cannot be joined (NumPy raises)."""

    def aval(ins, attrs) -> Aval | None:
        arrays, axis = ins["arrays"], attrs.get("axis", 0)
        if not arrays or any(a is None or a.shape is None or a.dtype is None for a in arrays):
            return None
        dtype = np.result_type(*(a.dtype for a in arrays))
        if axis is None and not stacked:  # the flattened arrays, one after another
            sizes = [None if None in a.shape else int(np.prod(a.shape)) for a in arrays]
            return Aval((None if None in sizes else sum(sizes),), dtype, ARRAY)
        rank = len(arrays[0].shape)
        if any(len(a.shape) != rank for a in arrays) or not isinstance(axis, int):
            return None
        ends = rank + 1 if stacked else rank  # (stack: a new axis; concatenate: one of rank)
        if not -ends <= axis < ends:
            return None
        axis %= ends
        shape = []
        for k in range(rank):
            dims = [a.shape[k] for a in arrays]
            if not stacked and k == axis:
                shape.append(None if None in dims else sum(dims))
                continue
            known = {d for d in dims if d is not None}
            if len(known) > 1:
                return None
            shape.append(known.pop() if known else None)
        if stacked:
            shape.insert(axis, len(arrays))
        return Aval(tuple(shape), dtype, ARRAY)

    return aval


defrule(
    "concatenate",
    "[arrays], axis=0",
    call("np.concatenate"),
    numpy=(np.concatenate,),
    fresh=True,
    ndarray="axes",
    aval=_joined(stacked=False),
    vjp={"arrays": lambda g, arrays, axis: _join_parts(g, arrays, axis, False)},
    batch={"arrays": ("_joined_batched", {})},
    jvp=LINEAR,
    math="the slice of v each array filled",
    examples=(
        "np.concatenate([a, b]) | a: 2x3, b: 4x3",
        "np.concatenate((a, b, a), axis=1) | a: 2x3, b: 2x1",
        "np.concatenate([a, b], axis=-1) | a: 2x3, b: 2x2",
        "np.concatenate([a, b], axis=None) | a: 2x3, b: 4",
    ),
)
defrule(
    "stack",
    "[arrays], axis=0",
    call("np.stack"),
    numpy=(np.stack,),
    fresh=True,
    ndarray="axes",
    aval=_joined(stacked=True),
    vjp={"arrays": lambda g, arrays, axis: _join_parts(g, arrays, axis, True)},
    batch={"arrays": ("_joined_batched", {"stacked": True})},
    jvp=LINEAR,
    math="the index of v each array filled",
    examples=(
        "np.stack([a, b]) | a: 2x3, b: 2x3",
        "np.stack((a, b), axis=1) | a: 2x3, b: 2x3",
        "np.stack([a, a * b], axis=-1) | a: 2x3, b: 2x3",
    ),
)


def _stacked_parts(g, tup, axis: int):
    """Cotangent of each array np.vstack (axis 0) or np.hstack (axis 1, after making g at
    least 2-D: a join of vectors is one) joined: its slice of g along axis, as long as the
    array made at least 2-D is along it, in the array's shape."""
    g = ops.atleast_2d(g)
    lead = (slice(None),) * axis
    parts, start = [], None
    for x in tup:
        n = ops.shape(ops.atleast_2d(x))[axis]
        stop = n if start is None else start + n
        parts.append(ops.reshape(g[lead + (slice(start, stop),)], ops.shape(x)))
        start = stop
    return parts


def _stacked_aval(vertical: bool):
    """The shape rule of np.vstack (vertical) and np.hstack: concatenate's, of the arrays
    made at least 2-D (at least 1-D), along axis 0 (hstack's vectors) or 1."""
    joined = _joined(stacked=False)

    def aval(ins, attrs) -> Aval | None:
        arrays = ins["tup"]
        if not arrays or any(a is None or a.shape is None for a in arrays):
            return None
        rank = 2 if vertical else 1
        made = [Aval((1,) * (rank - len(a.shape)) + a.shape, a.dtype, ARRAY) for a in arrays]
        axis = 0 if vertical or len(made[0].shape) == 1 else 1
        return joined({"arrays": made}, {"axis": axis})

    return aval


_STACKED = {  # name: (the axis joined, what each array's cotangent is, examples)
    "vstack": (
        0,
        "the rows of v each array filled, in its shape",
        ("np.vstack([a, b]) | a: 3, b: 3", "np.vstack((a, b, a)) | a: 2x3, b: 1x3")
        + ("np.vstack([a, b]) | a: 3, b: 2x3",),
    ),
    "hstack": (
        1,
        "the columns of v (entries, for vectors) each array filled, in its shape",
        ("np.hstack([a, b]) | a: 3, b: 2", "np.hstack((a, b, a)) | a: 2x3, b: 2x1")
        + ("np.hstack([a, b]) | a: f, b: 2", "np.hstack([a, b]) | a: 2x1x3, b: 2x2x3"),
    ),
}


def _stacked_vjp(axis: int) -> dict:
    return {"tup": lambda g, tup: _stacked_parts(g, tup, axis)}


for _name, (_axis, _math, _examples) in _STACKED.items():
    _aliases = (np.row_stack,) if _name == "vstack" and hasattr(np, "row_stack") else ()
    defrule(
        _name,
        "[tup]",
        call(f"np.{_name}"),
        numpy=(getattr(np, _name), *_aliases),
        fresh=True,
        ndarray="axes",
        aval=_stacked_aval(vertical=_axis == 0),
        vjp=_stacked_vjp(_axis),
        jvp=LINEAR,
        math=_math,
        examples=_examples,
    )


def _emit_split_part(args, attrs, rule):
    axis = attrs["axis"]  # (np.hsplit's, np.vsplit's and np.dsplit's own: none given)
    whole = ast.Call(
        ast.Attribute(ast.Name("np", ast.Load()), attrs["how"], ast.Load()),
        [args[0], literal(attrs["sections"])],
        [ast.keyword("axis", literal(axis))] if axis else [],
    )
    return ast.Subscript(whole, ast.Constant(attrs["part"]), ast.Load())


_SPLIT = "sections=..., axis=0, part=..., how='split'"  # how: np.split, array_split, h-, v-, d-


defrule(
    "split_part",
    f"ary, {_SPLIT}",
    _emit_split_part,
    vjp={
        "ary": lambda g, ary, sections, axis, part, how: ops.split_part_vjp(
            g, ary, sections=sections, axis=axis, part=part, how=how
        )
    },
    view=True,
    jvp=LINEAR,
    math="zeros with v in the part",
    examples=(
        "np.split(a, 2)[1] * np.split(a, 2)[0] | a: 4x3",
        "np.split(a, [1, 3], axis=1)[2] | a: 2x5",
        "np.array_split(a, 3)[0] * np.array_split(a, 3)[2] | a: 5",
        "np.hsplit(a, 2)[1] | a: 2x4",
    ),
)
defrule(
    "split_part_vjp",
    f"ct, x, {_SPLIT}",
    call("_split_part_vjp"),
    helper=runtime._split_part_vjp,
    examples=(
        "_split_part_vjp(ct, x, sections=2, part=1) | ct: 2x3, x: 4x3 const",
        "_split_part_vjp(ct, x, sections=[1, 3], axis=1, part=2) | ct: 2x2, x: 2x5 const",
        "_split_part_vjp(ct, x, sections=3, part=2, how='array_split') | ct: 1, x: 5 const",
    ),
    vjp={
        "ct": lambda g, sections, axis, part, how: ops.split_part(
            g, sections=sections, axis=axis, part=part, how=how
        )
    },
    jvp=LINEAR,
    math="the part of v",
)
