"""Names for graph values, given at print time: the one place naming is decided.

Contract: parameters keep their source names; a value bound to a source variable gets that name
(`x_1`, `x_2` when the name is rebound or taken); the cotangent of `x` is `x_bar` and its tangent
`x_dot`; any other value gets a short temporary name (`t1`, `t2`, ...). Names never collide with
each other, with Python keywords, or with the names emitted modules rely on (`np`, helpers).
"""

from __future__ import annotations

import keyword

from symgrad.ir.graph import Graph

RESERVED = frozenset(keyword.kwlist) | {
    "np",
    "float",
    "hasattr",
    "isinstance",
    "tuple",
    "range",
    "len",
    "int",
    "list",
    "None",
    "True",
    "False",
}


def fresh(base: str, used: set[str]) -> str:
    """`base`, or `base_1`, `base_2`, ...: the first not in `used` (which it joins); `t` for
    a base Python cannot spell."""
    base = _spelt(base) or "t"
    name, k = base, 1
    while name in used or name in RESERVED:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name


def _spelt(name: str | None) -> str | None:
    """A node's source name where Python can spell it (lowering binds some values to names no
    source can spell, such as an `and`'s operand)."""
    return name if name and name.isidentifier() and not keyword.iskeyword(name) else None


def assign_names(
    graph: Graph, order=None, reserved=frozenset(), fixed=None, same=None
) -> dict[int, str]:
    """Map each node id (in `order`, default topological) to a unique Python identifier, avoiding
    `reserved`; `fixed` gives some nodes (a loop body's params) names decided elsewhere, and
    `same` maps a node to an earlier one whose name it shares (an array updated in place)."""
    same = same or {}
    used = set(RESERVED) | set(reserved)
    names: dict[int, str] = dict(fixed or {})
    used |= set(names.values())

    def take(base: str) -> str:
        return fresh(base, used)

    temps = 0
    nodes = list(graph.nodes()) if order is None else [graph[i] for i in order]
    for node in nodes:
        if node.op == "param" and node.id not in names:
            names[node.id] = take(node.name)
    named = set(names)  # nodes with a name from the source, not a temporary `tN`
    for node in nodes:
        if node.op == "param" or node.id in names:
            continue
        named.add(node.id)
        if node.id in same:
            names[node.id] = names[same[node.id]]
            if same[node.id] not in named:
                named.discard(node.id)
        elif _spelt(node.name):
            names[node.id] = take(node.name)
        elif node.cot_of in named:
            names[node.id] = take(names[node.cot_of] + "_bar")
        elif node.tan_of in named:
            names[node.id] = take(names[node.tan_of] + "_dot")
        else:
            named.discard(node.id)
            temps += 1
            while f"t{temps}" in used:
                temps += 1
            names[node.id] = take(f"t{temps}")
    return names
