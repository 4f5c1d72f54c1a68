"""Lowering branches: `if`/`elif`/`else` and `a if c else b` on runtime values become `cond` nodes.

Contract: a condition known when compiling (a constant, a flag default) picks its branch at once.
Otherwise both branches are lowered, each into a graph of its own whose params are the values it
reads from before the `if` (like a loop body's captured values), and whose outputs are the
variables the `if` binds that exist afterwards: those bound before it, and those both branches
bind. The enclosing graph gets a `cond` node on the condition and those values, and one `item`
per output variable. A variable only one branch binds may not be read after the `if`.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from symgrad.errors import UnsupportedSyntaxError
from symgrad.frontend import aliases, raises
from symgrad.frontend.aliases import BodyEnv
from symgrad.frontend.jumps import FLAGS, READABLE
from symgrad.frontend.loops import (
    Appender,
    appended_in_branch,
    appended_names,
    assigned_names,
    holds_items,
)
from symgrad.frontend.source import own_nodes
from symgrad.frontend.values import Stacked, Unbound, is_number
from symgrad.ir import Graph
from symgrad.rules import Value

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer


def lower_if(lw: _Lowerer, s: ast.If) -> None:
    pred = _condition(lw, s.test)
    if raises.raising(s.body) or raises.raising(s.orelse):  # a check of the arguments
        raises.lower_checked_if(lw, s, pred)
        return
    if not isinstance(pred, Value):  # decided now
        lw.block(s.body if pred else s.orelse)
        return
    loc = lw.src.locate(s)
    bound = [
        assigned_names(b) + [appended_in_branch(xs) for xs in _appended(lw, b)]
        for b in (s.body, s.orelse)
    ]
    outputs = [
        n
        for n in dict.fromkeys(bound[0] + bound[1])
        if n in lw.env or (n in bound[0] and n in bound[1])
    ]
    share = aliases.may_update(s.body + s.orelse)
    while True:  # again, while a branch changes an array held by names that are not outputs
        groups = {n: aliases.holders(lw.env, n) if share else [n] for n in outputs}
        lowered = [_lower_branch(lw, s, stmts, groups) for stmts in (s.body, s.orelse)]
        more = [
            n
            for _, env in lowered
            for n, param in env.read_as.items()
            if n not in outputs and n in lw.env and dict.get(env, n) is not param
        ]
        if not more:
            break
        outputs += list(dict.fromkeys(more))
    ends = [[_end(env, name) for name in outputs] for _, env in lowered]
    unbound = {}
    for k, name in enumerate(outputs):
        gone = [e[k] for e in ends if isinstance(e[k], Unbound)]
        if gone:
            unbound[name] = gone[0]
    kept = [k for k, name in enumerate(outputs) if name not in unbound]
    names, values, joined = _parts([outputs[k] for k in kept], [[e[k] for k in kept] for e in ends])
    values = [[_output(lw, s, name, v) for name, v in zip(names, vals)] for vals in values]
    _finish(lw, pred, s, lowered, names, values)
    _rejoin(lw, joined)
    for name, value in unbound.items():
        lw.env[name] = value
    for name in bound[0] + bound[1]:
        if name not in outputs:
            lw.env[name] = Unbound(f"is bound in only one branch of the if on line {loc.line}")
    for xs in _appended(lw, s.body + s.orelse):  # what both branches appended, the if's
        name = appended_in_branch(xs)
        appender, value = lw.env[xs], dict.get(lw.env, name)
        if not lw.branch and isinstance(appender, Appender) and not isinstance(value, Unbound):
            dict.pop(lw.env, name)
            appender.append(lw, value, s, bool(appender.front))  # (in an enclosing branch, its
            # if's, in turn; inserted first where the branches inserted it: `front`)


def _appended(lw: _Lowerer, stmts: list[ast.stmt]) -> list[str]:
    """The names `xs` of the lists a loop fills that the block appends to (`xs.append(...)`)."""
    return [n for n in appended_names(stmts) if n in lw.env and isinstance(lw.env[n], Appender)]


def _parts(names: list[str], values: list[list]) -> tuple[list, list, dict]:
    """Names whose value is a container of one structure in each branch (`return a, b` in
    both; a tuple or list of as many items, a dict of the same keys, a NamedTuple of one type;
    nested ones too), one output per item (named `<name>[k]`, which no source can spell): the
    names and each branch's values, and for each container's name what builds it from its
    items and its parts' names, the outer containers first."""
    out_names, out_values, joined = [], [[] for _ in values], {}
    todo = [(name, [vals[k] for vals in values]) for k, name in enumerate(names)]
    while todo:
        name, ends = todo.pop(0)
        keys = _keys(ends)
        if keys is not None:
            parts = [f"{name}[{k!r}]" for k in keys]
            joined[name] = (_builder(ends[0], keys), parts)
            todo[:0] = [(part, [v[k] for v in ends]) for k, part in zip(keys, parts)]
            continue
        out_names.append(name)
        for vals, v in zip(out_values, ends):
            vals.append(v)
    return out_names, out_values, joined


