"""ESD creates that must be safe to repeat, waits that ride out outages, no silent adoption,
replacements that can succeed, and minimal requests. Faults are armed through the emulator's
admin surface; request counts come from a spy on the client's transport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from providers.core import CreatedButFailed, ResourceError, runtime
from providers.esd.checkpoint import CheckpointHandler
from providers.esd.dataset import DatasetHandler
from providers.esd.endpoint import EndpointHandler
from providers.esd.inference import InferenceJobHandler
from providers.esd.role import RoleHandler
from providers.esd.training import TrainingJobHandler
from providers.esd.user import UserHandler
from tests.providers.support import checked, esd_config, provider, raw_api
from tests.providers.test_esd_lifecycle import FAST, leftovers

SD_URL = "https://models.example.com/sd/recover-base.safetensors"


@pytest.fixture(autouse=True)
def project_server(monkeypatch):
    """These tests look at what the project's provider server records (CreatedButFailed kept as
    partial state); the stock server's cleanup path is tested in test_esd_lifecycle.py."""
    monkeypatch.setattr(runtime, "partial_state_supported", True)


BUILT_INS: dict[str, Any] = {}
# Delays the provider's first look already finds over: every wait is a real wait (the objects go
# through their states), without the 0.5 s pause before a second poll. Tests about a wait set longer
# ones (the deleted endpoint name below, the outage past the deadline).
QUICK = {k: 0.001 for k in FAST}


@pytest.fixture
def esd(emulator):
    emulator.reset("esd")
    emulator.settings("esd", **QUICK)
    baseline = emulator.objects("esd")
    BUILT_INS.clear()
    BUILT_INS.update(baseline)
    yield esd_config(emulator)
    assert leftovers(emulator.objects("esd"), baseline) == {}


@pytest.fixture
def calls(mocker):
    """Every request the ESD client sends, as (method, path, params) - across handlers."""
    from providers.esd.client import EsdClient

    seen: list[tuple[str, str, dict[str, list[str]]]] = []
    real = EsdClient.request

    def spy(self, operation, method, path, **kw):
        seen.append((method.upper(), path, {k: v if isinstance(v, list) else [v]
                                            for k, v in (kw.get("params") or {}).items()}))
        return real(self, operation, method, path, **kw)

    mocker.patch.object(EsdClient, "request", spy)
    return seen


def no_sleep(p, mocker):
    return mocker.patch.object(p.impl.client, "_sleep")


def cause(err: pytest.ExceptionInfo) -> Any:
    exc = err.value
    return getattr(exc, "cause", exc)


def objects(emulator, kind: str) -> dict[str, Any]:
    return emulator.objects("esd").get(kind, {})


def weights(tmp_path: Path, name: str = "tiny-lora.safetensors") -> Path:
    f = tmp_path / name
    f.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      " * 100)
    return f


# -- 8.1 lost create replies ---------------------------------------------------------------------

def test_file_checkpoint_survives_a_dropped_create_reply(esd, emulator, tmp_path):
    p = provider(CheckpointHandler, esd)
    inputs = checked(p, {"checkpoint_type": "Lora", "source_file": str(weights(tmp_path)), "part_size_mb": 5})
    emulator.arm_fault("esd", method="POST", path="/prod/checkpoints", drop_response=True, times=1)
    created = p.create(inputs)
    assert created.outs["status"] == "Active" and created.outs["file_names"] == ["tiny-lora.safetensors"]
    ckpts = objects(emulator, "checkpoint")
    assert list(ckpts) == [created.id] and ckpts[created.id]["checkpoint_status"] == "Active"
    # the first create's multipart upload went with its checkpoint: no open upload is left
    assert [u["key"] for u in objects(emulator, "upload").values() if not u.get("completed")] == []
    p.delete(created.id, created.outs)


def test_file_checkpoint_whose_replies_are_all_lost_leaves_nothing(esd, emulator, mocker, tmp_path):
    p = provider(CheckpointHandler, esd)
    no_sleep(p, mocker)
    inputs = checked(p, {"checkpoint_type": "Lora", "source_file": str(weights(tmp_path)), "part_size_mb": 5})
    emulator.arm_fault("esd", method="POST", path="/prod/checkpoints", drop_response=True, times=-1)
    with pytest.raises(ResourceError) as err:
        p.create(inputs)
    emulator.clear_faults()
    assert "failed without a response" in str(err.value)
    # every send made an Initial checkpoint; each was found by its marker and deleted
    assert objects(emulator, "checkpoint") == {}
    assert [u for u in objects(emulator, "upload").values() if not u.get("completed")] == []


