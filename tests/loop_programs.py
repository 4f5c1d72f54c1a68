"""Random programs with loops whose steps are independent, for differential fuzzing of loop
vectorisation (`symgrad.passes.vectorise`) and of the correlations it leads to.

Contract: `generate(seed)` returns a `control_programs.Program` (deterministic for a seed): the
source of a module (`import numpy as np`, then `def f(x, y, w, A, v)`), the arguments (`x` and
`y` of shape (n,), `w` of shape (k,), `A` of shape (n, m), `v` of shape (m,), n, k, m small and
random) and the `argnums` to differentiate. `f` runs one `for i in range(start, stop, step)`
loop (static bounds, step 1 or 2) whose body reads `x[i + c]`, `y[i + c]`, `A[i + c]` and the
windows `x[i + c : i + c + k]`, `y[i + c : i + c + k]`, combines them elementwise (sin, tanh,
exp, cos, squares, products with `w` and `v`), sums windows, takes `A[i + c] @ v`, and gives
its results as entries `out[i + c] = ...` (also `out[i + c] = out[i + c] * ...` of an `out`
made from x), totals `acc = acc + ...` of numbers, and totals of windows `accv = accv + ...`.
Every read is in bounds. Sometimes, on purpose, a step reads the entry the step before wrote
(`out[i + c - 1]`), so its steps are not independent, or reads a slice whose length changes
from step to step (`x[i + c : n]`), and the loop must stay one. `f` returns a
smooth number made of the results, so central differences are an oracle; a program is kept
when Python runs it to a finite value of moderate size.
"""

from __future__ import annotations

import random

import numpy as np

from .control_programs import BOUND, Program

MAX_DEPTH = 3


class _Gen:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.count = rng.randint(2, 5)
        self.start, self.step = rng.randint(0, 2), rng.choice([1, 1, 1, 2])
        self.last = self.start + (self.count - 1) * self.step
        self.k, self.m = rng.randint(1, 4), rng.randint(2, 3)
        self.n = self.last + self.k + rng.randint(1, 3)

    def offset(self, length: int) -> int:
        """c with i + c + length - 1 inside [0, n) for every i of the range."""
        return self.rng.randint(-self.start, self.n - length - self.last)

    @staticmethod
    def at(c: int) -> str:
        return "i" if c == 0 else f"i + {c}" if c > 0 else f"i - {-c}"

    def number(self, depth: int = 0) -> str:
        r = self.rng
        leaf = depth >= MAX_DEPTH or r.random() < 0.3
        if leaf and r.random() < 0.03:  # a length that changes from step to step: a loop
            return f"np.sum(np.sin({r.choice('xy')}[{self.at(self.offset(1))} : {self.n}]))"
        if leaf:
            return r.choice(
                [
                    lambda: f"{r.choice('xy')}[{self.at(self.offset(1))}]",
                    lambda: f"{r.choice('xy')}[{self.at(self.offset(1))}]",
                    lambda: f"np.sum({self.window(depth + 1)} * w)",
                    lambda: f"np.sum({self.window(depth + 1)})",
                    lambda: f"A[{self.at(self.offset(1))}] @ v",
                ]
            )()
        a = self.number(depth + 1)
        return r.choice(
            [
                lambda: f"({a} + {self.number(depth + 1)})",
                lambda: f"({a} - {self.number(depth + 1)})",
                lambda: f"{a} * {self.number(depth + 1)}",
                lambda: f"np.sin({a})",
                lambda: f"np.tanh({a})",
                lambda: f"np.exp(0.5 * {a})",
                lambda: f"{a} ** 2",
                lambda: f"{r.choice(['2.0', '0.5', '-1.5'])} * {a}",
            ]
        )()

    def window(self, depth: int = 0) -> str:
        r = self.rng
        c = self.offset(self.k)
        read = f"{r.choice('xy')}[{self.at(c)} : {self.at(c + self.k)}]"
        if depth >= MAX_DEPTH or r.random() < 0.4:
            return read
        return r.choice(
            [
                lambda: f"np.cos({read})",
                lambda: f"{read} * w",
                lambda: f"({read} + {self.number(depth + 1)})",
                lambda: f"{read} * {self.window(depth + 1)}",
                lambda: f"np.tanh({read}) ** 2",
            ]
        )()

    def program(self) -> str:
        r = self.rng
        init, body, result = [], [], []
        for j in range(r.randint(0, 2)):  # temporaries of the step
            body.append(f"t{j} = {self.number()}")
        temps = [f"t{j}" for j in range(len(body))]

        def term() -> str:
            return r.choice(temps) if temps and r.random() < 0.5 else self.number()

        kinds = r.sample(["out", "scaled", "acc", "accv"], r.randint(1, 2))
        if "out" in kinds or "scaled" in kinds:
            c = self.offset(1)
            if "scaled" in kinds:
                init.append("out = 0.5 * x")
                body.append(f"out[{self.at(c)}] = out[{self.at(c)}] * {term()}")
            else:
                init.append(f"out = np.zeros({self.n})")
                body.append(f"out[{self.at(c)}] = {term()}")
            if r.random() < 0.15 and c - 1 >= -self.start:  # a step reading the last one's
                body.append(f"out[{self.at(c)}] = out[{self.at(c)}] + out[{self.at(c - 1)}]")
            result.append("np.sum(np.sin(out) * out)")
        if "acc" in kinds:
            init.append("acc = 0.0")
            body.append(f"acc = acc {r.choice('+-')} {term()}")
            result.append("acc * acc")
        if "accv" in kinds:
            init.append(f"accv = np.zeros({self.k})")
            body.append(f"accv = accv + {self.window()}")
            result.append("np.sum(accv ** 2)")
        bounds = f"{self.start}, {self.last + 1}" + (f", {self.step}" if self.step != 1 else "")
        lines = ["import numpy as np", "", "", "def f(x, y, w, A, v):"]
        lines += [f"    {s}" for s in init]
        lines += [f"    for i in range({bounds}):"] + [f"        {s}" for s in body]
        lines += [f"    return {' + '.join(result)}", ""]
        return "\n".join(lines)

    def arguments(self) -> tuple:
        nprng = np.random.default_rng(self.rng.randrange(2**32))
        shapes = [(self.n,), (self.n,), (self.k,), (self.n, self.m), (self.m,)]
        return tuple(np.round(nprng.uniform(-1.0, 1.0, s), 3) for s in shapes)


def generate(seed: int, max_tries: int = 200) -> Program:
    """A random admissible program, the same for the same seed."""
    rng = random.Random(seed)
    for _ in range(max_tries):
        gen = _Gen(rng)
        source, args = gen.program(), gen.arguments()
        argnums = rng.choice([(0, 1, 2, 3, 4)] * 3 + [(0,), (2,), (3, 4), (0, 2)])
        program = Program(seed, source, args, argnums)
        if _admissible(program):
            return program
    raise RuntimeError(f"no admissible program for seed {seed} in {max_tries} tries")


def _admissible(program: Program) -> bool:
    scope: dict = {}
    exec(compile(program.source, "<loop program>", "exec"), scope)
    with np.errstate(all="ignore"):
        value = scope["f"](*program.copies())
    return np.ndim(value) == 0 and bool(np.isfinite(value)) and abs(value) < BOUND
