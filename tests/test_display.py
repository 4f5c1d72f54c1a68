"""How symgrad's objects look in IPython and notebooks: reprs, highlighted source, the graph as
a picture or text, reports as tables. Each display is called directly (no IPython needed) and,
where IPython is installed, through its display formatter, as a notebook asks for it."""

from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np
import pytest

import symgrad
from symgrad.checks.report import Check, CheckReport
from symgrad.display import Source
from symgrad.ir import to_text

SOURCE = """\
def loss(W, b, x):
    return np.sum(np.tanh(W @ x + b) ** 2)


class Model:
    def __init__(self):
        self.scale = 2.0

    def loss(self, x):
        return self.scale * np.sum(x ** 2)
"""


@pytest.fixture
def mod(make_fn):
    return make_fn(SOURCE)


def _without(monkeypatch, *modules):
    """Make `modules` unimportable, as where they are not installed."""
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in modules else real(name, *a)
    )


def test_each_transform_says_what_it_computes(mod):
    x, W, b = np.ones(3), np.ones((2, 3)), np.ones(2)
    expected = {
        symgrad.grad(mod.loss): "grad of loss argnums=0",
        symgrad.grad(mod.loss, (0, 1)): "grad of loss argnums=(0, 1)",
        symgrad.value_and_grad(mod.loss, 1): "value_and_grad of loss argnums=1",
        symgrad.hessian(mod.loss): "hessian of loss argnums=0",
        symgrad.hessian(mod.loss, (0, 1)): "hessian of loss argnums=(0, 1)",
        symgrad.jacfwd(symgrad.grad(mod.loss, 1)): "jacfwd of (grad of loss argnums=1) argnums=0",
        symgrad.jacrev(mod.loss, 2): "jacrev of loss argnums=2",
        symgrad.grad(symgrad.grad(mod.loss, 2), 2): ("grad of (grad of loss argnums=2) argnums=2"),
        symgrad.grad(mod.Model().loss): "grad of Model.loss argnums=0",
        symgrad.vjp(mod.loss, W, b, x)[1]: "vjp_fn of loss argnums=(0, 1, 2)",
        symgrad.linearize(mod.loss, W, b, x)[1]: "f_jvp of loss argnums=(0, 1, 2)",
    }
    for obj, what in expected.items():
        assert repr(obj) == f"<symgrad {what}>"


def test_vjp_fn_and_f_jvp_still_compute_and_carry_their_module(mod):
    x, W, b = np.ones(3), np.ones((2, 3)), np.ones(2)
    out, vjp_fn = symgrad.vjp(mod.loss, W, b, x)
    np.testing.assert_allclose(vjp_fn(1.0)[0], symgrad.grad(mod.loss)(W, b, x))
    _, f_jvp = symgrad.linearize(mod.loss, W, b, x)
    assert f_jvp(W, b, x) == pytest.approx(symgrad.jvp(mod.loss, (W, b, x), (W, b, x))[1])
    assert isinstance(vjp_fn.source, Source) and "def vjp_loss(" in vjp_fn.source
    assert "def jvp_loss(" in f_jvp.source and f_jvp.graph is not None


def test_source_is_a_str_shown_as_highlighted_code(mod):
    g = symgrad.grad(mod.loss)
    source = g.source
    assert isinstance(source, str) and source == str(source) and "def grad_loss(" in source
    assert symgrad.emit_module(mod.loss) == source and isinstance(
        symgrad.emit_module(mod.loss), Source
    )
    markdown = source._repr_markdown_()
    assert markdown.startswith("```python\n") and markdown.endswith(f"{source.rstrip()}\n```\n")
    assert Source("s = '```'")._repr_markdown_().startswith("````python\n")  # a longer fence
    html = source._repr_html_()
    if importlib.util.find_spec("pygments"):
        assert '<div class="highlight"' in html and "<span style=" in html  # inline colours
    else:
        assert html.startswith("<pre>def grad_loss(") or html.startswith("<pre>&quot;&quot;&quot;")


