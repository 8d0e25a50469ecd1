"""Contract tests for the ESD v1.5.0 emulator, over HTTP against a real emulator process.

Written from specs/esd.md with plain httpx (no provider code): each test resets the ``esd``
platform, makes its async timings fast through the admin settings, and checks one behaviour the
spec pins down (check order, envelopes, quirks, state machines, presigned URLs, faults, restarts).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from emulator import defaults

KEY = defaults.ESD_API_KEY
FAST = {
    "endpoint_create_seconds": 0.3,
    "checkpoint_download_seconds": 0.2,
    "checkpoint_rename_seconds": 0.2,
    "inference_async_seconds": 0.2,
    "inference_realtime_seconds": 0.05,
    "training_phase_seconds": 0.1,
}
BASE_MODEL = "v1-5-pruned-emaonly.safetensors"
LAMBDA_HEADERS = {
    "x-api-version": "1.5.0",
    "access-control-allow-origin": "*",
    "access-control-allow-headers": "*",
    "access-control-allow-methods": "*",
    "access-control-allow-credentials": "true",
}


@pytest.fixture
def esd(emulator: Any) -> Iterator[httpx.Client]:
    emulator.reset("esd")
    emulator.settings("esd", **FAST)
    with httpx.Client(base_url=f"{emulator.url}/esd/prod",
                      headers={"x-api-key": KEY, "username": defaults.ESD_USERNAME},
                      timeout=15) as client:
        yield client


@pytest.fixture
def raw(emulator: Any) -> Iterator[httpx.Client]:
    """A client with no default headers (for auth-order tests) and for presigned URLs."""
    with httpx.Client(base_url=f"{emulator.url}/esd/prod", timeout=15) as client:
        yield client


# -- helpers -------------------------------------------------------------------------------------------


def wait_for(check: Callable[[], Any], timeout: float = 5.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def blob_keys(emulator: Any) -> set[str]:
    return {b["key"] for b in emulator.objects("esd").get("blob", {}).values()}


def endpoint_body(**over: Any) -> dict[str, Any]:
    body = {"endpoint_name": "test", "endpoint_type": "Async", "instance_type": "ml.g5.2xlarge",
            "initial_instance_count": 1, "autoscaling_enabled": False, "assign_to_roles": ["IT Operator"],
            "creator": "api"}
    body.update(over)
    return body


def create_endpoint(c: httpx.Client, wait: bool = True, **over: Any) -> dict[str, Any]:
    r = c.post("/endpoints", json=endpoint_body(**over))
    assert r.status_code == 202, r.text
    record = r.json()["data"]
    if wait:
        def ready() -> dict[str, Any] | None:
            eps = c.get("/endpoints", params={"limit": 100}).json()["data"]["endpoints"]
            hit = [e for e in eps if e["EndpointDeploymentJobId"] == record["EndpointDeploymentJobId"]]
            return hit[0] if hit and hit[0]["endpoint_status"] == "InService" else None
        return wait_for(ready)
    return record


def upload_checkpoint(c: httpx.Client, filename: str = BASE_MODEL, ctype: str = "Stable-diffusion",
                      parts: tuple[bytes, ...] = (b"part-one-", b"part-two")) -> str:
    r = c.post("/checkpoints", json={"checkpoint_type": ctype, "params": {"message": "t"},
                                     "filenames": [{"filename": filename, "parts_number": len(parts)}]})
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    tags = []
    for n, (url, chunk) in enumerate(zip(data["s3PresignUrl"][filename], parts), start=1):
        put = httpx.put(url, content=chunk)
        assert put.status_code == 200
        tags.append({"ETag": put.headers["ETag"], "PartNumber": n})
    r = c.put(f"/checkpoints/{data['checkpoint']['id']}", json={"status": "Active",
                                                                 "multi_parts_tags": {filename: tags}})
    assert r.status_code == 200, r.text
    return data["checkpoint"]["id"]


def create_dataset(c: httpx.Client, name: str = "dataset_name", files: dict[str, bytes] | None = None) -> None:
    files = files or {"a.png": b"\x89PNG-a", "b.png": b"\x89PNG-b"}
    r = c.post("/datasets", json={
        "dataset_name": name, "creator": "api", "prefix": "10_technic", "params": {"description": "d"},
        "content": [{"filename": f, "name": f, "type": "image", "params": {}} for f in files],
    })
    assert r.status_code == 201, r.text
    urls = r.json()["data"]["s3PresignUrl"]
    for f, data in files.items():
        assert httpx.put(urls[f], content=data).status_code == 200
    assert c.put(f"/datasets/{name}", json={"status": "Enabled"}).status_code == 200


def training_body(**tp: Any) -> dict[str, Any]:
    training_params = {"training_instance_type": "ml.g5.2xlarge", "model": BASE_MODEL, "dataset": "dataset_name",
                       "fm_type": "sd_1_5"}
    training_params.update(tp)
    return {"lora_train_type": "kohya", "params": {
        "training_params": training_params,
        "config_params": {"saving_arguments": {"output_name": "train_model_name", "save_every_n_epochs": 1},
                          "training_arguments": {"max_train_epochs": 1}},
    }}


def add_user(c: httpx.Client, name: str, permissions: list[str]) -> None:
    assert c.post("/roles", json={"role_name": f"{name}_role", "permissions": permissions}).status_code == 201
    r = c.post("/users", json={"username": name, "password": "pw", "roles": [f"{name}_role"]})
    assert r.status_code == 201, r.text


# -- transport, check order, envelopes --------------------------------------------------------------


def test_ping_answers_pong_with_lambda_headers(esd: httpx.Client) -> None:
    r = esd.get("/ping", headers={"username": ""})
    assert r.status_code == 200
    assert r.json() == {"statusCode": 200, "message": "pong"}
    for k, v in LAMBDA_HEADERS.items():
        assert r.headers[k] == v
    assert r.headers["content-type"] == "application/json"


def test_api_key_is_checked_before_body_validation(esd: httpx.Client, raw: httpx.Client) -> None:
    for headers in ({}, {"x-api-key": "wrong-key-0000000000"}):
        r = raw.request("DELETE", "/roles", json={"bogus": 1}, headers={**headers, "username": "api"})
        assert r.status_code == 403
        assert r.json() == {"message": "Forbidden"}
        assert "x-api-version" not in r.headers  # made by API Gateway, not the Lambda
    assert raw.get("/ping").json() == {"message": "Forbidden"}


@pytest.mark.parametrize("method,path", [
    ("GET", "/models"), ("PUT", "/roles"), ("PUT", "/trainings/abc/stop"), ("GET", "/checkpoints/abc"),
    ("GET", "/inference"), ("POST", "/ping"), ("GET", "/roles/IT%20Operator"), ("GET", "/users/api"),
    ("GET", "/endpoints/x"), ("DELETE", "/inferences/x"),
])
def test_unknown_routes_and_methods_are_missing_token(esd: httpx.Client, raw: httpx.Client, method: str,
                                                      path: str) -> None:
    for client in (esd, raw):  # with and without an API key
        r = client.request(method, path)
        assert r.status_code == 403
        assert r.json() == {"message": "Missing Authentication Token"}


def test_cors_preflight_needs_no_key(raw: httpx.Client) -> None:
    r = raw.options("/checkpoints")
    assert r.status_code in (200, 204)
    assert r.headers["access-control-allow-origin"] == "*"
    assert "X-Api-Key" in r.headers["access-control-allow-headers"]
    assert "username" not in r.headers["access-control-allow-headers"].split(",")


def test_body_validation_uses_validator_wording(esd: httpx.Client) -> None:
    r = esd.request("DELETE", "/roles", json={})
    assert r.status_code == 400
    assert r.json() == {"statusCode": 400, "message": '[object has missing required properties (["role_name_list"])]'}
    assert "x-api-version" not in r.headers

    r = esd.request("DELETE", "/users", json={"user_name_list": [""]})
    assert r.status_code == 400
    assert 'string "" is too short (length: 0, required minimum: 1)' in r.json()["message"]

    r = esd.post("/endpoints", json=endpoint_body(initial_instance_count="1"))
    assert r.status_code == 400
    assert ('instance type (string) does not match any allowed primitive type (allowed: ["integer","number"])'
            in r.json()["message"])

    # no username and a bad body: validation (API Gateway) comes before the Lambda's 401
    r = esd.post("/checkpoints", json={"checkpoint_type": "Nope"}, headers={"username": ""})
    assert r.status_code == 400 and "not found in enum" in r.json()["message"]

    r = esd.post("/roles", content=b"{not json")
    assert r.status_code == 400 and r.json()["statusCode"] == 400


def test_unknown_body_fields_are_dataclass_type_errors(esd: httpx.Client) -> None:
    r = esd.post("/endpoints", json=endpoint_body(cool_down_time="1 hour"))
    assert r.status_code == 400
    assert r.json() == {"statusCode": 400, "message":
                        "CreateEndpointEvent.__init__() got an unexpected keyword argument 'cool_down_time'"}
    assert r.headers["x-api-version"] == "1.5.0"  # this one comes from the Lambda

    r = esd.post("/users", json={"username": "u", "password": "p", "roles": ["IT Operator"], "permissions": ["x"]})
    assert r.status_code == 400 and "got an unexpected keyword argument 'permissions'" in r.json()["message"]

    r = esd.post("/users", json={"username": "u", "roles": ["IT Operator"]})
    assert r.status_code == 400 and "missing 1 required positional argument: 'password'" in r.json()["message"]

    ckpt = upload_checkpoint(esd)
    r = esd.put(f"/checkpoints/{ckpt}", json={"checkpoint_id": ckpt})
    assert r.status_code == 400 and "unexpected keyword argument 'checkpoint_id'" in r.json()["message"]

    r = esd.post("/inferences", json={"task_type": "txt2img", "inference_type": "Async", "models": {},
                                      "custom_extensions": "x"})
    assert r.status_code == 400 and "unexpected keyword argument 'custom_extensions'" in r.json()["message"]

    # DELETE /users reads only user_name_list and tolerates the rest
    assert esd.request("DELETE", "/users", json={"user_name_list": ["ghost"], "extra": 1}).status_code == 204


def test_username_header_bearer_fallback_and_permission_errors(esd: httpx.Client, raw: httpx.Client) -> None:
    r = esd.get("/roles", headers={"username": ""})
    assert r.status_code == 401
    assert r.json() == {"statusCode": 401, "message": "Unauthorized"}
    assert esd.get("/roles", headers={"username": "nobody"}).status_code == 401

    bearer = {"x-api-key": KEY, "Authorization": "Bearer " + base64.b16encode(b"api").decode()}
    assert bearer["Authorization"] == "Bearer 617069"
    r = raw.get("/roles", headers=bearer)
    assert r.status_code == 200 and r.json()["data"]["roles"]
    r = raw.get("/roles", headers={"x-api-key": KEY, "Authorization": "Bearer 61646d696e"})  # lower-case hex
    assert r.status_code == 400

    add_user(esd, "bob", ["train:all"])
    r = esd.get("/roles", headers={"username": "bob"})
    assert r.status_code == 403
    assert r.json() == {"statusCode": 403, "message": "User bob has no permissions: ['role:all', 'role:list']"}
    r = esd.put("/inferences/x/start", headers={"username": "bob"})
    assert r.json()["message"] == "User bob has no permissions: ['inference:all']"
    # deleting bob's only role leaves him with an empty roles list: the lookup itself fails (400)
    assert esd.request("DELETE", "/roles", json={"role_name_list": ["bob_role"]}).status_code == 204
    assert esd.get("/trainings", headers={"username": "bob"}).status_code == 400

    # routes without a permission check need the key only
    assert raw.get("/inferences", headers={"x-api-key": KEY}).status_code == 200
    assert raw.request("DELETE", "/roles", json={"role_name_list": ["nope"]},
                       headers={"x-api-key": KEY}).status_code == 204


# -- roles and users --------------------------------------------------------------------------------


def test_roles_are_upserts_listed_descending_and_default_role_is_protected(esd: httpx.Client) -> None:
    r = esd.post("/roles", json={"role_name": "role_name", "permissions": ["train:all"], "creator": "bogus"})
    assert r.status_code == 201 and r.json() == {"statusCode": 201, "message": "role created"}
    r = esd.post("/roles", json={"role_name": "role_name", "permissions": ["checkpoint:all", "anything:goes"]})
    assert r.status_code == 201

    data = esd.get("/roles", params={"bogus": "1"}).json()["data"]
    names = [x["role_name"] for x in data["roles"]]
    assert names == sorted(names, reverse=True) and set(names) == {"IT Operator", "byoc", "role_name"}
    assert data["previous_evaluated_key"] == "not_applicable" and data["last_evaluated_key"] is None
    role = next(x for x in data["roles"] if x["role_name"] == "role_name")
    assert role == {"role_name": "role_name", "creator": "api", "permissions": ["checkpoint:all", "anything:goes"]}
    assert [x["role_name"] for x in esd.get("/roles", params={"role": "byoc"}).json()["data"]["roles"]] == ["byoc"]

    r = esd.request("DELETE", "/roles", json={"role_name_list": ["role_name", "IT Operator"]})
    assert r.status_code == 400 and r.json()["message"] == "cannot delete default role"
    assert "role_name" in [x["role_name"] for x in esd.get("/roles").json()["data"]["roles"]]

    esd.post("/users", json={"username": "carol", "password": "pw", "roles": ["IT Operator", "byoc"]})
    assert esd.request("DELETE", "/roles", json={"role_name_list": ["byoc", "byoc", "ghost"]}).status_code == 204
    users = esd.get("/users", params={"username": "carol"}).json()["data"]["users"]
    assert users[0]["roles"] == ["IT Operator"]


def test_users_bootstrap_masking_and_role_rules(esd: httpx.Client, raw: httpx.Client) -> None:
    r = raw.post("/users", json={"username": "admin", "password": "secret", "initial": True, "roles": ["byoc"]},
                 headers={"x-api-key": KEY})
    assert r.status_code == 201
    assert r.json() == {"statusCode": 201, "message": "Created", "data": {
        "user": {"username": "admin", "roles": ["IT Operator"]}, "all_roles": ["IT Operator", "byoc"]}}

    r = esd.post("/users", json={"username": "user", "password": "user", "roles": ["IT Operator"]})
    assert r.status_code == 201 and r.json() == {"statusCode": 201, "message": "Created"}
    r = esd.post("/users", json={"username": "user2", "password": "x", "roles": ["admin"]})
    assert r.status_code == 400 and r.json()["message"] == 'user roles "admin" not exist'

    users = {u["username"]: u for u in esd.get("/users").json()["data"]["users"]}
    assert list(users) == sorted(users, reverse=True)
    assert users["user"]["password"] == "********" and users["api"]["password"] == "*"
    assert users["admin"]["creator"] == "ESD" and users["user"]["creator"] == "api"
    assert users["user"]["permissions"] == sorted(users["user"]["permissions"])
    assert "role:all" in users["user"]["permissions"]
    shown = esd.get("/users", params={"show_password": "True", "username": "user"}).json()["data"]
    assert shown["users"][0]["password"] == "user"
    assert shown["previous_evaluated_key"] == shown["last_evaluated_key"] == "not_applicable"

    assert esd.request("DELETE", "/users", json={"user_name_list": ["user", "ghost"]}).status_code == 204
    assert "user" not in {u["username"] for u in esd.get("/users").json()["data"]["users"]}


def test_assigning_roles_needs_the_callers_own_permissions(esd: httpx.Client) -> None:
    add_user(esd, "lim", ["user:all", "checkpoint:list"])
    esd.post("/roles", json={"role_name": "ck_create", "permissions": ["checkpoint:create"]})
    r = esd.post("/users", json={"username": "x", "password": "p", "roles": ["ck_create"]},
                 headers={"username": "lim"})
    assert r.status_code == 403
    assert r.json()["message"] == "creator has no permission to assign permission [checkpoint:create] to others"
    r = esd.post("/users", json={"username": "x", "password": "p", "roles": ["IT Operator"]},
                 headers={"username": "lim"})
    assert r.status_code == 400 and r.json()["message"] in ("'train'", "'role'", "'sagemaker_endpoint'",
                                                            "'inference'")


# -- checkpoints ---------------------------------------------------------------------------------------


def test_checkpoint_multipart_upload_and_activation(esd: httpx.Client, emulator: Any) -> None:
    r = esd.post("/checkpoints", json={"checkpoint_type": "Lora", "params": {"message": "m", "creator": "bogus"},
                                       "filenames": [{"filename": "a.safetensors", "parts_number": 2}]})
    assert r.status_code == 201
    data = r.json()["data"]
    ck = data["checkpoint"]
    assert len(ck["id"]) == 36 and ck["type"] == "Lora" and ck["status"] == "Initial"
    assert ck["s3_location"].endswith(f"/Lora/checkpoint/custom/{ck['id']}")
    assert ck["params"]["creator"] == "api" and ck["params"]["message"] == "m"
    assert set(ck["params"]["multipart_upload"]["a.safetensors"]) == {"upload_id", "bucket", "key"}
    urls = data["s3PresignUrl"]["a.safetensors"]
    assert len(urls) == 2 and all(u.startswith(emulator.url + "/esd/_s3/") for u in urls)

    etags = [httpx.put(u, content=c).headers["ETag"] for u, c in zip(urls, (b"hello ", b"world"))]
    assert all(e.startswith('"') for e in etags)

    bad = {"a.safetensors": [{"ETag": '"0000"', "PartNumber": 1}, {"ETag": etags[1], "PartNumber": 2}]}
    r = esd.put(f"/checkpoints/{ck['id']}", json={"status": "Active", "multi_parts_tags": bad})
    assert r.status_code == 400 and "InvalidPart" in r.json()["message"]

    tags = {"a.safetensors": [{"ETag": etags[1], "PartNumber": 2}, {"ETag": etags[0], "PartNumber": 1}],
            "other.bin": [{"ETag": '"x"', "PartNumber": 1}]}
    r = esd.put(f"/checkpoints/{ck['id']}", json={"status": "Active", "multi_parts_tags": tags},
                headers={"username": ""})
    assert r.status_code == 200
    out = r.json()["data"]["checkpoint"]
    assert out["status"] == "Initial"  # the previous status
    assert out["type"] == "Lora" and out["id"] == ck["id"]

    listed = esd.get("/checkpoints", params={"username": "api"}).json()["data"]["checkpoints"]
    item = next(x for x in listed if x["id"] == ck["id"])
    assert item["status"] == "Active" and item["name"] == ["a.safetensors"]
    assert isinstance(item["created"], str) and float(item["created"]) > 0
    blob = next(b for b in emulator.objects("esd")["blob"].values() if b["key"].endswith("/a.safetensors"))
    assert blob["size"] == len(b"hello world")

    r = esd.post("/checkpoints", json={"checkpoint_type": "VAE", "params": {},
                                       "filenames": [{"filename": "a.safetensors", "parts_number": 1}]})
    assert r.status_code == 400
    assert r.json()["message"] == "a.safetensors already exists, please use another or rename/delete exists"


def test_checkpoint_put_variants(esd: httpx.Client) -> None:
    r = esd.put("/checkpoints/nope", json={"status": "Active", "multi_parts_tags": {"x": []}})
    assert r.status_code == 404 and r.json()["message"] == "checkpoint not found with id nope"
    cid = esd.post("/checkpoints", json={"checkpoint_type": "Lora", "params": {},
                                         "filenames": [{"filename": "f.pt", "parts_number": 1}]}).json()["data"][
        "checkpoint"]["id"]
    r = esd.put(f"/checkpoints/{cid}", json={"status": "Active"})
    assert r.status_code == 400 and r.json()["message"] == "multi parts tags is empty"
    r = esd.put(f"/checkpoints/{cid}", json={"status": "Bogus", "multi_parts_tags": {"f.pt": []}})
    assert r.status_code == 400 and r.json()["message"] == "'Bogus'"
    r = esd.put(f"/checkpoints/{cid}", json={"status": "Active", "name": ""})
    assert r.status_code == 400 and "too short" in r.json()["message"]
    r = esd.put(f"/checkpoints/{cid}", json={})
    assert r.status_code == 200 and r.json() == {"statusCode": 200, "message": "OK"}
    r = esd.put(f"/checkpoints/{cid}", json={"name": "renamed"})
    assert r.status_code == 400 and r.json()["message"] == "only active can update name"
    r = esd.post("/checkpoints", json={"checkpoint_type": "Lora", "params": {}})
    assert r.status_code == 400 and r.json()["message"] == "'NoneType' object is not iterable"
    r = esd.post("/checkpoints", json={"checkpoint_type": "Lora", "params": {},
                                       "filenames": [{"filename": "g.pt", "parts_number": 1, "x": 1}]})
    assert r.status_code == 400 and "unexpected keyword argument 'x'" in r.json()["message"]


def test_checkpoint_list_paging_is_off_by_one(esd: httpx.Client) -> None:
    empty = esd.get("/checkpoints").json()["data"]
    assert empty == {"page": 1, "per_page": 10, "pages": 0, "total": 0, "checkpoints": []}
    for i in range(4):
        esd.post("/checkpoints", json={"checkpoint_type": "Lora", "params": {},
                                       "filenames": [{"filename": f"c{i}.pt", "parts_number": 1}]})
    page = esd.get("/checkpoints", params={"per_page": 2}).json()["data"]
    assert page["total"] == 4 and page["pages"] == 3 and len(page["checkpoints"]) == 2
    created = [float(c["created"]) for c in page["checkpoints"]]
    assert created == sorted(created, reverse=True)
    assert esd.get("/checkpoints", params={"per_page": 3}).json()["data"]["pages"] == 2
    last = esd.get("/checkpoints", params={"per_page": 3, "page": 2}).json()["data"]
    assert len(last["checkpoints"]) == 1
    assert esd.get("/checkpoints", params={"status": "Active"}).json()["data"]["pages"] == 0
    assert esd.get("/checkpoints", params={"types": ["VAE", "Lora"]}).json()["data"]["total"] == 4
    assert esd.get("/checkpoints", params={"page": "x"}).status_code == 400
    r = esd.get("/checkpoints", params={"username": "ghost"})
    assert r.status_code == 400 and r.json()["message"] == 'user: "ghost" not exist'


def test_url_checkpoint_is_created_in_background_and_renamed(esd: httpx.Client, emulator: Any) -> None:
    url = "https://raw.githubusercontent.com/elonniu/safetensors/main/cartoony.safetensors"
    r = esd.post("/checkpoints", json={"checkpoint_type": "Lora", "urls": [url],
                                       "params": {"message": "m", "creator": "api"}})
    assert r.status_code == 202
    assert r.json() == {"statusCode": 202, "message": "Checkpoint creation in progress, please check later"}
    esd.post("/checkpoints", json={"checkpoint_type": "Lora", "urls": ["https://x.example/readme.txt"],
                                   "params": {"creator": "api"}})
    esd.post("/checkpoints", json={"checkpoint_type": "Lora", "urls": ["https://x.example/nocreator.safetensors"],
                                   "params": {}})

    def listed() -> list[dict[str, Any]]:
        return esd.get("/checkpoints").json()["data"]["checkpoints"]

    ck = wait_for(lambda: [c for c in listed() if c["name"] == ["cartoony.safetensors"]])[0]
    assert ck["status"] == "Active" and ck["params"]["creator"] == "api"
    time.sleep(0.3)
    assert [c["name"] for c in listed()] == [["cartoony.safetensors"]]  # the other two did nothing

    r = esd.post("/checkpoints", json={"checkpoint_type": "Lora", "urls": [url], "params": {"creator": "api"}})
    assert r.status_code == 400 and "already exists" in r.json()["message"]

    r = esd.put(f"/checkpoints/{ck['id']}", json={"name": "cartoony"})
    assert r.status_code == 202 and r.json()["message"] == "rename is processing, please wait"
    wait_for(lambda: listed()[0]["name"] == ["cartoony"])
    assert any(k.endswith(f"{ck['id']}/cartoony") for k in blob_keys(emulator))
    r = esd.put(f"/checkpoints/{ck['id']}", json={"name": "cartoony"})
    assert r.status_code == 200 and r.json()["message"] == "no need to update"


def test_checkpoint_delete_removes_record_and_objects(esd: httpx.Client, emulator: Any) -> None:
    cid = upload_checkpoint(esd)
    assert any(cid in k for k in blob_keys(emulator))
    r = esd.request("DELETE", "/checkpoints", json={"checkpoint_id_list": [cid, cid, "missing"]})
    assert r.status_code == 204
    assert esd.get("/checkpoints").json()["data"]["total"] == 0
    assert not any(cid in k for k in blob_keys(emulator))
    r = esd.request("DELETE", "/checkpoints", json={"ids": []})
    assert r.status_code == 400 and "checkpoint_id_list" in r.json()["message"]


# -- endpoints -----------------------------------------------------------------------------------------


def test_endpoint_lifecycle_and_one_endpoint_per_role(esd: httpx.Client) -> None:
    r = esd.post("/endpoints", json=endpoint_body(initial_instance_count=2))
    assert r.status_code == 202
    body = r.json()
    assert body["message"] == "Endpoint deployment started: esd-async-test"
    rec = body["data"]
    assert rec["endpoint_name"] == "esd-async-test" and rec["endpoint_status"] == "Creating"
    assert rec["current_instance_count"] == "0" and rec["max_instance_number"] == "1"
    assert rec["min_instance_number"] == "0" and rec["endTime"] is None and rec["status"] is None
    assert rec["owner_group_or_role"] == ["IT Operator"] and rec["autoscaling"] is False

    listed = esd.get("/endpoints").json()["data"]
    assert listed["last_evaluated_key"] is None
    assert listed["endpoints"][0]["endpoint_status"] == "Creating"

    r = esd.post("/endpoints", json=endpoint_body(endpoint_name="other"))
    assert r.status_code == 400
    assert r.json()["message"] == "role [IT Operator] has a valid endpoint already, not allow to have another one"
    r = esd.post("/endpoints", json=endpoint_body(assign_to_roles=["Designer"]))
    assert r.status_code == 400 and "Cannot create already existing model" in r.json()["message"]

    rt = esd.post("/endpoints", json=endpoint_body(endpoint_type="Real-time", assign_to_roles=["byoc"],
                                                   max_instance_number=3)).json()["data"]
    assert rt["endpoint_name"] == "esd-real-time-test" and rt["max_instance_number"] == 3

    def in_service() -> list[dict[str, Any]] | None:
        eps = esd.get("/endpoints").json()["data"]["endpoints"]
        return eps if all(e["endpoint_status"] == "InService" for e in eps) else None

    eps = {e["endpoint_name"]: e for e in wait_for(in_service)}
    assert eps["esd-async-test"]["current_instance_count"] == "2" and eps["esd-async-test"]["endTime"]
    assert eps["esd-real-time-test"]["max_instance_number"] == "3"  # numbers come back as strings

    r = esd.request("DELETE", "/endpoints", json={"endpoint_name_list": ["esd-async-test", "esd-real-time-test",
                                                                        "test"], "username": "x"})
    assert r.status_code == 204
    assert esd.get("/endpoints").json()["data"]["endpoints"] == []
    assert esd.post("/endpoints", json=endpoint_body()).status_code == 202  # name free again


def test_endpoint_create_errors(esd: httpx.Client) -> None:
    def msg(**over: Any) -> str:
        r = esd.post("/endpoints", json=endpoint_body(**over))
        assert r.status_code == 400, r.text
        return r.json()["message"]

    assert "ResourceLimitExceeded" in msg(initial_instance_count=1000)
    assert "ml.g4dn.16xlarge for endpoint usage' is 0 Instances" in msg(instance_type="ml.g4dn.16xlarge",
                                                                         initial_instance_count=9)
    assert msg(endpoint_type="Serverless") == "Serverless endpoint is not supported yet"
    assert msg(endpoint_type="Real-time", autoscaling_enabled=True) == (
        "min_instance_number should be at least 1 for real-time endpoint: test")  # the requested name
    unnamed = {k: v for k, v in endpoint_body(endpoint_type="Real-time", autoscaling_enabled=True).items()
               if k != "endpoint_name"}
    r = esd.post("/endpoints", json=unnamed)
    assert r.json()["message"] == "min_instance_number should be at least 1 for real-time endpoint: None"
    assert msg(custom_extensions="a,b c") == "custom_extensions should be at most 3"
    assert msg(custom_extensions="a", custom_docker_image_uri="img") == (
        "custom_extensions and custom_docker_image_uri cannot be used together")
    assert "object has missing required properties" in esd.post("/endpoints", json={"none": "none"}).text
    r = esd.get("/endpoints", params={"username": "admin_error"})
    assert r.status_code == 400 and 'user: "admin_error" not exist' in r.json()["message"]
    r = esd.post("/endpoints", json=endpoint_body(endpoint_name=None))
    assert r.status_code == 400 and "instance type (null)" in r.json()["message"]
    body = endpoint_body(custom_extensions="a b")
    del body["endpoint_name"]
    r = esd.post("/endpoints", json=body)
    assert r.status_code == 202
    rec = r.json()["data"]
    assert rec["endpoint_name"] == "esd-async-" + rec["EndpointDeploymentJobId"][:7]


def test_endpoint_failure_is_a_setting(esd: httpx.Client, emulator: Any) -> None:
    emulator.settings("esd", endpoint_fail_instance_types=["ml.bad"])
    create_endpoint(esd, wait=False, instance_type="ml.bad")
    ep = wait_for(lambda: [e for e in esd.get("/endpoints").json()["data"]["endpoints"]
                           if e["endpoint_status"] == "Failed"])[0]
    assert ep["error"]
    r = esd.post("/endpoints", json=endpoint_body(endpoint_name="again"))
    assert r.status_code == 400 and "not allow to have another one" in r.json()["message"]


def test_endpoint_list_cursor_is_base64_json(esd: httpx.Client) -> None:
    ids = set()
    for i in range(3):
        esd.post("/roles", json={"role_name": f"r{i}", "permissions": ["x:all"]})
        ids.add(create_endpoint(esd, wait=False, endpoint_name=f"e{i}", assign_to_roles=[f"r{i}"])[
            "EndpointDeploymentJobId"])
    first = esd.get("/endpoints", params={"limit": 2}).json()["data"]
    assert len(first["endpoints"]) == 2
    cursor = json.loads(base64.b64decode(first["last_evaluated_key"]))
    assert set(cursor) == {"EndpointDeploymentJobId"}
    second = esd.get("/endpoints", params={"limit": 2, "exclusive_start_key": first["last_evaluated_key"]}).json()
    assert second["data"]["last_evaluated_key"] is None
    seen = {e["EndpointDeploymentJobId"] for e in first["endpoints"] + second["data"]["endpoints"]}
    assert seen == ids
    one = esd.get("/endpoints", params={"endpointDeploymentJobId": sorted(ids)[0]}).json()["data"]["endpoints"]
    assert [e["EndpointDeploymentJobId"] for e in one] == [sorted(ids)[0]]
    assert esd.get("/endpoints", params={"limit": "ten"}).status_code == 400


# -- inferences ----------------------------------------------------------------------------------------


def test_async_inference_round_trip(esd: httpx.Client, emulator: Any) -> None:
    r = esd.post("/inferences", json={"task_type": "txt2img", "inference_type": "Async", "models": {}})
    assert r.status_code == 400 and r.json()["message"] == 'no available Async endpoints for user "api"'

    ep = create_endpoint(esd)
    upload_checkpoint(esd)
    r = esd.post("/inferences", json={"task_type": "txt2img", "inference_type": "Async",
                                      "models": {"Stable-diffusion": ["nope.safetensors"]}})
    assert r.status_code == 400
    assert r.json()["message"] == "checkpoint with name nope.safetensors, type Stable-diffusion is not found"

    r = esd.post("/inferences", json={"task_type": "txt2img", "inference_type": "Async",
                                      "models": {"Stable-diffusion": [BASE_MODEL], "VAE": ["Automatic"]}})
    assert r.status_code == 201
    inf = r.json()["data"]["inference"]
    assert inf["type"] == "txt2img" and inf["api_params_s3_location"].endswith(f"/infer_v2/{inf['id']}/api_param.json")
    # VAE "Automatic" is a pseudo checkpoint with id "VAE" (inferences/create_inference_job.py)
    assert [(m["id"] == "VAE", m["name"]) for m in inf["models"]] == [(False, [BASE_MODEL]), (True, ["Automatic"])]

    params = {"prompt": "a cat", "batch_size": 2, "steps": 20}
    assert httpx.put(inf["api_params_s3_upload_url"], content=json.dumps(params)).status_code == 200
    got = esd.get(f"/inferences/{inf['id']}").json()["data"]
    assert got["status"] == "created" and got["img_presigned_urls"] == []
    assert len(got["output_presigned_urls"]) == 1 and "completeTime" not in got

    r = esd.put(f"/inferences/{inf['id']}/start")
    assert r.status_code == 202
    started = r.json()["data"]["inference"]
    assert started["status"] == "inprogress" and started["endpoint_name"] == ep["endpoint_name"]
    assert started["output_path"].endswith(".out")

    done = wait_for(lambda: (d := esd.get(f"/inferences/{inf['id']}").json()["data"])["status"] == "succeed" and d)
    assert done["image_names"] == ["image_0.png", "image_1.png"] and len(done["img_presigned_urls"]) == 2
    png = httpx.get(done["img_presigned_urls"][0])
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    info = httpx.get(done["output_presigned_urls"][0]).json()
    assert info["parameters"] == params

    listed = esd.get("/inferences", params={"username": "api"}).json()["data"]["inferences"]
    row = next(x for x in listed if x["InferenceJobId"] == inf["id"])
    assert row["status"] == "succeed" and "sagemakerRaw" in row and row["sagemakerRaw"] is None
    assert esd.get("/inferences", params={"type": "img2img"}).json()["data"]["inferences"] == []

    assert esd.request("DELETE", "/inferences", json={"inference_id_list": [inf["id"], "bad"]}).status_code == 204
    r = esd.get(f"/inferences/{inf['id']}")
    assert r.status_code == 404 and r.json()["message"] == f"inference with id {inf['id']} not found"
    assert not any(inf["id"] in k for k in blob_keys(emulator))


def test_inference_errors(esd: httpx.Client) -> None:
    r = esd.post("/inferences", json={"task_type": "txt2img", "inference_type": "Async", "models": {},
                                      "payload_string": "string"}, headers={"username": ""})
    assert r.status_code == 400 and r.json()["message"] == "payload_string must be valid json string"
    create_endpoint(esd)
    r = esd.post("/inferences", json={"task_type": "paint", "inference_type": "Async", "models": {}})
    assert r.status_code == 400 and r.json()["message"].startswith("task type paint should be in")
    r = esd.put("/inferences/not_exists/start")
    assert r.status_code == 400 and r.json()["message"] == "InferenceJobId not_exists not found"
    r = esd.get("/inferences/not_exists")
    assert r.status_code == 404 and r.json()["message"] == "inference with id not_exists not found"
    r = esd.post("/inferences", json={"task_type": "rembg", "inference_type": "Async", "models": {},
                                      "sagemaker_endpoint_name": "esd-async-nope"})
    assert r.status_code == 400 and r.json()["message"] == "list index out of range"
    # started without uploaded parameters: the job fails
    inf = esd.post("/inferences", json={"task_type": "rembg", "inference_type": "Async", "models": {}}).json()
    job_id = inf["data"]["inference"]["id"]
    esd.put(f"/inferences/{job_id}/start")
    failed = wait_for(lambda: (d := esd.get(f"/inferences/{job_id}").json()["data"])["status"] == "failed" and d)
    assert failed["sagemakerRaw"]


def give_api_byoc(c: httpx.Client) -> None:
    """Endpoints are visible through roles: let ``api`` use the byoc endpoint too (as the suite does)."""
    r = c.post("/users", json={"username": "api", "password": "admin", "roles": ["IT Operator", "byoc"]})
    assert r.status_code == 201


def test_payload_string_starts_in_one_call_and_realtime_answers_200(esd: httpx.Client) -> None:
    create_endpoint(esd)
    create_endpoint(esd, endpoint_type="Real-time", assign_to_roles=["byoc"])
    r = esd.post("/inferences", json={"task_type": "txt2img", "inference_type": "Real-time", "models": {}})
    assert r.status_code == 400 and r.json()["message"] == 'no available Real-time endpoints for user "api"'
    give_api_byoc(esd)
    payload = json.dumps({"prompt": "x"})
    r = esd.post("/inferences", json={"task_type": "txt2img", "inference_type": "Real-time", "models": {},
                                      "payload_string": payload})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["status"] == "succeed" and data["img_presigned_urls"]
    r = esd.post("/inferences", json={"task_type": "txt2img", "inference_type": "Async", "models": {},
                                      "payload_string": payload})
    assert r.status_code == 202 and r.json()["data"]["inference"]["inference_id"]

    inf = esd.post("/inferences", json={"task_type": "extra-single-image", "inference_type": "Real-time",
                                        "models": {}}).json()["data"]["inference"]
    assert "models" not in inf
    httpx.put(inf["api_params_s3_upload_url"], content=b'{"image": "x"}')
    r = esd.put(f"/inferences/{inf['id']}/start")
    assert r.status_code == 200 and r.json()["data"]["InferenceJobId"] == inf["id"]


def test_slow_realtime_start_times_out_at_the_gateway(esd: httpx.Client, emulator: Any) -> None:
    create_endpoint(esd, endpoint_type="Real-time", assign_to_roles=["byoc"])
    give_api_byoc(esd)
    emulator.settings("esd", inference_realtime_seconds=0.6, gateway_timeout_seconds=0.2)
    r = esd.post("/inferences", json={"task_type": "txt2img", "inference_type": "Real-time", "models": {},
                                      "payload_string": "{}"})
    assert r.status_code == 504 and r.json() == {"message": "Endpoint request timed out"}
    listed = esd.get("/inferences").json()["data"]["inferences"]
    job_id = listed[0]["InferenceJobId"]
    wait_for(lambda: esd.get(f"/inferences/{job_id}").json()["data"]["status"] == "succeed")


# -- trainings and datasets ---------------------------------------------------------------------------


def test_dataset_lifecycle(esd: httpx.Client, emulator: Any) -> None:
    r = esd.get("/datasets/not_exists")
    assert r.status_code == 404 and "dataset not_exists is not found" in r.json()["message"]
    assert esd.get("/datasets").json()["data"] == {"datasets": []}
    r = esd.post("/datasets", json={"dataset_name": "ds", "creator": "api", "params": {},
                                    "content": [{"filename": "a.png", "name": "a", "type": "image"}]})
    assert r.status_code == 400 and "missing 1 required positional argument: 'params'" in r.json()["message"]

    r = esd.post("/datasets", json={"dataset_name": "ds", "creator": "api", "params": {"description": "d"},
                                    "content": [{"filename": "a.png", "name": "a.png", "type": "image",
                                                 "params": {}}]})
    assert r.status_code == 201
    data = r.json()["data"]
    assert data["datasetName"] == "ds" and set(data["s3PresignUrl"]) == {"a.png"}
    assert httpx.put(data["s3PresignUrl"]["a.png"], content=b"img-bytes").status_code == 200

    r = esd.put("/datasets/ds", json={"status": "Bogus"})
    assert r.status_code == 400 and r.json()["message"] == "'Bogus'"
    r = esd.put("/datasets/ds", json={"status": "Enabled"})
    assert r.status_code == 200 and r.json()["data"] == {"datasetName": "ds", "status": "Enabled"}

    listed = esd.get("/datasets").json()["data"]["datasets"]
    assert listed[0]["datasetName"] == "ds" and listed[0]["status"] == "Enabled"
    assert isinstance(listed[0]["timestamp"], str) and listed[0]["description"] == "d"
    got = esd.get("/datasets/ds").json()["data"]
    assert got["dataset_name"] == got["datasetName"] == "ds" and got["status"] == "Enabled"
    item = got["data"][0]
    assert item["name"] == "a.png" and item["dataStatus"] == "Enabled"
    assert httpx.get(item["preview_url"]).content == b"img-bytes"

    r = esd.request("DELETE", "/datasets", json={"dataset_name_list": ["ds"]}, headers={"username": ""})
    assert r.status_code == 204
    assert esd.get("/datasets/ds").status_code == 404
    assert not any(k.startswith("dataset/ds/") for k in blob_keys(emulator))


def test_training_lifecycle(esd: httpx.Client, emulator: Any) -> None:
    base_id = upload_checkpoint(esd)
    create_dataset(esd)
    r = esd.post("/trainings", json=training_body())
    assert r.status_code == 201
    data = r.json()["data"]
    assert data["status"] == "Training" and isinstance(data["created"], str)
    tp = data["params"]["training_params"]
    assert tp["s3_model_path"].endswith(f"{base_id}/{BASE_MODEL}") and tp["s3_data_path"].endswith("dataset_name")
    assert data["params"]["training_type"] == "kohya"
    # the POST reply echoes the request's numbers (trainings/create_training_job.py); reads give strings
    assert data["params"]["config_params"]["saving_arguments"]["save_every_n_epochs"] == 1
    assert data["output_location"].endswith(f"kohya/train/{data['id']}/output")

    seen = set()

    def completed() -> bool:
        job = esd.get(f"/trainings/{data['id']}").json()["data"]
        seen.add(job["job_status"])
        return job["job_status"] == "Completed"

    wait_for(completed, interval=0.02)
    assert len(seen) >= 2
    job = esd.get(f"/trainings/{data['id']}").json()["data"]
    assert job["params"]["config_params"]["saving_arguments"]["save_every_n_epochs"] == "1"
    assert job["model_id"] == "kohya" and job["checkpoint_id"] == data["id"] and isinstance(job["timestamp"], str)

    out = [c for c in esd.get("/checkpoints").json()["data"]["checkpoints"] if c["id"] == data["id"]][0]
    assert out["status"] == "Active" and out["name"] == ["train_model_name.safetensors"] and out["type"] == "Lora"

    rows = esd.get("/trainings").json()["data"]["trainings"]
    assert [t["id"] for t in rows] == [data["id"]] and rows[0]["modelName"] == "not_applied"
    add_user(esd, "other", ["train:all"])
    assert esd.get("/trainings", headers={"username": "other"}).json()["data"]["trainings"] == []

    r = esd.request("DELETE", "/trainings", json={"training_id_list": [data["id"], "id"]})
    assert r.status_code == 204
    assert esd.get(f"/trainings/{data['id']}").status_code == 404
    keys = blob_keys(emulator)
    assert not any(k.endswith(f"{base_id}/{BASE_MODEL}") for k in keys)  # 1.5.0 deletes the base model file
    assert any(c["id"] == data["id"] for c in esd.get("/checkpoints").json()["data"]["checkpoints"])


def test_training_errors_and_failure_settings(esd: httpx.Client, emulator: Any) -> None:
    r = esd.get("/trainings/job_uuid")
    assert r.status_code == 404 and r.json()["message"] == "Job with id job_uuid not found"
    assert esd.get("/trainings/job_uuid", headers={"username": ""}).status_code == 401
    r = esd.post("/trainings", json={**training_body(), "extra": 1})
    assert r.status_code == 400 and "unexpected keyword argument 'extra'" in r.json()["message"]
    assert esd.post("/trainings", json=training_body()).json()["message"] == "Model not found"
    upload_checkpoint(esd)
    assert esd.post("/trainings", json=training_body()).json()["message"] == "Dataset not found"
    create_dataset(esd)
    r = esd.post("/trainings", json={**training_body(), "lora_train_type": "dreambooth"})
    assert r.json()["message"] == "Invalid lora train type: dreambooth, the valid value is kohya."
    assert esd.post("/trainings", json=training_body(model="")).json()["message"] == "Missing training_params.model"
    assert esd.post("/trainings", json=training_body(fm_type="sd_3")).json()["message"].startswith("Invalid fm_type")

    emulator.settings("esd", training_fail_models=[BASE_MODEL])
    job_id = esd.post("/trainings", json=training_body()).json()["data"]["id"]
    wait_for(lambda: esd.get(f"/trainings/{job_id}").json()["data"]["job_status"] == "Failed")

    emulator.patch("esd", "training", job_id, job_status="LaunchingMLInstances")
    r = esd.get("/trainings")
    assert r.status_code == 400 and r.json()["message"] == "'LaunchingMLInstances'"
    assert esd.get(f"/trainings/{job_id}").status_code == 200
    assert esd.request("DELETE", "/trainings", json={"training_id_list": [job_id]}).status_code == 204

    emulator.settings("esd", training_fail_instance_types=["ml.p5.48xlarge"])
    r = esd.post("/trainings", json=training_body(training_instance_type="ml.p5.48xlarge"))
    assert r.status_code == 400 and "ResourceLimitExceeded" in r.json()["message"]
    objs = emulator.objects("esd")
    assert "training" not in objs
    leftovers = [c for c in objs["checkpoint"].values() if c["checkpoint_names"] == ["train_model_name"]]
    assert len(leftovers) == 2  # the failed run's and the start-failure's output checkpoints stay behind


# -- presigned URLs, restart, admin, faults -------------------------------------------------------------


def test_presigned_urls_are_checked(esd: httpx.Client) -> None:
    r = esd.post("/datasets", json={"dataset_name": "ds", "creator": "api", "params": {},
                                    "content": [{"filename": "a.png", "name": "a", "type": "t", "params": {}}]})
    url = r.json()["data"]["s3PresignUrl"]["a.png"]
    tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    r = httpx.put(tampered, content=b"x")
    assert r.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in r.content
    assert httpx.put(url.replace("/a.png?", "/b.png?"), content=b"x").status_code == 403
    assert httpx.get(url).status_code == 403  # signed for PUT only
    assert httpx.put(url, content=b"x").status_code == 200


def test_state_survives_a_restart(esd: httpx.Client, emulator: Any) -> None:
    esd.post("/roles", json={"role_name": "durable", "permissions": ["train:all"]})
    create_dataset(esd, "keep", {"k.png": b"kept-bytes"})
    preview = esd.get("/datasets/keep").json()["data"]["data"][0]["preview_url"]
    emulator.restart()
    assert "durable" in [x["role_name"] for x in esd.get("/roles").json()["data"]["roles"]]
    assert httpx.get(preview).content == b"kept-bytes"
    assert esd.get("/datasets/keep").json()["data"]["status"] == "Enabled"


def test_admin_lists_patches_and_resets(esd: httpx.Client, emulator: Any) -> None:
    objs = emulator.objects("esd")
    assert set(objs["role"]) == {"IT Operator", "byoc"} and set(objs["user"]) == {"api"}
    rec = create_endpoint(esd, wait=False)
    time.sleep(0.4)
    assert emulator.objects("esd")["endpoint"][rec["EndpointDeploymentJobId"]]["endpoint_status"] == "InService"
    emulator.patch("esd", "endpoint", rec["EndpointDeploymentJobId"], endpoint_status="Updating")
    assert esd.get("/endpoints").json()["data"]["endpoints"][0]["endpoint_status"] == "Updating"
    esd.post("/roles", json={"role_name": "temp", "permissions": ["x:all"]})
    emulator.reset("esd")
    objs = emulator.objects("esd")
    assert set(objs) == {"role", "user"} and set(objs["role"]) == {"IT Operator", "byoc"}


def test_injected_fault_uses_the_vendor_envelope(esd: httpx.Client, emulator: Any) -> None:
    emulator.arm_fault("esd", method="GET", path="/prod/roles", status=500, message="boom")
    r = esd.get("/roles")
    assert r.status_code == 500 and r.json() == {"statusCode": 500, "message": "boom"}
    emulator.arm_fault("esd", method="PUT", path="/prod/inferences/.*/start", status=504,
                       message="Endpoint request timed out")
    r = esd.put("/inferences/x/start")
    assert r.status_code == 504 and r.json() == {"message": "Endpoint request timed out"}
    assert esd.get("/roles").status_code == 200  # times=1


def test_injected_latency(esd: httpx.Client, emulator: Any) -> None:
    emulator.arm_fault("esd", path="/prod/ping", latency_s=0.3)
    t = time.monotonic()
    assert esd.get("/ping").status_code == 200
    assert time.monotonic() - t >= 0.3


def test_dropped_response_still_creates_the_object(esd: httpx.Client, emulator: Any) -> None:
    emulator.arm_fault("esd", method="POST", path="/prod/roles", drop_response=True)
    with pytest.raises(httpx.TransportError):
        esd.post("/roles", json={"role_name": "ghostly", "permissions": ["train:all"]})
    assert "ghostly" in emulator.objects("esd")["role"]
    assert "ghostly" in [x["role_name"] for x in esd.get("/roles").json()["data"]["roles"]]
