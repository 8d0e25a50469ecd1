"""Environments and promotion under the real engine, on the emulator, through the `aimodels` command.

Each test works on a copy of the project (Pulumi.yaml + stacks/) in tmp_path, so the committed
stack files are never touched, and runs the installed `aimodels` entry point as a user would, in
emulator mode (the generated overlay sets the endpoints of the session emulator).
"""

from __future__ import annotations

import os
import re
from typing import Any

import yaml

from tests.e2e.conftest import REPO
from tests.e2e.project import GOLDEN, Project
from tests.emulator_process import Emulator


def by_name(emulator: Emulator, platform: str, kind: str, key: str) -> dict[str, dict[str, Any]]:
    return {doc.get(key): doc for doc in emulator.objects(platform).get(kind, {}).values()}


def pai_versions(emulator: Emulator, model_name: str) -> dict[str, dict[str, Any]]:
    model_id = next(k for k, d in emulator.objects("pai")["model"].items() if d.get("ModelName") == model_name)
    return {d["VersionName"]: d for d in emulator.objects("pai").get("version", {}).values()
            if d.get("_ModelId") == model_id}


def alias_of(versions: dict[str, dict[str, Any]]) -> list[str]:
    def labels(d: dict[str, Any]) -> dict[str, str]:
        raw = d.get("Labels") or []
        return {x["Key"]: x["Value"] for x in raw} if isinstance(raw, list) else dict(raw)
    return sorted(n for n, d in versions.items() if labels(d).get("alias") == "current")


def fabric_current(emulator: Emulator, model_name: str) -> str:
    model = by_name(emulator, "fabric", "model", "name")[model_name]
    current_id = model["current_version_id"]
    versions = {d["id"]: d for d in emulator.objects("fabric").get("version", {}).values()}
    return versions[current_id]["name"]


def mask(text: str) -> str:
    text = re.sub(r"model-[a-z0-9]{10,}", "model-<id>", text)
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", text)
    return text


