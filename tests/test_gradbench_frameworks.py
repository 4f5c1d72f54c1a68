"""The JAX and PyTorch GradBench tool (benchmarks/gradbench/frameworks/tool.py), driven by the
fake eval through whole sessions on the spec's examples and tiny workloads. Skipped where the
framework is not installed (CI installs neither)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parents[1] / "benchmarks" / "gradbench"
sys.path.insert(0, str(HERE))

import fake_eval  # noqa: E402

TOOL = [sys.executable, str(HERE / "frameworks" / "tool.py"), "--framework"]


@pytest.mark.parametrize("framework, module", [("jax", "jax"), ("pytorch", "torch")])
def test_framework_tool_small(framework, module):
    """lse only, to stay short: every eval's small cases pass by `fake_eval.py NAME --small
    --tool "python benchmarks/gradbench/frameworks/tool.py --framework NAME"`."""
    pytest.importorskip(module)
    outcomes = fake_eval.play("lse", fake_eval.small_cases("lse"), tool=[*TOOL, framework])
    failed = [fake_eval.describe(o) for o in outcomes if not o.ok]
    assert outcomes and not failed, "\n".join(failed)
    assert all(o.valid for o in outcomes)
