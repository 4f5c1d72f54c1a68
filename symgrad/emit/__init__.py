"""Emission: graphs to standalone Python/NumPy source, and loading that source."""

from symgrad.emit.codegen import emit_module
from symgrad.emit.load import load

__all__ = ["emit_module", "load"]
