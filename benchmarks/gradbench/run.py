"""Play every eval's default workloads against a tool and write RESULTS.md.

    python benchmarks/gradbench/run.py                      # every eval (long: lstm, det, ba, ht)
    python benchmarks/gradbench/run.py --evals lse,llsq     # some evals; the others' results stay
    python benchmarks/gradbench/run.py --evals gmm --first 10 --min-seconds 0.2
    python benchmarks/gradbench/run.py --backend numba      # symgrad's tool, `--backend numba`
    python benchmarks/gradbench/run.py --tool jax --evals gmm,kmeans,lse,llsq,ode
    python benchmarks/gradbench/run.py --tool pytorch --python /tmp/venv-fw/bin/python ...
    python benchmarks/gradbench/run.py --tool jax --warm-up ...  # + one untimed call each

The tools: symgrad's (`tool.py`, on its NumPy or Numba backend) and the frameworks' tool
(`frameworks/tool.py --framework jax|pytorch`), run by `--python` (default: this Python). Each
eval's session goes through `fake_eval.play` with GradBench's defaults (min_runs 1, min_seconds
1, one thread) and is checked against the eval's references where they are affordable. Its
outcomes are kept in `results/<column>/<eval>.json` (column: numpy, numba, jax, pytorch, and
jax-warm or pytorch-warm for `--warm-up`, which is not GradBench's contract: the steady state);
RESULTS.md is rebuilt from every file there, a column per tool, beside the published totals
(GradBench nightly of 2026-03-14, seconds).
Score convention: per workload the mean primal time plus the mean derivative time, summed over
the workloads; for particle and saddle the fastest of the four functions' mean times.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from fake_eval import describe, load, play, workload_cases

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
EVALS = ["gmm", "lstm", "ba", "ht", "kmeans", "lse", "llsq", "ode", "det", "particle", "saddle"]
# published totals in seconds: manual, jax, pytorch, enzyme, and the fastest tool
PUBLISHED = {
    "gmm": (0.944, 0.368, 0.54, 2.09, "jax 0.368"),
    "lstm": (1.95, None, 75.4, 0.672, "codipack 0.547"),
    "ba": (2.1, None, None, 1.92, "enzyme 1.92"),
    "ht": (0.38, None, None, 1.94, "manual 0.38"),
    "kmeans": (0.215, 0.116, 1.91, 0.456, "jax 0.116"),
    "lse": (0.0302, 0.0321, 0.0184, 0.0436, "pytorch 0.0184"),
    "llsq": (0.0119, 0.0432, None, 0.0102, "enzyme 0.0102"),
    "ode": (0.0472, 0.0864, None, 0.137, "manual 0.0472"),
    "det": (4.95, None, None, 12.2, "ad-hpp 1.85"),
    "particle": (None, None, None, 0.00098, "enzyme 0.00098"),
    "saddle": (None, None, None, 0.00158, "ad-hpp 0.00157"),
}


# result columns: symgrad's two backends, then the frameworks measured here
COLUMNS = {
    "numpy": "symgrad NumPy",
    "numba": "symgrad Numba",
    "jax": "jax (this machine)",
    "jax-warm": "jax warmed up (this machine)",
    "pytorch": "pytorch (this machine)",
    "pytorch-warm": "pytorch warmed up (this machine)",
}
FRAMEWORKS = ("jax", "pytorch")


def tool_command(column: str, python: str = sys.executable) -> list[str]:
    """The command line of the tool behind a result column."""
    framework, _, warm = column.partition("-")
    if framework in FRAMEWORKS:
        command = [python, str(HERE / "frameworks" / "tool.py"), "--framework", framework]
        return command + ["--warm-up"] * bool(warm)
    return [python, str(HERE / "tool.py"), "--backend", column]


def _mean_s(timings: list[int]) -> float:
    return sum(timings) / len(timings) / 1e9


def _busy_seconds() -> tuple[float, float] | None:
    """(CPU seconds every process has used, those of this one and its finished children), or
    None where /proc/stat is missing: their differences over a session give the other
    processes' load, which slows a one-thread benchmark on a small machine."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(v) for v in stat.readline().split()[1:9]]
    except OSError:
        return None
    mine = os.times()
    own = mine.user + mine.system + mine.children_user + mine.children_system
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK"), own


