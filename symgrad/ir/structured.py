"""Schemas of the structured nodes: the named parts of a loop's, a backward loop's and a
branch's inputs, sub-graph params and outputs, and the invariants that tie them together.

Contract: `schema(node)` views a structured node as a `Loop` (`loop`, `while`), a `LoopVjp`
(`loop_vjp`) or a `Cond` (`cond`, `cond_vjp`), and is None for any other node. A view reads
the node when asked, so it sees what passes changed since it was made. Parts of the node's
inputs are input *positions* (ranges); parts of a sub-graph are node ids of its params and
outputs. `sub_params()` lists, for each input a sub-graph param stands for, (input position,
sub-graph, param). `check(graph)` asserts the invariants (`symgrad.ir.verify` runs it after
every pass in tests). The layouts are those `symgrad.rules.control` documents:

- a loop's inputs are `start, stop, step` (a `for` loop only), the carried values' initial
  values, then the captured values; its body's params are the index (`for` only), the carried
  and the captured values; its body's outputs are the next carried values, the stacked rows,
  the decisions the reverse pass records, then the flag to leave (a loop that breaks). Its tape
  entry (`records`) holds the index, the carried values `taped` lists, then the decisions.
- a backward loop's inputs are its tape, the running cotangents' initial values (`state`), the
  rows of stacked outputs' cotangents, then the captured values; its body's params are a tape
  entry, the captured values, the running cotangents and the rows.
- a branch's inputs are its condition, then the operands (a `cond_vjp`: the captured
  operands, then the seeds); branch b's params stand for the operands `attrs["params"][b]`
  lists (then, in a `cond_vjp`, for the seeds).
"""

from __future__ import annotations


class Loop:
    """A `loop` (`for index in range(start, stop, step)`) or a `while`."""

    def __init__(self, node):
        self.node, self.attrs = node, node.attrs

    @property
    def counted(self) -> bool:
        """A `for` loop: an index param and three bounds."""
        return self.node.op == "loop"

    @property
    def body(self):
        return self.attrs["body"]

    @property
    def k(self) -> int:
        """How many values it carries."""
        return self.attrs["n_carried"]

    @property
    def n_stacked(self) -> int:
        return self.attrs.get("n_stacked", 0)

    @property
    def n_decisions(self) -> int:
        return self.attrs.get("n_decisions", 0)

    @property
    def breaks(self) -> bool:
        return bool(self.attrs.get("breaks"))

    @property
    def records(self) -> bool:
        """Whether it records a tape (its output after the stacked ones)."""
        return bool(self.attrs.get("tape"))

    @property
    def n_results(self) -> int:
        """Its results every run gives: the carried values, then the stacked outputs (its tape,
        where it records one, is the item after them)."""
        return self.k + self.n_stacked

    @property
    def taped(self) -> tuple[int, ...]:
        """The carried values (by position) its tape records."""
        return tuple(self.attrs.get("taped", range(self.k)))

    @property
    def index_only(self) -> bool:
        """Whether its tape would hold its index alone: the backward loop walks the same range
        reversed instead, and no tape is recorded."""
        return self.counted and not self.breaks and not self.n_decisions and not self.taped

    @property
    def entry_size(self) -> int:
        """The length of a tape entry: the index, the taped carried values, the decisions."""
        return self.counted + len(self.taped) + self.n_decisions

    # inputs (positions)
    @property
    def first_carried(self) -> int:
        return 3 if self.counted else 0

    @property
    def carried_inputs(self) -> range:
        return range(self.first_carried, self.first_carried + self.k)

    @property
    def captured_inputs(self) -> range:
        return range(self.first_carried + self.k, len(self.node.inputs))

    @property
    def operand_inputs(self) -> range:
        """The carried values' initial values, then the captured values."""
        return range(self.first_carried, len(self.node.inputs))

    # the body's params and outputs (node ids)
    @property
    def index_param(self) -> int | None:
        return self.body.params[0] if self.counted else None

    @property
    def carried_params(self) -> list[int]:
        return self.body.params[self.counted : self.counted + self.k]

    @property
    def captured_params(self) -> list[int]:
        return self.body.params[self.counted + self.k :]

    @property
    def operand_params(self) -> list[int]:
        """The params standing for `operand_inputs`: the carried, then the captured values."""
        return self.body.params[self.counted :]

    @property
    def entry_params(self) -> list[int]:
        """The params whose values a tape entry holds (before its decisions): the index, then
        the carried values `taped` lists."""
        return [self.index_param] * self.counted + [self.carried_params[j] for j in self.taped]

    @property
    def next_carried(self) -> list[int]:
        return self.body.outputs[: self.k]

    @property
    def stacked(self) -> list[int]:
        return self.body.outputs[self.k : self.k + self.n_stacked]

    @property
    def decisions(self) -> list[int]:
        start = self.k + self.n_stacked
        return self.body.outputs[start : start + self.n_decisions]

    @property
    def leave(self) -> int | None:
        """The body output saying whether to leave (a loop that breaks)."""
        return self.body.outputs[-1] if self.breaks else None

    def sub_params(self) -> list[tuple[int, object, int]]:
        operands = self.operand_inputs
        out = [(i, self.body, p) for i, p in zip(operands, self.operand_params)]
        if "cond" in self.attrs:  # a while's test takes the body's params, less the index
            cond = self.attrs["cond"]
            out += [(i, cond, p) for i, p in zip(operands, cond.params)]
        return out

    def check(self, graph) -> None:
        where = f"{graph.name}: {self.node.op} {self.node.id}"
        n_params = self.counted + len(self.node.inputs) - self.first_carried
        assert len(self.body.params) == n_params, f"{where}: body params"
        extra = self.n_decisions + self.breaks
        assert len(self.body.outputs) == self.k + self.n_stacked + extra, f"{where}: body outputs"
        n_dotted = len(self.attrs.get("dotted", ()))
        assert all(0 <= j < self.k + n_dotted for j in self.taped), f"{where}: taped"