def _keys(ends: list) -> list | None:
    """The keys (indices) of the items of containers of one structure, one per branch."""
    kinds = {type(v) for v in ends}
    if len(kinds) != 1:
        return None
    first = ends[0]
    if isinstance(first, (tuple, list)) and len({len(v) for v in ends}) == 1:
        return list(range(len(first)))
    if isinstance(first, dict) and all(list(v) == list(first) for v in ends):  # (in order)
        return list(first)
    return None


def _builder(like: Any, keys: list):
    """What builds a container like `like` from its items, in the order of `keys`."""
    if isinstance(like, dict):
        return lambda items: dict(zip(keys, items))
    if hasattr(type(like), "_fields"):  # a NamedTuple
        return lambda items: type(like)(*items)
    return type(like)


def _rejoin(lw: _Lowerer, joined: dict) -> None:
    """Each container a branch gave, bound again from its parts (inner ones first)."""
    for name, (build, parts) in reversed(joined.items()):
        lw.env[name] = build([dict.pop(lw.env, part) for part in parts])


def _finish(lw: _Lowerer, pred: Value, s: ast.AST, lowered, names, values) -> None:
    """The cond node of lowered branches giving `values` for `names`, and one more output per
    array from before the if that a branch changed in place (its state, which every holder of
    the array gets); the names bound to their values after the if."""
    changed = _changed_objects(lw, lowered)
    for (_, env), vals in zip(lowered, values):
        vals += [_state(lw, env, x) for x in changed]
        for param, outer in env.outer_ids.items():  # (`x -= v` no other name saw: a loop's
            if lw.memory.was_changed(env.body, param, maybe=True):  # next iteration may)
                lw.memory.maybe.add(lw.memory.first(lw.graph, outer))
    outputs_named = names + [None] * len(changed)  # a changed array's state has no name
    items = _fold_flags(lw, pred, outputs_named, _cond(lw, pred, s, lowered, values), s)
    for (_, env), vals in zip(lowered, values):
        aliases.carry_out_unsure(lw, env, zip(vals, items))
    for x, item in zip(changed, items[len(names) :]):
        aliases.update(lw, Value(x), item, s, "")
    _bind_outputs(lw, s, lowered, names, values, items)


def _lower_branch(lw: _Lowerer, s: ast.If, stmts: list, groups: dict) -> tuple:
    """One branch lowered into a graph of its own: (its lowerer, its names). Each output
    name's holders (the names holding its array before the if) hold that array in it too."""
    graph = Graph(f"{lw.graph.name}.if", lw.graph.file, s.lineno)
    env = BodyEnv(lw, graph, [])
    for name, holders in groups.items():
        if len(holders) > 1:
            param = env[name]
            for h in holders:
                env.read_as[h] = param
            env.bind_group(holders, param)
    child = lw.scope(graph, env)
    child.branch = True
    child.block(stmts)
    return child, env


def _end(env: BodyEnv, name: str) -> Any:
    """A name's value at the end of a branch (a value from before the if is captured)."""
    return dict.get(env, name) if dict.__contains__(env, name) else env[name]


def _changed_objects(lw: _Lowerer, lowered: list) -> list[int]:
    """The arrays from before the if (values of the enclosing graph) that a branch changed in
    place: each is one more output of the cond, its state at the end of the branch."""
    out: dict[int, None] = {}
    for _, env in lowered:
        for param, outer in env.outer_ids.items():
            if lw.memory.was_changed(env.body, param):
                out.setdefault(outer)
    return list(out)


def _state(lw: _Lowerer, env: BodyEnv, outer: int) -> Value:
    """The array `outer` from before the if, as it is at the end of the branch."""
    param = env.capture("a", Value(outer))
    if lw.memory.was_changed(env.body, param.id):
        return Value(lw.memory.latest[(env.body, param.id)])
    return param


