"""Issue 18.5: the ESD emulator against the ESD v1.5.0 product source, one test per family.

The source is the public awslabs/stable-diffusion-aws-extension repository at tag v1.5.0: API Gateway
request models in infrastructure/src/api/<family>/*.ts, Lambda handlers in middleware_api/lambda/.
Each test names the file its expectation comes from. Plain HTTP, nothing from providers/.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest

from emulator import defaults
from tests.emulator.test_esd_contract import (  # noqa: F401  (fixtures)
    BASE_MODEL,
    add_user,
    create_dataset,
    create_endpoint,
    esd,
    raw,
    training_body,
    upload_checkpoint,
)

KEY = defaults.ESD_API_KEY


def message(r: httpx.Response) -> str:
    return r.json()["message"]


@pytest.fixture
def ready(esd: httpx.Client) -> httpx.Client:  # noqa: F811
    """A base model and a dataset, so a training request gets as far as its own checks."""
    upload_checkpoint(esd)
    create_dataset(esd)
    return esd


# -- family 1: trainings refuse what common/util.py query_data refuses (missing or falsy) -----------------
@pytest.mark.parametrize("section, key, value, path", [
    ("training_params", "model", "", "training_params.model"),
    ("training_params", "dataset", "", "training_params.dataset"),
    ("training_params", "fm_type", "", "training_params.fm_type"),
    ("saving_arguments", "output_name", "", "config_params.saving_arguments.output_name"),
    ("saving_arguments", "save_every_n_epochs", 0, "config_params.saving_arguments.save_every_n_epochs"),
    ("training_arguments", "max_train_epochs", 0, "config_params.training_arguments.max_train_epochs"),
])
def test_training_refuses_falsy_values(ready: httpx.Client, section: str, key: str, value: Any, path: str) -> None:
    body = training_body()
    target = body["params"]["training_params"] if section == "training_params" else \
        body["params"]["config_params"][section]
    target[key] = value
    r = ready.post("/trainings", json=body)
    assert r.status_code == 400, r.text
    assert message(r) == f"Missing {path}"
    assert ready.get("/trainings").json()["data"]["trainings"] == []


def test_training_instance_type_may_be_empty(ready: httpx.Client) -> None:
    """trainings/create_training_job.py falls back to the stack's instance type; no 'Missing' rule."""
    r = ready.post("/trainings", json=training_body(training_instance_type=""))
    assert r.status_code == 201, r.text


# -- family 2: minLength 1 rules of the request models ----------------------------------------------------
@pytest.mark.parametrize("method, path, body", [
    ("POST", "/users", {"username": "u1", "password": "pw", "roles": [""]}),            # users/create-user.ts
    ("POST", "/checkpoints", {"checkpoint_type": "Lora", "params": {}, "urls": [""]}),  # create-chekpoint.ts
    ("DELETE", "/checkpoints", {"checkpoint_id_list": [""]}),                           # delete-checkpoints.ts
    ("DELETE", "/inferences", {"inference_id_list": [""]}),                             # delete-inference-jobs.ts
    ("DELETE", "/trainings", {"training_id_list": [""]}),                               # delete-training-jobs.ts
    ("POST", "/datasets", {"dataset_name": "ds", "creator": "", "params": {},           # create-dataset.ts
                           "content": [{"filename": "a", "name": "a", "type": "t", "params": {}}]}),
    ("PUT", "/datasets/ds", {"status": ""}),                                            # update-dataset.ts
])
def test_min_length_rules(esd: httpx.Client, method: str, path: str, body: dict[str, Any]) -> None:  # noqa: F811
    r = esd.request(method, path, json=body)
    assert r.status_code == 400, r.text
    assert 'string "" is too short (length: 0, required minimum: 1)' in message(r)
    assert "x-api-version" not in r.headers  # the gateway's validator answered, not the Lambda


