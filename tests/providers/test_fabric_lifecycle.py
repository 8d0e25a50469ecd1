"""fabric:Model lifecycle through the provider methods, against the emulator, with both auth methods."""

from __future__ import annotations

import pytest

from emulator import defaults
from providers.core import DynamicProvider, ResourceError
from providers.fabric.model import ModelHandler
from tests.providers.support import V1, WS, checked
from tests.providers.support import provider as configured


def provider(cfg: dict[str, str]) -> DynamicProvider:
    return configured(ModelHandler, cfg)


def test_model_with_versions_and_promotion(fabric, emulator):
    emulator.settings("fabric", create_delay_s=0.3, version_delay_s=0.3)  # polled: the waits pause between looks
    p = provider(fabric)
    inputs = checked(p, {"workspace_id": WS, "name": "chat-llm", "description": "chat", "versions": [V1]})
    created = p.create(inputs)
    assert created.outs["version_ids"].keys() == {"v1"}
    assert created.outs["current_version_id"] == created.outs["version_ids"]["v1"]
    read = p.read(created.id, created.outs)
    assert read.inputs == inputs
    assert p.diff(created.id, {**read.outs, "__provider": "x"}, inputs).changes is False

    # promote: add v2 (proven elsewhere) and make it current, in place
    v2 = {**V1, "name": "v2", "model_path": "obs://models/llm/v2/"}
    news = checked(p, {**inputs, "versions": [V1, v2], "current_version": "v2"})
    diff = p.diff(created.id, created.outs, news)
    assert diff.changes is True and diff.replaces == []
    outs = p.update(created.id, created.outs, news).outs
    assert outs["current_version_id"] == outs["version_ids"]["v2"]
    assert p.diff(created.id, p.read(created.id, outs).outs, news).changes is False

    # roll back the pointer, then retire v2
    back = checked(p, {**inputs, "versions": [V1, v2], "current_version": "v1"})
    outs = p.update(created.id, outs, back).outs
    assert outs["current_version_id"] == outs["version_ids"]["v1"]
    retired = checked(p, {**inputs, "versions": [V1], "current_version": "v1"})
    outs = p.update(created.id, outs, retired).outs
    assert set(outs["version_ids"]) == {"v1"}

    assert p.diff(created.id, outs, checked(p, {**retired, "workspace_id": "other"})).replaces == ["workspace_id"]
    p.delete(created.id, outs)
    assert p.read(created.id, outs).id is None


def test_in_use_model_refuses_deletion_with_vendor_message(fabric, emulator):
    p = provider(fabric)
    created = p.create(checked(p, {"workspace_id": WS, "name": "busy", "versions": [V1]}))
    emulator.patch("fabric", "model", created.id, in_use_by=["svc-1"])
    with pytest.raises(ResourceError) as err:
        p.delete(created.id, created.outs)
    assert "HTTP 400" in str(err.value) and "dataartsfabric." in str(err.value) and "\n" not in str(err.value)
    emulator.patch("fabric", "model", created.id, in_use_by=[])
    p.delete(created.id, created.outs)


def test_duplicate_name_is_rejected_by_the_platform(fabric):
    p = provider(fabric)
    inputs = checked(p, {"workspace_id": WS, "name": "twin", "versions": [V1]})
    first = p.create(inputs)
    with pytest.raises(ResourceError) as err:
        p.create(inputs)
    assert "dataartsfabric." in str(err.value)
    p.delete(first.id, first.outs)


def test_token_auth_via_iam_password(fabric, emulator):
    cfg = {"fabric:endpoint": f"{emulator.url}/fabric", "fabric:iamEndpoint": f"{emulator.url}/fabric",
           "fabric:username": defaults.FABRIC_USERNAME, "fabric:password": defaults.FABRIC_PASSWORD,
           "fabric:domainName": "emulator-domain", "fabric:region": "cn-north-4"}
    p = provider(cfg)
    created = p.create(checked(p, {"workspace_id": WS, "name": "via-token", "versions": [V1]}))
    assert p.read(created.id, created.outs).id == created.id
    p.delete(created.id, created.outs)


def test_bad_iam_password_is_one_line_without_the_password(fabric, emulator):
    cfg = {"fabric:endpoint": f"{emulator.url}/fabric", "fabric:iamEndpoint": f"{emulator.url}/fabric",
           "fabric:username": "emulator-user", "fabric:password": "Wrong-Password-123",
           "fabric:domainName": "emulator-domain", "fabric:region": "cn-north-4"}
    p = provider(cfg)
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, {"workspace_id": WS, "name": "nope", "versions": [V1]}))
    text = str(err.value)
    assert "401" in text and "Wrong-Password" not in text and "\n" not in text


@pytest.mark.parametrize("props, prop", [
    ({"workspace_id": WS, "name": "bad/name", "versions": [V1]}, "name"),
    ({"workspace_id": WS, "name": "m", "versions": []}, "versions"),
    ({"workspace_id": WS, "name": "m", "versions": [V1, V1]}, "versions"),
    ({"workspace_id": WS, "name": "m", "versions": [V1], "current_version": "v9"}, "current_version"),
    ({"workspace_id": WS, "name": "m", "versions": [{**V1, "model_path": "s3://x/y"}]}, "versions"),
])
def test_check_failures(fabric, props, prop):  # fabric: fills V1's base model type
    assert prop in {f.property for f in DynamicProvider(ModelHandler).check({}, props).failures}


def test_changing_an_existing_version_is_refused(fabric):
    p = provider(fabric)
    inputs = checked(p, {"workspace_id": WS, "name": "frozen", "versions": [V1]})
    created = p.create(inputs)
    changed = checked(p, {**inputs, "versions": [{**V1, "model_path": "obs://models/llm/other/"}]})
    with pytest.raises(ResourceError) as err:
        p.update(created.id, created.outs, changed)
    assert "immutable" in str(err.value)
    p.delete(created.id, created.outs)


def test_changing_an_existing_version_fails_at_preview():
    p = DynamicProvider(ModelHandler)
    olds = p.check({}, {"workspace_id": WS, "name": "m", "versions": [{**V1, "base_model_type": "QWEN2_5_7B"}]}).inputs
    news = {**olds, "versions": [{**olds["versions"][0], "model_path": "obs://models/llm/other/"}]}
    failures = p.check(olds, news).failures
    assert [(f.property, "immutable" in f.reason) for f in failures] == [("versions", True)]
    # adding a version next to the unchanged one is fine
    grown = {**olds, "versions": [olds["versions"][0], {**olds["versions"][0], "name": "v2"}], "current_version": "v2"}
    assert p.check(olds, grown).failures == []
