"""Drivers: the functions that build a whole Jacobian from emitted JVPs or VJPs, or map one.

Contract: `jacfwd_driver` and `jacrev_driver` return the source of one function that calls the
emitted JVP or VJP and assembles the Jacobian of shape `out.shape + x.shape`. Batched, it makes
one call for all the unit seeds at once (a trailing batch axis: `_unit_columns`); otherwise one
call per entry of each differentiated argument (a column) or of the output (a row), and the
emitted function itself gives the output's shape. The runtime functions below are copied into
the module like any other helper; the drivers are not differentiable again. `vmap_driver`
returns the source of a function mapping an emitted function over an axis of its arguments
(`symgrad.vmap`): one call of its batched version, or one call per index, in NumPy alone.
"""

from __future__ import annotations

import textwrap

import numpy as np


def _basis(x, k):
    """The k-th unit array, shaped and typed like x (1.0 for a Python number)."""
    if not hasattr(x, "dtype"):
        return 1.0
    e = np.zeros_like(x)
    e.flat[k] = 1
    return e


def _number_like(jac, x):
    """jac, or where it is a number's derivative (0-d) for a number x, of x's type: a Python
    float for a Python float, a NumPy number for a NumPy number, as a gradient gives."""
    if np.ndim(jac) or not (isinstance(x, (float, np.generic))):
        return jac
    return x.dtype.type(jac) if isinstance(x, np.generic) else float(jac)


def _columns(cols, out, x):
    """The Jacobian of out with respect to x from its columns, one per entry of x."""
    shape = np.shape(out) + np.shape(x)
    if not cols:
        return _number_like(np.zeros_like(out, shape=shape, dtype=float), x)
    return _number_like(np.reshape(np.stack(cols, axis=-1), shape), x)


def _rows(rows, out, x):
    """The Jacobian of out with respect to x from its rows, one per entry of out."""
    shape = np.shape(out) + np.shape(x)
    if not rows:
        return _number_like(np.zeros_like(x, shape=shape, dtype=float), x)
    return _number_like(np.reshape(np.stack(rows), shape), x)


def _unit_columns(x):
    """A batch of all of x's unit arrays: shape x.shape + (x.size,), column k the k-th."""
    n = int(np.prod(np.shape(x)))  # (np.size: Dask warns)
    e = np.zeros_like(x, shape=(n, n), dtype=getattr(x, "dtype", np.float64))
    if isinstance(e, np.ndarray):
        np.fill_diagonal(e, 1)
    else:  # (another library's array: Dask's takes no assignment to its diagonal)
        e = e + np.eye(n, dtype=e.dtype)
    return np.reshape(e, np.shape(x) + (n,))


def _from_columns(cols, out, x):
    """The Jacobian of out with respect to x from a batch of its columns (the last axis); an
    unbatched zero tangent means out does not depend on x."""
    shape = np.shape(out) + np.shape(x)
    if np.ndim(cols) == np.ndim(out):
        return _number_like(np.zeros_like(out, shape=shape, dtype=_zeros_dtype(cols)), x)
    return _number_like(np.reshape(cols, shape), x)


def _zeros_dtype(tangent):
    """The dtype of a Jacobian of zeros: its tangent's (or cotangent's) where a float's."""
    dtype = np.result_type(tangent)
    return dtype if dtype.kind in "fc" else np.float64


def _from_rows(rows, out, x):
    """The Jacobian of out with respect to x from a batch of its rows (the last axis)."""
    shape = np.shape(out) + np.shape(x)
    if np.ndim(rows) == np.ndim(x):
        return _number_like(np.zeros_like(x, shape=shape, dtype=_zeros_dtype(rows)), x)
    return _number_like(np.reshape(np.moveaxis(rows, -1, 0), shape), x)


def _stacked(results, axis):
    """np.stack of a mapped function's results, one per index, along axis: of one shape."""
    shapes = sorted({np.shape(r) for r in results})
    if len(shapes) > 1:
        raise ValueError(
            f"symgrad: vmap: the function's results have shapes {', '.join(map(str, shapes))} "
            "for different indices, where they stack only of one shape (as in JAX)"
        )
    return np.stack(results, axis=axis)


