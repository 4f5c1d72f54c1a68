"""examples/computational_graph.py runs, prints the graph and the emitted code, and its gradient
agrees with the chain rule by hand and with central differences."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[1] / "examples" / "computational_graph.py"


def test_computational_graph_example(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE), "--fast"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "linear W x b" in out and "sigmoid t1" in out  # the IR graph
    assert "def grad_J(x, W, b, y):" in out and "(1 - t2) @ W" in out  # the textbook backward
    assert "symgrad.check_grads with respect to x, W and b: ok" in out