def test_url_checkpoint_survives_a_dropped_create_reply(esd, emulator, calls):
    p = provider(CheckpointHandler, esd)
    inputs = checked(p, {"checkpoint_type": "Stable-diffusion", "source_url": SD_URL})
    emulator.arm_fault("esd", method="POST", path="/prod/checkpoints", drop_response=True, times=1)
    created = p.create(inputs)
    assert created.outs["file_names"] == ["recover-base.safetensors"]
    assert list(objects(emulator, "checkpoint")) == [created.id]
    assert len([c for c in calls if c[0] == "POST"]) == 1  # the download it started was waited for
    p.delete(created.id, created.outs)


def test_url_checkpoint_is_sent_again_when_nothing_arrives_after_a_5xx(esd, emulator, mocker, calls):
    mocker.patch("providers.esd.checkpoint.URL_GRACE_S", 0.5)
    p = provider(CheckpointHandler, esd)
    emulator.arm_fault("esd", method="POST", path="/prod/checkpoints", status=502, message="Bad Gateway", times=1)
    created = p.create(checked(p, {"checkpoint_type": "Stable-diffusion", "source_url": SD_URL}))
    assert len([c for c in calls if c[0] == "POST"]) == 2
    assert list(objects(emulator, "checkpoint")) == [created.id]
    p.delete(created.id, created.outs)


def test_url_checkpoint_keeps_sending_while_every_reply_is_lost(esd, emulator, mocker, calls):
    """Two 502s in a row (the chaos run's hang: after the second lost reply the create waited out
    its whole deadline for a download nobody had started)."""
    mocker.patch("providers.esd.checkpoint.URL_GRACE_S", 0.5)
    p = provider(CheckpointHandler, esd)
    emulator.arm_fault("esd", method="POST", path="/prod/checkpoints", status=502, message="Bad Gateway", times=2)
    created = p.create(checked(p, {"checkpoint_type": "Stable-diffusion", "source_url": SD_URL,
                                   "wait_timeout_s": 60}))
    assert len([c for c in calls if c[0] == "POST"]) == 3
    assert list(objects(emulator, "checkpoint")) == [created.id]
    p.delete(created.id, created.outs)


def test_upload_name_only_for_files(esd, tmp_path):
    p = provider(CheckpointHandler, esd)
    bad = p.check({}, {"checkpoint_type": "Lora", "source_url": SD_URL, "upload_name": "x.safetensors"})
    assert [(f.property, f.reason) for f in bad.failures] == [
        ("upload_name", "only applies to source_file (a download is named after its URL)")]


def test_url_checkpoint_is_sent_again_after_503_and_made_once(esd, emulator, mocker, calls):
    p = provider(CheckpointHandler, esd)
    no_sleep(p, mocker)
    emulator.arm_fault("esd", method="POST", path="/prod/checkpoints", status=503, message="Unavailable", times=1)
    created = p.create(checked(p, {"checkpoint_type": "Stable-diffusion", "source_url": SD_URL}))
    assert len([c for c in calls if c[0] == "POST"]) == 2
    assert list(objects(emulator, "checkpoint")) == [created.id]
    p.delete(created.id, created.outs)


def test_dataset_survives_a_dropped_create_reply_without_doubled_items(esd, emulator, tmp_path):
    files = []
    for n in ("a.png", "b.png"):
        (tmp_path / n).write_bytes(b"\x89PNG\r\n\x1a\n" + n.encode())
        files.append(str(tmp_path / n))
    p = provider(DatasetHandler, esd)
    emulator.arm_fault("esd", method="POST", path="/prod/datasets", drop_response=True, times=1)
    created = p.create(checked(p, {"name": "lost", "files": files}))
    assert created.outs["status"] == "Enabled"
    assert list(objects(emulator, "dataset")) == ["lost"] and len(objects(emulator, "dataset_item")) == 2
    p.delete(created.id, created.outs)


@pytest.mark.parametrize("handler,props,path", [
    (RoleHandler, {"name": "unsure", "permissions": ["inference:all"]}, "/prod/roles"),
    (UserHandler, {"username": "unsure", "password": "pw", "roles": ["IT Operator"]}, "/prod/users"),
])
def test_upsert_without_any_answer_is_reported_as_possibly_made(esd, emulator, mocker, handler, props, path):
    p = provider(handler, esd)
    no_sleep(p, mocker)
    emulator.arm_fault("esd", method="POST", path=path, drop_response=True, times=-1)
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, props))
    emulator.clear_faults()
    failed = cause(err)
    assert isinstance(failed, CreatedButFailed) and failed.id == "unsure" and "may exist" in failed.message
    failed.cleanup()  # the stock path: nothing is left behind unaccounted for


