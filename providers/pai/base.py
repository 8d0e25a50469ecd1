"""What every PAI resource shares: the signed client, the label rules, and safe creates.

A create must be safe to repeat after a lost reply. PAI has no client token and model names are
not unique, so every create carries a marker we control: a label ``aimodels-op=<random token>``
(one per create operation). When the fate of a create is unknown (no reply, a 5xx, throttled
past the client's retries), the list routes' ``Label`` filter finds exactly the object this
operation made, before anything is sent again. Reads hide the marker label, and users cannot
declare it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, TypeVar

from pydantic import AfterValidator

from providers.core import Handler, Inputs, Outputs, Poll, ProviderError, WaitTimeout, progress, wait_for
from providers.core.wait import is_transient
from providers.pai.client import PaiClient, PaiSettings

I = TypeVar("I", bound=Inputs)
O = TypeVar("O", bound=Outputs)
T = TypeVar("T")

MARK = "aimodels-op"  # label key of the create marker
CREATE_ATTEMPTS = 3  # sends of one create at most (each after a lookup found nothing)
LOOKUP_DEADLINE_S = 120.0  # how long a lookup rides out an outage


def _label_rules(labels: dict[str, str]) -> dict[str, str]:
    for key, value in labels.items():
        for what, text in (("key", key), ("value", value)):
            if len(text.encode()) > 128:
                raise ValueError(f"label {what} {text[:20]!r}... is longer than 128 bytes")
            if "=" in text or "," in text:
                raise ValueError(f"label {what} {text!r} may not contain '=' or ','")
        if not key:
            raise ValueError("label keys may not be empty")
        if key == MARK:
            raise ValueError(f"label key {MARK!r} is reserved (the provider marks what it creates with it)")
    return labels


Labels = Annotated[dict[str, str], AfterValidator(_label_rules)]


def new_token() -> str:
    return uuid.uuid4().hex


class PaiHandler(Handler[I, O]):
    Settings = PaiSettings
    Client = PaiClient
    client: PaiClient

    def create_once(self, what: str, token: str, send: Callable[[], T], find: Callable[[], T | None]) -> T:
        """Send a create marked with ``token``; when its fate is unknown, look for what this
        operation sent (``find``) before sending it again. Lookups ride out outages until their
        own deadline; past it the error names the marker to look for."""
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                return send()
            except ProviderError as exc:
                if not is_transient(exc):
                    raise
                unknown = exc
            progress(f"{what}: no answer to the create ({unknown.message}); looking for what it sent")
            try:
                found = wait_for(f"{what}: lookup", lambda: Poll(find(), "looked up", done=True),
                                 timeout_s=LOOKUP_DEADLINE_S)
            except WaitTimeout:
                raise ProviderError(
                    f"{what}: the create got no answer and the platform stayed unreachable, so it is unknown "
                    f"whether it was made: look for an object labelled {MARK}={token} and delete it (or import it)"
                ) from None
            if found is not None:
                progress(f"{what}: the create had succeeded; continuing with what it made")
                return found
            if attempt < CREATE_ATTEMPTS:
                progress(f"{what}: the create had not happened; sending it again")
        raise ProviderError(f"the create got no usable answer {CREATE_ATTEMPTS} times and made nothing: "
                            f"{unknown.message}")
