"""Bad input gets a SymgradError naming the construct, the file, the line and a caret."""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from symgrad.api import _CACHE

BAD = {
    "try": (
        "try:\n        y = x\n    except Exception:\n        y = x\n    return np.sum(y)",
        symgrad.UnsupportedSyntaxError,
        "try/except",
    ),
    "with": (
        "with open('f') as h:\n        y = x\n    return np.sum(y)",
        symgrad.UnsupportedSyntaxError,
        "with block",
    ),
    "yield": ("yield x\n    return np.sum(x)", symgrad.UnsupportedSyntaxError, "yield"),
    "global": ("global G\n    return np.sum(x)", symgrad.UnsupportedSyntaxError, "global"),
    "class": (
        "class A:\n        pass\n    return np.sum(x)",
        symgrad.UnsupportedSyntaxError,
        "class definition",
    ),
    "local_recursion": (
        "def h(v):\n        return h(v)\n    return np.sum(h(x))",
        symgrad.UnsupportedSyntaxError,
        "recursive call to h",
    ),
    "code_after_return_in_loop": (
        "for i in range(3):\n        return np.sum(x)\n        x = x * 2\n    return np.sum(-x)",
        symgrad.UnsupportedSyntaxError,
        "code after a return never runs",
    ),
    "no_value_on_a_path": (
        "if np.sum(x) > 0:\n        return np.sum(x)\n    y = x",
        symgrad.UnsupportedSyntaxError,
        "every path",
    ),
    "code_after_break": (
        "while np.sum(x) < 1:\n        break\n        x = x * 2\n    return np.sum(x)",
        symgrad.UnsupportedSyntaxError,
        "code after break never runs",
    ),
    "setitem_argument": (
        "x[0] = 1.0\n    return np.sum(x)",
        symgrad.UnsupportedSyntaxError,
        "only arrays the function created",
    ),
    "setattr": ("x.flat = 1.0\n    return np.sum(x)", symgrad.UnsupportedSyntaxError, "attribute"),
    "unknown": ("return np.sum(np.fft.fft(x).real)", symgrad.UnknownCallableError, "fft"),
    "random": ("return np.sum(x * np.random.rand(3))", symgrad.UnknownCallableError, "rand"),
    "open": ("open(x)\n    return np.sum(x)", symgrad.UnknownCallableError, "open"),
    "axis": (
        "return np.sum(np.sum(x, axis=x.ndim - 1))",
        symgrad.SymgradError,
        "must be a constant",
    ),
    "undefined": ("return np.sum(x * nowhere)", symgrad.UnknownCallableError, "nowhere"),
    "einsum_diag": ("return np.einsum('...ii->', x)", symgrad.SymgradError, "repeated index"),
    "einsum_keyword": (
        "return np.einsum('ij,ij->', x, x, optimise=True)",
        symgrad.SymgradError,
        "einsum: got an unexpected keyword argument 'optimise'",
    ),
    "einsum_optimize": (
        "return np.einsum('ij,ij->', x, x, optimize=x)",
        symgrad.SymgradError,
        "optimize= must be a constant",
    ),
    "norm_ord": ("return np.linalg.norm(x, ord='nuc')", symgrad.SymgradError, "ord='nuc'"),
    "norm_axes": (
        "return np.linalg.norm(x, ord=1, axis=(0, 1))",
        symgrad.SymgradError,
        "ord=1 and axis=(0, 1)",
    ),
    "no_return": ("y = x", symgrad.UnsupportedSyntaxError, "does not return a value"),
    "varargs": ("return np.sum(x) + np.sum(more[0])", symgrad.UnsupportedSyntaxError, "*args"),
    "invert": ("return np.sum(~(x * 2.0))", symgrad.UnsupportedSyntaxError, "Invert"),
    "sort_in_place": (
        "x.sort(axis=0)\n    return np.sum(x)",
        symgrad.UnsupportedSyntaxError,
        "x.sort() changes the array in place",
    ),
    "copy_args": ("return np.sum(x.copy(order='C'))", symgrad.SymgradError, "takes no arguments"),
    "append_then_assign": (
        "rows = []\n    for i in range(2):\n        out = x * i\n        rows.append(out)\n"
        "        out[0] = 1.0\n    return np.sum(np.stack(rows))",
        symgrad.UnsupportedSyntaxError,
        "holds that array, not a copy",
    ),
    "tuple_item": (  # (it said "only arrays the function created can be assigned")
        "xs = (x, x * 2.0)\n    xs[0] = x * 3.0\n    return np.sum(xs[0])",
        symgrad.UnsupportedSyntaxError,
        "assigning to an item of the tuple xs",
    ),
    "while_reads_its_list": (  # (it never ended: the test read the list before the loop)
        "ys = []\n    while len(ys) < 4:\n        ys.append(x * 2.0)\n    return np.sum(ys[0])",
        symgrad.UnsupportedSyntaxError,
        "the condition reads ys, which the loop appends to",
    ),
    "einsum_ellipsis_summed": (
        "return np.sum(np.einsum('...ij->...i', x))",
        symgrad.SymgradError,
        "an operand with '...' and an index (or '...') that no other operand",
    ),
    "tensordot_axes": (
        "return np.sum(np.tensordot(x, x, axes=len(x) - 2))",
        symgrad.SymgradError,
        "np.tensordot's axes must be a count",
    ),
    "tuple_index": (  # (an index of its ints would be one integer array's)
        "z = np.zeros((2,) * x.ndim)\n    z[(0,) * x.ndim] = np.sum(x)\n    return np.sum(z)",
        symgrad.UnsupportedSyntaxError,
        "an index that is a tuple computed when the function runs",
    ),
    "early_return": (
        "return np.sum(x)\n    y = x",
        symgrad.UnsupportedSyntaxError,
        "code after a return",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_error_names_construct_file_line_and_caret(case, make_fn):
    body, cls, words = BAD[case]
    params = "x, *more" if case == "varargs" else "x"
    m = make_fn(f"TABLE = np.ones(3)\n\n\ndef f({params}):\n    {body}\n")
    with pytest.raises(cls) as info:
        symgrad.grad(m.f)(np.ones((3, 3)))
    err = info.value
    assert isinstance(err, symgrad.SymgradError)
    text = str(err)
    assert words in text
    assert m.__file__ in text and err.loc is not None and err.loc.line >= 4
    assert "^" in text.splitlines()[2]  # the source line, then the caret under the construct
    assert f(err.loc.text.strip()) in text


def f(line):
    return line


def test_a_standard_library_function_is_not_read_from_its_source(make_fn):
    # (collections.namedtuple was inlined: "raise is not supported", in collections/__init__.py)
    m = make_fn(
        "import collections\n\n\ndef f(x):\n"
        "    P = collections.namedtuple('P', 'a b')\n    return np.sum(P(x, x).a)\n"
    )
    with pytest.raises(symgrad.UnknownCallableError, match="collections.namedtuple") as info:
        symgrad.grad(m.f)(np.ones(3))
    assert info.value.loc.file == m.__file__


def test_a_users_module_named_as_a_standard_one_is_the_users(tmp_path):
    # (a module called `code`, as the standard library's, keeps its helpers inlined)
    import importlib.util

    path = tmp_path / "code.py"
    path.write_text(
        "import numpy as np\n\ndef helper(x):\n    return x * 2.0\n\n"
        "def f(x):\n    return np.sum(helper(x))\n"
    )
    spec = importlib.util.spec_from_file_location("code", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    np.testing.assert_array_equal(symgrad.grad(module.f)(np.ones(3)), 2.0)


def test_failed_compilation_caches_nothing_and_fails_again(make_fn):
    m = make_fn("def f(x):\n    return np.sum(np.fft.fft(x).real)\n")
    g = symgrad.grad(m.f)
    for _ in range(2):
        with pytest.raises(symgrad.UnknownCallableError):
            g(np.ones(3))
    assert not _CACHE.get(m.f)


def test_unreadable_sources_are_refused():
    with pytest.raises(symgrad.SourceUnavailableError, match="source"):
        symgrad.grad(np.sin).source
    assert symgrad.grad(lambda x: x * 2)(3.0) == 2.0  # (a lambda of a file: read from its line)
    namespace: dict = {}
    exec("def g(x):\n    return x * 2\n", namespace)
    with pytest.raises(symgrad.SourceUnavailableError):
        symgrad.grad(namespace["g"]).source


def test_recursion_is_refused(make_fn):
    m = make_fn("def f(x):\n    return np.sum(f(x))\n")
    with pytest.raises(symgrad.UnsupportedSyntaxError, match="recursive"):
        symgrad.grad(m.f).source


def test_error_inside_a_helper_points_into_the_helper(make_fn):
    m = make_fn(
        "def helper(x):\n    return np.fft.fft(x)\n\n\ndef f(x):\n    return np.sum(helper(x))\n"
    )
    with pytest.raises(symgrad.UnknownCallableError) as info:
        symgrad.grad(m.f).source
    assert info.value.loc.line == 4  # numpy import line + blank line shift the helper down


def test_no_internal_exception_types_escape(make_fn):
    bodies = [
        "return np.sum(x.bogus())",
        "return np.sum(x[1.5])",
        "a, b = 1, 2, 3\n    return a",
        "return np.sum(np.reshape(x))",
        "return np.sum(x, keepdims=True, nope=1)",
        "return (x, x)",
    ]
    for body in bodies:
        m = make_fn(f"def f(x):\n    {body}\n")
        with pytest.raises(symgrad.SymgradError):
            symgrad.grad(m.f).source


def test_the_truth_of_an_array_fails_as_python_fails(make_fn):
    for body in ("return np.sum(x) * (not x)", "return np.sum(x) * (x < x < x)"):
        m = make_fn(f"def f(x):\n    {body}\n")
        with pytest.raises(ValueError, match="truth value of an array") as python:
            m.f(np.ones(3))
        with pytest.raises(ValueError, match="truth value of an array") as emitted:
            symgrad.value_and_grad(m.f)(np.ones(3))
        assert str(emitted.value) == str(python.value)
        assert symgrad.value_and_grad(m.f)(np.ones(()))[0] == m.f(np.ones(()))


def test_argnums_out_of_range_names_the_count(make_fn):
    m = make_fn("def f(x):\n    return np.sum(x)\n")
    with pytest.raises(symgrad.SymgradError, match="which has 1 parameter$"):
        symgrad.grad(m.f, argnums=1)


def test_argnums_count_the_positional_parameters_as_jaxs(make_fn):
    """-1 was the keyword-only s (d/ds where JAX gives d/dy), and 2 differentiated it."""
    m = make_fn("def h(x, y=1.0, *, s=2.0):\n    return x * y * s\n")
    assert symgrad.grad(m.h, argnums=-1)(1.0, 3.0) == 2.0
    with pytest.raises(symgrad.SymgradError, match="which has 2 positional parameters"):
        symgrad.grad(m.h, argnums=2)


@pytest.mark.parametrize(
    "body, read",
    [
        ("return np.sum(C.WS[0] * x)", "C.WS[0] * x"),
        ("return np.sum(C.D['a'] * x)", "C.D['a'] * x"),
        ("s = 0.0\n    for w in C.WS:\n        s = s + np.sum(w * x)\n    return s", "w * x"),
    ],
)
def test_an_array_a_class_attributes_container_holds_is_refused_as_one(make_fn, body, read):
    """An array held by a class attribute's list or dict, read in the function, was refused
    as "ndarray is not an array" (a global's, or a closure's, is read as a global array is:
    `test_free_arrays`)."""
    m = make_fn(
        f"class C:\n    WS = [np.ones(2), np.ones(2)]\n    D = {{'a': np.ones(2)}}\n\n"
        f"def f(x):\n    {body}\n"
    )
    with pytest.raises(symgrad.SymgradError) as info:
        symgrad.grad(m.f).source
    assert f"{read} reads an array from outside the function" in str(info.value)
    assert "Pass it as an argument" in str(info.value)
