"""PAI: lost create replies, no adoption, delete-first replacement, import reads, minimal requests.

Each test here failed on the code before it (issue 8.1, 8.3, 8.4, 8.6 and 12.3)."""

from __future__ import annotations

import pytest

from providers.core import DynamicProvider, ResourceError
from providers.pai.model import ModelHandler, ModelInputs, ModelOutputs
from providers.pai.model_version import ModelVersionHandler, ModelVersionInputs, ModelVersionOutputs
from tests.providers.support import checked, provider
from tests.providers.test_pai_lifecycle import vendor

URI = "oss://bucket.oss-cn-hangzhou.aliyuncs.com/llm/1.0.0/"


def models_named(emulator, name: str) -> list[dict]:
    return [m for m in emulator.objects("pai").get("model", {}).values() if m.get("ModelName") == name]


def versions_of(emulator) -> list[dict]:
    return list(emulator.objects("pai").get("version", {}).values())


@pytest.fixture
def sends(mocker):
    """Count the HTTP requests a provider's client puts on the wire."""
    def spy(p: DynamicProvider):
        return mocker.spy(p.impl.client.http, "send")
    return spy


def make_model(pai, name="llm"):
    p = provider(ModelHandler, pai)
    return p, p.create(checked(p, {"name": name}))


def test_lost_version_create_reply_is_recovered_once(pai, emulator):
    models, model = make_model(pai)
    p = provider(ModelVersionHandler, pai)
    inputs = checked(p, {"model_id": model.id, "version_name": "1.0.0", "uri": URI})
    emulator.arm_fault("pai", method="POST", path=r"/api/v1/models/[^/]+/versions", drop_response=True)
    created = p.create(inputs)  # before: failed, and every later create said "Version 1.0.0 already exists"
    assert created.id == f"{model.id}:1.0.0"
    assert len(versions_of(emulator)) == 1
    assert p.diff(created.id, p.read(created.id, created.outs).outs, inputs).changes is False
    p.delete(created.id, created.outs)
    models.delete(model.id, model.outs)


def test_lost_version_create_reply_with_a_platform_chosen_name(pai, emulator):
    models, model = make_model(pai)
    p = provider(ModelVersionHandler, pai)
    emulator.arm_fault("pai", method="POST", path=r"/api/v1/models/[^/]+/versions", drop_response=True)
    created = p.create(checked(p, {"model_id": model.id, "uri": URI}))
    assert created.id == f"{model.id}:0.1.0" and len(versions_of(emulator)) == 1
    models.delete(model.id, model.outs)


def test_lost_model_create_reply_never_adopts_a_namesake(pai, emulator):
    """Names are not unique: the old code adopted a single namesake, or failed with two."""
    with vendor(emulator) as api:
        older = api.post("/api/v1/models", json={"ModelName": "shared"},
                         extensions={"acs_action": "CreateModel"}).json()["ModelId"]
    p = provider(ModelHandler, pai)
    emulator.arm_fault("pai", method="POST", path="/api/v1/models", drop_response=True)
    created = p.create(checked(p, {"name": "shared"}))
    assert created.id != older
    assert sorted(m["ModelId"] for m in models_named(emulator, "shared")) == sorted([older, created.id])
    p.delete(created.id, created.outs)
    p.delete(older, {"name": "shared"})


def test_create_answered_with_5xx_is_looked_up_then_sent_again(pai, emulator, mocker):
    p = provider(ModelHandler, pai)
    mocker.patch.object(p.impl.client, "_sleep")
    emulator.arm_fault("pai", method="POST", path="/api/v1/models", status=503, code="ServiceUnavailable")
    created = p.create(checked(p, {"name": "flaky"}))  # before: the 503 failed the create
    assert [m["ModelId"] for m in models_named(emulator, "flaky")] == [created.id]
    p.delete(created.id, created.outs)


def test_lookup_after_a_lost_reply_rides_out_an_outage(pai, emulator, mocker):
    mocker.patch("providers.core.runtime.sleep")
    models, model = make_model(pai)
    p = provider(ModelVersionHandler, pai)
    mocker.patch.object(p.impl.client, "_sleep")
    emulator.arm_fault("pai", method="POST", path=r"/api/v1/models/[^/]+/versions", drop_response=True)
    emulator.arm_fault("pai", method="GET", path=r"/api/v1/models/[^/]+/versions", status=503, times=6)
    created = p.create(checked(p, {"model_id": model.id, "version_name": "2.0.0", "uri": URI}))
    assert created.id.endswith(":2.0.0") and len(versions_of(emulator)) == 1
    models.delete(model.id, model.outs)


def test_an_existing_version_is_refused_with_the_import_command(pai, emulator):
    models, model = make_model(pai)
    with vendor(emulator) as api:
        api.post(f"/api/v1/models/{model.id}/versions", json={"VersionName": "1.0.0", "Uri": URI},
                 extensions={"acs_action": "CreateModelVersion"}).raise_for_status()
    p = provider(ModelVersionHandler, pai)
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, {"model_id": model.id, "version_name": "1.0.0", "uri": URI}))
    text = str(err.value)
    assert f"pulumi import pulumi-python:dynamic/pai:ModelVersion <resource name> {model.id}:1.0.0" in text
    assert "\n" not in text
    models.delete(model.id, model.outs)


