"""Shared test fixtures: writing functions to real files (symgrad reads source) and sampling."""

from __future__ import annotations

import importlib.util
import itertools
import sys
import textwrap

import pytest

_COUNTER = itertools.count()


@pytest.fixture
def make_fn(tmp_path):
    """make_fn(source) -> module: writes source (dedented, numpy imported) to a file; imports it."""

    def make(source: str):
        name = f"symgrad_testmod_{next(_COUNTER)}"
        path = tmp_path / f"{name}.py"
        path.write_text("import numpy as np\n\n" + textwrap.dedent(source))
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    return make


def pytest_addoption(parser):
    parser.addoption(
        "--fuzz",
        type=int,
        default=0,
        metavar="N",
        help="differential fuzzing: check N random programs (random seed) instead of the bounded, "
        "derandomized set of the normal suite",
    )
