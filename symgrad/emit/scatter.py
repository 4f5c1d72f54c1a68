"""A backward loop's step adding into the part of a captured value's cotangent it read.

Contract: `added_at(body, out, captured)` is the `index_add` node of a backward loop's body (a
chain of one step, `added_steps`) whose result is the body output `out`, the cotangent of the
`captured` param (directly or fitted to it), used nowhere else; else None. `chains(sub, accs)`
writes such an output, and each later update `z[j] = z[j] + w` of the same zeros
(`added_steps`), as updates of the running cotangent `acc`, each where its step stands:
`acc[index] += v` where the index holds ints and slices alone (no element repeats), else
`np.add.at(acc, index, v)`. Nothing else reads the zeros or a step, so the running cotangent
ends the step as `acc += out` would leave it, and nothing reads it but these updates. A row
read in the body (`X[k]`) so adds into its row, instead of building a whole array of zeros each
step; a v that is itself such a chain (the row read whole, then in parts: `w = X[k]; w[:b]`)
adds each of its steps into its part of that row (`acc[k][:b] += u`), and makes no row of
zeros either.

`into(sub, accs)` finds the `fused` nodes of the body (`symgrad.passes.fuse`) whose every
result is such a v, or is itself an output added whole into its cotangent (`acc += v`) (of a
nest reading or updating slices, `symgrad.emit.framed`, any such results): their loop nest
adds each into its running cotangent where it computes it, with no array made for it
(`symgrad.emit.kernels`). It gives, by fused node, per result so added (by position) its
running cotangent's name and the array it is added into (`acc`, or `acc[i:j]` where the
index's parts are named before the nest is called), and sets `sub.into` to it; the outputs so
added are left out of the step's other updates. `into_carried(sub, sums, carried)` does the
same for a forward loop's nests computing the v of `out = out + v` (`symgrad.passes.fuse.
summed`): each adds v into the carried array, which the loop then carries on unchanged.
"""

from __future__ import annotations

import ast

from symgrad.rules import RULES, indexing
from symgrad.rules.indexing import index_expr


def added_at(body, out: int, captured: int) -> int | None:
    found = added_steps(body, out, captured)  # a chain of one step: the index_add alone
    return found[0][0] if found is not None and len(found[0]) == 1 else None


def _only_output(body, nid: int) -> bool:
    return not body.users(nid) and body.outputs.count(nid) == 1


def basic(body, node) -> bool:
    """Whether the index of `index_add` node holds ints and slices alone (`indexing.basic`)."""
    return indexing.basic({"parts": [body[p].aval for p in node.inputs[2:]]}, node.attrs)


def added_steps(body, out: int, captured: int) -> tuple[list[int], set[int]] | None:
    """(the updates, first to last; the nodes between them) of a body output `out` that adds
    values into the cotangent of the `captured` param x: `index_add(x, v, i)`, then any number
    of updates `z[j] = z[j] + w` of a basic index, each of the last (the simplifier's one
    buffer for several reads of x: `symgrad.passes.specialise`), directly or fitted to x; None
    where `out` is no such chain, or something else reads a value of it."""
    if not _only_output(body, out):
        return None
    between: set[int] = set()
    if body[out].op == "fit" and body[out].inputs[1] == captured:
        between.add(out)
        out = body[out].inputs[0]
        if body.users(out) != list(between) or out in body.outputs:
            return None
    return _steps(body, out, captured, between)


def _steps(body, out: int, captured: int | None, between: set[int]):
    """`added_steps` from `out` (already read by one thing alone) on, the first step adding
    into zeros like `captured` (None: like anything)."""
    steps = []
    node = body[out]
    while node.op == "setitem" and basic(body, node):
        z, total, *parts = node.inputs
        reads = [i for i in body[total].inputs if _reads_at(body, i, z, node)]
        if body[total].op != "add" or len(reads) != 1 or set(body.users(z)) != {reads[0], node.id}:
            return None
        if body.users(reads[0]) != [total] or body.users(total) != [node.id]:
            return None
        steps.append(node.id)
        between |= {reads[0], total}
        node = body[z]
    if node.op != "index_add" or captured is not None and node.inputs[0] != captured:
        return None
    steps.append(node.id)
    return steps[::-1], between


def _reads_at(body, i: int, z: int, update) -> bool:
    """Whether node i is `z[index]` at the update's index."""
    node = body[i]
    same = node.attrs.get("index") == update.attrs["index"]
    return node.op == "getitem" and node.inputs == (z, *update.inputs[2:]) and same


def chains(sub, accs: dict[int, tuple[str, int]]) -> set[int]:
    """accs: body output position -> (its running cotangent's name, the captured param). Each
    output that is a chain (`added_steps`) whose values between its steps are written inline
    is added step by step into its running cotangent, each step where it stands
    (`sub.adds_into`, written by `add_step`); returns the positions so added."""
    g, out, position = sub.graph, set(), None
    for r, (acc, captured) in accs.items():
        found = added_steps(g, g.outputs[r], captured)
        if found is not None and found[1] <= sub.inline:
            sub.adds_into.update(dict.fromkeys(found[0], acc))
            position = position or {n.id: k for k, n in enumerate(g.nodes())}
            for step in found[0]:
                _nest(sub, step, acc, position)
            out.add(r)
    return out


