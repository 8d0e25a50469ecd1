"""providers/core behaviour that needs no platform: check, diff, serialization, settings, waits."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest
from pulumi.dynamic import Config
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import Unknown

import providers.esd as esd
from providers.core import ConfigError, DynamicProvider, FailedState, Poll, WaitTimeout, wait_for
from providers.esd.checkpoint import CheckpointHandler
from providers.esd.client import EsdSettings
from providers.esd.dataset import DatasetHandler
from providers.esd.endpoint import EndpointHandler
from providers.esd.inference import InferenceJobHandler
from providers.esd.role import RoleHandler
from providers.esd.training import TrainingJobHandler
from providers.esd.user import UserHandler
from providers.fabric.model import ModelHandler as FabricModelHandler
from providers.pai.model import ModelHandler as PaiModelHandler
from providers.pai.model_version import ModelVersionHandler

ENDPOINT = {"name": "demo", "endpoint_type": "Async", "instance_type": "ml.g5.2xlarge", "assign_to_roles": ["r"]}


def failures(handler, props):
    return {f.property: f.reason for f in DynamicProvider(handler).check({}, props).failures}


@pytest.mark.parametrize("props, prop, words", [
    ({**ENDPOINT, "name": "x" * 21}, "name", "at most 20 characters"),
    ({**ENDPOINT, "name": "bad_name!"}, "name", "should match pattern"),
    ({**ENDPOINT, "endpoint_type": "Serverless"}, "endpoint_type", "'Async' or 'Real-time'"),
    ({**ENDPOINT, "initial_instance_count": 0}, "initial_instance_count", "greater than or equal to 1"),
    ({**ENDPOINT, "assign_to_roles": []}, "assign_to_roles", "at least 1 item"),
    ({**ENDPOINT, "cool_down_time": "1 hour"}, "cool_down_time", "is not a property"),
    ({k: v for k, v in ENDPOINT.items() if k != "instance_type"}, "instance_type", "is required"),
    ({**ENDPOINT, "endpoint_type": "Real-time", "autoscaling_enabled": True}, "min_instance_number", "at least 1"),
    ({**ENDPOINT, "custom_extensions": ["a"], "custom_docker_image_uri": "img"}, "custom_extensions", "together"),
    ({**ENDPOINT, "wait_timeout_s": 0}, "wait_timeout_s", "greater than or equal to 1"),
])
def test_check_names_the_property_and_the_rule(props, prop, words):
    found = failures(EndpointHandler, props)
    assert prop in found, found
    assert words in found[prop]


def test_check_reports_every_bad_property_at_once():
    found = failures(EndpointHandler, {**ENDPOINT, "name": "", "initial_instance_count": -1, "extra": 1})
    assert set(found) == {"name", "initial_instance_count", "extra"}


def test_check_tolerates_unknowns_during_preview():
    p = DynamicProvider(EndpointHandler)
    result = p.check({}, {**ENDPOINT, "assign_to_roles": Unknown(), "name": Unknown()})
    assert result.failures == []
    assert isinstance(result.inputs["name"], Unknown)
    # known values are still validated while others are unknown
    bad = p.check({}, {**ENDPOINT, "name": Unknown(), "initial_instance_count": 0})
    assert [f.property for f in bad.failures] == ["initial_instance_count"]


def test_check_canonicalises_sets_and_defaults():
    inputs = DynamicProvider(RoleHandler).check({}, {"name": "r", "permissions": ["b", "a", "b"]}).inputs
    assert inputs == {"name": "r", "permissions": ["a", "b"]}
    ep = DynamicProvider(EndpointHandler).check({}, ENDPOINT).inputs
    assert ep["initial_instance_count"] == 1 and ep["autoscaling_enabled"] is False and ep["wait_timeout_s"] == 1800


def test_check_ignores_seeded_outputs_and_provider_key():
    props = {**ENDPOINT, "status": None, "endpoint_name": None, "__provider": "xyz"}
    assert DynamicProvider(EndpointHandler).check({}, props).failures == []


def test_diff_ignores_outputs_provider_and_server_defaults():
    p = DynamicProvider(EndpointHandler)
    inputs = p.check({}, ENDPOINT).inputs
    olds = {**inputs, "min_instance_number": 0, "status": "InService", "endpoint_name": "esd-async-demo",
            "__provider": "old-pickle"}
    diff = p.diff("id", olds, {**inputs, "__provider": "new-pickle"})
    assert diff.changes is False and diff.replaces == []


def test_diff_unknown_replace_field_forces_replacement():
    p = DynamicProvider(EndpointHandler)
    inputs = p.check({}, ENDPOINT).inputs
    diff = p.diff("id", inputs, {**inputs, "instance_type": Unknown()})
    assert diff.changes is True and diff.replaces == ["instance_type"]


def test_diff_order_of_unordered_lists_is_not_a_change():
    p = DynamicProvider(RoleHandler)
    assert p.diff("r", {"name": "r", "permissions": ["a", "b"]}, {"name": "r", "permissions": ["b", "a"]}).changes is False


ALL_HANDLERS = [RoleHandler, UserHandler, CheckpointHandler, EndpointHandler, DatasetHandler, TrainingJobHandler,
                InferenceJobHandler, PaiModelHandler, ModelVersionHandler, FabricModelHandler]
SECRET_ENV = {"ESD_API_KEY": "TOPSECRETKEY00000000", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "TOPSECRETALIBABA",
              "HUAWEICLOUD_SDK_SK": "TOPSECRETHUAWEI"}


@pytest.mark.parametrize("handler", ALL_HANDLERS, ids=lambda h: h.type_token)
def test_provider_serializes_by_reference_without_secrets(handler, monkeypatch):
    for k, v in SECRET_ENV.items():
        monkeypatch.setenv(k, v)
    p = DynamicProvider(handler)
    first = serialize_provider(p)
    # configuring and using the provider (as the provider process does) must not leak into the pickle
    p.configure(type("Req", (), {"config": Config({"esd:apiKey": "TOPSECRETKEY00000000"}, "aimodels")})())
    assert p.impl is not None
    second = serialize_provider(p)
    assert first == second
    raw = base64.b64decode(first)
    assert b"TOPSECRET" not in raw
    assert handler.__module__.encode() in raw and len(raw) < 400


def test_serialization_is_identical_across_processes():
    """Two separate interpreters produce the same __provider for every resource: no churn."""
    script = ("from pulumi.dynamic.dynamic import serialize_provider;"
              "from providers.core import DynamicProvider;"
              "import tests.providers.test_framework as t;"
              "print('\\n'.join(serialize_provider(DynamicProvider(h)) for h in t.ALL_HANDLERS))")
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")]
    assert runs[0] == runs[1] and len(runs[0].splitlines()) == len(ALL_HANDLERS)


def test_type_tokens_are_stable_and_readable():
    assert esd.Endpoint._resource_type_name == "dynamic/esd:Endpoint"
    assert esd.User._resource_type_name == "dynamic/esd:User"


def test_settings_come_from_config_then_environment(monkeypatch):
    monkeypatch.setenv("ESD_API_KEY", "from-env")
    monkeypatch.setenv("ESD_API_URL", "https://env.example/prod")
    assert EsdSettings.load(None).api_key == "from-env"
    cfg = Config({"esd:apiKey": "from-config", "esd:apiUrl": "https://esd.example/prod"}, "aimodels")
    s = EsdSettings.load(cfg)
    assert s.api_key == "from-config" and s.base_url == "https://esd.example/prod"
    assert "from-config" not in repr(s)


def test_esd_endpoint_is_required_unless_the_stack_targets_the_emulator(monkeypatch):
    monkeypatch.delenv("ESD_API_URL", raising=False)
    monkeypatch.setenv("AIMODELS_EMULATOR_URL", "http://127.0.0.1:9999")
    with pytest.raises(ConfigError, match="esd:apiUrl: Field required"):
        EsdSettings.load(Config({"esd:apiKey": "k"}, "aimodels"))
    s = EsdSettings.load(Config({"esd:apiKey": "k", "aimodels:emulator": "true"}, "aimodels"))
    assert s.base_url == "http://127.0.0.1:9999/esd/prod"


def test_missing_credentials_say_how_to_set_them(monkeypatch):
    monkeypatch.delenv("ESD_API_KEY", raising=False)
    with pytest.raises(ConfigError) as err:
        EsdSettings.load(None)
    assert "esd:apiKey" in str(err.value) and "--secret" in str(err.value) and "$ESD_API_KEY" in str(err.value)


def test_wait_for_reports_failure_reason_and_deadline():
    clock = iter(range(0, 1000, 5))
    sleeps = []
    states = iter(["Creating", "Creating", "Failed"])

    def poll():
        s = next(states)
        return Poll(s, s, failure="quota exceeded" if s == "Failed" else None)

    with pytest.raises(FailedState) as err:
        wait_for("esd:Endpoint x", poll, timeout_s=100, clock=lambda: next(clock), sleep=sleeps.append)
    assert "quota exceeded" in str(err.value) and "Failed" in str(err.value)
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0]  # backs off

    clock2 = iter(range(0, 1000, 30))
    with pytest.raises(WaitTimeout) as err:
        wait_for("esd:Endpoint y", lambda: Poll(None, "Creating"), timeout_s=60,
                 clock=lambda: next(clock2), sleep=lambda s: None)
    assert "still Creating" in str(err.value) and "deadline 60s" in str(err.value)


def test_numbers_that_crossed_the_wire_as_doubles_are_not_a_change():
    """The engine's protobuf Struct turns 1 into 1.0 and drops None values."""
    p = DynamicProvider(EndpointHandler)
    inputs = p.check({}, ENDPOINT).inputs
    wire = {k: (float(v) if isinstance(v, int) and not isinstance(v, bool) else v)
            for k, v in inputs.items() if v is not None}
    assert wire["initial_instance_count"] == 1.0 and "min_instance_number" not in wire
    assert p.diff("id", wire, wire).changes is False
    assert p.diff("id", inputs, wire).changes is False
    assert p.diff("id", wire, {**wire, "initial_instance_count": 2.0}).replaces == ["initial_instance_count"]


