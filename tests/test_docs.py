"""Every code block in docs/ runs, and prints what the page says it prints; every link leads
somewhere, and MkDocs builds the pages without a warning.

Each page runs in a fresh interpreter (pages register rules and import their own `model.py`), in
a temporary folder. A ```python block whose introducing paragraph ends with a backticked file name
and a colon (“Save this as `model.py`:”), or whose first line is `# model.py`, is written to that
file; any other ```python block runs in the page's one namespace. A ```bash block runs its
`python FILE.py` lines. A ```text block right after a block that ran is what that block must
print (trailing spaces aside; absolute paths to the page's files are compared as file names).
`SYMGRAD_UPDATE_DOCS=1 python -m pytest tests/test_docs.py` rewrites those blocks (read the diff).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[1] / "docs"
PAGES = sorted(DOCS.glob("*.md"))
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)
_FILE = re.compile(r"`([\w/]+\.py)`(?:\s*\([^)]*\))?:\s*$|^# ([\w/]+\.py)\n")
_PATH = re.compile(r"(?:/[\w.-]+)+/(\w+\.py)\b")  # an absolute path to a page's file
_CODE = re.compile(r"^```.*?^```$|(`+).+?(?<!`)\1(?!`)", re.M | re.S)  # fenced blocks, code spans
_LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\n]*)\)")
_TARGET = re.compile(r"https?://\S+|(?=.)(?P<page>[\w/.-]+\.md)?(#[\w-]+)?")


def blocks(text: str) -> list[tuple[str, str, str]]:
    """(language, code, the paragraph before it) for each fenced block."""
    out, end = [], 0
    for m in _FENCE.finditer(text):
        paragraph = text[end : m.start()].strip().split("\n\n")[-1]
        out.append((m.group(1), m.group(2), paragraph))
        end = m.end()
    return out


def run_page(page: Path, update: bool = False) -> list[str]:
    """Run the page's blocks in the current folder; the mismatches, described. With `update`,
    rewrite the page's ```text blocks with what was printed instead."""
    namespace: dict = {"__name__": "__docs__"}
    sys.path.insert(0, os.getcwd())
    problems, printed, text = [], None, page.read_text()
    for k, (lang, code, intro) in enumerate(blocks(text)):
        where = f"{page.name}, block {k + 1}"
        if lang == "text" and printed is not None and _lines(printed) != _lines(code):
            problems.append(f"{where}: printed\n{printed}\ninstead of\n{code}")
            if update:
                shown = "\n".join(line.rstrip() for line in printed.strip("\n").splitlines())
                text = text.replace(f"```text\n{code}```", f"```text\n{shown}\n```", 1)
        printed = None
        saved = _FILE.search(intro) or _FILE.match(code)
        if lang == "python" and saved:
            Path(os.path.basename(saved.group(1) or saved.group(2))).write_text(code)
        elif lang == "python":
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
                try:
                    exec(compile(code, f"<{where}>", "exec"), namespace)
                except Exception as e:
                    problems.append(f"{where} raised {type(e).__name__}: {e}")
            printed = buffer.getvalue()
        elif lang == "bash":
            scripts = [line for line in code.splitlines() if re.fullmatch(r"python \w+\.py", line)]
            printed = "".join(map(_run_script, scripts)) if scripts else None
    if update:
        page.write_text(text)
    return problems


def _run_script(line: str) -> str:
    proc = subprocess.run(line.split(), capture_output=True, text=True, timeout=120)
    return proc.stdout + proc.stderr


def _lines(text: str) -> list[str]:
    """The lines to compare: trailing spaces dropped, paths to the page's files as file names."""
    text = _PATH.sub(lambda m: m.group(1) if Path(m.group(1)).exists() else m.group(0), text)
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def links(markdown: str) -> list[tuple[str, str]]:
    """(text, target) of each inline link Markdown makes, code spans and fenced blocks aside."""
    return _LINK.findall(_CODE.sub("", markdown))


def test_links_finds_what_markdown_would_make_a_link():
    text = "B[x](v) is a link; `B[x](v)` and ``a `B[y](w)` b`` are code, as is\n```\nB[z](u)\n```\n"
    assert links(text) == [("x", "v")]


@pytest.mark.parametrize("page", [*PAGES, DOCS.parent / "README.md"], ids=lambda p: p.name)
def test_links_lead_to_a_page_or_a_url(page):
    """The notation B[x](v) outside code would render as a link to "v": write it as code."""
    bad = []
    for text, target in links(page.read_text()):
        m = _TARGET.fullmatch(target)
        if m is None or (m["page"] and not (page.parent / m["page"]).exists()):
            bad.append(f"[{text}]({target})")
    assert not bad, f"{page.name}: links to nowhere (code spans show notation): {bad}"


def test_mkdocs_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=DOCS.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_runs_and_prints_what_it_says(page, tmp_path):
    proc = subprocess.run(
        [sys.executable, __file__, str(page)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_readme_shows_the_gradient_its_snippet_emits(tmp_path):
    """The README's first block, run on arrays as a file of its own, emits the function its
    second block shows (it had shown the module for any shapes where `.source` after a call
    is the specialised one)."""
    readme = (DOCS.parent / "README.md").read_text()
    snippet, shown = [code for lang, code, _ in blocks(readme) if lang == "python"][:2]
    setup = "rng = np.random.default_rng(0)\nW, b = rng.random((3, 4)), rng.random(3)\n"
    setup += "x, y = rng.random(4), rng.random(3)\n"
    script = tmp_path / "readme.py"
    script.write_text(snippet.replace("dW, db = loss", setup + "dW, db = loss"))
    namespace: dict = {"__name__": "readme"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(script.read_text(), str(script), "exec"), namespace)
    assert namespace["loss"].source.split("\n\n\n")[-1].strip() == shown.strip()


if __name__ == "__main__":  # SYMGRAD_UPDATE_DOCS=1 python -m pytest tests/test_docs.py rewrites
    found = run_page(Path(sys.argv[1]), update=os.environ.get("SYMGRAD_UPDATE_DOCS") == "1")
    print("\n\n".join(found))
    sys.exit(1 if found else 0)
