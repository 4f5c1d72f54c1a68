"""Rule-table examples: parsing them, sampling their inputs, and turning them into functions.

Contract: an example is `"<expression> | name: shape [domain], ..."` (statements may come before
the expression, separated by `;`), e.g.
`"np.sum(a, axis=1) | a: 3x4"`. A shape is `3x4`, `""` (0-d) or `f` (a Python float); a domain is
one of `DOMAINS` (default `real`). `example_function` compiles `def f(<names>): return <expr>`
from a source registered with linecache, so symgrad can read it like any user function.
"""

from __future__ import annotations

import itertools
import linecache
import math
from dataclasses import dataclass

import numpy as np

from symgrad.checks.factored import factored
from symgrad.rules import RULES

DOMAINS = {  # name: (low, high) of the uniform sample; special cases below
    "real": (-2.0, 2.0),
    "positive": (0.5, 2.0),
    "unit": (-0.8, 0.8),
    "above_one": (1.2, 3.0),  # arccosh's
    "nonzero": (0.5, 2.0),  # random sign
    "bool": (-1.0, 1.0),  # only compared, never differentiated
    "withzero": (-2.0, 2.0),  # every third entry exactly 0
    "invertible": (-0.5, 0.5),  # plus 3 I
    "probability": (0.05, 0.95),  # inside (0, 1): probabilities, targets
    "const": (-2.0, 2.0),  # an array input that is not differentiated (a shape, a saved value)
    "rational_svd": (0.5, 2.0),  # singular values: U diag(s) Vᵀ of rational factors (`factored`)
    "rational_qr": (0.5, 2.0),  # R's diagonal: Q R of rational factors (`factored`)
}
_COUNTER = itertools.count()


@dataclass(frozen=True)
class Input:
    name: str
    shape: str
    domain: str

    @property
    def dims(self) -> tuple[int, ...]:
        return () if self.shape in ("", "f") else tuple(int(d) for d in self.shape.split("x"))

    @property
    def differentiable(self) -> bool:
        return self.domain not in ("bool", "const")


def parse_example(example: str) -> tuple[str, list[Input]]:
    """'np.sum(a, axis=1) | a: 3x4, b: 4 positive' -> ('np.sum(a, axis=1)', [Input, ...])."""
    expr, _, spec = example.partition("|")
    inputs = []
    for item in spec.split(","):
        name, _, rest = item.partition(":")
        words = rest.split()
        shape = words.pop(0) if words and words[0] not in DOMAINS else ""
        inputs.append(Input(name.strip(), shape, words[0] if words else "real"))
    return expr.strip(), inputs


def sample(inp: Input, rng: np.random.Generator):
    """A float64 value for the input, in its domain (a Python float for shape 'f')."""
    low, high = DOMAINS[inp.domain]
    if inp.domain.startswith("rational_"):
        return factored(inp.domain.removeprefix("rational_"), inp.dims, rng, low, high)
    x = rng.uniform(low, high, inp.dims)
    if inp.domain == "invertible":
        x = x + 3 * np.eye(inp.dims[-1])
    elif inp.domain == "withzero" and x.size:
        x.reshape(-1)[::3] = 0.0
    elif inp.domain == "nonzero":
        x = x * rng.choice([-1.0, 1.0], inp.dims)
    return float(x) if inp.shape == "f" else x


def example_function(expr: str, inputs: list[Input]):
    """The function `def f(<inputs>): return <expr>`, with source symgrad can read. Statements
    may come first, separated by `;` (`y = a.copy(); y[1] = b; y`): the last part is returned."""
    filename = f"<symgrad example {next(_COUNTER)}>"
    *statements, value = (part.strip() for part in expr.split(";"))
    body = "".join(f"    {s}\n" for s in statements) + f"    return {value}\n"
    source = f"def f({', '.join(i.name for i in inputs)}):\n{body}"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {
        "np": np,
        "math": math,
        **{r.helper.__name__: r.helper for r in RULES.values() if r.helper},
    }
    exec(compile(source, filename, "exec"), namespace)
    return namespace["f"]
