"""A fake GradBench eval: drives a tool over real pipes and checks its answers.

    python benchmarks/gradbench/fake_eval.py lse --small       # tiny inputs and the spec's examples
    python benchmarks/gradbench/fake_eval.py lse               # the default workloads
    python benchmarks/gradbench/fake_eval.py lse --min-seconds 1 --tool "python other_tool.py"

It speaks for `evals/<eval>.py` (workloads, worked examples, references written from the spec,
independent of symgrad): `start`, `define`, then per workload one `evaluate` per function and an
`analysis` of each successful answer, with consecutive ids from 0, as GradBench's evals do. Each
answer is held to the protocol (same id, strict JSON, integer timings, at least `min_runs` runs
and `min_seconds` of timed runs, no `error` beside `success: true`) and its output to the
reference with GradBench's comparison rule (`mismatches`). The exit status is 0 when every
answer is valid.
"""

from __future__ import annotations

import argparse
import importlib
import json
import queue
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TOOL = [sys.executable, str(HERE / "tool.py")]
TIMEOUT = 600.0  # seconds a tool has for each message, as GradBench's nightly runs allow
sys.path.insert(0, str(HERE))


def mismatches(expected, actual, path: str = "") -> list[str]:
    """Where actual differs from expected under GradBench's rule (floats: relative 1e-4)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        same = type(expected) is type(actual) and expected == actual
        return [] if same else [f"{path or '.'}: expected {expected!r}, got {actual!r}"]
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        if isinstance(expected, int) and isinstance(actual, int):
            return [] if expected == actual else [f"{path or '.'}: {expected} != {actual}"]
        x, y = float(expected), float(actual)
        if abs(x - y) / max(1.0, abs(x) + abs(y)) > 1e-4:
            return [f"{path or '.'}: expected {x!r}, got {y!r}"]
        return []
    if type(expected) is not type(actual):
        kinds = f"{type(expected).__name__} vs {type(actual).__name__}"
        return [f"{path or '.'}: expected a {kinds}"]
    if isinstance(expected, dict):
        if expected.keys() != actual.keys():
            return [f"{path or '.'}: keys {sorted(expected)} != {sorted(actual)}"]
        return [m for k in expected for m in mismatches(expected[k], actual[k], f"{path}.{k}")]
    if isinstance(expected, list):
        if len(expected) != len(actual):
            return [f"{path or '.'}: length {len(expected)} != {len(actual)}"]
        pairs = zip(expected, actual)
        return [m for i, (e, a) in enumerate(pairs) for m in mismatches(e, a, f"{path}[{i}]")]
    return [] if expected == actual else [f"{path or '.'}: expected {expected!r}, got {actual!r}"]


def _strict(text: str):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@dataclass
class Case:
    """One evaluate message: a function of the eval on an input, with the answer to expect."""

    function: str
    input: object
    description: str | None = None
    expected: object = None  # None: ask the eval's reference


@dataclass
class Outcome:
    case: Case
    success: bool
    valid: bool | None = None  # None: no reference to check against
    problems: list[str] = field(default_factory=list)
    timings: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.success and self.valid is not False and not self.problems


class ToolProcess:
    """The tool behind a pipe pair; `ask` sends one message and returns its one answer."""

    def __init__(self, command: list[str], timeout: float = TIMEOUT):
        self.timeout = timeout
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=HERE.parents[1]
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.next_id = 0

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put("")

    def ask(self, kind: str, **fields) -> dict:
        message = {"id": self.next_id, "kind": kind, **fields}
        self.next_id += 1
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        try:
            line = self.lines.get(timeout=self.timeout)
        except queue.Empty:
            raise TimeoutError(f"no answer to {kind} within {self.timeout:g} s") from None
        if not line:
            raise EOFError(f"the tool exited without answering {kind}")
        reply = _strict(line)
        if reply.get("id") != message["id"]:
            raise ValueError(f"answer to id {message['id']} carries id {reply.get('id')}")
        return reply

    def close(self) -> int:
        """End the input; the tool must exit cleanly and must have written nothing more."""
        self.process.stdin.close()
        try:
            status = self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        stray = "".join(iter(lambda: self.lines.get(timeout=5), ""))
        if stray:
            raise ValueError(f"the tool wrote more than its answers: {stray[:200]!r}")
        return status


def directional(loss, theta, gradient, eps: float = 1e-6) -> list[str]:
    """Mismatches of `gradient` at theta with central differences of `loss` (a batch of
    parameter vectors -> their values) along three random unit directions: beyond 1e-7 of the
    gradient's norm and ten times the differences' rounding error (float64)."""
    rng = np.random.default_rng(0)
    v = rng.standard_normal((3, theta.size))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    values = loss(np.concatenate((theta + eps * v, theta - eps * v)))
    want = (values[:3] - values[3:]) / (2 * eps)
    got = v @ gradient
    tolerance = 1e-7 * np.linalg.norm(gradient) + 10 * 2.2e-16 * np.max(np.abs(values)) / eps
    return [
        f"direction {k}: {got[k]!r} against {want[k]!r} by central differences"
        for k in range(3)
        if abs(got[k] - want[k]) > tolerance
    ]


def load(name: str):
    return importlib.import_module(f"evals.{name}")


def _protocol_problems(reply: dict, min_runs: int, min_seconds: float) -> list[str]:
    if reply.get("success") is True and ("error" in reply or "output" not in reply):
        return ["success carries an error or no output"]
    timings = [t for t in reply.get("timings", []) if t.get("name") == "evaluate"]
    ns = [t.get("nanoseconds") for t in timings]
    if any(not isinstance(t, int) or isinstance(t, bool) or t < 0 for t in ns):
        return [f"timings are not non-negative integers: {ns[:5]}"]
    if len(ns) < min_runs or sum(ns) < min_seconds * 1e9:
        return [f"{len(ns)} runs and {sum(ns) / 1e9:.3g} s timed: below min_runs/min_seconds"]
    return []


def play(
    name: str,
    cases: list[Case],
    *,
    min_runs: int = 1,
    min_seconds: float = 0.0,
    tool: list[str] = TOOL,
    timeout: float = TIMEOUT,
    report=None,
) -> list[Outcome]:
    """Run one session of eval `name` against the tool; every case's outcome, in order."""
    module = load(name)
    tool_process = ToolProcess(tool, timeout)
    outcomes: list[Outcome] = []
    try:
        tool_process.ask("start", eval=name)
        defined = tool_process.ask("define", module=name)
        if not defined.get("success"):
            raise RuntimeError(f"the tool does not define {name}: {defined.get('error')}")
        for case in cases:
            payload = case.input
            if isinstance(payload, dict):
                payload = {**payload, "min_runs": min_runs, "min_seconds": min_seconds}
            fields = {"module": name, "function": case.function, "input": payload}
            if case.description is not None:
                fields["description"] = case.description
            evaluate_id = tool_process.next_id
            reply = tool_process.ask("evaluate", **fields)
            outcome = Outcome(case, bool(reply.get("success")))
            outcome.problems = _protocol_problems(reply, min_runs, min_seconds)
            outcome.timings = [t["nanoseconds"] for t in reply.get("timings", [])]
            if outcome.success:
                expected = case.expected
                if expected is None:
                    expected = module.reference(case.function, case.input)
                found = None
                if expected is not None:
                    found = mismatches(expected, reply["output"])
                elif hasattr(module, "check"):  # (too large for a reference: a cheaper oracle)
                    found = module.check(case.function, case.input, reply["output"])
                if found is not None:
                    outcome.valid = not found
                    outcome.problems += found[:10]
                analysis = {"of": evaluate_id, "valid": outcome.valid is not False}
                if outcome.valid is False:
                    analysis["error"] = f"{len(found)} mismatches: " + "; ".join(found[:10])
                tool_process.ask("analysis", **analysis)
            else:
                outcome.problems.append(f"failed: {reply.get('error')}")
            outcomes.append(outcome)
            if report:
                report(outcome)
    finally:
        status = tool_process.close()
    if status != 0:
        raise RuntimeError(f"the tool exited with status {status}")
    return outcomes


