"""The Numba backend (`backend="numba"`): elementwise work as compiled loops, checked against
central differences and the NumPy backend; the fusion pass's clusters; the module on disk.

Every rule the table can spell on numbers (`Rule.scalar`) is fused and checked here, on its
examples or, for a rule with none (comparisons, floor, ...), inside a differentiable product.
The loop and branch suites run on this backend too (tests/test_loops.py, test_branches.py), and
tests/test_numba_loops.py checks loops compiled whole.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import symgrad
from symgrad.checks.examples import example_function, parse_example, sample
from symgrad.errors import SpecialisationWarning
from symgrad.rules import RULES

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("numba") is None, reason="the numba extra is not installed"
)


@pytest.fixture(autouse=True)
def _nests_compute_every_function(monkeypatch):
    """The nests compute every rule they can spell, on any CPU: where NumPy's vectorised
    loops would take some (`fuse.numpy_simd`), the tests that say so ask for them."""
    from symgrad.passes import fuse

    monkeypatch.setattr(fuse, "numpy_simd", lambda: False)


SCALAR = sorted(name for name, rule in RULES.items() if rule.scalar is not None)
_CALL = {  # a differentiable use of each rule without a differentiable example
    **{op: "x * np.{}(x, 0.3)" for op in ("greater", "less", "greater_equal", "less_equal")},
    "equal": "x * np.{}(x, 0.3)",
    "not_equal": "x * np.{}(x, 0.3)",
    **{op: "x * np.{}(x > 0, x < 1)" for op in ("logical_and", "logical_or", "logical_xor")},
    "logical_not": "x * np.{}(x > 0)",
}


def _examples() -> list[tuple[str, str]]:
    out = []
    for name in SCALAR:
        arrays = [e for e in RULES[name].examples if ": f" not in e.split("|", 1)[1]]
        if arrays:
            out.append((name, arrays[0]))
        elif name in _CALL:
            out.append((name, _CALL[name].format(name) + " | x: 3x4"))
        else:
            out.append((name, f"x * np.{name}(x) | x: 3x4"))
    return out


def _fused_ops(graph) -> set[str]:
    """The ops a specialised graph computes inside compiled loops."""
    return {
        inner.op
        for node in graph.nodes()
        if node.op == "fused"
        for inner in node.attrs["body"].nodes()
    }


@pytest.mark.parametrize("name, example", _examples(), ids=[n for n, _ in _examples()])
def test_each_rule_spelled_on_numbers_is_fused_and_right(name, example):
    """The example's value through sin, summed: its gradient reads the rule's value."""
    expr, inputs = parse_example(example)
    before, _, last = expr.rpartition(";")
    f = example_function(f"{before}{';' * bool(before)} np.sum(np.sin({last}))", inputs)
    rng = np.random.default_rng(0)
    args = [sample(i, rng) for i in inputs]
    argnums = tuple(k for k, i in enumerate(inputs) if i.differentiable)
    symgrad.check_grads(f, args, argnums, backend="numba")  # (forward mode: whole programs)
    compiled = symgrad.grad(f, argnums, backend="numba")  # compiled by check_grads already
    for a, b in zip(compiled(*args), symgrad.grad(f, argnums)(*args)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert name in _fused_ops(compiled.graph), compiled.source


def chain(x):
    return np.sum(np.exp(np.sin(x) * x) / (1 + x**2) + np.log1p(x**2) * np.tanh(x))


def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def mlp(W1, b1, W2, b2, X, y):
    h = np.maximum(X @ W1 + b1, 0.0)
    p = 1 / (1 + np.exp(-(h @ W2 + b2)))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def layer_norm(W, X):
    z = X @ W
    mu = np.mean(z, axis=1, keepdims=True)
    var = np.mean((z - mu) ** 2, axis=1, keepdims=True)
    return np.sum(np.tanh((z - mu) / np.sqrt(var + 1e-5)) ** 2)


def centred(x):
    return np.sum((x - np.mean(x)) ** 2 * np.sum(x * x))


def float32_sum(x):
    return np.sum(np.sin(x) * x)


def rnn(W, U, xs):
    h = np.zeros(W.shape[0])
    loss = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
        loss = loss + np.sum(h * h)
    return loss


RNG = np.random.default_rng(1)
PROGRAMS = {
    "chain": (chain, (RNG.uniform(-2, 2, 50),), 0),
    "rosenbrock": (rosenbrock, (RNG.uniform(-1, 1, 40),), 0),
    "mlp": (
        mlp,
        (
            RNG.standard_normal((5, 8)) * 0.4,
            RNG.standard_normal(8) * 0.1,
            RNG.standard_normal(8) * 0.4,
            0.1,
            RNG.standard_normal((12, 5)),
            (RNG.uniform(size=12) > 0.5).astype(float),
        ),
        (0, 1, 2, 3),
    ),
    "layer_norm": (layer_norm, (RNG.standard_normal((4, 6)), RNG.standard_normal((3, 4))), 0),
    "centred": (centred, (RNG.standard_normal((3, 5)),), 0),
    "rnn": (
        rnn,
        (
            RNG.standard_normal((4, 4)) * 0.4,
            RNG.standard_normal((4, 3)),
            RNG.standard_normal((6, 3)),
        ),
        (0, 1),
    ),
}


@pytest.mark.parametrize("case", sorted(PROGRAMS))
def test_whole_programs_match_central_differences_and_the_numpy_backend(case):
    f, args, argnums = PROGRAMS[case]
    symgrad.check_grads(f, args, argnums, backend="numba", modes=("rev", "fwd"))
    compiled = symgrad.value_and_grad(f, argnums, backend="numba")
    value, grads = compiled(*args)
    value0, grads0 = symgrad.value_and_grad(f, argnums)(*args)
    np.testing.assert_allclose(value, value0, rtol=1e-12)
    if not isinstance(argnums, tuple):
        grads, grads0 = (grads,), (grads0,)
    for a, b in zip(grads, grads0):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    assert "@numba.njit(" in compiled.source


def test_a_float32_gradient_keeps_its_dtype():
    x = np.linspace(-1, 1, 30, dtype=np.float32)
    value, g = symgrad.value_and_grad(float32_sum, backend="numba")(x)
    assert g.dtype == np.float32 and np.asarray(value).dtype == np.float32
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x), rtol=1e-5)


def zero_total(x, y):
    s = np.sum(x * y - y * x)  # 0: a total computed in a compiled loop
    return np.sum(x) / (1.0 + s) + 1.0 / s


def zero_carried(x):
    s, v = np.sum(x) * 0.0, 1.0
    while v > 0.1:  # s: a NumPy float on every step (a loop compiled whole)
        s = s + np.sum(x * x - x * x) * v
        v = v * 0.5
    return np.sum(x) + 1.0 / s


@pytest.mark.filterwarnings("ignore:divide by zero", "ignore:invalid value")
@pytest.mark.parametrize("fn", [zero_total, zero_carried])
def test_numbers_from_compiled_loops_keep_numpys_semantics(fn):
    """A compiled function returns a number as a Python float; where the NumPy module holds a
    NumPy float, the caller gets one back: `1.0 / s` of a zero total is inf there, as in the
    function itself, not a ZeroDivisionError."""
    x, y = np.linspace(1.0, 2.0, 8), np.ones(8)
    args = (x, y)[: fn.__code__.co_argcount]
    with np.errstate(divide="ignore", invalid="ignore"):
        assert symgrad.jit(fn, backend="numba")(*args) == fn(*args) == np.inf
        want = symgrad.grad(fn)(*args)
        assert np.isnan(want).any()
        np.testing.assert_array_equal(symgrad.grad(fn, backend="numba")(*args), want)


def test_the_chain_is_one_loop_computing_the_gradient_and_the_value_in_one_pass():
    compiled = symgrad.value_and_grad(chain, backend="numba")
    compiled(np.linspace(-1, 1, 100))
    source = compiled.source
    assert source.count("@numba.njit(") == 1
    assert "for i in range(shape[0]):" in source and "+= " in source  # the value, summed in it
    assert "_fused1(x, (100,))" in source  # the lengths are arguments: the kernel serves any
    kernel = source.split("def _fused1", 1)[1].split("\n\n\n", 1)[0]
    assert "np.sin(x_i)" in kernel and "np.empty(shape, np.float64)" in kernel


def test_a_total_read_by_the_cluster_is_not_folded_into_its_loop():
    """x - mean(x) needs the whole mean before the first difference: two loops, not one."""
    compiled = symgrad.grad(centred, backend="numba")
    x = RNG.standard_normal((3, 5))
    np.testing.assert_allclose(compiled(x), symgrad.grad(centred)(x), rtol=1e-12)
    for node in compiled.graph.nodes():
        if node.op == "fused":
            body_ops = {n.op for n in node.attrs["body"].nodes()}
            assert not body_ops & {"sum", "mean"}


def crossing(a, c, d):
    """Found by the fuzzer: a (1, 4) loop feeds a (4, 4) one, which feeds back a total along
    axis 0 (t3_bar = sum(..., axis=0, keepdims=True)) to more (1, 4) work."""
    t3 = np.sqrt(a * a + 1.0)
    return np.mean(t3 / (d * d + 1.0)) + np.mean(np.einsum("i,m->", np.squeeze(a), c))


def _scaled_head(v, s):
    for j in range(2):
        v[j] = v[j] * s + 0.1
    return v


def zeros_read_at_an_offset(x, a):
    """(found by the control fuzzer, seed 1100296)"""
    u0 = x * 1.0
    u0 = _scaled_head(u0, a / (1.5 + np.sin(-0.2)))
    x = np.zeros_like(u0)
    u0[-1] += x[-1] - (x[1] - a)
    u0 -= np.cos(np.tanh(x))
    return np.mean(u0) + np.mean(x) + a


def test_a_nest_keeps_an_array_of_zeros_it_reads_at_an_offset():
    """A nest that fills x with zeros and reads x at an offset keeps x's entries (0.0) for
    the read: it wrote the name of a value it never computed, and Numba refused the module."""
    args = (RNG.standard_normal(3), 0.649)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpecialisationWarning)
        value, (da,) = symgrad.value_and_grad(zeros_read_at_an_offset, (1,), backend="numba")(*args)
        symgrad.check_grads(zeros_read_at_an_offset, args, 1, backend="numba")
    assert np.isclose(value, zeros_read_at_an_offset(args[0].copy(), args[1]), rtol=1e-12)
    assert np.isclose(da, symgrad.grad(zeros_read_at_an_offset, 1)(*args), rtol=1e-12)


def test_two_loops_never_feed_each_other():
    """No node path leaves a loop and comes back, but one passing through another loop did:
    a cluster counts as one node when joining is checked (else the graph has a cycle)."""
    args = (RNG.standard_normal((1, 4)), RNG.standard_normal(2), RNG.standard_normal((4, 4)))
    symgrad.check_grads(crossing, args, (0, 1, 2), backend="numba")  # (a warning is an error)
    compiled = symgrad.grad(crossing, (0, 1, 2), backend="numba")
    for a, b in zip(compiled(*args), symgrad.grad(crossing, (0, 1, 2))(*args)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert compiled.source.count("@numba.njit(") >= 2


def test_broadcast_inputs_are_read_at_index_zero_along_the_axes_they_span_once():
    def f(x, b, c):
        return np.sum(np.tanh(x * b + c) * x)

    args = (RNG.standard_normal((3, 4)), RNG.standard_normal((3, 1)), RNG.standard_normal(4))
    compiled = symgrad.grad(f, (0, 1, 2), backend="numba")
    got = compiled(*args)
    for a, b in zip(got, symgrad.grad(f, (0, 1, 2))(*args)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert "b_i = b[i, 0]" in compiled.source and "c_j = c[j]" in compiled.source


def rosenbrock_loop(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s


def layer(x, W):
    h = np.tanh(W @ x)
    return np.sin(h) * x[:3] + h**2


@pytest.mark.parametrize("kind", ["jacfwd", "jacrev", "hessian"])
def test_jacobians_and_hessians_compile_their_loops_and_agree_with_numpy(kind):
    """Each JVP or VJP a Jacobian's driver calls is compiled as a gradient is (the driver
    stays Python); the Hessian of a loop runs its gradient and the gradient's tangents as two
    compiled loops."""
    x, W = RNG.standard_normal(3), RNG.standard_normal((3, 3))
    cases = [(rosenbrock_loop, (0,), (RNG.standard_normal(12),))]
    if kind != "hessian":
        cases.append((layer, (0, 1), (x, W)))
    for fn, argnums, args in cases:
        compiled = getattr(symgrad, kind)(fn, argnums, backend="numba")
        got, want = compiled(*args), getattr(symgrad, kind)(fn, argnums)(*args)
        for a, b in zip(got, want) if len(argnums) > 1 else [(got, want)]:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        assert compiled.source.count("@numba.njit(") >= 1
    if kind == "hessian":
        source = compiled.source
        assert "def hessian_rosenbrock_loop(x):" in source and source.count("@numba.njit(") == 2
        assert "** 0" not in source  # (the tangent of x ** 1 is the tangent itself)


def test_unknown_backends_and_missing_numba_are_clear_errors(monkeypatch):
    with pytest.raises(symgrad.SymgradError, match="unknown backend 'jax'"):
        symgrad.grad(chain, backend="jax")
    with pytest.raises(symgrad.SymgradError, match="give example arguments"):
        symgrad.emit_module(chain, backend="numba")
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "numba" else real(name, *a)
    )
    with pytest.raises(symgrad.SymgradError, match=r"pip install \"symgrad\[numba\]\""):
        symgrad.grad(chain, backend="numba")


def test_emit_module_and_the_cli_specialise_for_example_arguments(tmp_path):
    source = symgrad.emit_module(chain, args=(np.zeros(7),), backend="numba")
    assert "Specialised for x: float64[7]." in source and "_fused1(x, (7,))" in source
    target = tmp_path / "model.py"
    target.write_text("import numpy as np\n\n\ndef f(x):\n    return np.sum(np.sin(x) * x)\n")
    out = subprocess.run(
        [sys.executable, "-m", "symgrad", "emit", f"{target}:f", "--backend", "numba"]
        + ["--args", "x: 9"],
        capture_output=True,
        text=True,
        env={**os.environ, "SYMGRAD_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert out.returncode == 0, out.stderr
    assert "@numba.njit(" in out.stdout and "(9,))" in out.stdout


def test_the_compiled_module_and_its_machine_code_are_kept_on_disk(tmp_path):
    """A second process loading the same gradient compiles nothing: Numba's cache files,
    beside the module file, are written once."""
    script = textwrap.dedent(
        f"""
        import sys, numpy as np, symgrad
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_numba_backend import chain
        print(symgrad.grad(chain, backend="numba")(np.linspace(0, 1, 5))[2])
        """
    )
    env = {**os.environ, "SYMGRAD_CACHE_DIR": str(tmp_path)}
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
        for _ in range(2)
    ]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr + runs[1].stderr
    assert runs[0].stdout == runs[1].stdout
    modules = sorted(p for p in os.listdir(tmp_path) if p.endswith(".py"))
    assert len(modules) == 2 and modules[0].startswith("grad_chain_")
    assert modules[1].startswith("kernels_")  # the module's Numba functions alone (shared)
    cached = os.listdir(tmp_path / "__pycache__")
    assert any(p.endswith(".nbi") for p in cached) and any(p.endswith(".nbc") for p in cached)


def test_loops_numba_cannot_compile_fall_back_on_the_numpy_module(monkeypatch):
    """A spelling Numba refuses (here a wrong one, put in for the test) costs the loops, with a
    warning, never the gradient."""
    monkeypatch.setattr(RULES["tanh"], "scalar", "np.clip({0}, 0.0, 1.0)")

    def f(x):
        return np.sum(np.tanh(x) * x)

    x = np.linspace(-1, 1, 6)
    compiled = symgrad.grad(f, backend="numba")
    with pytest.warns(SpecialisationWarning, match="could not compile the loops"):
        g = compiled(x)
    np.testing.assert_allclose(g, symgrad.grad(f)(x), rtol=1e-12)
    assert "@numba.njit" not in compiled.source
    np.testing.assert_allclose(compiled(x), g)  # the NumPy module, from now on


def test_a_module_of_loops_written_wrong_falls_back_on_the_numpy_module(monkeypatch):
    """A module with compiled loops that does not load (here a nest's subscript made empty, as
    a 0-d array's once was: `d[]`) costs the loops, with a warning, never the gradient."""
    from symgrad.emit import framed

    monkeypatch.setattr(framed, "_where", lambda entry: ", ".join(entry))

    def f(x, c, d):
        t = np.concatenate([x, c])
        return np.sum(np.minimum(d, t[0:2]))

    args = (np.array([-0.7]), np.array([0.3]), np.array(0.1))
    compiled = symgrad.grad(f, (0, 1, 2), backend="numba")
    with pytest.warns(SpecialisationWarning, match="SyntaxError"):
        got = compiled(*args)
    for a, b in zip(got, symgrad.grad(f, (0, 1, 2))(*args)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def axis_totals(x, w):
    a = np.sum(np.tanh(x) * w, axis=0)
    b = np.mean(np.sin(x) * x, axis=1, keepdims=True)
    c = np.sum(x * w * 2.0, axis=(0, -1), keepdims=True)
    return np.sum(a**2) + np.sum(b * b) + np.sum(c)


def test_sums_and_means_along_axes_are_added_up_in_the_loop():
    x, w = RNG.standard_normal((4, 5)), RNG.standard_normal(5)
    symgrad.check_grads(axis_totals, (x, w), (0, 1), backend="numba", modes=("rev", "fwd"))
    compiled = symgrad.value_and_grad(axis_totals, (0, 1), backend="numba")
    value, grads = compiled(x, w)
    value0, grads0 = symgrad.value_and_grad(axis_totals, (0, 1))(x, w)
    np.testing.assert_allclose(value, value0, rtol=1e-12)
    for a, b in zip(grads, grads0):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    source = compiled.source
    assert "a[j] += " in source and "b[i, 0] += " in source and "c[0, 0] += " in source
    assert "b / (shape[1])" in source  # the mean: the total over the entries of each row


def shifted_extremes(a, x, mu):
    """A log-sum-exp shifted by each row's max (a min read too), and a lone broadcast
    difference (GMM's centred points, `x[:, None, :] - mu[None, :, :]`)."""
    b = np.tanh(a) * 2.0
    m = np.max(b, axis=1, keepdims=True)
    low = np.min(b, axis=0)
    lse = m[:, 0] + np.log(np.sum(np.exp(b - m), axis=1))
    xc = x[:, None, :] - mu[None, :, :]
    return np.sum(lse) + np.sum(low**2) + np.max(b) * np.sum((xc @ np.ones(2)) ** 2)


def test_maxima_minima_and_a_lone_broadcast_run_in_loops():
    """A max or min along axes is folded in the loop computing its operand (`np.maximum` of
    the running value and each entry: NaN at a NaN entry, as np.max gives), and one
    elementwise computation that broadcasts an array is a loop of its own (NumPy's iterator
    runs it in inner loops as short as its last axis). Both agree with the NumPy module, whose
    gradient agrees with central differences."""
    args = (RNG.standard_normal((6, 4)), RNG.standard_normal((7, 2)), RNG.standard_normal((3, 2)))
    symgrad.check_grads(shifted_extremes, args, (0, 1, 2))
    compiled = symgrad.value_and_grad(shifted_extremes, (0, 1, 2), backend="numba")
    value, grads = compiled(*args)
    value0, grads0 = symgrad.value_and_grad(shifted_extremes, (0, 1, 2))(*args)
    np.testing.assert_allclose(value, value0, rtol=1e-12)
    for got, want in zip(grads, grads0):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    source = compiled.source
    for fold in ("np.maximum(m[i, 0], ", "np.minimum(low[j], ", "np.maximum(t"):
        assert fold in source, source
    assert "b.max(" not in source and "b.min(" not in source, source
    kernels = [node.attrs["body"] for node in compiled.graph.nodes() if node.op == "fused"]
    assert any({n.op for n in body.nodes()} == {"param", "subtract"} for body in kernels)
    a = args[0].copy()
    a[2, 1] = np.nan
    with np.errstate(invalid="ignore"):
        assert np.isnan(symgrad.jit(shifted_extremes, backend="numba")(a, *args[1:]))


def shifted_scores(p, c):
    scores = -2.0 * p @ c.T
    scores += np.sum(c**2, axis=1)
    return np.sum(np.min(scores, axis=1))


def test_a_broadcast_in_long_runs_stays_numpys_in_place():
    """A lone computation broadcasting an array along NumPy's long inner loops (rows of 200)
    stays NumPy's: it updates the product in place, where a loop nest would make a new
    array (GradBench kmeans' cost: 48 against 80 ms). (The min of 400 x 200 entries along
    rows that long stays NumPy's too, so the addition is alone.)"""
    p, c = RNG.standard_normal((400, 3)), RNG.standard_normal((200, 3))
    compiled = symgrad.jit(shifted_scores, backend="numba")
    np.testing.assert_allclose(compiled(p, c), shifted_scores(p, c), rtol=1e-12)
    code = [line.strip() for line in compiled.source.splitlines() if "#" not in line]
    assert "scores += t2" in code, compiled.source


def _folds_program(seed: int) -> tuple[str, tuple]:
    """A random program of reductions (max, min, sum, mean; random axes and keepdims) of
    elementwise work on an array and one broadcast against it, and its arguments."""
    rng = np.random.default_rng(seed)
    rank = int(rng.integers(1, 4))
    shape = tuple(int(n) for n in rng.choice([1, 2, 3, 5], rank))
    other = tuple(1 if rng.random() < 0.5 else n for n in shape)[int(rng.random() < 0.3) :]
    axes = [None, *range(rank), -1] + ([(0, rank - 1)] if rank > 1 else [])
    ax1, ax2 = (axes[int(k)] for k in rng.integers(0, len(axes), 2))
    red1, red2 = rng.choice(["max", "min", "sum", "mean"], 2)
    work = rng.choice(["np.tanh(a * c)", "a * c + 0.5", "np.exp(a) - c", "a - c"])
    source = f"""
        def f(a, c):
            b = {work}
            m = np.{red1}(b, axis={ax1!r}, keepdims={bool(rng.random() < 0.5)})
            n = np.{red2}(b * b, axis={ax2!r})
            return np.sum(np.sin(m) * 1.3) + np.sum(n) * 0.7 + np.sum(b) * 0.1
        """
    return source, (rng.standard_normal(shape), rng.standard_normal(other or (1,)))


@pytest.mark.parametrize("seed", range(8))
def test_random_reductions_match_the_numpy_module_and_central_differences(seed, make_fn):
    """Differential fuzzing of the folds: each program's value and gradient on the Numba
    backend agree with the NumPy module's, whose gradient agrees with central differences
    (350 programs of this kind passed against both when max and min came to fold; 8 here)."""
    source, args = _folds_program(seed)
    f = make_fn(source).f
    symgrad.check_grads(f, args, (0, 1))
    value, grads = symgrad.value_and_grad(f, (0, 1), backend="numba")(*args)
    value0, grads0 = symgrad.value_and_grad(f, (0, 1))(*args)
    np.testing.assert_allclose(value, value0, rtol=1e-11)
    for got, want in zip(grads, grads0):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def integer_extremes(x, k):
    return np.sum(x * np.max(k * 2, axis=0))


def test_a_max_of_integers_stays_numpys():
    """A max or min folds floats only: its running value starts at -inf (+inf)."""
    x, k = RNG.standard_normal(3), np.arange(6).reshape(2, 3)
    compiled = symgrad.grad(integer_extremes, backend="numba")
    np.testing.assert_array_equal(compiled(x, k), np.max(k * 2, axis=0))
    assert "np.maximum(" not in compiled.source


def test_results_added_into_slices_of_zeros_are_written_once_in_the_loop():
    """Rosenbrock's backward pass adds two results into x[:-1] and x[1:] of zeros like x (an
    `_index_add` then an update, above 1 MiB): one loop writes each entry of x's cotangent
    once, the value of x[1:]'s entry i - 1 kept from the index before (the loop runs from the
    first index, x[1:]'s work one index ahead: `t1_1`), its first and last entries in pieces
    of their own."""
    x = RNG.uniform(-1, 1, 150_000)
    g = symgrad.grad(rosenbrock, backend="numba")
    np.testing.assert_allclose(g(x), symgrad.grad(rosenbrock)(x), rtol=1e-12, atol=1e-12)
    body = g.source[g.source.index("def _fused") :]
    assert body.count("def _fused") == 1 and body.count("x_bar[i] = ") == 3, body
    assert "for i in range(1, shape[0] - 1):" in body and "t1_1 = t1" in body, body
    assert "_index_add(" not in body and "zeros" not in body and " if " not in body, body


def test_one_compiled_nest_serves_every_length():
    """The lengths of a nest are its arguments: another length runs the same compiled
    function (no compile), with the same results as the NumPy module."""
    compiled = symgrad.grad(chain, backend="numba")
    nests = []
    for n in (5, 11):
        x = np.linspace(-1, 1, n)
        np.testing.assert_allclose(compiled(x), symgrad.grad(chain)(x), rtol=1e-12)
        nests.append(compiled._latest.fn.__globals__["_fused1"])
    assert nests[0] is nests[1] and len(nests[0].signatures) == 1


LOGSUMEXP_SOFTMAX = """
    def f(z, w):
        a = np.max(z, axis=1, keepdims=True)
        e = np.exp(z - a)
        return np.sum(w * (a[:, 0] + np.log(np.sum(e, axis=1)))) + np.sum(np.tanh(z) * w[:, None])
    """


@pytest.mark.parametrize("simd", [True, False])
def test_vectorised_numpy_functions_stay_numpys(simd, make_fn, monkeypatch):
    """Where NumPy computes exp, log and tanh with AVX-512 loops (`Rule.simd`), several times
    faster than a loop nest calling the C library per entry, the nests leave them to NumPy
    (at every size: one text, and one machine code, for every length), and compute the work
    around them; elsewhere the nests compute them too. Both agree with the NumPy module."""
    from symgrad.passes import fuse

    monkeypatch.setattr(fuse, "numpy_simd", lambda: simd)
    f = make_fn(LOGSUMEXP_SOFTMAX).f
    for rows in (64, 4):
        z, w = RNG.standard_normal((rows, 16)), RNG.standard_normal(rows)
        compiled = symgrad.grad(f, (0, 1), backend="numba")
        for a, b in zip(compiled(z, w), symgrad.grad(f, (0, 1))(z, w)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        fused = _fused_ops(compiled.graph)
        assert ("exp" in fused or "tanh" in fused) is not simd, compiled.source
        assert "@numba.njit(" in compiled.source  # the work around them still compiled


def test_vectorised_functions_stay_in_nests_where_leaving_them_makes_arrays(monkeypatch):
    """The chain's gradient is one pass in one nest; leaving its exp, log1p and tanh to NumPy
    would make five arrays more (measured: 61 against 49 ms at 10^6 entries)."""
    from symgrad.passes import fuse

    monkeypatch.setattr(fuse, "numpy_simd", lambda: True)
    compiled = symgrad.grad(chain, backend="numba")
    x = np.linspace(-1, 1, 1000)
    np.testing.assert_allclose(compiled(x), symgrad.grad(chain)(x), rtol=1e-12)
    assert {"exp", "log1p", "tanh"} <= _fused_ops(compiled.graph), compiled.source


NUMBERS_AS_NUMPY = """
    def wraps(k):
        return np.sum(k * 3 + k // 2)

    def wraps_below(x, k):
        return np.sum(x * (k - 1))

    def inverse_square(x):
        return np.sum(x ** -2 + x)

    def compared(u):
        return np.sum((u * 1) > -1)

    def squared(k):
        return np.sum(k**2 + 1)

    def mixed(a, b):
        return np.sum(a + b * 2)

    def either(a, b):
        return np.sum(((a > 0) + (b > 0)) * a)

    def halves(x, k):
        return np.sum(np.sqrt(k) * x + np.log1p(k) * x)

    def windows(x, w):
        out = np.zeros(len(x) - 2)
        for i in range(len(x) - 2):
            out[i] = np.sum(x[i : i + 3] * w)
        return np.sum(out ** 2)
    """


def test_compiled_numbers_compute_as_numpys(make_fn):
    """uint8 arithmetic wraps at 256 (Numba computes in int64: 919 for 151), an int beside
    uint64 values is a uint64 (Numba's mix is a float64: `k - 1` at 0 gave 0, not 2**64 - 1)
    but compares as it is, int8 with uint64 is float64, a sum of bools is their or,
    a float to a negative int power at 0 is inf (Numba's raised ZeroDivisionError), and a
    float32 window's total adds up in float32 (it added in float64)."""
    m = make_fn(NUMBERS_AS_NUMPY)
    k = np.array([1, 2, 3, 252, 5], dtype=np.uint8)
    assert symgrad.jit(m.wraps, backend="numba")(k) == m.wraps(k) == 151
    x, k64 = np.ones(3), np.array([0, 1, 2], dtype=np.uint64)
    assert symgrad.jit(m.wraps_below, backend="numba")(x, k64) == m.wraps_below(x, k64)
    g = symgrad.grad(m.wraps_below, backend="numba")(x, k64)
    np.testing.assert_array_equal(g, (k64 - 1).astype(float))
    x = np.array([0.0, 1.0, 2.0])
    with np.errstate(divide="ignore"):
        assert symgrad.jit(m.inverse_square, backend="numba")(x) == np.inf
        g = symgrad.grad(m.inverse_square, backend="numba")(x)
    np.testing.assert_array_equal(g, [-np.inf, -1.0, 0.75])
    u = np.array([0, 1, 2**63, 5], dtype=np.uint64)  # (u > -1 compares exactly in NumPy)
    assert symgrad.jit(m.compared, backend="numba")(u) == m.compared(u) == 4
    k = np.array([2**31 + 1, 2**31 + 3, 12345], dtype=np.uint64)  # (uint64 ** 2: uint64)
    assert symgrad.jit(m.squared, backend="numba")(k) == m.squared(k)
    a, b = np.array([1, 2, 3], dtype=np.int8), np.array([2**64 - 1, 5, 2**63], dtype=np.uint64)
    assert symgrad.jit(m.mixed, backend="numba")(a, b) == m.mixed(a, b)  # (float64 in NumPy)
    a, b = np.array([1.0, -2.0, 3.0, 0.5]), np.array([2.0, 1.0, -1.0, 4.0])  # (bool + bool: or)
    assert symgrad.jit(m.either, backend="numba")(a, b) == m.either(a, b) == 2.5
    np.testing.assert_array_equal(symgrad.grad(m.either, backend="numba")(a, b), [1, 1, 1, 1])
    k8, x = np.array([3, 7, 11], dtype=np.int8), np.array([0.5, 1.5, 2.5])  # (float16 in NumPy:
    assert symgrad.jit(m.halves, backend="numba")(x, k8) == m.halves(x, k8)  # not Numba's)
    np.testing.assert_array_equal(
        symgrad.grad(m.halves, backend="numba")(x, k8), symgrad.grad(m.halves)(x, k8)
    )
    x32 = np.linspace(0.1, 0.9, 8, dtype=np.float32)
    w32 = np.array([0.3, -0.2, 0.7], dtype=np.float32)
    value, _ = symgrad.value_and_grad(m.windows, backend="numba")(x32, w32)
    assert value == m.windows(x32, w32)


def test_a_float32_total_adds_up_in_float64(make_fn):
    """A nest's float32 sum of 65,536 entries: added one after the other in float32 it lost
    6e-4 relative; in float64, then a float32, it is as close as NumPy's pairwise sum."""
    mod = make_fn("def f(x):\n    return np.sum(np.tanh(x * 0.9 + 0.1) ** 2)\n")
    x = (np.random.default_rng(16).normal(size=1 << 16) * 0.5).astype(np.float32)
    value, g = symgrad.value_and_grad(mod.f, backend="numba")(x)
    exact = np.sum(np.tanh(x.astype(np.float64) * 0.9 + 0.1) ** 2)
    assert type(value) is np.float32 and g.dtype == np.float32
    assert abs(value - exact) <= 1e-6 * exact


def test_integer_arithmetic_raises_where_numpys_raises(make_fn):
    """Where NumPy raises on integers, Numba's arithmetic gave numbers: an int array to a
    negative int power known only when the function runs (0, 1 and -2**63), and a Python int
    out of a uint8 or int8 array's range, an argument or a literal (wrapped: 300 read as 44).
    Those nodes are NumPy's."""
    mod = make_fn(
        """
        def power(x, k, m):
            return np.sum(x * (k ** m + 1))

        def offset(x, k, c):
            return np.sum(x * (k + c))

        def literal(x, k):
            return np.sum(x * (k + 300))

        def in_a_loop(x, k):
            s = 0.0
            for i in range(len(x)):
                s = s + x[i] * (k[i] * 1000)
            return s
        """
    )
    x, k = np.ones(4), np.arange(4)
    for m in (np.int64(-2), np.full(4, -2)):
        with pytest.raises(ValueError, match="negative integer powers"):
            symgrad.value_and_grad(mod.power, backend="numba")(x, k, m)
    for m in (2, np.int64(3)):
        got = symgrad.value_and_grad(mod.power, backend="numba")(x, k, m)
        np.testing.assert_array_equal(got[1], k**m + 1)
    small = np.array([1, 100, 250, 7], dtype=np.uint8)
    for c in (300, -1):
        with pytest.raises(OverflowError):
            symgrad.grad(mod.offset, backend="numba")(x, small, c)
    np.testing.assert_array_equal(
        symgrad.grad(mod.offset, backend="numba")(x, small, 200), small + 200
    )
    for fn, k in ((mod.literal, small), (mod.in_a_loop, small.astype(np.int8))):
        with pytest.raises(OverflowError):  # (a literal: 300 had been read as 44)
            symgrad.grad(fn, backend="numba")(x, k)


def test_a_mean_over_a_slice_divides_by_its_count(make_fn):
    # (the count of a compiled mean over a frame shorter than the nest was written
    # `shape[0] - 1 * shape[1]`: a smoothness penalty's value 992.7 where 110.3, a 10 x 10
    # one's inf; the gradient was right)
    mod = make_fn(
        """
        def smoothness(u):
            return np.mean((u[1:] - u[:-1]) ** 2)

        def residual(u):
            lap = u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * u[1:-1, 1:-1]
            return np.mean(lap**2)
        """
    )
    for fn, u in (
        (mod.smoothness, np.arange(12.0).reshape(4, 3) ** 1.5),
        (mod.residual, RNG.random((10, 10))),
    ):
        value, _ = symgrad.value_and_grad(fn, backend="numba")(u)
        assert value == pytest.approx(fn(u), rel=1e-12)
        symgrad.check_grads(fn, (u,), 0, backend="numba")


@pytest.mark.parametrize("k", [2, np.int64(2), np.int16(2), np.uint8(3)])
def test_a_power_by_a_numpy_int_has_numpys_dtype(make_fn, k):
    # (x ** (k * 1.0) made a float32 x's power by an np.int16 float64)
    mod = make_fn("def f(x, k):\n    return np.sum(x ** k * x)\n")
    x = np.array([0.5, 0.25], dtype=np.float32)
    for backend in ("numpy", "numba"):
        got, want = symgrad.jit(mod.f, backend=backend)(x, k), mod.f(x, k)
        assert type(got) is type(want) and got == pytest.approx(want, rel=1e-6)