class LoopVjp:
    """A `loop_vjp`: a tape walked backwards through a loop body's VJP graph."""

    def __init__(self, node):
        self.node, self.attrs = node, node.attrs

    @property
    def body(self):
        return self.attrs["body"]

    @property
    def outs(self) -> list[tuple[str, int, str]]:
        """Per body output: ("state", running cotangent, name) or ("acc", captured, name)."""
        return self.attrs["outs"]

    @property
    def n_tape(self) -> int:
        return self.attrs["n_tape"]

    @property
    def n_state(self) -> int:
        return self.attrs["n_carried"]

    @property
    def n_stacked(self) -> int:
        return self.attrs["n_stacked"]

    @property
    def n_captured(self) -> int:
        return len(self.node.inputs) - 1 - self.n_state - self.n_stacked

    # inputs (positions); the tape is input 0
    @property
    def state_inputs(self) -> range:
        return range(1, 1 + self.n_state)

    @property
    def row_inputs(self) -> range:
        return range(1 + self.n_state, 1 + self.n_state + self.n_stacked)

    @property
    def captured_inputs(self) -> range:
        return range(1 + self.n_state + self.n_stacked, len(self.node.inputs))

    # the body's params (node ids)
    def _params(self, start: int, n: int | None = None) -> list[int]:
        params = self.body.params
        return params[start:] if n is None else params[start : start + n]

    @property
    def entry_params(self) -> list[int]:
        return self._params(0, self.n_tape)

    @property
    def captured_params(self) -> list[int]:
        return self._params(self.n_tape, self.n_captured)

    @property
    def state_params(self) -> list[int]:
        return self._params(self.n_tape + self.n_captured, self.n_state)

    @property
    def row_params(self) -> list[int]:
        return self._params(self.n_tape + self.n_captured + self.n_state)

    def seed_params(self, body=None) -> list[int]:
        """The params the cotangents flowing in stand for: the running ones, then the rows
        (`body`: as `Cond.seed_params` takes a branch; a backward loop has one body)."""
        return [*self.state_params, *self.row_params]

    def sub_params(self) -> list[tuple[int, object, int]]:
        pairs = [
            (self.state_inputs, self.state_params),
            (self.row_inputs, self.row_params),
            (self.captured_inputs, self.captured_params),
        ]
        return [(i, self.body, p) for inputs, ps in pairs for i, p in zip(inputs, ps)]

    def check(self, graph) -> None:
        where = f"{graph.name}: loop_vjp {self.node.id}"
        assert self.n_captured >= 0, f"{where}: fewer inputs than running cotangents and rows"
        n_params = self.n_tape + self.n_captured + self.n_state + self.n_stacked
        assert len(self.body.params) == n_params, f"{where}: body params"
        assert len(self.body.outputs) == len(self.outs), f"{where}: one body output per out"
        tape = graph[self.node.inputs[0]]
        loop = schema(graph[tape.inputs[0]]) if tape.op == "item" else None
        if isinstance(loop, Loop) and loop.records:
            entry = loop.entry_size
            assert self.n_tape == entry, (
                f"{where}: its tape entries are not what {loop.node.id} records"
            )


class Cond:
    """A `cond` (two branches on a condition) or a `cond_vjp` (the VJP of the branch taken)."""

    def __init__(self, node):
        self.node, self.attrs = node, node.attrs

    @property
    def branches(self) -> list:
        return self.attrs["branches"]

    @property
    def operand_params(self) -> list[tuple[int, ...]]:
        """Per branch, the operands (indices, input position less one) its params stand for."""
        return self.attrs["params"]

    @property
    def n_captured(self) -> int:
        """The operands (a `cond_vjp`'s: before its seeds)."""
        if self.node.op == "cond":
            return len(self.node.inputs) - 1
        return self.attrs["n_captured"]

    @property
    def n_seeds(self) -> int:
        return self.attrs.get("n_seeds", 0)

    @property
    def captured_inputs(self) -> range:
        return range(1, 1 + self.n_captured)

    @property
    def seed_inputs(self) -> range:
        return range(1 + self.n_captured, 1 + self.n_captured + self.n_seeds)

    def seed_params(self, branch) -> list[int]:
        """The params of a `cond_vjp`'s branch that stand for its seeds (its last ones)."""
        return branch.params[len(branch.params) - self.n_seeds :] if self.n_seeds else []

    def sub_params(self) -> list[tuple[int, object, int]]:
        out = []
        for branch, ps in zip(self.branches, self.operand_params):
            out += [(1 + j, branch, branch.params[q]) for q, j in enumerate(ps)]
            seeds = branch.params[len(ps) : len(ps) + self.n_seeds]
            out += [(i, branch, p) for i, p in zip(self.seed_inputs, seeds)]
        return out

    def check(self, graph) -> None:
        where = f"{graph.name}: {self.node.op} {self.node.id}"
        if self.node.op == "cond":
            counts = {len(b.outputs) for b in self.branches}
            assert len(counts) == 1, f"{where}: branches give different numbers of outputs"
        for b, ps in zip(self.branches, self.operand_params):
            assert len(ps) <= len(b.params), f"{where}: a branch lacks params for its operands"


_SCHEMAS = {"loop": Loop, "while": Loop, "loop_vjp": LoopVjp, "cond": Cond, "cond_vjp": Cond}


def schema(node) -> Loop | LoopVjp | Cond | None:
    cls = _SCHEMAS.get(node.op)
    return None if cls is None else cls(node)
