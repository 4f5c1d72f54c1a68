"""Errors raised by symgrad.

Contract: every failure a user can cause is a `SymgradError`. Errors tied to a place in the user's
source carry a `Loc` and print the file, line, column, the source line and a caret under the
offending construct, followed by what to do instead.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Loc:
    """A place in user source: file, 1-based line, 0-based column, and the text of that line."""

    file: str
    line: int
    col: int
    text: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col + 1}"


class SymgradError(Exception):
    """Base class of every error symgrad raises on purpose."""

    def __init__(self, message: str, loc: Loc | None = None, hint: str | None = None):
        self.message = message
        self.loc = loc
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        parts = []
        if self.loc is not None:
            parts.append(f"{self.loc}: {self.message}")
            if self.loc.text:
                parts.append("    " + self.loc.text)
                parts.append("    " + " " * self.loc.col + "^")
        else:
            parts.append(self.message)
        if self.hint:
            parts.append(self.hint)
        return "\n".join(parts)


class UnsupportedSyntaxError(SymgradError):
    """The function uses Python syntax symgrad does not differentiate."""


class UnknownCallableError(SymgradError):
    """A call to something that is neither NumPy, a registered primitive nor user source."""


class SourceUnavailableError(SymgradError):
    """The source of a function cannot be read (built-in, lambda in a REPL, compiled code)."""


class NotDifferentiableError(SymgradError):
    """A gradient was asked of something that has none (an integer argument, an array output)."""


class NeedsConstant(SymgradError):
    """A value the function computes is one a NumPy function takes as a constant (an axis,
    np.diff's n): where it comes from an argument that is no array and no float (an int, a
    bool, a string, None), a call compiles the function again with those as constants."""

    param: str | None = None  # the parameter the value is, where it is one


class SpecialisationWarning(RuntimeWarning):
    """symgrad could not specialise a gradient for a call's argument types (a bug in a shape
    rule): the call ran the shape-polymorphic module, which is right for every shape."""
