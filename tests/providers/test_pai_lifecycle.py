"""pai:Model and pai:ModelVersion lifecycles through the provider methods, over signed HTTP to the emulator."""

from __future__ import annotations

import httpx
import pytest

from providers.core import DynamicProvider, ResourceError
from providers.pai.auth import AcsV3Auth
from providers.pai.model import ModelHandler
from providers.pai.model_version import ModelVersionHandler
from tests.providers.support import AK, SK, checked, provider


def vendor(emulator) -> httpx.Client:
    """Someone changing the registry behind Pulumi's back, with their own signed client."""
    return httpx.Client(base_url=f"{emulator.url}/pai", auth=AcsV3Auth(AK, SK))


def test_model_lifecycle_with_labels_and_drift(pai, emulator):
    p = provider(ModelHandler, pai)
    inputs = checked(p, {"name": "sd-base", "domain": "aigc", "task": "text-to-image-synthesis",
                         "labels": {"team": "imaging", "stage": "dev"}, "parameter_size": 860})
    created = p.create(inputs)
    model_id = created.id
    assert model_id.startswith("model-") and created.outs["model_id"] == model_id
    read = p.read(model_id, created.outs)
    assert read.inputs == inputs
    assert p.diff(model_id, {**read.outs, "__provider": "x"}, inputs).changes is False

    news = checked(p, {**inputs, "description": "base weights", "labels": {"team": "imaging", "stage": "prod"}})
    diff = p.diff(model_id, created.outs, news)
    assert diff.changes is True and diff.replaces == []
    outs = p.update(model_id, created.outs, news).outs
    assert outs["labels"] == {"team": "imaging", "stage": "prod"} and outs["description"] == "base weights"
    model = vendor(emulator).get(f"/api/v1/models/{model_id}", extensions={"acs_action": "GetModel"}).json()
    labels = {l["Key"]: l["Value"] for l in model["Labels"]}
    assert labels.pop("aimodels-op").startswith("aim-")  # the create's handle stays on the platform, hidden from reads
    assert labels == {"team": "imaging", "stage": "prod"}

    assert p.diff(model_id, outs, checked(p, {**news, "workspace_id": "200002"})).replaces == ["workspace_id"]

    with vendor(emulator) as api:  # drift: a label removed out of band
        api.delete(f"/api/v1/models/{model_id}/labels", params={"LabelKeys": "stage"},
                   extensions={"acs_action": "DeleteModelLabels"}).raise_for_status()
    drifted = p.read(model_id, outs)
    assert drifted.inputs["labels"] == {"team": "imaging"}
    assert p.diff(model_id, drifted.outs, news).changes is True

    p.delete(model_id, outs)
    assert p.read(model_id, outs).id is None
    p.delete(model_id, outs)  # gone already: fine


def test_model_version_lifecycle(pai, emulator):
    models = provider(ModelHandler, pai)
    model = models.create(checked(models, {"name": "llm"}))
    p = provider(ModelVersionHandler, pai)
    inputs = checked(p, {"model_id": model.id, "version_name": "1.0.0", "uri": "oss://bucket.oss-cn-hangzhou.aliyuncs.com/llm/1.0.0/",
                         "format_type": "SavedModel", "framework_type": "TensorFlow", "approval_status": "Pending",
                         "labels": {"quality": "candidate"}, "inference_spec": {"processor": "tensorflow_gpu_1.12"}})
    created = p.create(inputs)
    assert created.id == f"{model.id}:1.0.0"
    assert p.diff(created.id, p.read(created.id, created.outs).outs, inputs).changes is False

    approved = checked(p, {**inputs, "approval_status": "Approved", "labels": {"quality": "approved"}})
    assert p.diff(created.id, created.outs, approved).replaces == []
    outs = p.update(created.id, created.outs, approved).outs
    again = p.read(created.id, outs)
    assert again.inputs["approval_status"] == "Approved" and again.inputs["labels"] == {"quality": "approved"}

    moved = checked(p, {**approved, "uri": "oss://bucket.oss-cn-hangzhou.aliyuncs.com/llm/1.0.1/"})
    assert p.diff(created.id, outs, moved).replaces == ["uri"]

    # the model's latest version is visible from the model
    assert models.read(model.id, model.outs).outs["latest_version"] == "1.0.0"

    p.delete(created.id, outs)
    assert p.read(created.id, outs).id is None
    models.delete(model.id, model.outs)


def test_version_name_defaults_to_the_platform_choice(pai):
    models = provider(ModelHandler, pai)
    model = models.create(checked(models, {"name": "auto"}))
    p = provider(ModelVersionHandler, pai)
    inputs = checked(p, {"model_id": model.id, "uri": "https://example.com/weights.bin"})
    created = p.create(inputs)
    assert created.id == f"{model.id}:0.1.0"
    assert p.diff(created.id, p.read(created.id, created.outs).outs, inputs).changes is False
    p.delete(created.id, created.outs)
    models.delete(model.id, model.outs)


@pytest.mark.parametrize("props, prop", [
    ({"name": ""}, "name"),
    ({"name": "x" * 128}, "name"),
    ({"name": "m", "accessibility": "WORLD"}, "accessibility"),
    ({"name": "m", "labels": {"a=b": "c"}}, "labels"),
    ({"name": "m", "labels": {"k": "v,w"}}, "labels"),
])
def test_model_check_failures(props, prop):
    assert prop in {f.property for f in DynamicProvider(ModelHandler).check({}, props).failures}


@pytest.mark.parametrize("props, prop", [
    ({"model_id": "m", "uri": "ftp://x"}, "uri"),
    ({"model_id": "m", "uri": "oss://b/p", "version_name": "v1"}, "version_name"),
    ({"model_id": "m", "uri": "oss://b/p", "format_type": "Pickle"}, "format_type"),
    ({"uri": "oss://b/p"}, "model_id"),
])
def test_version_check_failures(props, prop):
    assert prop in {f.property for f in DynamicProvider(ModelVersionHandler).check({}, props).failures}


def test_bad_secret_gives_vendor_code_and_no_secret(pai):
    p = provider(ModelHandler, {**pai, "pai:accessKeySecret": "WrongSecret0000000000000000000000"})
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, {"name": "x"}))
    text = str(err.value)
    assert "SignatureDoesNotMatch" in text and "HTTP 400" in text and "POST /pai/api/v1/models" in text
    assert "WrongSecret" not in text and "\n" not in text


def test_missing_model_is_not_found_by_code(pai):
    p = provider(ModelVersionHandler, pai)
    gone = p.read("model-doesnotexist00000:1.0.0", {"model_id": "model-doesnotexist00000", "uri": "oss://b/p"})
    assert gone.id is None


def test_throttling_is_retried(pai, emulator, mocker):
    p = provider(ModelHandler, pai)
    created = p.create(checked(p, {"name": "retry"}))
    mocker.patch.object(p.impl.client, "_sleep")
    send = mocker.spy(p.impl.client.http, "send")
    emulator.arm_fault("pai", method="GET", path="/api/v1/models/.*", status=429, code="Throttling.User",
                       message="Request was denied due to user flow control.", times=1)
    assert p.read(created.id, created.outs).id == created.id
    assert send.call_count == 2
    # each attempt was signed afresh: a replayed nonce would have been refused
    nonces = {c.args[0].headers["x-acs-signature-nonce"] for c in send.call_args_list}
    assert len(nonces) == 2
    p.delete(created.id, created.outs)
