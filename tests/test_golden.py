"""Golden tests: the emitted source of a few small functions, pinned so changes show as diffs.

To accept a deliberate change, run `SYMGRAD_UPDATE_GOLDEN=1 pytest tests/test_golden.py` and
review the diff of tests/golden/.
"""

from __future__ import annotations

import os
import pathlib

import pytest

import symgrad
from tests.fixtures import golden_fns

GOLDEN = pathlib.Path(__file__).parent / "golden"
CASES = {
    "tanh_regression": (golden_fns.tanh_regression, (0, 1)),
    "sigmoid_bce": (golden_fns.sigmoid_bce, 0),
    "product_rule": (golden_fns.product_rule, (0, 1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_emitted_source_matches_golden(name):
    fn, argnums = CASES[name]
    source = symgrad.grad(fn, argnums=argnums).source
    path = GOLDEN / f"{name}.py"
    if os.environ.get("SYMGRAD_UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(source)
    assert source == path.read_text(), f"emitted source of {name} changed; see {path}"
