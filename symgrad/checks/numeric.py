"""The numeric oracle: symgrad's derivatives against central differences in float64.

Contract: `check_grads(f, args, argnums)` raises `AssertionError` (with the numbers) unless, for
several random directions d, the directional derivative from symgrad, ⟨∇f, d⟩ (or ⟨ct, J d⟩ via
`vjp` for array outputs, with a random cotangent ct), matches (f(x + εd) − f(x − εd)) / 2ε
computed in float64; with `modes=("rev", "fwd")`, so does forward mode's J d (`jvp`). It also
checks each gradient's shape and dtype against its argument. With `order=2`, each gradient is
checked in the same way as a function of the arguments (second derivatives, through `grad` of a
compiled gradient), and so on for higher orders.
"""

from __future__ import annotations

import inspect
from typing import Callable, Sequence

import numpy as np


def _as64(v):
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
) -> None:
    """Assert that symgrad's derivative of f at args agrees with central differences: reverse
    mode (`"rev"`, the gradient or VJP) and, with `"fwd"` in `modes`, forward mode (the JVP).
    With `order=2` (or more), the same checks run on each gradient `grad(f, k)` in turn, as a
    function of the arguments: its VJP is reverse over reverse, its JVP forward over reverse
    (`modes=("fwd",)` checks forward mode alone: second derivatives through loops). `backend`
    is the transformations' (`symgrad.grad(..., backend=...)`)."""
    from symgrad.api import as_tuple

    f = inspect.unwrap(f)  # a decorated function: check the function it decorates
    args = as_tuple("check_grads' args", args, "check_grads(f, (x,))")
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    options = dict(directions=directions, eps=eps, rtol=rtol, atol=atol, seed=seed, modes=modes)
    options["backend"] = backend
    _check(f, [_as64(a) for a in args], nums, order, **options)


def _check(f, args, nums, order, *, directions, eps, rtol, atol, seed, modes, backend) -> None:
    from symgrad.api import grad, run_on_copies, vjp
    from symgrad.transforms import jvp

    if order > 1:
        options = dict(directions=directions, eps=eps, rtol=rtol, atol=atol, seed=seed)
        for k in nums:
            inner = grad(f, k, backend=backend)
            _check(inner, args, nums, order - 1, modes=modes, backend=backend, **options)
    rng = np.random.default_rng(seed)
    out = np.asarray(run_on_copies(f, args))
    grads: tuple = ()  # reverse mode's, unless only forward mode is checked
    if out.ndim == 0:
        if "rev" in modes:
            grads = grad(f, argnums=tuple(nums), backend=backend)(*args)
        project: Callable = lambda y: float(y)  # noqa: E731
    else:
        ct = rng.standard_normal(out.shape)
        if "rev" in modes:
            cts = vjp(f, *args, backend=backend)[1](ct)
            grads = tuple(cts[k] for k in nums)
        project = lambda y: float(np.sum(ct * np.asarray(y)))  # noqa: E731
    for k, g in zip(nums, grads):
        assert np.shape(g) == np.shape(args[k]), (
            f"gradient for argument {k} has shape {np.shape(g)}, expected {np.shape(args[k])}"
        )
        if isinstance(args[k], np.ndarray):
            assert g.dtype == args[k].dtype, f"gradient {k} has dtype {g.dtype}"
    for trial in range(directions):
        ds = {k: rng.standard_normal(np.shape(args[k])) for k in nums}
        plus, minus = list(args), list(args)
        for k in nums:
            plus[k] = args[k] + eps * ds[k]
            minus[k] = args[k] - eps * ds[k]
            if isinstance(args[k], float):
                plus[k], minus[k] = float(plus[k]), float(minus[k])
        numeric = (project(run_on_copies(f, plus)) - project(run_on_copies(f, minus))) / (2 * eps)
        found = {}
        if "rev" in modes:
            found["gradient"] = sum(
                float(np.sum(np.asarray(g) * ds[k])) for k, g in zip(nums, grads)
            )
        if "fwd" in modes:
            tangents = [ds[k] if k in ds else _zero_tangent(a) for k, a in enumerate(args)]
            found["JVP"] = project(jvp(f, tuple(args), tuple(tangents), backend=backend)[1])
        for what, analytic in found.items():
            err = abs(numeric - analytic)
            assert err <= atol + rtol * max(abs(numeric), abs(analytic)), (
                f"{what} check failed for {getattr(f, '__qualname__', f)} (direction {trial}): "
                f"symgrad {analytic!r} vs central differences {numeric!r} (error {err:.3g})"
            )


def _zero_tangent(a):
    """The tangent of an argument that is held fixed."""
    return np.zeros_like(a) if isinstance(a, (float, np.ndarray)) else a
