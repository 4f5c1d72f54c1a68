"""Jacobian drivers: the functions that build a whole Jacobian from emitted JVPs or VJPs.

Contract: `jacfwd_driver` and `jacrev_driver` return the source of one function that calls the
emitted primal function (for the output's shape) and the emitted JVP (one call per entry of each
differentiated argument: a column) or VJP (one call per entry of the output: a row), and
assembles the Jacobian of shape `out.shape + x.shape`. The runtime functions below are copied
into the module like any other helper; the drivers are not differentiable again.
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


def _columns(cols, out, x):
    """The Jacobian of out with respect to x from its columns, one per entry of x."""
    shape = np.shape(out) + np.shape(x)
    if not cols:
        return np.zeros_like(out, shape=shape, dtype=float)
    return np.reshape(np.stack(cols, axis=-1), shape)


def _rows(rows, out, x):
    """The Jacobian of out with respect to x from its rows, one per entry of out."""
    shape = np.shape(out) + np.shape(x)
    if not rows:
        return np.zeros_like(x, shape=shape, dtype=float)
    return np.reshape(np.stack(rows), shape)


HELPERS = {"_basis", "_columns", "_rows"}


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
    """The driver's local names, each with underscores added until no argument has it."""
    taken = set(params) | {"np"}
    free = []
    for name in names:
        while name in taken or any(name in (f"{p}_cols", f"{p}_jac") for p in params):
            name += "_"
        taken.add(name)
        free.append(name)
    return free


def jacfwd_driver(
    name: str,
    doc: str,
    primal: str,
    params: list[str],
    wrt: list[str],
    jvps: list[str],
    n_out: int,
    nest: tuple[bool, bool] = (False, False),
) -> str:
    """Each `jvps[j](*params, x_dot)` returns `(*outputs, *their tangents)` along `wrt[j]`.
    The result is one Jacobian per output and argument: a tuple over the outputs of tuples over
    the arguments, where there are several or `nest` (outputs, arguments) asks for tuples."""
    args = ", ".join(params)
    out, k, c = _locals(params, "out", "k", "c")
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
    return f"def {name}({args}):\n" + "\n".join("    " + line for line in lines)


def jacrev_driver(
    name: str, doc: str, primal: str, params: list[str], wrt: list[str], vjp: str, nest: bool
) -> str:
    """`vjp(*params, out_bar)` returns the cotangent of each of `wrt` (one, or a tuple). The
    result is a Jacobian per argument: a tuple of them where there are several or `nest`."""
    args = ", ".join(params)
    out, rows, k, r = _locals(params, "out", "rows", "k", "r")
    lines = [
        *_doc(doc),
        f"{out} = {primal}({args})",
        f"{rows} = [{vjp}({args}, _basis({out}, {k})) for {k} in range(np.size({out}))]",
    ]
    if len(wrt) == 1:
        lines.append(f"return {_tuple([f'_rows({rows}, {out}, {wrt[0]})'], nest)}")
    else:
        per_arg = []
        for j, x in enumerate(wrt):
            per_arg.append(f"{x}_jac")
            lines.append(f"{x}_jac = _rows([{r}[{j}] for {r} in {rows}], {out}, {x})")
        lines.append(f"return {_tuple(per_arg)}")
    return f"def {name}({args}):\n" + "\n".join("    " + line for line in lines)
