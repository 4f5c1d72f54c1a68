"""Graph-to-graph passes: reverse and forward mode, simplification, and the analyses they use."""

from symgrad.passes.forward import forward
from symgrad.passes.reverse import reverse
from symgrad.passes.simplify import simplify

__all__ = ["forward", "reverse", "simplify"]
