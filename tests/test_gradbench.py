"""symgrad's GradBench tool, driven over real pipes by the fake eval, for every eval.

Each eval's worked examples from the spec and its tiny workloads go through a whole session
(`start`, `define`, `evaluate`, `analysis`); the answers are held to the protocol and to the
eval's references (plain re-implementations, central differences, the spec's values).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parents[1] / "benchmarks" / "gradbench"
sys.path.insert(0, str(HERE))

import fake_eval  # noqa: E402

EVALS = sorted(p.stem for p in (HERE / "evals").glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("name", EVALS)
def test_eval_small(name):
    wanted = getattr(fake_eval.load(name), "SUITE_FUNCTIONS", None)  # (slow modes left out)
    cases = [c for c in fake_eval.small_cases(name) if not wanted or c.function in wanted]
    outcomes = fake_eval.play(name, cases, timeout=120)
    assert outcomes
    failed = [fake_eval.describe(o) for o in outcomes if not o.ok]
    assert not failed, "\n".join(failed)
    assert all(o.valid is not None for o in outcomes), "a small case without a reference"


def test_repeats_until_min_runs_and_min_seconds():
    case = fake_eval.Case("gradient", {"x": [1.0, 2.0, 3.0]}, "n=3")
    [many] = fake_eval.play("lse", [case], min_runs=5)
    [long] = fake_eval.play("lse", [case], min_seconds=0.05)
    assert many.ok and len(many.timings) >= 5
    assert long.ok and sum(long.timings) >= 0.05e9


def _session(*messages) -> list[dict]:
    lines = "".join(json.dumps(m) + "\n" for m in messages)
    tool = [sys.executable, str(HERE / "tool.py")]
    done = subprocess.run(tool, input=lines, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["id"] for r in replies] == [m["id"] for m in messages]  # one line each, in order
    return replies


def test_refusals_are_answers():
    evaluate = {"kind": "evaluate", "module": "lse", "description": "n=0"}
    replies = _session(
        {"id": 0, "kind": "start", "eval": "nope"},
        {"id": 1, "kind": "define", "module": "nope"},
        {"id": 2, "kind": "define", "module": "../lse"},
        {"id": 3, **evaluate, "function": "gradient", "input": {"x": []}},
        {"id": 4, **evaluate, "function": "hessian", "input": {"x": [1.0]}},
        {"id": 5, **evaluate, "function": "primal", "input": {"x": [1e308, float("inf")]}},
        {"id": 6, "kind": "analysis", "of": 3, "valid": True},
    )
    assert replies[0]["tool"] == "symgrad"
    assert [r["success"] for r in replies[1:6]] == [False] * 5
    assert "hessian" in replies[4]["error"]
    assert replies[6] == {"id": 6}


def test_comparison_rule():
    assert not fake_eval.mismatches(1, 1.0)  # an int is compared as a float
    assert not fake_eval.mismatches(1000.0, 1000.1)  # relative for large numbers
    assert fake_eval.mismatches(0.0, 2e-4)  # absolute for small ones
    assert fake_eval.mismatches([1.0], 1.0)  # a 1-element list is not a number
    assert fake_eval.mismatches({"a": 1.0}, {"a": 1.0, "b": 2.0})
    assert fake_eval.mismatches([1.0, 2.0], [1.0])
    assert len(fake_eval.mismatches({"a": [0.0, 1.0]}, {"a": [1.0, 0.0]})) == 2


@pytest.mark.parametrize("name", ["lse", "llsq", "particle"])
def test_eval_small_on_the_numba_backend(name):
    """`tool.py --backend numba`: the derivatives from symgrad's Numba backend, held to the same
    references (lse's fused loops, llsq's compiled loop, particle's while loops compiled whole
    with their nested gradients; lstm's loops, compiled whole, take seconds to compile:
    tests/test_typed_loops.py has their form, small)."""
    tool = [*fake_eval.TOOL, "--backend", "numba"]
    outcomes = fake_eval.play(name, fake_eval.small_cases(name), tool=tool, timeout=300)
    failed = [fake_eval.describe(o) for o in outcomes if not o.ok]
    assert outcomes and not failed, "\n".join(failed)
    assert all(o.valid for o in outcomes)


@pytest.mark.parametrize("name", ["gmm", "lstm"])
def test_the_directional_check_of_a_large_gradient_catches_a_wrong_one(name):
    """Where a gradient is too large for the reference's central differences, `check` compares
    its products with random directions with central differences along them: the reference
    gradient of a small input passes, and the same with one entry off by 1e-3 does not."""
    import numpy as np

    module = fake_eval.load(name)
    function = module.FUNCTIONS[1]
    _, data = module.small_workloads()[0]
    right = module.reference(function, data)
    assert module.check(function, data, right) == []
    if isinstance(right, dict):
        wrong = {k: np.array(v, dtype=float) for k, v in right.items()}
        wrong["alpha"][0] += 1e-3
        wrong = {k: v.tolist() for k, v in wrong.items()}
    else:
        wrong = list(right)
        wrong[0] += 1e-3
    assert module.check(function, data, wrong)
