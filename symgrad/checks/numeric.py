"""The numeric oracle: symgrad's derivatives against central differences in float64.

Contract: `check_grads(f, args, argnums)` raises `AssertionError` (with the numbers) unless, for
several random directions d, the directional derivative from symgrad, ⟨∇f, d⟩ (or ⟨ct, J d⟩ via
`vjp` for array outputs, with a random cotangent ct), matches (f(x + εd) − f(x − εd)) / 2ε
computed in float64; with `modes=("rev", "fwd")`, so does forward mode's J d (`jvp`). It also
checks each gradient's shape and dtype against its argument. Arguments and outputs may be
containers (`symgrad.tree`): directions and cotangents are drawn for their float leaves, and
inner products sum over them. With `order=2`, each gradient is
checked in the same way as a function of the arguments (second derivatives, through `grad` of a
compiled gradient), and so on for higher orders.
"""

from __future__ import annotations

import inspect
from typing import Callable, Sequence

import numpy as np

from symgrad import tree
from symgrad.containers import is_float
from symgrad.errors import SymgradError


def _as64(v):
    if tree.is_tree(v):
        return tree.map(_as64, v)
    if isinstance(v, np.ndarray) and v.dtype.kind == "f":
        return v.astype(np.float64)
    return v


def check_grads(
    f: Callable,
    args: Sequence,
    argnums=0,
    *,
    directions: int = 3,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    seed: int = 0,
    modes: Sequence[str] = ("rev",),
    order: int = 1,
    backend: str = "numpy",
    recompute: bool = False,
) -> None:
    """Assert that symgrad's derivative of f at args agrees with central differences: reverse
    mode (`"rev"`, the gradient or VJP) and, with `"fwd"` in `modes`, forward mode (the JVP);
    and that the value each computes beside it is f's (to 1e-9 relative: the Numba backend
    adds up in its own order).
    With `order=2` (or more), the same checks run on each gradient `grad(f, k)` in turn, as a
    function of the arguments: its VJP is reverse over reverse, its JVP forward over reverse
    (`modes=("fwd",)` checks forward mode alone: second derivatives through loops). `backend`
    is the transformations' (`symgrad.grad(..., backend=...)`), and so is `recompute`, of
    reverse mode's."""
    from symgrad.api import as_tuple, user_function

    f = user_function(f)  # a function decorated with @symgrad.grad: check the function it decorates
    args = as_tuple("check_grads' args", args, "check_grads(f, (x,))")
    try:  # (a wrong count of arguments: the function's own TypeError, before symgrad's)
        inspect.signature(f).bind(*args)
    except TypeError as e:
        raise SymgradError(f"check_grads: bad arguments for {f.__qualname__}: {e}") from None
    except ValueError:  # (no signature to read: a NumPy function)
        pass
    modes = (modes,) if isinstance(modes, str) else tuple(modes)
    if not modes or not set(modes) <= {"rev", "fwd"}:
        raise SymgradError(
            f"check_grads' modes are 'rev' and 'fwd' (one or both); it was given {modes!r}, "
            "which would check nothing"
        )
    if type(directions) is not int or directions < 1 or type(order) is not int or order < 1:
        raise SymgradError(
            f"check_grads checks at least one direction, of order 1 or more (it was given "
            f"directions={directions!r}, order={order!r}), or it would check nothing"
        )
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    options = dict(directions=directions, eps=eps, rtol=rtol, atol=atol, seed=seed, modes=modes)
    options.update(backend=backend, recompute=recompute)
    _check(f, [_as64(a) for a in args], nums, order, **options)


