"""The `symgrad` command line: emit, graph, check and verify-rules.

Contract: `main(argv)` returns the exit status: 0 on success, 1 when a check or a rule
verification fails, 2 on a user error (a `SymgradError`, a missing file or function, a bad
argument spec), whose message goes to stderr without a traceback. Functions are named as
`FILE.py:FUNC`; the file is imported as a fresh module with its directory on `sys.path`, and
functions decorated with `@symgrad.grad` (and the like) are the user's function they decorate.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import importlib.util
import inspect
import itertools
import os
import sys
from pathlib import Path
from typing import Callable

import numpy as np

from symgrad import tree
from symgrad.api import emit_module, grad, user_function
from symgrad.errors import SymgradError
from symgrad.ir import picture, to_dot, to_text

_MODULES = itertools.count()


def load_function(target: str) -> Callable:
    """The function named by `path/to/file.py:name` (dotted names reach into classes)."""
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name:
        raise SymgradError(f"expected FILE.py:FUNCTION, got {target!r}")
    file = Path(path)
    if not file.is_file():
        raise SymgradError(f"{path}: no such file")
    module_name = f"_symgrad_cli_{file.stem}_{next(_MODULES)}"
    spec = importlib.util.spec_from_file_location(module_name, file.resolve())
    if spec is None or spec.loader is None:
        raise SymgradError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    directory = str(file.resolve().parent)
    sys.path.insert(0, directory)  # so the file can import its sibling modules
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        raise SymgradError(f"{e.filename}:{e.lineno}: {e.msg}") from None
    except Exception as e:
        raise SymgradError(f"{path}: importing it raised {type(e).__name__}: {e}") from None
    finally:
        sys.path.remove(directory)
    obj = module
    for part in name.split("."):
        if not hasattr(obj, part):
            found = [n for n, v in vars(module).items() if inspect.isfunction(v)]
            close = difflib.get_close_matches(part, found, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise SymgradError(f"{path}: no function {name!r}{hint}")
        obj = getattr(obj, part)
    fn = user_function(obj)  # (a function decorated with @symgrad.grad: the function it decorates)
    if not callable(fn):
        raise SymgradError(f"{path}: {name!r} is a {type(fn).__name__}, not a function")
    return fn


def _argnums(text: str | None, fn: Callable, default=0):
    """'0,1' or 'W,b' -> an int for one entry, a tuple for several; `default` when not given."""
    if text is None:
        return default
    params = list(inspect.signature(fn).parameters)
    nums = []
    for item in text.split(","):
        item = item.strip()
        if item.lstrip("-").isdigit():
            nums.append(int(item))
        elif item in params:
            nums.append(params.index(item))
        else:
            raise SymgradError(
                f"--argnums {text!r}: {item!r} is neither an index nor a parameter of "
                f"{fn.__name__}({', '.join(params)})"
            )
    return nums[0] if len(nums) == 1 else tuple(nums)


def parse_spec(spec: str):
    """'W: 3x4, b: 3, x: 4 positive, t: f, n = 5' -> [Input or (name, value), ...]: shapes in
    the rule-table examples' grammar, and values (`n = 5`, `lr = 0.1`) given as they are."""
    from symgrad.checks.examples import DOMAINS, parse_example

    inputs: list = []
    for item in spec.split(","):
        name, equals, literal = item.partition("=")
        if equals and ":" not in name:
            inputs.append((name.strip(), _literal(name.strip(), literal)))
            continue
        name, colon, rest = item.partition(":")
        if not colon or not name.strip().isidentifier() or len(rest.split()) > 2:
            raise SymgradError(
                f"--args: cannot read {item.strip()!r}; write `name: 3x4 [domain]` for an array "
                "or `name = 5` for a value"
            )
        (inp,) = parse_example("f | " + item)[1]
        dims = inp.shape.split("x") if inp.shape not in ("", "f") else []
        if not all(d.isdigit() for d in dims):
            raise SymgradError(
                f"--args: bad shape {inp.shape!r} for {inp.name}; write 3x4, f or nothing"
            )
        if inp.domain not in DOMAINS:
            raise SymgradError(
                f"--args: unknown domain {inp.domain!r} for {inp.name}; one of {', '.join(DOMAINS)}"
            )
        inputs.append(inp)
    return inputs


