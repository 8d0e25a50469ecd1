"""workshop:ModelSync through the provider methods, over gateway-signed HTTP to the emulator."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from providers.core import CreatedButFailed, ResourceError, runtime
from providers.workshop import model_sync
from providers.workshop.model_sync import ModelSyncHandler, ModelSyncInputs
from tests.providers.support import APP_KEY, checked, provider


def version(vid: str = "v1", name: str = "1.0", url: str = "https://models.example.com/demo-1.0.safetensors",
            hash: str = "sha256:d1") -> dict[str, Any]:
    return {"model_version_id": vid, "name": name, "base_model": "v1.5", "trigger_words": ["demo"],
            "covers": [{"cover": "https://models.example.com/demo.jpeg",
                        "cover_file": {"width": 512, "height": 512, "format": "jpeg"}}],
            "files": [{"name": f"demo-{name}.safetensors", "alias_name": f"demo-{name}", "download_url": url,
                       "hash": hash, "size_kb": 2048.5, "is_primary": True}]}


def demo(model_id: str = "demo-1", **extra: Any) -> dict[str, Any]:
    return {"model_id": model_id, "name": "Demo", "model_type": "lora", "source_type": "internal",
            "is_original": True, "versions": [version()], **extra}


def owner(cfg: dict[str, str]) -> str:
    return f"{APP_KEY}/user:{cfg['workshop:tokenName']}"


def stored(emulator: Any, cfg: dict[str, str], model_id: str = "demo-1") -> dict[str, Any] | None:
    return emulator.objects("workshop").get("model", {}).get(f"{owner(cfg)}/{model_id}")


def test_lifecycle_create_refresh_update_replace_delete(ws, emulator, capsys):
    p = provider(ModelSyncHandler, ws)
    inputs = checked(p, demo())
    created = p.create(inputs)
    assert created.id == "demo-1"
    outs = created.outs
    assert outs["status"] == 10 and outs["listing_status"] == "Listed"  # it waited for the listing
    assert outs["file_statuses"] == {"v1/demo-1.0.safetensors": 10}
    doc = stored(emulator, ws)
    assert doc["workshopModelId"] == outs["workshop_model_id"]
    assert outs["version_ids"] == {"v1": doc["versions"][0]["workshopVersionId"]}
    # the platform holds exactly the seed's body, camelCase, as we declared it
    sent = ModelSyncInputs.model_validate(inputs).wire()
    assert {k: doc[k] for k in sent if k != "versions"} == {k: v for k, v in sent.items() if k != "versions"}
    file = doc["versions"][0]["files"][0]
    assert {k: file[k] for k in sent["versions"][0]["files"][0]} == sent["versions"][0]["files"][0]

    # refresh: no read API, so the last state is kept and the user is told so
    read = p.read(created.id, outs)
    assert read.id == "demo-1" and read.inputs == inputs
    assert "has no read API" in capsys.readouterr().err
    assert p.diff(created.id, {**read.outs, "__provider": "x"}, inputs).changes is False
    knob = checked(p, {**demo(), "wait_timeout_s": 60})  # a local knob: recorded, never sent
    before = stored(emulator, ws)["syncCount"]
    assert p.update(created.id, outs, knob).outs["wait_timeout_s"] == 60
    assert stored(emulator, ws)["syncCount"] == before

    # update: a new version and a new name re-sync the whole tree and wait again
    news = checked(p, demo(name="Demo v2", versions=[version(), version("v2", "2.0", hash="sha256:d2",
                                                                      url="https://models.example.com/demo-2.0.bin")]))
    diff = p.diff(created.id, outs, news)
    assert diff.changes is True and diff.replaces == []
    updated = p.update(created.id, outs, news).outs
    assert updated["status"] == 10 and set(updated["version_ids"]) == {"v1", "v2"}
    assert updated["version_ids"]["v1"] == outs["version_ids"]["v1"]  # same platform version
    doc = stored(emulator, ws)
    assert doc["name"] == "Demo v2" and [v["modelVersionId"] for v in doc["versions"]] == ["v1", "v2"]

    # dropping a version: the full-state sync drops it; the provider says it cannot confirm that
    fewer = checked(p, demo(name="Demo v2", versions=[version("v2", "2.0", hash="sha256:d2",
                                                            url="https://models.example.com/demo-2.0.bin")]))
    p.update(created.id, updated, fewer)
    assert "versions v1 are left out of the sync" in capsys.readouterr().err
    assert [v["modelVersionId"] for v in stored(emulator, ws)["versions"]] == ["v2"]

    assert p.diff(created.id, updated, checked(p, demo("demo-2"))).replaces == ["model_id"]

    # delete: removed from the stack only, with a warning; the platform keeps the model
    model_sync._SYNCED.clear()  # a removal happens in a later run, in another provider process
    p.delete(created.id, updated)
    err = capsys.readouterr().err
    assert "warning:" in err and "removed from the stack only" in err and "no delete API" in err
    assert stored(emulator, ws) is not None


def test_resync_on_refresh_never_writes_in_read_and_up_re_sends_the_tree(ws, emulator, capsys):
    """A refresh (real or --preview-only, which Read cannot tell apart) sends nothing; it marks the
    tree unseen, so the preview shows drift and the update of the next `up` overwrites console edits."""
    p = provider(ModelSyncHandler, ws)
    declared = checked(p, demo(resync_on_refresh=True, wait_for_listing=False))
    created = p.create(declared)
    emulator.patch("workshop", "model", f"{owner(ws)}/demo-1", name="Edited in the console")
    read = p.read(created.id, created.outs)
    assert stored(emulator, ws)["name"] == "Edited in the console"  # the read wrote nothing
    assert read.outs["__unseen"] and "versions" in read.outs["__unseen"] and "name" in read.outs["__unseen"]
    assert "next `pulumi up` syncs it" in capsys.readouterr().err
    diff = p.diff(created.id, read.outs, declared)
    assert diff.changes and diff.replaces == [] and {"name", "versions"} <= set(diff.detailed)
    updated = p.update(created.id, read.outs, declared)
    assert stored(emulator, ws)["name"] == "Demo"  # up re-sent the declared tree
    assert "__unseen" not in updated.outs
    assert not p.diff(created.id, updated.outs, declared).changes


def test_listing_failure_on_create_keeps_the_object_accounted_for(ws, emulator, monkeypatch):
    monkeypatch.setattr(runtime, "partial_state_supported", True)  # as under the project's server
    p = provider(ModelSyncHandler, ws)
    bad = demo(versions=[version(url="https://models.example.com/fail/demo.safetensors")])
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, bad))
    cause = err.value.cause
    assert isinstance(cause, CreatedButFailed) and cause.id == "demo-1" and cause.cleanup is None
    assert cause.outputs.status == -10 and cause.outputs.file_statuses == {"v1/demo-1.0.safetensors": -10}
    text = str(err.value)
    assert "listing failed for v1/demo-1.0.safetensors" in text and "no delete API" in text and "\n" not in text
    # fixing the URL and syncing again (what the next `up` does) lists it
    fixed = checked(p, demo())
    assert p.update("demo-1", {**checked(p, bad), **cause.outputs.model_dump()}, fixed).outs["status"] == 10


def test_listing_failure_under_the_stock_server_names_the_kept_model(ws, emulator, monkeypatch):
    monkeypatch.setattr(runtime, "partial_state_supported", False)
    p = provider(ModelSyncHandler, ws)
    bad = demo(versions=[version(url="https://models.example.com/fail/demo.safetensors")])
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, bad))
    assert "it was kept on the platform: remove demo-1 by hand" in str(err.value)


def test_wait_deadline_is_reported_with_the_last_status(ws, emulator, monkeypatch):
    monkeypatch.setattr(runtime, "partial_state_supported", True)
    emulator.settings("workshop", listing_delay_s=60)
    p = provider(ModelSyncHandler, ws)
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, demo(wait_timeout_s=1)))
    assert isinstance(err.value.cause, CreatedButFailed) and err.value.cause.outputs.status == 5
    assert "still Listing after" in str(err.value) and "deadline 1s" in str(err.value)


def test_already_uploaded_files_are_listed_without_waiting(ws, emulator):
    emulator.settings("workshop", uploaded_hashes=["sha256:d1"])
    p = provider(ModelSyncHandler, ws)
    created = p.create(checked(p, demo()))
    assert created.outs["status"] == 10
    assert stored(emulator, ws)["syncCount"] == 1  # one call: nothing to wait for


def test_a_single_object_reply_gives_the_model_id_and_one_status(ws, emulator):
    emulator.settings("workshop", sync_reply="object")
    p = provider(ModelSyncHandler, ws)
    created = p.create(checked(p, demo(versions=[version(), version("v2", "2.0", hash="sha256:z")])))
    outs = created.outs
    assert outs["status"] == 10 and outs["workshop_model_id"] == stored(emulator, ws)["workshopModelId"]
    assert outs["version_ids"] == {} and outs["file_statuses"] == {}  # cannot be mapped onto our ids


def test_token_is_allocated_once_given_tokens_are_used_as_is(ws, emulator, mocker):
    p = provider(ModelSyncHandler, ws)
    send = mocker.spy(p.impl.client.http, "send")
    p.create(checked(p, demo(wait_for_listing=False)))
    p.create(checked(p, demo("demo-2", wait_for_listing=False)))
    paths = [c.args[0].url.path for c in send.call_args_list]
    assert paths.count("/workshop/scc/allocate_token") == 1 and paths.count("/workshop/scc/spSdModelSync") == 2

    token = next(iter(emulator.objects("workshop")["token"]))
    given = provider(ModelSyncHandler, {**ws, "workshop:apiToken": token, "workshop:apiTokenIn": "query"})
    send = mocker.spy(given.impl.client.http, "send")
    given.create(checked(given, demo("demo-3", wait_for_listing=False)))
    [request] = [c.args[0] for c in send.call_args_list]
    assert request.url.params["apiToken"] == token and b"apiToken" not in request.content
    assert stored(emulator, ws, "demo-3") is not None  # the same owner: the token's end user


def test_an_expired_allocated_token_is_replaced_once(ws, emulator):
    p = provider(ModelSyncHandler, ws)
    p.create(checked(p, demo(wait_for_listing=False)))
    [token] = emulator.objects("workshop")["token"]
    emulator.patch("workshop", "token", token, tokenExpiredAt=1_000_000_000_000)  # expired behind our back
    assert p.create(checked(p, demo("demo-2", wait_for_listing=False))).id == "demo-2"
    assert len(emulator.objects("workshop")["token"]) == 2


def test_lost_create_reply_is_retried_safely_as_an_upsert(ws, emulator, mocker):
    p = provider(ModelSyncHandler, ws)
    p.impl.client.api_token()  # allocate first, so the only dropped reply is the sync's
    mocker.patch.object(p.impl.client, "_sleep")
    send = mocker.spy(p.impl.client.http, "send")
    emulator.arm_fault("workshop", method="POST", path="/scc/spSdModelSync", drop_response=True, times=1)
    created = p.create(checked(p, demo()))
    assert created.outs["status"] == 10
    syncs = [c for c in send.call_args_list if c.args[0].url.path.endswith("/spSdModelSync")]
    assert len(syncs) >= 2  # the first reply was lost after the platform stored the model
    models = emulator.objects("workshop")["model"]
    assert list(models) == [f"{owner(ws)}/demo-1"]  # one model, however many times it was sent
    assert models[f"{owner(ws)}/demo-1"]["syncCount"] == len(syncs)


def test_create_overwrites_a_model_with_the_same_id_as_the_docs_say(ws, emulator):
    """No read API means no way to tell a fresh id from a taken one: the README says so; this pins it."""
    p = provider(ModelSyncHandler, ws)
    first = p.create(checked(p, demo(wait_for_listing=False)))
    second = p.create(checked(p, demo(name="Someone else's", wait_for_listing=False)))
    assert second.outs["workshop_model_id"] == first.outs["workshop_model_id"]
    assert stored(emulator, ws)["name"] == "Someone else's"


def test_version_reordering_is_a_change(ws):
    p = provider(ModelSyncHandler, ws)
    two = demo(versions=[version(), version("v2", "2.0", hash="sha256:z")])
    swapped = copy.deepcopy(two)
    swapped["versions"].reverse()
    assert p.diff("demo-1", checked(p, two), checked(p, swapped)).changes is True


def test_listing_failure_on_update_fails_the_update_with_the_file(ws, emulator):
    p = provider(ModelSyncHandler, ws)
    created = p.create(checked(p, demo()))
    broken = checked(p, demo(versions=[version("v2", "2.0", url="https://models.example.com/failing.bin",
                                               hash="sha256:broken")]))
    with pytest.raises(ResourceError) as err:
        p.update(created.id, created.outs, broken)
    text = str(err.value)
    assert text.startswith("workshop:ModelSync demo-1 update failed: workshop:ModelSync demo-1 reached Listing failed")
    assert "listing failed for v2/demo-2.0.safetensors" in text and "\n" not in text