def _training_fixtures(esd, tmp_path):
    ckpt = provider(CheckpointHandler, esd)
    base = ckpt.create(checked(ckpt, {"checkpoint_type": "Stable-diffusion", "source_url": SD_URL}))
    img = tmp_path / "a.png"
    img.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    ds = provider(DatasetHandler, esd)
    dataset = ds.create(checked(ds, {"name": "pets", "files": [str(img)]}))
    return (ckpt, base), (ds, dataset)


TRAIN = {"model": "recover-base.safetensors", "dataset": "pets", "output_name": "pet-style",
         "max_train_epochs": 1, "save_every_n_epochs": 1}


def test_training_survives_a_dropped_create_reply_without_a_second_run(esd, emulator, tmp_path):
    (ckpt, base), (ds, dataset) = _training_fixtures(esd, tmp_path)
    p = provider(TrainingJobHandler, esd)
    emulator.arm_fault("esd", method="POST", path="/prod/trainings", drop_response=True, times=1)
    created = p.create(checked(p, TRAIN))
    assert created.outs["status"] == "Completed" and created.outs["model_files"] == ["pet-style.safetensors"]
    assert list(objects(emulator, "training")) == [created.id]
    assert [c for c in objects(emulator, "checkpoint") if c != base.id] == [created.id]
    p.delete(created.id, created.outs)
    ds.delete(dataset.id, dataset.outs)
    ckpt.delete(base.id, base.outs)


def _endpoint(esd, name="smoke", role="infer"):
    roles = provider(RoleHandler, esd)
    r = roles.create(checked(roles, {"name": role, "permissions": ["sagemaker_endpoint:all"]}))
    ep = provider(EndpointHandler, esd)
    endpoint = ep.create(checked(ep, {"name": name, "endpoint_type": "Async", "instance_type": "ml.g5.2xlarge",
                                      "assign_to_roles": [role]}))
    return (roles, r), (ep, endpoint)


@pytest.mark.parametrize("path,method", [("/prod/inferences", "POST"), ("/prod/inferences/.*/start", "PUT")])
def test_inference_survives_a_dropped_reply_without_a_second_job_or_run(esd, emulator, path, method):
    (roles, r), (ep, endpoint) = _endpoint(esd)
    ckpt = provider(CheckpointHandler, esd)
    base = ckpt.create(checked(ckpt, {"checkpoint_type": "Stable-diffusion", "source_url": SD_URL}))
    p = provider(InferenceJobHandler, esd)
    inputs = checked(p, {"inference_type": "Async", "endpoint_name": "esd-async-smoke",
                         "models": {"Stable-diffusion": ["recover-base.safetensors"]},
                         "parameters": {"prompt": "a cat"}})
    emulator.arm_fault("esd", method=method, path=path, drop_response=True, times=1)
    created = p.create(inputs)
    assert created.outs["status"] == "succeed" and created.outs["image_names"]
    assert list(objects(emulator, "inference")) == [created.id]
    p.delete(created.id, created.outs)
    ckpt.delete(base.id, base.outs)
    ep.delete(endpoint.id, endpoint.outs)
    roles.delete(r.id, r.outs)


def test_endpoint_create_after_a_5xx_looks_before_sending_again(esd, emulator, mocker, calls):
    p = provider(EndpointHandler, esd)
    no_sleep(p, mocker)
    emulator.arm_fault("esd", method="POST", path="/prod/endpoints", status=502, message="Bad Gateway", times=1)
    created = p.create(checked(p, {"name": "twice", "endpoint_type": "Async", "instance_type": "ml.g5.2xlarge",
                                   "assign_to_roles": ["IT Operator"]}))
    assert created.outs["status"] == "InService"
    posts = [c for c in calls if c[0] == "POST"]
    assert len(posts) == 2 and len(objects(emulator, "endpoint")) == 1
    p.delete(created.id, created.outs)


# -- 8.2 waits: outages are ridden out; Failed or the deadline raise CreatedButFailed ------------

def test_endpoint_outage_past_the_deadline_keeps_the_endpoint_for_the_caller(esd, emulator, mocker):
    emulator.settings("esd", endpoint_create_seconds=30)
    p = provider(EndpointHandler, esd)
    no_sleep(p, mocker)
    inputs = checked(p, {"name": "cut", "endpoint_type": "Async", "instance_type": "ml.g5.2xlarge",
                         "assign_to_roles": ["IT Operator"], "wait_timeout_s": 1})
    emulator.arm_fault("esd", method="GET", path="/prod/endpoints", status=503, message="Service Unavailable",
                       times=-1)
    with pytest.raises(ResourceError) as err:
        p.create(inputs)
    emulator.clear_faults()
    failed = cause(err)
    assert isinstance(failed, CreatedButFailed), failed
    assert "esd-async-cut" in failed.message and failed.id
    assert failed.outputs.endpoint_name == "esd-async-cut"
    # nothing was deleted because the API was unreachable: the endpoint is still there
    assert [e["endpoint_name"] for e in objects(emulator, "endpoint").values()] == ["esd-async-cut"]
    failed.cleanup()  # what the stock path runs
    assert objects(emulator, "endpoint") == {}


