"""The IR graph: primitive applications as nodes, with a networkx MultiDiGraph view.

Contract: a node is an application of one primitive (`op`, a rule-table name, or one of the
structural ops `param` and `const`) to an ordered tuple of input nodes plus static `attrs`.
Operand order is kept in `Node.inputs` (a value used twice, as in `x * x`, appears twice: twice
among its users, two parallel edges in networkx). Node ids grow in creation order and inputs
always exist before their users; `nodes()` lists them in topological order, `order` (by default
creation order) breaking ties, so a node rewritten by a pass keeps the place of the node it
replaces. The graph keeps its nodes and their users itself (passes rewrite it thousands of times
while compiling); `graph.nx`, the networkx graph (an edge per operand, its position `pos`), is
built (networkx imported) when asked for and kept until the graph changes.
"""

from __future__ import annotations

import copy
import heapq
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, KeysView

from symgrad.errors import Loc

if TYPE_CHECKING:
    import networkx as nx


@dataclass
class Node:
    id: int
    op: str
    inputs: tuple[int, ...]
    attrs: dict[str, Any] = field(default_factory=dict)
    loc: Loc | None = None
    name: str | None = None  # the source variable this value was bound to, if any
    cot_of: int | None = None  # for a cotangent: the forward node it belongs to
    vjp_of: int | None = None  # for a cotangent's contribution to an input: the node whose VJP
    # made it (zeros where that node's value holds integers: `symgrad.passes.zeros`)
    backward: bool = False  # built by the reverse pass
    tan_of: int | None = None  # for a tangent: the forward node it belongs to
    tangent: bool = False  # built by the forward-mode pass
    order: int = -1  # where to list it among independent nodes (default: its id)
    aval: Any = None  # its abstract value (`symgrad.ir.avals.Aval`) where inferred

    def key(self) -> tuple:
        """What makes two nodes compute the same value (for CSE): op, inputs, typed attrs."""
        return (self.op, self.inputs, attrs_key(self.attrs))


def attrs_key(attrs: dict) -> tuple:
    """Attributes as a key: equal where they are the same values of the same types."""
    if not attrs:
        return ()
    return tuple(sorted((k, _typed(v)) for k, v in attrs.items()))


def _typed(v: Any) -> Any:
    if isinstance(v, (tuple, list)):
        return (type(v).__name__, tuple(_typed(x) for x in v))
    if isinstance(v, float) and v == 0:  # 0.0 == -0.0, but np.arctan2(-0.0, -1.0) is -pi
        return (type(v).__name__, v, math.copysign(1.0, v))
    return (type(v).__name__, v)


def _copied(v: Any, memo: dict) -> Any:
    """An attribute's value for a copy of its node: owned graphs and containers copied."""
    if isinstance(v, Graph):
        return copy.deepcopy(v, memo)
    if isinstance(v, (list, tuple, set)) and not hasattr(v, "_fields"):
        return type(v)(_copied(x, memo) for x in v)
    if isinstance(v, dict):
        return {k: _copied(x, memo) for k, x in v.items()}
    return v


def subgraphs(node: Node) -> list["Graph"]:
    """The graphs a structured node owns: a loop's body (and a while loop's condition), a
    cond's two branches."""
    if "branches" in node.attrs:
        return list(node.attrs["branches"])
    return [node.attrs[k] for k in ("cond", "body") if k in node.attrs]