@pytest.mark.parametrize("handler, props, prop", [
    (RoleHandler, {"name": "IT Operator", "permissions": ["x:all"]}, "name"),
    (UserHandler, {"username": "u", "password": "p", "roles": []}, "roles"),
    (UserHandler, {"username": "u", "roles": ["r"]}, "password"),
    (CheckpointHandler, {"checkpoint_type": "Lora"}, "source_url"),
    (CheckpointHandler, {"checkpoint_type": "Lora", "source_url": "https://x/a.bin"}, "source_url"),
    (CheckpointHandler, {"checkpoint_type": "Lora", "source_file": "/no/such/file.safetensors"}, "source_file"),
    (CheckpointHandler, {"checkpoint_type": "Model", "source_url": "https://x/a.ckpt"}, "checkpoint_type"),
    (CheckpointHandler, {"checkpoint_type": "Lora", "source_url": "https://x/a.ckpt", "name": "has.dot"}, "name"),
    (DatasetHandler, {"name": "d", "files": ["/no/such.png"]}, "files"),
    (DatasetHandler, {"name": "9starts-with-digit", "files": []}, "name"),
    (TrainingJobHandler, {"model": "m", "dataset": "d", "output_name": "o", "fm_type": "sd_3"}, "fm_type"),
    (InferenceJobHandler, {"inference_type": "Async", "models": {}, "task_type": "video"}, "task_type"),
    (InferenceJobHandler, {"inference_type": "Serverless", "models": {}}, "inference_type"),
])
def test_each_resource_rejects_bad_input_by_property(handler, props, prop):
    assert prop in failures(handler, props)


