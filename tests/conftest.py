"""Shared test fixtures: writing functions to real files (symgrad reads source) and sampling."""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
import textwrap
import weakref

import pytest

# Numba's machine code optimised less in the tests: the same results (no fastmath: IEEE
# arithmetic at every level), compiled in about 3/4 of the time (set before Numba is imported)
os.environ.setdefault("NUMBA_OPT", "1")

_COUNTER = itertools.count()
BACKENDS = [  # the backends a suite runs on: the Numba one where the extra is installed
    "numpy",
    pytest.param(
        "numba",
        marks=pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="no numba"),
    ),
]


def on_backends(cases, numba_cases) -> list:
    """(case, backend) pairs to parametrise over: every case on NumPy, and those named in
    numba_cases on Numba too where it is installed (each compiles for seconds: a few stand for
    the rest)."""
    numba = [pytest.param(name, "numba", marks=BACKENDS[1].marks) for name in numba_cases]
    return [(name, "numpy") for name in sorted(cases)] + numba


@pytest.fixture(autouse=True, scope="session")
def _compiled_modules_in_a_temporary_folder(tmp_path_factory):
    """The Numba backend's modules and machine code go to a fresh folder, not the user's cache:
    every run compiles, as on a fresh machine."""
    folder = tmp_path_factory.mktemp("symgrad_cache")
    saved = os.environ.get("SYMGRAD_CACHE_DIR")
    os.environ["SYMGRAD_CACHE_DIR"] = str(folder)
    yield
    if saved is None:
        os.environ.pop("SYMGRAD_CACHE_DIR", None)
    else:
        os.environ["SYMGRAD_CACHE_DIR"] = saved


@pytest.fixture
def loops_kept(monkeypatch):
    """Loops emitted as loops, for tests of how they are: no loop vectorised
    (`symgrad.passes.vectorise`), and nothing compiled before reused."""
    import symgrad.api

    simplify = importlib.import_module("symgrad.passes.simplify")
    monkeypatch.setattr(simplify, "vectorised", lambda rw, node: None)
    monkeypatch.setattr(symgrad.api, "_CACHE", weakref.WeakKeyDictionary())


@pytest.fixture
def make_fn(tmp_path):
    """make_fn(source) -> module: writes source (dedented, numpy imported) to a file; imports it."""
    return lambda source: load_module(tmp_path, source)


def load_module(directory, source: str):
    """Write source (dedented, numpy imported) to a new module file in directory; import it."""
    name = f"symgrad_testmod_{next(_COUNTER)}"
    path = directory / f"{name}.py"
    path.write_text("import numpy as np\n\n" + textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def moved(args, tangents, s):
    """The arguments moved by s along their tangents (None: held fixed), Python floats kept."""
    out = []
    for a, t in zip(args, tangents):
        if t is None:
            out.append(a)
        else:
            step = a + s * t
            out.append(float(step) if isinstance(a, float) else step)
    return out


def pytest_addoption(parser):
    parser.addoption(
        "--fuzz",
        type=int,
        default=0,
        metavar="N",
        help="differential fuzzing: check N random programs (random seed) instead of the bounded, "
        "derandomized set of the normal suite",
    )
    parser.addoption(
        "--fuzz-backend",
        default="numpy",
        choices=["numpy", "numba"],
        help="the backend tests/test_fuzz.py checks its programs on (default numpy)",
    )
    parser.addoption(
        "--fuzz-long",
        type=int,
        default=0,
        metavar="N",
        help="control-flow fuzzing (tests/test_fuzz_control.py): check N programs from fresh seeds "
        "and print counts by outcome and failure class (also SYMGRAD_FUZZ_LONG=N)",
    )
