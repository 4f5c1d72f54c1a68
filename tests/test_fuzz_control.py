"""Differential fuzzing of whole programs with control flow and aliasing (control_programs.py):
loops, `while`, `break`/`continue`, `if`/`elif`/`else` on data, lists built in loops, element
assignment, aliases and helpers that change their argument. Each program's value and derivatives
(reverse and forward mode) must match Python and central differences, or symgrad must refuse it
with a located error.

The normal suite checks seeds 0..BOUNDED-1 (one test per seed, so a failure names its seed).
Opt-in long mode: `pytest tests/test_fuzz_control.py --fuzz-long N` or `SYMGRAD_FUZZ_LONG=N`
checks N programs from fresh seeds (`SYMGRAD_FUZZ_SEED=S` starts at S) and prints a summary.
Standalone, with a table of failure classes and the smallest (shrunk) reproducer of each:

    python -m tests.test_fuzz_control --count 20000 --seed 1000 [--backend numba]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import pytest

from . import control_oracle
from .control_campaign import run_many
from .control_oracle import check_program
from .control_programs import generate

BOUNDED = 100  # programs in the normal suite (about 12 s)


@pytest.mark.parametrize("seed", range(BOUNDED))
def test_control_program(seed, tmp_path):
    check_program(generate(seed), tmp_path)


def _long_count(config) -> int:
    return config.getoption("--fuzz-long") or int(os.environ.get("SYMGRAD_FUZZ_LONG") or 0)


def test_control_programs_long(request, tmp_path):
    n = _long_count(request.config)
    if not n:
        pytest.skip("opt-in: --fuzz-long N or SYMGRAD_FUZZ_LONG=N")
    start = int(os.environ.get("SYMGRAD_FUZZ_SEED") or int.from_bytes(os.urandom(3)) * 1000)
    summary = run_many(range(start, start + n), tmp_path, shrink_failures=True)
    report = f"seeds {start}..{start + n - 1}\n{summary.table()}"
    print(report)
    assert not summary.classes, report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="programs to check")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--no-shrink", action="store_true", help="do not shrink reproducers")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--backend", default=control_oracle.BACKEND, help="numpy or numba")
    opts = parser.parse_args(argv)
    control_oracle.BACKEND = opts.backend
    with tempfile.TemporaryDirectory(prefix="symgrad_fuzz_control_") as directory:
        summary = run_many(
            range(opts.seed, opts.seed + opts.count),
            directory,
            shrink_failures=not opts.no_shrink,
            progress=not opts.quiet,
        )
        print(f"seeds {opts.seed}..{opts.seed + opts.count - 1}")
        print(summary.table())
    return 1 if summary.classes else 0


if __name__ == "__main__":
    sys.exit(main())
