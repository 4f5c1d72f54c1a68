"""Arrays filled element by element: updates in place where nothing can tell, a tape of what the
backward loop reads, gradients exact in every mode.

The in-place rule is `symgrad.emit.inplace`, the tape's `symgrad.passes.tape`. Each function is
checked against central differences in reverse and forward mode (and forward over reverse for
some); the emitted source pins each decision: the safe cases update in place and tape no array,
the unsafe ones (a value read after the update, taped, read by the backward pass, two names
for one array, a row kept in a list, updates under branches, a caller's array) keep the copy.
"""

from __future__ import annotations

import numpy as np
import pytest

import symgrad
from symgrad.emit import emit_module, inplace, load
from tests.conftest import BACKENDS, load_module

RNG = np.random.default_rng(7)

FUNCTIONS = """
def conv1d(x, w, n):
    out = np.zeros(n)
    for i in range(n):
        out[i] = np.sum(x[i:i + 3] * w)
    return np.sum(out ** 2)


def fill_while(x, n):
    out = np.zeros(n)
    i = 0
    while i < n:
        out[i] = np.tanh(x[i]) * x[i + 1]
        i = i + 1
    return np.sum(out ** 2)


def fill_until(x, n):
    out = np.zeros(n)
    for i in range(n):
        out[i] = np.sin(x[i]) * 2.0
        if np.sum(out) > 1.5:
            break
    return np.sum(out * x[:n])


def overwritten(x, n):
    out = np.zeros(3)
    for i in range(n):
        out[0] = out[0] * 0.5 + x[i]
        out[2] = np.sin(x[i])
        out[2] = x[i] ** 2
    return np.sum(out ** 2)


def overwritten_and_read(x, n):
    out = np.zeros(3)
    for i in range(n):
        out[0] = out[0] * 0.5 + x[i]
        out[2] = x[i] ** 2
        out[2] = out[2] * x[i]
    return np.sum(out ** 2)


def under_branches(x, n):
    out = np.zeros(n)
    for i in range(n):
        if x[i] > 0:
            out[i] = x[i] ** 2
        else:
            out[i] = np.sin(x[i])
    return np.sum(out * x[:n])


def fill2d(x, n, m):
    A = np.zeros((n, m))
    for i in range(n):
        for j in range(m):
            A[i, j] = np.sin(x[i] * x[j])
    return np.sum(A ** 2)


def branch_made(x):
    if np.sum(x) > 0:
        y = np.zeros_like(x)
        y[0] = np.sum(x ** 2)
    else:
        y = x * 1.0
    return np.sum(y * x)


def read_after(x):
    a = x * 2.0
    b = a * x
    a[0] = 0.0
    return np.sum(a * b)


def taped(x, n):
    out = np.zeros(n)
    for i in range(n):
        out[i] = np.sin(x[i]) * np.sum(out)
    return np.sum(out ** 2)


def two_names(x):
    a = np.exp(x)
    b = np.exp(x)
    a[0] = 0.0
    return np.sum(a * b)


def one_array_two_names(x):
    a = np.exp(x)
    b = a
    a[0] = 0.0
    return np.sum(b * x)


def rows_kept(x, n):  # Python's list holds one array, changed each iteration: refused
    out = np.zeros(2)
    rows = []
    for i in range(n):
        out[0] = x[i]
        rows.append(out)
    return np.sum(np.stack(rows) ** 2)


def fill_vector(x, n):
    out = np.zeros(n)
    for i in range(n):
        out[i] = x[i] ** 2
    return out


def state_rows(x, w, n):  # the backward pass reads s[i] of each step, which the step changes
    s = np.stack([x, x * 2.0])
    total = 0.0
    for t in range(n):
        for i in range(2):
            h = np.tanh(s[i] * w + s[1 - i])
            s[i] = h
        total = total + np.sum(s[0] * s[1])
    return total
"""


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    return load_module(tmp_path_factory.mktemp("inplace"), FUNCTIONS)


def normal(*shape):
    return RNG.standard_normal(shape)


