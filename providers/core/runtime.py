"""What the provider process knows about the call it is serving, and whether it must stop.

The project's provider server (``providers.core.server``) opens a ``Call`` around every
operation: the resource's URN, the deadline from ``custom_timeouts``, and a way to log on the
resource's own row. Under the stock server there is no call: progress goes to stderr, waits use
their ``wait_timeout_s`` input, and a half-made object cannot be recorded in state.

**Cancellation.** When the engine calls ``Cancel`` (the first Ctrl-C of ``pulumi up``, a
cancelled CI job, an Automation API cancel) the server calls ``cancel()``. From then on every
pause in the process (``sleep``: wait polls, retry back-offs, look-ups) ends within moments
with ``Cancelled``, and no new request is sent. A create whose object the platform already
accepted turns that into ``CreatedButFailed`` (recorded in state with its id); anything else
fails with a one-line "cancelled" error. Cancellation is process-wide and final: the engine
starts a new provider process for the next run.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from providers.core.errors import Cancelled


@dataclass(frozen=True)
class Call:
    urn: str = ""
    deadline: float | None = None  # time.monotonic() by which the operation must end (custom_timeouts)
    log: Callable[[str], None] | None = None  # a progress line, shown on the resource's row
    stack: str = ""  # the stack's name (from the URN), for handles that must outlive the process
    timeout_s: float | None = None  # the custom_timeouts value behind ``deadline``, as the user set it


_current: ContextVar[Call | None] = ContextVar("aimodels_call", default=None)

# Set by the project's provider server at start-up: the engine can then keep a half-made object
# in state (resource-init errors), so a failed create need not delete what the platform accepted.
partial_state_supported = False

_cancel = threading.Event()
_cancelled_at: float | None = None


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


# -- cancellation ------------------------------------------------------------------------------

CANCELLED = "cancelled: the run was interrupted (Ctrl-C or a cancelled job)"


def cancel() -> None:
    """Stop every wait, retry pause and look-up of this process (the engine's ``Cancel``)."""
    global _cancelled_at
    if not _cancel.is_set():
        _cancelled_at = time.monotonic()
    _cancel.set()


def cancelled() -> bool:
    return _cancel.is_set()


def reset_cancel() -> None:
    """Forget an earlier cancellation (a new server in the same process; tests)."""
    global _cancelled_at
    _cancel.clear()
    _cancelled_at = None


def check_cancelled(what: str = "") -> None:
    """Raise ``Cancelled`` once the run was cancelled; ``what`` names the step that stops."""
    if _cancel.is_set():
        raise Cancelled(f"{what}: {CANCELLED}" if what else CANCELLED)


def sleep(seconds: float, what: str = "") -> None:
    """``time.sleep`` that ends at once, with ``Cancelled``, when the run is cancelled."""
    check_cancelled(what)
    if seconds > 0 and _cancel.wait(seconds):
        check_cancelled(what)