def _bind_outputs(lw: _Lowerer, s: ast.If, lowered, names, values, items) -> None:
    """Bind the output names after the if. Names holding one array in every branch hold one
    item; a name holding an array from before the if, unchanged, in every branch holds it
    still; names holding one array in some branches only may hold one or two after the if,
    and an update through them is refused."""
    envs = [env for _, env in lowered]

    def holds(env: BodyEnv, v: Any, k: int) -> tuple:  # which array a branch's value is
        if not isinstance(v, Value):
            return ("number", k)
        graph, nid = lw.memory.first(env.body, v.id)  # an updated array is the array
        nid = nid if graph is env.body else v.id
        return ("outer", env.outer_ids[nid]) if nid in env.outer_ids else ("local", nid)

    def where(k: int) -> tuple:  # which array the k-th output holds, in each branch
        return tuple(holds(env, vals[k], k) for env, vals in zip(envs, values))

    sigs = [where(k) for k in range(len(items))]
    first: dict[tuple, int] = {}  # one item per array: a changed array's state output first
    for j in range(len(names), len(items)):
        first.setdefault(sigs[j], j)
    reason = f"after the if on line {lw.src.locate(s).line}, it may hold another name's array"
    for k, name in enumerate(names):
        sig = sigs[k]
        item = items[first.setdefault(sig, k)]
        readable = _READABLE.get(name, name)
        if isinstance(item, Value) and lw.graph[item.id].op == "item" and readable.isidentifier():
            lw.graph[item.id].name = lw.graph[item.id].name or readable
        outer = {b for b in sig if b[0] == "outer"}
        if len(outer) == 1 and all(b[0] == "outer" for b in sig) and first[sig] < len(names):
            item = Value(next(iter(outer))[1])  # the array from before the if, unchanged
        lw.env[name] = item
        for j in range(len(items)):
            other = sigs[j]
            some = any(a == b for a, b in zip(sig, other))
            if j != k and some and sig != other:
                for v in (item, items[j]):
                    if isinstance(v, Value):
                        lw.memory.mark_unsure(lw.graph, v.id, reason)
        for b in outer:
            if sig != tuple(b for _ in sig):
                lw.memory.mark_unsure(lw.graph, b[1], reason)
                if isinstance(item, Value):
                    lw.memory.mark_unsure(lw.graph, item.id, reason)


def lower_ifexp(lw: _Lowerer, e: ast.IfExp) -> Any:
    pred = _condition(lw, e.test)
    if not isinstance(pred, Value):
        return lw.expr(e.body if pred else e.orelse)
    lowered, ends = [], []
    for x in (e.body, e.orelse):
        graph = Graph(f"{lw.graph.name}.if", lw.graph.file, e.lineno)
        env = BodyEnv(lw, graph, [])
        child = lw.scope(graph, env)
        ends.append([child.expr(x)])
        lowered.append((child, env))
    names, values, joined = _parts([_VALUE], ends)  # bound to a name no source can spell
    values = [[_output(lw, e, name, v) for name, v in zip(names, vals)] for vals in values]
    _finish(lw, pred, e, lowered, names, values)
    _rejoin(lw, joined)
    value = dict.pop(lw.env, _VALUE)
    if isinstance(value, Value) and lw.graph[value.id].op == "item":
        lw.graph[lw.graph[value.id].inputs[0]].attrs["expression"] = True  # written as one
    return value


_VALUE = "<the value>"  # what `a if c else b` gives, while its if is finished


def _condition(lw: _Lowerer, test: ast.expr) -> Any:
    pred = lw.expr(test)
    if isinstance(pred, Value) or isinstance(pred, (bool, int, float, type(None))):
        return pred
    if isinstance(pred, (tuple, list, str, dict)):  # (a container's: its items known now)
        return bool(pred)
    if isinstance(pred, Stacked):  # (a list's truth: whether it holds items)
        return holds_items(lw, pred, test)
    raise lw.error(test, f"a condition on a {type(pred).__name__} is not supported")


def _output(lw: _Lowerer, where: ast.AST, name: str, value: Any) -> Any:
    if isinstance(value, (Value, bool)) or is_number(value):
        return value
    if isinstance(value, Unbound):
        raise lw.error(
            where,
            f"{name!r} {value.reason}",
            f"Bind {name} before the if, so that it has a value whichever way the code runs.",
            cls=UnsupportedSyntaxError,
        )
    what = name.replace(RETURN, "the value returned", 1)  # (`<return>[1]`: a part of it)
    what = what.replace(_VALUE, "the value", 1)
    hint = (
        "Branches may only choose between arrays and numbers, and tuples, lists and dicts of them"
    )
    if isinstance(value, (tuple, list, dict)):  # (of other lengths or keys)
        hint += " of one structure: give each part a name in both branches and make the "
        hint += f"{type(value).__name__} after the if"
    raise lw.error(
        where,
        f"a branch gives {what} a {type(value).__name__}",
        hint + ".",
        cls=UnsupportedSyntaxError,
    )