def _api_error(status: int):
    from providers.core import ApiError

    return ApiError(platform="esd", operation="get endpoint", method="GET", path="/endpoints/x",
                    status=status, code="E", vendor_message="m")


def test_wait_rides_out_an_outage_until_ready():
    """Connection errors, 5xx and 429 during a wait are an outage, not an answer."""
    from providers.core import TransportError

    clock = iter(range(0, 1000, 2))
    answers = iter([
        Poll(None, "Creating"),
        TransportError(platform="esd", operation="get endpoint", method="GET", path="/endpoints/x",
                       cause=ConnectionRefusedError("127.0.0.1:8787")),
        _api_error(503), _api_error(429), _api_error(502),
        Poll("ok", "InService", done=True),
    ])

    def poll():
        a = next(answers)
        if isinstance(a, Exception):
            raise a
        return a

    assert wait_for("esd:Endpoint x", poll, timeout_s=100, clock=lambda: next(clock), sleep=lambda s: None) == "ok"


def test_wait_outage_past_the_deadline_times_out_and_a_4xx_ends_it_at_once():
    from providers.core import ApiError

    clock = iter(range(0, 1000, 10))

    def down():
        raise _api_error(500)

    with pytest.raises(WaitTimeout) as err:
        wait_for("esd:Endpoint y", down, timeout_s=30, clock=lambda: next(clock), sleep=lambda s: None)
    assert "unreachable" in str(err.value) and "deadline 30s" in str(err.value)

    calls = []

    def forbidden():
        calls.append(1)
        raise _api_error(403)

    with pytest.raises(ApiError):
        wait_for("esd:Endpoint z", forbidden, timeout_s=30, clock=lambda: 0.0, sleep=lambda s: None)
    assert len(calls) == 1