def test_a_new_artefact_replaces_the_version_deleting_first():
    p = DynamicProvider(ModelVersionHandler)
    olds = checked(p, {"model_id": "model-x", "version_name": "1.0.0", "uri": URI})
    diff = p.diff("model-x:1.0.0", olds, checked(p, {**olds, "uri": URI.replace("1.0.0", "1.0.1")}))
    assert diff.replaces == ["uri"] and diff.delete_before_replace is True


def test_reads_work_from_the_id_alone(pai):
    """What an import does: read with no prior inputs; every input comes back as found."""
    models = provider(ModelHandler, pai)
    given = checked(models, {"name": "imported", "domain": "aigc", "labels": {"team": "x"}, "extra_info": {"a": 1}})
    model = models.create(given)
    seen = models.impl.read(model.id, ModelInputs.model_construct(), ModelOutputs())
    assert models.impl.read(model.id, None, None) == seen  # the provider server passes None on import
    found = seen.inputs.model_dump()
    assert {k: found[k] for k in ("name", "domain", "labels", "extra_info")} == \
        {"name": "imported", "domain": "aigc", "labels": {"team": "x"}, "extra_info": {"a": 1}}
    assert found["workspace_id"] == "100001" and seen.outputs.model_id == model.id

    p = provider(ModelVersionHandler, pai)
    version = p.create(checked(p, {"model_id": model.id, "version_name": "1.2.0", "uri": URI, "format_type": "ONNX",
                                   "framework_type": "Pytorch", "approval_status": "Approved"}))
    seen = p.impl.read(version.id, ModelVersionInputs.model_construct(), ModelVersionOutputs()).inputs.model_dump()
    assert p.impl.read(version.id, None, None).inputs.model_dump() == seen
    assert {k: seen[k] for k in ("model_id", "version_name", "uri", "format_type", "framework_type",
                                 "approval_status")} == {"model_id": model.id, "version_name": "1.2.0", "uri": URI,
                                                          "format_type": "ONNX", "framework_type": "Pytorch",
                                                          "approval_status": "Approved"}
    models.delete(model.id, model.outs)


def test_artefact_drift_is_seen_by_refresh(pai, emulator):
    models, model = make_model(pai)
    p = provider(ModelVersionHandler, pai)
    inputs = checked(p, {"model_id": model.id, "version_name": "1.0.0", "uri": URI, "format_type": "ONNX"})
    created = p.create(inputs)
    [vid] = emulator.objects("pai")["version"]
    emulator.patch("pai", "version", vid, FormatType="SavedModel")
    read = p.read(created.id, created.outs)
    assert read.inputs["format_type"] == "SavedModel"  # before: the declared value was echoed back
    assert p.diff(created.id, read.outs, inputs).replaces == ["format_type"]
    models.delete(model.id, model.outs)


def test_empty_text_is_not_a_perpetual_diff(pai):
    p = provider(ModelHandler, pai)
    inputs = checked(p, {"name": "blank", "description": ""})
    created = p.create(inputs)
    read = p.read(created.id, created.outs)
    assert p.diff(created.id, read.outs, checked(p, {"name": "blank", "description": ""})).changes is False
    cleared = checked(p, {"name": "blank"})
    described = p.update(created.id, read.outs, checked(p, {"name": "blank", "description": "d"})).outs
    outs = p.update(created.id, described, cleared).outs
    assert p.diff(created.id, p.read(created.id, outs).outs, cleared).changes is False
    p.delete(created.id, outs)


def test_the_marker_label_is_reserved():
    failures = DynamicProvider(ModelHandler).check({}, {"name": "m", "labels": {"aimodels-op": "x"}}).failures
    assert [f.property for f in failures] == ["labels"] and "reserved" in failures[0].reason


def test_minimal_requests(pai, sends):
    """Create 1 request, label-only change only the label routes (before: 2 and 4)."""
    p = provider(ModelHandler, pai)
    inputs = checked(p, {"name": "counted", "labels": {"team": "a"}})
    send = sends(p)
    created = p.create(inputs)
    assert send.call_count == 1
    send.reset_mock()
    relabelled = checked(p, {**inputs, "labels": {"team": "a", "stage": "dev"}})
    outs = p.update(created.id, created.outs, relabelled).outs
    assert [c.args[0].headers["x-acs-action"] for c in send.call_args_list] == ["CreateModelLabels"]
    send.reset_mock()
    outs = p.update(created.id, outs, checked(p, {**relabelled, "labels": {"team": "b"}})).outs
    assert sorted(c.args[0].headers["x-acs-action"] for c in send.call_args_list) == \
        ["CreateModelLabels", "DeleteModelLabels"]
    send.reset_mock()
    outs = p.update(created.id, outs, checked(p, {**relabelled, "labels": {"team": "b"}, "task": "t"})).outs
    assert [c.args[0].headers["x-acs-action"] for c in send.call_args_list] == ["UpdateModel"]

    versions = provider(ModelVersionHandler, pai)
    assert versions.impl.client is p.impl.client  # one client per settings: the spy sees both
    vsend = send
    vsend.reset_mock()
    version = versions.create(checked(versions, {"model_id": created.id, "uri": URI}))
    assert vsend.call_count == 1
    vsend.reset_mock()
    vin = checked(versions, {"model_id": created.id, "uri": URI, "labels": {"q": "ok"}})
    versions.update(version.id, version.outs, vin)
    assert [c.args[0].headers["x-acs-action"] for c in vsend.call_args_list] == ["CreateModelVersionLabels"]
    p.delete(created.id, outs)