def session(
    name: str,
    first: int | None,
    min_seconds: float,
    column: str = "numpy",
    python: str = sys.executable,
) -> dict:
    """Play one eval's default workloads; the per-workload means and checks as a JSON record."""
    workloads = load(name).workloads()[:first]
    cases = workload_cases(name, workloads)
    started, busy = time.perf_counter(), _busy_seconds()
    outcomes = play(
        name,
        cases,
        min_seconds=min_seconds,
        tool=tool_command(column, python),
        report=lambda o: print(describe(o), flush=True),
    )
    others = None
    if busy and (now := _busy_seconds()):
        load_s = (now[0] - busy[0]) - (now[1] - busy[1])
        others = round(max(0.0, load_s) / (time.perf_counter() - started), 2)
    rows: dict[str, dict] = {}
    for outcome in outcomes:
        row = rows.setdefault(outcome.case.description, {"functions": {}, "problems": []})
        row["functions"][outcome.case.function] = {
            "mean_s": _mean_s(outcome.timings) if outcome.success else None,
            "first_s": outcome.timings[0] / 1e9 if outcome.success else None,  # compiles, if any
            "runs": len(outcome.timings),
            "valid": outcome.valid if outcome.success else False,
        }
        row["problems"] += outcome.problems
    return {
        "eval": name,
        "functions": list(load(name).FUNCTIONS),
        "workloads": rows,
        "complete": first is None or first >= len(load(name).workloads()),
        "min_seconds": min_seconds,
        "date": datetime.date.today().isoformat(),
        "machine": machine(column, python),
        "others_cores": others,  # cores other processes kept busy, on average, meanwhile
    }


_VERSIONS = {
    "jax": "import jax, jaxlib; print(f'JAX {jax.__version__} (jaxlib {jaxlib.__version__})')",
    "pytorch": "import torch; print(f'PyTorch {torch.__version__}')",
}


def machine(column: str, python: str = sys.executable) -> str:
    threads = os.environ.get("OMP_NUM_THREADS", "1")
    where = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    framework, _, warm = column.partition("-")
    if framework in FRAMEWORKS:
        script = "import numpy, platform; print(platform.python_version(), numpy.__version__)"
        versions = [script, _VERSIONS[framework]]
        found = [subprocess.check_output([python, "-c", v], text=True).strip() for v in versions]
        (py, numpy_version), name = found[0].split(), found[1]
        warmed = ", one untimed call before the timed ones" if warm else ""
        return f"{where}, Python {py}, NumPy {numpy_version}, {name}, one thread{warmed}"
    return (
        f"{where}, Python {platform.python_version()}, NumPy {np.__version__}, "
        f"{threads} BLAS thread(s), symgrad's {COLUMNS[column].split()[1]} backend"
    )


def total(record: dict) -> float | None:
    """The score's inverse in seconds, or None when some call failed."""
    means = [
        [f["mean_s"] for f in row["functions"].values()] for row in record["workloads"].values()
    ]
    if any(m is None for row in means for m in row):
        return None
    if record["eval"] in ("particle", "saddle"):
        return min(m for row in means for m in row)
    return sum(sum(row) for row in means)


def _seconds(value) -> str:
    return "–" if value is None else f"{value:.3g}"


def _verdict(record: dict) -> str:
    checks = [f["valid"] for row in record["workloads"].values() for f in row["functions"].values()]
    if any(c is False for c in checks):
        return "INVALID"
    unchecked = sum(c is None for c in checks)
    return f"valid ({unchecked} of {len(checks)} unchecked)" if unchecked else "valid"


_SECTIONS = {
    "numpy": "NumPy backend",
    "numba": "Numba backend",
    "jax": "JAX (this machine)",
    "jax-warm": "JAX warmed up (this machine; not GradBench's contract)",
    "pytorch": "PyTorch (this machine)",
    "pytorch-warm": "PyTorch warmed up (this machine; not GradBench's contract)",
}
_PUBLISHED_HEAD = "manual (published) | jax (published) | pytorch (published) | enzyme (published)"


