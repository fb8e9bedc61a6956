"""Synthetic tasks and small datasets, generated from a seed (never downloaded)."""
from .images import bars, curves, digits

__all__ = ["curves", "bars", "digits"]
