"""workshop:ModelSync across runs (issue 18): one API token reused by every provider process, the
page's session parameters, a replacement that keeps the model_id, and the state after a failed
update. Over gateway-signed HTTP to the emulator; separate processes are real subprocesses."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from providers.core import DynamicProvider, ResourceError, UpdatedButFailed, runtime
from providers.core.resource import UPDATE_ERROR_KEY
from providers.workshop import model_sync
from providers.workshop.model_sync import ModelSyncHandler
from tests.providers.support import checked, provider
from tests.providers.test_workshop_lifecycle import demo, stored, version

PROCESS = """
import sys
from pulumi.dynamic import Config, ConfigRequest
from providers.core import DynamicProvider
from providers.workshop.model_sync import ModelSyncHandler
from tests.providers.support import provider
import json
cfg = json.loads(sys.argv[1])
p = provider(ModelSyncHandler, cfg)
token = p.impl.client.api_token()
print(len(token))
"""


def run_provider_process(cfg: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-c", PROCESS.replace("ConfigRequest", "ConfigureRequest"), json.dumps(cfg)],
                   check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2], timeout=120)


def test_provider_processes_share_one_allocated_token(ws, emulator, tmp_path):  # noqa: F811
    for _ in range(3):
        run_provider_process(ws)
    tokens = emulator.objects("workshop")["token"]
    assert len(tokens) == 1, tokens  # before: one per process (11 piled up in an afternoon)
    [cache] = list(Path(ws["workshop:tokenCache"]).iterdir())
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    assert json.loads(cache.read_text())["apiToken"] == next(iter(tokens))
    # another token name or endpoint is another user: another token
    run_provider_process({**ws, "workshop:tokenName": ws["workshop:tokenName"] + "-b"})
    assert len(emulator.objects("workshop")["token"]) == 2
    # off: no file, a token per process (as before)
    run_provider_process({**ws, "workshop:tokenCache": "off"})
    assert len(emulator.objects("workshop")["token"]) == 3


def test_a_refused_cached_token_is_replaced_and_never_reaches_state(ws, emulator):  # noqa: F811
    run_provider_process(ws)
    [token] = emulator.objects("workshop")["token"]
    emulator.patch("workshop", "token", token, tokenExpiredAt=1_000_000_000_000)  # expired behind our back
    p = provider(ModelSyncHandler, ws)
    created = p.create(checked(p, demo(wait_for_listing=False)))
    assert len(emulator.objects("workshop")["token"]) == 2
    [cache] = list(Path(ws["workshop:tokenCache"]).iterdir())
    fresh = json.loads(cache.read_text())["apiToken"]
    assert fresh != token and fresh in emulator.objects("workshop")["token"]
    state = json.dumps(created.outs)
    assert token not in state and fresh not in state


def test_session_parameters_travel_with_the_token(ws, emulator, mocker):  # noqa: F811
    p = provider(ModelSyncHandler, ws)
    props = demo(wait_for_listing=False, role_id="01j2bapbjd", session_mode=20, expired_in_seconds=3600,
                 custom_resource_config_ids=["rc-1", "rc-2"])
    inputs = checked(p, props)
    send = mocker.spy(p.impl.client.http, "send")
    p.create(inputs)
    [sync] = [c.args[0] for c in send.call_args_list if c.args[0].url.path.endswith("/scc/spSdModelSync")]
    body = json.loads(sync.content)
    assert (body["roleId"], body["sessionMode"], body["expiredInSeconds"], body["customResourceConfigId"]) == \
        ("01j2bapbjd", 20, 3600, "rc-1,rc-2")
    # they are request parameters, not part of the model: changing one re-sends nothing
    changed = checked(p, {**props, "session_mode": 10})
    before = stored(emulator, ws)["syncCount"]
    p.update("demo-1", {**inputs}, changed)
    assert stored(emulator, ws)["syncCount"] == before
    bad = {f.property: f.reason for f in DynamicProvider(ModelSyncHandler).check({}, {**props, "session_mode": 30}).failures}
    assert "session_mode" in bad

    queried = provider(ModelSyncHandler, {**ws, "workshop:apiTokenIn": "query"})
    send = mocker.spy(queried.impl.client.http, "send")
    queried.create(checked(queried, {**props, "model_id": "demo-q"}))
    [sync] = [c.args[0] for c in send.call_args_list if c.args[0].url.path.endswith("/scc/spSdModelSync")]
    assert sync.url.params["sessionMode"] == "20" and sync.url.params["customResourceConfigId"] == "rc-1,rc-2"
    assert b"sessionMode" not in sync.content


def test_a_replacement_keeping_the_model_id_does_not_warn(ws, emulator, capsys):  # noqa: F811
    p = provider(ModelSyncHandler, ws)
    old = p.create(checked(p, demo(wait_for_listing=False)))
    model_sync._SYNCED.clear()  # the old resource was made in an earlier run
    capsys.readouterr()
    new = p.create(checked(p, demo(wait_for_listing=False, name="Renamed")))  # e.g. `up --replace`
    p.delete(old.id, old.outs)  # create-before-delete: the old half goes after the new one exists
    err = capsys.readouterr().err
    assert "warning" not in err and "stays on the platform" not in err
    assert "managed by its replacement" in err
    model_sync._SYNCED.clear()  # a later run removes it from the program
    p.delete(new.id, new.outs)
    assert "removed from the stack only" in capsys.readouterr().err


def test_no_primary_file_is_accepted_two_are_not(ws, emulator):  # noqa: F811
    p = provider(ModelSyncHandler, ws)
    none = version()
    none["files"][0]["is_primary"] = False
    created = p.create(checked(p, demo(versions=[none], wait_for_listing=False)))  # the emulator agrees
    assert created.id == "demo-1"
    two = version()
    two["files"].append({**two["files"][0], "name": "other.safetensors"})
    failures = {f.property: f.reason for f in p.check({}, demo(versions=[two])).failures}
    assert "only one file with is_primary=true" in " ".join(failures.values())


@pytest.mark.parametrize("partial", [True, False], ids=["project-server", "stock-server"])
def test_a_failed_update_does_not_leave_listed_in_state(ws, emulator, monkeypatch, partial):  # noqa: F811
    monkeypatch.setattr(runtime, "partial_state_supported", partial)
    p = provider(ModelSyncHandler, ws)
    created = p.create(checked(p, demo()))
    assert created.outs["status"] == 10
    failing = checked(p, demo(versions=[version(url="https://models.example.com/fail.safetensors",
                                                hash="sha256:new")]))
    with pytest.raises(ResourceError) as err:
        p.update(created.id, created.outs, failing)
    if not partial:
        assert "state still shows the last good update" in str(err.value)
        return
    failed = err.value.cause
    assert isinstance(failed, UpdatedButFailed) and "listing failed" in failed.message
    state = p.failed_update_state(failing, failed)  # what the project's server records with the error
    assert state["status"] == -10 and state["listing_status"] == "Listing failed"
    assert state[UPDATE_ERROR_KEY] and state["versions"][0]["files"][0]["download_url"].endswith("fail.safetensors")
    # the next up runs the update again even though the inputs did not change
    diff = p.diff(created.id, state, failing)
    assert diff.changes is True and diff.replaces == []
    fixed = checked(p, demo(versions=[version(url="https://models.example.com/ok.safetensors", hash="sha256:ok")]))
    outs = p.update(created.id, state, fixed).outs
    assert outs["status"] == 10 and UPDATE_ERROR_KEY not in outs
    read = p.read(created.id, state)  # refresh keeps the mark while it stands
    assert UPDATE_ERROR_KEY in read.outs