def test_wait_pause_is_a_fraction_of_the_time_waited():
    from providers.core import Backoff

    b = Backoff(jitter=0.0)
    assert b.pause(0) == 0.5 and b.pause(100) == pytest.approx(8.0) and b.pause(10_000) == 60.0


# -- check never crashes and never leaks (issue 8.6) ------------------------------------------------

@pytest.mark.parametrize("handler, props, prop", [
    (PaiModelHandler, {"name": "m", "extra_info": {"weights": "ASSET"}}, "extra_info"),
    (ModelVersionHandler, {"model_id": "m", "uri": "oss://b/p", "metrics": {"a": ["ASSET"]}}, "metrics"),
    (TrainingJobHandler, {"model": "m", "dataset": "d", "output_name": "o",
                          "extra_config": {"training": {"file": "ASSET"}}}, "extra_config"),
    (InferenceJobHandler, {"inference_type": "Async", "models": {}, "parameters": {"init": "ASSET"}}, "parameters"),
])
def test_an_asset_in_a_free_form_input_is_a_check_failure(handler, props, prop, tmp_path):
    import pulumi

    asset = pulumi.FileAsset(str(tmp_path / "weights.bin"))

    def put(value):
        if isinstance(value, dict):
            return {k: put(v) for k, v in value.items()}
        if isinstance(value, list):
            return [put(v) for v in value]
        return asset if value == "ASSET" else value

    found = failures(handler, put(props))  # before: PydanticSerializationError escaped check
    assert prop in found and "FileAsset is not allowed" in found[prop], found


@pytest.mark.parametrize("number, word", [(float("inf"), "Infinity"), (float("-inf"), "-Infinity"),
                                          (float("nan"), "NaN")])
def test_non_finite_numbers_are_refused_not_nulled(number, word):
    p = DynamicProvider(PaiModelHandler)
    result = p.check({}, {"name": "m", "extra_info": {"scores": [1.5, number]}})  # before: silently null
    assert [(f.property, word in f.reason and "extra_info.scores[1]" in f.reason) for f in result.failures] == \
        [("extra_info", True)]


@pytest.mark.parametrize("password", [{"nested": "LeakTest-9f3"}, ["LeakTest-9f3"], 12345678, True, ""])
def test_a_secret_of_the_wrong_type_is_never_printed(password):
    result = DynamicProvider(UserHandler).check({}, {"username": "u", "password": password, "roles": ["r"]})
    assert len(result.failures) == 1
    failure = result.failures[0]
    # The engine prints the named property's value next to the reason: a secret is named in the reason.
    assert failure.property == "" and failure.reason.startswith("password: ")
    for text in ("LeakTest", "12345678", "True", "nested"):
        assert text not in failure.reason


def test_a_secret_asset_is_refused_without_its_path():
    import pulumi

    result = DynamicProvider(UserHandler).check({}, {"username": "u", "password": pulumi.FileAsset("LeakTest.txt"),
                                                    "roles": ["r"]})
    assert [(f.property, "LeakTest" in f.reason) for f in result.failures] == [("", False)]


def test_a_missing_secret_is_still_named_by_property():
    assert "password" in failures(UserHandler, {"username": "u", "roles": ["r"]})


# -- configuration that cannot target the wrong place (issue 8.7) -----------------------------------

PAI_KEYS = {"pai:accessKeyId": "AK", "pai:accessKeySecret": "SK"}


