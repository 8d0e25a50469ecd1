"""The project's own stack program (stacks/) under the real engine, against the emulator.

One stack walks the whole life a platform engineer gives it: up, a clean preview, in-place
updates, a replacement, drift noticed by refresh and repaired by up, then destroy. Each step
checks what the emulator holds, not just what Pulumi reports.
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

from emulator import defaults
from tests.e2e.conftest import REPO
from tests.emulator_process import Emulator

SECRETS = {
    "aimodels:engineerPassword": "e2e-Engineer-Passw0rd",
    "esd:apiKey": defaults.ESD_API_KEY,
    "pai:accessKeySecret": defaults.PAI_ACCESS_KEY_SECRET,
    "fabric:secretKey": defaults.FABRIC_SECRET_KEY,
}
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # the key the engine uses to mark a secret value
FAST = {"esd": {"endpoint_create_seconds": 0.5, "checkpoint_download_seconds": 0.3, "checkpoint_rename_seconds": 0.2,
                "inference_async_seconds": 0.3, "training_phase_seconds": 0.2},
        "fabric": {"create_delay_s": 0.3, "version_delay_s": 0.3}}


def stack_config(emulator: Emulator) -> dict[str, Any]:
    return {
        "aimodels:environment": "e2e",
        "esd:apiUrl": f"{emulator.url}/esd/prod",
        "pai:endpoint": f"{emulator.url}/pai",
        "pai:accessKeyId": defaults.PAI_ACCESS_KEY_ID,
        "fabric:endpoint": f"{emulator.url}/fabric",
        "fabric:accessKey": defaults.FABRIC_ACCESS_KEY,
        "aimodels:pai": json.dumps({"versions": [{"name": "1.0.0", "approval": "Approved",
                                                  "uri": "oss://aimodels-e2e.oss-cn-hangzhou.aliyuncs.com/sd-base/1.0.0/"}]}),
        "aimodels:fabric": json.dumps({"versions": [{"name": "v1", "baseModelType": "QWEN2_5_7B",
                                                     "modelPath": "obs://aimodels-e2e/chat/v1/"}]}),
    }


@pytest.fixture
def fresh(emulator: Emulator) -> Emulator:
    emulator.reset()
    for platform, values in FAST.items():
        emulator.settings(platform, **values)
    return emulator


def quiet(_: str) -> None:
    pass


def changes(result: Any) -> dict[str, int]:
    counts = getattr(result, "change_summary", None) or getattr(result, "resource_changes", None) or {}
    return {k: v for k, v in counts.items() if k != "same" and v}


def esd_names(emulator: Emulator, kind: str, key: str) -> list[Any]:
    return sorted(doc.get(key) for doc in emulator.objects("esd").get(kind, {}).values())


def resources(stack: auto.Stack) -> dict[str, dict[str, Any]]:
    state = stack.export_stack().deployment
    return {r["urn"].split("::")[-1]: r for r in state.get("resources", []) if "dynamic" in r["type"]}


def persisted_state(stack: auto.Stack) -> str:
    """The state file as the file backend stores it (export_stack would decrypt secrets)."""
    backend = Path(urllib.parse.urlparse(stack.workspace.env_vars["PULUMI_BACKEND_URL"]).path)
    files = list((backend / ".pulumi" / "stacks").rglob(f"{stack.name}.json"))
    assert len(files) == 1, files
    return files[0].read_text()


def set_json(stack: auto.Stack, key: str, value: Any) -> None:
    stack.set_config(key, auto.ConfigValue(value=json.dumps(value)))


def test_stack_lifecycle(make_stack, fresh: Emulator) -> None:
    baseline = {p: fresh.objects(p) for p in ("esd", "pai", "fabric")}
    stack = make_stack(program_dir=REPO, stack_name="e2e", config=stack_config(fresh), secrets=SECRETS)

    # -- up creates everything ------------------------------------------------------------------
    up = stack.up(on_output=quiet)
    assert up.summary.result == "succeeded"
    assert changes(up.summary) == {"create": 12}  # the stack itself + 8 ESD, 2 PAI and 1 Fabric resources
    assert esd_names(fresh, "role", "role_name").count("e2e-operators") == 1
    assert "e2e-engineer" in esd_names(fresh, "user", "username")
    endpoints = list(fresh.objects("esd")["endpoint"].values())
    assert [(e["endpoint_name"], e["endpoint_status"]) for e in endpoints] == [("esd-async-e2e-sd", "InService")]
    assert len(fresh.objects("pai")["model"]) == 1 and len(fresh.objects("fabric")["model"]) == 1
    outputs = stack.outputs()
    assert outputs["esd"].value["smoke_test"] == "succeed"
    assert outputs["esd"].value["trained_model"]

    # -- no perpetual diffs, no __provider churn ----------------------------------------------------
    stack.preview(expect_no_changes=True, on_output=quiet)

    # -- secrets: nothing in plain text, declared secrets encrypted ---------------------------------
    exported = persisted_state(stack)
    for name, secret in SECRETS.items():
        at = exported.find(secret)
        assert at < 0, f"{name} is in the state in plain text: ...{exported[max(0, at - 300):at + 40]}..."
    user = next(r for r in json.loads(exported)["checkpoint"]["latest"]["resources"] if r["urn"].endswith("::engineer"))
    assert set(user["outputs"]["password"]) == {SECRET_SIG, "ciphertext"}
    assert set(user["inputs"]["password"]) == {SECRET_SIG, "ciphertext"}
    assert not isinstance(user["outputs"].get("__provider"), dict)  # by-reference pickle, nothing secret in it

    # -- in-place updates: role permissions, a promoted Fabric version, a new PAI version -----------
    role_before = resources(stack)["operators"]["id"]
    esd = {"operatorPermissions": ["sagemaker_endpoint:all", "checkpoint:all", "inference:all", "train:all",
                                   "user:list"]}
    set_json(stack, "aimodels:esd", esd)
    set_json(stack, "aimodels:fabric", {"versions": [
        {"name": "v1", "baseModelType": "QWEN2_5_7B", "modelPath": "obs://aimodels-e2e/chat/v1/"},
        {"name": "v2", "baseModelType": "QWEN2_5_7B", "modelPath": "obs://aimodels-e2e/chat/v2/"},
    ], "current": "v2"})
    preview = stack.preview(diff=True, on_output=quiet)
    assert changes(preview) == {"update": 2}
    up = stack.up(on_output=quiet)
    assert changes(up.summary) == {"update": 2}
    assert resources(stack)["operators"]["id"] == role_before
    role = next(iter(d for d in fresh.objects("esd")["role"].values() if d["role_name"] == "e2e-operators"))
    assert "user:list" in role["permissions"]
    fabric_out = stack.outputs()["fabric"].value
    assert fabric_out["current_version_id"] == fabric_out["versions"]["v2"]
    assert set(fabric_out["versions"]) == {"v1", "v2"}
    [chat] = fresh.objects("fabric")["model"].values()
    assert chat["current_version_id"] == fabric_out["versions"]["v2"]

    # -- replace-on-change: the endpoint's instance type (delete before replace) ------------------
    # The smoke-test job that depends on it is replaced too (deleted first, re-run afterwards).
    before = resources(stack)
    esd["endpoint"] = {"instanceType": "ml.g5.4xlarge"}
    set_json(stack, "aimodels:esd", esd)
    up = stack.up(on_output=quiet)
    assert changes(up.summary) == {"replace": 2}
    assert up.stdout.index("async-endpoint deleted original") < up.stdout.index("async-endpoint created replacement")
    endpoints = list(fresh.objects("esd")["endpoint"].values())
    assert [(e["endpoint_name"], e["instance_type"]) for e in endpoints] == [("esd-async-e2e-sd", "ml.g5.4xlarge")]
    after = resources(stack)
    assert after["async-endpoint"]["id"] != before["async-endpoint"]["id"]
    assert after["endpoint-smoke-test"]["id"] != before["endpoint-smoke-test"]["id"]
    assert len(fresh.objects("esd")["inference"]) == 1
    stack.preview(expect_no_changes=True, on_output=quiet)

    # -- replace-on-change, create-before-delete: a new base model (the training and the smoke
    #    test that use it are replaced with it) ------------------------------------------------------
    esd["baseModelUrl"] = "https://models.example.com/sd/v2-1-base.safetensors"
    set_json(stack, "aimodels:esd", esd)
    up = stack.up(on_output=quiet)
    assert changes(up.summary) == {"replace": 3}
    assert up.stdout.index("base-model created replacement") < up.stdout.index("base-model deleted original")
    names = sorted(n for d in fresh.objects("esd")["checkpoint"].values() for n in d["checkpoint_names"])
    # each environment renames its base checkpoint <env>-sd-<hash of the URL> (stacks/blocks/esd.py)
    new_name, old_name = (f"e2e-sd-{hashlib.sha256(url.encode()).hexdigest()[:6]}" for url in (
        esd["baseModelUrl"], "https://models.example.com/sd/v1-5-pruned-emaonly.safetensors"))
    assert new_name in names and old_name not in names
    assert stack.outputs()["esd"].value["base_model"] == [new_name]
    stack.preview(expect_no_changes=True, on_output=quiet)

    # -- drift: changed and deleted behind Pulumi's back; refresh notices, up repairs ---------------
    role_id = next(k for k, d in fresh.objects("esd")["role"].items() if d["role_name"] == "e2e-operators")
    fresh.patch("esd", "role", role_id, permissions=["inference:all"])
    version_id = next(iter(fresh.objects("pai")["version"]))
    fresh.remove("pai", "version", version_id)
    refresh = stack.refresh(on_output=quiet)
    assert refresh.summary.resource_changes.get("update", 0) >= 1
    assert refresh.summary.resource_changes.get("delete", 0) == 1
    assert "registry-model-1.0.0" not in resources(stack)
    up = stack.up(on_output=quiet)
    assert up.summary.resource_changes.get("create") == 1 and up.summary.resource_changes.get("update") >= 1
    role = fresh.objects("esd")["role"][role_id]
    assert "user:list" in role["permissions"] and "train:all" in role["permissions"]
    assert len(fresh.objects("pai").get("version", {})) == 1
    stack.preview(expect_no_changes=True, on_output=quiet)

    # -- destroy leaves nothing behind ----------------------------------------------------------------
    stack.destroy(on_output=quiet)
    for platform in ("esd", "pai", "fabric"):
        left = {kind: sorted(set(objs) - set(baseline[platform].get(kind, {})))
                for kind, objs in fresh.objects(platform).items()}
        assert {k: v for k, v in left.items() if v} == {}, f"{platform} kept {left}"


def test_bad_input_fails_preview_and_creates_nothing(make_stack, fresh: Emulator) -> None:
    before = {p: fresh.objects(p) for p in ("esd", "pai", "fabric")}
    stack = make_stack(program_dir=REPO, stack_name="e2e", config={**stack_config(fresh), "aimodels:esd": '{"trainEpochs": 0}'},
                       secrets=SECRETS)
    with pytest.raises(auto.CommandError) as err:
        stack.preview(on_output=quiet)
    text = str(err.value)
    # the environment schema (aimodels/envconfig.py) stops it before any resource is declared
    assert "stack e2e: aimodels:esd.trainEpochs: Input should be greater than or equal to 1" in text
    assert {p: fresh.objects(p) for p in ("esd", "pai", "fabric")} == before
