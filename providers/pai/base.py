"""What every PAI resource shares: the signed client, the label rules, and safe creates.

A create must be safe to repeat after a lost reply and after an interrupted run. PAI has no
client token and model names are not unique, so every create carries a marker we control: a
label ``aimodels-op=<handle>``, the create's durable handle (providers.core.create: derived from
the stack, the URN and the resource's generation; a random token under the stock server). The
list routes' ``Label`` filter finds exactly the object this resource made: before the first send
(an interrupted run may have made it) and whenever the fate of a send is unknown (no reply, a
5xx, throttled past the client's retries), before anything is sent again. Reads hide the marker
label, and users cannot declare it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from pydantic import AfterValidator

from providers.core import Handler, Inputs, Outputs, create
from providers.pai.client import PaiClient, PaiSettings

I = TypeVar("I", bound=Inputs)
O = TypeVar("O", bound=Outputs)
T = TypeVar("T")

MARK = "aimodels-op"  # label key of the create marker
CREATE_ATTEMPTS = create.ATTEMPTS  # sends of one create at most (each after a lookup found nothing)
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


class PaiHandler(Handler[I, O]):
    Settings = PaiSettings
    Client = PaiClient
    client: PaiClient

    def create_once(self, what: str, handle: create.Handle, send: Callable[[], T], find: Callable[[], T | None]) -> T:
        """Send a create labelled with ``handle``; look for what this resource sent (``find``)
        first when the handle is durable, and whenever a send's fate is unknown, before sending
        again (providers.core.create). Past the look-up deadline the error names the label."""
        return create.create_once(what, handle, send, find, attempts=CREATE_ATTEMPTS, lookup_timeout_s=LOOKUP_DEADLINE_S,
                                  unknown_hint=f"look for an object labelled {MARK}={handle.token} and delete it "
                                               "(or import it)")
