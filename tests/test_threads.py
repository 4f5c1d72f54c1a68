"""Several threads calling one compiled function: each call gets the gradient of its own
arguments, while the first calls of signatures compile and afterwards."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import symgrad
from tests.conftest import BACKENDS


@pytest.mark.parametrize("backend", BACKENDS)
def test_threads_calling_one_gradient_with_two_shapes(make_fn, backend):
    mod = make_fn(
        """
        def f(x, n):
            s = 0.0
            for i in range(n):
                s = s + np.sum(np.sin(x * (i + 1)))
            return s + np.sum(np.ones(n) * np.sum(x**2))
        """
    )
    g = symgrad.grad(mod.f, backend=backend)

    def expected(x, n):
        return sum(np.cos(x * (i + 1)) * (i + 1) for i in range(n)) + 2 * n * x

    wrong, failed = [], []

    def worker(seed):
        rng = np.random.default_rng(seed)
        for _ in range(40):
            x = rng.uniform(-1, 1, int(rng.integers(3, 6)))
            try:
                got = g(x, 2)
            except Exception as e:  # pragma: no cover (a finding)
                failed.append(repr(e))
                continue
            if np.shape(got) != x.shape or not np.allclose(got, expected(x, 2)):
                wrong.append((x.shape, np.shape(got)))

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failed and not wrong, (failed[:2], wrong[:2])
    for n in (3, 4, 5):  # and afterwards, from one thread
        x = np.linspace(-0.9, 0.7, n)
        assert np.allclose(g(x, 2), expected(x, 2))