def _literal(name: str, text: str):
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        raise SymgradError(
            f"--args: {name} = {text.strip()!r} is not a Python number, string or tuple"
        ) from None
    if not isinstance(value, (int, float, str, tuple, bool, type(None))):
        raise SymgradError(f"--args: {name} = {text.strip()!r} is not a number, string or tuple")
    return value


def _sampled(inp, rng: np.random.Generator):
    """A value for one input of --args, or a SymgradError saying why there is none."""
    from symgrad.checks.examples import sample

    dims = inp.dims
    if inp.domain == "invertible" and (len(dims) < 2 or dims[-1] != dims[-2]):
        raise SymgradError(
            f"--args: {inp.name} is 'invertible', which takes square matrices (or a stack of "
            f"them); its shape is {inp.shape or 'a number'}"
        )
    try:
        return sample(inp, rng)
    except MemoryError:
        what = f"{inp.name} of shape {inp.shape}"
        raise SymgradError(f"--args: {what} does not fit in memory") from None


def _check_arguments(fn: Callable, spec: str | None, seed: int) -> tuple[list, list[int]]:
    """(argument values, indices of the float ones) from the spec, then the defaults."""
    sig = inspect.signature(fn)
    params = [p for p in sig.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    names = [p.name for p in params]
    given, frozen = {}, set()
    rng = np.random.default_rng(seed)
    for inp in parse_spec(spec) if spec else []:
        name = inp[0] if isinstance(inp, tuple) else inp.name
        if name not in names:
            raise SymgradError(
                f"--args: {fn.__name__}({', '.join(names)}) has no parameter {name!r}"
            )
        if isinstance(inp, tuple):  # a value given as it is: held fixed
            given[name] = inp[1]
            frozen.add(name)
            continue
        given[name] = _sampled(inp, rng)
        if not inp.differentiable:
            frozen.add(name)
    missing = [p.name for p in params if p.name not in given and p.default is p.empty]
    if missing:
        raise SymgradError(
            f"no value for {', '.join(missing)}: {fn.__name__} has no default for "
            f"{'it' if len(missing) == 1 else 'them'}",
            hint='Give shapes with --args, e.g. --args "'
            + ", ".join(f"{m}: 3" for m in missing)
            + '".',
        )
    values = [given.get(p.name, p.default) for p in params]
    floats = [
        k
        for k, (p, v) in enumerate(zip(params, values))
        if p.name not in frozen
        and (isinstance(v, float) or np.dtype(tree.dtype_of(v) or object).kind == "f")
    ]
    return values, floats


def cmd_emit(args) -> int:
    fn = load_function(args.target)
    kind = "grad" if args.mode == "reverse" else "jvp"
    values = _check_arguments(fn, args.args, 0)[0] if args.args else None
    source = emit_module(
        fn,
        args.output,
        argnums=_argnums(args.argnums, fn),
        kind=kind,
        backend=args.backend,
        args=values,
        recompute=args.recompute,
    )
    if args.output:
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(source, end="")
    return 0


def cmd_graph(args) -> int:
    fn = load_function(args.target)
    graph = grad(fn, argnums=_argnums(args.argnums, fn)).graph
    if not args.output:
        print(to_text(graph))
        return 0
    fmt = os.path.splitext(args.output)[1].lstrip(".").lower()
    if fmt not in ("dot", "gv", *picture.FORMATS):
        raise SymgradError(f"-o {args.output}: unknown format; write a .dot, .svg or .png file")
    if fmt in ("dot", "gv"):
        Path(args.output).write_text(to_dot(graph))
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        tool = picture.draw(graph, args.output)
        print(f"wrote {args.output} (drawn with {tool})", file=sys.stderr)
    return 0


def cmd_check(args) -> int:
    from symgrad.checks.report import check

    fn = load_function(args.target)
    values, floats = _check_arguments(fn, args.args, args.seed)
    if args.argnums is None and not floats:
        raise SymgradError(
            f"{fn.__name__} has no float argument to differentiate",
            hint="Give float shapes with --args, or name arguments with --argnums.",
        )
    default = floats[0] if len(floats) == 1 else tuple(floats)
    nums = _argnums(args.argnums, fn, default)
    try:
        with Progress("checks done", args.quiet) as progress:
            report = check(fn, *values, argnums=nums, seed=args.seed, progress=progress)
    except SymgradError:
        raise
    except Exception as e:  # the function itself fails on these arguments
        raise SymgradError(
            f"{fn.__name__} raised {type(e).__name__} on the arguments of --args: {e}",
            hint='Give ints and other fixed values as values: --args "x: 3, n = 2".',
        ) from None
    print(report)
    return 0 if report.ok else 1


def cmd_verify_rules(args) -> int:
    from symgrad.checks.symbolic import verify_rules

    with Progress("rules proved", args.quiet) as progress:
        report = verify_rules(args.rules or None, jobs=args.jobs, progress=progress)
    print(report)
    if args.markdown:
        try:
            Path(args.markdown).write_text(report.to_markdown())
        except OSError as e:
            raise SymgradError(f"cannot write {args.markdown}: {e.strerror}") from None
        print(f"wrote {args.markdown}", file=sys.stderr)
    return 0 if report.ok else 1


class Progress:
    """A counter on stderr, `12/193 rules proved (tanh)`, rewritten in place and erased at the
    end; only where stderr is a terminal, and not when `quiet`."""

    def __init__(self, what: str, quiet: bool = False):
        self.what, self.on, self.width = what, not quiet and sys.stderr.isatty(), 0

    def __call__(self, done: int, total: int, name: str) -> None:
        if self.on:
            line = f"{done}/{total} {self.what}" + (f" ({name})" if name else "")
            sys.stderr.write("\r" + line.ljust(self.width))
            sys.stderr.flush()
            self.width = len(line)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.on and self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symgrad", description="Source-to-source differentiation of Python/NumPy functions."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    target = dict(metavar="FILE.py:FUNC", help="the function, e.g. model.py:loss")
    argnums = dict(help="arguments to differentiate: indices or names, e.g. 0,1 or W,b")
    quiet = "no progress counter on stderr (shown only on a terminal anyway)"

    p = sub.add_parser("emit", help="print or write the emitted gradient module")
    p.add_argument("target", **target)
    p.add_argument("--argnums", **argnums)
    p.add_argument(
        "--mode",
        choices=["reverse", "forward"],
        default="reverse",
        help="reverse (the gradient; the default) or forward (the JVP, with a tangent argument "
        "<x>_dot per differentiated argument)",
    )
    p.add_argument(
        "--args",
        metavar="SPEC",
        help='specialise for these argument shapes, e.g. "x: 1000, W: 3x4" (default: a module '
        "for any shapes)",
    )
    p.add_argument(
        "--backend",
        choices=["numpy", "numba"],
        default="numpy",
        help="numpy (the default) or numba: elementwise work as compiled loops (needs --args)",
    )
    p.add_argument(
        "--recompute",
        action="store_true",
        help="loops tape only what they carry and recompute each step backwards (less "
        "memory, more time; with --args, reverse mode)",
    )
    p.add_argument("-o", "--output", metavar="OUT.py", help="write the module here")
    p.set_defaults(run=cmd_emit)

    p = sub.add_parser("graph", help="print the gradient's IR, or write it as DOT/SVG/PNG")
    p.add_argument("target", **target)
    p.add_argument("--argnums", **argnums)
    p.add_argument(
        "-o",
        "--output",
        metavar="GRAPH.dot|.svg|.png",
        help="write the graph (.svg and .png: drawn by Graphviz's dot, else by matplotlib)",
    )
    p.set_defaults(run=cmd_graph)

    p = sub.add_parser("check", help="check a function's gradient (numeric and symbolic)")
    p.add_argument("target", **target)
    p.add_argument(
        "--args",
        metavar="SPEC",
        help='argument shapes and values, e.g. "W: 3x4, b: 3, x: 4 positive, t: f, n = 5" '
        "(default: the function's defaults)",
    )
    p.add_argument("--argnums", help=argnums["help"] + " (default: every float argument)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help=quiet)
    p.set_defaults(run=cmd_check)

    p = sub.add_parser("verify-rules", help="prove the rule table's gradients with SymPy")
    p.add_argument("rules", nargs="*", metavar="RULE", help="rules to verify (default: all)")
    p.add_argument("--markdown", metavar="PATH", help="also write the report as a Markdown table")
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="prove the rules in N processes (default 1): the same report, about N times as "
        "fast on N idle cores",
    )
    p.add_argument("--quiet", action="store_true", help=quiet)
    p.set_defaults(run=cmd_verify_rules)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except SymgradError as e:
        print(f"symgrad {args.command}: error: {e}" if e.loc is None else str(e), file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader stopped early (`... | head`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # (Python's flush)
        return 0