def test_source_without_pygments_is_an_escaped_pre(monkeypatch):
    _without(monkeypatch, "pygments")
    assert Source("if a < b:\n    c = a & b\n")._repr_html_() == (
        "<pre>if a &lt; b:\n    c = a &amp; b\n</pre>"
    )


def test_graph_shows_its_text_ir_without_a_picture_tool(mod, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    _without(monkeypatch, "matplotlib")
    graph = symgrad.grad(mod.loss).graph
    assert repr(graph) == f"<symgrad graph loss: {len(graph)} nodes>"
    assert str(graph) == to_text(graph)  # print(graph)
    assert graph._repr_svg_() is None


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for dot")
def test_graph_is_drawn_by_dot(mod, tmp_path, monkeypatch):
    fake = tmp_path / "dot"  # records its arguments, answers with the DOT text it read
    fake.write_text(
        f'#!/bin/sh\necho "$@" > {tmp_path}/args\nprintf "<svg>"; cat; printf "</svg>"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    graph = symgrad.grad(mod.loss).graph
    svg = graph._repr_svg_()
    assert (tmp_path / "args").read_text().split() == ["-Tsvg"]
    assert svg.startswith("<svg>digraph") and "W_bar" in svg and svg.endswith("}</svg>")


def test_graph_is_drawn_by_matplotlib_without_dot(mod, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr("shutil.which", lambda name: None)
    svg = symgrad.grad(mod.loss, (0, 1)).graph._repr_svg_()
    assert svg.startswith("<?xml") and "<svg" in svg and "W_bar = fit" in svg


def test_check_report_is_a_table():
    report = CheckReport("f(x)", ["x"], [Check("numeric", "passed", "x < 1 & fine")])
    html = report._repr_html_()
    assert html.startswith("<table>\n<caption>check f(x) with respect to x: ok</caption>")
    assert "<td>numeric</td><td>passed</td><td>x &lt; 1 &amp; fine</td>" in html


def test_rules_report_is_a_table():
    from symgrad.checks.rules_report import SYMBOLIC, RuleCheck, RulesReport

    report = RulesReport([RuleCheck("tanh", "v ⊙ (1 − y²)", SYMBOLIC, 2)])
    html = report._repr_html_()
    assert "<caption>1 rules: VJP 1 symbolic; JVP 1 symbolic</caption>" in html
    assert "<td>tanh</td><td>symbolic</td><td>symbolic</td><td>2</td><td>v ⊙ (1 − y²)</td>" in html


def test_ipython_shows_each_object_as_a_notebook_asks(mod, monkeypatch):
    formatters = pytest.importorskip("IPython.core.formatters")
    from symgrad.checks.rules_report import SYMBOLIC, RuleCheck, RulesReport

    shown = lambda obj: formatters.DisplayFormatter().format(obj)[0]  # noqa: E731 mime -> data
    hessian = symgrad.hessian(mod.loss)
    assert shown(hessian) == {"text/plain": "<symgrad hessian of loss argnums=0>"}
    source = symgrad.grad(mod.loss).source
    assert shown(source) == {
        "text/plain": source,  # the module's lines, not an escaped one-line string
        "text/html": source._repr_html_(),
        "text/markdown": source._repr_markdown_(),
    }
    monkeypatch.setattr("shutil.which", lambda name: None)
    _without(monkeypatch, "matplotlib")
    graph = symgrad.grad(mod.loss).graph
    assert shown(graph) == {"text/plain": to_text(graph)}  # no picture tool: the text IR
    for report in (
        CheckReport("f(x)", ["x"], [Check("numeric", "passed", "fine")]),
        RulesReport([RuleCheck("tanh", "v ⊙ (1 − y²)", SYMBOLIC, 2)]),
    ):
        assert shown(report) == {"text/plain": str(report), "text/html": report._repr_html_()}
