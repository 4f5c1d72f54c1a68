"""saddle: a min-max point of (p0^2 + p1^2) - (q0^2 + q1^2) by nested gradient descent (§8.12).

One input, {"start": [1.0, 1.0]}, described "w=0", sent to rr, ff, fr and rf in that order
(GradBench's evals/saddle/run.py). Every function must answer four copies of
8.246324826140356e-06 ([p*, q*] from the shared descent, §8.13); GradBench's eval compares with
that constant alone (any answer within 1e-4 of zero passes), so the reference is the constant.
"""

FUNCTIONS = ("rr", "ff", "fr", "rf")
SUITE_FUNCTIONS = ("rr",)  # the test suite's share: each other mode takes seconds a call here
ANSWER = [8.246324826140356e-06] * 4
INPUT = {"start": [1.0, 1.0]}
EXAMPLES = [(function, INPUT, ANSWER) for function in FUNCTIONS]


def workloads():
    return [("w=0", {"start": list(INPUT["start"])})]


def small_workloads():
    return [("w=0", {"start": list(INPUT["start"])})]  # the eval has one input; it is small


def reference(function, input):
    return list(ANSWER) if input.get("start") == INPUT["start"] else None
