"""How symgrad's objects look in IPython and Jupyter notebooks.

Contract: `Source` is an emitted module's text. It is a `str` in every way (print it, write
it, compare it), and IPython shows it as code: highlighted HTML (by Pygments when importable,
an escaped `<pre>` otherwise), a Markdown Python block, or the text itself in a terminal,
never an escaped one-line string. `html_table` is the escaped HTML table the check and rule
reports show as. IPython and Pygments are optional: nothing here imports them to run symgrad.
"""

from __future__ import annotations

import html
import re


class Source(str):
    """An emitted module's text, shown as code by IPython."""

    __slots__ = ()

    def _repr_html_(self) -> str:
        try:
            from pygments import highlight
            from pygments.formatters import HtmlFormatter
            from pygments.lexers import PythonLexer
        except ImportError:
            return f"<pre>{html.escape(self)}</pre>"
        return highlight(str(self), PythonLexer(), HtmlFormatter(noclasses=True))

    def _repr_markdown_(self) -> str:
        fence = "`" * max([3, *(len(run) + 1 for run in re.findall("`+", self))])
        return f"{fence}python\n{self.rstrip()}\n{fence}\n"

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(str(self))


def html_table(header: list[str], rows: list[list], caption: str = "") -> str:
    """An HTML table of `rows` under `header`, every cell escaped."""
    lines = ["<table>"]
    if caption:
        lines.append(f"<caption>{html.escape(caption)}</caption>")
    lines.append(f"<thead><tr>{_cells('th', header)}</tr></thead>")
    lines += ["<tbody>", *(f"<tr>{_cells('td', row)}</tr>" for row in rows), "</tbody>", "</table>"]
    return "\n".join(lines)


def _cells(tag: str, row: list) -> str:
    return "".join(f"<{tag}>{html.escape(str(cell))}</{tag}>" for cell in row)
