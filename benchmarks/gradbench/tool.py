"""symgrad's GradBench tool: answers an eval's JSON-lines messages on stdin, one line each.

    python benchmarks/gradbench/tool.py [--multithreaded] [--backend numba]

The protocol (GradBench, summarised): the eval writes one JSON object per line and waits for one
line back carrying the same `id`. `start` is answered with the tool's name; `define` with whether
`objectives/<module>.py` exists and imports; `evaluate` runs `FUNCTIONS[function]` of that module
on the converted input, timing each whole call with `perf_counter_ns` until `min_runs` calls and
`min_seconds` of timed calls are done, and answers the last call's output and every timing;
anything else (`analysis`) is answered with its id alone. Input conversion and output conversion
are not timed. The tool exits when its input ends. `--backend numba` has the objectives'
derivatives use symgrad's Numba backend (`objectives/backend.py`); the default is NumPy's.

Memory: the tool asks glibc's malloc (where there is one) to keep freed memory for reuse instead
of handing blocks of 128 KiB and more back to the system as soon as they are freed. A gradient
keeps its forward pass's arrays (a loop's tape) until its backward pass has read them; returned
and fetched again on every call, their pages fault in anew each time, which tripled the time of
llsq's gradient. Caching allocators do the same for PyTorch and JAX.

Only the answers go to stdout: anything a module prints goes to stderr, so a stray line can never
be taken as an answer. An exception inside a function is answered as `success: false` with its
message; outputs holding NaN or infinity (not JSON) are refused the same way.
"""

from __future__ import annotations

import os
import sys

if "--multithreaded" not in sys.argv:  # GradBench's convention: one thread unless asked
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")
if "--backend" in sys.argv:  # read by objectives/backend.py, before any objective imports
    os.environ["SYMGRAD_GRADBENCH_BACKEND"] = sys.argv[sys.argv.index("--backend") + 1]

import contextlib  # noqa: E402
import ctypes  # noqa: E402
import ctypes.util  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (glibc's malloc.h)


def keep_freed_memory() -> None:
    """Have malloc serve blocks up to 32 MiB (its most) from the heap and trim the heap only
    past 1 GiB free, rather than return each freed block at once (see above)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)
    except (OSError, AttributeError):  # not glibc: its own policy stays
        pass


def _module(name: str):
    if not name.isidentifier():
        raise ModuleNotFoundError(f"no GradBench module {name!r}")
    return importlib.import_module(f"objectives.{name}")


def _timed_runs(call, args, input) -> tuple[object, list[int]]:
    """Call call(*args) until min_runs calls and min_seconds of timed calls: (last result, ns)."""
    min_runs, min_seconds = 1, 0.0
    if isinstance(input, dict):
        min_runs = int(input.get("min_runs", 1))
        min_seconds = float(input.get("min_seconds", 0.0))
    timings: list[int] = []
    total = 0
    while len(timings) < min_runs or total < min_seconds * 1e9:
        start = time.perf_counter_ns()
        result = call(*args)
        elapsed = time.perf_counter_ns() - start
        timings.append(elapsed)
        total += elapsed
    return result, timings


def evaluate(message: dict) -> dict:
    """The answer to an `evaluate` message (success or the error, never an exception)."""
    try:
        module = _module(message["module"])
        function = message["function"]
        if function not in module.FUNCTIONS:
            raise KeyError(f"module {message['module']!r} has no function {function!r}")
        args = module.prepare(function, message["input"])
        result, timings = _timed_runs(module.FUNCTIONS[function], args, message["input"])
        output = module.output(function, result)
        json.dumps(output, allow_nan=False)  # NaN / infinity cannot travel: refuse them here
    except Exception as error:  # noqa: BLE001 - every failure is an answer, never a crash
        return {"success": False, "error": f"{type(error).__name__}: {error}"}
    timed = [{"name": "evaluate", "nanoseconds": int(t)} for t in timings]
    return {"success": True, "output": output, "timings": timed}


def define(message: dict) -> dict:
    try:
        _module(message["module"])
    except ModuleNotFoundError as error:
        return {"success": False, "error": str(error)}
    return {"success": True}


def answer(message: dict) -> dict:
    kind = message.get("kind")
    if kind == "start":
        body = {"tool": "symgrad"}
    elif kind == "define":
        body = define(message)
    elif kind == "evaluate":
        body = evaluate(message)
    else:
        body = {}
    return {"id": message["id"], **body}


def main() -> None:
    keep_freed_memory()
    answers = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):  # modules' prints must not become answers
        for line in sys.stdin:
            if line.strip():
                reply = json.dumps(answer(json.loads(line)), allow_nan=False)
                answers.write(reply + "\n")
                answers.flush()


if __name__ == "__main__":
    main()
