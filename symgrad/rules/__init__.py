"""The rule table: one entry per primitive (see `symgrad.rules.table`).

Importing this package registers every primitive; `RULES` maps IR op names to rules.
"""

from symgrad.rules import (  # noqa: F401
    batching,
    contractions,
    control,
    custom,
    decompositions,
    elementwise,
    indexing,
    joins,
    linalg,
    nn,
    nn_backward,
    nondiff,
    orthogonal,
    reductions,
    scalar_types,
    shapes,
    sorting,
    special,
    updates,
    vectors,
    windows,
)
from symgrad.rules.build import Value, add_node, building, ops, split_inputs
from symgrad.rules.table import BY_METHOD, RULES, Rule, rule_for_callable

__all__ = [
    "RULES",
    "BY_METHOD",
    "Rule",
    "Value",
    "add_node",
    "building",
    "ops",
    "rule_for_callable",
    "split_inputs",
]
