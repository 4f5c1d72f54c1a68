"""The IR: a graph of primitive applications (its networkx view: the only package importing it)."""

from symgrad.ir.graph import Graph, Node
from symgrad.ir.index import Dyn
from symgrad.ir.printer import to_dot, to_text
from symgrad.ir.verify import verify

__all__ = ["Graph", "Node", "Dyn", "to_dot", "to_text", "verify"]