def test_endpoint_failed_is_created_but_failed_with_delete_as_cleanup(esd, emulator):
    emulator.settings("esd", endpoint_fail_instance_types=["ml.broken.xlarge"])
    p = provider(EndpointHandler, esd)
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, {"name": "doomed", "endpoint_type": "Async", "instance_type": "ml.broken.xlarge",
                             "assign_to_roles": ["IT Operator"]}))
    failed = cause(err)
    assert isinstance(failed, CreatedButFailed) and "Failed" in failed.message
    assert len(objects(emulator, "endpoint")) == 1
    failed.cleanup()
    assert objects(emulator, "endpoint") == {}


def test_training_rejected_by_sagemaker_leaves_no_output_checkpoint(esd, emulator, tmp_path):
    (ckpt, base), (ds, dataset) = _training_fixtures(esd, tmp_path)
    emulator.settings("esd", training_fail_instance_types=["ml.p5.48xlarge"])
    p = provider(TrainingJobHandler, esd)
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, {**TRAIN, "training_instance_type": "ml.p5.48xlarge"}))
    assert "ResourceLimitExceeded" in str(err.value)
    assert list(objects(emulator, "checkpoint")) == [base.id]  # the platform's leftover was removed
    ds.delete(dataset.id, dataset.outs)
    ckpt.delete(base.id, base.outs)


def test_training_failed_is_created_but_failed_and_cleanup_removes_job_and_output(esd, emulator, tmp_path):
    (ckpt, base), (ds, dataset) = _training_fixtures(esd, tmp_path)
    emulator.settings("esd", training_fail_models=["recover-base.safetensors"])
    p = provider(TrainingJobHandler, esd)
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, TRAIN))
    failed = cause(err)
    assert isinstance(failed, CreatedButFailed) and "Failed" in failed.message
    assert failed.id in objects(emulator, "training")
    failed.cleanup()
    assert objects(emulator, "training") == {} and failed.id not in objects(emulator, "checkpoint")
    ds.delete(dataset.id, dataset.outs)
    ckpt.delete(base.id, base.outs)


def test_presigned_upload_retries_429_and_5xx(esd, emulator, mocker, tmp_path):
    p = provider(CheckpointHandler, esd)
    sleep = no_sleep(p, mocker)
    emulator.arm_fault("esd", method="PUT", path="/_s3/.*", status=429, message="SlowDown",
                       headers={"Retry-After": "1"}, times=1)
    emulator.arm_fault("esd", method="PUT", path="/_s3/.*", status=503, message="Service Unavailable", times=1)
    created = p.create(checked(p, {"checkpoint_type": "Lora", "source_file": str(weights(tmp_path)),
                                   "part_size_mb": 5}))
    assert created.outs["status"] == "Active"
    assert sleep.call_count == 2 and sleep.call_args_list[0].args == (1.0,)
    p.delete(created.id, created.outs)


# -- 8.3 no silent adoption; two stacks side by side ---------------------------------------------

def test_url_checkpoint_already_there_is_refused_with_import_hint(esd, emulator):
    p = provider(CheckpointHandler, esd)
    inputs = checked(p, {"checkpoint_type": "Stable-diffusion", "source_url": SD_URL})
    first = p.create(inputs)
    with pytest.raises(ResourceError) as err:
        p.create(inputs)
    text = str(err.value)
    assert "pulumi import pulumi-python:dynamic/esd:Checkpoint" in text and first.id in text and "\n" not in text
    assert list(objects(emulator, "checkpoint")) == [first.id]
    p.delete(first.id, first.outs)


def test_file_checkpoint_name_taken_is_refused_naming_the_holder(esd, emulator, tmp_path):
    p = provider(CheckpointHandler, esd)
    inputs = checked(p, {"checkpoint_type": "Lora", "source_file": str(weights(tmp_path)), "part_size_mb": 5})
    first = p.create(inputs)
    with pytest.raises(ResourceError) as err:
        p.create(inputs)
    assert first.id in str(err.value) and "pulumi import pulumi-python:dynamic/esd:Checkpoint" in str(err.value)
    p.delete(first.id, first.outs)


