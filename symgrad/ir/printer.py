"""Text and DOT renderings of a graph.

Contract: `to_text` prints one equation per line, `name = op(inputs) {attrs}`, in topological
order; names are given at print time (`symgrad.ir.names`), as JAX's jaxpr printer does. A node
owning a sub-graph (a loop's body) is followed by that graph, printed the same way and indented.
`to_dot` renders the same graph for Graphviz, each sub-graph as a cluster inside its node's;
`labels` are its nodes' labels, `name = op inputs {attrs}`.
"""

from __future__ import annotations

from symgrad.ir.graph import Graph, subgraphs
from symgrad.ir.names import assign_names


def _describe(graph: Graph, nid: int, names: dict[int, str]) -> str:
    node = graph[nid]
    if node.op == "const":
        return repr(node.attrs["value"])
    if node.op == "param":
        return f"param[{node.attrs['index']}]"
    hidden = ("body", "branches", "frames", "regions")  # (a fused node's are per body node)
    attrs = {k: v for k, v in node.attrs.items() if not k.startswith("n_") and k not in hidden}
    args = " ".join(names[i] for i in node.inputs)
    extra = " {" + ", ".join(f"{k}={v!r}" for k, v in attrs.items()) + "}" if attrs else ""
    return f"{node.op} {args}{extra}".rstrip()


def labels(graph: Graph) -> dict[int, str]:
    """Each node's label in pictures: `name = op inputs {attrs}`."""
    names = assign_names(graph)
    return {
        node.id: f"{names[node.id]} = {_describe(graph, node.id, names)}" for node in graph.nodes()
    }


def to_text(graph: Graph) -> str:
    names = assign_names(graph)
    params = ", ".join(names[p] for p in graph.params)
    lines = [f"{{ lambda {params} ."]
    for node in graph.nodes():
        if node.op == "param":
            continue
        line = f"    {names[node.id]} = {_describe(graph, node.id, names)}"
        if node.loc is not None:
            line = line.ljust(48) + f"  # line {node.loc.line}"
        lines.append(line)
        for sub in subgraphs(node):
            lines += ["      " + text for text in to_text(sub).splitlines()]
    lines.append("  in (" + ", ".join(names[o] for o in graph.outputs) + ") }")
    return "\n".join(lines)


def to_dot(graph: Graph) -> str:
    out = [f'digraph "{graph.name}" {{', "  rankdir=TB;", '  node [fontname="monospace"];']
    out += _dot_nodes(graph, "n", "  ")
    for k, o in enumerate(graph.outputs):
        out.append(f'  out{k} [label="output {k}", shape=plaintext];')
        out.append(f"  n{o} -> out{k};")
    out.append("}")
    return "\n".join(out)


def _dot_nodes(graph: Graph, prefix: str, indent: str) -> list[str]:
    """Nodes and edges of graph (ids `prefix<id>`), sub-graphs as nested clusters."""
    names, text, out = assign_names(graph), labels(graph), []
    for node in graph.nodes():
        label = text[node.id].replace('"', r"\"")
        shape = "ellipse" if node.op == "param" else "box"
        style = ', style=filled, fillcolor="#fde2e2"' if node.backward else ""
        out.append(f'{indent}{prefix}{node.id} [label="{label}", shape={shape}{style}];')
        for k, sub in enumerate(subgraphs(node)):
            inner = f"{prefix}{node.id}_{k}_"
            out.append(f'{indent}subgraph cluster_{inner} {{ label="{names[node.id]} {k}";')
            out += _dot_nodes(sub, inner, indent + "  ")
            out.append(f"{indent}}}")
    for node in graph.nodes():
        for pos, i in enumerate(node.inputs):
            out.append(f'{indent}{prefix}{i} -> {prefix}{node.id} [label="{pos}"];')
    return out