# -- family 3: rules the source does not have ------------------------------------------------------------
def test_creator_is_not_type_checked_on_roles_and_users(esd: httpx.Client) -> None:  # noqa: F811
    """roles/create-role.ts and users/create-user.ts declare no ``creator``; the dataclasses ignore it."""
    r = esd.post("/roles", json={"role_name": "r1", "permissions": ["train:all"], "creator": 5})
    assert r.status_code == 201, r.text
    r = esd.post("/users", json={"username": "u1", "password": "pw", "roles": ["r1"], "creator": 5})
    assert r.status_code == 201, r.text


def test_deleting_users_checks_no_roles(esd: httpx.Client, raw: httpx.Client) -> None:  # noqa: F811
    """users/delete_users.py: a ``user:all`` holder deletes any user, whatever roles that user holds."""
    add_user(esd, "admin2", ["user:all", "train:list"])
    assert esd.post("/roles", json={"role_name": "trainers", "permissions": ["train:all"]}).status_code == 201
    assert esd.post("/users", json={"username": "t1", "password": "pw", "roles": ["trainers"]}).status_code == 201
    r = raw.request("DELETE", "/users", json={"user_name_list": ["t1", "ghost"]},
                    headers={"x-api-key": KEY, "username": "admin2"})
    assert r.status_code == 204, r.text
    assert [u["username"] for u in esd.get("/users").json()["data"]["users"]] == ["api", "admin2"]
    # users/create_user.py checks the existing roles before it reports a missing one
    r = raw.post("/users", json={"username": "t2", "password": "pw", "roles": ["ghost", "trainers"]},
                 headers={"x-api-key": KEY, "username": "admin2"})
    assert (r.status_code, message(r)) == (403, "creator has no permission to assign permission [train:all] to others")


def test_dataset_item_keys_are_not_required_by_the_model(esd: httpx.Client) -> None:  # noqa: F811
    """datasets/create-dataset.ts lists no required item keys: the Lambda's DataUploadEvent refuses."""
    r = esd.post("/datasets", json={"dataset_name": "ds", "creator": "api", "params": {},
                                    "content": [{"name": "a", "type": "t", "params": {}}]})
    assert r.status_code == 400
    assert message(r) == "DataUploadEvent.__init__() missing 1 required positional argument: 'filename'"


# -- family 4: dataset item keys (datasets/get_dataset.py, libs/data_types.py) ---------------------------
def test_dataset_item_keys(esd: httpx.Client) -> None:  # noqa: F811
    r = esd.post("/datasets", json={"dataset_name": "ds", "creator": "api", "prefix": "10_technic", "params": {},
                                    "content": [{"filename": "a.png", "name": "cat", "type": "image",
                                                 "params": {"caption": "c"}}]})
    assert r.status_code == 201, r.text
    upload = urlsplit(r.json()["data"]["s3PresignUrl"]["a.png"]).path
    assert unquote(upload).endswith("/dataset/ds/10_technic/a.png")  # uploads go by filename
    got = esd.get("/datasets/ds").json()["data"]
    assert got["s3"].endswith("/dataset/ds/10_technic")
    item = got["data"][0]
    ts, _, name = item["key"].partition("_")  # the item's sort key, <timestamp>_<name>
    assert name == "cat" and float(ts) > 0
    assert unquote(urlsplit(item["preview_url"]).path).endswith("/dataset/ds/10_technic/cat")  # by name
    assert item["original_file_name"] == "a.png" and item["caption"] == "c"
    listed = esd.get("/datasets").json()["data"]["datasets"]
    assert listed[0]["s3"] == got["s3"]


def test_datasets_without_owners_are_for_user_all_holders(esd: httpx.Client, raw: httpx.Client,  # noqa: F811
                                                          emulator: Any) -> None:
    assert esd.post("/datasets", json={"dataset_name": "legacy", "creator": "api", "params": {}, "content": [
        {"filename": "f", "name": "f", "type": "t", "params": {}}]}).status_code == 201
    emulator.admin.patch("/objects/esd/dataset/legacy", json={"allowed_roles_or_users": []}).raise_for_status()
    assert [d["datasetName"] for d in esd.get("/datasets").json()["data"]["datasets"]] == ["legacy"]
    add_user(esd, "trainer", ["train:all"])
    trainer = {"x-api-key": KEY, "username": "trainer"}
    assert raw.get("/datasets", headers=trainer).json()["data"]["datasets"] == []
    r = raw.get("/datasets/legacy", headers=trainer)
    assert (r.status_code, message(r)) == (403, "no permission to view dataset")


