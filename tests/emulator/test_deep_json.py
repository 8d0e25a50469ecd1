"""Deeply nested JSON gets each vendor's own 400, never a 500, on every route that reads JSON.

``json.loads`` raises RecursionError (not ValueError) on deep nesting; the emulator used to let it
escape as an unhandled 500 on every JSON route of ESD, PAI and Fabric (issue 8). Each case below
sends a body (or a JSON-valued query parameter) nested far beyond any real payload, and checks the
platform's malformed-input envelope.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulator import defaults
from tests.emulator.test_esd_contract import BASE_MODEL, FAST, KEY, create_endpoint, upload_checkpoint, wait_for
from tests.emulator_process import Emulator

DEEP_ARRAY = "[" * 50_000 + "]" * 50_000  # json.loads: RecursionError
# Parses fine (below the recursion limit) but is far deeper than any documented payload.
NESTED_MAP = json.dumps(json.loads('{"a":' * 200 + "1" + "}" * 200))


def deep_in(field: str, base: dict[str, Any]) -> str:
    """A body that is valid apart from one field holding a deeply nested value."""
    return json.dumps(base)[:-1] + f', "{field}": ' + DEEP_ARRAY + "}"


BODIES = {"whole-body": DEEP_ARRAY, "one-field": None, "parsable-but-deep": NESTED_MAP}


# -- ESD ------------------------------------------------------------------------------------------
ESD_ROUTES = [
    ("POST", "/roles"), ("DELETE", "/roles"), ("POST", "/users"), ("DELETE", "/users"),
    ("POST", "/checkpoints"), ("PUT", "/checkpoints/some-id"), ("DELETE", "/checkpoints"),
    ("POST", "/endpoints"), ("DELETE", "/endpoints"), ("POST", "/inferences"), ("DELETE", "/inferences"),
    ("POST", "/trainings"), ("DELETE", "/trainings"), ("POST", "/datasets"), ("PUT", "/datasets/some-ds"),
    ("DELETE", "/datasets"),
]


@pytest.fixture
def esd(emulator: Emulator) -> Iterator[httpx.Client]:
    emulator.reset("esd")
    emulator.settings("esd", **FAST)
    with httpx.Client(base_url=f"{emulator.url}/esd/prod", headers={"x-api-key": KEY, "username": defaults.ESD_USERNAME,
                                                                     "content-type": "application/json"},
                      timeout=30) as client:
        yield client


@pytest.mark.parametrize("kind", list(BODIES))
def test_esd_routes_answer_the_gateway_400(esd: httpx.Client, kind: str) -> None:
    for method, path in ESD_ROUTES:
        body = BODIES[kind] or deep_in("params", {"role_name": "r"})
        r = esd.request(method, path, content=body)
        assert r.status_code == 400, (method, path, r.status_code, r.text[:300])
        assert r.json() == {"statusCode": 400, "message": "Invalid request body"}, (method, path)
    assert esd.get("/ping").status_code == 200  # and the emulator is still fine


def test_esd_deep_inference_parameters_fail_the_job_not_the_emulator(esd: httpx.Client) -> None:
    """The parameter file of an inference is JSON the emulator reads when the job runs."""
    create_endpoint(esd)
    upload_checkpoint(esd)
    r = esd.post("/inferences", json={"task_type": "txt2img", "inference_type": "Async",
                                      "models": {"Stable-diffusion": [BASE_MODEL]}})
    assert r.status_code == 201, r.text
    inf = r.json()["data"]["inference"]
    assert httpx.put(inf["api_params_s3_upload_url"], content=DEEP_ARRAY).status_code == 200
    assert esd.put(f"/inferences/{inf['id']}/start").status_code == 202
    done = wait_for(lambda: (d := esd.get(f"/inferences/{inf['id']}")).status_code != 200
                    or d.json()["data"]["status"] != "inprogress" and d)
    assert done.status_code == 200, done.text[:300]
    assert done.json()["data"]["status"] == "failed"
    assert esd.get("/inferences").status_code == 200
    r = esd.post("/inferences", json={"task_type": "txt2img", "inference_type": "Async", "models": {},
                                      "payload_string": DEEP_ARRAY})
    assert r.status_code == 400, r.text[:300]


# -- PAI ------------------------------------------------------------------------------------------
PAI_ROUTES = [
    ("POST", "/api/v1/models"), ("PUT", "/api/v1/models/{m}"), ("POST", "/api/v1/models/{m}/labels"),
    ("POST", "/api/v1/models/{m}/versions"), ("PUT", "/api/v1/models/{m}/versions/1.0.0"),
    ("POST", "/api/v1/models/{m}/versions/1.0.0/labels"),
]
PAI_ACTIONS = {
    ("POST", "/api/v1/models"): "CreateModel", ("PUT", "/api/v1/models/{m}"): "UpdateModel",
    ("POST", "/api/v1/models/{m}/labels"): "CreateModelLabels",
    ("POST", "/api/v1/models/{m}/versions"): "CreateModelVersion",
    ("PUT", "/api/v1/models/{m}/versions/1.0.0"): "UpdateModelVersion",
    ("POST", "/api/v1/models/{m}/versions/1.0.0/labels"): "CreateModelVersionLabels",
}


@pytest.fixture
def pai(emulator: Emulator) -> Iterator[httpx.Client]:
    """Signature checks off (a documented setting): they hash the raw bytes and never parse them."""
    emulator.reset("pai")
    emulator.settings("pai", verify_signatures=False)
    with httpx.Client(base_url=f"{emulator.url}/pai", headers={"content-type": "application/json"},
                      timeout=30) as client:
        yield client
    emulator.reset("pai")


def pai_model(pai: httpx.Client) -> str:
    r = pai.post("/api/v1/models", json={"ModelName": "m"})
    assert r.status_code == 200, r.text
    model_id = r.json()["ModelId"]
    r = pai.post(f"/api/v1/models/{model_id}/versions", json={"VersionName": "1.0.0", "Uri": "oss://b.x/p/"})
    assert r.status_code == 200, r.text
    return model_id


def assert_pai_invalid(r: httpx.Response, what: Any) -> None:
    assert r.status_code == 400, (what, r.status_code, r.text[:300])
    body = r.json()
    assert body["Code"] == "InvalidParameter" and body["RequestId"] and body["HostId"], (what, body)


@pytest.mark.parametrize("kind", list(BODIES))
def test_pai_routes_answer_invalid_parameter(pai: httpx.Client, kind: str) -> None:
    model_id = pai_model(pai)
    for method, template in PAI_ROUTES:
        body = BODIES[kind] or deep_in("ExtraInfo", {"ModelName": "m2"})
        r = pai.request(method, template.format(m=model_id), content=body)
        assert_pai_invalid(r, (method, template))
    assert pai.get(f"/api/v1/models/{model_id}").status_code == 200


@pytest.mark.parametrize("param", ["Tag", "Conditions"])
def test_pai_json_query_parameters(pai: httpx.Client, param: str) -> None:
    # 1500 levels: deeper than json.loads can take, short enough for a request line (h11: 16 KiB)
    for value in ("[" * 1500 + "]" * 1500, NESTED_MAP):
        assert_pai_invalid(pai.get("/api/v1/models", params={param: value}), param)


# -- Fabric ---------------------------------------------------------------------------------------
WS_MODELS = "/fabric/v1/workspaces/emulator-workspace/models"


@pytest.fixture
def fabric(emulator: Emulator) -> Iterator[tuple[httpx.Client, str]]:
    emulator.reset("fabric")
    emulator.settings("fabric", create_delay_s=0, version_delay_s=0)
    with httpx.Client(base_url=emulator.url, headers={"content-type": "application/json"}, timeout=30) as client:
        r = client.post("/fabric/v3/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": defaults.FABRIC_USERNAME, "password": defaults.FABRIC_PASSWORD,
                "domain": {"name": defaults.FABRIC_DOMAIN_NAME}}}},
            "scope": {"project": {"name": "cn-north-4"}}}})
        assert r.status_code == 201, r.text
        yield client, r.headers["X-Subject-Token"]


@pytest.mark.parametrize("kind", list(BODIES))
def test_fabric_model_routes_answer_common_400(fabric: tuple[httpx.Client, str], kind: str) -> None:
    client, token = fabric
    r = client.post(WS_MODELS, headers={"X-Auth-Token": token}, json={
        "name": "m", "type": "LLM_MODEL", "version": {"name": "v1", "config": {"llm_model_config": {
            "base_model_type": "QWEN2_5_7B", "model_path": "obs://bucket/m/v1/"}}}})
    assert r.status_code == 200, r.text
    model_id = r.json()["id"]
    for method, path in (("POST", WS_MODELS), ("PUT", f"{WS_MODELS}/{model_id}")):
        body = BODIES[kind] or deep_in("version", {"name": "m2", "type": "LLM_MODEL"})
        r = client.request(method, path, headers={"X-Auth-Token": token}, content=body)
        assert r.status_code == 400, (method, r.status_code, r.text[:300])
        assert r.json()["error_code"] == "common.01000001", r.json()
        assert r.headers.get("X-Request-Id")


@pytest.mark.parametrize("kind", list(BODIES))
def test_fabric_token_route_answers_iam_400(fabric: tuple[httpx.Client, str], kind: str) -> None:
    client, _ = fabric
    r = client.post("/fabric/v3/auth/tokens", content=BODIES[kind] or deep_in("extra", {"auth": {}}))
    assert r.status_code == 400, (r.status_code, r.text[:300])
    body = r.json()
    assert body["error_code"] == 400 and body["error"]["code"] == "400", body
