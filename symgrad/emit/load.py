"""Loading emitted source as a callable that tracebacks, `inspect` and `pdb` can show.

Contract: `load(source, name)` compiles the module and executes it in a fresh namespace, and
returns the function `name`. A NumPy module gets a unique pseudo-file name registered with
`linecache`. A module with compiled loops (it imports Numba) is written to a file named after
its content's hash in `cache_dir()` first, once. Its Numba functions (`@numba.njit`) are taken
from a module of their own, holding them alone (with the imports they need) and named after
that text's hash: specialisations whose kernels are spelt alike (another length of a loop the
kernels do not see, another value of an int they take) share the compiled functions, in one
process and, through Numba's machine code kept on disk beside the file (`cache=True`), across
processes. A later process loading the same kernels compiles nothing.
"""

from __future__ import annotations

import ast
import hashlib
import linecache
import os
import re
import sys
import tempfile
import types
import warnings
from typing import Callable

from symgrad.errors import SymgradError


def cache_dir() -> str:
    """Where modules with compiled loops are written: `$SYMGRAD_CACHE_DIR`, else symgrad's
    folder in the user's cache (`$XDG_CACHE_HOME`, `~/.cache`)."""
    found = os.environ.get("SYMGRAD_CACHE_DIR")
    if found:
        return found
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "symgrad")


def load(source: str, name: str) -> Callable:
    digest = hashlib.sha1(source.encode()).hexdigest()[:12]
    if "\nimport numba\n" in source:
        return _module(source, name, digest)[name]
    filename = f"<symgrad {name} {digest}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict = {"__name__": f"symgrad_generated_{name}"}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]


def _module(source: str, name: str, digest: str) -> dict:
    """The namespace of a module with compiled loops, loaded from its file, its Numba
    functions those of the module of its kernels alone (`_kernels`)."""
    module = _registered(source, f"{name}_{digest}")
    kernels = _kernels(source)
    if kernels is not None:
        shared = _registered(
            kernels[0], f"kernels_{hashlib.sha1(kernels[0].encode()).hexdigest()[:12]}"
        )
        module.__dict__.update({k: shared.__dict__[k] for k in kernels[1]})
    return module.__dict__


def _registered(source: str, base: str) -> types.ModuleType:
    """The module of source, loaded from its file and registered in `sys.modules` under a name
    unique to its source (Numba's cached code finds its module there)."""
    module_name = f"symgrad_generated_{base}"
    module = sys.modules.get(module_name)
    if module is None:
        filename = _written(source, f"{base}.py")
        _hints_hidden(os.path.dirname(filename))
        module = types.ModuleType(module_name)
        module.__file__ = filename
        exec(compile(source, filename, "exec"), module.__dict__)
        sys.modules[module_name] = module
    return module


def _hints_hidden(folder: str) -> None:
    """Numba's performance hints (`'@' is faster on contiguous arrays`) about the modules in
    folder, which symgrad wrote, not shown: at any call that compiles (a new array layout),
    where the user's own Numba code keeps its hints."""
    from numba.core.errors import NumbaPerformanceWarning

    pattern = re.escape(os.path.join(folder, ""))  # (a warning's module: its file's path)
    warnings.filterwarnings("ignore", category=NumbaPerformanceWarning, module=pattern)


def _kernels(source: str) -> tuple[str, list[str]] | None:
    """The source of a module holding a module's Numba functions alone, with its imports, and
    their names; None if it has none."""
    tree = ast.parse(source)
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    kernels = [
        n
        for n in tree.body
        if isinstance(n, ast.FunctionDef)
        and any(ast.unparse(d).startswith("numba.njit") for d in n.decorator_list)
    ]
    if not kernels:
        return None
    lines = source.splitlines()
    text = ["\n".join(lines[n.lineno - 1 : n.end_lineno]) for n in imports]
    for n in kernels:
        first = min(d.lineno for d in n.decorator_list)
        text.append("\n\n\n" + "\n".join(lines[first - 1 : n.end_lineno]))
    return "\n".join(text) + "\n", [n.name for n in kernels]


def _written(source: str, base: str) -> str:
    """The path of a file holding source, written unless it already does (its modification
    time, which Numba's cache checks, stays that of the first write)."""
    for folder in (cache_dir(), os.path.join(tempfile.gettempdir(), f"symgrad-{os.getuid()}")):
        path = os.path.join(folder, base)
        try:
            with open(path) as f:
                if f.read() == source:
                    return path
        except OSError:
            pass
        try:
            os.makedirs(folder, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "w") as f:
                f.write(source)
            os.replace(temporary, path)  # whole, even with another process writing it too
            return path
        except OSError:  # not writable: the next folder
            continue
    raise SymgradError(
        f"cannot write the compiled module {base} to {cache_dir()} or a temporary folder",
        hint="Set SYMGRAD_CACHE_DIR to a writable folder.",
    )
