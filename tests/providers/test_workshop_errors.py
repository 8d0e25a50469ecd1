"""workshop: error text, retries and outages against the emulator, faults injected through its admin API."""

from __future__ import annotations

import uuid

import pytest

from providers.core import ConfigError, ResourceError
from providers.workshop.client import WorkshopSettings
from providers.workshop.model_sync import ModelSyncHandler
from tests.providers.support import APP_KEY, APP_SECRET, checked, provider
from tests.providers.test_workshop_lifecycle import demo


@pytest.fixture
def ws(emulator, tmp_path):
    emulator.reset("workshop")
    emulator.settings("workshop", listing_delay_s=0.3)
    return {"workshop:endpoint": f"{emulator.url}/workshop", "workshop:appKey": APP_KEY,
            "workshop:appSecret": APP_SECRET, "workshop:tokenName": f"errors-{uuid.uuid4().hex[:8]}",
            "workshop:tokenCache": str(tmp_path / "tokens")}


def one_line(exc: BaseException, *secrets: str) -> str:
    text = str(exc)
    assert "\n" not in text
    for secret in (APP_SECRET, *secrets):
        assert secret not in text
    return text


def test_bad_secret_is_the_gateways_a403is_with_its_string_to_sign(ws):
    p = provider(ModelSyncHandler, {**ws, "workshop:appSecret": "WrongSecret000000000000000000000"})
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, demo()))
    text = one_line(err.value, "WrongSecret")
    assert text.startswith("workshop:ModelSync demo-1 create failed: workshop AllocateToken: POST "
                           "/workshop/scc/allocate_token returned HTTP 403: A403IS: Invalid Signature, Server StringToSign:")
    assert "(request id " in text


def test_unknown_app_key(ws):
    p = provider(ModelSyncHandler, {**ws, "workshop:appKey": "99999999"})
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, demo()))
    assert "HTTP 400: A400IK: Invalid AppKey" in one_line(err.value)


def test_business_error_on_http_200_carries_the_vendor_code(ws, emulator):
    token = "01bogus000000000000000000x"
    p = provider(ModelSyncHandler, {**ws, "workshop:apiToken": token})
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, demo()))
    text = one_line(err.value, token)
    assert "workshop SyncModel: POST /workshop/scc/spSdModelSync returned HTTP 200: InvalidApiToken:" in text
    emulator.settings("workshop", errors_on_http_200=False)
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, demo()))
    assert "returned HTTP 401: InvalidApiToken" in one_line(err.value, token)


def test_tokens_are_redacted_from_vendor_text(ws, emulator, mocker):
    p = provider(ModelSyncHandler, ws)
    token = p.impl.client.api_token()
    emulator.arm_fault("workshop", path="/scc/spSdModelSync", status=400, code="InvalidParameter",
                       message=f"apiToken {token} is not allowed here")
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, demo()))
    assert "apiToken *** is not allowed here" in one_line(err.value, token)


def test_a_503_on_the_sync_is_retried_because_it_is_an_upsert(ws, emulator, mocker):
    p = provider(ModelSyncHandler, ws)
    sleep = mocker.patch.object(p.impl.client, "_sleep")
    emulator.arm_fault("workshop", method="POST", path="/scc/spSdModelSync", status=503, code="ServiceUnavailable",
                       message="busy", headers={"Retry-After": "1"}, times=2)
    assert p.create(checked(p, demo())).outs["status"] == 10
    assert [c.args[0] for c in sleep.call_args_list[:2]] == [1.0, 1.0]


def test_the_listing_wait_rides_out_an_outage(ws, emulator, mocker):
    p = provider(ModelSyncHandler, ws)
    mocker.patch.object(p.impl.client, "_sleep")
    client = p.impl.client
    real = client.sync_model
    armed: list[bool] = []

    def sync_then_break(body, session=None):
        reply = real(body, session)
        if not armed:  # the first sync succeeds; the next six calls (over two polls) hit a 503
            emulator.arm_fault("workshop", path="/scc/spSdModelSync", status=503, code="ServiceUnavailable",
                               message="down for maintenance", times=6)
            armed.append(True)
        return reply

    mocker.patch.object(client, "sync_model", side_effect=sync_then_break)
    assert p.create(checked(p, demo())).outs["status"] == 10


def test_connection_refused_is_one_line_transport_error(mocker):
    sleep = mocker.patch("providers.core.runtime.sleep")
    p = provider(ModelSyncHandler, {"workshop:endpoint": "http://127.0.0.1:9/workshop", "workshop:appKey": APP_KEY,
                                    "workshop:appSecret": APP_SECRET})
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, demo()))
    text = one_line(err.value)
    assert "workshop AllocateToken: POST /workshop/scc/allocate_token on 127.0.0.1:9 failed without a response" in text
    assert "ConnectError" in text and sleep.call_count == 4


def test_missing_credentials_say_how_to_set_them(monkeypatch):
    for name in ("WORKSHOP_APP_KEY", "SPEEDPIX_APP_KEY", "WORKSHOP_APP_SECRET", "SPEEDPIX_APP_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as err:
        WorkshopSettings.load(None)
    text = str(err.value)
    assert "workshop:appKey" in text and "$WORKSHOP_APP_KEY or $SPEEDPIX_APP_KEY" in text
    assert "pulumi config set --secret workshop:appSecret" in text


def test_settings_come_from_config_then_environment(monkeypatch):
    monkeypatch.setenv("SPEEDPIX_APP_KEY", "from-env")
    monkeypatch.setenv("SPEEDPIX_APP_SECRET", "secret-from-env")
    monkeypatch.setenv("SPEEDPIX_ENDPOINT", "http://127.0.0.1:1/x")
    s = WorkshopSettings.load(None)
    assert (s.app_key, s.endpoint, s.api_token_in, s.token_name) == ("from-env", "http://127.0.0.1:1/x", "body",
                                                                      "aimodels-pulumi")
    assert "secret-from-env" not in repr(s) and s.secrets() == ["secret-from-env"]
