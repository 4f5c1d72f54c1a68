"""The GradBench protocol and timing contract, shared by symgrad's tool (`tool.py`) and the
frameworks' tool (`frameworks/tool.py`): both answer through `serve`, so both are timed alike.

The protocol (GradBench, summarised; SPEC §2-3): the eval writes one JSON object per line and
waits for one line back carrying the same `id`. `start` is answered with the tool's name;
`define` with whether the tool's module for that eval exists and imports; `evaluate` runs the
module's `FUNCTIONS[function]` on the converted input, timing each whole call with
`perf_counter_ns` until `min_runs` calls and `min_seconds` of timed calls are done, and answers
the last call's output and every timing; anything else (`analysis`) is answered with its id
alone. Input conversion (`prepare`) and output conversion (`output`) are not timed; everything
inside the call is, the first call included (one-off costs such as compilation on a new shape
are paid there, as in GradBench's own tools), unless the tool asks for a warm-up: one untimed
call before the timed ones (not GradBench's contract; `frameworks/tool.py --warm-up` offers it
to show JAX's compiled steady state apart). The tool exits when its input ends.

A tool's module per eval has `FUNCTIONS` (`{gradbench name: callable}`, the timed calls),
`prepare(function, input) -> tuple` (the callable's arguments) and `output(function, value)`
(the result as JSON).

Memory: `serve` asks glibc's malloc (where there is one) to keep freed memory for reuse instead
of handing blocks of 128 KiB and more back to the system as soon as they are freed. A gradient
keeps its forward pass's arrays (a loop's tape) until its backward pass has read them; returned
and fetched again on every call, their pages fault in anew each time, which tripled the time of
symgrad's llsq gradient. Caching allocators do the same for PyTorch and JAX; every tool served
here gets the same policy.

Only the answers go to stdout: anything a module prints goes to stderr, so a stray line can never
be taken as an answer. An exception inside a function is answered as `success: false` with its
message; outputs holding NaN or infinity (not JSON) are refused the same way.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import sys
import time
from collections.abc import Callable
from types import ModuleType

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (glibc's malloc.h)

Loader = Callable[[str], ModuleType]  # an eval's name -> the tool's module for it


def keep_freed_memory() -> None:
    """Have malloc serve blocks up to 32 MiB (its most) from the heap and trim the heap only
    past 1 GiB free, rather than return each freed block at once (see above)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)
    except (OSError, AttributeError):  # not glibc: its own policy stays
        pass


def timed_runs(call, args, input) -> tuple[object, list[int]]:
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


def evaluate(load: Loader, message: dict, warm_up: bool = False) -> dict:
    """The answer to an `evaluate` message (success or the error, never an exception)."""
    try:
        module = load(message["module"])
        function = message["function"]
        if function not in module.FUNCTIONS:
            raise KeyError(f"module {message['module']!r} has no function {function!r}")
        args = module.prepare(function, message["input"])
        call = module.FUNCTIONS[function]
        if warm_up:
            call(*args)  # untimed: compiles for this input's shapes
        result, timings = timed_runs(call, args, message["input"])
        output = module.output(function, result)
        json.dumps(output, allow_nan=False)  # NaN / infinity cannot travel: refuse them here
    except Exception as error:  # noqa: BLE001 - every failure is an answer, never a crash
        return {"success": False, "error": f"{type(error).__name__}: {error}"}
    timed = [{"name": "evaluate", "nanoseconds": int(t)} for t in timings]
    return {"success": True, "output": output, "timings": timed}


def define(load: Loader, message: dict) -> dict:
    try:
        load(message["module"])
    except ModuleNotFoundError as error:
        return {"success": False, "error": str(error)}
    return {"success": True}


def answer(tool: str, load: Loader, message: dict, warm_up: bool = False) -> dict:
    kind = message.get("kind")
    if kind == "start":
        body = {"tool": tool}
    elif kind == "define":
        body = define(load, message)
    elif kind == "evaluate":
        body = evaluate(load, message, warm_up)
    else:
        body = {}
    return {"id": message["id"], **body}


def serve(tool: str, load: Loader, warm_up: bool = False) -> None:
    """Answer the messages on stdin, one line each on stdout, until stdin ends (`warm_up`: one
    untimed call of each evaluate's function before the timed ones)."""
    keep_freed_memory()
    answers = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):  # modules' prints must not become answers
        for line in sys.stdin:
            if line.strip():
                message = json.loads(line)
                reply = json.dumps(answer(tool, load, message, warm_up), allow_nan=False)
                answers.write(reply + "\n")
                answers.flush()
