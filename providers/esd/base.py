"""What every ESD resource shares: the lazily created client, the wait deadline input, and the
rules for creates that must be safe to repeat.

ESD 1.5.0 accepts no idempotency key, and its POSTs for checkpoints, endpoints, trainings and
inferences are not idempotent. A create therefore needs a handle on "the one this resource asked
for" that it can look up when the reply is lost (a dropped connection, a 5xx, a gateway timeout)
or when the run that sent it was interrupted. The loop and the handle are the core's
(providers.core.create); each resource picks where the handle travels:

* a **marker** in a free-text field the platform stores and returns (checkpoint and dataset
  ``params``, a training's ``config_params``): ``aimodels_create_token`` = the create's handle,
  derived from the stack, the URN and the resource's generation, so the next run recognises it;
* a **natural key** plus what we sent plus a **creation-time window** where there is no field
  (endpoints: the physical name is unique; inference jobs: a list filtered by what we sent).

Anything else that existed before the operation is never adopted: the create fails with one line
saying what is in the way and how to import it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

from providers.core import (
    CreatedButFailed,
    Handler,
    Inputs,
    Outputs,
    ProviderError,
    create,
    is_transient,
    progress,
    prop,
)
from providers.esd.client import EsdClient, EsdSettings

I = TypeVar("I", bound=Inputs)
O = TypeVar("O", bound=Outputs)
T = TypeVar("T")

MARKER = "aimodels_create_token"  # the key of our marker in free-text params
CLOCK_MARGIN_S = 2.0  # Date headers have whole seconds; creation windows open this much earlier
LOOKUP_TIMEOUT_S = create.LOOKUP_TIMEOUT_S  # how long a lost-reply look-up rides out an outage


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

    def refuse_unless_interrupted(self, what: str, existing: dict[str, Any], declared: dict[str, list[str]],
                                  name: str) -> None:
        """An upsert with no field for a marker (role, user) found its name taken. It continues
        (the upsert is sent again) only with proof that this resource's own interrupted create
        made the object: the engine recorded that create as pending with exactly these inputs
        (``Handle.interrupted_inputs``), and the object holds them, made by this API user.
        Anything else is refused with the import command, as before."""
        sent = create.handle().interrupted_inputs()
        ours = (sent is not None and existing.get("creator") == self.client.username
                and all(sorted(sent.get(k) or []) == sorted(v) == sorted(existing.get(k) or [])
                        for k, v in declared.items()))
        if not ours:
            raise self.already_exists(f"{what} (creator {existing.get('creator')})", name, name)
        progress(f"{what}: made by an interrupted run of this resource (its create is recorded as pending "
                 "in the stack's state); continuing with it")

    def look_up(self, what: str, find: Callable[[], T | None], timeout_s: float = LOOKUP_TIMEOUT_S) -> T | None:
        """Run one look-up for what a lost reply may have created, riding out an outage."""
        return create.look_up(what, find, timeout_s)

    def upsert_create(self, what: str, id: str, outputs: Outputs, send: Callable[[], None],
                      delete: Callable[[], None]) -> None:
        """Send an upsert POST (retried by the client: a repeat is harmless). If no answer ever
        came, the platform may hold the object: report it as made, with its delete as cleanup,
        so it is not left behind unaccounted for."""
        try:
            send()
        except ProviderError as exc:
            if not is_transient(exc):
                raise
            raise CreatedButFailed(f"{what}: no answer to the create ({exc.message}); it may exist on the platform",
                                   id=id, outputs=outputs, cleanup=delete) from exc

    def create_once(self, what: str, send: Callable[[], T], find_mine: Callable[[], T | None],
                    attempts: int = create.ATTEMPTS, handle: create.Handle | None = None,
                    lookup_first: bool = True) -> T:
        """Send a non-idempotent create; when the reply may have been lost, look for what this
        resource sent before sending again (providers.core.create). With a durable ``handle``
        and ``lookup_first``, look before the first send too (an interrupted run may have sent it)."""
        return create.create_once(what, handle or create.Handle("", durable=False), send, find_mine,
                                  lookup_first=lookup_first, attempts=attempts,
                                  pause=lambda attempt: self.client.settings.retry.delay(attempt, None),
                                  sleep=lambda seconds: self.client._sleep(seconds))


def utc_epoch(value: Any) -> float:
    """Platform times ``YYYY-MM-DD HH:MM:SS[.ffffff]`` (UTC) as epoch seconds; unparsable = very old."""
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(str(value), fmt).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            pass
    return float("-inf")


def marker_of(params: Any) -> str | None:
    return params.get(MARKER) if isinstance(params, dict) else None


def wait_timeout(default_s: int) -> int:
    """A per-resource deadline for waits (Pulumi ignores custom_timeouts for dynamic resources)."""
    return prop(default_s, local=True, ge=1, le=6 * 3600,
                description="seconds to wait for the platform before failing the operation")
