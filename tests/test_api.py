"""The public API: call forms, argnums, dtypes and shapes, vjp, caching, standalone modules."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import traceback
import warnings

import numpy as np
import pytest

import symgrad


@pytest.fixture
def mod(make_fn):
    return make_fn(
        """
        import symgrad

        def loss(W, b, x, y):
            z = np.tanh(W @ x + b)
            return 0.5 * np.sum((z - y) ** 2)

        @symgrad.grad
        def plain(x):
            return np.sum(np.sin(x))

        @symgrad.grad(argnums=(0, 1))
        def pair(x, y, flag=3):
            return np.sum(x * y) * flag

        def vector(x):
            return np.sin(x) * 2.0

        def cube(x):
            return x ** 3
        """
    )


def test_decorator_forms_and_plain_calls(mod):
    x = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(mod.plain(x), np.cos(x))
    dx, dy = mod.pair(x, 2 * x)
    np.testing.assert_allclose(dx, 3 * 2 * x)
    np.testing.assert_allclose(dy, 3 * x)
    dx, dy = mod.pair(x, 2 * x, flag=1)
    np.testing.assert_allclose(dy, x)
    g = symgrad.grad(mod.cube)
    assert g(2.0) == pytest.approx(12.0)


def test_int_argnums_gives_one_gradient_tuple_gives_tuple(mod):
    W, b, x, y = np.ones((2, 3)), np.zeros(2), np.ones(3), np.zeros(2)
    assert isinstance(symgrad.grad(mod.loss, argnums=1)(W, b, x, y), np.ndarray)
    out = symgrad.grad(mod.loss, argnums=(1,))(W, b, x, y)
    assert isinstance(out, tuple) and len(out) == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradients_keep_dtype_and_shape(mod, dtype):
    rng = np.random.default_rng(0)
    W, b = rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal(3).astype(dtype)
    x, y = rng.standard_normal(4).astype(dtype), rng.standard_normal(3).astype(dtype)
    dW, db = symgrad.grad(mod.loss, argnums=(0, 1))(W, b, x, y)
    assert dW.dtype == dtype and db.dtype == dtype
    assert dW.shape == W.shape and db.shape == b.shape
    ref = symgrad.grad(mod.loss, argnums=(0, 1))(*(a.astype(np.float64) for a in (W, b, x, y)))
    np.testing.assert_allclose(dW, ref[0], rtol=1e-4, atol=1e-5)


def test_python_float_and_zero_d_inputs(mod):
    assert isinstance(symgrad.grad(mod.cube)(1.5), float)
    g0 = symgrad.grad(mod.plain.__wrapped__)(np.array(0.3))
    assert isinstance(g0, np.ndarray) and g0.shape == () and g0 == pytest.approx(np.cos(0.3))


def test_vjp_of_an_array_valued_function(mod):
    x = np.linspace(0, 1, 4)
    out, vjp_fn = symgrad.vjp(mod.vector, x)
    np.testing.assert_allclose(out, np.sin(x) * 2)
    (ct,) = vjp_fn(np.ones(4))
    np.testing.assert_allclose(ct, 2 * np.cos(x))
    assert "def vjp_vector(x, out_bar)" in vjp_fn.source or "def vjp_vector(" in vjp_fn.source


def test_grad_of_non_scalar_output_says_so(mod, make_fn):
    with pytest.raises(symgrad.NotDifferentiableError, match="scalar output"):
        symgrad.grad(mod.vector)(np.ones(3))
    # of one entry, with no SyntaxWarning of the module (`1.0[0]`: the seed's entry)
    m = make_fn("def one(w):\n    return np.array([np.sum(w ** 2)])\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(symgrad.NotDifferentiableError, match=r"shape \(1,\)"):
            symgrad.grad(m.one)(np.ones(3))


def test_gradient_for_an_integer_argument_is_refused(mod):
    with pytest.raises(symgrad.NotDifferentiableError, match="'x': it is an int,"):
        symgrad.grad(mod.cube)(3)
    with pytest.raises(symgrad.NotDifferentiableError, match="int64"):
        symgrad.grad(mod.cube)(np.arange(3))


def test_bad_argnums_is_refused(mod):
    with pytest.raises(symgrad.SymgradError, match="argnums"):
        symgrad.grad(mod.loss, argnums=7)


def test_compiled_once_and_cached(mod):
    g1 = symgrad.grad(mod.loss, argnums=(0, 1))
    g2 = symgrad.grad(mod.loss, argnums=(0, 1))
    assert g1.source is g2.source
    assert g1.graph is g2.graph


def test_same_function_gives_byte_identical_source(make_fn):
    src = "def f(x, y):\n    return np.sum(np.exp(x) * y + x / y)\n"
    a = symgrad.grad(make_fn(src).f, argnums=(0, 1)).source
    b = symgrad.grad(make_fn(src).f, argnums=(0, 1)).source
    assert a.split('"""', 2)[2] == b.split('"""', 2)[2]


def test_reading_a_functions_source_looks_through_no_module_list(make_fn, monkeypatch):
    """A decorated function's source (its `def` found from the decorator's line) and one that
    linecache holds (no file) are read with the function's globals: `inspect.getmodule`,
    which `inspect.findsource` calls, checks every loaded module again on each call
    (milliseconds in a test process)."""
    import inspect

    from symgrad.checks.examples import Input, example_function

    mod = make_fn(
        """
        REGISTERED = []

        def keep(f):
            REGISTERED.append(f)
            return f

        @keep
        def f(x):
            return np.sum(np.sin(x) * x)
        """
    )
    cubed = example_function("np.sum(x ** 3)", [Input("x", "4", "real")])  # (linecache's source)
    calls, getmodule = [], inspect.getmodule
    monkeypatch.setattr(inspect, "getmodule", lambda *a: calls.append(a) or getmodule(*a))
    x = np.linspace(-1.0, 1.0, 4)
    got = symgrad.grad(mod.f)(x), symgrad.grad(cubed)(x)
    monkeypatch.undo()
    assert not calls
    np.testing.assert_allclose(got[0], np.cos(x) * x + np.sin(x), rtol=1e-12)
    np.testing.assert_allclose(got[1], 3 * x**2, rtol=1e-12)


def test_emitted_helpers_are_their_source_as_inspect_reads_it():
    import inspect

    from symgrad.emit import codegen

    helpers = codegen._helper_functions()
    assert helpers
    for helper in helpers.values():
        assert codegen._source(helper) == inspect.getsource(helper), helper.__name__


def test_graph_is_a_networkx_graph_of_the_gradient(mod):
    g = symgrad.grad(mod.loss).graph
    import networkx as nx

    assert isinstance(g.nx, nx.MultiDiGraph)
    assert any(n.backward for n in g.nodes())


def test_emitted_module_is_standalone(mod, tmp_path):
    path = tmp_path / "dloss.py"
    source = symgrad.emit_module(mod.loss, str(path), argnums=(0, 1))
    code = source.split('"""', 2)[2]  # after the module docstring
    assert "symgrad" not in code and "import numpy as np" in code
    script = (
        f"import importlib.util, numpy as np\n"
        f"spec = importlib.util.spec_from_file_location('dloss', {str(path)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "dW, db = m.grad_loss(np.ones((2, 3)), np.zeros(2), np.ones(3), np.zeros(2))\n"
        "print(dW.shape, db.shape)\n"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", script], capture_output=True, text=True, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(2, 3) (2,)"


def test_tracebacks_show_the_generated_line(make_fn):
    m = make_fn("def f(x, y):\n    return np.sum(x @ y)\n")
    g = symgrad.grad(m.f)
    g.source
    with pytest.raises(ValueError) as info:
        g(np.ones((2, 3)), np.ones((4, 2)))
    text = "".join(traceback.format_exception(info.value))
    assert "<symgrad grad_f" in text
    assert "@" in text  # the generated line itself is shown


def test_backward_comments_name_the_file_of_an_inlined_helper():
    from tests.fixtures import models

    source = symgrad.grad(models.mlp_bce).source
    assert "# helpers_mod.py line 7: return 1.0 / (1.0 + np.exp(-z))" in source
    assert "# line 18: p = sigmoid(h @ W2 + b2)" in source


def test_vjp_jvp_and_linearize_fill_in_default_arguments(make_fn):
    m = make_fn(
        """
        def h(x, c=2.0):
            return x * c
        """
    )
    x = np.arange(3.0)
    out, vjp_fn = symgrad.vjp(m.h, x)
    np.testing.assert_array_equal(vjp_fn(np.ones(3))[0], 2.0 * np.ones(3))
    assert len(vjp_fn(np.ones(3))) == 1  # one cotangent per primal given
    np.testing.assert_array_equal(symgrad.jvp(m.h, (x,), (np.ones(3),))[1], 2.0 * np.ones(3))
    np.testing.assert_array_equal(symgrad.linearize(m.h, x)[1](np.ones(3)), 2.0 * np.ones(3))


def test_bad_kinds_and_argnums_types_are_symgrad_errors(mod):
    with pytest.raises(symgrad.SymgradError, match="argnums must be an int or a tuple"):
        symgrad.grad(mod.cube, argnums=True)
    with pytest.raises(symgrad.SymgradError, match="unknown kind 'hess'"):
        symgrad.emit_module(mod.cube, kind="hess")
    assert "def hessian_cube(x):" in symgrad.emit_module(mod.cube, kind="hessian")


def test_a_function_changing_its_argument_leaves_the_callers_alone(make_fn):
    m = make_fn("def f(x):\n    x += 1.0\n    return np.sum(x ** 2)\n")
    x = np.array([0.5, -1.0, 2.0])
    before = x.copy()
    value, vjp_fn = symgrad.vjp(m.f, x)
    assert value == np.sum((before + 1) ** 2)
    assert np.allclose(vjp_fn(1.0)[0], 2 * (before + 1))
    value, f_jvp = symgrad.linearize(m.f, x)
    assert np.isclose(f_jvp(np.ones(3)), np.sum(2 * (before + 1)))
    symgrad.check_grads(m.f, (x,), modes=("rev", "fwd"))
    assert np.array_equal(x, before)


def test_tuples_of_arguments_are_asked_for_by_name(mod):
    x = np.ones(3)
    with pytest.raises(symgrad.SymgradError, match=r"jvp\(f, \(x,\), \(v,\)\)"):
        symgrad.jvp(mod.vector, x, x)
    with pytest.raises(symgrad.SymgradError, match=r"the primals must be a tuple"):
        symgrad.hvp(mod.vector, x, x)
    with pytest.raises(symgrad.SymgradError, match=r"check_grads\(f, \(x,\)\)"):
        symgrad.check_grads(mod.vector, x)


def test_a_decorators_wrapper_is_refused_not_read_as_the_function_inside(make_fn):
    # symgrad read the source of the function inside (inspect follows __wrapped__) and missed
    # the wrapper's work: half the gradient of top_doubled, silently
    mod = make_fn(
        """
        import functools

        def double(f):
            @functools.wraps(f)
            def wrapper(*args):
                return 2 * f(*args)
            return wrapper

        @double
        def doubled(x):
            return np.sum(x ** 2)

        def calls_it(x):
            return doubled(x) + 1.0

        class Model:
            @double
            def loss(self, x):
                return np.sum(x ** 3)
        """
    )
    x = np.array([0.5, -1.0])
    for fn in (mod.doubled, mod.calls_it, mod.Model().loss):
        with pytest.raises(symgrad.SourceUnavailableError, match="decorator's wrapper"):
            symgrad.grad(fn)(x)
        with pytest.raises(symgrad.SourceUnavailableError):
            symgrad.check_grads(fn, (x,))
    np.testing.assert_allclose(symgrad.grad(mod.doubled.__wrapped__)(x), 2 * x)


class _Sub(np.ndarray):
    pass


def _bias(b, z):
    return np.sum(np.tanh(z + b) ** 2)


def test_an_ndarray_subclass_argument(tmp_path):
    # any subclass (np.memmap, a user's) raised "truth value of an array is ambiguous"
    z = np.random.default_rng(0).standard_normal((4, 3))
    b = np.array([0.1, -0.2, 0.3])
    t = np.tanh(z + b)
    want = np.sum(2 * t * (1 - t**2), axis=0)
    mapped = np.memmap(tmp_path / "b.dat", dtype=float, mode="w+", shape=(3,))
    mapped[:] = b
    for arg in (b.view(_Sub), mapped):
        np.testing.assert_allclose(symgrad.grad(_bias)(arg, z), want)


def _with_a_mode(x, act="tanh"):
    return np.sum(np.tanh(x)) if act == "tanh" else np.sum(x)


def test_emit_module_refuses_argnums_of_a_str_as_grad_does():
    with pytest.raises(symgrad.NotDifferentiableError, match="'act'"):
        symgrad.emit_module(_with_a_mode, argnums=1, args=(np.ones(2), "tanh"))


def _steps(x, k):
    s = 0.0
    for i in range(k):
        s = s + np.sum(np.sin(x) * i)
    return s


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_module_emitted_for_example_arguments_checks_its_arguments(make_fn, backend):
    # run on other shapes, the module gave gradients of the example's shape, or read out of
    # bounds (Numba), silently
    pytest.importorskip(backend)
    module = make_fn(symgrad.emit_module(_steps, args=(np.ones(5), 3), backend=backend))
    x = np.linspace(-1.0, 1.0, 5)
    np.testing.assert_allclose(module.grad__steps(x, 3), symgrad.grad(_steps)(x, 3))
    np.testing.assert_allclose(module.grad__steps(x, 4), symgrad.grad(_steps)(x, 4))
    for wrong in ((np.ones(4), 3), (np.ones(5, dtype=np.float32), 3)):
        with pytest.raises(ValueError, match=r"specialised for x: float64\[5\]"):
            module.grad__steps(*wrong)


EMITTED = """
def step(x, shape):
    return np.sum(np.tanh(x * shape + 1.0) * x)

def rows(X, w):
    total = 0.0
    for row in X:
        total = total + np.tanh(row @ w)
    return total

def scaled(x, *, scale=2.0):
    return np.sum(x * scale)

def weighted(x, y, *, alpha):
    return np.sum(x * y * alpha)

class Model:
    def __init__(self, W):
        self.W = W

    def loss(self, x):
        return np.sum((self.W @ x) ** 2)
"""


def test_emitted_modules_of_awkward_names_and_signatures(make_fn):
    # a parameter named `shape` (the Numba nest's own: SyntaxError), a function named like the
    # Jacobian driver's locals (`rows`: UnboundLocalError), keyword-only parameters and a bound
    # method given example arguments (refused, IndexError); a guard before the docstring
    m = make_fn(EMITTED)
    x = np.array([0.5, -1.0, 2.0])
    if importlib.util.find_spec("numba") is not None:
        module = make_fn(symgrad.emit_module(m.step, args=(x, 0.5), backend="numba"))
        np.testing.assert_allclose(module.grad_step(x, 0.5), symgrad.grad(m.step)(x, 0.5))
    X = np.arange(6.0).reshape(2, 3) / 6
    module = make_fn(symgrad.emit_module(m.rows, kind="jacrev"))
    np.testing.assert_allclose(module.jacrev_rows(X, x), symgrad.jacrev(m.rows)(X, x))
    module = make_fn(symgrad.emit_module(m.scaled, args=(x, 0.5)))
    np.testing.assert_allclose(module.grad_scaled(x, 0.5), 0.5)
    module = make_fn(symgrad.emit_module(m.weighted, args=(x, x, 2.0)))
    np.testing.assert_allclose(module.grad_weighted(x, x, 2.0), 2 * x)
    W = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0]])
    source = symgrad.emit_module(m.Model(W).loss, args=(x,))
    assert "def grad_loss(" in source
    module = make_fn(symgrad.emit_module(m.rows, kind="jacrev", args=(X, x)))
    assert module.jacrev_rows.__doc__.startswith("Jacobian of rows")


