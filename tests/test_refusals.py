"""The README's list of refused constructs stays true: each item is refused, with the fence's
`UnsupportedSyntaxError`, and every construct in the fence's table of refusals is in the list."""

from __future__ import annotations

import ast
import dataclasses
import functools
import re
from pathlib import Path

import numpy as np
import pytest

import symgrad
from symgrad.frontend.fence import REJECT

README = Path(__file__).parents[1] / "README.md"

# Each item of the README's list, as written there, and functions that use what it names.
REFUSED = {
    "code after a `return`, `break` or `continue`": [
        "return x\nx = 2 * x",
        "for i in range(3):\n    break\n    x = 2 * x\nreturn x",
        "for i in range(3):\n    continue\n    x = 2 * x\nreturn x",
        "for i in range(3):\n    return x\n    x = 2 * x\nreturn x",
    ],
    "a path that returns no value": ["if x > 0:\n    return x"],
    "`*args` and `**kwargs` parameters of the function differentiated (a function it calls may "
    "take them)": [
        "def f(*xs):\n    return xs[0]",
        "def f(x, **kw):\n    return x",
    ],
    "`obj.attr = v` of an object the block did not make and `f(x)[i] = v`": [
        "x.attr = 1.0\nreturn x",
        "np.ravel(x)[0] = 1.0\nreturn x",
    ],
    "`try`, `with`, `del`, `global`, `nonlocal`, a bare `raise` (one raising an exception, and an "
    "`assert`, are checks the emitted code makes too)": [
        "try:\n    y = x\nexcept ValueError:\n    y = x\nreturn y",
        "with open('f') as h:\n    y = x\nreturn y",
        "if x > 0:\n    raise\nreturn x",
        "y = x\ndel y\nreturn x",
        "global G\nreturn x",
        "def g():\n    nonlocal x\n    return x\nreturn g()",
    ],
    "a `class`, an `import` or a decorated `def` inside the function": [
        "class A:\n    pass\nreturn x",
        "@np.vectorize\ndef g(y):\n    return 2 * y\nreturn g(x)",
        "import math\nreturn x",
        "from math import pi\nreturn pi * x",
    ],
    "`async`, `await`, `yield`, `yield from`": [
        "async def g(h):\n    async with h:\n        pass\n    async for i in h:\n        await i\n"
        "return x",
        "yield x\nreturn x",
        "yield from x\nreturn x",
    ],
    "set comprehensions and dict comprehensions of keys known only at run time, a comprehension "
    "in a `while` condition or an `assert`, sets, f-strings of runtime values, `:=`, `*` in a "
    "list or tuple display (`[*a, *b]`, where a call's `f(*xs, **kw)` passes a tuple's, list's "
    "or dict's items)": [
        "return x * len({i for i in range(3)})",
        "d = {i: x for i in range(len(x))}\nreturn d[0]",
        "while sum([i for i in range(3)]) > 5:\n    x = x + 1\nreturn x",
        "assert all(i >= 0 for i in range(3))\nreturn x",
        "s = {1, 2}\nreturn x",
        "s = f'{x}'\nreturn x",
        "return (y := x)",
        "return np.stack([*(x, x)])",
    ],
}


def readme_items() -> list[str]:
    """The README's list: the items between its introduction's colon and "Anything"."""
    found = re.search(r"^Refused, .*?\)\): (.*?)\. Anything", README.read_text(), re.M | re.S)
    assert found, "README.md: the paragraph 'Refused, ...: item; item. Anything ...' is gone"
    return [" ".join(item.split()) for item in re.split(r";\s", found.group(1))]


def _function(snippet: str) -> str:
    if snippet.startswith("def f("):
        return snippet
    return "def f(x):\n" + "".join(f"    {line}\n" for line in snippet.splitlines())


def test_the_readme_lists_these_items():
    assert readme_items() == list(REFUSED)


@pytest.mark.parametrize(
    "snippet",
    [s for snippets in REFUSED.values() for s in snippets],
    ids=lambda s: s.split("\n")[0][:30],
)
def test_each_item_is_refused(make_fn, snippet):
    mod = make_fn(_function(snippet))
    with pytest.raises(symgrad.UnsupportedSyntaxError):
        symgrad.grad(mod.f).source


