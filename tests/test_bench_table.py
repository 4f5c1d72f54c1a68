"""benchmarks/bench_table.py --quick runs, and every row of its table gets a ratio or a refusal.

Not a timing test: the table's ok / MISS marks are printed, never asserted.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
ROWS = 9  # the rows of the table, numbered 1 to 9


def test_bench_table_quick():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_table.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    for number in range(1, ROWS + 1):
        row = [s for s in lines if re.match(rf"\s*{number} \S", s)]
        assert row, f"no row {number} in:\n{proc.stdout}"
        for s in row:
            assert re.search(r"\d\.\d\dx ", s) or "refused: " in s, s
    assert "geometric mean" in proc.stdout and "per-call overhead" in proc.stdout
