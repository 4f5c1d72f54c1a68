"""Pictures of a graph (SVG or PNG): by Graphviz's `dot` where it is on PATH, else drawn with
matplotlib.

Contract: `draw(graph, path)` writes a .svg or .png picture to `path` and returns the tool
that drew it ("dot" or "matplotlib"); with neither installed it raises `SymgradError` naming
both. `svg(graph)` is the picture as SVG text, or None with neither (a notebook then shows the
text IR). dot draws `to_dot`, sub-graphs included; matplotlib draws the top-level graph in
layers (each node one row below its deepest input), forward nodes white, backward ones red as
in `to_dot`, outputs framed thick, a loop or a branch as one node (its body is drawn by dot).
"""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import subprocess

import networkx as nx

from symgrad.errors import SymgradError
from symgrad.ir.graph import Graph
from symgrad.ir.printer import labels, to_dot

FORMATS = ("svg", "png")
BACKWARD = "#fde2e2"  # the fill of a node the reverse pass built, as in to_dot
LABEL = 60  # characters of a node's label matplotlib draws (a constant array's is long)


def draw(graph: Graph, path: str) -> str:
    """Write the picture of `graph` to `path` (.svg or .png); the tool that drew it."""
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    if fmt not in FORMATS:
        raise SymgradError(f"cannot draw {path}: a picture is a .svg or .png file")
    if shutil.which("dot"):
        picture = _dot(graph, fmt)
        with open(path, "wb") as f:
            f.write(picture)
        return "dot"
    if importlib.util.find_spec("matplotlib") is None:
        raise SymgradError(
            f"drawing {path} needs Graphviz's `dot` program (not on PATH) or matplotlib (not "
            "installed)",
            hint="Install Graphviz (apt install graphviz, brew install graphviz or conda install "
            'graphviz) or matplotlib (pip install "symgrad[examples]"), or write DOT text to a '
            ".dot file.",
        )
    _matplotlib(graph, path, fmt)
    return "matplotlib"


def svg(graph: Graph) -> str | None:
    """The picture of `graph` as SVG text; None without dot and matplotlib."""
    if shutil.which("dot"):
        return _dot(graph, "svg").decode()
    if importlib.util.find_spec("matplotlib") is None:
        return None
    out = io.StringIO()
    _matplotlib(graph, out, "svg")
    return out.getvalue()


def _dot(graph: Graph, fmt: str) -> bytes:
    done = subprocess.run(
        [shutil.which("dot") or "dot", f"-T{fmt}"],
        input=to_dot(graph).encode(),
        capture_output=True,
    )
    if done.returncode != 0:
        raise SymgradError(f"Graphviz's dot failed: {done.stderr.decode().strip()}")
    return done.stdout


def _matplotlib(graph: Graph, out, fmt: str) -> None:
    """Draw graph in layers with matplotlib (no pyplot: no window, any backend) to `out`."""
    from matplotlib.figure import Figure

    layers = list(nx.topological_generations(graph.nx))
    width = max((len(layer) for layer in layers), default=1)
    fig = Figure(figsize=(min(3.2 * width, 40), 0.9 * len(layers) + 0.5))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    text, where = labels(graph), {}
    for row, layer in enumerate(layers):
        for col, nid in enumerate(sorted(layer, key=lambda n: graph[n].order)):
            where[nid] = (col - (len(layer) - 1) / 2, -row)
    boxes = {}
    for nid, (x, y) in where.items():
        node = graph[nid]
        box = dict(
            boxstyle=f"{'round' if node.op == 'param' else 'square'},pad=0.3",
            facecolor=BACKWARD if node.backward else "white",
            linewidth=2 if nid in graph.outputs else 1,
        )
        short = text[nid] if len(text[nid]) <= LABEL else text[nid][: LABEL - 1] + "…"
        label = ax.text(x, y, short, ha="center", va="center", family="monospace", size=8)
        label.set_bbox(box)
        boxes[nid] = label.get_bbox_patch()
    for a, b in graph.nx.edges():
        arrow = dict(arrowstyle="->", color="gray", patchA=boxes[a], patchB=boxes[b])
        ax.annotate("", xy=where[b], xytext=where[a], arrowprops=arrow)
    ax.set_xlim(-width / 2 - 0.3, width / 2 + 0.3)
    ax.set_ylim(-len(layers) + 0.5, 0.5)
    fig.savefig(out, format=fmt)
