"""Each platform at the root of its own port (``--pai-port`` ...): same store, faults and settings
as the prefixed mount, signatures checked over the path as sent, one signal stops every port."""

from __future__ import annotations

import signal

import httpx
import pytest

from emulator import defaults
from providers.core.errors import ApiError
from providers.fabric.client import FabricClient, FabricSettings
from providers.pai.auth import AcsV3Auth
from providers.pai.client import PaiClient, PaiSettings
from tests.sdk.conftest import PortsEmulator

PAI_AK, PAI_SK = defaults.PAI_ACCESS_KEY_ID, defaults.PAI_ACCESS_KEY_SECRET
FABRIC_AK, FABRIC_SK = defaults.FABRIC_ACCESS_KEY, defaults.FABRIC_SECRET_KEY


def _pai(endpoint: str) -> PaiClient:
    return PaiClient(PaiSettings(access_key_id=PAI_AK, access_key_secret=PAI_SK, endpoint=endpoint))


def test_pai_at_the_root_of_its_port_shares_state_with_the_prefixed_mount(ports_emulator: PortsEmulator) -> None:
    root, prefixed = _pai(ports_emulator.root_url("pai")), _pai(f"{ports_emulator.url}/pai")
    model_id = root.create_model({"ModelName": "ports-model"})  # signed over /api/v1/models
    assert prefixed.get_model(model_id)["ModelName"] == "ports-model"
    assert model_id in str(ports_emulator.objects("pai"))  # the admin surface on the main port sees it
    prefixed.delete_model(model_id)
    with pytest.raises(ApiError):
        root.get_model(model_id)


def test_a_signature_over_another_path_is_refused_at_the_root(ports_emulator: PortsEmulator) -> None:
    """The root port checks the path as received: a request signed for /pai/api/v1/models but sent
    as /api/v1/models fails, as the prefixed mount made every unmodified SDK fail before."""
    root = ports_emulator.root_url("pai")
    signed = httpx.Request("GET", f"{root}/pai/api/v1/models", extensions={"acs_action": "ListModels"})
    AcsV3Auth(PAI_AK, PAI_SK).sign_request(signed)
    assert httpx.get(f"{root}/pai/api/v1/models", headers=signed.headers).status_code == 200
    moved = httpx.get(f"{root}/api/v1/models", headers=signed.headers)
    assert (moved.status_code, moved.json()["Code"]) == (400, "SignatureDoesNotMatch")


def test_faults_armed_on_the_admin_surface_apply_at_the_root_port(ports_emulator: PortsEmulator) -> None:
    ports_emulator.arm_fault("pai", method="GET", path="/api/v1/models", status=403, code="Forbidden.Injected",
                             message="injected")
    r = httpx.get(f"{ports_emulator.root_url('pai')}/api/v1/models")
    assert (r.status_code, r.json()["Code"]) == (403, "Forbidden.Injected")
    ports_emulator.clear_faults()


def test_fabric_at_the_root_of_its_port(ports_emulator: PortsEmulator) -> None:
    client = FabricClient(FabricSettings(endpoint=ports_emulator.root_url("fabric"), access_key=FABRIC_AK,
                                         secret_key=FABRIC_SK, project_id=defaults.FABRIC_PROJECT_ID))
    names = [m.get("base_model_type") for m in client.request("ListBaseModels", "GET", "/v1/base-models")
             .json().get("models", [])]
    assert "QWEN2_5_7B" in names


def test_esd_presigned_urls_work_on_its_own_port(ports_emulator: PortsEmulator) -> None:
    r = httpx.get(f"{ports_emulator.root_url('esd')}/prod/ping")
    prefixed = httpx.get(f"{ports_emulator.url}/esd/prod/ping")
    assert (r.status_code, r.text) == (prefixed.status_code, prefixed.text)


def test_one_signal_stops_every_port(tmp_path) -> None:  # noqa: ANN001
    emu = PortsEmulator(tmp_path / "state.db", platforms=("pai", "fabric")).start()
    assert emu.proc is not None
    emu.proc.send_signal(signal.SIGTERM)
    assert emu.proc.wait(15) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once shut down
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{emu.root_url('pai')}/api/v1/models", timeout=2)
