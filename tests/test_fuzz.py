"""Differential fuzzing: random NumPy programs from the rule table, symgrad against central
differences (`symgrad.check_grads`, float64, its own tolerances).

The normal suite checks a fixed (derandomized) set of programs; `pytest tests/test_fuzz.py --fuzz N`
checks N fresh random ones (`--fuzz-backend numba`: on the Numba backend). A failure shows the
program's source, arguments and argnums.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

import symgrad

from .strategies import Program, programs

BOUNDED = 300  # programs in the normal suite (about 4 s)


def check(program: Program, backend: str = "numpy") -> None:
    try:
        symgrad.check_grads(program.f, program.args, program.argnums, backend=backend)
    except Exception as e:
        raise AssertionError(f"{type(e).__name__}: {e}\n--- program ---\n{program!r}") from e


def test_random_programs_match_central_differences(request):
    n = request.config.getoption("--fuzz")
    fuzz = settings(
        max_examples=n or BOUNDED,
        derandomize=not n,
        deadline=None,
        database=None,
        print_blob=bool(n),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    backend = request.config.getoption("--fuzz-backend")
    fuzz(given(programs())(lambda program: check(program, backend)))()
