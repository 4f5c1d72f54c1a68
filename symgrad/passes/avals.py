"""Type inference: the abstract value (shape, dtype, kind) of every node, from its params'.

Contract: `infer(graph, params)` sets `node.aval` on every node of the graph and of the graphs
its structured nodes own (`symgrad.passes.avals_control`: a structured node's own `aval` is the
tuple of its outputs'), given one `Aval` (or None) per param, and returns the graph. A node's
Aval comes from the primitive's rule-table entry: its own shape rule (`Rule.aval`) where it
has one, else what its facts imply: `shape` ("elementwise": the broadcast of the inputs;
"reduce": the axes left; "first": input 0's; "scalar": 0-d), `ndarray` ("like": the first
input's shape; "shape": the shape the first input gives), `view` (the view applied to a
stand-in that costs no memory), `reads_shape` (the value itself, computed from stand-ins);
arithmetic on static Python numbers gives its static value. `infer_again` brings them up to
date after rewrites; within `with kept(graph)`, inference leaves no trace (the Avals are set
back on leaving). Dtypes come from the NumPy callable applied to tiny values of the inputs'
dtypes. Whatever cannot be told exactly is None:
data-dependent lengths, primitives without a shape rule. A node's Aval is remembered by its
op, shape rule, inputs' Avals and attributes, as passes infer a graph again after each round
of rewrites.
"""

from __future__ import annotations

import operator
import warnings
from contextlib import contextmanager
from typing import Iterator

import numpy as np

from symgrad.errors import SymgradError
from symgrad.ir import Graph
from symgrad.ir.avals import (
    ARRAY,
    DTYPE,
    PYTHON,
    SCALAR,
    TUPLE,
    Aval,
    broadcast,
    of_value,
    reduced,
    small,
    standin,
)
from symgrad.ir.graph import attrs_key, subgraphs
from symgrad.ir.structured import schema
from symgrad.passes.avals_control import structured
from symgrad.rules import RULES
from symgrad.rules.build import split_inputs
from symgrad.rules.table import ARRAY as ARRAY_PARAM
from symgrad.rules.table import STATIC, Rule


def infer(graph: Graph, params: list[Aval | None]) -> Graph:
    for p, aval in zip(graph.params, params):
        graph[p].aval = aval
    for node in graph.nodes():
        if node.op != "param":
            node.aval = node_aval(graph, node)
    return graph


@contextmanager
def kept(graph: Graph) -> Iterator[Graph]:
    """The graph, to infer its Avals for a while: on leaving, every node's Aval (in the graphs
    its structured nodes own too) is set back to what it was, as if a copy had been inferred."""
    saved = []
    todo = [graph]
    while todo:
        g = todo.pop()
        for nid in g.ids():
            node = g[nid]
            saved.append((node, node.aval))
            todo.extend(subgraphs(node))
    try:
        yield graph
    finally:
        for node, aval in saved:
            node.aval = aval


def infer_again(graph: Graph, rewired: set[int]) -> Graph:
    """Bring the Avals of an inferred graph up to date after rewrites that added nodes (their
    Avals set) and changed the inputs of the nodes `rewired`: those nodes, the nodes reading a
    value whose Aval changed, and the structured nodes are inferred again, as `infer` would
    infer them, and no other (their inputs' Avals are the same)."""
    moved: set[int] = set()
    for node in graph.nodes():
        if node.op == "param":
            continue
        rule = RULES.get(node.op)
        if (
            node.id in rewired
            or rule is not None
            and rule.structured
            or any(i in moved for i in node.inputs)
        ):
            aval = node_aval(graph, node)
            if aval is not node.aval:
                node.aval = aval
                moved.add(node.id)
    return graph


def may_decide_shapes(graph: Graph, seeds) -> bool:
    """Whether the values of the nodes `seeds` may decide some shape in the graph: a node
    computed from them reads one at an input that may change its shape (`Rule.value_feeds`
    says which never do; `Rule.shape_reads`, which are not read for their value). A
    structured node's bounds and branch conditions may; its bodies are asked in turn for the
    params that its inputs computed from seeds stand for. False proves that no shape depends
    on them; True is only a maybe."""
    varying = set(seeds)
    for node in graph.nodes():
        rule = RULES.get(node.op)
        shape_reads = () if rule is None else rule.shape_reads  # (their values unread)
        hits = [p for p, i in enumerate(node.inputs) if i in varying and p not in shape_reads]
        if not hits:
            continue
        varying.add(node.id)
        view = schema(node)
        if view is not None:
            inner: dict = {}
            for pos, sub, param in view.sub_params():
                if pos in hits:
                    inner.setdefault(id(sub), (sub, []))[1].append(param)
            if len(hits) > sum(len(params) for _, params in inner.values()):
                return True  # a bound, a condition, a tape
            if any(may_decide_shapes(sub, params) for sub, params in inner.values()):
                return True
            continue
        if rule is None or not all(rule.feeds_value(p) for p in hits):
            return True
    return False


