"""Offline stand-ins for the vendor APIs.

Nothing here imports from ``providers``: the emulator is an independent reading
of the specs in ../shared/specs, so a misreading on either side shows up as a
failing test instead of being shared by both.
"""