def test_a_module_for_any_shapes_gives_floats_for_an_integer_argument(make_fn):
    # the gradient came back cast to the argument's int dtype: cos(x) * y truncated
    m = make_fn("def f(x, y):\n    return np.sum(np.sin(x) * y)\n")
    module = make_fn(symgrad.emit_module(m.f))
    np.testing.assert_allclose(module.grad_f(np.zeros(3), np.ones(3)), 1.0)
    g = module.grad_f(np.arange(3), np.ones(3))
    assert g.dtype == np.float64 and np.allclose(g, np.cos(np.arange(3)))


def _cubed_sin(x):
    return np.sin(x) * x**2


def test_vjp_fn_and_f_jvp_keep_the_point_they_were_made_at():
    """An array the caller changes in place after vjp() or linearize() changes neither vjp_fn
    nor f_jvp: they differentiate at the primals as given (they read the caller's array)."""
    x = np.linspace(0.2, 1.1, 4)
    want = np.cos(x) * x**2 + 2 * x * np.sin(x)  # the diagonal Jacobian at x
    x_held = x.copy()
    _, vjp_fn = symgrad.vjp(_cubed_sin, x_held)
    _, f_jvp = symgrad.linearize(_cubed_sin, x_held)
    x_held[:] = 0.5
    np.testing.assert_allclose(vjp_fn(np.ones(4))[0], want, rtol=1e-12)
    np.testing.assert_allclose(f_jvp(np.ones(4)), want, rtol=1e-12)


class _Scaled:
    def __init__(self, w):
        self.w = w

    def f(self, x):
        return np.sum(np.sin(self.w * x))


def test_vjp_fn_of_a_method_keeps_its_selfs_arrays():
    m, x = _Scaled(np.array([0.5, 1.5, -1.0])), np.array([0.2, 0.4, 0.6])
    _, vjp_fn = symgrad.vjp(m.f, x)
    want = m.w * np.cos(m.w * x)
    m.w[:] = 3.0
    np.testing.assert_allclose(vjp_fn(1.0)[0], want, rtol=1e-12)