def node_aval(graph: Graph, node) -> Aval | tuple | None:
    """The Aval of one node, given its inputs' (already set); for a structured node, a tuple
    of its outputs' Avals (its graphs inferred too)."""
    if node.op == "const":
        return of_value(node.attrs["value"], static=True)
    if node.op == "item":
        outs = graph[node.inputs[0]].aval
        k = node.attrs["index"]
        return outs[k] if isinstance(outs, tuple) and k < len(outs) else None
    rule = RULES.get(node.op)
    if rule is not None and rule.structured:
        return structured(graph, node, infer)
    if rule is None:
        return None
    try:  # the same op on the same Avals: known already (passes infer again after rewrites)
        ins = tuple(_exactly(graph[i].aval) for i in node.inputs)
        key = (node.op, rule.aval, ins, node.key()[2])
        return _MEMO[key]
    except TypeError:  # an attribute that cannot be a key
        key = None
    except KeyError:
        pass
    out = _from_rule(graph, node, rule)
    if key is not None:
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.clear()
        _MEMO[key] = out
    return out


_MEMO: dict = {}
_MEMO_SIZE = 1 << 14


def _exactly(aval):
    """An Aval as a memo key: a static -0.0 is not 0.0."""
    value = getattr(aval, "value", None)
    return (aval, repr(value)) if isinstance(value, float) else aval


def input_avals(graph: Graph, node, rule: Rule) -> dict:
    """The Avals of node's inputs by the rule's parameter (a list for a sequence)."""
    grouped = split_inputs(rule, node.inputs, node.attrs)
    return {
        name: [graph[i].aval for i in v] if isinstance(v, list) else graph[v].aval
        for name, v in grouped.items()
    }


def _from_rule(graph: Graph, node, rule: Rule) -> Aval | None:
    ins = input_avals(graph, node, rule)
    try:
        out = NotImplemented if rule.aval is None else rule.aval(ins, node.attrs)
    except SymgradError as e:  # what the shapes refuse (np.correlate's v longer than a): where
        if e.loc is not None or node.loc is None:
            raise
        raise type(e)(e.message, node.loc, e.hint) from None
    return implied(rule, ins, node.attrs) if out is NotImplemented else out


def implied(rule: Rule, ins: dict, attrs: dict) -> Aval | None:
    """The Aval the rule's facts imply (see the module docstring)."""
    flat = [a for v in ins.values() for a in (v if isinstance(v, list) else [v])]
    python = getattr(rule.emit, "python", None)  # spelt as a Python operator: `n - k + 1`
    numbers = [a is not None and a.kind == PYTHON and a.value is not None for a in flat]
    if python and flat and all(numbers):
        try:
            value = python(*(a.value for a in flat))
        except (ArithmeticError, ValueError, TypeError):
            value = None
        if type(value) in (int, float, bool):
            return of_value(value, static=True)
    if rule.reads_shape:
        value = call(rule, {k: _each(_shaped, v) for k, v in ins.items()}, attrs)
        return of_value(value.item() if isinstance(value, np.generic) else value, static=True)
    if rule.view is True and all(a is not None and a.known for a in flat):
        out = call(rule, {k: _each(standin, v) for k, v in ins.items()}, attrs)
        return of_value(out) if isinstance(out, np.ndarray) else None
    if any(a is None or a.shape is None for a in flat):
        return None
    first = flat[0] if flat else None
    if rule.shape == "elementwise":
        shape = broadcast([a.shape for a in flat])
    elif rule.shape == "first" or rule.ndarray == "like":
        shape = first.shape if first is not None else None
    elif rule.shape == "scalar":
        shape = ()
    elif rule.shape == "reduce":
        shape = reduced(first.shape, attrs.get("axis"), attrs.get("keepdims", False))
    elif rule.ndarray == "shape" and first is not None and first.value is not None:
        shape = (first.value,) if isinstance(first.value, int) else first.value
    else:
        return None
    if shape is None:
        return None
    if python and flat and all(a.kind == PYTHON for a in flat):
        return _spelt(python, flat)
    dtype, array = _tiny(rule, ins, attrs, len(shape))
    return Aval(tuple(shape), dtype, _kind(rule, shape, dtype, array, flat))


