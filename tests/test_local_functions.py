"""Nested defs and lambdas: inlined where they are called, their free names bound late."""

import numpy as np
import pytest

import symgrad


def layers(W, X, scale=2.0):
    act = lambda z: np.maximum(z, 0.0)  # noqa: E731

    def layer(h, k=1.0):
        return act(h @ W) * scale * k

    h = X
    for _ in range(3):
        h = layer(h, k=0.5) + h
    return np.sum(h**2)


def late_binding(x):
    c = 1.0

    def times_c(y):
        return y * c

    c = 3.0  # the call below sees 3.0, as in Python
    return np.sum(times_c(x))


def read_in_a_loop(x):
    t = 0.0

    def plus_t(v):
        return t + v

    for i in range(x.shape[0]):
        t = plus_t(x[i] ** 2)  # t as the loop has it
    return t


def twice(fn, v):
    return fn(v) * 2.0


def passed_to_a_helper(x):
    a = 3.0
    return np.sum(twice(lambda u: a * u**2, x))


def recursive(x):
    def down(n):
        return x if n == 0 else down(n - 1)

    return np.sum(down(2))


RNG = np.random.default_rng(0)
W, X = 0.5 * RNG.standard_normal((3, 3)), RNG.standard_normal((4, 3))
CASES = [
    (layers, (W, X), (0, 1)),
    (late_binding, (X[0],), (0,)),
    (read_in_a_loop, (X[0],), (0,)),
    (passed_to_a_helper, (X[0],), (0,)),
]


@pytest.mark.parametrize("fn, args, argnums", CASES, ids=[c[0].__name__ for c in CASES])
def test_a_local_function_computes_and_differentiates_as_python(fn, args, argnums):
    symgrad.check_grads(fn, args, argnums)
    value, _ = symgrad.value_and_grad(fn, argnums=argnums)(*args)
    assert value == pytest.approx(fn(*args), rel=1e-12)


def test_a_recursive_local_function_is_refused():
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="recursive call to down"):
        symgrad.grad(recursive)(X[0])


def test_a_partial_is_its_function_with_its_arguments_first(make_fn):
    # "cannot compile a call to functools.partial" (one made in the function still is: it
    # would hold values a loop's body reads from outside it)
    m = make_fn(
        """
        import functools


        def base(x, scale, power=2):
            return np.sum(scale * x**power)


        loss = functools.partial(base, scale=3.0)


        def first_times(coeffs, x):
            return np.sum(coeffs[0] * x)


        COEFFS = [3.0]
        scaled = functools.partial(base, power=3)
        held = functools.partial(first_times, COEFFS)


        def f(x):
            return loss(x) + scaled(x, 0.5) + held(x)
        """
    )
    x = np.array([0.3, -0.7, 1.1])
    assert symgrad.jit(m.f)(x) == pytest.approx(m.f(x), rel=1e-12)
    symgrad.check_grads(m.f, (x,))
    m.COEFFS[0] = 5.0  # (a list the partial holds, changed in place: compiled again)
    assert symgrad.jit(m.f)(x) == pytest.approx(m.f(x), rel=1e-12)


MODULE_LAMBDAS = """
relu = lambda z: np.maximum(z, 0.0)
ACTS = {
    "leaky": lambda z: np.where(z > 0, z, 0.1 * z),
    "tanh": np.tanh,
}
PAIR = (lambda a: a * 2.0, lambda a: a * 3.0)
sq = lambda x: np.sum(x ** 2)
curried = lambda a: lambda b: a * b
summed = lambda x: sum(v ** 2 for v in x) + np.sum([x[i] * i for i in range(2)])


def make(alpha):
    return lambda z: np.where(z > 0, z, alpha * z)


leaky = make(0.3)  # (a closure's)


def f(x, act=lambda z: np.tanh(z) * 2.0):
    return np.sum(relu(x) * ACTS["leaky"](x) + PAIR[1](x) + act(x) + leaky(x) ** 2)
"""


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_modules_lambdas_are_read_from_their_lines(make_fn, backend):
    # (each was "cannot differentiate the lambda <lambda>: ... Define it with `def` instead")
    pytest.importorskip(backend)
    m = make_fn(MODULE_LAMBDAS)
    x = np.array([0.3, -0.7, 1.2])
    symgrad.check_grads(m.f, (x,), modes=("rev", "fwd"), backend=backend)
    symgrad.check_grads(m.sq, (x,), backend=backend)
    assert "def grad_sq(x):" in symgrad.grad(m.sq, backend=backend).source
    _, pull = symgrad.vjp(m.PAIR[0], x, backend=backend)  # (the first of two on its line)
    np.testing.assert_array_equal(pull(np.ones(3))[0], np.full(3, 2.0))
    _, pull = symgrad.vjp(m.curried(3.0), x, backend=backend)  # (the inner lambda's source)
    np.testing.assert_array_equal(pull(np.ones(3))[0], np.full(3, 3.0))
    hessian = symgrad.hessian(m.sq, backend=backend)  # (hessian_<lambda>: a SyntaxError)
    np.testing.assert_array_equal(hessian(x), 2.0 * np.eye(3))
    assert hessian.__name__ == "hessian_sq"
    # read again by a second transform (the first's desugaring changed the file's kept AST:
    # "name 'total' is not defined")
    symgrad.check_grads(m.summed, (x,), modes=("rev", "fwd"), backend=backend)


def test_a_lambda_whose_line_changed_is_refused(tmp_path):
    from tests.conftest import load_module

    m = load_module(tmp_path, "sq = lambda x: np.sum(x ** 2)\n")
    path = tmp_path / (m.__name__ + ".py")
    path.write_text("import numpy as np\n\nsq = lambda x: np.sum(x ** 3)\n")
    with pytest.raises(symgrad.SourceUnavailableError, match="the file changed"):
        symgrad.grad(m.sq)(np.ones(2))