def _check(
    f, args, nums, order, *, directions, eps, rtol, atol, seed, modes, backend, recompute
) -> None:
    from symgrad.api import grad, run_on_copies, value_and_grad, vjp
    from symgrad.transforms import jvp

    if order > 1:
        options = dict(directions=directions, eps=eps, rtol=rtol, atol=atol, seed=seed)
        options.update(modes=modes, backend=backend, recompute=recompute)
        for k in nums:
            inner = grad(f, k, backend=backend, recompute=recompute)
            _check(inner, args, nums, order - 1, **options)
    rng = np.random.default_rng(seed)
    out = run_on_copies(f, args)
    grads: tuple = ()  # reverse mode's, unless only forward mode is checked
    if not tree.is_tree(out) and np.ndim(out) == 0:
        if "rev" in modes:
            both = value_and_grad(f, tuple(nums), backend=backend, recompute=recompute)
            value, grads = both(*args)
            _check_value(f, value, out, "value_and_grad")
        project: Callable = lambda y: float(y)  # noqa: E731
    else:
        ct = _random_like(rng, out)
        if "rev" in modes:
            value, back = vjp(f, *args, backend=backend, recompute=recompute)
            _check_value(f, value, out, "vjp")
            cts = back(ct)
            grads = tuple(cts[k] for k in nums)
        project = lambda y: _inner(ct, y)  # noqa: E731
    for k, g in zip(nums, grads):
        _check_like(k, g, args[k])
    for trial in range(directions):
        ds = {k: _random_like(rng, args[k]) for k in nums}
        plus, minus = list(args), list(args)
        for k in nums:
            plus[k] = _moved(args[k], ds[k], eps)
            minus[k] = _moved(args[k], ds[k], -eps)
        numeric = (project(run_on_copies(f, plus)) - project(run_on_copies(f, minus))) / (2 * eps)
        found = {}
        if "rev" in modes:
            found["gradient"] = sum(_inner(g, ds[k]) for k, g in zip(nums, grads))
        if "fwd" in modes:
            tangents = [ds[k] if k in ds else None for k in range(len(args))]  # (held fixed:
            # no tangent, and nothing computed for it; an int compiled as a constant too)
            value, tangent = jvp(f, tuple(args), tuple(tangents), backend=backend)
            if trial == 0:
                _check_value(f, value, out, "jvp")
            found["JVP"] = project(tangent)
        for what, analytic in found.items():
            err = abs(numeric - analytic)
            assert err <= atol + rtol * max(abs(numeric), abs(analytic)), (
                f"{what} check failed for {getattr(f, '__qualname__', f)} (direction {trial}): "
                f"symgrad {analytic!r} vs central differences {numeric!r} (error {err:.3g})"
            )


def _check_value(f, value, out, what: str) -> None:
    """The value a transformation computed beside its derivative is f's, leaf by leaf."""
    name = getattr(f, "__qualname__", f)
    pairs = zip(_floats(value), _floats(out)) if tree.is_tree(out) else [(value, out)]
    for got, want in pairs:
        if got is None and want is None:  # (a leaf that is no float: an int, a string)
            continue
        assert np.allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True), (
            f"{what}'s value of {name} is {got!r}, where {name} gives {want!r}"
        )


def _floats(x) -> list:
    """The float leaves of x (x itself where it is no container), None in place of others."""
    leaves = tree.flatten(x)[0] if tree.is_tree(x) else [x]
    return [v if is_float(v) else None for v in leaves]


def _random_like(rng, x):
    """Standard normal entries in x's float leaves' shapes (None at its other leaves)."""
    if not tree.is_tree(x):
        return rng.standard_normal(np.shape(x))
    return tree.map(lambda v: rng.standard_normal(np.shape(v)) if is_float(v) else None, x)


def _inner(a, b) -> float:
    """The sum of the products of a's and b's float leaves (a container's leaf by leaf)."""
    pairs = zip(_floats(a), _floats(b)) if tree.is_tree(a) else [(a, b)]
    return sum(float(np.sum(u * np.asarray(v))) for u, v in pairs if u is not None)


def _moved(x, d, step: float):
    """x + step * d, leaf by leaf (a Python float stays one; other leaves stay as they are)."""
    if tree.is_tree(x):
        return tree.map(lambda v, dv: v if dv is None else _moved(v, dv, step), x, d)
    moved = x + step * d
    return float(moved) if isinstance(x, float) else moved


def _check_like(k: int, g, x) -> None:
    """Each gradient leaf has its argument leaf's shape and, for an array, its dtype."""
    for gv, xv in zip(_floats(g) if tree.is_tree(x) else [g], _floats(x)):
        if xv is None:
            continue
        assert np.shape(gv) == np.shape(xv), (
            f"gradient for argument {k} has shape {np.shape(gv)}, expected {np.shape(xv)}"
        )
        if isinstance(xv, np.ndarray):
            assert gv.dtype == xv.dtype, f"gradient {k} has dtype {gv.dtype}"
