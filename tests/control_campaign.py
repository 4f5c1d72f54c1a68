"""Fuzzing campaigns over control_programs.py's programs: `run_many(seeds, directory)` classifies
each program (control_oracle.py) and summarises the outcomes by failure class; `shrink` reduces a
failing program while it keeps its failure class.
"""

from __future__ import annotations

import ast
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from .control_oracle import Outcome, classify
from .control_programs import Program, admissible, generate

# shrinking -----------------------------------------------------------------------------------


def _candidates(source: str):
    """Smaller variants of source: one statement removed, a compound statement replaced by a
    body, an else dropped, an expression replaced by an operand."""
    tree = ast.parse(source)
    bodies = []
    for node in ast.walk(tree):
        for attr in ("body", "orelse"):
            body = getattr(node, attr, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                bodies.append((node, attr))
    for node_index in range(len(bodies)):
        node, attr = bodies[node_index]
        for k in range(len(getattr(node, attr))):
            for variant in ("drop", "hoist", "else", "noelse"):
                t = ast.parse(source)
                tb = [
                    (n, a)
                    for n in ast.walk(t)
                    for a in ("body", "orelse")
                    if isinstance(getattr(n, a, None), list)
                    and getattr(n, a)
                    and isinstance(getattr(n, a)[0], ast.stmt)
                ]
                tnode, tattr = tb[node_index]
                body = getattr(tnode, tattr)
                stmt = body[k]
                if variant == "drop":
                    new = []
                elif variant == "hoist" and isinstance(stmt, (ast.If, ast.For, ast.While)):
                    new = stmt.body
                elif variant == "else" and isinstance(stmt, ast.If) and stmt.orelse:
                    new = stmt.orelse
                elif variant == "noelse" and isinstance(stmt, ast.If) and stmt.orelse:
                    stmt.orelse = []
                    new = [stmt]
                else:
                    continue
                body[k : k + 1] = new
                if not body and tattr == "body":
                    body.append(ast.Pass())
                yield ast.unparse(t)
    # expressions: an operand instead of a binary operation or a one-argument call
    n_expr = sum(1 for n in ast.walk(tree) if isinstance(n, (ast.BinOp, ast.Call, ast.IfExp)))
    for idx in range(n_expr):
        for side in (0, 1):
            t = ast.parse(source)
            nodes = [n for n in ast.walk(t) if isinstance(n, (ast.BinOp, ast.Call, ast.IfExp))]
            target = nodes[idx]
            if isinstance(target, ast.BinOp):
                repl = target.left if side == 0 else target.right
            elif isinstance(target, ast.IfExp):
                repl = target.body if side == 0 else target.orelse
            elif len(target.args) == 1 and side == 0 and not target.keywords:
                repl = target.args[0]
            else:
                continue
            _Replace(target, repl).visit(t)
            yield ast.unparse(t)


class _Replace(ast.NodeTransformer):
    def __init__(self, old, new):
        self.old, self.new = old, new

    def generic_visit(self, node):
        if node is self.old:
            return self.new
        return super().generic_visit(node)

    def visit(self, node):
        if node is self.old:
            return self.new
        return super().visit(node)


def shrink(program: Program, key: str, directory, budget: int = 400) -> Program:
    """A smaller admissible program with the same failure class (greedy, bounded)."""
    best = program
    tried = 0
    improved = True
    while improved and tried < budget:
        improved = False
        for candidate in _candidates(best.source):
            if tried >= budget:
                break
            source = "import numpy as np\n\n\n" + _strip(candidate)
            if len(source) >= len(best.source) or "def f(" not in source:
                continue
            tried += 1
            smaller = Program(best.seed, source, best.args, best.argnums)
            if not admissible(smaller):
                continue
            outcome = classify(smaller, directory)
            if outcome.status in ("wrong", "crashed") and outcome.key == key:
                best, improved = smaller, True
                break
    return best


def _strip(source: str) -> str:
    """ast.unparse's module without the numpy import, helpers separated by blank lines."""
    lines = [ln for ln in source.splitlines() if ln.strip() != "import numpy as np"]
    out: list[str] = []
    for ln in lines:
        if ln.startswith("def ") and out:
            out += ["", ""]
        out.append(ln)
    return "\n".join(out).strip("\n") + "\n"


# campaigns -----------------------------------------------------------------------------------


@dataclass
class FailureClass:
    count: int = 0
    seeds: list = field(default_factory=list)
    examples: list = field(default_factory=list)  # (program, outcome): the first few, the smallest

    def add(self, program: Program, outcome: Outcome, keep: int = 3) -> None:
        self.count += 1
        self.seeds.append(program.seed)
        if len(self.examples) < keep:
            self.examples.append((program, outcome))
        elif len(program.source) < len(self.examples[-1][0].source):
            self.examples[-1] = (program, outcome)  # the last slot keeps the smallest
        self.examples.sort(key=lambda po: len(po[0].source))


@dataclass
class Summary:
    programs: int = 0
    counts: Counter = field(default_factory=Counter)  # by status
    classes: dict = field(default_factory=dict)  # failure class -> FailureClass
    refusals: Counter = field(default_factory=Counter)
    noisy: int = 0
    seconds: float = 0.0

    def add(self, program: Program, outcome: Outcome) -> None:
        self.programs += 1
        self.counts[outcome.status] += 1
        if outcome.status == "refused":
            self.refusals[outcome.key] += 1
        if outcome.key == "central differences noisy":
            self.noisy += 1
        if outcome.status in ("wrong", "crashed"):
            self.classes.setdefault(outcome.key, FailureClass()).add(program, outcome)

    def shrink(self, directory) -> None:
        """Shrink each class's examples; keep the distinct results, smallest first."""
        for key, fc in self.classes.items():
            small = {}
            for program, _ in fc.examples:
                p = shrink(program, key, directory)
                small.setdefault(p.source, (p, classify(p, directory)))
            fc.examples = sorted(small.values(), key=lambda po: len(po[0].source))

    def table(self) -> str:
        c = self.counts
        lines = [
            f"programs {self.programs} in {self.seconds:.0f} s: right {c['right']}, refused "
            f"{c['refused']}, wrong {c['wrong']}, crashed {c['crashed']}"
            f" (central differences noisy but a looser check passed: {self.noisy})",
        ]
        if self.refusals:
            lines.append("\nrefusals (located):")
            lines += [f"  {n:6d}  {k}" for k, n in self.refusals.most_common()]
        if self.classes:
            lines.append("\nfailure classes:")
            ordered = sorted(self.classes.items(), key=lambda kv: -kv[1].count)
            lines += [f"  {fc.count:6d}  {key}" for key, fc in ordered]
            for key, fc in ordered:
                seeds = " ".join(map(str, fc.seeds[:30])) + (" ..." if len(fc.seeds) > 30 else "")
                lines += ["", f"=== {key}: {fc.count} programs, seeds {seeds}"]
                for k, (program, outcome) in enumerate(fc.examples):
                    lines += [f"--- reproducer {k + 1} (smallest first):", str(program)]
                    lines += ["--- message:", outcome.detail.strip()[-1200:]]
        return "\n".join(lines)


def run_many(
    seeds, directory, shrink_failures: bool = False, progress: bool = False, make=generate
) -> Summary:
    """Generate (`make(seed)`) and classify a program per seed; optionally shrink each class's
    examples."""
    summary = Summary()
    start = time.time()
    for count, seed in enumerate(seeds, 1):
        program = make(seed)
        summary.add(program, classify(program, directory))
        if progress and count % 100 == 0:
            c = summary.counts
            print(
                f"[{count}] right {c['right']} refused {c['refused']} wrong {c['wrong']} "
                f"crashed {c['crashed']} ({time.time() - start:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    if shrink_failures:
        summary.shrink(directory)
    summary.seconds = time.time() - start
    return summary
