"""Differential fuzzing of loop vectorisation (loop_programs.py): loops of independent steps
(and, on purpose, some that are not), each program's value and derivatives (reverse and forward
mode) against Python and central differences, by the control fuzzer's oracle.

The normal suite checks seeds 0..BOUNDED-1 (one test per seed, so a failure names its seed), and
that most of those programs' loops are vectorised (the fuzzer tests what it is for). Standalone,
with a table of failure classes:

    python -m tests.test_fuzz_loops --count 2000 --seed 1000 [--backend numba]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile

import pytest

from . import control_oracle
from .control_campaign import run_many
from .control_oracle import check_program
from .loop_programs import generate

BOUNDED = 60  # programs in the normal suite (about 10 s)


@pytest.mark.parametrize("seed", range(BOUNDED))
def test_loop_program(seed, tmp_path):
    check_program(generate(seed), tmp_path)


def test_most_of_the_programs_loops_are_vectorised(tmp_path, monkeypatch):
    simplify = importlib.import_module("symgrad.passes.simplify")
    batched, vectorised = [], simplify.vectorised

    def counting(rw, node):
        found = vectorised(rw, node)
        if found:
            batched.append(node.op)
        return found

    monkeypatch.setattr(simplify, "vectorised", counting)
    seeds = range(1000, 1020)
    summary = run_many(seeds, tmp_path, make=generate)
    assert not summary.classes, summary.table()
    assert batched.count("loop_vjp") >= len(seeds) // 2, batched
    assert batched.count("loop") >= len(seeds), batched  # (the gradient's and the JVP's)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="programs to check")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--backend", default=control_oracle.BACKEND, help="numpy or numba")
    opts = parser.parse_args(argv)
    control_oracle.BACKEND = opts.backend
    with tempfile.TemporaryDirectory() as directory:
        seeds = range(opts.seed, opts.seed + opts.count)
        summary = run_many(seeds, directory, progress=not opts.quiet, make=generate)
    print(summary.table())
    return 1 if summary.classes else 0


if __name__ == "__main__":
    sys.exit(main())