def test_a_missing_endpoint_is_an_error_naming_the_key():
    from providers.pai.client import PaiSettings

    with pytest.raises(ConfigError) as err:  # before: the public cn-hangzhou endpoint, silently
        PaiSettings.load(Config(raw_config=PAI_KEYS, project_name="aimodels"), environ={})
    text = str(err.value)
    assert "pai:endpoint" in text and "aimodels:emulator" in text and "\n" not in text
    assert PaiSettings.load({**PAI_KEYS, "pai:region": "cn-shanghai"}, environ={}).base_url == \
        "https://aiworkspace.cn-shanghai.aliyuncs.com"


@pytest.mark.parametrize("environ, url", [
    ({"AIMODELS_EMULATOR_URL": "http://127.0.0.1:9911/"}, "http://127.0.0.1:9911/pai"),
    ({"AIMODELS_EMULATOR_PORT": "9912"}, "http://127.0.0.1:9912/pai"),
    ({}, "http://127.0.0.1:8787/pai"),
])
def test_the_emulator_flag_gives_every_unset_endpoint_the_emulator(environ, url):
    from providers.pai.client import PaiSettings

    cfg = Config(raw_config={**PAI_KEYS, "aimodels:emulator": "true"}, project_name="aimodels")
    assert PaiSettings.load(cfg, environ=environ).base_url == url
    explicit = Config(raw_config={**PAI_KEYS, "aimodels:emulator": "true", "pai:endpoint": "http://x/pai"},
                      project_name="aimodels")
    assert PaiSettings.load(explicit, environ=environ).base_url == "http://x/pai"  # a set endpoint wins


def test_a_bad_emulator_flag_is_refused():
    from providers.fabric.client import FabricSettings

    with pytest.raises(ConfigError) as err:
        FabricSettings.load({"fabric:token": "t", "aimodels:emulator": "maybe"}, environ={})
    assert "aimodels:emulator" in str(err.value)


def test_the_local_stack_names_no_url_and_declares_the_emulator():
    from pathlib import Path

    import yaml

    config = yaml.safe_load((Path(__file__).resolve().parents[2] / "stacks" / "Pulumi.local.yaml").read_text())["config"]
    assert config.get("aimodels:emulator") is True
    assert not [k for k, v in config.items() if isinstance(v, str) and "127.0.0.1" in v]


def test_a_connection_error_names_host_and_port():
    """Nothing listens on the port: the one-line error says where it tried."""
    import socket

    import httpx

    from providers.core import ApiClient, ClientSettings, RetryPolicy, TransportError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = ApiClient(ClientSettings(base_url=f"http://127.0.0.1:{port}/esd/prod",
                                      retry=RetryPolicy(attempts=1)), httpx.Auth())
    client.platform = "esd"
    with pytest.raises(TransportError) as err:
        client.request("ping", "GET", "/ping")
    assert f"on 127.0.0.1:{port} failed without a response" in str(err.value)


def test_a_configuration_mistake_fails_check_naming_the_key():
    """At preview, before anything is created: the configured provider loads its settings in check."""
    from pulumi import dynamic

    from providers.core import ResourceError

    fabric = DynamicProvider(FabricModelHandler)
    fabric.configure(dynamic.ConfigureRequest(config=Config(raw_config={
        "fabric:username": "u", "fabric:password": "p", "fabric:domainName": "d",
        "fabric:endpoint": "http://127.0.0.1:1/fabric", "fabric:iamEndpoint": "http://127.0.0.1:1/fabric"},
        project_name="p")))
    props = {"workspace_id": "w", "name": "chat", "versions": [{"name": "v1", "base_model_type": "Q"}]}
    with pytest.raises(ResourceError, match=r"check failed: fabric configuration: fabric:projectId: "):
        fabric.check({}, props)
    esd_provider = DynamicProvider(RoleHandler)
    esd_provider.configure(dynamic.ConfigureRequest(config=Config(raw_config={"esd:apiKey": "k"}, project_name="p")))
    with pytest.raises(ResourceError, match=r"esd:apiUrl: Field required .*aimodels:emulator true"):
        esd_provider.check({}, {"name": "r", "permissions": ["checkpoint:all"]})
    esd_provider.configure(dynamic.ConfigureRequest(config=Config(
        raw_config={"esd:apiKey": "k", "aimodels:emulator": "true"}, project_name="p")))
    assert esd_provider.check({}, {"name": "r", "permissions": ["checkpoint:all"]}).failures == []