def markdown(records: dict[str, dict[str, dict]]) -> str:
    """The tables of RESULTS.md: `records[column][eval]` as `session` gave them."""
    columns = [c for c in COLUMNS if records.get(c)]
    head = " | ".join(f"{COLUMNS[c]} | checked" for c in columns)
    lines = [
        "# symgrad on GradBench",
        "",
        "Written by `python benchmarks/gradbench/run.py` (see its docstring). Totals in seconds",
        "in GradBench's score convention. The symgrad, jax and pytorch columns were measured on",
        "this machine through the same harness (`harness.py`: same protocol, same timing, one",
        "thread; JAX and PyTorch answer through `frameworks/tool.py`); the published figures",
        "are GradBench's nightly of 2026-03-14 (GitHub-hosted runners, not this machine).",
        "As in GradBench, every call is timed, the first included: JAX compiles each new shape",
        "inside its first timed call (each call also waits for its result, which GradBench's",
        'JAX tool does not). "warmed up" columns, where present, make one untimed call first',
        "(not GradBench's contract: the compiled steady state). Under each eval's table: how",
        "many cores other processes kept busy meanwhile (this machine has 2; the tools use 1).",
        "",
        f"| eval | {head} | {_PUBLISHED_HEAD} | fastest published |",
        "|---" * (6 + 2 * len(columns)) + "|",
    ]
    for name in EVALS:
        if not any(name in records[c] for c in columns):
            continue
        manual, jax, torch, enzyme, fastest = PUBLISHED[name]
        cells = [name]
        for b in columns:
            record = records[b].get(name)
            if record is None:
                cells += ["–", "–"]
                continue
            partial = "" if record["complete"] else " (partial)"
            cells += [_seconds(total(record)) + partial, _verdict(record)]
        cells += [_seconds(v) for v in (manual, jax, torch, enzyme)] + [fastest]
        lines.append("| " + " | ".join(cells) + " |")
    for c in columns:
        for record in records[c].values():
            lines += ["", f"## {record['eval']}, {_SECTIONS[c]}", ""]
            lines += [f"{record['date']}, {record['machine']}.", ""]
            if record.get("others_cores") is not None:
                lines[-1:-1] = [
                    f"Other processes kept {record['others_cores']:.2f} of the "
                    "machine's cores busy, on average, during the run.",
                ]
            lines += ["| workload | " + " | ".join(f"{f} ms" for f in record["functions"]) + " |"]
            lines.append("|---" * (len(record["functions"]) + 1) + "|")
            for description, row in record["workloads"].items():
                cells = []
                for function in record["functions"]:
                    f = row["functions"].get(function)
                    mark = "" if f and f["valid"] is not False else " ✗"
                    value = "failed" if not f or f["mean_s"] is None else f"{f['mean_s'] * 1e3:.4g}"
                    cells.append(value + mark)
                lines.append(f"| {description} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", default=",".join(EVALS))
    parser.add_argument("--first", type=int, help="only the first N workloads of each eval")
    parser.add_argument("--min-seconds", type=float, default=1.0)
    parser.add_argument("--tool", choices=("symgrad", *FRAMEWORKS), default="symgrad")
    parser.add_argument("--backend", choices=("numpy", "numba"), default="numpy")
    parser.add_argument("--python", default=sys.executable, help="the Python that runs the tool")
    parser.add_argument("--warm-up", action="store_true", help="frameworks: one untimed call")
    args = parser.parse_args(argv)
    column = args.backend if args.tool == "symgrad" else args.tool
    if args.warm_up:
        if args.tool == "symgrad":
            parser.error("--warm-up is for --tool jax or pytorch")
        column += "-warm"
    (RESULTS / column).mkdir(parents=True, exist_ok=True)
    for name in args.evals.split(","):
        record = session(name, args.first, args.min_seconds, column, args.python)
        (RESULTS / column / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
        print(f"{name}: total {_seconds(total(record))} s, {_verdict(record)}", flush=True)
    records = {
        c: {
            n: json.loads((RESULTS / c / f"{n}.json").read_text())
            for n in EVALS
            if (RESULTS / c / f"{n}.json").exists()
        }
        for c in COLUMNS
    }
    (HERE / "RESULTS.md").write_text(markdown(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
