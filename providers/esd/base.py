"""What every ESD resource shares: the lazily created client and the wait deadline input."""

from __future__ import annotations

from typing import TypeVar

from providers.core import Handler, Inputs, Outputs, prop
from providers.esd.client import EsdClient, EsdSettings

I = TypeVar("I", bound=Inputs)
O = TypeVar("O", bound=Outputs)


class EsdHandler(Handler[I, O]):
    Settings = EsdSettings
    Client = EsdClient.connect
    client: EsdClient


def wait_timeout(default_s: int) -> int:
    """A per-resource deadline for waits (Pulumi ignores custom_timeouts for dynamic resources)."""
    return prop(default_s, local=True, ge=1, le=6 * 3600,
                description="seconds to wait for the platform before failing the operation")
