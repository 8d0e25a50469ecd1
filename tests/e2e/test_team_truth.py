"""Promotion and status read the platforms, not the last apply's record (real engine, emulator)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from tests.e2e.conftest import REPO
from tests.e2e.project import Project
from tests.e2e.test_promotion import by_name


def status(project: Project, fmt: str = "json") -> str:
    return project.run("status", "--stack", "dev", "--stack", "staging", "--format", fmt).stdout


def test_status_and_promote_see_a_pointer_moved_in_the_console_and_a_failed_smoke_test(project: Project) -> None:  # noqa: F811
    emu = project.emulator
    project.up("dev")
    project.up("staging")
    rows = {(r["environment"], r["platform"]): r for r in json.loads(status(project))}
    assert set(rows) == {(e, p) for e in ("dev", "staging") for p in ("esd", "pai", "fabric")}
    assert (rows["dev", "fabric"]["serves"], rows["dev", "fabric"]["pinned"], rows["dev", "fabric"]["drift"]) \
        == ("v2", "v2", [])
    assert rows["dev", "pai"]["serves"] == "1.1.0" and rows["staging", "pai"]["serves"] == "1.0.0"
    assert rows["dev", "esd"]["status"] == "InService; smoke succeed"

    # Someone moves dev's Fabric pointer back to v1 in the console.
    chat = by_name(emu, "fabric", "model", "name")["dev-chat"]
    v1 = next(d["id"] for d in emu.objects("fabric")["version"].values()
              if d.get("name") == "v1" and d["id"] != chat["current_version_id"]
              and d.get("model_id", chat["id"]) == chat["id"])
    emu.patch("fabric", "model", chat["id"], current_version_id=v1)
    rows = {(r["environment"], r["platform"]): r for r in json.loads(status(project))}
    moved = rows["dev", "fabric"]
    assert (moved["serves"], moved["pinned"], moved["matches"]) == ("v1", "v2", False)
    assert moved["drift"] == ["chat-model"], moved
    assert "| dev | fabric | v1 | v2 (differs) |" in status(project, "markdown")
    table = status(project, "table")
    assert table.splitlines()[0].split() == ["environment", "platform", "serves", "pinned", "status", "drift"]

    # On the recorded state (no refresh) the gate would pass v2, which dev no longer serves.
    stale = project.run("promote", "--from", "dev", "--to", "staging", "--only", "fabric", "--dry-run",
                        "--no-preview", "--no-refresh")
    assert stale.stdout.startswith("would promote dev -> staging: fabric current v2")
    refused = project.run("promote", "--from", "dev", "--to", "staging", "--only", "fabric", expect=1)
    assert refused.stdout.startswith("refreshed dev from the platforms (pulumi refresh)")
    assert refused.stderr.strip() == (
        "aimodels promote: refusing to promote dev -> staging: fabric v1: dev serves v1 on the platform but pins v2 "
        "(moved outside Pulumi; run `aimodels up --stack dev` or pin v1 there first)")

    # The smoke test failed on the platform after Pulumi recorded it.
    [job_id] = [k for k, j in emu.objects("esd")["inference"].items()
                if j["params"]["sagemaker_inference_endpoint_name"] == "esd-async-dev-sd"]
    emu.patch("esd", "inference", job_id, status="failed", sagemakerRaw="CUDA out of memory")
    esd = project.run("promote", "--from", "dev", "--to", "staging", "--only", "esd", expect=1)
    assert "esd base model: the smoke test in dev did not succeed (status failed)" in esd.stderr, esd.stderr

    project.run("refresh", "--stack", "dev")  # the plain command works in emulator mode as well


def test_ci_scripts_preview_and_apply_a_pull_request_that_adds_an_environment(project: Project,  # noqa: F811
                                                                               tmp_path: Path) -> None:
    """scripts/ci/preview.sh and apply.sh as the workflows run them, on a stack no backend knows yet."""
    doc = yaml.safe_load(project.stack_file("staging").read_text())
    doc["config"]["aimodels:environment"] = "qa"
    doc["config"]["aimodels:fabric"]["workspace"] = "aimodels-qa"
    project.stack_file("qa").write_text(yaml.safe_dump(doc, sort_keys=False))
    env = {**project.env, "AIMODELS_TARGET": "emulator", "AIMODELS_EMULATOR_URL": project.emulator.url}
    out = tmp_path / "out"
    preview = subprocess.run(["bash", str(REPO / "scripts" / "ci" / "preview.sh"), "qa", str(out)], cwd=project.root,
                             env=env, text=True, capture_output=True)
    project.stacks.add("qa")
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "aimodels review: created stack qa" in preview.stderr
    review = (out / "review-qa.md").read_text()
    assert review.startswith("## Pulumi preview of stack `qa` (environment `qa`)")
    assert "to create**" in review and "Policy pack not run (not a prod stack" in review
    assert json.loads((out / "preview-qa.json").read_text())["steps"]
    assert "qa-operators" not in by_name(project.emulator, "esd", "role", "role_name")  # a preview created nothing
    apply = subprocess.run(["bash", str(REPO / "scripts" / "ci" / "apply.sh"), "qa"], cwd=project.root, env=env,
                           text=True, capture_output=True)
    assert apply.returncode == 0, apply.stdout[-3000:] + apply.stderr
    assert "qa-operators" in by_name(project.emulator, "esd", "role", "role_name")