def test_endpoint_already_there_is_refused_not_adopted(esd, emulator):
    p = provider(EndpointHandler, esd)
    inputs = checked(p, {"name": "shared", "endpoint_type": "Async", "instance_type": "ml.g5.2xlarge",
                         "assign_to_roles": ["IT Operator"]})
    first = p.create(inputs)
    with pytest.raises(ResourceError) as err:
        p.create(inputs)
    text = str(err.value)
    assert "esd-async-shared" in text and f"pulumi import pulumi-python:dynamic/esd:Endpoint shared {first.id}" in text
    assert len(objects(emulator, "endpoint")) == 1
    p.delete(first.id, first.outs)


@pytest.mark.parametrize("handler,props,kind", [
    (RoleHandler, {"name": "ops", "permissions": ["inference:all"]}, "role"),
    (UserHandler, {"username": "bob", "password": "pw-1", "roles": ["IT Operator"]}, "user"),
])
def test_upsert_creates_refuse_an_existing_name(esd, emulator, handler, props, kind):
    p = provider(handler, esd)
    first = p.create(checked(p, props))
    before = objects(emulator, kind)[first.id]
    changed = {**props, "permissions": ["user:all"]} if kind == "role" else {**props, "password": "other-pw"}
    with pytest.raises(ResourceError) as err:
        p.create(checked(p, changed))
    assert "pulumi import pulumi-python:dynamic/esd:" in str(err.value) and "already exists" in str(err.value)
    assert objects(emulator, kind)[first.id] == before  # not overwritten
    p.delete(first.id, first.outs)


def test_dataset_name_taken_is_refused(esd, emulator, tmp_path):
    img = tmp_path / "a.png"
    img.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    p = provider(DatasetHandler, esd)
    inputs = checked(p, {"name": "cats", "files": [str(img)]})
    first = p.create(inputs)
    items = len(objects(emulator, "dataset_item"))
    with pytest.raises(ResourceError) as err:
        p.create(inputs)
    assert "pulumi import pulumi-python:dynamic/esd:Dataset cats cats" in str(err.value)
    assert len(objects(emulator, "dataset_item")) == items
    p.delete(first.id, first.outs)


def test_dev_and_staging_live_side_by_side(esd, emulator, tmp_path):
    def stack(env: str):
        role, ep, ck = provider(RoleHandler, esd), provider(EndpointHandler, esd), provider(CheckpointHandler, esd)
        made = [(role, role.create(checked(role, {"name": f"ops-{env}", "permissions": ["sagemaker_endpoint:all"]})))]
        made.append((ep, ep.create(checked(ep, {"name": f"sd-{env}", "endpoint_type": "Async",
                                                "instance_type": "ml.g5.2xlarge", "assign_to_roles": [f"ops-{env}"]}))))
        # one local file, uploaded by each stack under its own platform name
        made.append((ck, ck.create(checked(ck, {"checkpoint_type": "Lora", "source_file": str(weights(tmp_path)),
                                                "upload_name": f"{env}-style.safetensors", "part_size_mb": 5}))))
        return made

    dev, staging = stack("dev"), stack("staging")
    # staging declaring dev's URL checkpoint is refused, not adopted (its destroy would delete dev's)
    ck = provider(CheckpointHandler, esd)
    dev_url = ck.create(checked(ck, {"checkpoint_type": "Stable-diffusion", "source_url": SD_URL}))
    with pytest.raises(ResourceError) as err:
        ck.create(checked(ck, {"checkpoint_type": "Stable-diffusion", "source_url": SD_URL}))
    assert dev_url.id in str(err.value) and dev_url.id in objects(emulator, "checkpoint")
    dev.append((ck, dev_url))
    for p, r in reversed(dev):
        p.delete(r.id, r.outs)
    for p, r in staging:  # staging still reads clean
        read = p.read(r.id, r.outs)
        assert read.id == r.id
        assert p.diff(r.id, read.outs, {k: v for k, v in read.inputs.items()}).changes is False
    for p, r in reversed(staging):
        p.delete(r.id, r.outs)


# -- 8.4 replacements that can succeed -----------------------------------------------------------

