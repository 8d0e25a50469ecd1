"""fabric:Model: lost replies, no adoption, half-made creates, an explicit pointer, import reads,
minimal requests. Each defect here failed on the code before it (issue 8.1-8.5, 12.3)."""

from __future__ import annotations

import httpx
import pytest

from providers.core import CreatedButFailed, DynamicProvider, ResourceError
from providers.fabric.model import ModelHandler, ModelInputs, ModelOutputs
from tests.providers.support import V1, WS, checked
from tests.providers.test_fabric_lifecycle import provider

MODELS = r"/v1/workspaces/[^/]+/models"


def v(name: str) -> dict:
    return {**V1, "name": name, "model_path": f"obs://models/llm/{name}/"}


def models_named(emulator, name: str) -> list[dict]:
    return [m for m in emulator.objects("fabric").get("model", {}).values() if m["name"] == name]


def other_stack_makes(cfg, name: str):
    """Someone else (another stack) made a model with this name earlier."""
    other = provider(cfg)
    return other, other.create(checked(other, {"workspace_id": WS, "name": name, "versions": [V1]}))


def test_lost_create_reply_is_recovered_once(fabric, emulator):
    p = provider(fabric)
    emulator.arm_fault("fabric", method="POST", path=MODELS, drop_response=True)
    inputs = checked(p, {"workspace_id": WS, "name": "lost", "description": "d", "versions": [V1, v("v2")],
                         "current_version": "v2"})
    created = p.create(inputs)
    assert [m["id"] for m in models_named(emulator, "lost")] == [created.id]
    assert created.outs["current_version_id"] == created.outs["version_ids"]["v2"]
    assert p.diff(created.id, p.read(created.id, created.outs).outs, inputs).changes is False
    p.delete(created.id, created.outs)


def test_a_namesake_is_refused_with_the_import_command(fabric, emulator):
    other, theirs = other_stack_makes(fabric, "taken")
    p = provider(fabric)
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, {"workspace_id": WS, "name": "taken", "versions": [V1]}))
    text = str(err.value)
    assert f"pulumi import pulumi-python:dynamic/fabric:Model <resource name> {WS}/{theirs.id}" in text
    assert "\n" not in text
    other.delete(theirs.id, theirs.outs)


def test_a_lost_reply_never_adopts_a_namesake(fabric, emulator):
    """Before: after a lost reply the create adopted whatever model had the name."""
    other, theirs = other_stack_makes(fabric, "shared")
    p = provider(fabric)
    emulator.arm_fault("fabric", method="POST", path=MODELS, drop_response=True)
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, {"workspace_id": WS, "name": "shared", "versions": [V1]}))
    assert "import" in str(err.value) and theirs.id in str(err.value)
    assert [m["id"] for m in models_named(emulator, "shared")] == [theirs.id]
    other.delete(theirs.id, theirs.outs)


def test_a_refused_version_leaves_the_model_accounted_for(fabric, emulator):
    """Before: the create deleted the model itself and said nothing about it."""
    p = provider(fabric)
    inputs = checked(p, {"workspace_id": WS, "name": "half", "versions": [V1, {**v("v2"), "base_model_type": "NOPE"}],
                         "current_version": "v1"})
    with pytest.raises(CreatedButFailed) as err:
        p.impl.create(ModelInputs.model_validate(inputs))
    failed = err.value
    assert [m["id"] for m in models_named(emulator, "half")] == [failed.id]
    assert failed.outputs.model_id == failed.id and set(failed.outputs.version_ids) == {"v1"}
    assert failed.id in failed.message and "base_model_type" in failed.message
    failed.cleanup()  # what the stock server runs
    assert models_named(emulator, "half") == []


def test_a_deadline_during_create_is_reported_and_cleanup_waits_for_the_platform(fabric, emulator):
    emulator.settings("fabric", create_delay_s=3)
    p = provider(fabric)
    inputs = ModelInputs.model_validate(checked(p, {"workspace_id": WS, "name": "slow", "versions": [V1],
                                                    "wait_timeout_s": 1}))
    with pytest.raises(CreatedButFailed) as err:
        p.impl.create(inputs)
    assert "deadline" in err.value.message and len(models_named(emulator, "slow")) == 1
    err.value.cleanup()  # the platform refuses deletes while the model is being created: cleanup waits
    assert models_named(emulator, "slow") == []


def test_an_outage_during_the_wait_is_ridden_out(fabric, emulator, mocker):
    p = provider(fabric)
    mocker.patch.object(p.impl.client, "_sleep")
    emulator.arm_fault("fabric", method="GET", path=MODELS, status=503, code="APIG.0503", times=8)
    created = p.create(checked(p, {"workspace_id": WS, "name": "blip", "versions": [V1]}))
    assert [m["id"] for m in models_named(emulator, "blip")] == [created.id]
    p.delete(created.id, created.outs)


def test_lost_reply_of_a_version_add_is_recovered(fabric, emulator):
    p = provider(fabric)
    inputs = checked(p, {"workspace_id": WS, "name": "grow", "versions": [V1]})
    created = p.create(inputs)
    emulator.arm_fault("fabric", method="PUT", path=MODELS + "/[^/]+", drop_response=True)
    news = checked(p, {**inputs, "versions": [V1, v("v2")], "current_version": "v2"})
    outs = p.update(created.id, created.outs, news).outs
    assert set(outs["version_ids"]) == {"v1", "v2"} and len(emulator.objects("fabric")["version"]) == 2
    p.delete(created.id, outs)