def test_datasets_listed_newest_first(esd: httpx.Client) -> None:  # noqa: F811
    """datasets/list_datasets.py sorts by timestamp, descending (the scan order is by name)."""
    for name in ("a_first", "b_second", "c_third")[::-1]:
        assert esd.post("/datasets", json={"dataset_name": name, "creator": "api", "params": {}, "content": [
            {"filename": "f", "name": "f", "type": "t", "params": {}}]}).status_code == 201
    names = [d["datasetName"] for d in esd.get("/datasets").json()["data"]["datasets"]]
    assert names == ["a_first", "b_second", "c_third"]


# -- family 5: s3_toml_path (trainings/create_training_job.py, common/const.py) --------------------------
@pytest.mark.parametrize("fm_type, toml", [("sd_1_5", "kohya_config_cloud.toml"),
                                           ("SD_XL", "kohya_config_cloud_xl.toml")])
def test_s3_toml_path(ready: httpx.Client, fm_type: str, toml: str) -> None:
    r = ready.post("/trainings", json=training_body(fm_type=fm_type))
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    assert data["params"]["training_params"]["s3_toml_path"] == f"{data['input_location']}/{toml}"


def test_training_params_keep_what_the_request_sent(ready: httpx.Client) -> None:
    body = training_body()
    body["params"]["training_params"]["extra_key"] = "kept"
    body["params"]["config_params"]["additional_network"] = {"network_module": "networks.lora"}
    data = ready.post("/trainings", json=body).json()["data"]
    tp = data["params"]["training_params"]
    assert tp["extra_key"] == "kept" and "model" not in tp and "dataset" not in tp
    # 1.5.0 compares the module name with an Enum member: never equal, so the output is "Stable-diffusion".
    ckpts = ready.get("/checkpoints", params={"per_page": 50}).json()["data"]["checkpoints"]
    assert [c["type"] for c in ckpts if c["id"] == data["id"]] == ["Stable-diffusion"]


# -- family 6: the initial user's all_roles (users/create_user.py) ---------------------------------------
def test_initial_user_all_roles_is_the_fixed_pair(esd: httpx.Client, raw: httpx.Client) -> None:  # noqa: F811
    assert esd.post("/roles", json={"role_name": "aaa_extra", "permissions": ["train:all"]}).status_code == 201
    r = raw.post("/users", json={"username": "boot", "password": "pw", "initial": True}, headers={"x-api-key": KEY})
    assert r.status_code == 201, r.text
    assert r.json()["data"]["all_roles"] == ["IT Operator", "byoc"]


# -- family 7: type-error texts name the handler's own dataclass ------------------------------------------
@pytest.mark.parametrize("path, body, cls", [
    ("/roles", {"role_name": "r", "permissions": ["train:all"], "bogus": 1}, "UpsertRoleEvent"),
    ("/trainings", {**training_body(), "bogus": 1}, "Event"),
    ("/inferences", {"task_type": "txt2img", "inference_type": "Async", "models": {}, "bogus": 1},
     "CreateInferenceEvent"),
])
def test_type_error_texts(esd: httpx.Client, path: str, body: dict[str, Any], cls: str) -> None:  # noqa: F811
    r = esd.post(path, json=body)
    assert r.status_code == 400
    assert message(r) == f"{cls}.__init__() got an unexpected keyword argument 'bogus'"


def test_checkpoint_items_are_read_in_the_handlers_order(esd: httpx.Client, raw: httpx.Client) -> None:  # noqa: F811
    """checkpoints/create_checkpoint.py: permission, then ``file['filename']`` in the name check, then
    ``MultipartFileReq(**f)`` in libs/common_tools.py while presigning."""
    def post(items: list[dict[str, Any]], **headers: str) -> httpx.Response:
        return raw.post("/checkpoints", json={"checkpoint_type": "Lora", "params": {}, "filenames": items},
                        headers={"x-api-key": KEY, **headers})

    assert post([{"parts_number": 1}]).status_code == 401  # no user: the permission check comes first
    r = post([{"parts_number": 1}], username="api")
    assert (r.status_code, message(r)) == (400, "'filename'")
    r = post([{"filename": "x.safetensors"}], username="api")
    assert (r.status_code, message(r)) == (
        400, "MultipartFileReq.__init__() missing 1 required positional argument: 'parts_number'")
    assert esd.get("/checkpoints").json()["data"]["checkpoints"] == []