def test_replacements_under_the_same_unique_name_delete_first(esd, tmp_path):
    p = provider(CheckpointHandler, esd)
    f = weights(tmp_path)
    old = checked(p, {"checkpoint_type": "Lora", "source_file": str(f)})
    diff = p.diff("id", old, checked(p, {**old, "message": "v2"}))  # same file name: cannot coexist
    assert diff.replaces == ["message"] and diff.delete_before_replace is True
    other = weights(tmp_path, "other.safetensors")
    diff = p.diff("id", old, checked(p, {**old, "source_file": str(other), "source_sha256": None}))
    assert diff.delete_before_replace is False  # a new file name: create first, no gap
    renamed = checked(p, {**old, "name": "house"})
    diff = p.diff("id", renamed, checked(p, {**renamed, "source_file": str(other), "source_sha256": None}))
    assert diff.delete_before_replace is True  # the new one would be renamed to the name the old one holds
    url = checked(p, {"checkpoint_type": "Lora", "source_url": "https://a.example/x/m.safetensors"})
    diff = p.diff("id", url, checked(p, {**url, "source_url": "https://b.example/y/m.safetensors"}))
    assert diff.delete_before_replace is True  # same basename from another host
    img = tmp_path / "a.png"
    img.write_bytes(b"png")
    d = provider(DatasetHandler, esd)
    old = checked(d, {"name": "cats", "files": [str(img)]})
    diff = d.diff("cats", old, checked(d, {**old, "description": "new"}))
    assert diff.replaces == ["description"] and diff.delete_before_replace is True
    assert d.diff("cats", old, checked(d, {**old, "name": "dogs"})).delete_before_replace is False


# -- 12.3 minimal requests -----------------------------------------------------------------------

def test_role_and_user_create_send_the_minimum(esd, calls):
    role = provider(RoleHandler, esd)
    role.impl.client  # connect (ping) outside the count
    calls.clear()
    r = role.create(checked(role, {"name": "min", "permissions": ["inference:all"]}))
    assert [c[:2] for c in calls] == [("GET", "/roles"), ("POST", "/roles")]  # is the name free; create
    assert r.outs["creator"] == "api"
    calls.clear()
    role.update(r.id, r.outs, checked(role, {"name": "min", "permissions": ["checkpoint:all"]}))
    assert [c[:2] for c in calls] == [("POST", "/roles")]
    user = provider(UserHandler, esd)
    calls.clear()
    u = user.create(checked(user, {"username": "minnie", "password": "pw", "roles": ["min"]}))
    # is the name free; create; the permissions the platform derives from the roles
    assert [c[:2] for c in calls] == [("GET", "/users"), ("POST", "/users"), ("GET", "/users")]
    assert u.outs["permissions"] == ["checkpoint:all"]
    calls.clear()
    user.update(u.id, u.outs, checked(user, {"username": "minnie", "password": "pw2", "roles": ["min"]}))
    assert [c[:2] for c in calls] == [("POST", "/users")]
    user.delete(u.id, u.outs)
    role.delete(r.id, r.outs)


def test_endpoint_create_does_not_list_before_its_post(esd, calls):
    p = provider(EndpointHandler, esd)
    p.impl.client
    calls.clear()
    created = p.create(checked(p, {"name": "lean", "endpoint_type": "Async", "instance_type": "ml.g5.2xlarge",
                                   "assign_to_roles": ["IT Operator"]}))
    assert calls[0][:2] == ("POST", "/endpoints")
    # every later request is a direct lookup by deployment id (the wait's polls)
    assert all(c[2].get("endpointDeploymentJobId") == [created.id] for c in calls[1:])
    p.delete(created.id, created.outs)


def test_checkpoint_lookups_filter_by_type_and_stop_at_the_creation_time(esd, emulator, calls, tmp_path):
    p = provider(CheckpointHandler, esd)
    inputs = checked(p, {"checkpoint_type": "Lora", "source_file": str(weights(tmp_path)), "part_size_mb": 5})
    p.impl.client
    calls.clear()
    mine = p.create(inputs)
    # create, (the part goes to S3), activate: no list to read back what the replies gave
    assert [c[:2] for c in calls] == [("POST", "/checkpoints"), ("PUT", f"/checkpoints/{mine.id}")]
    with raw_api(emulator) as api:  # 120 checkpoints made later by others: a page and more
        for i in range(120):
            api.post("/checkpoints", json={"checkpoint_type": "Lora", "params": {},
                                           "filenames": [{"filename": f"other-{i}.safetensors",
                                                          "parts_number": 1}]}).raise_for_status()
        for i in range(3):
            api.post("/checkpoints", json={"checkpoint_type": "VAE", "params": {},
                                           "filenames": [{"filename": f"vae-{i}.pt", "parts_number": 1}]})
    calls.clear()
    read = p.read(mine.id, mine.outs)
    assert read.id == mine.id
    lists = [c for c in calls if c[1] == "/checkpoints"]
    assert all(c[2].get("types") == ["Lora"] for c in lists)
    assert len(lists) == 2  # the 120 newer Loras fill page 1; page 2 reaches ours
    with raw_api(emulator) as api:
        ids = [c["id"] for c in api.get("/checkpoints", params={"per_page": 500}).json()["data"]["checkpoints"]]
        others = [i for i in ids if i != mine.id]
        for at in range(0, len(others), 100):
            api.request("DELETE", "/checkpoints", json={"checkpoint_id_list": others[at:at + 100]}).raise_for_status()
    p.delete(mine.id, mine.outs)