def test_every_construct_the_fence_refuses_is_listed():
    used = {
        type(node)
        for snippets in REFUSED.values()
        for s in snippets
        for node in ast.walk(ast.parse(_function(s)))
    }
    missing = sorted(kind.__name__ for kind in set(REJECT) - used)
    assert not missing, f"the fence refuses {missing}: add them to README.md's list (and here)"


class _Model:  # a plain class (no dataclass) holding its weights
    def __init__(self, W):
        self.W = W

    def __call__(self, x):
        return np.tanh(self.W @ x)


def _called(m, x):
    return np.sum(m(x))


def _attribute(m, x):
    return np.sum(m.W @ x)


@pytest.mark.parametrize("f", [_called, _attribute])
def test_a_plain_object_argument_is_read_as_a_container_of_its_attributes(f):
    # it was refused ("m is read as an array, which cannot be called"): a model passed to a
    # loss, called or read, as a method's self is read
    m, x = _Model(np.array([[0.5, 0.1], [0.2, 0.4]])), np.array([0.3, -0.7])
    assert symgrad.jit(f)(m, x) == pytest.approx(f(m, x), rel=1e-12)
    symgrad.check_grads(f, (m, x), argnums=1)
    m.W = m.W * 2.0  # (read again at each call, as self's are)
    assert symgrad.jit(f)(m, x) == pytest.approx(f(m, x), rel=1e-12)
    with pytest.raises(symgrad.NotDifferentiableError, match="dataclass"):
        symgrad.grad(f, argnums=0)(m, x)


def test_a_callable_argument_that_is_no_function_is_refused_with_what_works():
    """`f(x, act)` called with a functools.partial: the refusal says which callables work (it
    had said only that an array cannot be called)."""
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="a def, np.tanh") as info:
        symgrad.grad(_called, argnums=1)(functools.partial(np.tanh), np.ones(2))
    assert "test_refusals.py" in str(info.value)


def _key_computed(params, x):  # (a loop over range() of constants would be unrolled)
    for i in range(len(x) - 1):
        x = np.tanh(params["W%d" % i] @ x)
    return np.sum(x)


def _tolist(params, x):
    return (2.0 * x).tolist()[0] * x[1]


def _lambdas_appended(params, x):  # (the message had said the function returns a function)
    fs = []
    for k in range(2):
        fs.append(lambda v, k=k: v * params["W0"][k, k])
    return sum(np.sum(g(x)) for g in fs)


@dataclasses.dataclass
class _Layer:
    W: np.ndarray


def _objects_appended(params, x):  # (the message had said the function must return an array)
    layers = [_Layer(params["W0"] * k) for k in range(2)]
    return np.sum(layers[1].W @ x)


@pytest.mark.parametrize(
    "f, says, hint",
    [
        (_key_computed, "a key computed when", "for k in d"),
        (_tolist, ".tolist", "keep the array (2.0 * x)"),
        (_lambdas_appended, "loop carries or appends a function", "ys.append(f(x))"),
        (_objects_appended, "loop carries or appends a _Layer object", "ws.append(w)"),
    ],
)
def test_a_refusal_says_what_to_write_instead(f, says, hint):
    # "subscript of a non-array value", and ".tolist is not supported" with no suggestion
    with pytest.raises(symgrad.SymgradError, match=re.escape(says)) as info:
        symgrad.grad(f, argnums=1)({"W0": np.eye(2), "W1": np.eye(2)}, np.ones(2))
    assert hint in str(info.value)


@pytest.mark.parametrize(
    "body, says",
    [
        ("return np.sum(np.abs(x * 1j))", "the complex number 1j"),
        ("return np.sum(np.abs(x * C))", "'C' is complex"),
        ("return np.sum(np.abs(x.astype(np.complex128)) ** 2)", "a complex dtype"),
        ("return np.sum(np.abs(np.zeros(3, dtype=complex) + x) ** 2)", "a complex dtype"),
    ],
)
def test_complex_numbers_are_refused(make_fn, body, says):
    mod = make_fn(f"C = 2j\n\ndef f(x):\n    {body}\n")
    with pytest.raises(symgrad.SymgradError, match=says):
        symgrad.grad(mod.f)(np.ones(3))


