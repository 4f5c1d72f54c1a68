"""hello: square and double (its derivative), each input the previous answer."""

FUNCTIONS = ("square", "double")
_SENT = [("square", 1.0), ("double", 1.0), ("square", 2.0), ("double", 4.0)]
_SENT += [("square", 8.0), ("double", 64.0), ("square", 128.0), ("double", 16384.0)]
EXAMPLES = [(f, x, x * x if f == "square" else 2 * x) for f, x in _SENT]


def workloads():
    return []


def small_workloads():
    return []


def reference(function, input):
    return input * input if function == "square" else 2 * input