def test_training_read_is_one_request(esd, emulator, calls, tmp_path):
    (ckpt, base), (ds, dataset) = _training_fixtures(esd, tmp_path)
    p = provider(TrainingJobHandler, esd)
    created = p.create(checked(p, TRAIN))
    calls.clear()
    read = p.read(created.id, created.outs)
    assert [c[:2] for c in calls] == [("GET", f"/trainings/{created.id}")]
    assert read.outs["model_files"] == created.outs["model_files"] == ["pet-style.safetensors"]
    p.delete(created.id, created.outs)
    ds.delete(dataset.id, dataset.outs)
    ckpt.delete(base.id, base.outs)


# -- import: read from the id alone ------------------------------------------------------------

def test_read_works_from_the_id_alone(esd, tmp_path):
    (ckpt, base), (ds, dataset) = _training_fixtures(esd, tmp_path)
    t = provider(TrainingJobHandler, esd)
    job = t.create(checked(t, {**TRAIN, "extra_config": {"optimizer_arguments": {"optimizer_type": "AdamW"}}}))
    (roles, r), (ep, endpoint) = _endpoint(esd, name="imp", role="imp")
    for p, created, want in [
        (t, job, {"model": "recover-base.safetensors", "dataset": "pets", "output_name": "pet-style",
                  "max_train_epochs": 1, "save_every_n_epochs": 1,
                  "extra_config": {"optimizer_arguments": {"optimizer_type": "AdamW"}}}),
        (ckpt, base, {"checkpoint_type": "Stable-diffusion", "enabled": True}),
        (ep, endpoint, {"name": "imp", "endpoint_type": "Async", "instance_type": "ml.g5.2xlarge",
                        "assign_to_roles": ["imp"]}),
        (roles, r, {"name": "imp", "permissions": ["sagemaker_endpoint:all"]}),
        (ds, dataset, {"name": "pets", "enabled": True}),
    ]:
        h = p.impl
        seen = h.read(created.id, h.Inputs.model_construct(), h.Outputs())
        assert seen is not None
        got = seen.inputs.model_dump(mode="json")
        assert {k: got.get(k) for k in want} == want, type(h).__name__
    users = provider(UserHandler, esd)
    u = users.create(checked(users, {"username": "imp", "password": "pw", "roles": ["imp"]}))
    seen = users.impl.read(u.id, users.impl.Inputs.model_construct(), users.impl.Outputs())
    assert seen.inputs.model_dump(mode="json") == {"username": "imp", "roles": ["imp"]}  # the password is unknowable
    inf = provider(InferenceJobHandler, esd)
    job2 = inf.create(checked(inf, {"inference_type": "Async", "endpoint_name": "esd-async-imp",
                                    "models": {"Stable-diffusion": ["recover-base.safetensors"]}}))
    seen = inf.impl.read(job2.id, inf.impl.Inputs.model_construct(), inf.impl.Outputs())
    got = seen.inputs.model_dump(mode="json")
    assert (got["inference_type"], got["endpoint_name"], got["models"]) == (
        "Async", "esd-async-imp", {"Stable-diffusion": ["recover-base.safetensors"]})
    assert seen.outputs.status == "succeed"
    inf.delete(job2.id, job2.outs)
    users.delete(u.id, u.outs)
    t.delete(job.id, job.outs)
    ep.delete(endpoint.id, endpoint.outs)
    roles.delete(r.id, r.outs)
    ds.delete(dataset.id, dataset.outs)
    ckpt.delete(base.id, base.outs)


def test_lost_reply_never_takes_an_older_endpoint_of_the_same_name_for_ours(esd, emulator, mocker):
    p = provider(EndpointHandler, esd)
    no_sleep(p, mocker)
    inputs = checked(p, {"name": "older", "endpoint_type": "Async", "instance_type": "ml.g5.2xlarge",
                         "assign_to_roles": ["IT Operator"]})
    first = p.create(inputs)
    emulator.patch("esd", "endpoint", first.id, startTime="2024-03-22 10:00:00.000000")  # made long ago
    # the same create again, its reply lost: the look-up finds the old endpoint but does not take it
    emulator.arm_fault("esd", method="POST", path="/prod/endpoints", drop_response=True, times=1)
    with pytest.raises(ResourceError) as err:
        p.create(inputs)
    assert f"pulumi import pulumi-python:dynamic/esd:Endpoint older {first.id}" in str(err.value)
    p.delete(first.id, first.outs)


