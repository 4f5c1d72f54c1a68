"""Every example runs (in its fast mode: `--fast`, where it trains) and says what it should."""

from __future__ import annotations

import importlib
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


def import_example(name: str):
    sys.path.insert(0, str(EXAMPLES))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(EXAMPLES))


def test_backprop_necessity_gradient_descent_beats_random_search():
    results = import_example("backprop_necessity").main(fast=True)
    (rs_loss, _), (gd_loss, _) = results["random search"], results["gradient descent (symgrad)"]
    assert gd_loss < rs_loss


def test_train_mlp_digits(tmp_path):
    out = run("train_mlp_digits.py", tmp_path)
    assert "epoch   3/3 [" in out and "held-out test accuracy" in out
    assert "def value_and_grad_loss(W1, b1, gamma, beta, W2, b2, X, y):" in out
    assert "_layer_norm_vjp_z(" in out


def test_train_mlp_digits_learns_in_fast_mode():
    results = import_example("train_mlp_digits").main(fast=True)
    assert results["test_accuracy"] > 0.85  # 10 classes: chance is 10%; 3 epochs reach ~93%


def test_cnn(tmp_path):
    out = run("cnn.py", tmp_path)
    assert "gradient check on 4 images against central differences: ok" in out
    assert "held-out test accuracy" in out
    assert "_conv_vjp_x(" in out and "_max_pool2d_vjp(" in out
