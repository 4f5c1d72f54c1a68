"""Shared test fixtures: writing functions to real files (symgrad reads source) and sampling."""

from __future__ import annotations

import importlib.util
import itertools
import sys
import textwrap

import numpy as np
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


def sample(shape: str, domain: str, rng: np.random.Generator):
    """A float64 input: shape '3x4' (an array), '' (0-d), or 'f' (a Python float), in a domain."""
    dims = () if shape in ("", "f") else tuple(int(d) for d in shape.split("x"))
    if domain == "invertible":
        n = dims[-1]
        return rng.uniform(-0.5, 0.5, dims) + 3 * np.eye(n)
    low, high = {
        "real": (-2, 2),
        "positive": (0.5, 2),
        "unit": (-0.8, 0.8),
        "nonzero": (0.5, 2),
        "bool": (-1, 1),
        "withzero": (-2, 2),
    }[domain]
    x = rng.uniform(low, high, dims)
    if domain == "withzero" and x.size:  # exact zeros, where formulas like prod / x fail
        x.reshape(-1)[::3] = 0.0
    if domain == "nonzero":
        x = x * rng.choice([-1.0, 1.0], dims)
    return float(x) if shape == "f" else x


def parse_example(example: str):
    """'np.sum(a, axis=1) | a: 3x4, b: 4 positive' -> (expr, [(name, shape, domain), ...])."""
    expr, _, spec = example.partition("|")
    inputs = []
    for item in spec.split(","):
        name, _, rest = item.partition(":")
        shape, *domain = rest.split()
        inputs.append((name.strip(), shape, domain[0] if domain else "real"))
    return expr.strip(), inputs
