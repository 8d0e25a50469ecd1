"""zstack:ModelCenter and zstack:Model through the provider methods, against the emulator over HTTP,
with session login and with AccessKey signing; bad input at preview; serialization."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest
from pulumi.dynamic import Config
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import Unknown

from emulator import defaults
from providers.core import DynamicProvider, ResourceError
from providers.zstack.model import ModelHandler
from providers.zstack.model_center import ModelCenterHandler
from providers.zstack.model_service import ModelServiceHandler
from tests.providers.support import checked
from tests.providers.support import provider as configured

CENTER = {"name": "mc-1", "url": "192.168.10.12:/ai/model_center", "management_ip": "192.168.10.12",
          "management_port": 8989, "description": "first center", "wait_timeout_s": 60}


# Emulator job delays. QUICK_JOB_S: the provider's first poll (right after the 202) already finds the
# job finished, so a test goes through the job path (202, location, one poll) without the wait's
# 0.5 s pause before a second poll. POLLED_JOB_S: the first poll sees the job running and the wait
# pauses; at least one test per file sets it, so that path stays covered (the slow-job tests in
# test_zstack_errors.py set longer delays themselves).
QUICK_JOB_S = 0.001
POLLED_JOB_S = 0.05


def session_config(emulator, **extra: str) -> dict[str, str]:
    return {"zstack:endpoint": f"{emulator.url}/zstack", "zstack:accountName": defaults.ZSTACK_ACCOUNT,
            "zstack:accountPassword": defaults.ZSTACK_PASSWORD, **extra}


def access_key_config(emulator) -> dict[str, str]:
    return {"zstack:endpoint": f"{emulator.url}/zstack", "zstack:accessKeyId": defaults.ZSTACK_ACCESS_KEY_ID,
            "zstack:accessKeySecret": defaults.ZSTACK_ACCESS_KEY_SECRET}


@pytest.fixture
def zstack(emulator):
    emulator.reset("zstack")
    emulator.settings("zstack", job_delay_s=QUICK_JOB_S)
    yield session_config(emulator)
    left = {k: v for k, v in emulator.objects("zstack").items()
            if k in ("model", "model_center", "model_service") and v}
    assert left == {}


SERVICES = ("c" * 32, "b" * 32)  # the services model_props binds (created with these resource_uuids)


def service_props(center_uuid: str, **extra) -> dict:
    return {"name": "qwen-vllm", "yaml": "apiVersion: v1\nkind: Service\nspec: {port: 8000}\n",
            "model_center_uuid": center_uuid, "request_cpu": 8, "request_memory": 34359738368,
            "install_path": "192.168.10.12:/ai/model_center/services/vllm", "start_command": "vllm serve",
            "source": "HuggingFace", "framework": "vLLM", "python_version": "3.10", "wait_timeout_s": 60, **extra}


def make_services(config: dict[str, str], center_uuid: str) -> tuple:
    p = configured(ModelServiceHandler, config)
    return p, [p.create(checked(p, service_props(center_uuid, name=f"svc-{u[0]}", resource_uuid=u)))
               for u in SERVICES]


def model_props(center_uuid: str, **extra) -> dict:
    return {"name": "Qwen 1.5 32B", "install_path": "192.168.10.12:/ai/model_center/Qwen_1.5_23B",
            "model_center_uuid": center_uuid, "description": "This is qwen 1.5 32B ai model",
            "parameters": "model parameters", "logo": "bG9nbw==", "vendor": "Alibaba",
            "introduction": "This is a md5 format string", "size": 102400, "version": "CustomizeVersion",
            "token": "download-token-123", "recommended_gpu_num": "2", "share_mode": "Public",
            "system_tags": ["ai::purpose::chat"], "user_tags": ["team-a"], "wait_timeout_s": 60,
            "model_service_uuids": ["c" * 32, "b" * 32], "default_model_service_uuid": "c" * 32, **extra}


def test_model_center_and_model_lifecycle(zstack, emulator):
    centers = configured(ModelCenterHandler, zstack)
    c_inputs = checked(centers, CENTER)
    center = centers.create(c_inputs)
    assert len(center.id) == 32 and center.outs["status"] == "Connected" and center.outs["uuid"] == center.id
    stored = emulator.objects("zstack")["model_center"][center.id]
    assert stored["managementPort"] == 8989 and stored["createDate"].endswith(("AM", "PM"))
    read = centers.read(center.id, center.outs)
    assert read.inputs == c_inputs
    assert centers.diff(center.id, {**read.outs, "__provider": "x"}, c_inputs).changes is False

    services, made = make_services(zstack, center.id)
    models = configured(ModelHandler, zstack)
    m_inputs = checked(models, model_props(center.id))
    model = models.create(m_inputs)
    doc = emulator.objects("zstack")["model"][model.id]
    assert doc["_token"] == "download-token-123" and doc["_systemTags"] == ["ai::purpose::chat"]
    assert doc["_shareMode"] == "Public" and doc["recommendedGpuNum"] == [2] and doc["size"] == 102400
    assert model.outs["model_type"] == "Custom"
    assert sorted(r["modelServiceUuid"] for r in model.outs["model_service_refs"]) == ["b" * 32, "c" * 32]
    read = models.read(model.id, model.outs)
    assert read.inputs == m_inputs  # write-only token, tags and share mode are kept from state
    assert models.diff(model.id, read.outs, m_inputs).changes is False

    # in place: description, vendor, GPU hints; clearing parameters
    news = checked(models, {**model_props(center.id), "description": "v2", "recommended_gpu_num": "1,2",
                            "parameters": None})
    diff = models.diff(model.id, model.outs, news)
    assert diff.changes is True and diff.replaces == []
    outs = models.update(model.id, model.outs, news).outs
    doc = emulator.objects("zstack")["model"][model.id]
    assert doc["description"] == "v2" and doc["recommendedGpuNum"] == [1, 2] and doc["parameters"] == ""
    assert models.diff(model.id, models.read(model.id, outs).outs, news).changes is False

    # create-time only fields replace
    for change in ({"size": 1}, {"version": "v9"}, {"token": "other"}, {"user_tags": ["b"]}):
        assert models.diff(model.id, outs, checked(models, {**news, **change})).replaces == list(change)

    # drift: changed and then deleted behind Pulumi's back
    emulator.patch("zstack", "model", model.id, name="renamed")
    drifted = models.read(model.id, outs)
    assert drifted.inputs["name"] == "renamed"
    assert models.diff(model.id, drifted.outs, news).changes is True

    # the model center changes in place too
    c_news = checked(centers, {**CENTER, "management_port": 9000, "description": None})
    assert centers.diff(center.id, center.outs, c_news).replaces == []
    c_outs = centers.update(center.id, center.outs, c_news).outs
    assert emulator.objects("zstack")["model_center"][center.id]["managementPort"] == 9000
    assert centers.read(center.id, c_outs).inputs == c_news
    zoned = checked(centers, {**CENTER, "zone_uuid": "a" * 32})
    assert centers.diff(center.id, c_outs, zoned).replaces == ["zone_uuid"]

    models.delete(model.id, outs)
    assert models.read(model.id, outs).id is None
    models.delete(model.id, outs)  # already gone: fine
    for svc in made:
        services.delete(svc.id, svc.outs)
    centers.delete(center.id, c_outs)
    assert centers.read(center.id, c_outs).id is None


def test_access_key_auth_and_chosen_uuid(zstack, emulator):
    emulator.settings("zstack", job_delay_s=POLLED_JOB_S)  # signed job polls, with the wait's pause between
    centers = configured(ModelCenterHandler, access_key_config(emulator))
    uid = "0123456789abcdef0123456789abcdef"
    center = centers.create(checked(centers, {**CENTER, "resource_uuid": uid}))
    assert center.id == uid
    assert centers.read(uid, center.outs).id == uid
    centers.delete(uid, center.outs)


def test_permissive_delete_refuses_a_center_with_models(zstack, emulator):
    centers = configured(ModelCenterHandler, zstack)
    center = centers.create(checked(centers, CENTER))
    make_services(zstack, center.id)
    models = configured(ModelHandler, zstack)
    model = models.create(checked(models, model_props(center.id)))
    with pytest.raises(ResourceError) as err:
        centers.delete(center.id, center.outs)
    text = str(err.value)
    assert "SYS.1006" in text and "deleteMode=Enforcing" in text and "\n" not in text
    enforcing = checked(centers, {**CENTER, "delete_mode": "Enforcing"})
    centers.delete(center.id, {**center.outs, **enforcing})
    assert models.read(model.id, model.outs).id is None


def test_query_pages_through_everything(zstack, emulator):
    p = configured(ModelCenterHandler, zstack)
    made = [p.create(checked(p, {**CENTER, "name": f"mc-{i}"})) for i in range(3)]
    client = p.impl.client
    names = [c["name"] for c in client.query_all("QueryModelCenter", "/v1/ai/model-centers", page_size=2)]
    assert names == ["mc-0", "mc-1", "mc-2"]
    assert [c["name"] for c in client.query_all("QueryModelCenter", "/v1/ai/model-centers", "name?=mc-0,mc-2",
                                                page_size=1)] == ["mc-0", "mc-2"]
    for c in made:
        p.delete(c.id, c.outs)


def test_direct_reply_without_a_job(zstack, emulator):
    emulator.settings("zstack", job_delay_s=0)
    centers = configured(ModelCenterHandler, zstack)
    center = centers.create(checked(centers, CENTER))
    assert center.outs["status"] == "Connected"
    centers.delete(center.id, center.outs)


# -- bad input, named at preview ---------------------------------------------------------------
U = "a" * 32


@pytest.mark.parametrize("handler, props, prop, words", [
    (ModelCenterHandler, {**CENTER, "management_ip": "not-an-ip"}, "management_ip", "not an IP address"),
    (ModelCenterHandler, {**CENTER, "management_port": 0}, "management_port", "greater than or equal to 1"),
    (ModelCenterHandler, {**CENTER, "zone_uuid": "ZONE-1"}, "zone_uuid", "should match pattern"),
    (ModelCenterHandler, {k: v for k, v in CENTER.items() if k != "url"}, "url", "is required"),
    (ModelCenterHandler, {**CENTER, "delete_mode": "Force"}, "delete_mode", "'Permissive' or 'Enforcing'"),
    (ModelHandler, model_props(U, share_mode="Private"), "share_mode", "'Public'"),
    (ModelHandler, model_props(U, recommended_gpu_num="two"), "recommended_gpu_num", "should match pattern"),
    (ModelHandler, model_props(U, gpu_constraint_description="x" * 513), "gpu_constraint_description",
     "at most 512 characters"),
    (ModelHandler, model_props("uuid"), "model_center_uuid", "should match pattern"),
    (ModelHandler, model_props(U, size=-1), "size", "greater than or equal to 0"),
    (ModelHandler, model_props(U, installPath="x"), "installPath", "is not a property"),
    (ModelHandler, {**model_props(U), "name": ""}, "name", "at least 1 character"),
])
def test_bad_input_names_the_property(handler, props, prop, words):
    failures = {f.property: f.reason for f in DynamicProvider(handler).check({}, props).failures}
    assert prop in failures, failures
    assert words in failures[prop]


def test_a_pinned_uuid_refuses_a_replacement_at_preview():
    p = DynamicProvider(ModelHandler)
    olds = p.check({}, model_props(U, resource_uuid="b" * 32)).inputs
    failures = p.check(olds, {**olds, "version": "2"}).failures
    assert [(f.property, "would need that uuid twice" in f.reason) for f in failures] == [("resource_uuid", True)]
    assert p.check(olds, {**olds, "version": "2", "resource_uuid": "c" * 32}).failures == []
    assert p.check(olds, {**olds, "description": "in place"}).failures == []


def test_model_center_uuid_may_be_unknown_at_preview():
    result = DynamicProvider(ModelHandler).check({}, model_props(Unknown()))
    assert result.failures == [] and isinstance(result.inputs["model_center_uuid"], Unknown)


# -- serialization ------------------------------------------------------------------------------
HANDLERS = [ModelCenterHandler, ModelHandler, ModelServiceHandler]


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda h: h.type_token)
def test_provider_pickles_by_reference_without_credentials(handler, emulator, monkeypatch):
    emulator.reset("zstack")
    emulator.settings("zstack", accounts={"admin": "TOPSECRETZSTACK"})
    monkeypatch.setenv("ZSTACK_ACCOUNT_PASSWORD", "TOPSECRETZSTACK")
    p = DynamicProvider(handler)
    first = serialize_provider(p)
    p.configure(type("Req", (), {"config": Config({"zstack:endpoint": f"{emulator.url}/zstack",
                                                   "zstack:accountName": "admin"}, "aimodels")})())
    p.impl.client.query("probe", "/v1/ai/models")  # the client logged in: a session exists now
    assert p.impl.client.auth.session
    second = serialize_provider(p)
    assert first == second
    raw = base64.b64decode(first)
    assert b"TOPSECRET" not in raw and p.impl.client.auth.session.encode() not in raw
    assert handler.__module__.encode() in raw and len(raw) < 400
    emulator.reset("zstack")


def test_serialization_is_identical_across_processes():
    script = ("from pulumi.dynamic.dynamic import serialize_provider;"
              "from providers.core import DynamicProvider;"
              "from providers.zstack.model import ModelHandler;"
              "from providers.zstack.model_center import ModelCenterHandler;"
              "print(serialize_provider(DynamicProvider(ModelHandler)));"
              "print(serialize_provider(DynamicProvider(ModelCenterHandler)))")
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")]
    assert runs[0] == runs[1] and len(runs[0].splitlines()) == 2


def test_import_reads_both_types_from_the_id_alone(zstack, emulator):
    """What `pulumi import` sends: an id and no prior state; the inputs as found preview clean."""
    centers = configured(ModelCenterHandler, zstack)
    center_in = checked(centers, CENTER)
    center = centers.create(center_in)
    found = centers.read(center.id, {})
    assert found.id == center.id and found.inputs["name"] == "mc-1"
    assert centers.diff(center.id, found.outs, center_in).changes is False

    # Only what the inventory shows can be imported exactly (token, share mode, tags and service
    # uuids are create-time inputs the platform never returns).
    models = configured(ModelHandler, zstack)
    visible = {k: v for k, v in model_props(center.id).items()
               if k not in ("token", "share_mode", "system_tags", "user_tags", "model_service_uuids",
                            "default_model_service_uuid")}
    model_in = checked(models, visible)
    model = models.create(model_in)
    found = models.read(model.id, {})
    assert found.inputs["model_center_uuid"] == center.id
    assert models.diff(model.id, found.outs, model_in).changes is False
    models.delete(model.id, found.outs)
    centers.delete(center.id, center.outs)