def test_two_environments_share_one_emulator(project: Project) -> None:
    project.up("dev")
    project.up("staging")
    emu = project.emulator
    roles = by_name(emu, "esd", "role", "role_name")
    assert {"dev-operators", "staging-operators"} <= set(roles)
    endpoints = by_name(emu, "esd", "endpoint", "endpoint_name")
    assert {n: e["endpoint_status"] for n, e in endpoints.items()} == {"esd-async-dev-sd": "InService",
                                                                       "esd-async-staging-sd": "InService"}
    checkpoints = sorted(n for d in emu.objects("esd")["checkpoint"].values() for n in d["checkpoint_names"])
    # base model, style LoRA, trained output: three each, every name carrying its environment
    assert sorted(n.split("-")[0] for n in checkpoints) == ["dev"] * 3 + ["staging"] * 3
    assert {"dev-sd-base", "staging-sd-base"} <= {d["ModelName"] for d in emu.objects("pai")["model"].values()}
    chats = by_name(emu, "fabric", "model", "name")
    assert {"dev-chat", "staging-chat"} <= set(chats)
    assert {chats["dev-chat"]["workspace_id"], chats["staging-chat"]["workspace_id"]} == {"emulator-workspace"}
    # each environment's smoke test ran on its own endpoint
    assert sorted(j["params"]["sagemaker_inference_endpoint_name"]
                  for j in emu.objects("esd")["inference"].values()) == ["esd-async-dev-sd", "esd-async-staging-sd"]

    # destroying one environment leaves the other whole
    project.run("destroy", "--stack", "staging")
    project.stacks.discard("staging")
    assert set(by_name(emu, "esd", "endpoint", "endpoint_name")) == {"esd-async-dev-sd"}
    assert {"dev-chat"} == set(by_name(emu, "fabric", "model", "name")) - {None}
    review = project.run("review", "--stack", "dev")
    assert "**no changes**" in review.stdout
    # the committed-looking stack files were never touched by the emulator runs
    for stack in ("dev", "staging"):
        assert project.stack_file(stack).read_text() == (REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text()


def test_promotion_dev_staging_prod_with_gate_review_and_rollback(project: Project) -> None:
    emu = project.emulator
    for stack in ("dev", "staging", "prod"):
        project.up(stack)
    assert alias_of(pai_versions(emu, "dev-sd-base")) == ["1.1.0"]
    assert alias_of(pai_versions(emu, "staging-sd-base")) == ["1.0.0"]

    # -- the gate: dev's current PAI version 1.2.0 is still Pending ---------------------------------
    project.edit("dev", "aimodels:pai", lambda pai: pai["versions"].append(
        {"name": "1.2.0", "uri": "oss://aimodels-artifacts.oss-cn-hangzhou.aliyuncs.com/sd-base/1.2.0/",
         "approval": "Pending"}))
    project.up("dev")
    staging_before = project.stack_file("staging").read_text()
    refused = project.run("promote", "--from", "dev", "--to", "staging", "--only", "pai,fabric", expect=1)
    assert refused.stderr.strip() == ("aimodels promote: refusing to promote dev -> staging: "
                                      "pai 1.2.0: approval status in dev is Pending, not Approved")
    assert refused.stdout == "refreshed dev from the platforms (pulumi refresh): the gate reads what they hold now\n"
    assert project.stack_file("staging").read_text() == staging_before
    assert not (project.root / "stacks" / "pin-history").exists()
    prod_text = project.stack_file("prod").read_text()
    project.stack_file("prod").write_text("config:\n  pai:region: cn-hangzhou\n")
    bare = project.run("promote", "--from", "staging", "--to", "prod", expect=1)
    assert bare.stderr.strip() == "aimodels promote: stack prod: stacks/Pulumi.prod.yaml has no aimodels:* config"
    project.stack_file("prod").write_text(prod_text)

    # bad input: one line, nothing changed
    for args, message in ((("--from", "qa", "--to", "staging"), "unknown stack 'qa'"),
                          (("--from", "dev", "--to", "staging", "--only", "pai,zstack"), "--only takes")):
        bad = project.run("promote", *args, expect=1)
        assert message in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert project.stack_file("staging").read_text() == staging_before

    # -- approved in dev (an in-place update there), then promoted: one minimal diff + preview ------
    project.edit("dev", "aimodels:pai", lambda pai: pai["versions"][-1].update(approval="Approved"))
    project.up("dev")
    dry = project.run("promote", "--from", "dev", "--to", "staging", "--only", "pai,fabric", "--dry-run",
                      "--no-preview")
    assert dry.stdout.splitlines()[1].startswith("would promote dev -> staging: pai current 1.2.0; fabric current v2")
    assert project.stack_file("staging").read_text() == staging_before
    done = project.run("promote", "--from", "dev", "--to", "staging", "--only", "pai,fabric")
    diff = done.stdout.split("\n$ pulumi preview")[0]
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    removed = [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    assert added == ["+      - name: 1.2.0",
                     "+        uri: oss://aimodels-artifacts.oss-cn-hangzhou.aliyuncs.com/sd-base/1.2.0/",
                     "+        format: SavedModel", "+        framework: Pytorch", "+        approval: Approved",
                     "+    current: 1.2.0",
                     "+      - name: v2", "+        baseModelType: QWEN2_5_7B",
                     "+        modelPath: obs://aimodels-artifacts/chat/v2/", "+    current: v2"]
    assert removed == ["-    current: v1"]
    assert "pulumi-python:dynamic/pai:ModelVersion: (create)" in done.stdout  # the preview it printed
    assert "current_version: \"v1\" => \"v2\"" in done.stdout
    history = yaml.safe_load((project.root / "stacks" / "pin-history" / "staging.yaml").read_text())
    assert [(e["id"], e["action"], e["from"]) for e in history] == [(1, "promote", "dev")]
    project.up("staging")
    assert alias_of(pai_versions(emu, "staging-sd-base")) == ["1.2.0"]
    assert pai_versions(emu, "staging-sd-base")["1.2.0"]["ApprovalStatus"] == "Approved"
    assert fabric_current(emu, "staging-chat") == "v2"

    # -- staging -> prod, every platform; the review of the real preview is the PR comment ---------
    project.run("promote", "--from", "staging", "--to", "prod", "--no-preview")
    # the same pull request also resizes prod's endpoint by hand: a delete-first replacement
    project.edit("prod", "aimodels:esd", lambda esd: esd["endpoint"].update(instanceType="ml.g5.12xlarge"))
    saved = project.root / "prod-preview.json"
    review = project.run("review", "--stack", "prod", "--save-json", str(saved), expect=2)
    golden = GOLDEN / "review-prod-promotion.md"
    if os.environ.get("AIMODELS_UPDATE_GOLDEN"):
        golden.write_text(mask(review.stdout))
    assert mask(review.stdout) == golden.read_text()
    again = project.run("review", "--preview-json", str(saved), "--stack", "prod", expect=2)
    assert again.stdout.count("**Current version moves in prod**") == 2
    assert again.stdout.count("**Downtime**") == 1
    project.up("prod")
    assert alias_of(pai_versions(emu, "prod-sd-base")) == ["1.2.0"]
    assert fabric_current(emu, "prod-chat") == "v2"

    # -- rollback repoints prod to the pins before the promotion; versions stay registered ---------
    back = project.run("rollback", "--stack", "prod")
    assert back.stdout.startswith("rolled prod back to the pins before promotion 1 (from staging at ")
    project.up("prod")
    assert alias_of(pai_versions(emu, "prod-sd-base")) == ["1.0.0"]
    assert set(pai_versions(emu, "prod-sd-base")) == {"1.0.0", "1.2.0"}
    assert fabric_current(emu, "prod-chat") == "v1"
    history = yaml.safe_load((project.root / "stacks" / "pin-history" / "prod.yaml").read_text())
    assert [(e["action"], e.get("undoes")) for e in history] == [("promote", None), ("rollback", 1)]
    nothing = project.run("rollback", "--stack", "prod", expect=1)
    assert "nothing to roll back" in nothing.stderr
    assert "**no changes**" in project.run("review", "--stack", "prod").stdout
