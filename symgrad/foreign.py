"""Calls on arrays of other libraries: Dask (lazy, chunked, out of core) and CuPy (GPU).

Contract: emitted code is NumPy code, and NumPy's functions dispatch to the library of the arrays
they are given (`__array_function__` and `__array_ufunc__`, NEP 18 and 13): `np.exp` of a Dask
array is a lazy Dask array, of a CuPy array a CuPy array. A call whose arguments include such
an array (`like_of`) runs a module specialised for it (`symgrad.api.specialised`: no change in
place, no copies, no compiled loops), on its arguments `coerced` first: every NumPy float array
and NumPy float scalar becomes an array of that library (`np.asarray(v, like=...)`, NEP 35), so
that the code computes with one library throughout (a parameter gradient of NumPy parameters and
Dask data is a lazy Dask array; the gradients of one call share one graph, computed together by
`dask.compute`). Python floats stay Python floats (their dtype is weak, as in NumPy); ints,
booleans and integer arrays stay as given. Every length must be known (`known_shapes`).
`failure` turns an error of that library inside the emitted code (a NumPy function it does not
implement) into a `SymgradError` naming the line.
"""

from __future__ import annotations

import linecache
from typing import Any

import numpy as np

from symgrad.errors import SymgradError
from symgrad.ir.avals import foreign


def like_of(values) -> Any:
    """The first argument that is an array of another library, or None."""
    for v in values:
        if type(v) is not np.ndarray and type(v) is not float and foreign(v):
            return v
    return None


def coerced(values, like) -> list:
    """values with each NumPy float array or scalar made an array of `like`'s library."""
    return [
        np.asarray(v, like=like)
        if isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind == "f"
        else v
        for v in values
    ]


def known_shapes(values, names: list[str]) -> None:
    """Refuse an array whose lengths its library does not know yet (a Dask array filtered by a
    mask: `nan` lengths), naming its parameter: the emitted code is specialised for shapes."""
    for name, v in zip(names, values):
        if foreign(v) and any(d != d for d in v.shape):  # (nan)
            raise SymgradError(
                f"argument {name!r} is an array of shape {v.shape}: its library does not know "
                "all its lengths yet, and symgrad specialises the gradient for shapes",
                hint="For a Dask array, call x.compute_chunk_sizes() first.",
            )


def failure(e: Exception, what: str, like) -> SymgradError | None:
    """A SymgradError for e, raised by the emitted module `what` on arrays of `like`'s type
    because that library lacks a function a line calls (a TypeError or NotImplementedError
    raised under the module's code), naming that line and the source line it differentiates;
    else None."""
    if not isinstance(e, (TypeError, NotImplementedError)):
        return None
    frames = []
    tb = e.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith("<symgrad "):
            frames.append((tb.tb_frame.f_code, tb.tb_lineno))
        tb = tb.tb_next
    if not frames:
        return None
    (outer, at), (inner, line) = frames[0], frames[-1]
    failed = linecache.getline(inner.co_filename, line).strip()
    where = f" in {inner.co_name}" if inner is not outer else ""
    source = _differentiated(outer.co_filename, at)
    library = type(like).__module__.split(".")[0]
    why = str(e).strip().splitlines()[0][:160] if str(e).strip() else ""
    return SymgradError(
        f"{what} cannot run on {library} arrays: {library} does not implement "
        f"`{failed}`{where}{source} ({type(e).__name__}: {why})",
        hint="Compute this gradient on NumPy arrays, or write the function without that "
        "construct; docs/api.md says what runs on Dask and CuPy arrays.",
    )


def _differentiated(filename: str, at: int) -> str:
    """Where the emitted line `at` comes from: the source line a comment above it quotes
    (`# line 5: z = X @ w`), said as ", for line 5: `z = X @ w`", or nothing."""
    for k in range(at, 0, -1):
        text = linecache.getline(filename, k).strip()
        if text.startswith("# ") and " line " in text and ": " in text:
            head, _, quoted = text[2:].partition(": ")
            return f", for {head}: `{quoted}`"
        if text.startswith("def "):
            return ""
    return ""
