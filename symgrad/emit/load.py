"""Loading emitted source as a callable that tracebacks, `inspect` and `pdb` can show.

Contract: `load(source, name)` compiles the module under a unique pseudo-file name registered
with `linecache`, executes it in a fresh namespace, and returns the function `name`.
"""

from __future__ import annotations

import hashlib
import linecache
from typing import Callable


def load(source: str, name: str) -> Callable:
    digest = hashlib.sha1(source.encode()).hexdigest()[:12]
    filename = f"<symgrad {name} {digest}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict = {"__name__": f"symgrad_generated_{name}"}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]