def test_empty_query_values_read_as_the_handlers_read_them(esd: httpx.Client) -> None:  # noqa: F811
    """roles/list_roles.py and users/list_users.py list everything for an empty ``role``/``username``;
    the list handlers convert ``page``/``limit`` with ``int()``, so an empty one is a 400."""
    assert [r["role_name"] for r in esd.get("/roles", params={"role": ""}).json()["data"]["roles"]] == [
        "byoc", "IT Operator"]
    assert [u["username"] for u in esd.get("/users", params={"username": ""}).json()["data"]["users"]] == ["api"]
    for path, name in (("/checkpoints", "page"), ("/endpoints", "limit"), ("/trainings", "limit")):
        r = esd.get(path, params={name: ""})
        assert (r.status_code, message(r)) == (400, "invalid literal for int() with base 10: ''"), path


def test_inference_create_follows_the_handler(esd: httpx.Client) -> None:  # noqa: F811
    """inferences/create_inference_job.py: VAE "Automatic" is a pseudo checkpoint, used models are named
    by the checkpoint's first name, and only a request without ``payload_string`` gets an upload URL."""
    upload_checkpoint(esd)
    create_endpoint(esd)
    r = esd.post("/inferences", json={"task_type": "txt2img", "inference_type": "Async",
                                      "models": {"Stable-diffusion": [BASE_MODEL], "VAE": ["Automatic"]}})
    assert r.status_code == 201, r.text
    job = esd.get(f"/inferences/{r.json()['data']['inference']['id']}").json()["data"]
    assert job["params"]["used_models"]["VAE"] == [{"id": "VAE", "model_name": "Automatic", "s3": "None",
                                                    "type": "VAE"}]
    r = esd.post("/inferences", json={"task_type": "txt2img", "inference_type": "Async", "models": {},
                                      "payload_string": ""})
    assert r.status_code == 201, r.text
    data = r.json()["data"]["inference"]
    assert data["api_params_s3_upload_url"] is None
    assert esd.get(f"/inferences/{data['id']}").json()["data"]["status"] == "created"  # not started
    r = esd.post("/inferences", json={"task_type": "rembg", "inference_type": "Async", "models": {}})
    assert "used_models" not in esd.get(f"/inferences/{r.json()['data']['inference']['id']}").json()["data"]["params"]


# -- family 8: message wordings (roles/create_role.py, libs/utils.py, endpoints/create_endpoint.py) -----
def test_create_role_wordings(esd: httpx.Client, raw: httpx.Client) -> None:  # noqa: F811
    body = {"role_name": "boot_role", "permissions": ["train:all"], "initial": True}
    r = raw.post("/roles", json=body, headers={"x-api-key": KEY})
    assert (r.status_code, message(r)) == (401, "Unauthorized")  # get_user_name: no header user
    r = raw.post("/roles", json=body, headers={"x-api-key": KEY, "username": "ghost"})
    assert (r.status_code, message(r)) == (400, 'user: "ghost" not exist')
    add_user(esd, "trainer", ["train:all"])
    r = raw.post("/roles", json=body, headers={"x-api-key": KEY, "username": "trainer"})
    assert (r.status_code, message(r)) == (400, "'role'")  # creator_permissions['role']
    add_user(esd, "maker", ["role:create", "train:all"])
    maker = {"x-api-key": KEY, "username": "maker"}
    assert raw.post("/roles", json={"role_name": "own", "permissions": ["train:all"]}, headers=maker).status_code == 201
    r = raw.post("/roles", json={"role_name": "own", "permissions": ["train:all"]}, headers=maker)
    assert (r.status_code, message(r)) == (400, "'list' object has no attribute 'items'")
