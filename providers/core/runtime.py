"""What the provider process knows about the call it is serving.

The project's provider server (``providers.core.server``) opens a ``Call`` around every
operation: the resource's URN, the deadline from ``custom_timeouts``, and a way to log on the
resource's own row. Under the stock server there is no call: progress goes to stderr, waits use
their ``wait_timeout_s`` input, and a half-made object cannot be recorded in state.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Call:
    urn: str = ""
    deadline: float | None = None  # time.monotonic() by which the operation must end (custom_timeouts)
    log: Callable[[str], None] | None = None  # a progress line, shown on the resource's row


_current: ContextVar[Call | None] = ContextVar("aimodels_call", default=None)

# Set by the project's provider server at start-up: the engine can then keep a half-made object
# in state (resource-init errors), so a failed create need not delete what the platform accepted.
partial_state_supported = False


def current() -> Call | None:
    return _current.get()


def remaining_s() -> float | None:
    """Seconds left before the operation's custom_timeouts deadline, or None when none was set."""
    call = _current.get()
    if call is None or call.deadline is None:
        return None
    return max(0.0, call.deadline - time.monotonic())


@contextlib.contextmanager
def serving(call: Call) -> Iterator[Call]:
    token = _current.set(call)
    try:
        yield call
    finally:
        _current.reset(token)
