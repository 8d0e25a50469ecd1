"""Polling with backoff, a deadline, progress lines and terminal-failure detection.

Pulumi ignores ``custom_timeouts`` for dynamic resources and runs at most four
provider calls at once, so every wait carries its own deadline (an input of the
resource, with a default) and polls gently: the interval grows from
``first_interval_s`` to ``max_interval_s``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from providers.core.errors import FailedState, WaitTimeout
from providers.core.progress import progress

T = TypeVar("T")


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
    max_interval_s: float = 15.0
    factor: float = 1.6
    progress_every_s: float = 20.0


def wait_for(
    what: str,
    poll: Callable[[], Poll[T]],
    *,
    timeout_s: float,
    backoff: Backoff = Backoff(),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T | None:
    """Poll until done; raise FailedState on a failure state, WaitTimeout past the deadline.

    ``what`` names the object in progress lines and errors ("esd:Endpoint esd-async-demo").
    """
    start = clock()
    deadline = start + timeout_s
    interval = backoff.first_interval_s
    last_status: str | None = None
    last_report = start
    while True:
        seen = poll()
        now = clock()
        elapsed = now - start
        if seen.failure is not None:
            raise FailedState(f"{what} reached {seen.status} after {elapsed:.0f}s: {seen.failure}")
        if seen.done:
            if last_status is not None:
                progress(f"{what}: {seen.status} after {elapsed:.0f}s")
            return seen.value
        if seen.status != last_status or now - last_report >= backoff.progress_every_s:
            progress(f"{what}: {seen.status} ({elapsed:.0f}s elapsed, deadline {timeout_s:.0f}s)")
            last_status, last_report = seen.status, now
        if now >= deadline:
            raise WaitTimeout(
                f"{what} still {seen.status} after {elapsed:.0f}s (deadline {timeout_s:.0f}s); "
                "it may still finish on the platform: raise the wait timeout input or run `pulumi refresh`"
            )
        pause = min(interval * random.uniform(0.8, 1.2), max(0.0, deadline - now))
        sleep(pause)
        interval = min(backoff.max_interval_s, interval * backoff.factor)
