"""What a loop carries, and the checks of its body that keep Python's aliasing.

Contract: `slots(lw, s, carried, again, share)` groups the names a loop carries by the array
they hold before it: one `Slot` (one param, one output) per array, with the names holding it that
the body does not assign, where the body may change it in place. After the body is lowered,
`check_body` says what a new lowering must do differently (`Again`: carry more names, keep
names apart, unbind names, take a param for a possible number), `refuse_changed_then_dropped`,
`refuse_views_changed_next`, `refuse_appended_and_updated`, `mark_unsure` and
`list_items_are_arrays` refuse or mark what cannot be modelled, and `changed_in_place` says
whether a slot's array was updated in place and is still held.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from symgrad import tree
from symgrad.errors import UnsupportedSyntaxError
from symgrad.frontend import aliases
from symgrad.frontend.aliases import BodyEnv
from symgrad.frontend.values import Unbound, is_number
from symgrad.ir import Graph
from symgrad.rules import Value

if TYPE_CHECKING:
    from symgrad.frontend.lower import _Lowerer


def refuse_appended_and_updated(lw, s, body: Graph, env, slots, params, appenders) -> None:
    """A carried array appended to a list as it is (or a view of it), which the body changes
    in place (`acc += v`, `acc[i] = v`): the next iteration changes the items appended before,
    as Python's list holds that one array; symgrad's holds the values."""
    memory = lw.memory
    for slot, param in zip(slots, params):
        name, final = slot.names[0], dict.get(env, slot.names[0])
        before = slot.value.id if isinstance(slot.value, Value) else None
        array = aliases.array_kind(body, param.id, memory) or (
            before is not None and aliases.array_kind(lw.graph, before, memory)
        )
        augmented = any(  # `acc += v` of an array: in place (in a branch or nested loop too)
            isinstance(n, ast.AugAssign) and getattr(n.target, "id", None) in slot.names
            for n in ast.walk(ast.Module(s.body, []))
        )
        if not (memory.was_changed(body, param.id) or array and augmented):
            continue
        kept = {(body, param.id), object_of(memory, body, final)}  # the next iteration's
        for a in appenders:
            if object_of(memory, body, a.value) in kept - {None}:
                raise lw.error(
                    s,
                    f"{a.name}.append(...) keeps the array {name} (or a view of it), which the "
                    "next iteration changes in place, changing the list's items too",
                    f"Append a copy: {a.name}.append({name}.copy()).",
                    cls=UnsupportedSyntaxError,
                )


def object_of(memory, body: Graph, v: Any) -> tuple | None:
    """The object (`Memory.first`) of the array v is, or is a view of (None: no array)."""
    if not isinstance(v, Value):
        return None
    return memory.first(body, aliases.base_of(body, v.id))


@dataclass
class Slot:
    """One carried object: the names holding it before the loop (which hold it all through the
    body, or the body is lowered again with them apart) and its value there."""

    names: list[str]
    value: Any

    @property
    def spelt(self) -> str:
        """The name of its param and result in the graph: `state_0` for a container's leaf
        (`state[0]`, `Container`)."""
        return re.sub(r"\W+", "_", self.names[0]).strip("_")


@dataclass
class Again:
    """What a body's first lowering found, for the next: names to carry too (the body changed
    the array they hold), carried names to keep apart, names unbound from the start, and
    carried names that may hold a number from the second iteration on (an array before)."""

    carry: list[str]
    apart: set[str]
    unbound: dict[str, Unbound]
    numbers: set[str] = field(default_factory=set)
    unowned: set[str] = field(default_factory=set)  # may hold a view or argument later on

    def __bool__(self) -> bool:
        return bool(self.carry or self.apart or self.unbound or self.numbers or self.unowned)


@dataclass
class Container:
    """A tuple, list or dict of arrays and numbers (`state = (h, c)`) that the body binds anew:
    carried leaf by leaf, leaf k under the name `leaves[k]` (`state[0]`, which no source can
    spell), bound beside the container's name while the loop is lowered."""

    treedef: tree.Treedef
    leaves: list[str]
    what: str  # its type's name, and length: "tuple of 2"
    mutable: bool = False  # a dict or list the function made, which no other name holds: the
    # body may change its items (`d[k] = v`, `symgrad.frontend.subscripts`)

    def value(self, env) -> Any:
        """The container of the leaves' values in env."""
        return tree.unflatten(self.treedef, [env[name] for name in self.leaves])

    def bind(self, lw: _Lowerer, env, graph: Graph, name: str) -> None:
        """The container's name bound in a body's env (of `graph`) to the container of its
        leaves' params, whose items the body may change where `mutable` (a while loop's
        condition binds `value` alone: it changes none)."""
        value = self.value(env)
        dict.__setitem__(env, name, value)
        if self.mutable:
            lw.memory.made[id(value)] = (value, graph)


