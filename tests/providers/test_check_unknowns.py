"""check() gives the same canonical inputs, defaults included, whether or not some values are unknown.

A preview sends check() an unknown wherever a value comes from another resource that is being
created or replaced. If check() then returned fewer keys (no defaults) or other forms, diff would
see removals that `up` never makes and show updates as replacements. For every registered
resource type: check with every value known, then with each value in turn (and all of them at
once) unknown; the results agree on everything but the unknown values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pulumi.output import Unknown

import providers.esd  # noqa: F401 - registers the handlers
import providers.fabric  # noqa: F401
import providers.pai  # noqa: F401
import providers.workshop  # noqa: F401
import providers.zstack  # noqa: F401
from providers.core import DynamicProvider
from providers.core.handler import HANDLERS

ASSET = str(Path(__file__).resolve().parents[2] / "stacks" / "assets" / "demo-style.safetensors")
UUID_A, UUID_B = "a" * 32, "b" * 32

# One valid declaration per resource type, setting values of every kind (lists, maps, nested objects).
SAMPLES: dict[str, dict[str, Any]] = {
    "esd:Role": {"name": "operators", "permissions": ["checkpoint:all", "inference:all"]},
    "esd:User": {"username": "engineer", "password": "Passw0rd-long", "roles": ["operators", "admins"]},
    "esd:Checkpoint": {"checkpoint_type": "Lora", "source_file": ASSET, "name": "e2e-style", "message": "m"},
    "esd:Dataset": {"name": "cats", "files": [ASSET], "description": "d", "prefix": "10_cats"},
    "esd:Endpoint": {"name": "demo", "endpoint_type": "Async", "instance_type": "ml.g5.2xlarge",
                     "assign_to_roles": ["operators"], "min_instance_number": 1, "max_instance_number": 2},
    "esd:InferenceJob": {"inference_type": "Async", "models": {"Stable-diffusion": ["base.safetensors"]},
                         "endpoint_name": "esd-async-demo", "parameters": {"prompt": "a cat", "steps": 4}},
    "esd:TrainingJob": {"model": "base.safetensors", "dataset": "cats", "output_name": "cat-style",
                        "max_train_epochs": 2, "save_every_n_epochs": 1},
    "pai:Model": {"name": "sd-base", "description": "", "domain": "aigc", "labels": {"team": "imaging"}},
    "pai:ModelVersion": {"model_id": "model-123", "version_name": "1.0.0", "description": "",
                         "uri": "oss://bucket.oss-cn-hangzhou.aliyuncs.com/sd/1.0.0/", "approval_status": "Approved",
                         "labels": {"alias": "current"}},
    "fabric:Model": {"workspace_id": "ws-1", "name": "chat", "description": "",
                     "versions": [{"name": "v1", "base_model_type": "QWEN2_5_7B", "description": "",
                                   "model_path": "obs://bucket/chat/v1/"}]},
    "zstack:ModelCenter": {"name": "mc", "url": "10.0.0.12:/ai/mc", "management_ip": "10.0.0.12",
                           "management_port": 8989, "zone_uuid": UUID_A, "tag_uuids": [UUID_B, UUID_A],
                           "user_tags": ["environment::e2e"]},
    "zstack:Model": {"name": "qwen", "install_path": "10.0.0.12:/ai/mc/qwen", "model_center_uuid": UUID_A,
                     "size": 1024, "recommended_gpu_num": "1,2", "user_tags": ["environment::e2e"]},
    "zstack:ModelService": {"name": "qwen-serve", "yaml": "services: {}", "model_center_uuid": UUID_A, "request_cpu": 4,
                            "request_memory": 8192, "install_path": "/opt/serve", "start_command": "serve.sh",
                            "model_uuids": [UUID_B], "user_tags": ["environment::e2e"]},
    "workshop:ModelSync": {
        "model_id": "house-style", "name": "house style", "model_type": "lora", "source_type": "internal",
        "versions": [{"model_version_id": "house-style-1", "name": "1", "base_model": "v1.5",
                      "covers": [{"cover": "https://example.com/c.jpeg", "cover_file": {"width": 1, "height": 1}}],
                      "files": [{"name": "f.safetensors", "alias_name": "hs", "download_url": "https://example.com/f",
                                 "hash": "sha256:1", "size_kb": 1.5, "is_primary": True}]}]},
}
# Values computed from another value: unknown while that value is (a digest of a file's content).
DERIVED = {("esd:Checkpoint", "source_file"): {"source_sha256"}}


def test_every_registered_type_has_a_sample() -> None:
    project = {t for t, h in HANDLERS.items() if h.__module__.startswith("providers.")}  # not tests' toys
    assert set(SAMPLES) == project, "add a valid sample for each new resource type"


def _check(token: str, props: dict[str, Any]) -> dict[str, Any]:
    result = DynamicProvider(HANDLERS[token]).check({}, props)
    assert result.failures == [], (token, [(f.property, f.reason) for f in result.failures])
    return dict(result.inputs)


@pytest.mark.parametrize("token, field", [(t, f) for t, sample in SAMPLES.items() for f in sample])
def test_an_unknown_value_changes_nothing_else(token: str, field: str) -> None:
    known = _check(token, SAMPLES[token])
    pending = _check(token, {**SAMPLES[token], field: Unknown()})
    assert isinstance(pending[field], Unknown)
    skip = {field} | DERIVED.get((token, field), set())
    assert set(pending) == set(known), f"keys differ: {sorted(set(known) ^ set(pending))}"
    differ = {k for k in known if k not in skip and known[k] != pending[k]}
    assert not differ, {k: (known[k], pending[k]) for k in differ}


@pytest.mark.parametrize("token", sorted(SAMPLES))
def test_every_value_unknown_at_once_still_gives_the_defaults(token: str) -> None:
    known = _check(token, SAMPLES[token])
    pending = _check(token, {k: Unknown() for k in SAMPLES[token]})
    assert set(pending) == set(known)
    derived = set().union(*(DERIVED.get((token, f), set()) for f in SAMPLES[token]))
    assert {k: v for k, v in pending.items() if k not in SAMPLES[token] and k not in derived} == \
        {k: v for k, v in known.items() if k not in SAMPLES[token] and k not in derived}


def test_unknown_inside_a_list_keeps_the_defaults() -> None:
    sample = SAMPLES["esd:User"]
    pending = _check("esd:User", {**sample, "roles": ["admins", Unknown()]})
    assert set(pending) == set(_check("esd:User", sample))


def test_a_required_value_missing_fails_even_while_others_are_unknown() -> None:
    props = {k: v for k, v in SAMPLES["zstack:Model"].items() if k != "install_path"}
    result = DynamicProvider(HANDLERS["zstack:Model"]).check({}, {**props, "model_center_uuid": Unknown()})
    assert [(f.property, f.reason) for f in result.failures] == [("install_path", "is required")]


def test_a_known_bad_value_fails_even_while_others_are_unknown() -> None:
    props = {**SAMPLES["zstack:Model"], "model_center_uuid": Unknown(), "recommended_gpu_num": "two"}
    result = DynamicProvider(HANDLERS["zstack:Model"]).check({}, props)
    assert [f.property for f in result.failures] == ["recommended_gpu_num"]


def test_the_issue_example_diffs_as_an_update() -> None:
    """A replaced ModelCenter makes the Model's model_center_uuid unknown: an update, not a replacement."""
    p = DynamicProvider(HANDLERS["zstack:Model"])
    olds = _check("zstack:Model", SAMPLES["zstack:Model"])
    news = _check("zstack:Model", {**SAMPLES["zstack:Model"], "model_center_uuid": Unknown()})
    diff = p.diff("uuid-1", olds, news)
    assert diff.replaces == []
    assert diff.detailed == {"model_center_uuid": "update"}