CASES = {
    "conv1d": ("conv1d", lambda: (normal(9), normal(3), 7), (0, 1)),
    "conv1d_0": ("conv1d", lambda: (normal(4), normal(3), 0), (0, 1)),
    "fill_while": ("fill_while", lambda: (normal(6), 5), 0),
    "fill_until": ("fill_until", lambda: (RNG.uniform(0.2, 1.0, 6), 6), 0),
    "overwritten": ("overwritten", lambda: (normal(5), 5), 0),
    "overwritten_and_read": ("overwritten_and_read", lambda: (normal(5), 5), 0),
    "under_branches": ("under_branches", lambda: (normal(6), 6), 0),
    "fill2d": ("fill2d", lambda: (normal(4), 3, 4), 0),
    "branch_made": ("branch_made", lambda: (normal(4),), 0),
    "branch_made_else": ("branch_made", lambda: (-np.abs(normal(4)),), 0),
    "read_after": ("read_after", lambda: (normal(4),), 0),
    "taped": ("taped", lambda: (normal(5), 5), 0),
    "two_names": ("two_names", lambda: (normal(4),), 0),
    "one_array_two_names": ("one_array_two_names", lambda: (normal(4),), 0),
    "state_rows": ("state_rows", lambda: (normal(5), normal(5), 3), (0, 1)),
    "state_rows_listed": ("state_rows", lambda: (normal(1100), normal(1100), 2), (0, 1)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradients_match_central_differences_in_both_modes(case, m):
    name, make, argnums = CASES[case]
    args = make()
    before = [np.copy(a) for a in args]
    symgrad.check_grads(getattr(m, name), args, argnums, modes=("rev", "fwd"))
    for a, b in zip(args, before):  # the caller's arrays are never changed
        assert np.array_equal(a, b)


@pytest.mark.parametrize(
    "case", ["conv1d", "fill2d", "fill_until", "overwritten", "under_branches", "taped"]
)
def test_second_derivatives_by_forward_over_reverse(case, m):
    name, make, argnums = CASES[case]
    symgrad.check_grads(getattr(m, name), make(), argnums, modes=("fwd",), order=2)


def grad_code(fn, **kwargs) -> str:
    """The emitted gradient function's code, comments left out."""
    source = symgrad.grad(fn, **kwargs).source
    body = source[source.index(f"def grad_{fn.__name__}(") :]
    return "\n".join(line for line in body.splitlines() if not line.strip().startswith("#"))


def test_the_conv_loops_update_in_place_and_tape_only_the_index(m):
    code = grad_code(m.conv1d, argnums=(0, 1))
    assert "_setitem" not in symgrad.grad(m.conv1d, argnums=(0, 1)).source  # nor its helper
    assert "    for i in range(n):\n        out_1[i] = np.sum(" in code
    assert "        out_bar[i_1] = 0.0\n" in code  # the backward loop too
    assert "for i_1 in reversed(range(n)):" in code and "tape" not in code  # the index alone


def test_nested_loops_filling_a_2d_array_tape_indices_alone(m):
    code = grad_code(m.fill2d)
    assert "_setitem" not in code
    assert "for i_1 in reversed(range(n)):" in code and "A_2[i, j] = np.sin(" in code
    assert "A_bar_1[i_1, j_2] = 0.0" in code and "tape" not in code


def test_while_loops_and_loops_that_break_update_in_place(m):
    for fn in (m.fill_while, m.fill_until, m.overwritten):
        assert "_setitem" not in grad_code(fn), fn.__name__
    assert "tape.append((i,))" in grad_code(m.fill_while)  # no array on the tape
    # the backward loop's running cotangent starts as a view of x: one copy, then updates
    assert "    out_bar = np.copy(out_1_bar)\n" in grad_code(m.fill_until)


def test_rows_the_tape_keeps_are_written_before_the_state_changes_in_place(m):
    g = symgrad.grad(m.state_rows, argnums=(0, 1))
    g(normal(5), normal(5), 2)  # rows in arrays: s[i] written into its stack, then updated
    assert "        s_2 = np.copy(s_1)\n" in g.source  # once a step: the outer tape keeps s
    assert "            t4 = s_2[i]\n            t_rows[i] = t4\n" in g.source
    assert "            s_2[i] = h\n" in g.source and "_setitem(s_2" not in g.source
    g(normal(1100), normal(1100), 2)  # rows too long for arrays: a copy of s[i] in a list
    assert "t_rows_list.append(t4.copy())" in g.source and "_setitem(s_2" not in g.source


@pytest.mark.parametrize(
    "name, why",
    [
        ("read_after", "the backward pass reads a before its update"),
        ("taped", "the backward loop reads out's values: it is taped"),
        ("overwritten_and_read", "the backward loop recomputes out[2] from out: taped"),
        ("one_array_two_names", "exp's backward reads a = exp(x) before the update"),
        ("two_names", "a and b are one value, read after the update"),
        ("under_branches", "an update in a branch copies the array it was given"),
    ],
)
def test_unsafe_updates_keep_the_copy(m, name, why):
    assert "_setitem(" in grad_code(getattr(m, name)), why


def test_the_taped_array_is_recorded(m):
    assert "tape.append((i, out_1))" in grad_code(m.taped)


def test_one_array_with_two_names_is_updated_for_both(m):
    x = normal(4)
    b = np.exp(x)
    b[0] = 0.0
    expected = b + x * np.exp(x)  # d/dx sum(b * x), with b[0] = 0 whatever x is
    expected[0] = 0.0
    assert np.allclose(symgrad.grad(m.one_array_two_names)(x), expected)


def state_updated(x):
    state = {"h": x * 2.0, "layers": [x * 1.0, x**2]}
    state["h"][0] += x[1] ** 2
    state["layers"][1][2] = state["h"][0] * 3.0
    return np.sum(state["h"] ** 2) + np.sum(state["layers"][1] * x)


def test_an_element_of_a_containers_array_is_assigned_as_python_does():
    """(`state["h"][0] += v` was "assignment to an element of an expression")"""
    x = normal(4)
    for backend in ("numpy", "numba"):
        symgrad.check_grads(state_updated, (x,), modes=("rev", "fwd"), backend=backend)
        assert symgrad.jit(state_updated, backend=backend)(x) == pytest.approx(state_updated(x))


def kernel_with_a_diagonal(X, s):  # (np.fill_diagonal: "cannot compile a call")
    K = np.exp(-(np.subtract.outer(X, X) ** 2))
    np.fill_diagonal(K, s)
    C = K[:, :2] * 1.0
    np.fill_diagonal(C, np.diag(K)[:2] * 2.0)
    D = np.outer(X, X)
    np.fill_diagonal(D, X[:3])  # (NumPy's entries in turn: a shorter v's again from its first,
    E = np.zeros((2, 3))  # a longer v's first ones; was a ValueError)
    np.fill_diagonal(E, X)
    np.fill_diagonal(E, X[:0])  # (none: nothing written; was an IndexError)
    return np.sum(np.linalg.solve(K, X)) + np.sum(C**2) + np.sum(D * X[0]) + np.sum(E**2)


def test_fill_diagonal_assigns_the_diagonal_of_a_matrix_made():
    X = normal(4)
    for backend in ("numpy", "numba"):
        symgrad.check_grads(kernel_with_a_diagonal, (X, 1.5), (0, 1), backend=backend)
        got = symgrad.jit(kernel_with_a_diagonal, backend=backend)(X, 1.5)
        assert got == pytest.approx(kernel_with_a_diagonal(X, 1.5), rel=1e-12)
    with pytest.raises(symgrad.SymgradError, match="only arrays the function created"):
        symgrad.grad(_fills_an_argument)(np.ones((2, 2)))
    with pytest.raises(symgrad.SymgradError, match="for a matrix"):
        symgrad.grad(_fills_a_cube)(np.ones((2, 2, 2)))


def _fills_an_argument(A):
    np.fill_diagonal(A, 0.0)
    return np.sum(A)


def _fills_a_cube(A):
    B = A * 1.0
    np.fill_diagonal(B, 0.0)
    return np.sum(B)


def copying(graph, name: str):
    """The function the graph gives when every update copies (no `symgrad.emit.inplace`)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(inplace, "plan", lambda *args, **kwargs: inplace.Plan())
        source = emit_module(graph, name, "every update copies")
    assert "np.copy(" not in source and "_setitem(" in source
    return load(source, name)


def test_a_list_keeping_an_array_the_loop_changes_is_refused(m):
    with pytest.raises(symgrad.UnsupportedSyntaxError, match=r"rows.append\(out.copy\(\)\)"):
        symgrad.grad(m.rows_kept)(normal(4), 4)


@pytest.mark.parametrize("case", sorted(CASES))
def test_updating_in_place_gives_what_copying_gives_bit_for_bit(case, m, loops_kept):
    name, make, argnums = CASES[case]  # (loops kept: vectorised ones update nothing)
    args = make()
    g = symgrad.grad(getattr(m, name), argnums=argnums)  # (its module for any shapes: the
    result = load(emit_module(g.graph, f"grad_{name}", ""), f"grad_{name}")(*args)  # one
    reference = copying(g.graph, f"grad_{name}")(*args)  # specialised computes otherwise)
    for a, b in zip(*(r if isinstance(r, tuple) else (r,) for r in (result, reference))):
        assert np.array_equal(a, b)


def test_a_cotangent_given_by_the_caller_is_not_changed(m):
    x = normal(5)
    out, back = symgrad.vjp(m.fill_vector, x, 5)
    assert np.allclose(out, x**2)
    ct = normal(5)
    kept = ct.copy()
    assert np.allclose(back(ct)[0], 2 * x * kept)
    assert np.array_equal(ct, kept)
    assert np.allclose(symgrad.jacrev(m.fill_vector)(x, 5), np.diag(2 * x))


def test_value_and_grad_and_jvp_through_an_update_in_place(m):
    x, w = normal(9), normal(3)
    value, (x_bar, w_bar) = symgrad.value_and_grad(m.conv1d, argnums=(0, 1))(x, w, 7)
    out = np.array([np.sum(x[i : i + 3] * w) for i in range(7)])
    assert np.isclose(value, np.sum(out**2))
    dx = normal(9)
    _, tangent = symgrad.jvp(m.conv1d, (x, w, 7), (dx, np.zeros(3), None))
    assert np.isclose(tangent, np.sum(x_bar * dx))


def test_forward_mode_updates_the_tangent_in_place(m):
    x, w = normal(9), normal(3)
    _, f_jvp = symgrad.linearize(m.conv1d, x, w, 7)
    assert "_setitem" not in f_jvp.source
    written = "_floats_only(np.sum(x_dot[i:t2] * w + w_dot * t3), out_1)"  # (ints: zeros)
    assert f"        out_1_dot[i] = {written}\n" in f_jvp.source
    hessian = symgrad.hessian(m.conv1d).source  # forward over reverse: both loops
    assert "_setitem" not in hessian and "out_bar_dot[i_1] = 0.0" in hessian


def centred_squares(x, mu):
    y = x @ np.ones((x.shape[1], x.shape[1]))  # a new array, large
    y -= mu  # written in place: the result is y's memory
    return np.sum(np.exp(-(y**2)))


def kept_before(x, mu):
    y = x * 2.0
    z = y - mu  # y is read again below: z gets its own array
    return np.sum(z * y)


@pytest.mark.parametrize("fn", [centred_squares, kept_before])
def test_large_elementwise_results_reuse_a_dead_operands_memory(fn):
    """`y = y - mu` of a large new y that nothing reads afterwards is `y -= mu` (no array made
    for the result, y's memory not held beside it); where y is read afterwards, it is not."""
    from symgrad.emit.frees import FREED

    rows = FREED // 8 // 4 + 1  # x @ ... is rows x 4 float64s: past FREED bytes
    rng = np.random.default_rng(0)
    args = (rng.standard_normal((rows, 4)) * 0.1, rng.standard_normal(4) * 0.1)
    symgrad.check_grads(fn, args, (0, 1), modes=("rev", "fwd"), eps=1e-6)
    g = symgrad.grad(fn, (0, 1))
    g(*args)
    code = [line for line in g.source.splitlines() if not line.lstrip().startswith("#")]
    assert any(line.endswith(" -= mu") for line in code) == (fn is centred_squares), g.source


def lse_shifted(x):
    a = np.max(x)
    return a + np.log(np.sum(np.exp(x - a)))


def exp_kept(x):
    y = x - 1.0
    return np.sum(np.exp(y) * y)  # y is read after the exp: exp gets its own array


@pytest.mark.parametrize("fn", [lse_shifted, exp_kept])
def test_a_ufunc_of_a_dead_large_operand_writes_into_it(fn):
    """`np.exp(x - a)` of a large temporary nothing reads afterwards is `t = x - a` then
    `np.exp(t, out=t)`: one array of x's size, not two (a logsumexp's gradient, 13.9 -> 8.5 ms
    at 1.28M entries); where the operand is read afterwards, exp makes its own array."""
    from symgrad.emit.frees import FREED

    x = np.random.default_rng(1).standard_normal(FREED // 8 + 1)
    symgrad.check_grads(fn, (x,), 0, modes=("rev", "fwd"), eps=1e-6)
    g = symgrad.grad(fn)
    g(x)
    code = [line for line in g.source.splitlines() if not line.lstrip().startswith("#")]
    written = [line.strip() for line in code if ", out=" in line]
    assert (written == ["np.exp(t1, out=t1)"]) == (fn is lse_shifted), g.source


def assembled(k, conn, x):
    K = np.zeros((4, 4))
    for e in range(conn.shape[0]):
        idx = conn[e]
        K[np.ix_(idx, idx)] += k[e] * np.array([[1.0, -1.0], [-1.0, 1.0]])
    u = np.linalg.solve(K + np.eye(4), np.ones(4))
    return (
        np.sum(u**2)
        + np.sum(K[np.ix_(conn[0], [0, 3])] * x[:2, :2])
        + np.sum(x[np.ix_(x[:, 0] > 0, conn[1])] ** 2)
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_finite_element_assembly_by_np_ix_(backend):
    # (np.ix_ was refused: "cannot compile a call to numpy.ix_")
    k, conn = np.array([1.0, 2.0, 3.0]), np.array([[0, 1], [1, 2], [2, 3]])
    x = np.array([[0.5, -1.0, 2.0, 0.3], [1.5, 0.2, -0.4, 0.9]])
    assert symgrad.jit(assembled, backend=backend)(k, conn, x) == pytest.approx(
        assembled(k, conn, x), rel=1e-12
    )
    symgrad.check_grads(assembled, (k, conn, x), (0, 2), modes=("rev", "fwd"), backend=backend)
