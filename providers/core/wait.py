"""Polling with a deadline, progress lines, terminal-failure detection and outage tolerance.

Every wait carries a deadline: the operation's ``custom_timeouts`` when the project's provider
server passes one (they win), else the resource's ``wait_timeout_s`` input. Two rules:

* **Only the platform or the deadline ends a wait.** A poll that fails with a connection error,
  a 5xx or a 429 (after the client's own retries) is an outage, not an answer: the wait says so
  on a progress line and keeps polling until its deadline. A platform-reported failure state
  (``Poll.failure``) or any other error (a 4xx, a bug) ends it at once.
* **Notice readiness soon, stay gentle.** The pause between polls is a fraction of the time
  already waited (``fraction``, 8 % by default), never below ``first_interval_s`` nor above
  ``max_interval_s``. Readiness at time W is then seen within about max(0.5 s, 8 % of W), and a
  30-minute wait costs about 90 polls. Jitter (±10 %) keeps concurrent waits from polling in step.

A cancelled run (the engine's ``Cancel``, see ``providers.core.runtime``) ends every wait within
moments with ``Cancelled``: the pause between polls is ``runtime.sleep``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from providers.core import runtime
from providers.core.errors import TRANSIENT_STATUSES, Cancelled, FailedState, WaitTimeout, is_transient
from providers.core.progress import progress

T = TypeVar("T")

__all__ = ["TRANSIENT_STATUSES", "Backoff", "Poll", "is_transient", "poll_count", "wait_for"]


@dataclass
class Poll(Generic[T]):
    """What one look at the object says: its status word, and whether we are done or failed."""

    value: T | None
    status: str
    done: bool = False
    failure: str | None = None  # the platform's reason, when the object reached a failure state


@dataclass(frozen=True)
class Backoff:
    first_interval_s: float = 0.5
    max_interval_s: float = 60.0
    fraction: float = 0.08  # pause = this share of the time already waited (within the bounds)
    jitter: float = 0.1
    progress_every_s: float = 15.0

    def pause(self, elapsed_s: float) -> float:
        base = min(self.max_interval_s, max(self.first_interval_s, self.fraction * elapsed_s))
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)


# Every wait's poll count since the process started, for benchmarks (read with ``poll_count()``).
_polls = 0
_polls_lock = threading.Lock()


def poll_count() -> int:
    return _polls


def wait_for(
    what: str,
    poll: Callable[[], Poll[T]],
    *,
    timeout_s: float,
    backoff: Backoff = Backoff(),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] | None = None,
) -> T | None:
    """Poll until done; raise FailedState on a failure state, WaitTimeout past the deadline.

    ``what`` names the object in progress lines and errors ("esd:Endpoint esd-async-demo").
    Progress: a line at the start, on every status change, every ``progress_every_s`` while
    nothing changes, during an outage, and at the end. A cancelled run raises ``Cancelled``
    naming the wait and how long it ran.
    """
    source = f"deadline {timeout_s:.0f}s"
    override = runtime.remaining_s()
    if override is not None:  # custom_timeouts win over the resource's wait_timeout_s input
        call = runtime.current()
        configured = call.timeout_s if call is not None and call.timeout_s else override
        # The label names the value the user set; the wait gets what is left of it.
        timeout_s, source = override, f"custom_timeouts deadline {configured:.0f}s"
    start = clock()
    progress(f"{what}: waiting ({source})")
    try:
        return _loop(what, poll, start, timeout_s, source, backoff, clock, sleep)
    except Cancelled:
        raise Cancelled(f"{what}: {runtime.CANCELLED}; stopped waiting after {clock() - start:.0f}s") from None


def _loop(what: str, poll: Callable[[], Poll[T]], start: float, timeout_s: float, source: str, backoff: Backoff,
          clock: Callable[[], float], sleep: Callable[[float], None] | None) -> T | None:
    global _polls
    deadline = start + timeout_s
    last_status: str | None = None
    last_report = start
    outage: str | None = None  # the last transient error, while the API is unreachable
    polls = 0
    while True:
        runtime.check_cancelled(what)
        polls += 1
        with _polls_lock:
            _polls += 1
        try:
            seen: Poll[T] | None = poll()
        except Exception as exc:
            if not is_transient(exc):
                raise
            seen = None
            now = clock()
            if outage is None or now - last_report >= backoff.progress_every_s:
                progress(f"{what}: API unavailable, still waiting ({now - start:.0f}s elapsed, "
                         f"deadline {timeout_s:.0f}s): {exc}")
                last_report = now
            outage = str(exc)
        now = clock()
        elapsed = now - start
        if seen is not None:
            if outage is not None:
                progress(f"{what}: API reachable again after the outage; status {seen.status}")
                outage = None
            if seen.failure is not None:
                raise FailedState(f"{what} reached {seen.status} after {elapsed:.0f}s: {seen.failure}")
            if seen.done:
                progress(f"{what}: {seen.status} after {elapsed:.0f}s ({polls} polls)")
                return seen.value
            if seen.status != last_status or now - last_report >= backoff.progress_every_s:
                progress(f"{what}: {seen.status} ({elapsed:.0f}s elapsed, deadline {timeout_s:.0f}s)")
                last_status, last_report = seen.status, now
        if now >= deadline:
            state = f"unreachable ({outage})" if seen is None else f"still {seen.status}"
            raise WaitTimeout(
                f"{what} {state} after {elapsed:.0f}s ({source}); "
                "it may still finish on the platform: raise the deadline or run `pulumi refresh`"
            )
        pause = min(backoff.pause(elapsed), max(0.0, deadline - now))
        if sleep is None:
            runtime.sleep(pause, what)  # ends at once on a Cancel
        else:
            sleep(pause)
