"""Chaos runs of the local stack program against a faulty emulator: ``python -m tests.chaos --help``."""
