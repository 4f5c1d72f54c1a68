"""Forward mode against reverse mode: the same derivatives, at very different costs.

First f(x, y) = x² + y³, differentiated both ways and compared with the analytic derivative
(2x, 3y²): forward mode (`symgrad.jvp`) pushes one tangent through f per input, reverse mode
(`symgrad.grad`) pulls the output's cotangent back to every input in one pass. Both emitted
functions are printed.

Then the cost, measured: the Jacobian of a scalar function of n inputs (sum(tanh(A @ x))) by
`symgrad.jacfwd` (forward mode: its cost grows with the number of inputs) and by
`symgrad.jacrev` (reverse mode: its cost grows with the number of outputs), and the Jacobian of
tanh(A @ x) with 4 inputs and m outputs, where the roles swap. Each time is the best of a few
calls after a warm-up call that compiles. With matplotlib installed, `forward_vs_reverse.png`
plots both tables.

python examples/forward_vs_reverse.py [--fast]
"""

from __future__ import annotations

import sys
import time

import numpy as np

import symgrad


def f(x, y):
    return x**2 + y**3


def scalar_output(x, A):
    """n inputs, one output."""
    return np.sum(np.tanh(A @ x))


def many_outputs(x, A):
    """4 inputs (the length of x), one output per row of A."""
    return np.tanh(A @ x)


def last_function(source: str) -> str:
    """The emitted function itself: the module's last block (helpers and docstring come first)."""
    return source.split("\n\n\n")[-1].strip()


def both_modes(x: float = 1.5, y: float = -0.5) -> dict:
    """f's derivative by forward mode (one jvp per input) and by reverse mode (one grad)."""
    _, df_dx = symgrad.jvp(f, (x, y), (1.0, 0.0))  # tangent along x
    _, df_dy = symgrad.jvp(f, (x, y), (0.0, 1.0))  # tangent along y
    forward = (df_dx, df_dy)
    reverse = symgrad.grad(f, argnums=(0, 1))(x, y)  # both at once
    analytic = (2 * x, 3 * y**2)
    print(f"f(x, y) = x**2 + y**3 at x = {x}, y = {y}; analytic (2x, 3y**2) = {analytic}")
    print(f"forward mode, 2 passes (one jvp per input): {forward}")
    print(f"reverse mode, 1 pass (grad):                {reverse}")
    worst = max(abs(a - b) for a, b in zip(forward + reverse, analytic + analytic))
    print(f"largest difference from the analytic derivative: {worst:.1e}\n")
    _, f_jvp = symgrad.linearize(f, x, y)
    print("The emitted forward-mode code (tangents x_dot, y_dot in, out_dot out):\n")
    print(last_function(f_jvp.source) + "\n")
    print("The emitted reverse-mode code (one pass gives x_bar and y_bar):\n")
    print(last_function(symgrad.grad(f, argnums=(0, 1)).source) + "\n")
    return {"forward": forward, "reverse": reverse, "analytic": analytic}


def best_ms(fn, args, repeats: int) -> float:
    """The best of `repeats` timed calls, in milliseconds (the caller warms up first)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return 1e3 * min(times)


def race(fun, sizes, make_args, repeats: int) -> list[tuple[int, float, float]]:
    """(size, jacfwd ms, jacrev ms) for each size; both Jacobians are checked to agree first."""
    fwd, rev = symgrad.jacfwd(fun), symgrad.jacrev(fun)
    rows = []
    for n in sizes:
        args = make_args(n)
        J_fwd, J_rev = fwd(*args), rev(*args)  # the warm-up calls (the first one compiles)
        if not np.allclose(J_fwd, J_rev, rtol=1e-10, atol=1e-12):
            raise AssertionError(f"{fun.__name__}: jacfwd and jacrev disagree at size {n}")
        rows.append((n, best_ms(fwd, args, repeats), best_ms(rev, args, repeats)))
    return rows


def print_table(title: str, size_name: str, rows) -> None:
    print(title)
    print(f"{size_name:>6} {'jacfwd ms':>11} {'jacrev ms':>11} {'fwd/rev':>9}  faster")
    for n, t_fwd, t_rev in rows:
        faster = "jacrev" if t_rev < t_fwd else "jacfwd"
        print(f"{n:>6} {t_fwd:>11.3f} {t_rev:>11.3f} {t_fwd / t_rev:>9.3g}  {faster}")
    last, t_fwd, t_rev = rows[-1]
    wins = sum(t_rev < t_fwd for _, t_fwd, t_rev in rows)
    winner, ratio = ("jacrev", t_fwd / t_rev) if t_rev < t_fwd else ("jacfwd", t_rev / t_fwd)
    print(
        f"measured: jacrev was faster at {wins} of {len(rows)} sizes, jacfwd at "
        f"{len(rows) - wins}; at {size_name} = {last}, {winner} by {ratio:.1f}x\n"
    )


def main(fast: bool = False) -> dict:
    results = {"first": both_modes()}
    sizes = (4, 16, 64) if fast else (4, 16, 64, 256, 1024)
    repeats = 2 if fast else 5
    rng = np.random.default_rng(0)

    def square(n):
        return rng.standard_normal(n), rng.standard_normal((n, n)) / np.sqrt(n)

    def tall(m):
        return rng.standard_normal(4), rng.standard_normal((m, 4)) / 2

    results["scalar"] = race(scalar_output, sizes, square, repeats)
    print_table(
        "Jacobian of sum(tanh(A @ x)): n inputs, 1 output (best of "
        f"{repeats} calls, after a warm-up)",
        "n",
        results["scalar"],
    )
    results["vector"] = race(many_outputs, sizes, tall, repeats)
    print_table(
        f"Jacobian of tanh(A @ x): 4 inputs, m outputs (best of {repeats} calls)",
        "m",
        results["vector"],
    )
    print(
        "jacfwd computes the Jacobian a column (one JVP) per input, jacrev a row (one VJP) per\n"
        "output. Measured, at the largest size:"
    )
    for key, shape in (("scalar", "1 output of n inputs"), ("vector", "m outputs of 4 inputs")):
        n, t_fwd, t_rev = results[key][-1]
        winner, ratio = ("jacrev", t_fwd / t_rev) if t_rev < t_fwd else ("jacfwd", t_rev / t_fwd)
        print(f"  {shape} (size {n}): {winner} was {ratio:.1f}x faster")
    _plot(results)
    return results


def _plot(results, path="forward_vs_reverse.png") -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    panels = [("scalar", "n inputs, 1 output", "n"), ("vector", "4 inputs, m outputs", "m")]
    for ax, (key, title, xlabel) in zip(axes, panels):
        sizes, t_fwd, t_rev = zip(*results[key])
        ax.plot(sizes, t_fwd, "o-", label="jacfwd (forward mode)")
        ax.plot(sizes, t_rev, "s-", label="jacrev (reverse mode)")
        ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="ms (best of a few)", title=title)
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.set_xticks([], minor=True)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(fast="--fast" in sys.argv)