def _tiny(rule: Rule, ins: dict, attrs: dict, rank: int) -> tuple:
    """(dtype, whether an ndarray) of the rule's NumPy callable on tiny values of the inputs'
    ranks and dtypes (`small`), remembered by what makes those values (not the lengths): most
    of a graph's values share a few dtypes and ranks."""
    try:
        made = tuple((k, _each(_small_key, v)) for k, v in ins.items())
        key = (rule.name, rule.callables, made, attrs_key(attrs), rank)
        return _TINY[key]
    except TypeError:  # an attribute that cannot be a key
        key = None
    except KeyError:
        pass
    tiny_ins = {k: _each(small, v) for k, v in ins.items()}
    if rule.ndarray == "shape":  # np.zeros((1, 1)) tells np.zeros((n, m))'s dtype
        seq = next(iter(tiny_ins))
        tiny_ins[seq] = [(1,) * rank, *tiny_ins[seq][1:]]
    tiny = call(rule, tiny_ins, attrs)
    out = (getattr(tiny, "dtype", None), isinstance(tiny, np.ndarray))
    if key is not None:
        if len(_TINY) >= _MEMO_SIZE:
            _TINY.clear()
        _TINY[key] = out
    return out


_TINY: dict = {}


def _small_key(aval: Aval | None):
    """What `small(aval)` is made of."""
    if aval is None or aval.shape is None or aval.dtype is None:
        return None
    if aval.kind in (TUPLE, DTYPE):
        return (aval.kind, aval.value)
    if aval.kind == PYTHON:
        return (PYTHON, aval.dtype)
    return (len(aval.shape), aval.dtype)


def _kind(rule: Rule, shape: tuple, dtype, array: bool, ins: list[Aval]) -> str | None:
    """An ndarray where it has an axis. A 0-d result of NumPy operands is a NumPy scalar, but
    of Python numbers alone it depends on the spelling (`2.0 * x` is a Python number,
    `np.sin(x)` a NumPy one), and a 0-d result of an elementwise rule on an unknown kind may be
    either. (`dtype` and `array`: of the tiny result, `_tiny`.)"""
    if shape or array:  # (np.where of numbers too: a 0-d array, where a ufunc's is a number)
        return ARRAY
    if rule.shape == "elementwise" and not any(a.kind in (ARRAY, SCALAR) for a in ins):
        return None
    if rule.shape == "elementwise" and any(a.kind is None for a in ins):
        return None
    return SCALAR if dtype is not None else None


def _shaped(aval: Aval | None):
    """A stand-in of the Aval's shape, for a rule whose value is a shape: of any dtype where
    the dtype is not known (a loop's total that starts an int and ends a float is 0-d)."""
    if aval is not None and aval.dtype is None and aval.shape is not None:
        aval = Aval(aval.shape, np.dtype(float), aval.kind, aval.value, aval.sym)
    return standin(aval)


def _spelt(python, ins: list[Aval]) -> Aval | None:
    """An operator on Python numbers gives the Python number Python gives (`True + True` is the
    int 2, where NumPy keeps a bool), its dtype not known where an operand's is not; of a power
    to an exponent not known, as an int, only the shape (of a negative float: a complex)."""
    values = [small(a) for a in ins]
    if python is operator.pow:
        if type(ins[1].value) is not int or None in values:
            return Aval(())
        values[1] = ins[1].value  # 1.0 ** 3 is a float, 1 ** 3 an int, 1 ** -1 a float
    if None in values:  # an int or a float (a loop's total that starts an int)
        return Aval((), None, PYTHON)
    return Aval((), np.dtype(type(python(*values))), PYTHON)


def call(rule: Rule, values: dict, attrs: dict):
    """The rule's NumPy callable on `values` (by parameter name) and its static attributes;
    None where it has none, a value is missing, or NumPy refuses."""
    if not rule.callables or any(v is None for v in _flat(values.values())):
        return None
    args, kwargs = [], {}
    for p in rule.params:
        if p.kind == STATIC:
            if attrs.get(p.name, p.default) != p.default:
                kwargs[p.name] = attrs[p.name]
        elif p.kind == ARRAY_PARAM or not p.varargs:
            args.append(values[p.name])
        else:
            args.extend(values[p.name])
    kwargs.update(attrs.get("kwargs", ()))
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():  # (stand-ins: np.var's
            warnings.simplefilter("ignore")  # "Degrees of freedom <= 0" is none of the user's)
            return rule.callables[0](*args, **kwargs)
    except Exception:  # NumPy refuses these stand-ins: nothing is known
        return None


def _each(f, v):
    return [f(a) for a in v] if isinstance(v, list) else f(v)


def _flat(values):
    for v in values:
        yield from (v if isinstance(v, list) else [v])
