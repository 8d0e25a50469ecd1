"""What every ESD resource shares: the lazily created client, the wait deadline input, and the
rules for creates that must be safe to repeat.

ESD 1.5.0 accepts no idempotency key, and its POSTs for checkpoints, endpoints, trainings and
inferences are not idempotent. A create therefore needs a handle on "the one I just asked for"
that it can look up when the reply is lost (a connection dropped after the request was sent, a
5xx, a gateway timeout). Each resource picks the best handle the platform offers:

* a **marker** we control in a free-text field the platform stores and returns (checkpoint and
  dataset ``params``, a training's ``config_params``): ``aimodels_create_token`` = a random token
  made for this one create call, so "mine" means exactly "sent by this operation";
* a **natural key** plus a **creation-time window** (endpoints: the physical name is unique; the
  record was made no earlier than our POST by the platform's own clock, read from the Date header);
* a **list filtered by what we sent** plus the window (inference jobs: task type, owner, endpoint,
  models, created after our POST).

Anything that existed before the operation is never adopted: the create fails with one line
saying what is in the way and how to import it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

from providers.core import (ApiError, CreatedButFailed, Handler, Inputs, Outputs, Poll, ProviderError, TransportError, prop, progress,
                            wait_for)
from providers.esd.client import EsdClient, EsdSettings

I = TypeVar("I", bound=Inputs)
O = TypeVar("O", bound=Outputs)
T = TypeVar("T")

MARKER = "aimodels_create_token"  # the key of our marker in free-text params
CLOCK_MARGIN_S = 2.0  # Date headers have whole seconds; creation windows open this much earlier
LOOKUP_TIMEOUT_S = 300  # how long a lost-reply look-up rides out an outage before giving up


class EsdHandler(Handler[I, O]):
    Settings = EsdSettings
    Client = EsdClient.connect
    client: EsdClient

    def import_hint(self, name: str, id: str) -> str:
        return f"to manage it with Pulumi, import it: {self.import_command(name, id)}"

    def already_exists(self, what: str, id: str, name: str = "<name>") -> ProviderError:
        """The one-line refusal for an object that existed before this operation."""
        return ProviderError(f"{what} already exists and was not created by this operation "
                             f"(id {id}); it is not adopted silently: {self.import_hint(name, id)}")

    def look_up(self, what: str, find: Callable[[], T | None], timeout_s: float = LOOKUP_TIMEOUT_S) -> T | None:
        """Run one look-up for what a lost reply may have created, riding out an outage
        (connection errors, 5xx, 429) until ``timeout_s``, like any wait."""

        def poll() -> Poll[T]:
            found = find()
            return Poll(found, "found" if found is not None else "not found", done=True)

        return wait_for(f"{what}: looking for what the lost reply created", poll, timeout_s=timeout_s)

    def upsert_create(self, what: str, id: str, outputs: Outputs, send: Callable[[], None],
                      delete: Callable[[], None]) -> None:
        """Send an upsert POST (retried by the client: a repeat is harmless). If no answer ever
        came, the platform may hold the object: report it as made, with its delete as cleanup,
        so it is not left behind unaccounted for."""
        try:
            send()
        except ProviderError as exc:
            if not maybe_committed(exc):
                raise
            raise CreatedButFailed(f"{what}: no answer to the create ({exc.message}); it may exist on the platform",
                                   id=id, outputs=outputs, cleanup=delete) from exc

    def create_once(self, what: str, send: Callable[[], T], find_mine: Callable[[], T | None],
                    attempts: int = 3) -> T:
        """Send a non-idempotent create; when the reply may have been lost, look for what this
        operation sent before sending again (at most ``attempts`` sends)."""
        for attempt in range(1, attempts + 1):
            try:
                return send()
            except ProviderError as exc:
                if not maybe_committed(exc):
                    raise
                progress(f"{what}: no usable reply ({exc.message}); looking for what this operation created")
                found = self.look_up(what, find_mine)
                if found is not None:
                    progress(f"{what}: found the object this operation created; continuing with it")
                    return found
                if attempt == attempts:
                    raise
                delay = self.client.settings.retry.delay(attempt, None)
                progress(f"{what}: nothing of this operation to continue with; sending the create again "
                         f"in {delay:.1f}s ({attempt + 1}/{attempts})")
                self.client._sleep(delay)
        raise AssertionError("unreachable")


def maybe_committed(exc: BaseException) -> bool:
    """No usable answer: the platform may or may not have done what we asked."""
    if isinstance(exc, TransportError):
        return True
    return isinstance(exc, ApiError) and (exc.status >= 500 or exc.status == 429)


def utc_epoch(value: Any) -> float:
    """Platform times ``YYYY-MM-DD HH:MM:SS[.ffffff]`` (UTC) as epoch seconds; unparsable = very old."""
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(str(value), fmt).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            pass
    return float("-inf")


def new_token() -> str:
    return secrets.token_hex(12)


def marker_of(params: Any) -> str | None:
    return params.get(MARKER) if isinstance(params, dict) else None


def wait_timeout(default_s: int) -> int:
    """A per-resource deadline for waits (Pulumi ignores custom_timeouts for dynamic resources)."""
    return prop(default_s, local=True, ge=1, le=6 * 3600,
                description="seconds to wait for the platform before failing the operation")
