"""Every example runs (in its fast mode: `--fast`, where it trains) and says what it should."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parents[1] / "examples"


def run(name: str, tmp_path: Path) -> str:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--fast"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_quickstart(tmp_path):
    out = run("quickstart.py", tmp_path)
    assert "def grad_loss(W, b, x, y):" in out and "central differences: ok" in out


def test_backprop_necessity(tmp_path):
    out = run("backprop_necessity.py", tmp_path)
    assert "random search" in out and "gradient descent (symgrad)" in out
    assert "def grad_loss(W1, b1, W2, b2, X, y):" in out


def test_backprop_necessity_gradient_descent_beats_random_search():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import backprop_necessity
    finally:
        sys.path.remove(str(EXAMPLES))
    results = backprop_necessity.main(fast=True)
    (rs_loss, _), (gd_loss, _) = results["random search"], results["gradient descent (symgrad)"]
    assert gd_loss < rs_loss
