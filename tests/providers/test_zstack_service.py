"""zstack:ModelService (a definition only) and the Model's full inventory, through the provider
methods against the emulator over HTTP: lifecycle, bindings from a Model, import, in-place updates
that use the job's result (no follow-up GET), classifications."""

from __future__ import annotations

import pytest

from providers.core import ResourceError
from providers.zstack.model import ModelHandler
from providers.zstack.model_center import ModelCenterHandler
from providers.zstack.model_service import ModelServiceHandler
from tests.providers.support import checked
from tests.providers.support import provider as configured
from tests.providers.test_zstack_lifecycle import (
    CENTER,
    POLLED_JOB_S,
    QUICK_JOB_S,
    model_props,
    service_props,
    session_config,
)


@pytest.fixture
def zstack(emulator):
    emulator.reset("zstack")
    emulator.settings("zstack", job_delay_s=QUICK_JOB_S)
    yield session_config(emulator)
    left = {k: v for k, v in emulator.objects("zstack").items()
            if k in ("model", "model_center", "model_service") and v}
    assert left == {}


def sent(spy, method: str, fragment: str) -> list:
    return [c.args[0] for c in spy.call_args_list if c.args[0].method == method and fragment in c.args[0].url.path]


def test_model_service_lifecycle_and_bindings(zstack, emulator, mocker):
    centers = configured(ModelCenterHandler, zstack)
    center = centers.create(checked(centers, CENTER))
    services = configured(ModelServiceHandler, zstack)
    s_in = checked(services, service_props(center.id, description="first", model_uuids=[]))
    assert s_in["type"] == "Endpoint" and s_in["system"] is False  # the API's defaults, canonical in check
    svc = services.create(s_in)
    doc = emulator.objects("zstack")["model_service"][svc.id]
    assert doc["yaml"] == service_props(center.id)["yaml"] and doc["source"] == "HuggingFace"
    assert doc["requestMemory"] == 34359738368 and doc["type"] == "Endpoint"
    read = services.read(svc.id, svc.outs)
    assert read.inputs == s_in
    assert services.diff(svc.id, read.outs, s_in).changes is False

    # a Model names the service; the service shows the binding, and refuses a Permissive delete
    models = configured(ModelHandler, zstack)
    model = models.create(checked(models, model_props(center.id, model_service_uuids=[svc.id],
                                                      default_model_service_uuid=svc.id)))
    assert [(r["modelServiceUuid"], r["isDefault"]) for r in model.outs["model_service_refs"]] == [(svc.id, True)]
    refs = services.read(svc.id, svc.outs).outs["model_service_refs"]
    assert [(r["modelUuid"], r["modelServiceUuid"]) for r in refs] == [(model.id, svc.id)]
    with pytest.raises(ResourceError) as err:
        services.delete(svc.id, svc.outs)
    assert "SYS.1006" in str(err.value)

    # in place: yaml, cpu, type, description cleared; one PUT and its job's result, no follow-up GET
    news = checked(services, {**service_props(center.id), "yaml": "kind: Service\n", "request_cpu": 16,
                              "type": "App", "description": None})
    diff = services.diff(svc.id, svc.outs, news)
    assert diff.changes is True and diff.replaces == []
    spy = mocker.spy(services.impl.client.http, "send")
    outs = services.update(svc.id, svc.outs, news).outs
    assert len(sent(spy, "PUT", "/v1/ai/model-services/")) == 1
    assert sent(spy, "GET", "/v1/ai/model-services") == []  # the job's result, not a query
    doc = emulator.objects("zstack")["model_service"][svc.id]
    assert (doc["yaml"], doc["requestCpu"], doc["type"], doc["description"]) == ("kind: Service\n", 16, "App", "")
    assert outs["last_op_date"] and services.read(svc.id, outs).inputs == news

    # create-time only fields replace
    for change in ({"source": "Bentoml"}, {"install_path": "/other"}, {"framework": "sglang"},
                   {"model_center_uuid": "a" * 32}, {"system": True}):
        assert services.diff(svc.id, outs, checked(services, {**news, **change})).replaces == list(change)

    # import from the id alone: the visible fields come back and preview clean
    found = services.read(svc.id, {})
    assert found.id == svc.id and found.inputs["yaml"] == "kind: Service\n"
    assert services.diff(svc.id, found.outs, news).changes is False

    models.delete(model.id, model.outs)
    services.delete(svc.id, outs)
    assert services.read(svc.id, outs).id is None
    centers.delete(center.id, center.outs)


