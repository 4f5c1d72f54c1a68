"""Checks on top of the compiler: numeric gradient checking (nothing in the core imports this)."""

from symgrad.check.numeric import check_grads

__all__ = ["check_grads"]
