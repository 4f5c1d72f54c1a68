"""Graph-to-graph passes: reverse mode, simplification, and the analyses they use."""

from symgrad.passes.reverse import reverse
from symgrad.passes.simplify import simplify

__all__ = ["reverse", "simplify"]
