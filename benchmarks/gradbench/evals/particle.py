"""particle: argmin_w of a charged particle's squared crossing point, by nested AD (spec §8.11).

One input, {"w": 0.0}, described "w=0", sent to rr, ff, fr and rf in that order (GradBench's
evals/particle/run.py). Every function must answer the constant 0.2071918746486116, the
minimiser found by the shared gradient descent (§8.13) from w = 0; GradBench's eval compares
with that constant alone, so the reference is the constant too.
"""

FUNCTIONS = ("rr", "ff", "fr", "rf")
SUITE_FUNCTIONS = ("rr",)  # the test suite's share: each other mode takes seconds a call here
ANSWER = 0.2071918746486116
INPUT = {"w": 0.0}
EXAMPLES = [(function, INPUT, ANSWER) for function in FUNCTIONS]


def workloads():
    return [("w=0", dict(INPUT))]


def small_workloads():
    return [("w=0", dict(INPUT))]  # the eval has one input; it is small


def reference(function, input):
    return ANSWER if input.get("w") == 0.0 else None