def containers(lw: _Lowerer, names: list[str], skip) -> dict[str, Container]:
    """The names (of `names`, not in `skip`) holding a container of arrays and numbers, their
    leaves bound in lw.env under names of their own."""
    out: dict[str, Container] = {}
    for name in names:
        if name in skip or name not in lw.env:
            continue
        leaves = _leaves(lw.env[name])
        if leaves is None:
            continue
        values, treedef = leaves
        paths = ["".join(f"[{k!r}]" for k in p) for p in treedef.paths()]
        value = lw.env[name]
        mutable = lw.memory.maker(value) is not None and not _held_elsewhere(lw, name, value)
        out[name] = Container(treedef, [f"{name}{p}" for p in paths], _what(value), mutable)
        for leaf, value in zip(out[name].leaves, values):
            lw.env[leaf] = value
    return out


def _held_elsewhere(lw: _Lowerer, name: str, value: Any) -> bool:
    """Whether anything but `name` here holds the container `value`: another name, a container,
    of this scope, the scopes around it (`BodyEnv.outer`, `enclosing`) or the callers'
    (`parent`). A loop's change of its items then reaches them, which the loop's carrying it
    anew (a new container bound to `name` after it) would not."""
    scopes, seen = [lw], set()
    while scopes:
        at = scopes.pop()
        if at is None or id(at) in seen:
            continue
        seen.add(id(at))
        scopes += [at.parent, at.enclosing]
        env = at.env
        while isinstance(env, dict):
            for k, v in dict.items(env):
                if not (env is lw.env and k == name) and _holds(v, value):
                    return True
            env = getattr(env, "outer", None)
    return False


def _holds(v: Any, value: Any) -> bool:
    if v is value:
        return True
    if isinstance(v, (tuple, list)):
        return any(_holds(x, value) for x in v)
    if isinstance(v, dict):
        return any(_holds(x, value) for x in v.values())
    return False


def _leaves(value: Any) -> tuple[list, tree.Treedef] | None:
    """(leaves, structure) of a tuple, list or dict (nested) of arrays and numbers; else None."""
    if not isinstance(value, (tuple, list, dict)):
        return None
    values, treedef = tree.flatten(value)
    kinds = {d.kind for d in _nodes(treedef)}
    if not values or kinds - {"tuple", "list", "dict", "namedtuple"}:
        return None
    if all(isinstance(v, (Value, bool)) or is_number(v) for v in values):
        return values, treedef
    return None


def _nodes(d: tree.Treedef):
    if not d.leaf:
        yield d
        for c in d.children:
            yield from _nodes(c)


def _orders(d: tree.Treedef) -> tuple:
    """The dicts' key orders in a structure (`Treedef.structure` has their keys sorted)."""
    return (d.order, tuple(_orders(c) for c in d.children))


def _what(value: Any) -> str:
    size = f" of {len(value)}" if isinstance(value, (tuple, list, dict)) else ""
    return f"{type(value).__name__}{size}"