class Graph:
    """A function as a graph: `params` in order, `outputs` in order, nodes in between."""

    def __init__(self, name: str, file: str = "<unknown>", line: int = 0):
        self.name = name
        self.file = file
        self.line = line
        self.params: list[int] = []
        self.outputs: list[int] = []
        self.checks: list[int] = []  # nodes computed for their effect (a raised error) alone
        self.defaults: dict[str, Any] = {}  # params' default values (constants), by name
        self._next = 0
        self._order: list[int] | None = None  # nodes() until the graph changes
        self._nodes: dict[int, Node] = {}  # the nodes by id, in creation order
        self._users: dict[int, list[int]] = {}  # by node: each use of it, once per operand
        self._nx: nx.MultiDiGraph | None = None  # the networkx view until the graph changes

    def __deepcopy__(self, memo: dict) -> "Graph":
        """A copy whose nodes (and the graphs they own) can be rewritten; constant values are
        shared (no pass changes one in place)."""
        g = Graph.__new__(Graph)
        memo[id(self)] = g
        g.__dict__.update(self.__dict__)
        g.params, g.outputs, g.checks = list(self.params), list(self.outputs), list(self.checks)
        g._order = None if self._order is None else list(self._order)
        g._nodes = {}
        for nid, node in self._nodes.items():
            new = Node.__new__(Node)  # copy.copy(node), without its reduce protocol's cost
            new.__dict__.update(node.__dict__)
            new.attrs = {k: _copied(v, memo) for k, v in node.attrs.items()}
            g._nodes[nid] = new
        g._users = {nid: list(users) for nid, users in self._users.items()}
        g._nx = None
        return g

    @property
    def nx(self) -> nx.MultiDiGraph:
        """The graph as networkx holds it: a node per node (its `Node` as data `node`), an
        edge from each input to its user per operand (its position as data `pos`). networkx
        is imported here, when first asked for: compiling never needs it."""
        if self._nx is None:
            import networkx as nx

            g = nx.MultiDiGraph()
            for nid, node in self._nodes.items():
                g.add_node(nid, node=node)
            for nid, node in self._nodes.items():
                for pos, i in enumerate(node.inputs):
                    if i in self._nodes:
                        g.add_edge(i, nid, pos=pos)
            self._nx = g
        return self._nx

    def _changed(self) -> None:
        self._order = self._nx = None

    # display: print and IPython show the text IR, notebooks a picture (symgrad.ir.picture) ---
    def __repr__(self) -> str:
        return f"<symgrad graph {self.name}: {len(self)} nodes>"

    def __str__(self) -> str:  # print(graph): the text IR
        from symgrad.ir.printer import to_text  # (the printer imports this module)

        return to_text(self)

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_svg_(self) -> str | None:
        from symgrad.ir.picture import svg

        return svg(self)

    # construction ---------------------------------------------------------------------------
    def add(self, op: str, inputs=(), attrs=None, loc: Loc | None = None, **data) -> int:
        inputs = tuple(inputs)
        users = self._users
        for i in inputs:
            if i not in users:
                raise ValueError(f"input {i} of new {op} node is not in graph {self.name}")
        node = Node(self._next, op, inputs, dict(attrs or {}), loc, **data)
        if node.order < 0:
            node.order = node.id
        self._next += 1
        self._changed()
        self._nodes[node.id] = node
        users[node.id] = []
        for i in inputs:
            users[i].append(node.id)
        return node.id

    def param(self, name: str, loc: Loc | None = None) -> int:
        nid = self.add("param", (), {"index": len(self.params)}, loc, name=name)
        self.params.append(nid)
        return nid

    def const(self, value: Any, loc: Loc | None = None) -> int:
        return self.add("const", (), {"value": value}, loc)

    # queries ----------------------------------------------------------------------------------
    def __getitem__(self, nid: int) -> Node:
        return self._nodes[nid]

    def __contains__(self, nid: int) -> bool:
        return nid in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def ids(self) -> KeysView[int]:
        """Every node's id, in creation order (no topological order worked out)."""
        return self._nodes.keys()

    def nodes(self) -> Iterator[Node]:
        """All nodes in a deterministic topological order (`order`, then id, where free),
        computed once until the graph changes (a snapshot: a pass may change the graph while
        it walks it)."""
        if self._order is None:
            self._order = self._sorted()
        return map(self._nodes.__getitem__, self._order)  # (a generator's steps cost more)

    def _sorted(self) -> list[int]:
        """Kahn's algorithm, taking the free node of least (order, id) first: the least
        topological order by (order, id). Where listing every node by (order, id) puts each
        after its operands (as lowering and most passes leave a graph), that is the order."""
        nodes, users = self._nodes, self._users  # (each use of a node: once per operand)
        key = {nid: (node.order, nid) for nid, node in nodes.items()}
        listed = sorted(key, key=key.__getitem__)
        if all(key[i] < key[nid] for nid in listed for i in nodes[nid].inputs if i in key):
            return listed
        waiting: dict[int, int] = {}  # a node -> its operands not listed yet
        free = []
        for nid, node in nodes.items():
            k = len(node.inputs)
            for i in node.inputs:
                if i not in nodes:  # (an input removed before its user)
                    k -= 1
            if k:
                waiting[nid] = k
            else:
                free.append((node.order, nid))
        heapq.heapify(free)
        out = []
        while free:
            _, nid = heapq.heappop(free)
            out.append(nid)
            for user in users[nid]:
                k = waiting[user] - 1
                waiting[user] = k
                if not k:
                    heapq.heappush(free, (nodes[user].order, user))
        if len(out) != len(nodes):
            raise ValueError(f"graph {self.name} has a cycle")
        return out

    def set_order(self, nid: int, order: float) -> None:
        """List node nid where `order` falls among the nodes free to go there."""
        self[nid].order = order
        self._order = None

    def users(self, nid: int) -> list[int]:
        """Each use of nid, once per operand position (x * x lists the product twice)."""
        return sorted(self._users[nid])

    def read_alone_by(self, nid: int, reader: int) -> bool:
        """Whether `reader` is nid's one use and nid is no output or check: a rewrite of the
        reader may stop computing nid."""
        return self._users[nid] == [reader] and nid not in self.outputs and nid not in self.checks

    def is_const(self, nid: int) -> bool:
        return self[nid].op == "const"

    def const_value(self, nid: int) -> Any:
        return self[nid].attrs["value"]

    def remove(self, nids) -> None:
        """Remove the nodes nids (the uses they make with them). Removing none leaves the
        graph, and the order `nodes()` worked out, as they were."""
        users = self._users
        for nid in nids:
            node = self._nodes.pop(nid, None)
            if node is None:
                continue
            self._changed()
            del users[nid]
            for i in node.inputs:
                if i in users:
                    users[i].remove(nid)

    def as_forward(self) -> "Graph":
        """Count every node as a forward node, for a pass that differentiates this graph again
        (a gradient's): names and what they are cotangents or tangents of stay."""
        for node in self.nodes():
            node.backward = node.tangent = False
        return self

    def set_inputs(self, nid: int, inputs) -> None:
        """Make `inputs` the operands of node nid, in order (its edges follow)."""
        node = self[nid]
        self._changed()
        users = self._users
        for i in node.inputs:
            if i in users:
                users[i].remove(nid)
        node.inputs = tuple(inputs)
        for i in node.inputs:
            users[i].append(nid)

    def replace_uses(self, old: int, new: int) -> None:
        """Point every user of `old` (and the outputs) at `new`."""
        self._changed()
        moved = self._users[old]
        if old != new:
            self._users[old] = []
            self._users[new].extend(moved)
        for user in set(moved):
            node = self[user]
            node.inputs = tuple(new if i == old else i for i in node.inputs)
        self.outputs = [new if o == old else o for o in self.outputs]
        self.checks = [new if c == old else c for c in self.checks]

    def descendants_of(self, roots) -> set[int]:
        """The roots and every node computed from them."""
        return _reached(roots, self._users.__getitem__)

    def ancestors_of(self, roots) -> set[int]:
        """The roots and every node they are computed from."""
        return _reached(roots, lambda n: self._nodes[n].inputs)


def _reached(roots, step) -> set[int]:
    """The roots and every node reached from them, a step giving the nodes next to one."""
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(step(n))
    return seen
