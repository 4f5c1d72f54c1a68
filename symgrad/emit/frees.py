"""Freeing large arrays: `del x` after the last statement that reads a big intermediate.

Contract: `free(lines, large)` takes the statements of a function body (top-level lines start
without indentation; an indented line, `else:` or `elif` continues the statement above) and
the names of variables that hold arrays of at least `FREED` bytes (known from the Avals of a
specialised module), and returns the lines with `del a, b` after the last
statement that mentions each such name assigned by a top-level statement, `a = ...` or
`a, b = ...` (never a param, a value returned, or a name bound only inside a loop or branch,
which may not be bound at all). A mention is any identifier in the statement's text that no
dot comes before: a few words too many (a keyword argument's name) can only free later.
An array no later statement reads is then freed at once instead of when the function returns,
which lowers the peak memory of a gradient whose forward intermediates die one by one in the
backward pass.
"""

from __future__ import annotations

import re

FREED = 1 << 12  # bytes: an array this big is freed after its last reader (a `del` costs less
# than such an array's share of the peak: an RNN's 200 x 256 input projections, freed after
# the forward loop, bring its gradient's peak from 1.40x to 1.19x the hand-written one's; a
# layer-norm MLP's of batch 32 and width 64, 16 KiB arrays, 1.34x to 0.90x)


_WORD = re.compile(r"(?<![\w.])[A-Za-z_]\w*")  # an identifier not after a dot (nor a digit)
_BINDS = re.compile(r"([A-Za-z_]\w*(?:, [A-Za-z_]\w*)*) = ")  # `a = ...`, `a, b = ...`


def free(lines: list[str], large: set[str]) -> list[str]:
    if not large:
        return lines
    groups: list[list[str]] = []
    for line in lines:
        if groups and (line[:1].isspace() or line.startswith(("else:", "elif "))):
            groups[-1].append(line)
        else:
            groups.append([line])
    mentions, bound = [], set()
    for group in groups:
        mentions.append(_words(group))
        top = _BINDS.match(group[0])
        if top:
            bound.update(top.group(1).split(", "))
    last = {}
    for k, names in enumerate(mentions):
        for name in names & large & bound:
            last[name] = k
    returned = mentions[-1] if groups and groups[-1][0].startswith("return") else set()
    out: list[str] = []
    for k, group in enumerate(groups):
        out += group
        dead = sorted(n for n, at in last.items() if at == k and n not in returned)
        if dead and k < len(groups) - 2:  # (not just before the return, which frees them)
            out.append("del " + ", ".join(dead))
    return out


def _words(group: list[str]) -> set[str]:
    """Every identifier in the lines (comments left out) not after a dot: the names they read
    or bind, and more (keywords, keyword arguments, words in strings), which can only make a
    name's last mention later. (Parsing each statement for its names took 60 us a line.)"""
    return {w for line in group if not line.startswith("#") for w in _WORD.findall(line)}