def unpack(lw: _Lowerer, s, env, held: dict[str, Container]) -> None:
    """At the end of the body, each container's leaves bound to its leaves' names (refused
    where the body bound the name to a container of another structure)."""
    for name, c in held.items():
        value = dict.get(env, name)
        leaves = _leaves(value)
        if isinstance(value, Unbound):  # (why: a change in place another name would see)
            raise lw.error(s, f"{name!r} {value.reason}", value.hint, cls=UnsupportedSyntaxError)
        if leaves is None or leaves[1].structure() != c.treedef.structure():
            raise lw.error(
                s,
                f"the loop binds {name!r} to a {_what(value)}, where it held a {c.what} before "
                "it, of arrays and numbers: a container a loop carries keeps its structure "
                "from one iteration to the next, and holds arrays and numbers",
                f"Keep {name} a container of the same items in every iteration.",
                cls=UnsupportedSyntaxError,
            )
        if _orders(leaves[1]) != _orders(c.treedef):
            raise lw.error(
                s,
                f"the loop binds {name!r} to a dict of its keys in another order than before "
                "it: a loop over its keys would take them in another order from the second "
                "step on",
                f"Keep the keys of {name} in one order.",
                cls=UnsupportedSyntaxError,
            )
        for leaf, v in zip(c.leaves, leaves[0]):
            dict.__setitem__(env, leaf, v)


def slots(lw: _Lowerer, s, carried: list[str], again: Again, share: bool) -> list[Slot]:
    """The carried objects: names holding one array before the loop share a slot (with the
    names holding it that the body does not assign, where the body may change it in place)."""
    slots: list[Slot] = []
    by_key: dict[tuple, Slot] = {}
    for name in carried:
        value = lw.env[name]
        if (
            isinstance(value, Unbound)
            or not isinstance(value, (Value, bool))
            and not is_number(value)
        ):
            container = isinstance(value, (tuple, list, dict))
            raise lw.error(
                s,
                f"the loop changes {name!r}, which holds a {type(value).__name__} here",
                "A loop carries arrays and numbers, and tuples, lists and dicts of them of one "
                "structure; a list that grows is one a loop fills: empty before it, appended "
                "to once per step (xs.append(v))."
                if container
                else "Only arrays and numbers may be carried from one iteration to the next.",
                cls=UnsupportedSyntaxError,
            )
        key = aliases.identity(lw.env, name) if share and name not in again.apart else None
        if key is not None and key in by_key:
            by_key[key].names.append(name)
            continue
        slot = Slot([name], value)
        slots.append(slot)
        if key is not None:
            by_key[key] = slot
            others = aliases.holders(lw.env, name)
            slot.names += [n for n in others if n not in carried and n not in again.unbound]
    return slots


def refuse_changed_then_dropped(lw, s, body: Graph, slots, params, finals) -> None:
    """A carried array from before the loop that the body changes in place and then stops
    holding (`v[0] = a; v = v * 2`): only the first iteration changes it, which the names
    holding it after the loop would see; symgrad cannot say that, so it refuses."""
    for slot, param, final in zip(slots, params, finals):
        if not lw.memory.was_changed(body, param.id) or changed_in_place(
            lw.memory, body, param, final
        ):
            continue
        held = [
            name
            for env, name in aliases.others(lw, slot.value, slot.names[0])
            if not (env is lw.env and name in slot.names)
        ]
        if held:
            raise lw.error(
                s,
                f"the loop changes the array {slot.names[0]} held before it in place, then binds "
                f"{slot.names[0]} to another value: {', '.join(held)}, holding that array too, "
                "would see the change of the first iteration only",
                f"Copy it before the loop ({slot.names[0]} = {slot.names[0]}.copy()), or change "
                "it in place in every iteration.",
                cls=UnsupportedSyntaxError,
            )


