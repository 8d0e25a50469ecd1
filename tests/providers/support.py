"""Shared helpers for provider tests: providers configured as the provider process does, against the emulator."""

from __future__ import annotations

from typing import Any

import httpx
from pulumi.dynamic import Config, ConfigureRequest

from emulator import defaults
from providers.core import DynamicProvider, Handler

API_KEY = defaults.ESD_API_KEY  # the emulator's default key (the vendor's documented default)


def esd_config(emulator: Any, **extra: str) -> dict[str, str]:
    return {"esd:apiUrl": f"{emulator.url}/esd/prod", "esd:apiKey": API_KEY, "esd:username": defaults.ESD_USERNAME,
            **extra}


def provider(handler: type[Handler], raw_config: dict[str, str]) -> DynamicProvider:
    p = DynamicProvider(handler)
    p.configure(ConfigureRequest(Config(raw_config=raw_config, project_name="aimodels")))
    return p


def raw_api(emulator: Any) -> httpx.Client:
    """Talk to the emulated ESD directly, as someone acting behind Pulumi's back would."""
    return httpx.Client(base_url=f"{emulator.url}/esd/prod",
                        headers={"x-api-key": API_KEY, "username": defaults.ESD_USERNAME})


def checked(p: DynamicProvider, props: dict[str, Any], olds: dict[str, Any] | None = None) -> dict[str, Any]:
    result = p.check(olds or {}, props)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return result.inputs


# Shared by the platform fixtures of tests/providers/conftest.py and the tests that use them.
WS = "emulator-workspace"  # the emulator's one Fabric workspace
V1 = {"name": "v1", "base_model_type": None, "model_path": "obs://models/llm/v1/"}  # the fabric fixture fills the type
AK, SK = defaults.PAI_ACCESS_KEY_ID, defaults.PAI_ACCESS_KEY_SECRET  # PAI
APP_KEY, APP_SECRET = defaults.WORKSHOP_APP_KEY, defaults.WORKSHOP_APP_SECRET  # Workshop
