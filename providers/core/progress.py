"""Progress lines from the provider process.

The engine shows what a dynamic provider writes to stderr as diagnostics, so
plain lines there are how a long wait tells the user it is alive.
"""

from __future__ import annotations

import sys


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