def refuse_views_changed_next(lw, s, body: Graph, slots, params, finals) -> None:
    """A carried name that a step ends holding as a view of another array the loop carries
    (`u = y[-1]`, y carried too) and that the next step changes in place (`u -= 0.1`, before it
    binds u again): Python's change reaches that array through the view, where the body takes
    its param for a value of its own. An entry read by ints is checked, when the module runs,
    to be a number (of a vector: `aliases.checked_entry`); another view is refused. (A view of
    an array from before the loop: `mark_unsure`; of the name's own array, the one it held
    before the loop: `aliases.augmented`.)"""
    for k, final in enumerate(finals):
        if not (isinstance(final, Value) and lw.memory.was_changed(body, params[k].id, True)):
            continue
        others = {p.id for j, p in enumerate(params) if j != k}
        others |= {f.id for j, f in enumerate(finals) if j != k and isinstance(f, Value)}
        if not aliases.bases_of(body, final.id) - {final.id} & others:
            continue
        if aliases.entry_read(body, final.id):
            aliases.checked_entry(body, final)
            continue
        name = slots[k].names[0]
        raise lw.error(
            s,
            f"the loop carries {name}, a view of another array it carries, into a step that "
            f"changes {name} in place before it binds the name again: Python's change reaches "
            "that array through the view, which symgrad does not follow from step to step",
            f"Copy the view where a value of its own is meant ({name} = {name}.copy()), or "
            f"write {name} = {name} - ... for a new value.",
            cls=UnsupportedSyntaxError,
        )


def changed_in_place(memory, body: Graph, param: Value, final: Any) -> bool:
    """Whether the body changed the object `param` stands for and ends holding it."""
    return (
        isinstance(final, Value)
        and memory.was_changed(body, param.id)
        and memory.first(body, final.id) == (body, param.id)
    )


def check_body(lw, s, env: BodyEnv, slots, params, again: Again) -> Again | None:
    """What the next lowering must do differently (None: nothing), or a refusal where Python's
    aliasing through the loop cannot be modelled."""
    more = Again([], set(), {})
    slot_names = {n for slot in slots for n in slot.names}
    for slot, param in zip(slots, params):  # a view of a carried array, or the array itself
        if not isinstance(slot.value, Value):  # read through a container, captured as it was
            continue  # before the loop: stale once an iteration changed the array in place
        if not lw.memory.was_changed(env.body, param.id, True):
            continue
        base = aliases.base_of(lw.graph, slot.value.id)
        views = {v for v in aliases.views_of(lw.graph, base) if not aliases.entry_read(lw.graph, v)}
        same = {slot.value.id, base} | views
        for p, outer in env.outer_ids.items():
            if outer in same and env.body.users(p):
                raise lw.error(
                    s,
                    f"the loop changes {slot.names[0]} in place, and reads "
                    f"{env.body[p].name or 'a value'}, a view of it (or it, held by a list, "
                    "tuple or dict) from before the loop, which would see each change",
                    f"Read {slot.names[0]} itself in the loop (b = a[1:] inside it), or "
                    "copy the view before the loop (b = a[1:].copy()) where a copy is meant.",
                    cls=UnsupportedSyntaxError,
                )
    named = {p.id for p in env.read_as.values()}
    for p in env.outer_ids:  # read through a dict, list or tuple alone: no name to carry
        if p not in named and lw.memory.was_changed(env.body, p):
            raise lw.error(
                s,
                f"the loop changes in place an array it reads from a dict, list or tuple made "
                f"before it ({env.body[p].name}), whose item would see the change; symgrad "
                "carries names through a loop, not a container's items",
                "Bind the array to a name before the loop (h = state['h']) and change it "
                "through that name, or make a new array in the loop.",
                cls=UnsupportedSyntaxError,
            )
    for name, param in env.read_as.items():  # names read from before the loop
        final = dict.get(env, name)
        if name in slot_names or final is param:
            continue
        if isinstance(final, Unbound):
            more.unbound[name] = final
        elif name in lw.env:  # its array was changed in place: carry it
            more.carry.append(name)
    for slot, param in zip(slots, params):
        finals = [dict.get(env, n) for n in slot.names]
        for name, final in zip(slot.names, finals):
            if isinstance(final, Unbound):
                more.unbound[name] = final
        kind = aliases.array_kind(env.body, param.id, lw.memory)
        final = finals[0]
        if kind is not None and not (
            isinstance(final, Value) and aliases.array_kind(env.body, final.id, lw.memory)
        ):
            more.numbers.add(slot.names[0])  # an array at first, maybe a number afterwards
        if env.body[param.id].attrs.get("owned") and isinstance(final, Value):
            if not aliases.owned(env.body, final.id):  # its own array at first, a view later on
                more.unowned.add(slot.names[0])
        ids = {f.id if isinstance(f, Value) else id(f) for f in finals}
        if len(ids) > 1 and not more.unbound:
            if lw.memory.was_changed(env.body, param.id):
                raise lw.error(
                    s,
                    f"{' and '.join(slot.names)} hold one array before the loop, which the body "
                    "changes in place and then binds one of the names to another value: the next "
                    "iteration would change a different set of names",
                    "Give each array one name in the loop, or copy it (x.copy()) where a copy "
                    "is meant.",
                    cls=UnsupportedSyntaxError,
                )
            more.apart |= set(slot.names)
    return more if more else None


