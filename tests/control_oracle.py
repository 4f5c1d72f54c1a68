"""The differential oracle for control_programs.py's programs.

Contract: `classify(program, directory)` runs symgrad on a program: `Outcome.status` is "right"
(value equal to Python's, arguments not changed by the emitted code, `symgrad.check_grads` in both
modes passes), "refused" (a `SymgradError` whose message starts with the module's path), "wrong"
(a wrong value, gradient or JVP, or an argument changed) or "crashed" (any other exception, or a
refusal without a location), with a failure class `key`. `check_program` is the assertion form
for tests. `BACKEND` (`SYMGRAD_FUZZ_BACKEND`, default numpy) is the backend symgrad runs on; a
`SpecialisationWarning` (the Numba backend falling back on NumPy) is a crash.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import re
import sys
import traceback
import warnings
from dataclasses import dataclass

import numpy as np

import symgrad
from symgrad.errors import SpecialisationWarning
from symgrad.ir.verify import verify
from symgrad.rules import RULES

from .control_programs import Program

_COUNTER = itertools.count()
BACKEND = os.environ.get("SYMGRAD_FUZZ_BACKEND", "numpy")
_SYMGRAD_DIR = os.path.dirname(os.path.abspath(symgrad.__file__))


@dataclass
class Outcome:
    status: str  # "right", "refused", "wrong", "crashed"
    key: str = ""  # the failure class (or the refusal's kind)
    detail: str = ""  # the message / traceback summary


def load(program: Program, directory) -> tuple[object, str]:
    """Write the program to a new module file in directory and import it: (f, path)."""
    name = f"symgrad_ctrlmod_{os.getpid()}_{next(_COUNTER)}"
    path = os.path.join(str(directory), f"{name}.py")
    with open(path, "w") as fh:
        fh.write(program.source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.f, path


def _frame_key(e: BaseException) -> str:
    """Exception type and innermost symgrad frame (file:function), or emitted code."""
    frames = traceback.extract_tb(e.__traceback__)
    where = "?"
    for fr in frames:
        if fr.filename.startswith(_SYMGRAD_DIR):
            rel = os.path.relpath(fr.filename, os.path.dirname(_SYMGRAD_DIR))
            where = f"{rel}:{fr.name}"
    if frames and frames[-1].filename.startswith("<symgrad"):
        where = f"emitted code ({_short(str(e))})"
    return f"{type(e).__name__} in {where}"


def _short(message: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else ""
    return re.sub(r"\d+", "N", first)[:70]


def classify(program: Program, directory) -> Outcome:
    try:
        f, path = load(program, directory)
    except Exception as e:
        raise RuntimeError(f"the generated module does not import: {e}\n{program}") from e
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", SpecialisationWarning)
            return _classify(program, f, path)
    finally:
        sys.modules.pop(f.__module__, None)


def _classify(program: Program, f, path: str) -> Outcome:
    args, nums = program.args, program.argnums
    stage = "value_and_grad"
    try:
        mine = program.copies()
        g = symgrad.value_and_grad(f, argnums=nums, backend=BACKEND)
        value, _ = g(*mine)
        verify(g.graph, RULES)  # the specialised graph, loops and branches included
        for k, (given, orig) in enumerate(zip(mine, args)):
            if isinstance(orig, np.ndarray) and not np.array_equal(given, orig):
                return Outcome("wrong", "emitted code changes an argument", f"argument {k}")
        expected = f(*program.copies())
        if not np.allclose(value, expected, rtol=1e-9, atol=1e-12):
            return Outcome("wrong", "wrong value", f"symgrad {value!r}, Python {expected!r}")
        stage = "check_grads"
        symgrad.check_grads(f, args, nums, modes=("rev", "fwd"), backend=BACKEND)
        return Outcome("right")
    except symgrad.SymgradError as e:
        # located where it is compiled (`path:line:col`), or, refused when the module runs,
        # by the line of the function's file that its check names (`line 9 of f.py`)
        if str(e).startswith(path) or f" of {os.path.basename(path)})" in str(e):
            return Outcome("refused", f"{type(e).__name__}: {_refusal(e)}", str(e))
        return Outcome("crashed", f"unlocated {type(e).__name__}: {_short(str(e))}", str(e))
    except AssertionError as e:
        frames = traceback.extract_tb(e.__traceback__)
        if stage == "check_grads" and frames[-1].filename.endswith("checks/numeric.py"):
            if _noise(f, args, nums):
                return Outcome("right", "central differences noisy", str(e))
            what = str(e).split(" check failed")[0].split(" for argument")[0]
            key = {"gradient": "wrong gradient (rev)", "JVP": "wrong JVP (fwd)"}.get(
                what, f"wrong: {_short(str(e))}"
            )
            return Outcome("wrong", key, str(e))
        return Outcome("crashed", _frame_key(e), _tb(e))
    except Exception as e:
        return Outcome("crashed", _frame_key(e), _tb(e))


def _refusal(e) -> str:
    message = getattr(e, "message", str(e))
    return re.sub(r"\d+", "N", message.splitlines()[0])[:80]


def _noise(f, args, nums) -> bool:
    """Does a looser check (another step, looser tolerances) pass? Then the failure was the
    oracle's: a larger step where rounding dominates, a smaller one where curvature does (a
    value squared a few times over)."""
    for eps in (1e-5, 1e-7, 1e-8):
        try:
            symgrad.check_grads(
                f, args, nums, modes=("rev", "fwd"), eps=eps, rtol=1e-4, atol=1e-6, backend=BACKEND
            )
            return True
        except Exception:
            continue
    return False


def _tb(e: BaseException) -> str:
    lines = traceback.format_exception(type(e), e, e.__traceback__)
    return "".join(lines[-8:])


def check_program(program: Program, directory) -> str:
    """'right' or 'refused' (a located refusal); AssertionError with the source otherwise."""
    outcome = classify(program, directory)
    if outcome.status in ("right", "refused"):
        return outcome.status
    raise AssertionError(
        f"{outcome.status}: {outcome.key}\n{outcome.detail}\n--- program ---\n{program}"
    )
