"""Every example runs (in its fast mode: `--fast`, where it trains) and says what it should."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symgrad

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
    assert "\r" not in out  # in a pipe, one line per epoch
    assert re.findall(r"(?m)^epoch +(\d)/3 \[", out) == ["1", "2", "3"]
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


def test_forward_vs_reverse(tmp_path):
    out = run("forward_vs_reverse.py", tmp_path)
    assert "def jvp_f(x, y, x_dot, y_dot):" in out and "out_dot = " in out
    assert "def grad_f(x, y):" in out and "x_bar = " in out and "y_bar = " in out
    assert "n inputs, 1 output" in out and "4 inputs, m outputs" in out
    row = r"^ +(\d+) +([\d.]+) +([\d.]+) +(\S+)  (jacfwd|jacrev)$"
    rows = re.findall(row, out, re.M)
    assert [int(r[0]) for r in rows] == [4, 16, 64] * 2, out
    for _, t_fwd, t_rev, ratio, faster in rows:  # each verdict is the one its numbers give
        if float(t_fwd) != float(t_rev):
            assert faster == ("jacrev" if float(t_rev) < float(t_fwd) else "jacfwd")
        assert float(ratio) > 0
    assert out.count("measured: jacrev was faster at ") == 2


def test_forward_vs_reverse_modes_agree_with_the_analytic_derivative():
    example = import_example("forward_vs_reverse")
    first = example.both_modes(x=0.3, y=-1.7)
    np.testing.assert_allclose(first["forward"], (0.6, 3 * 1.7**2), rtol=1e-14)
    np.testing.assert_allclose(first["reverse"], first["analytic"], rtol=1e-14)
    rows = example.race(example.scalar_output, (3, 5), lambda n: (np.ones(n), np.eye(n)), 1)
    assert [n for n, _, _ in rows] == [3, 5] and all(t > 0 for _, *ts in rows for t in ts)


def test_newton(tmp_path):
    out = run("newton.py", tmp_path)
    assert "def hessian_rosenbrock(x):" in out
    assert "correct digits once within 0.1 of x*: " in out
    assert "(bounded: quadratic convergence)" in out
    assert "largest difference from [[802, -400], [-400, 200]]: " in out


def test_newton_converges_quadratically_to_the_minimiser():
    newton = import_example("newton")
    results = newton.main(fast=True)
    assert results["grad_norms"][-1] < 1e-10
    np.testing.assert_allclose(results["xs"][-1], [1.0, 1.0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(results["hessian_at_minimiser"], newton.HESSIAN_AT_MINIMISER)
    # quadratic: e_{k+1} <= C e_k^2 in the final steps (at least two that did not land exactly)
    ratios = results["ratios"]
    assert sum(r > 0 for r in ratios) >= 2 and max(ratios) < 10, ratios
    # the same check fails for a linearly convergent method: half Newton steps (H doubled)
    gradient, hessian = symgrad.grad(newton.rosenbrock), symgrad.hessian(newton.rosenbrock)
    xs = newton.newton(newton.START, gradient, lambda x: 2 * hessian(x), steps=200)
    errors = [float(np.linalg.norm(x - newton.MINIMISER)) for x in xs]
    assert errors[-1] < 1e-9 and max(newton.quadratic_ratios(errors)) > 1e3


def test_the_notebook_runs_and_each_object_shows_as_it_should(monkeypatch):
    """examples/notebook.ipynb, cell by cell in this process (the last expression of each cell
    is what Jupyter displays), and through a Jupyter kernel where nbclient is installed."""
    import ast
    import json

    monkeypatch.chdir(EXAMPLES)
    monkeypatch.syspath_prepend(str(EXAMPLES))
    cells = json.loads((EXAMPLES / "notebook.ipynb").read_text())["cells"]
    shown, namespace = [], {}
    for cell in (c for c in cells if c["cell_type"] == "code"):
        *body, last = ast.parse("".join(cell["source"])).body
        exec(compile(ast.Module(body, []), "<cell>", "exec"), namespace)
        shown.append(eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace))
    grad, source, db, graph, hessian, check, rules = shown
    assert repr(grad) == "<symgrad grad of loss argnums=(0, 1)>"
    assert "def grad_loss(W, b, x, y):" in source and "grad_loss" in source._repr_html_()
    assert db.shape == (3,) and repr(hessian) == "<symgrad hessian of loss argnums=0>"
    assert graph._repr_svg_() is None or "<svg" in graph._repr_svg_()
    assert "<table>" in check._repr_html_() and "<table>" in rules._repr_html_()
    if (
        importlib.util.find_spec("nbclient") is None
        or importlib.util.find_spec("ipykernel") is None
    ):
        return
    import nbclient
    import nbformat

    notebook = nbformat.read(EXAMPLES / "notebook.ipynb", as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=120, resources={"metadata": {"path": str(EXAMPLES)}}
    ).execute()


def test_dask_logistic_regression(tmp_path):
    pytest.importorskip("distributed")
    out = run("dask_logistic_regression.py", tmp_path)
    gap = re.search(
        r"same gradient function on NumPy and on Dask arrays: largest difference (\S+)", out
    )
    assert gap and float(gap[1]) < 1e-12, out
    losses = [float(v) for v in re.findall(r"(?m)^step \d/3: loss ([\d.]+) \(", out)]
    assert len(losses) == 3 and losses[0] > losses[1] > losses[2], out
    assert re.search(r"(?m)^   3 [\d.]+ #+$", out), out  # the loss curve
    peaks = re.findall(r"(?m)^peak memory of worker \S+: (\d+) MiB \(limit 400MiB\)$", out)
    assert len(peaks) == 2 and all(int(p) < 400 for p in peaks), out
