"""Shared helpers for provider tests: providers configured as the provider process does, against the emulator."""

from __future__ import annotations

from typing import Any

import httpx
from pulumi.dynamic import Config, ConfigureRequest

from providers.core import DynamicProvider, Handler

API_KEY = "09876543210987654321"  # the emulator's default key (the vendor's documented default)


def esd_config(emulator: Any, **extra: str) -> dict[str, str]:
    return {"esd:apiUrl": f"{emulator.url}/esd/prod", "esd:apiKey": API_KEY, "esd:username": "api", **extra}


def provider(handler: type[Handler], raw_config: dict[str, str]) -> DynamicProvider:
    p = DynamicProvider(handler)
    p.configure(ConfigureRequest(Config(raw_config=raw_config, project_name="aimodels")))
    return p


def raw_api(emulator: Any) -> httpx.Client:
    """Talk to the emulated ESD directly, as someone acting behind Pulumi's back would."""
    return httpx.Client(base_url=f"{emulator.url}/esd/prod", headers={"x-api-key": API_KEY, "username": "api"})


def checked(p: DynamicProvider, props: dict[str, Any], olds: dict[str, Any] | None = None) -> dict[str, Any]:
    result = p.check(olds or {}, props)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return result.inputs


# Shared by the platform fixtures of tests/providers/conftest.py and the tests that use them.
WS = "emulator-workspace"  # the emulator's one Fabric workspace
V1 = {"name": "v1", "base_model_type": None, "model_path": "obs://models/llm/v1/"}  # the fabric fixture fills the type
AK, SK = "LTAI5tEmulatorAccessKey", "EmulatorSecretKey000000000000000"  # PAI
APP_KEY, APP_SECRET = "24900001", "EmulatorWorkshopAppSecret0000000"  # Workshop