def mark_unsure(lw, s, env: BodyEnv, slots, params, finals, items) -> None:
    """Carried names that the body makes hold one array (or an array from before the loop)
    hold it only after an iteration ran: an update through them afterwards is refused. The
    body may not change such an array in place: its next iteration would change both names."""
    sharing: dict[tuple, list[int]] = {}
    for k, final in enumerate(finals):
        if isinstance(final, Value):
            sharing.setdefault(aliases.value_identity(env, final.id), []).append(k)
    reason = f"after the loop on line {lw.src.locate(s).line}, it may hold another name's array"
    for ks in sharing.values():
        bases = aliases.bases_of(env.body, finals[ks[0]].id)  # or a view of it, maybe through
        outers = [env.outer_ids[b] for b in sorted(bases) if b in env.outer_ids]  # a nested loop
        outer = outers[0] if outers else None
        if len(ks) == 1 and outer is None:
            continue
        touched = [params[k].id for k in ks] + ([finals[ks[0]].id] if outer is not None else [])
        if any(lw.memory.was_changed(env.body, p, maybe=True) for p in touched):
            names = " and ".join(slots[k].names[0] for k in ks)
            raise lw.error(
                s,
                f"the loop makes {names} hold an array that another name holds too, and may "
                "change it in place: the next iteration would change both",
                "Copy the array where the names should part (b = a.copy()).",
                cls=UnsupportedSyntaxError,
            )
        for k in ks:
            lw.memory.mark_unsure(lw.graph, items[k].id, reason)
        for outer in outers:
            lw.memory.mark_unsure(lw.graph, outer, reason)


def list_items_are_arrays(lw, env: BodyEnv, appenders, slots, params, items, loc) -> dict:
    """A list holds the arrays appended to it, not copies: an array from before the loop (or
    carried by it) appended as it is may be an item of the filled list afterwards, so an
    update of it in place is refused, through its names or through the list's items. Returns
    why, for each such list (`Stacked.shared`)."""
    shared = {}
    for a in appenders:
        v = a.value
        if not isinstance(v, Value):
            continue
        reason = (
            f"the list {a.name} that the loop on line {loc.line} filled may hold it (a list holds "
            "the array appended, not a copy)"
        )
        outer = env.outer_ids.get(aliases.base_of(env.body, v.id))  # the array, or one it views
        if outer is not None:
            lw.memory.mark_unsure(lw.graph, outer, reason)
            shared[a.name] = reason
        for slot, param, item in zip(slots, params, items):
            if param.id == v.id:
                shared[a.name] = reason
                lw.memory.mark_unsure(lw.graph, item.id, reason)
                if isinstance(slot.value, Value):
                    lw.memory.mark_unsure(lw.graph, slot.value.id, reason)
    return shared
