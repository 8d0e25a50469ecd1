"""What every PAI resource shares: the signed client, and the label rules."""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import AfterValidator

from providers.core import Handler, Inputs, Outputs
from providers.pai.client import PaiClient, PaiSettings

I = TypeVar("I", bound=Inputs)
O = TypeVar("O", bound=Outputs)


def _label_rules(labels: dict[str, str]) -> dict[str, str]:
    for key, value in labels.items():
        for what, text in (("key", key), ("value", value)):
            if len(text.encode()) > 128:
                raise ValueError(f"label {what} {text[:20]!r}... is longer than 128 bytes")
            if "=" in text or "," in text:
                raise ValueError(f"label {what} {text!r} may not contain '=' or ','")
        if not key:
            raise ValueError("label keys may not be empty")
    return labels


Labels = Annotated[dict[str, str], AfterValidator(_label_rules)]


class PaiHandler(Handler[I, O]):
    Settings = PaiSettings
    Client = PaiClient
    client: PaiClient