def workload_cases(name: str, workloads) -> list[Case]:
    functions = load(name).FUNCTIONS
    return [Case(f, data, description) for description, data in workloads for f in functions]


def small_cases(name: str) -> list[Case]:
    """The spec's worked examples, then the eval's tiny workloads."""
    module = load(name)
    examples = [Case(f, data, None, expected) for f, data, expected in module.EXAMPLES]
    return examples + workload_cases(name, module.small_workloads())


def describe(outcome: Outcome) -> str:
    case = outcome.case
    label = f"{case.function} {case.description or '(example)'}"
    mark = "ok" if outcome.ok else "FAIL"
    if outcome.ok and outcome.valid is None:
        mark = "ok (unchecked)"
    mean = sum(outcome.timings) / len(outcome.timings) / 1e6 if outcome.timings else float("nan")
    lines = [f"{mark:>14}  {label:<40} {mean:10.3f} ms x {len(outcome.timings)}"]
    return "\n".join(lines + [f"{'':16}{p}" for p in outcome.problems])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eval")
    parser.add_argument("--small", action="store_true", help="the examples and tiny inputs")
    parser.add_argument("--min-runs", type=int, default=1)
    parser.add_argument("--min-seconds", type=float, default=0.0)
    parser.add_argument("--tool", help="the tool's command line (default: symgrad's tool.py)")
    args = parser.parse_args(argv)
    cases = (
        small_cases(args.eval)
        if args.small
        else workload_cases(args.eval, load(args.eval).workloads())
    )
    tool = shlex.split(args.tool) if args.tool else TOOL
    started = time.perf_counter()
    outcomes = play(
        args.eval,
        cases,
        min_runs=args.min_runs,
        min_seconds=args.min_seconds,
        tool=tool,
        report=lambda o: print(describe(o), flush=True),
    )
    failed = sum(not o.ok for o in outcomes)
    print(f"{len(outcomes) - failed}/{len(outcomes)} ok in {time.perf_counter() - started:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
