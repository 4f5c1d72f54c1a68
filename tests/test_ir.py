"""The IR: verifier after every pass, operand order, the printer and the DOT export."""

from __future__ import annotations

import pytest

from symgrad.frontend import lower
from symgrad.ir import to_dot, to_text, verify
from symgrad.passes import reverse, simplify
from symgrad.rules import RULES
from tests.test_end_to_end import CASES


@pytest.mark.parametrize("name", sorted(CASES))
def test_graphs_verify_after_every_pass(name):
    f, _, argnums = CASES[name]
    graph = lower(f)
    verify(graph, RULES)
    grad_graph = reverse(graph, list(argnums))
    verify(grad_graph, RULES)
    verify(graph, RULES)  # the forward graph is left untouched
    simplify(grad_graph, [grad_graph.params[k] for k in argnums])
    verify(grad_graph, RULES)


def test_operand_order_survives_a_repeated_operand(make_fn):
    m = make_fn("def f(x, y):\n    return np.sum(x * x - y / x)\n")
    graph = lower(m.f)
    ops = {n.op: n for n in graph.nodes()}
    x, y = graph.params
    assert ops["multiply"].inputs == (x, x)
    assert ops["divide"].inputs == (y, x)
    assert graph.nx.number_of_edges(x, ops["multiply"].id) == 2


def test_printer_gives_one_equation_per_line_with_source_names(make_fn):
    m = make_fn("def f(x, w):\n    h = np.tanh(x @ w)\n    return np.sum(h ** 2)\n")
    text = to_text(lower(m.f))
    lines = text.splitlines()
    assert lines[0] == "{ lambda x, w ."
    assert any(line.strip().startswith("h = tanh ") for line in lines)
    assert lines[-1].startswith("  in (")
    assert "# line 4" in text  # make_fn puts "import numpy as np" and a blank line first


def test_dot_export_names_every_node_and_edge(make_fn):
    m = make_fn("def f(x):\n    return np.sum(np.sin(x) * x)\n")
    graph = lower(m.f)
    dot = to_dot(graph)
    assert dot.startswith('digraph "f"') and dot.rstrip().endswith("}")
    assert dot.count("->") == sum(len(n.inputs) for n in graph.nodes()) + len(graph.outputs)
