"""The CrossGuard pack (policy/) under the real engine: `pulumi preview --policy-pack policy/aimodels-policy`.

The engine starts the executable pack itself (no language host), which loads pulumi-policy from
the project's .venv (the `test` extra installs it; it shares the SDK's protobuf).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO
from tests.e2e.project import Project

POLICY = REPO / "policy" / "aimodels-policy"


@pytest.fixture(scope="session")
def policy_pack() -> Path:
    python = REPO / ".venv" / "bin" / "python"
    proc = subprocess.run([str(python), "-c", "import pulumi_policy, pulumi"], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"the pack runs on {python}, which cannot import pulumi-policy:\n{proc.stderr}", pytrace=False)
    return POLICY


def preview(project: Project, stack: str, pack: Path) -> subprocess.CompletedProcess[str]:
    return project.run("preview", "--stack", stack, "--", "--policy-pack", str(pack), expect=None)


def test_prod_rules_block_a_prod_preview(project: Project, policy_pack: Path) -> None:  # noqa: F811
    def loosen(section: str, change):  # noqa: ANN001
        project.edit("prod", f"aimodels:{section}", change)

    loosen("esd", lambda esd: esd["endpoint"].update(autoscaling={"enabled": False}))
    loosen("pai", lambda pai: (pai.update(accessibility="PUBLIC"), pai["versions"].append(
        {"name": "1.3.0", "uri": "oss://aimodels-artifacts.oss-cn-hangzhou.aliyuncs.com/sd-base/1.3.0/",
         "approval": "Pending"})))
    proc = preview(project, "prod", policy_pack)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "aimodels-prod@v0.1.0" in out
    for line in ("[mandatory]  prod-endpoints-autoscale  (pulumi-python:dynamic/esd:Endpoint: async-endpoint)",
                 "[mandatory]  no-public-models-in-prod  (pulumi-python:dynamic/pai:Model: registry-model)",
                 "[mandatory]  prod-model-versions-approved  (pulumi-python:dynamic/pai:ModelVersion: "
                 "registry-model-1.3.0)"):
        assert line in out, out
    assert "registry-model-1.0.0)" not in out  # an Approved version passes
    assert "can't run policy" not in out  # rules read only known properties


def test_committed_prod_config_and_non_prod_stacks_pass(project: Project, policy_pack: Path) -> None:  # noqa: F811
    ok = preview(project, "prod", policy_pack)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    project.edit("staging", "aimodels:pai", lambda pai: pai.update(accessibility="PUBLIC"))
    staging = preview(project, "staging", policy_pack)  # autoscaling off and public: fine outside prod
    assert staging.returncode == 0, staging.stdout + staging.stderr
    assert "[mandatory]" not in staging.stdout


def test_prod_runs_the_pack_without_being_asked_and_a_skip_is_recorded(project: Project) -> None:  # noqa: F811
    project.edit("prod", "aimodels:esd", lambda esd: esd["endpoint"].update(autoscaling={"enabled": False}))
    project.edit("prod", "aimodels:pai", lambda pai: (pai.update(accessibility="PUBLIC"), pai["versions"].append(
        {"name": "1.3.0", "uri": "oss://aimodels-artifacts.oss-cn-hangzhou.aliyuncs.com/sd-base/1.3.0/",
         "approval": "Pending"})))
    blocked = project.run("preview", "--stack", "prod", expect=None)  # no --policy-pack given
    assert blocked.returncode != 0
    assert "aimodels-prod@v0.1.0" in blocked.stdout and blocked.stdout.count("[mandatory]") == 3, blocked.stdout

    review = project.run("review", "--stack", "prod", expect=None)
    assert review.returncode != 0
    assert "### Policy\n\nPolicy pack **aimodels-prod@v0.1.0**: 3 violation(s), 3 mandatory (the update is " \
           "blocked)." in review.stdout, review.stdout
    for rule in ("prod-endpoints-autoscale", "no-public-models-in-prod", "prod-model-versions-approved"):
        assert f"| `{rule}` | mandatory |" in review.stdout
    assert "None flagged." not in review.stdout

    skipped = project.run("preview", "--stack", "prod", "--skip-policy")
    assert "WARNING: the policy pack is skipped for prod stack prod (--skip-policy)" in skipped.stderr
    assert "[mandatory]" not in skipped.stdout
    report = project.run("review", "--stack", "prod", "--skip-policy", expect=2)
    assert "Policy pack **skipped** (`--skip-policy`) on a prod stack." in report.stdout
    assert "**Policy skipped**: the policy pack did not run on prod stack `prod`" in report.stdout

    project.stacks.add("prod")
    project.run("up", "--stack", "prod", "--skip-policy")
    history = subprocess.run([project.env["AIMODELS_PULUMI"], "stack", "history", "--json", "--stack", "prod"],
                             cwd=project.root, env=project.env, text=True, capture_output=True, check=True)
    assert '"message": "aimodels: policy pack skipped for prod (--skip-policy)"' in history.stdout


def test_the_documented_policy_command_works_from_the_repository_root(project: Project,  # noqa: F811
                                                                       policy_pack: Path) -> None:
    """`aimodels preview ... -- --policy-pack policy/aimodels-policy`: the relative path is the shell's."""
    proc = project.run("preview", "--stack", "staging", "--", "--policy-pack", "policy/aimodels-policy")
    assert "aimodels-prod@v0.1.0" in proc.stdout and "policy pack not found" not in proc.stdout + proc.stderr