def test_delete_first_endpoint_replacement_waits_for_the_name_to_be_released(esd, emulator):
    emulator.settings("esd", endpoint_delete_seconds=1.0)  # SageMaker keeps the deleted name a while
    p = provider(EndpointHandler, esd)
    inputs = checked(p, {"name": "again", "endpoint_type": "Async", "instance_type": "ml.g5.2xlarge",
                         "assign_to_roles": ["IT Operator"]})
    old = p.create(inputs)
    news = checked(p, {**inputs, "instance_type": "ml.g5.4xlarge"})
    assert p.diff(old.id, old.outs, news).delete_before_replace is True
    p.delete(old.id, old.outs)
    new = p.create(news)  # the name is still taken for about a second: create waits, then succeeds
    assert new.outs["status"] == "InService" and new.id != old.id
    p.delete(new.id, new.outs)
    emulator.settings("esd", endpoint_delete_seconds=0.0)
    emulator.reset("esd")  # drop the second tombstone
    emulator.settings("esd", **QUICK)


# -- everything at once: random lost replies and 503s ---------------------------------------------

def test_every_resource_converges_under_random_faults(esd, emulator, mocker, tmp_path):
    """Each resource's create (retried like repeated `up`s, at most 3 retries), then delete, while
    one request in five is faulted: half run on the platform with the reply lost, half answered
    503 without running. Nothing may be left behind, nothing doubled."""
    import random

    import httpx

    rng = random.Random(3)
    real = httpx.Client.send
    armed = {"on": False, "faults": 0}

    def faulty(self, request, **kw):
        if armed["on"] and "/_admin" not in str(request.url) and rng.random() < 0.2:
            armed["faults"] += 1
            if rng.random() < 0.5:
                real(self, request, **kw)
                raise httpx.RemoteProtocolError("injected: reply lost", request=request)
            return httpx.Response(503, json={"message": "injected"}, request=request)
        return real(self, request, **kw)

    mocker.patch.object(httpx.Client, "send", faulty)
    mocker.patch("providers.core.runtime.sleep")  # the client's backoff pauses
    f = weights(tmp_path)
    img = tmp_path / "a.png"
    img.write_bytes(b"png")
    specs = [
        (RoleHandler, {"name": "ops", "permissions": ["sagemaker_endpoint:all"]}),
        (UserHandler, {"username": "al", "password": "pw", "roles": ["ops"]}),
        (CheckpointHandler, {"checkpoint_type": "Lora", "source_file": str(f)}),
        (CheckpointHandler, {"checkpoint_type": "Stable-diffusion", "source_url": SD_URL}),
        (DatasetHandler, {"name": "pets", "files": [str(img)]}),
        (EndpointHandler, {"name": "sd", "endpoint_type": "Async", "instance_type": "ml.g5.2xlarge",
                           "assign_to_roles": ["ops"]}),
        (TrainingJobHandler, {**TRAIN, "output_name": "o"}),
        (InferenceJobHandler, {"inference_type": "Async", "endpoint_name": "esd-async-sd",
                               "models": {"Stable-diffusion": ["recover-base.safetensors"]}}),
    ]
    for cycle in range(2):
        made = []
        for handler, props in specs:
            p = provider(handler, esd)
            inputs = checked(p, props)
            armed["on"] = True
            for attempt in range(4):
                try:
                    made.append((p, p.create(inputs)))
                    break
                except ResourceError as exc:
                    if isinstance(exc.cause, CreatedButFailed) and exc.cause.cleanup:  # the stock path
                        armed["on"] = False
                        exc.cause.cleanup()
                        armed["on"] = True
                    assert attempt < 3, f"{handler.__name__} did not converge within 3 retries: {exc}"
            armed["on"] = False
        counts = {k: len(v) for k, v in leftovers(emulator.objects("esd"), BUILT_INS).items()
                  if k not in ("blob", "upload")}
        assert counts == {"role": 1, "user": 1, "checkpoint": 3, "dataset": 1, "dataset_item": 1, "endpoint": 1,
                          "training": 1, "inference": 1}, f"cycle {cycle}"
        armed["on"] = True
        for p, created in reversed(made):
            for attempt in range(3):
                try:
                    p.delete(created.id, created.outs)
                    break
                except ResourceError:
                    assert attempt < 2
        armed["on"] = False
        assert leftovers(emulator.objects("esd"), BUILT_INS) == {}, f"cycle {cycle}"
    assert armed["faults"] > 10  # the faults did happen