def _cond(lw: _Lowerer, pred: Value, where: ast.AST, lowered: list, values: list) -> list:
    """A `cond` node choosing between the lowered branches, each giving `values`; its items."""
    loc = lw.src.locate(where)
    graphs, captures = [], []
    for (child, env), vals in zip(lowered, values):
        env.body.outputs = [child.as_node(env.body, v, loc) for v in vals]
        graphs.append(env.body)
        captures.append([nid for _, nid in env.captured])
    operands = list(dict.fromkeys(nid for nids in captures for nid in nids))
    params = tuple(tuple(operands.index(nid) for nid in nids) for nids in captures)
    attrs = {"n_operands": len(operands), "branches": tuple(graphs), "params": params}
    node = lw.graph.add("cond", (pred.id, *operands), attrs, loc)
    return [
        Value(lw.graph.add("item", (node,), {"index": k}, loc))
        for k in range(len(graphs[0].outputs))
    ]


def _fold_flags(lw: _Lowerer, pred: Value, outputs: list, items: list, s: ast.If) -> list:
    """The values after the if of its outputs `items` (named by `outputs`, None for the state
    of an array a branch changed): a flag of `jumps` that one branch sets True and the other
    False is the condition itself (or its negation), and one both branches set alike is that
    constant; the cond node keeps only the other outputs."""
    if not items:
        return items
    cond = lw.graph[lw.graph[items[0].id].inputs[0]]
    branches = cond.attrs["branches"]
    values: list = []
    for k, (name, item) in enumerate(zip(outputs, items)):
        ends = [b[b.outputs[k]] for b in branches]
        consts = [n.attrs["value"] if n.op == "const" else None for n in ends]
        if name not in FLAGS or not all(isinstance(c, bool) for c in consts):
            values.append(item)
        elif consts[0] == consts[1]:
            values.append(consts[0])
        else:
            flag = pred if consts[0] else lw.call_rule("logical_not", (pred,), {}, s)
            node = lw.graph[flag.id]
            if node.name is None and node.op != "param":
                node.name = READABLE[name]
            values.append(flag)
    kept = [k for k, v in enumerate(values) if v is items[k]]
    if len(kept) < len(items):
        for b in branches:
            dropped = {b.outputs[k] for k in range(len(items)) if k not in kept}
            b.outputs = [b.outputs[k] for k in kept]
            b.remove(o for o in dropped - set(b.outputs) if b[o].op == "const" and not b.users(o))
        lw.graph.remove(item.id for k, item in enumerate(items) if k not in kept)
        for new, k in enumerate(kept):
            lw.graph[items[k].id].attrs["index"] = new
        if not kept:
            lw.graph.remove([cond.id])
    return values


RETURN = "<return>"  # the variable an early return assigns (no source name can clash with it)
_READABLE = {RETURN: "out", **READABLE}


def fold_returns(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """The block with its early returns folded away: `if c: return a` followed by the rest `R`
    becomes `if c: <return> = a  else: R (with its return assigned)`, then `return <return>`,
    so that the one `return` is last. Blocks that do not return end as they were; a path
    that raises ends there (`symgrad.frontend.raises`)."""
    for k, s in enumerate(stmts):
        if isinstance(s, ast.If) and _returns(s.body + s.orelse):
            rest, branches = stmts[k + 1 :], []
            for block in (s.body, s.orelse):
                folded = fold_returns(block)
                if not (folded and isinstance(folded[-1], (ast.Return, ast.Raise))):
                    folded = fold_returns(block + rest)  # this branch falls through to the rest
                if folded and isinstance(folded[-1], ast.Raise):
                    branches.append(folded)
                    continue
                if not (folded and isinstance(folded[-1], ast.Return)):
                    return stmts  # a path ends without a value: the fence says so
                ret = folded[-1]
                target = ast.copy_location(ast.Name(RETURN, ast.Store()), ret)
                branches.append(
                    [*folded[:-1], ast.copy_location(ast.Assign([target], ret.value), ret)]
                )
            value = ast.copy_location(ast.Name(RETURN, ast.Load()), s)
            return [
                *stmts[:k],
                ast.copy_location(ast.If(s.test, *branches), s),
                ast.copy_location(ast.Return(value), s),
            ]
    return stmts


def _returns(stmts: list[ast.stmt]) -> bool:
    return any(isinstance(n, ast.Return) for s in stmts for n in own_nodes(s))
