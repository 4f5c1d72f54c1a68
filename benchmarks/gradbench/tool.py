"""symgrad's GradBench tool: answers an eval's JSON-lines messages on stdin, one line each.

    python benchmarks/gradbench/tool.py [--multithreaded] [--backend numba]

The protocol, the timing contract and the memory policy are `harness.py`'s (shared with the
frameworks' tool, `frameworks/tool.py`): `define` imports `objectives/<module>.py`; `evaluate`
converts the input (untimed), times whole calls of `FUNCTIONS[function]` with `perf_counter_ns`
until `min_runs` and `min_seconds`, and converts the last result (untimed). The objectives
compile their derivatives for a small shape on import (at `define`, not timed); a new shape is
specialised on its first call, which is timed.

One thread unless `--multithreaded` (GradBench's convention): BLAS is limited to one thread
before NumPy is imported. `--backend numba` has the objectives' derivatives use symgrad's Numba
backend (`objectives/backend.py`); the default is NumPy's.
"""

from __future__ import annotations

import os
import sys

if "--multithreaded" not in sys.argv:  # GradBench's convention: one thread unless asked
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")
if "--backend" in sys.argv:  # read by objectives/backend.py, before any objective imports
    os.environ["SYMGRAD_GRADBENCH_BACKEND"] = sys.argv[sys.argv.index("--backend") + 1]

import importlib  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import serve  # noqa: E402


def _module(name: str):
    if not name.isidentifier():
        raise ModuleNotFoundError(f"no GradBench module {name!r}")
    return importlib.import_module(f"objectives.{name}")


def main() -> None:
    serve("symgrad", _module)


if __name__ == "__main__":
    main()
