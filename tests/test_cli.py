"""The command line: emit, graph, check, verify-rules, exit statuses and error messages."""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

import symgrad
from symgrad.cli import load_function, main, parse_spec

MODEL = """\
import numpy as np
import symgrad
from helper import act


def loss(W, b, x, y=np.ones(3)):
    z = act(W @ x + b)
    return 0.5 * np.sum((z - y) ** 2)


def f(x=np.linspace(0.1, 1.0, 4), n=2):
    return np.sum(np.log(x) * n)


@symgrad.grad
def g(x=1.5):
    return x * np.sin(x)


def counts(n=3):
    return n * 2


def bad(x):
    try:
        y = x
    except Exception:
        y = x
    return np.sum(y)
"""


@pytest.fixture
def model(tmp_path):
    """model.py (importing a sibling module, helper.py), as 'path/model.py'."""
    (tmp_path / "helper.py").write_text(
        "import numpy as np\n\n\ndef act(z):\n    return np.tanh(z)\n"
    )
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    return str(path)


def _import(path):
    spec = importlib.util.spec_from_file_location(f"emitted_{abs(hash(path))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_load_function_unwraps_and_restores_sys_path(model):
    before = list(sys.path)
    fn = load_function(f"{model}:g")
    assert sys.path == before
    assert isinstance(fn, types.FunctionType) and fn.__name__ == "g"  # not the Compiled


def test_emit_prints_the_module(model, capsys):
    assert main(["emit", f"{model}:loss", "--argnums", "0,1"]) == 0
    out = capsys.readouterr().out
    assert "def grad_loss(W, b, x, y" in out and "return (W_bar, b_bar)" in out


def test_a_reader_that_stops_early_ends_the_command_quietly(model, monkeypatch):
    # `python -m symgrad emit f.py:g | head` ended in a BrokenPipeError traceback
    read, write = os.pipe()
    os.close(read)  # the reader is gone: every write fails with EPIPE
    with os.fdopen(write, "w", buffering=1) as closed:
        monkeypatch.setattr(sys, "stdout", closed)
        assert main(["emit", f"{model}:loss", "--argnums", "0,1"]) == 0


def test_emit_writes_a_module_that_runs(model, tmp_path, capsys):
    out = tmp_path / "out" / "grad_loss.py"
    out.parent.mkdir()
    assert main(["emit", f"{model}:loss", "--argnums", "W,b", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    rng = np.random.default_rng(0)
    W, b, x = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=4)
    emitted = _import(str(out)).grad_loss(W, b, x, np.ones(3))
    expected = symgrad.grad(load_function(f"{model}:loss"), argnums=(0, 1))(W, b, x)
    for got, want in zip(emitted, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_emit_into_a_folder_that_does_not_exist_exits_2(model, tmp_path, capsys):
    out = tmp_path / "nowhere" / "grad_loss.py"
    assert main(["emit", f"{model}:loss", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"cannot write the module to {out}" in err and "Traceback" not in err


def test_emit_of_a_decorated_function(model, capsys):
    assert main(["emit", f"{model}:g"]) == 0
    assert "def grad_g(x=1.5):" in capsys.readouterr().out  # (its default kept)


def test_emit_forward_mode_prints_the_jvp_module(model, capsys):
    assert main(["emit", f"{model}:loss", "--mode", "forward", "--argnums", "0"]) == 0
    out = capsys.readouterr().out
    assert "def jvp_loss(" in out and "_dot" in out


def test_unsupported_syntax_exits_2_with_file_and_line(model, capsys):
    assert main(["emit", f"{model}:bad"]) == 2
    err = capsys.readouterr().err
    line = MODEL.splitlines().index("    try:") + 1
    assert f"{model}:{line}:5: try/except is not supported" in err
    assert "^" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "target, message",
    [
        ("nowhere.py:f", "nowhere.py: no such file"),
        ("{model}:lost", "no function 'lost' (did you mean loss"),
        ("{model}", "expected FILE.py:FUNCTION"),
    ],
)
def test_bad_targets_exit_2(model, capsys, target, message):
    assert main(["emit", target.format(model=model)]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["check", "{model}:loss", "--args", "W: 3x4 invertible, b: 3, x: 4, y: 3"], "square"),
        (["emit", "{model}:loss", "--args", "W: 99999999x99999999"], "does not fit in memory"),
        (["verify-rules", "negative", "--markdown", "{model}/no/rules.md"], "cannot write"),
    ],
)
def test_bad_arguments_are_errors_not_tracebacks(model, capsys, argv, message):
    """Each raised from inside symgrad (ValueError, MemoryError, FileNotFoundError)."""
    assert main([a.format(model=model) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bad_argnums_exit_2(model, capsys):
    assert main(["emit", f"{model}:loss", "--argnums", "Q"]) == 2
    assert "'Q' is neither an index nor a parameter of loss(W, b, x, y)" in capsys.readouterr().err


def test_a_module_that_fails_to_import(tmp_path, capsys):
    (tmp_path / "broken.py").write_text("import numpy as np\nraise RuntimeError('boom')\n")
    (tmp_path / "syntax.py").write_text("def f(x):\n    return x +\n")
    assert main(["emit", f"{tmp_path / 'broken.py'}:f"]) == 2
    assert "importing it raised RuntimeError: boom" in capsys.readouterr().err
    assert main(["emit", f"{tmp_path / 'syntax.py'}:f"]) == 2
    assert "syntax.py:2: invalid syntax" in capsys.readouterr().err


def test_graph_prints_text(model, capsys):
    assert main(["graph", f"{model}:f"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("{ lambda x, n .") and "x_bar" in out


def test_graph_writes_dot(model, tmp_path):
    out = tmp_path / "g.dot"
    assert main(["graph", f"{model}:loss", "--argnums", "0", "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("digraph") and "W_bar" in text


def test_graph_picture_without_graphviz_or_matplotlib_exits_2(model, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "matplotlib" else real(name, *a),
    )
    assert main(["graph", f"{model}:f", "-o", str(tmp_path / "g.svg")]) == 2
    err = capsys.readouterr().err
    assert "Graphviz" in err and "install graphviz" in err and "matplotlib" in err
    assert not (tmp_path / "g.svg").exists()


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for dot")
def test_graph_picture_runs_dot(model, tmp_path, monkeypatch, capsys):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "dot"  # records its arguments, answers with the DOT text it read
    fake.write_text(f'#!/bin/sh\necho "$@" > {bin_dir}/args\ncat\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "g.png"
    assert main(["graph", f"{model}:f", "-o", str(out)]) == 0
    assert (bin_dir / "args").read_text().split() == ["-Tpng"]
    assert out.read_text().startswith("digraph")
    assert "(drawn with dot)" in capsys.readouterr().err


def test_graph_picture_drawn_with_matplotlib_without_graphviz(model, tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr("shutil.which", lambda name: None)
    out = tmp_path / "g.png"
    assert main(["graph", f"{model}:loss", "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
    assert "(drawn with matplotlib)" in capsys.readouterr().err


def test_graph_unknown_format_exits_2(model, tmp_path, capsys):
    assert main(["graph", f"{model}:f", "-o", str(tmp_path / "g.pdf")]) == 2
    assert "write a .dot, .svg or .png file" in capsys.readouterr().err


# check: these tests stand in a recording fake for symgrad.checks.report.check, to see what the
# CLI passes it; test_check_with_the_real_checker runs the real one.


class _Recorded(list):
    """The calls made to the fake checker; `.ok` is what its reports say."""

    ok = True

    def check(self, f, *args, argnums=0, seed=0, progress=None):
        self.append((f, args, argnums, seed))
        progress(0, 1, "")
        progress(1, 1, "fake")
        return _Report(self.ok)


class _Report:
    def __init__(self, ok):
        self.ok = ok

    def __str__(self):
        return f"fake report ok={self.ok}"


@pytest.fixture
def recorded(monkeypatch):
    """Replaces symgrad.checks.report.check with a fake that records its calls."""
    from symgrad.checks import report

    calls = _Recorded()
    monkeypatch.setattr(report, "check", calls.check)
    return calls


def test_check_from_a_spec(model, capsys, recorded):
    spec = "W: 3x4, b: 3, x: 4 positive"
    assert main(["check", f"{model}:loss", "--args", spec, "--seed", "3"]) == 0
    assert capsys.readouterr().out == "fake report ok=True\n"
    ((f, args, argnums, seed),) = recorded
    assert f.__name__ == "loss" and seed == 3
    assert [np.shape(a) for a in args] == [(3, 4), (3,), (4,), (3,)]  # y from its default
    assert argnums == (0, 1, 2, 3) and np.all(args[2] > 0)


def test_check_from_defaults_and_exit_1(model, capsys, recorded):
    recorded.ok = False
    assert main(["check", f"{model}:f"]) == 1
    assert "ok=False" in capsys.readouterr().out
    ((f, args, argnums, seed),) = recorded
    assert argnums == 0 and args[1] == 2  # n is an int: not differentiated
    np.testing.assert_array_equal(args[0], np.linspace(0.1, 1.0, 4))


def test_check_spec_argnums_and_bool_inputs(model, recorded):
    assert (
        main(["check", f"{model}:loss", "--args", "W: 3x4, b: 3 bool, x: 4", "--argnums", "W"]) == 0
    )
    assert main(["check", f"{model}:loss", "--args", "W: 3x4, b: 3 bool, x: 4"]) == 0
    assert [c[2] for c in recorded] == [0, (0, 2, 3)]


def test_check_missing_arguments_exit_2(model, capsys, recorded):
    assert main(["check", f"{model}:loss", "--args", "W: 3x4"]) == 2
    err = capsys.readouterr().err
    assert "no value for b, x" in err and "--args" in err
    assert main(["check", f"{model}:counts"]) == 2
    assert "no float argument" in capsys.readouterr().err
    assert main(["check", f"{model}:loss", "--args", "W: 3x4, b: 3, x: 4, z: 2"]) == 2
    assert "has no parameter 'z'" in capsys.readouterr().err
    assert recorded == []


def test_check_with_the_real_checker(model, capsys):
    assert main(["check", f"{model}:loss", "--args", "W: 3x4, b: 3, x: 4"]) == 0
    out = capsys.readouterr().out
    assert "numeric   passed" in out and "symbolic  passed" in out


def test_parse_spec():
    w, s, t, u = parse_spec("W: 3x4 positive, s:, t: f, u: unit")
    assert (w.dims, w.domain) == ((3, 4), "positive")
    assert (s.dims, s.shape, s.domain) == ((), "", "real")
    assert (t.shape, u.shape, u.domain) == ("f", "", "unit")
    for bad, message in [
        ("W 3x4", "cannot read"),
        ("W: 3y4", "bad shape"),
        ("W: 3 huge", "domain"),
    ]:
        with pytest.raises(symgrad.SymgradError, match=message):
            parse_spec(bad)


def test_verify_rules_one_rule(tmp_path, capsys):
    md = tmp_path / "rules.md"
    assert main(["verify-rules", "tanh", "--markdown", str(md)]) == 0
    assert "tanh" in capsys.readouterr().out
    assert md.read_text().startswith("# The rule table") and "| `tanh` |" in md.read_text()


def test_verify_rules_failure_and_unknown_names(monkeypatch, capsys):
    import symgrad.checks.symbolic as symbolic

    class Failing:
        ok, failed = False, ["tanh"]

        def __str__(self):
            return "tanh FAILED"

    monkeypatch.setattr(
        symbolic, "verify_rules", lambda names=None, jobs=1, progress=None: Failing()
    )
    assert main(["verify-rules", "tanh"]) == 1
    assert "tanh FAILED" in capsys.readouterr().out
    monkeypatch.undo()  # an unknown name is refused before anything is proved
    assert main(["verify-rules", "tahn"]) == 2
    assert "no rule named 'tahn'; did you mean" in capsys.readouterr().err
    with pytest.raises(symgrad.SymgradError, match="no rule named 'nope'"):
        symgrad.verify_rules(["nope"])


def test_python_dash_m_help():
    done = subprocess.run(
        [sys.executable, "-m", "symgrad", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    for command in ("emit", "graph", "check", "verify-rules"):
        assert command in done.stdout
    assert textwrap.dedent(done.stdout).startswith("usage: symgrad")


def test_check_takes_values_for_ints(tmp_path, capsys):
    path = tmp_path / "looped.py"
    path.write_text(
        "import numpy as np\n\n\ndef f(x, n):\n    t = 0.0\n    for i in range(n):\n"
        "        t = t + np.sum(np.sin(x) * i)\n    return t\n"
    )
    assert main(["check", f"{path}:f", "--args", "x: 3, n = 2"]) == 0
    out = capsys.readouterr().out
    assert "numeric   passed" in out and "symbolic  passed" in out  # a float accumulator too


def test_check_of_a_function_failing_on_the_arguments_exits_2(tmp_path, capsys):
    path = tmp_path / "looped.py"
    path.write_text("import numpy as np\n\n\ndef f(x, n):\n    return np.sum(x[:n])\n")
    assert main(["check", f"{path}:f", "--args", "x: 3, n: 2"]) == 2
    err = capsys.readouterr().err
    assert "f raised TypeError" in err and "n = 2" in err and "Traceback" not in err
    assert main(["check", f"{path}:f", "--args", "x: 3, n = two"]) == 2
    assert "is not a Python number" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("quiet", [False, True])
def test_verify_rules_counts_the_rules_proved_on_a_terminal(monkeypatch, capsys, quiet):
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert main(["verify-rules", "add", "negative", "--jobs", "2", *["--quiet"] * quiet]) == 0
    counter = sys.stderr.getvalue()
    if quiet:
        assert counter == ""
    else:  # rewritten in place, then erased before the report
        assert counter.split("\r")[1:-1] == [
            "0/2 rules proved",
            "1/2 rules proved (add)",
            "2/2 rules proved (negative)",
            " " * len("2/2 rules proved (negative)"),
        ]
    assert "negative" in capsys.readouterr().out


def test_check_counts_the_checks_on_a_terminal_and_not_in_a_pipe(
    model, capsys, recorded, monkeypatch
):
    assert main(["check", f"{model}:f"]) == 0
    assert capsys.readouterr().err == ""  # a pipe (pytest's capture): no counter
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert main(["check", f"{model}:f"]) == 0
    assert "\r1/1 checks done (fake)" in sys.stderr.getvalue()