HELPERS = {"_basis", "_columns", "_rows", "_number_like"}
VMAP_HELPERS = {"_stacked"}
BATCHED_HELPERS = {"_unit_columns", "_from_columns", "_from_rows", "_number_like"}


def _tuple(items: list[str], nest: bool = False) -> str:
    if len(items) == 1 and not nest:
        return items[0]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _doc(doc: str) -> list[str]:
    lines = textwrap.wrap(doc, 92)
    lines[0] = '"""' + lines[0]
    lines[-1] += '"""'
    return lines


def _locals(params: list[str], *names: str) -> list[str]:
    """The driver's local names, each with underscores added until no argument, and no
    function it calls, has it."""
    taken = set(params) | {"np"} | {f"{p}_{s}" for p in params for s in ("cols", "jac", "rows")}
    free = []
    for name in names:
        while name in taken:
            name += "_"
        taken.add(name)
        free.append(name)
    return free


def signature(params: list[str], defaults: dict | None = None) -> str:
    """The parameters as a `def` lists them: those that end the list and have a default (a
    constant of the user's function, by name) keep it, so that the emitted function is called
    as the user's is."""
    defaults = defaults or {}
    first = len(params)
    while first and params[first - 1] in defaults:
        first -= 1
    return ", ".join(params[:first] + [f"{n}={defaults[n]!r}" for n in params[first:]])


def jacfwd_driver(
    name: str,
    doc: str,
    primal: str,
    params: list[str],
    wrt: list[str],
    jvps: list[str],
    n_out: int,
    nest: tuple[bool, bool] = (False, False),
    batched: bool = False,
    defaults: dict | None = None,
) -> str:
    """Each `jvps[j](*params, x_dot)` returns `(*outputs, *their tangents)` along `wrt[j]`
    (`batched`: for a batch of tangents, all of `wrt[j]`'s unit arrays in one call). The result
    is one Jacobian per output and argument: a tuple over the outputs of tuples over the
    arguments, where there are several or `nest` (outputs, arguments) asks for tuples."""
    if batched:
        return _jacfwd_batched(name, doc, params, wrt, jvps, n_out, nest, defaults)
    args = ", ".join(params)
    out, k, c = _locals([*params, primal, *jvps], "out", "k", "c")
    lines = [*_doc(doc), f"{out} = {primal}({args})"]
    for x, jvp in zip(wrt, jvps):
        lines.append(f"{x}_cols = [{jvp}({args}, _basis({x}, {k})) for {k} in range(np.size({x}))]")
    blocks = []
    for i in range(n_out):
        out_i = out if n_out == 1 else f"{out}[{i}]"
        per_arg = []
        for x in wrt:
            per_arg.append(f"{x}_jac" if n_out == 1 else f"jac_{i}_{x}")
            cols = f"[{c}[{n_out + i}] for {c} in {x}_cols]"
            lines.append(f"{per_arg[-1]} = _columns({cols}, {out_i}, {x})")
        blocks.append(_tuple(per_arg, nest[1]))
    lines.append(f"return {_tuple(blocks, nest[0])}")
    return f"def {name}({signature(params, defaults)}):\n" + "\n".join("    " + x for x in lines)


def _jacfwd_batched(name, doc, params, wrt, jvps, n_out, nest, defaults) -> str:
    args = ", ".join(params)
    (res,) = _locals([*params, *jvps], "res")
    lines = _doc(doc)
    blocks: list[list[str]] = [[] for _ in range(n_out)]
    for x, jvp in zip(wrt, jvps):
        lines.append(f"{res} = {jvp}({args}, _unit_columns({x}))")
        for i in range(n_out):
            blocks[i].append(f"{x}_jac" if n_out == 1 else f"jac_{i}_{x}")
            lines.append(f"{blocks[i][-1]} = _from_columns({res}[{n_out + i}], {res}[{i}], {x})")
    lines.append(f"return {_tuple([_tuple(b, nest[1]) for b in blocks], nest[0])}")
    return f"def {name}({signature(params, defaults)}):\n" + "\n".join("    " + x for x in lines)


