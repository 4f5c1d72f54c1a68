"""Differential fuzzing of the nested tape (`symgrad.passes.residuals_nested`): random programs of
an outer loop over steps holding a loop over layers (an LSTM's shape), each gradient computed
with the layer loop's entries stacked by the forward step loop and again with them recomputed
by each backward step. The two must agree to rounding; one of the programs is also checked
against central differences.

The normal suite checks seeds 0..BOUNDED-1 on the NumPy backend (a new program's loops would
take Numba seconds to compile). Standalone, more seeds, on either backend or both:

    python -m tests.test_fuzz_nested --count 300 --seed 1000 [--backend numba|both]
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import warnings

import numpy as np
import pytest

import symgrad
import symgrad.api
from symgrad.errors import SpecialisationWarning
from symgrad.passes import residuals_nested

BOUNDED = 6
_STACKED = residuals_nested._stacked
_UNARY = ["np.tanh({})", "np.sin({})", "1.0 / (1.0 + np.exp(-{}))", "np.cos({}) * 0.5"]


def _expr(rng: random.Random, names: list[str], depth: int) -> str:
    if depth == 0 or rng.random() < 0.3:
        return rng.choice(names)
    if rng.random() < 0.3:
        return "(" + rng.choice(_UNARY).format(_expr(rng, names, depth - 1)) + ")"
    op = rng.choice(["+", "-", "*"])
    return f"({_expr(rng, names, depth - 1)} {op} {_expr(rng, names, depth - 1)})"


def generate(seed: int) -> str:
    """A program f(W, x, seq): at each step t, layers i = 0.. W.shape[0] // 2 - 1 update rows
    2i and 2i + 1 of a state s from slices of W[2i], the layer's input u and s's rows."""
    rng = random.Random(seed)
    names = ["u", "s[2 * i]", "s[2 * i + 1]", "w[:3]", "w[3:]"]
    body = [
        "def f(W, x, seq):",
        "    s = np.zeros((W.shape[0], x.shape[0])) + x",
        "    total = 0.0",
        "    for t in range(seq.shape[0]):",
        "        u = seq[t] * x",
        "        for i in range(W.shape[0] // 2):",
        "            w = W[2 * i]",
        f"            h = {_expr(rng, names, 3)} * 1.0",
    ]
    if rng.random() < 0.3:
        body += ["            if np.sum(h) > 0.0:", "                h = h * 0.9"]
    body.append(f"            c = {_expr(rng, names + ['h'], 2)} * 1.0")
    body.append("            s[2 * i] = h")
    if rng.random() < 0.7:
        body.append("            s[2 * i + 1] = c")
    body.append("            u = " + rng.choice(["h", "h + c", "np.tanh(c) * h"]))
    body.append("        total = total + np.sum(" + rng.choice(["u * seq[t]", "np.sin(u)"]) + ")")
    body.append("    return total")
    return "import numpy as np\n\n\n" + "\n".join(body) + "\n"


def _load(source: str, directory, seed: int):
    path = directory / f"nested_{seed}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"nested_{seed}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f


def _gradients(f, args, backend: str, stacked: bool, monkeypatch) -> tuple:
    """f's gradient compiled afresh, with the nested tape stacked or not."""
    monkeypatch.setattr(residuals_nested, "_stacked", _STACKED if stacked else _declined)
    symgrad.api._CACHE.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpecialisationWarning)
        return symgrad.grad(f, (0, 1), backend=backend)(*args)


def _declined(*_) -> bool:
    return False


def check(seed: int, directory, monkeypatch, backends=("numpy",)) -> str:
    """'same', 'refused' (the frontend's located error) or 'differ'."""
    f = _load(generate(seed), directory, seed)
    rng = np.random.default_rng(seed)
    layers = int(rng.integers(1, 4))
    args = (0.3 * rng.standard_normal((2 * layers, 6)), 0.3 * rng.standard_normal(3))
    args += (0.5 * rng.standard_normal((4, 3)),)
    outcome = "same"
    for backend in backends:
        try:
            stacked = _gradients(f, args, backend, True, monkeypatch)
            recomputed = _gradients(f, args, backend, False, monkeypatch)
        except symgrad.SymgradError:
            return "refused"
        for a, b in zip(stacked, recomputed):
            if not np.allclose(a, b, rtol=1e-10, atol=1e-12, equal_nan=True):  # (an overflow)
                outcome = "differ"
    return outcome


@pytest.mark.parametrize("seed", range(BOUNDED))
def test_stacked_and_recomputed_nested_tapes_agree(seed, tmp_path, monkeypatch):
    assert check(seed, tmp_path, monkeypatch) in ("same", "refused"), generate(seed)


def test_a_stacked_program_matches_central_differences(tmp_path):
    f = _load(generate(2), tmp_path, 2)
    rng = np.random.default_rng(2)
    args = (0.3 * rng.standard_normal((4, 6)), 0.3 * rng.standard_normal(3))
    args += (0.5 * rng.standard_normal((4, 3)),)
    g = symgrad.grad(f, (0, 1))
    g(*args)
    assert "_rows" in g.source  # stacked
    symgrad.check_grads(f, args, (0, 1))


def main(argv=None) -> int:
    import tempfile
    from pathlib import Path

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", default="numpy", help="numpy, numba or both")
    opts = parser.parse_args(argv)
    backends = ("numpy", "numba") if opts.backend == "both" else (opts.backend,)
    counts = {"same": 0, "refused": 0, "differ": 0}
    with tempfile.TemporaryDirectory() as d, pytest.MonkeyPatch.context() as mp:
        for seed in range(opts.seed, opts.seed + opts.count):
            outcome = check(seed, Path(d), mp, backends)
            counts[outcome] += 1
            if outcome == "differ":
                print(f"seed {seed} differs:\n{generate(seed)}")
    print(counts)
    return 1 if counts["differ"] else 0


if __name__ == "__main__":
    sys.exit(main())
