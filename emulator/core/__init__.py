"""Shared emulator machinery: SQLite document store, settings, faults, admin surface."""

from emulator.core.platform import Platform
from emulator.core.store import Store

__all__ = ["Platform", "Store"]
