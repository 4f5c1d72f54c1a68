"""A GradBench tool for JAX or PyTorch, measured by the same harness as symgrad's tool.

    python benchmarks/gradbench/frameworks/tool.py --framework jax|pytorch [--multithreaded]
                                                   [--warm-up]

It speaks the protocol and keeps the timing contract of `../harness.py`, the code that serves
symgrad's `tool.py`, so both are measured alike on the same machine: `define` imports
`<framework>_objectives/<module>.py`; `evaluate` converts the input to the framework's arrays
(untimed), times whole calls with `perf_counter_ns` until `min_runs` and `min_seconds`, and
converts the last result to JSON (untimed). The objectives are written from SPEC §8 as each
framework's users write them; every derivative comes from the framework's AD.

What is timed, per framework (SPEC §2-3 and §10 say what GradBench's own tools time):
- jax: each function is `jax.jit` of the objective or of its `jax.grad`/`jax.jvp`, created
  when the module is imported (at `define`). jit compiles on the first call of each shape, and
  that first call is timed, as in GradBench's JAX tool (SPEC §3: "the first run is timed like
  the others, ... JIT compilation ... included"; §10: "its first run includes JIT
  compilation"); nothing is warmed up outside the timed calls. Unlike GradBench's tool, each
  timed call waits for its result (`jax.block_until_ready`), so asynchronous dispatch cannot
  leave work outside the clock. Inputs are on the device before the clock starts.
  `--warm-up` (not GradBench's contract) makes one untimed call before the timed ones, so that
  the times are the compiled steady state; `run.py --warm-up` keeps those results apart.
- pytorch: eager PyTorch; each derivative call builds its autograd graph and runs
  `torch.autograd.grad`, all timed, as GradBench's PyTorch tool does.

One thread unless `--multithreaded` (GradBench's convention): BLAS/OpenMP limited to one thread
before the framework is imported; for JAX, `XLA_FLAGS=--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1` and the process pinned to one CPU (as GradBench's JAX tool pins
itself to CPU 0: XLA sizes its thread pool from the CPUs the process may use, and no flag of
jaxlib 0.10 lowers it); for PyTorch, `torch.set_num_threads(1)` and
`torch.set_num_interop_threads(1)`. float64 everywhere (`jax_enable_x64`; PyTorch's default
dtype).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FRAMEWORKS = ("jax", "pytorch")


def configure(framework: str, multithreaded: bool) -> None:
    """Thread limits and float64, set before the framework's first import."""
    if not multithreaded:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
    if framework == "jax":
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        if not multithreaded:
            flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
            os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()
            if hasattr(os, "sched_setaffinity"):
                os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        import jax

        jax.config.update("jax_enable_x64", True)
    else:
        import torch

        if not multithreaded:
            torch.set_num_threads(1)
            torch.set_num_interop_threads(1)
        torch.set_default_dtype(torch.float64)


def loader(framework: str):
    """The eval's name -> `<framework>_objectives.<name>` (ModuleNotFoundError if none)."""

    def load(name: str):
        if not name.isidentifier() or name.startswith("_"):
            raise ModuleNotFoundError(f"no GradBench module {name!r}")
        return importlib.import_module(f"{framework}_objectives.{name}")

    return load


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", choices=FRAMEWORKS, required=True)
    parser.add_argument("--multithreaded", action="store_true")
    parser.add_argument("--warm-up", action="store_true", help="one untimed call first")
    args = parser.parse_args(argv)
    configure(args.framework, args.multithreaded)
    sys.path[:0] = [str(HERE), str(HERE.parent)]  # <framework>_objectives, then harness
    from harness import serve

    serve(args.framework, loader(args.framework), warm_up=args.warm_up)


if __name__ == "__main__":
    main()
