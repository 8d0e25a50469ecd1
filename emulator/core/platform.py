"""What an emulated platform hands to the server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter

from emulator.core.store import Store


@dataclass(frozen=True)
class Platform:
    """One emulated vendor API.

    name: URL prefix and store namespace (``/esd/...``).
    build_router: given the shared store, returns the routes that speak the vendor's wire format.
        Paths in the router are relative to the prefix.
    error_body: renders an injected fault in the vendor's error envelope:
        (status, code, message) -> JSON body.
    default_settings: timings of async transitions and other knobs, overridable at run time
        through the admin surface (``PUT /_admin/settings/<name>``).
    seed: writes the platform's built-in objects (run at start when the platform has no
        objects yet, and after every admin reset).
    refresh: applies time-driven transitions that are due (for platforms that advance async
        state lazily on read); the admin surface calls it before listing or reading objects, so
        what it shows matches what the next API call would see. Optional.
    """

    name: str
    build_router: Callable[[Store], APIRouter]
    error_body: Callable[[int, str, str], dict[str, Any]]
    default_settings: dict[str, Any] = field(default_factory=dict)
    seed: Callable[[Store], None] | None = None
    refresh: Callable[[Store], None] | None = None

    def setting(self, store: Store, key: str) -> Any:
        return store.setting(self.name, key, self.default_settings[key])
