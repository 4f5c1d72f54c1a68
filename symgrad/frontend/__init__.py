"""The frontend: Python source to IR (read, fence, lower)."""

from symgrad.frontend.lower import lower

__all__ = ["lower"]
