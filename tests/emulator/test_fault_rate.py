"""The admin surface's rate-based fault mode (the chaos tool arms it): per request, with probability
``rate``, one of 500/502/503/429, added latency, or a response dropped after the handler committed."""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest

from emulator import defaults
from tests.emulator_process import Emulator

KEY = defaults.ESD_API_KEY


@pytest.fixture
def esd(emulator: Emulator) -> httpx.Client:
    emulator.reset("esd")
    return httpx.Client(base_url=f"{emulator.url}/esd/prod",
                        headers={"x-api-key": KEY, "username": defaults.ESD_USERNAME},
                        timeout=15)


def outcome(client: httpx.Client, path: str = "/ping") -> str:
    try:
        return str(client.get(path).status_code)
    except httpx.TransportError:
        return "dropped"


def test_rate_one_faults_every_request_and_rate_zero_none(esd: httpx.Client, emulator: Emulator) -> None:
    emulator.arm_fault("esd", rate=1.0, kinds=["503"], times=-1)
    assert [outcome(esd) for _ in range(5)] == ["503"] * 5
    emulator.clear_faults()
    emulator.arm_fault("esd", rate=0.0, times=-1)
    assert [outcome(esd) for _ in range(5)] == ["200"] * 5


def test_statuses_use_the_vendor_envelope_and_429_says_when_to_retry(esd: httpx.Client,
                                                                     emulator: Emulator) -> None:
    emulator.arm_fault("esd", rate=1.0, kinds=["429"], times=1)
    r = esd.get("/roles")
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.json() == {"statusCode": 429, "message": "injected fault"}
    assert esd.get("/roles").status_code == 200  # times=1: fired once, then gone
    assert emulator.admin.get("/faults").json() == []


def test_seeded_draws_are_reproducible_and_near_the_rate(esd: httpx.Client, emulator: Emulator) -> None:
    runs = []
    for _ in range(2):
        emulator.clear_faults()
        emulator.arm_fault("esd", rate=0.3, seed=42, kinds=["500", "502", "503", "429"], times=-1)
        runs.append([outcome(esd) for _ in range(100)])
    assert runs[0] == runs[1]
    counts = Counter(runs[0])
    assert set(counts) <= {"200", "500", "502", "503", "429"}
    assert 15 <= 100 - counts["200"] <= 45, counts  # seed 42 is fixed: this is exact, not statistical
    listed = emulator.admin.get("/faults").json()
    assert listed[0]["hits"] == 100 - counts["200"] == sum(listed[0]["fired"].values())


def test_drop_commits_the_change_and_latency_delays(esd: httpx.Client, emulator: Emulator) -> None:
    emulator.arm_fault("esd", rate=1.0, kinds=["drop"], method="POST", path="/prod/roles", times=1)
    with pytest.raises(httpx.TransportError):
        esd.post("/roles", json={"role_name": "dropped-role", "permissions": ["role:all"]})
    assert "dropped-role" in {r["role_name"] for r in emulator.objects("esd")["role"].values()}

    emulator.arm_fault("esd", rate=1.0, kinds=["latency"], latency_s=0.3, times=1)
    started = time.monotonic()
    assert esd.get("/ping").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_every_platform_at_once(emulator: Emulator) -> None:
    emulator.arm_fault("*", rate=1.0, kinds=["502"], times=-1)
    try:
        assert httpx.get(f"{emulator.url}/esd/prod/ping", headers={"x-api-key": KEY}).status_code == 502
        assert httpx.get(f"{emulator.url}/pai/api/v1/models").status_code == 502
        assert httpx.get(f"{emulator.url}/fabric/v1/base-models").status_code == 502
        assert httpx.get(f"{emulator.url}/_admin/health").status_code == 200  # the admin surface never
    finally:
        emulator.clear_faults()


def test_bad_rate_faults_are_refused(emulator: Emulator) -> None:
    assert emulator.admin.post("/faults", json={"platform": "esd", "rate": 1.5}).status_code == 422
    assert emulator.admin.post("/faults", json={"platform": "esd", "rate": 0.1, "kinds": ["418"]}).status_code == 422
    assert emulator.admin.post("/faults", json={"platform": "*", "status": 500}).status_code == 404