def test_a_model_naming_a_missing_service_fails_at_create(zstack, emulator):
    emulator.settings("zstack", job_delay_s=POLLED_JOB_S)  # the job fails after a paused second poll
    centers = configured(ModelCenterHandler, zstack)
    center = centers.create(checked(centers, CENTER))
    models = configured(ModelHandler, zstack)
    with pytest.raises(ResourceError) as err:
        models.create(checked(models, model_props(center.id, model_service_uuids=["d" * 32],
                                                  default_model_service_uuid=None)))
    assert f"SYS.1003: Resource not found: Unable to find ModelServiceVO[uuid:{'d' * 32}]" in str(err.value)
    centers.delete(center.id, center.outs)


@pytest.mark.parametrize("props, prop, words", [
    ({"type": "Batch"}, "type", "'Endpoint', 'FineTune', 'ModelEval' or 'App'"),
    ({"source": "Git"}, "source", "'Other', 'Bentoml' or 'HuggingFace'"),
    ({"request_cpu": 0}, "request_cpu", "greater than or equal to 1"),
    ({"yaml": ""}, "yaml", "at least 1 character"),
    ({"start_command": None}, "start_command", "valid string"),
])
def test_bad_service_input_names_the_property(props, prop, words):
    from providers.core import DynamicProvider

    failures = {f.property: f.reason for f in
                DynamicProvider(ModelServiceHandler).check({}, service_props("a" * 32, **props)).failures}
    assert prop in failures and words in failures[prop], failures


def test_model_inventory_in_full_and_classifications(zstack, emulator, mocker):
    centers = configured(ModelCenterHandler, zstack)
    center = centers.create(checked(centers, CENTER))
    models = configured(ModelHandler, zstack)
    props = model_props(center.id, model_service_uuids=[], default_model_service_uuid=None, version="v1.2.0",
                        model_classifications=["chat"])
    m_in = checked(models, props)
    model = models.create(m_in)  # AddModel, then UpdateModel for the classifications
    outs = model.outs
    assert outs["artifact_size_bytes"] == 102400 * 1024 * 1024  # size is MiB (the documented guess)
    assert outs["version_semver"] == "1.2.0" and outs["is_latest_version"] is True
    for key in ("artifact_checksum", "architecture_type", "framework_version", "required_accelerator",
                "pipeline_tag", "extra_gpu_mem_request"):
        assert key in outs
    emulator.patch("zstack", "model", model.id, pipelineTag="text-generation", architectureType="Qwen2",
                   extraGpuMemRequest=4294967296)
    read = models.read(model.id, outs)
    assert read.inputs == m_in  # classifications read back
    assert (read.outs["pipeline_tag"], read.outs["architecture_type"], read.outs["extra_gpu_mem_request"]) == \
        ("text-generation", "Qwen2", 4294967296)

    news = checked(models, {**props, "model_classifications": ["code", "chat"], "description": "x" * 255})
    assert models.diff(model.id, read.outs, news).replaces == []
    spy = mocker.spy(models.impl.client.http, "send")
    outs = models.update(model.id, read.outs, news).outs
    assert sent(spy, "GET", "/v1/ai/models") == []  # the job's result, not a query
    doc = emulator.objects("zstack")["model"][model.id]
    assert sorted(doc["modelClassifications"]) == ["chat", "code"] and len(doc["description"]) == 255
    assert models.read(model.id, outs).inputs == news
    too_long = DynamicProvider_check(ModelHandler, {**props, "description": "x" * 256})
    assert "description" in too_long  # 255 on both sides (UpdateModel's maxLength in the Java SDK)
    models.delete(model.id, outs)
    centers.delete(center.id, center.outs)


def DynamicProvider_check(handler, props) -> dict[str, str]:
    from providers.core import DynamicProvider

    return {f.property: f.reason for f in DynamicProvider(handler).check({}, props).failures}