def test_the_pointer_is_explicit_with_several_versions(fabric):  # fabric: fills V1's base_model_type
    found = DynamicProvider(ModelHandler).check({}, {"workspace_id": WS, "name": "m", "versions": [V1, v("v2")]})
    assert [f.property for f in found.failures] == ["current_version"]
    assert "required" in found.failures[0].reason
    one = DynamicProvider(ModelHandler).check({}, {"workspace_id": WS, "name": "m", "versions": [V1]})
    assert one.failures == []


def test_empty_description_is_not_a_perpetual_diff(fabric):
    p = provider(fabric)
    inputs = checked(p, {"workspace_id": WS, "name": "blank", "description": "", "versions": [{**V1, "description": ""}]})
    created = p.create(inputs)
    read = p.read(created.id, created.outs)
    assert p.diff(created.id, read.outs, inputs).changes is False
    assert read.inputs["versions"][0]["description"] is None  # the marker is hidden
    p.delete(created.id, created.outs)


def test_read_update_delete_work_from_an_import_id(fabric):
    p = provider(fabric)
    created = p.create(checked(p, {"workspace_id": WS, "name": "imp", "description": "x",
                                   "versions": [V1, v("v2")], "current_version": "v1"}))
    seen = p.impl.read(f"{WS}/{created.id}", ModelInputs.model_construct(), ModelOutputs())
    assert p.impl.read(f"{WS}/{created.id}", None, None) == seen  # the provider server passes None on import
    found = seen.inputs.model_dump()
    assert (found["workspace_id"], found["name"], found["description"], found["current_version"]) == \
        (WS, "imp", "x", "v1")
    assert [x["name"] for x in found["versions"]] == ["v1", "v2"]
    assert seen.outputs.version_ids == created.outs["version_ids"]
    p.delete(f"{WS}/{created.id}", {})
    assert p.read(created.id, created.outs).id is None


def test_minimal_requests(fabric, emulator, mocker):
    """Create with 2 versions: 5 requests (before: 12); moving the pointer: 1 (before: 6)."""
    emulator.settings("fabric", create_delay_s=0, version_delay_s=0)
    p = provider(fabric)
    send = mocker.spy(p.impl.client.http, "send")
    inputs = checked(p, {"workspace_id": WS, "name": "lean", "versions": [V1, v("v2")], "current_version": "v2"})
    created = p.create(inputs)

    def calls() -> list[str]:
        out = [f"{c.args[0].method} {c.args[0].url.path.rsplit('/', 1)[-1]}" for c in send.call_args_list]
        send.reset_mock()
        return out

    assert len(calls()) == 5
    moved = p.update(created.id, created.outs, checked(p, {**inputs, "current_version": "v1"})).outs
    assert calls() == [f"PUT {created.id}"]
    assert moved["current_version_id"] == moved["version_ids"]["v1"]
    single = p.create(checked(p, {"workspace_id": WS, "name": "lean1", "versions": [V1]}))
    assert len(calls()) == 2  # create, and one look at the list
    p.delete(single.id, single.outs)
    p.delete(created.id, moved)


def test_configuration_names_the_missing_endpoint():
    from providers.core import ConfigError
    from providers.fabric.client import FabricSettings

    with pytest.raises(ConfigError) as err:
        FabricSettings.load({"fabric:accessKey": "AK", "fabric:secretKey": "SK"}, environ={})
    assert "fabric:endpoint" in str(err.value) and "aimodels:emulator" in str(err.value)
    local = FabricSettings.load({"fabric:accessKey": "AK", "fabric:secretKey": "SK", "aimodels:emulator": "true"},
                                environ={"AIMODELS_EMULATOR_URL": "http://127.0.0.1:9999"})
    assert local.base_url == "http://127.0.0.1:9999/fabric"
    assert httpx.URL(local.base_url).port == 9999


def test_a_lost_reply_to_a_refused_create_ends_with_the_platforms_reason(fabric, emulator):
    """The reply lost was a refusal: the lookup finds nothing, the resend is refused again, and
    that refusal is the error (not a vague "no answer"), after one short lookup."""
    p = provider(fabric)
    emulator.arm_fault("fabric", method="POST", path=MODELS, drop_response=True)
    inputs = checked(p, {"workspace_id": WS, "name": "refused", "wait_timeout_s": 2,
                         "versions": [{**V1, "base_model_type": "NOPE"}]})
    with pytest.raises(ResourceError) as err:
        p.create(inputs)
    assert "NOPE" in str(err.value) and "HTTP 400" in str(err.value)
    assert models_named(emulator, "refused") == []


def test_a_create_answered_with_5xx_is_sent_again_at_once(fabric, emulator, mocker):
    """A 5xx made nothing: the resend comes next (before: a lookup waited up to 2 minutes first)."""
    p = provider(fabric)
    send = mocker.spy(p.impl.client.http, "send")
    emulator.arm_fault("fabric", method="POST", path=MODELS, status=503, code="APIG.0503")
    created = p.create(checked(p, {"workspace_id": WS, "name": "again", "versions": [V1]}))
    assert [c.args[0].method for c in send.call_args_list][:2] == ["POST", "POST"]
    assert [m["id"] for m in models_named(emulator, "again")] == [created.id]
    p.delete(created.id, created.outs)
