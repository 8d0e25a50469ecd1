"""Fixtures the provider tests share: a platform of the session emulator, reset, and the stack
config that reaches it (the tests call the provider methods with it)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from emulator import defaults
from tests.providers.support import AK, APP_KEY, APP_SECRET, SK, V1


@pytest.fixture
def fabric(emulator):
    emulator.reset("fabric")
    # Done by the provider's first look (no 0.5 s pause before a second poll); the tests about the
    # wait set longer delays (test_fabric_lifecycle's promotion test keeps the 0.3 s it had).
    emulator.settings("fabric", create_delay_s=0.001, version_delay_s=0.001)
    base = httpx.get(f"{emulator.url}/_admin/objects/fabric").json().get("base_model", {})
    V1["base_model_type"] = sorted(b.get("base_model_type") for b in base.values())[0]
    yield {"fabric:endpoint": f"{emulator.url}/fabric", "fabric:accessKey": defaults.FABRIC_ACCESS_KEY,
           "fabric:secretKey": defaults.FABRIC_SECRET_KEY}
    left = {k: v for k, v in emulator.objects("fabric").items() if k in ("model", "version") and v}
    assert left == {}


@pytest.fixture
def pai(emulator):
    emulator.reset("pai")
    yield {"pai:endpoint": f"{emulator.url}/pai", "pai:accessKeyId": AK, "pai:accessKeySecret": SK}
    assert {k: v for k, v in emulator.objects("pai").items() if v and k not in ("nonce",)} == {}


@pytest.fixture
def ws(emulator: Any, tmp_path: Any) -> dict[str, str]:
    emulator.reset("workshop")
    emulator.settings("workshop", listing_delay_s=0.3)
    return {"workshop:endpoint": f"{emulator.url}/workshop", "workshop:appKey": APP_KEY,
            "workshop:appSecret": APP_SECRET, "workshop:tokenCache": str(tmp_path / "tokens"),
            # one end user per test, so no test meets a token another one allocated (clients are per settings)
            "workshop:tokenName": f"lifecycle-{uuid.uuid4().hex[:8]}"}
