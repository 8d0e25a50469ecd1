"""Team plumbing without the engine: the environment every Pulumi command runs in (emulator port,
backend from PULUMI_BACKEND_URL or `pulumi login`), the policy-pack path and events, the review's
policy section, the status renderings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aimodels import status as ST
from aimodels.cli import build_parser
from aimodels.policy import Violation, absolutize, policy_events
from aimodels.pulumi_cli import Project, UserError, default_emulator_url, logged_in_backend, pulumi_environment
from aimodels.review import PolicyResult, render, report_from_preview


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\nstackConfigDir: stacks\n")
    return Project.find(tmp_path)


def test_emulator_url_follows_aimodels_emulator_port(project: Project) -> None:
    env = pulumi_environment(project, emulator=True, base={"AIMODELS_EMULATOR_PORT": "9911", "HOME": "/nonexistent"})
    assert env["AIMODELS_EMULATOR_URL"] == "http://127.0.0.1:9911"
    assert default_emulator_url({}) == "http://127.0.0.1:8787"
    assert default_emulator_url({"AIMODELS_EMULATOR_URL": "http://h:1/", "AIMODELS_EMULATOR_PORT": "2"}) == "http://h:1"
    with pytest.raises(UserError, match="AIMODELS_EMULATOR_PORT must be a port number"):
        default_emulator_url({"AIMODELS_EMULATOR_PORT": "80x"})
    explicit = pulumi_environment(project, emulator=True, emulator_url="http://127.0.0.1:5/",
                                  base={"AIMODELS_EMULATOR_PORT": "9911", "HOME": "/nonexistent"})
    assert explicit["AIMODELS_EMULATOR_URL"] == "http://127.0.0.1:5"


def test_backend_from_env_then_login_then_the_file_default(project: Project, tmp_path: Path) -> None:
    home = tmp_path / "home"
    base = {"HOME": str(home)}
    assert pulumi_environment(project, emulator=True, base=base)["PULUMI_BACKEND_URL"] == \
        (project.root / ".pulumi-state").as_uri()
    assert "PULUMI_BACKEND_URL" not in pulumi_environment(project, base=base)  # Pulumi's own default then
    (home / ".pulumi").mkdir(parents=True)
    (home / ".pulumi" / "credentials.json").write_text(json.dumps({"current": "s3://team-state?region=eu-west-1"}))
    assert logged_in_backend(base) == "s3://team-state?region=eu-west-1"
    for emulator in (True, False):
        assert pulumi_environment(project, emulator=emulator, base=base)["PULUMI_BACKEND_URL"] == \
            "s3://team-state?region=eu-west-1"
    # a login in the project's PULUMI_HOME wins over ~/.pulumi; PULUMI_BACKEND_URL over both
    own = tmp_path / "pulumi-home"
    own.mkdir()
    (own / "credentials.json").write_text(json.dumps({"current": "file:///srv/state"}))
    assert logged_in_backend({**base, "PULUMI_HOME": str(own)}) == "file:///srv/state"
    env = pulumi_environment(project, emulator=True, base={**base, "PULUMI_HOME": str(own), "PULUMI_BACKEND_URL": "s3://x"})
    assert env["PULUMI_BACKEND_URL"] == "s3://x"


def test_policy_pack_paths_are_made_absolute_against_the_shell_directory(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out, given = absolutize(["--diff", "--policy-pack", "policy/aimodels-policy", "--policy-pack=../x"])
    assert out == ["--diff", "--policy-pack", str(tmp_path / "policy" / "aimodels-policy"),
                   f"--policy-pack={tmp_path.parent / 'x'}"]
    assert given
    assert absolutize(["--diff"]) == (["--diff"], False)


def test_policy_events_are_read_from_the_event_log(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    log.write_text("\n".join([
        json.dumps({"sequence": 1, "preludeEvent": {}}),
        json.dumps({"policyEvent": {"resourceUrn": "urn:pulumi:prod::aimodels::pulumi-python:dynamic/pai:Model::m",
                                    "message": "pai:Model m has accessibility `PUBLIC`\n", "policyName": "no-public",
                                    "policyPackName": "aimodels-prod", "policyPackVersion": "0.1.0",
                                    "enforcementLevel": "mandatory"}}),
        "not json",
    ]))
    assert policy_events(log) == [Violation("aimodels-prod@v0.1.0", "no-public", "mandatory",
                                            "urn:pulumi:prod::aimodels::pulumi-python:dynamic/pai:Model::m",
                                            "pai:Model m has accessibility `PUBLIC`")]
    assert policy_events(tmp_path / "missing") == []


def test_review_reports_policy_results_and_a_skip() -> None:
    preview = {"steps": [], "config": {"aimodels:environment": "prod"}}
    v = Violation("aimodels-prod@v0.1.0", "no-public", "mandatory", "urn:pulumi:prod::a::t::registry-model", "public")
    blocked = report_from_preview(preview, stack="prod", policy=PolicyResult(ran=True, required=True, events=[v]))
    text = render(blocked)
    assert "Policy pack **aimodels-prod@v0.1.0**: 1 violation(s), 1 mandatory (the update is blocked)." in text
    assert "| `no-public` | mandatory | `registry-model` | public |" in text
    assert blocked.risks == ["**Policy pack aimodels-prod@v0.1.0 (mandatory)**: `no-public` on `registry-model`: public"]
    skipped = report_from_preview(preview, stack="prod", policy=PolicyResult(ran=False, required=True, skipped=True))
    assert "Policy pack **skipped** (`--skip-policy`) on a prod stack." in render(skipped)
    assert skipped.risks and skipped.risks[0].startswith("**Policy skipped**")
    clean = report_from_preview(preview, stack="prod", policy=PolicyResult(ran=True, required=True))
    assert "Policy pack ran: no violations." in render(clean) and not clean.risks
    assert "### Policy" not in render(report_from_preview(preview, stack="prod"))  # a saved document: unknown


def test_skip_policy_and_policy_flags_parse() -> None:
    args = build_parser().parse_args(["up", "--stack", "prod", "--skip-policy"])
    assert args.skip_policy and not args.policy
    args = build_parser().parse_args(["review", "--stack", "qa", "--init", "--policy"])
    assert args.init and args.policy
    assert build_parser().parse_args(["promote", "--from", "a", "--to", "b", "--no-refresh"]).no_refresh
    assert build_parser().parse_args(["status", "--stack", "dev", "--stack", "prod", "--format", "markdown"]).stack \
        == ["dev", "prod"]


def _step(op: str, rtype: str, name: str, old: dict | None, new: dict | None) -> dict:
    urn = f"urn:pulumi:dev::aimodels::pulumi-python:dynamic/{rtype}::{name}"
    return {"op": op, "urn": urn, "oldState": old and {"inputs": old, "outputs": {}},
            "newState": new and {"inputs": new, "outputs": {}}}


def test_status_rows_from_a_refresh_preview() -> None:
    doc = {"steps": [
        _step("same", "esd:Endpoint", "async-endpoint", {"status": "InService"}, {"status": "InService"}),
        _step("same", "esd:Checkpoint", "base-model", {"source_url": "https://m/sd/base.safetensors"},
              {"source_url": "https://m/sd/base.safetensors"}),
        _step("update", "esd:InferenceJob", "smoke", {"status": "succeed"}, {"status": "failed"}),
        _step("same", "pai:ModelVersion", "v1", {"version_name": "1.0.0", "labels": {"alias": "current"},
                                                 "approval_status": "Approved"},
              {"version_name": "1.0.0", "labels": {"alias": "current"}, "approval_status": "Approved"}),
        _step("update", "fabric:Model", "chat-model", {"version_ids": {"v1": "a", "v2": "b"}, "current_version_id": "b"},
              {"version_ids": {"v1": "a", "v2": "b"}, "current_version_id": "a"}),
    ]}
    pins = {"esd": {"baseModelUrl": "https://m/sd/base.safetensors"}, "pai": {"versions": [{"name": "1.0.0"}]},
            "fabric": {"versions": [{"name": "v1"}, {"name": "v2"}], "current": "v2"}}
    rows = ST.rows("dev", pins, ST.live_resources("warning: noise before the document\n" + json.dumps(doc)))
    got = {r.platform: (r.serves, r.pinned, r.status, r.drift, r.matches) for r in rows}
    assert got == {"esd": ("base.safetensors", "base.safetensors", "InService; smoke failed", ["smoke"], True),
                   "pai": ("1.0.0", "1.0.0", "Approved", [], True),
                   "fabric": ("v1", "v2", "present", ["chat-model"], False)}
    assert ST.markdown(rows).splitlines()[4] == "| dev | fabric | v1 | v2 (differs) | present | chat-model |"
    assert json.loads(ST.as_json(rows))[2]["matches"] is False
    with pytest.raises(ValueError):
        ST.live_resources("error: no stack")