def jacrev_driver(
    name: str,
    doc: str,
    primal: str,
    params: list[str],
    wrt: list[str],
    vjps: list[str],
    nest: tuple[bool, bool] = (False, False),
    batched: bool = False,
    defaults: dict | None = None,
) -> str:
    """Each `vjps[i](*params, out_bar)` returns the cotangent of each of `wrt` (one, or a
    tuple) for a cotangent of output i of `primal` (its only one, or item i of the tuple it
    returns; `batched`: for a batch of cotangents, all the output's unit arrays in one call).
    The result is one Jacobian per output and argument: a tuple over the outputs of tuples over
    the arguments, where there are several or `nest` (outputs, arguments) asks for tuples."""
    args = ", ".join(params)
    out, rows, k, r = _locals([*params, primal, *vjps], "out", "rows", "k", "r")
    lines = [*_doc(doc), f"{out} = {primal}({args})"]
    blocks = []
    for i, vjp in enumerate(vjps):
        out_i, at = (out, "") if len(vjps) == 1 else (f"{out}[{i}]", f"_{i}")
        if batched:
            names = [f"{x}_rows{at}" for x in wrt]
            lines.append(f"{', '.join(names)} = {vjp}({args}, _unit_columns({out_i}))")
            jacs = [f"_from_rows({n}, {out_i}, {x})" for n, x in zip(names, wrt)]
        else:
            each = f"{vjp}({args}, _basis({out_i}, {k}))"
            lines.append(f"{rows}{at} = [{each} for {k} in range(np.size({out_i}))]")
            jacs = [f"_rows({rows}{at}, {out_i}, {wrt[0]})"]
            if len(wrt) > 1:
                jacs = [f"{x}_jac{at}" for x in wrt]
                for j, x in enumerate(wrt):
                    each = f"[{r}[{j}] for {r} in {rows}{at}]"
                    lines.append(f"{jacs[j]} = _rows({each}, {out_i}, {x})")
        blocks.append(_tuple(jacs, nest[1]))
    lines.append(f"return {_tuple(blocks, nest[0])}")
    return f"def {name}({signature(params, defaults)}):\n" + "\n".join("    " + x for x in lines)


def _mapped_item(x: str, axis: int, i: str) -> str:
    """`x` indexed at `i` along `axis` (`x[i]`, `x[:, i]`, `x[..., i]`)."""
    if axis >= 0:
        return f"{x}[{':, ' * axis}{i}]"
    return f"{x}[..., {i}{', :' * (-axis - 1)}]"


def vmap_driver(
    name: str,
    doc: str,
    inner: str,
    params: list[str],
    axes: list[int | None],
    n_out: int,
    out_axis: int,
    batched: list[bool] | None = None,
) -> str:
    """`inner(*params)` mapped over axis `axes[k]` of each param k (None: not mapped), its
    `n_out` outputs stacked along `out_axis`. With `batched` (whether each output carries the
    batch), inner is the batched function: one call on the mapped params with their axis moved
    last, and each output's batch axis moved to `out_axis` (an output that does not carry it
    repeated); without, one call of inner per index, the results stacked."""
    mapped = [(p, a) for p, a in zip(params, axes) if a is not None]
    first, axis = mapped[0]
    out, res, i = _locals([*params, inner], "out", "results", "i")
    lines = _doc(doc)
    if batched is not None:
        args = [
            p if a is None or a == -1 else f"np.moveaxis({p}, {a}, -1)"
            for p, a in zip(params, axes)
        ]
        lines.append(f"{out} = {inner}({', '.join(args)})")
        outs = [out] if n_out == 1 else [f"{out}[{j}]" for j in range(n_out)]
        n = f"np.shape({first})[{axis}]"
        stacked = [
            f"np.moveaxis({o}, -1, {out_axis})"
            if b
            else f"np.repeat(np.expand_dims({o}, {out_axis}), {n}, axis={out_axis})"
            for o, b in zip(outs, batched)
        ]
    else:
        args = [p if a is None else _mapped_item(p, a, i) for p, a in zip(params, axes)]
        each = f"{inner}({', '.join(args)})"
        lines.append(f"{res} = [{each} for {i} in range(np.shape({first})[{axis}])]")
        outs = [res] if n_out == 1 else [f"[{out}[{j}] for {out} in {res}]" for j in range(n_out)]
        stacked = [f"_stacked({o}, {out_axis})" for o in outs]
    lines.append(f"return {_tuple(stacked)}")
    return f"def {name}({', '.join(params)}):\n" + "\n".join("    " + line for line in lines)
