"""Progress lines from the provider process.

Under the project's provider server a line goes to the engine's log with the resource's URN,
so ``pulumi up`` shows it on that resource's row (interactive or not). Elsewhere (the stock
server, tests) it goes to stderr, which the engine shows as diagnostics.
"""

from __future__ import annotations

import sys

from providers.core import runtime


def progress(line: str) -> None:
    call = runtime.current()
    if call is not None and call.log is not None:
        try:
            call.log(line)
            return
        except Exception:  # the engine went away: a progress line is never worth failing for
            pass
    print(line, file=sys.stderr, flush=True)