def test_a_complex_argument_is_refused_even_when_not_differentiated(make_fn):
    mod = make_fn("def f(x, c):\n    return np.sum(np.abs(x * c))\n")
    for c in (np.array([1j, 2.0, 1.0]), 1j):
        with pytest.raises(symgrad.SymgradError, match="is complex"):
            symgrad.grad(mod.f)(np.ones(3), c)
        with pytest.raises(symgrad.SymgradError, match="is complex"):
            symgrad.jvp(mod.f, (np.ones(3), c), (np.ones(3), None))


def test_np_correlate_and_convolve_of_an_unknown_mode_or_a_longer_v_are_refused(make_fn):
    mod = make_fn(
        """
        def f(x, w):
            return np.sum(np.correlate(x, w) ** 2) + np.sum(np.convolve(x, w, mode="full") * x[0])

        def mode(x, w):
            return np.sum(np.convolve(x, w, mode="middle"))

        def swapped(x, w):
            return np.sum(np.correlate(w, x))
        """
    )
    x, w = np.linspace(-1.0, 2.0, 12), np.array([0.5, -1.0, 0.25])
    symgrad.check_grads(mod.f, (x, w), argnums=(0, 1), modes=("rev", "fwd"))
    with pytest.raises(symgrad.SymgradError, match="np.convolve's mode must be one of"):
        symgrad.grad(mod.mode)(x, w)
    with pytest.raises(symgrad.SymgradError, match="v longer than a") as e:
        symgrad.grad(mod.swapped)(x, w)
    assert "np.correlate(w, x)" in e.value.loc.text  # (where it is called)


def test_a_range_of_bounds_known_when_run_inside_zip_is_refused_clearly(make_fn):
    """Its ints would be np.arange's int64s, where Python's are ints (`2 ** -i`): refused."""
    mod = make_fn(
        """
        def f(x, y):
            h = 0.0
            for i, v in zip(range(len(x)), y):
                h = h + x[i] * v
            return h
        """
    )
    with pytest.raises(symgrad.SymgradError, match=r"range\(\) inside zip\(\) needs bounds"):
        symgrad.grad(mod.f)(np.ones(3), np.ones(3))


def test_a_loop_target_bound_before_the_loop_is_refused_with_what_works(make_fn):
    """`i = 0; for i in range(n): ...; x[i]` had been refused as bound only inside the loop;
    the refusal says what the target is, and a name of one's own works."""
    mod = make_fn(
        """
        def target(x):
            i = 0
            for i in range(len(x)):
                x = x * 1.0
            return x[i] ** 2

        def own(x):
            last = 0
            for i in range(len(x)):
                x = x * 1.0
                last = i
            return x[last] ** 2
        """
    )
    x = np.array([0.5, 1.5, 2.0])
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="target of the loop") as info:
        symgrad.grad(mod.target)(x)
    assert "i_last = i" in str(info.value)
    np.testing.assert_array_equal(symgrad.grad(mod.own)(x), [0.0, 0.0, 4.0])


def _columns_joined(X, w):
    return np.sum(np.c_[X, np.ones(len(X))] @ w)


def test_numpys_index_tricks_are_named_with_what_to_write():
    # ("subscript of a non-array value is not supported", naming neither np.c_ nor np.hstack)
    with pytest.raises(symgrad.SymgradError, match=r"np\.c_\[\.\.\.\] is not supported") as info:
        symgrad.grad(_columns_joined, argnums=1)(np.ones((3, 2)), np.ones(3))
    assert "np.hstack" in str(info.value)


def _sorted_by_fields(x):
    return np.sum(np.sort(x, order=None) ** 2)


def test_a_numpy_keyword_a_rule_does_not_take_is_named_as_unsupported():
    # ("bad arguments to sort: got an unexpected keyword argument 'order'": a user's mistake)
    with pytest.raises(symgrad.SymgradError, match=r"np\.sort's argument 'order' is not supp"):
        symgrad.grad(_sorted_by_fields)(np.ones(3))
