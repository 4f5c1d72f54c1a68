"""Newton's method with symgrad's gradient and Hessian: quadratic convergence, measured.

Minimises the Rosenbrock function f(x) = Σ 100 (x[i+1] − x[i]²)² + (1 − x[i])² in two dimensions
from the classic start (−1.2, 1), by x ← x − solve(H(x), g(x)) with g = symgrad.grad(f) and
H = symgrad.hessian(f) (forward mode over the emitted gradient). The minimiser is (1, 1). Each
iteration prints the gradient norm, the distance to the minimiser and its number of correct
digits, which roughly doubles near the minimiser: the ratios ‖g_k‖ / ‖g_{k−1}‖² and
e_k / e_{k−1}² stay bounded there (a linearly convergent method would make them blow up). Then the
Hessian at the minimiser is compared with the analytic one, and the emitted Hessian's driver
function is printed.

python examples/newton.py [--fast]   (--fast does the same: it takes a fraction of a second)
"""

from __future__ import annotations

import sys

import numpy as np

import symgrad


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


START = np.array([-1.2, 1.0])
MINIMISER = np.array([1.0, 1.0])
HESSIAN_AT_MINIMISER = np.array([[802.0, -400.0], [-400.0, 200.0]])  # by hand


def newton(x0, gradient, hessian, steps: int = 50, tol: float = 1e-10) -> list[np.ndarray]:
    """The iterates x_0, x_1, ... of Newton's method, until ‖g‖ <= tol or `steps` steps."""
    xs = [np.asarray(x0, dtype=float)]
    for _ in range(steps):
        g = gradient(xs[-1])
        if np.linalg.norm(g) <= tol:
            break
        xs.append(xs[-1] - np.linalg.solve(hessian(xs[-1]), g))
    return xs


def quadratic_ratios(errors, near: float = 1e-1) -> list[float]:
    """e_{k+1} / e_k² for the steps that start near the minimiser (0 < e_k < near). Bounded
    ratios mean quadratic convergence; for linear convergence they grow like 1 / e_k."""
    return [e1 / e0**2 for e0, e1 in zip(errors, errors[1:]) if 0 < e0 < near]


def _ratio(now: float, before: float | None) -> str:
    return f"{now / before**2:>12.3g}" if before else f"{'':>12}"


def main(fast: bool = False) -> dict:
    gradient = symgrad.grad(rosenbrock)
    hessian = symgrad.hessian(rosenbrock)
    xs = newton(START, gradient, hessian)
    grad_norms = [float(np.linalg.norm(gradient(x))) for x in xs]
    errors = [float(np.linalg.norm(x - MINIMISER)) for x in xs]

    print(f"Newton's method on the Rosenbrock function from x_0 = {START}; minimiser {MINIMISER}\n")
    print(
        f"{'k':>2} {'f(x_k)':>10} {'‖g_k‖':>10} {'e_k = ‖x_k−x*‖':>15} {'digits':>7}"
        f" {'‖g_k‖/‖g_k−1‖²':>15} {'e_k/e_k−1²':>12}"
    )
    for k, x in enumerate(xs):
        g_before = grad_norms[k - 1] if k else None
        e_before = errors[k - 1] if k else None
        digits = f"{max(0.0, -np.log10(errors[k])):>7.1f}" if errors[k] > 0 else f"{'exact':>7}"
        row = (
            f"{k:>2} {rosenbrock(x):>10.3g} {grad_norms[k]:>10.3g} {errors[k]:>15.3g} {digits}"
            f" {_ratio(grad_norms[k], g_before):>15} {_ratio(errors[k], e_before)}"
        )
        print(row.rstrip())

    ratios = quadratic_ratios(errors)
    near = [e for e in errors if e < 1e-1]
    shown = " -> ".join(f"{-np.log10(e):.1f}" if e > 0 else "exact" for e in near)
    print(f"\n{len(xs) - 1} Newton steps; correct digits once within 0.1 of x*: {shown}")
    bounded = bool(ratios) and max(ratios) < 10
    verdict = "bounded: quadratic convergence" if bounded else "NOT bounded: not quadratic"
    print(f"e_k+1 / e_k² over those steps: {', '.join(f'{r:.3g}' for r in ratios)} ({verdict})")
    print(f"final x = {xs[-1]}, ‖x − x*‖ = {errors[-1]:.3g}, ‖g‖ = {grad_norms[-1]:.3g}")

    H_star = hessian(MINIMISER)
    print(f"\nsymgrad's Hessian at x* = (1, 1):\n{H_star}")
    print(
        f"largest difference from [[802, -400], [-400, 200]]: "
        f"{np.max(np.abs(H_star - HESSIAN_AT_MINIMISER)):.1e}"
    )

    blocks = hessian.source.split("\n\n\n")
    names = [b[4 : b.index("(")] for b in blocks if b.startswith("def ") and b[4] != "_"]
    driver = next(b for b in blocks if b.startswith("def hessian_rosenbrock(")).strip()
    print(f"\nThe Hessian's emitted module defines {', '.join(names)}; the driver:\n")
    print(driver)
    return {
        "xs": xs,
        "grad_norms": grad_norms,
        "errors": errors,
        "ratios": ratios,
        "hessian_at_minimiser": H_star,
        "driver": driver,
    }


if __name__ == "__main__":
    main(fast="--fast" in sys.argv)