def _nest(sub, step: int, acc: str, position: dict[int, int]) -> None:
    """Where a step adds, at a basic index, a value that is itself zeros with values added into
    parts of it (a chain: the cotangent of a row read whole, then sliced, `w = W[i]; w[:b]`),
    read by that step alone and of the indexed part's shape, the value's steps add into that
    part of the running cotangent (`acc[i][:b] += v`), and the step itself adds nothing: no
    row of zeros is made. The index's parts must be computed before the value's first step
    (`position`: each node's in the order statements are written)."""
    g = sub.graph
    node = g[step]
    if not basic(g, node):
        return
    v, reader = _added(g, node)
    if g.users(v) != [reader] or v in g.outputs:
        return
    found = _steps(g, v, None, set())
    if found is None or not found[1] <= sub.inline:
        return
    aval = g[v].aval
    if getattr(aval, "shape", None) is None or indexing.region(g, node) != aval.shape:
        return
    first = min(position[s] for s in found[0])
    for p in node.inputs[2:]:
        if g[p].op != "const" and (p in sub.inline or position[p] > first):
            return
    where = index_expr(node.attrs["index"], [sub.expr(p) for p in node.inputs[2:]])
    part = ast.unparse(ast.Subscript(ast.Name(acc, ast.Load()), where, ast.Load()))
    sub.adds_into.update(dict.fromkeys(found[0], part))
    sub.adds_into[step] = None


def _added(g, node) -> tuple[int, int]:
    """(the value a step adds, the node reading it): `index_add(x, v, index)`'s v, or the w of
    an update `z[index] = z[index] + w`."""
    if node.op == "index_add":
        return node.inputs[1], node.id
    total = node.inputs[1]
    read, w = g[total].inputs
    if g[read].op == "getitem" and g[read].inputs[0] == node.inputs[0]:
        return w, total
    return read, total


def add_step(sub, nid: int) -> str:
    """`acc[index] += v` for a step of a chain (`chains`): an `index_add(x, v, index)`, or an
    update `z[index] = z[index] + v`; `np.add.at(acc, index, v)` where the index may repeat."""
    g, acc = sub.graph, ast.parse(sub.adds_into[nid], mode="eval").body
    node = g[nid]
    x, _, *parts = node.inputs
    v = _added(g, node)[0]
    if basic(g, node):
        where = index_expr(node.attrs["index"], [sub.expr(p) for p in parts])
        target = ast.Subscript(acc, where, ast.Store())
        return ast.unparse(ast.AugAssign(target, ast.Add(), sub.expr(v)))
    rule = RULES["index_add"]
    args = [sub.expr(x), sub.expr(v), ast.List([sub.expr(p) for p in parts], ast.Load())]
    where = rule.emit(args, node.attrs, rule).args[1]
    add_at = ast.Attribute(ast.Attribute(ast.Name("np", ast.Load()), "add"), "at")
    return ast.unparse(ast.Expr(ast.Call(add_at, [acc, where, args[1]], [])))


def into(sub, outs: dict[int, tuple[str, int]]) -> set[int]:
    """outs: body output position -> (its running cotangent's name, the captured param). Sets
    `sub.into` (see the module docstring); returns the output positions it adds."""
    g, position = sub.graph, {n.id: k for k, n in enumerate(sub.graph.nodes())}
    dest: dict[int, dict[int, tuple[int, ast.expr]]] = {}  # fused -> result -> (output, array)
    for r, (acc, captured) in outs.items():
        out, name = g.outputs[r], ast.Name(acc, ast.Load())
        at = added_at(g, out, captured)
        item = g[at].inputs[1] if at == out and basic(g, g[at]) else out
        if g[item].op != "item" or g[g[item].inputs[0]].op != "fused":
            continue
        fused = g[item].inputs[0]
        alone = g.users(item) == [at] if at == out else _only_output(g, item)
        region = indexing.region(g, g[at]) if at == out else g[captured].aval.shape
        if not alone or region != g[item].aval.shape or not region:  # (a number: returned)
            continue
        if at == out:
            parts = g[out].inputs[2:]
            if any(
                g[p].op != "const" and (p in sub.inline or position[p] > position[fused])
                for p in parts
            ):
                continue
            where = index_expr(g[out].attrs["index"], [sub.expr(p) for p in parts])
            name = ast.Subscript(name, where, ast.Load())
        dest.setdefault(fused, {})[g[item].attrs["index"]] = (r, acc, ast.unparse(name))
    return _nests_into(sub, dest)


def into_carried(sub, sums: dict[int, int], carried: list[str]) -> set[int]:
    """sums: a forward loop's body outputs `p + v` -> v (`symgrad.passes.fuse.summed`);
    carried: the carried values' names. Sets `sub.into` for the nests whose every result is
    such a v: each adds its v into p's array (`out_1[i] += ...`), which the loop then carries
    on as it is; returns the carried positions so computed."""
    g, dest = sub.graph, {}
    for j, o in enumerate(g.outputs[: len(carried)]):
        v = sums.get(o)
        if v is not None and g[v].op == "item" and g[g[v].inputs[0]].op == "fused":
            if g.users(v) == [o]:
                entry = (j, carried[j], carried[j])
                dest.setdefault(g[v].inputs[0], {})[g[v].attrs["index"]] = entry
    return _nests_into(sub, {f: r for f, r in dest.items() if "frames" not in g[f].attrs})


def _nests_into(sub, dest: dict[int, dict[int, tuple[int, str, str]]]) -> set[int]:
    """dest: fused node -> its result -> (the body output's position, the running value's
    name, the array added into). Sets `sub.into` for the nests whose every result is so added
    (of a framed nest, any); returns the positions of the outputs so computed."""
    g, added = sub.graph, set()
    for fused, results in dest.items():
        node = g[fused]
        every = len(results) == len(node.aval) or "frames" in node.attrs  # (framed: any)
        if node.attrs["folds"] or "scatters" in node.attrs or not every:
            continue
        sub.into[fused] = {k: results[k][1:] for k in sorted(results)}
        added |= {r for r, _, _ in results.values()}
        sub.inline |= {g.outputs[r] for r, _, _ in results.values()}  # (never written)
    return added
