"""The review report over preview documents shaped like `pulumi preview --json` (3.259)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aimodels.cli import main
from aimodels.review import RISK_EXIT, UNKNOWN, render, report_from_preview

SIG = "4dabf18193072939515e22adb298388d"


def urn(stack: str, type_token: str, name: str) -> str:
    return f"urn:pulumi:{stack}::aimodels::pulumi-python:dynamic/{type_token}::{name}"


def step(op: str, stack: str, type_token: str, name: str, old: dict | None = None, new: dict | None = None,
         **extra: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"op": op, "urn": urn(stack, type_token, name), **extra}
    if old is not None:
        s["oldState"] = {"inputs": {"__provider": "gASV", **old}, "outputs": {"__provider": "gASV", **old}}
    if new is not None:
        s["newState"] = {"inputs": {"__provider": "gASV", **new}}
    return s


def preview(stack: str, *steps: dict, environment: str | None = None, diagnostics: list | None = None) -> dict:
    doc = {"config": {"aimodels:environment": environment or stack, "aimodels:engineerPassword": "[secret]"},
           "steps": [{"op": "same", "urn": f"urn:pulumi:{stack}::aimodels::pulumi:pulumi:Stack::aimodels-{stack}"},
                     *steps], "changeSummary": {}}
    if diagnostics:
        doc["diagnostics"] = diagnostics
    return doc


def test_changes_with_old_and_new_values_and_secrets_masked() -> None:
    doc = preview(
        "staging",
        step("update", "staging", "esd:User", "engineer",
             old={"username": "staging-engineer", "password": {SIG: "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "x"},
                  "roles": ["staging-operators"]},
             new={"username": "staging-engineer", "password": "[secret]", "roles": ["staging-operators", "staging-x"]}),
        step("create", "staging", "esd:User", "auditor", new={"username": "staging-auditor", "password": "hunter2"}),
        step("update", "staging", "fabric:Model", "chat-model",
             old={"name": "staging-chat", "current_version": "v1", "wait_timeout_s": 600,
                  "versions": [{"name": "v1", "base_model_type": "Q"}]},
             new={"name": "staging-chat", "current_version": "v2", "wait_timeout_s": 600.0,
                  "versions": [{"name": "v1", "base_model_type": "Q"}, {"name": "v2", "base_model_type": "Q"}]}),
        step("delete", "staging", "pai:ModelVersion", "registry-model-0.9.0", old={"version_name": "0.9.0"}),
    )
    report = report_from_preview(doc)
    text = render(report)
    assert report.stack == "staging" and report.risks == []
    assert "**1 to delete, 2 to update, 1 to create**" in text
    assert "hunter2" not in text and "ciphertext" not in text
    assert "| `password` | — | `[secret]` |" in text
    assert "| `roles` | `[\"staging-operators\"]` | `[\"staging-operators\", \"staging-x\"]` |" in text
    assert "| `current_version` | `v1` | `v2` |" in text
    assert "| `versions[1]` | — | `{\"base_model_type\": \"Q\", \"name\": \"v2\"}` |" in text
    assert "wait_timeout_s" not in text  # 600 vs 600.0 (the engine's doubles) is no change
    assert "#### - delete `registry-model-0.9.0` (pai:ModelVersion)\n\nDeletes `0.9.0`." in text
    assert "__provider" not in text


def test_detailed_diff_is_used_when_the_server_sends_one() -> None:
    doc = preview("dev", step("update", "dev", "pai:Model", "registry-model",
                              old={"name": "dev-sd", "description": "a", "labels": {"team": "x"}},
                              new={"name": "dev-sd", "description": "b", "labels": {"team": "y"}},
                              detailedDiff={"labels.team": {"kind": "UPDATE", "inputDiff": True}}))
    text = render(report_from_preview(doc))
    assert "| `labels.team` | `x` | `y` |" in text
    assert "description" not in text  # only what the provider says changes


def test_endpoint_replacement_is_downtime_and_unknowns_are_shown() -> None:
    doc = preview("dev",
                  step("replace", "dev", "esd:Endpoint", "async-endpoint",
                       old={"name": "dev-sd", "instance_type": "ml.g5.2xlarge", "endpoint_name": "esd-async-dev-sd"},
                       new={"name": "dev-sd", "instance_type": "ml.g5.4xlarge"}, replaceReasons=["instance_type"]),
                  step("replace", "dev", "esd:InferenceJob", "endpoint-smoke-test",
                       old={"endpoint_name": "esd-async-dev-sd", "wait_timeout_s": 600},
                       new={"endpoint_name": UNKNOWN}))
    report = report_from_preview(doc)
    text = render(report)
    assert len(report.risks) == 1
    assert report.risks[0].startswith("**Downtime**: `async-endpoint` (esd:Endpoint) is replaced delete-first "
                                      "(instance_type); the endpoint `esd-async-dev-sd` is gone")
    assert "| `instance_type` (forces replacement) | `ml.g5.2xlarge` | `ml.g5.4xlarge` |" in text
    assert "| `endpoint_name` | `esd-async-dev-sd` | _(known after apply)_ |" in text
    assert "wait_timeout_s" not in text  # not known yet is not a removal


def test_model_deletes_with_versions_are_flagged() -> None:
    doc = preview("dev",
                  step("delete", "dev", "pai:Model", "registry-model", old={"name": "dev-sd", "model_id": "m-1"}),
                  step("delete", "dev", "fabric:Model", "chat-model",
                       old={"name": "dev-chat", "versions": [{"name": "v1"}, {"name": "v2"}]}))
    state = {"resources": [{"urn": urn("dev", "pai:ModelVersion", "registry-model-1.0.0"),
                            "inputs": {"model_id": "m-1"}}]}
    risks = report_from_preview(doc, deployment=state).risks
    assert any("`registry-model` (pai:Model) `dev-sd` still has 1 version(s)" in r for r in risks)
    assert any("`chat-model` (fabric:Model) `dev-chat` still has 2 version(s); they are deleted with it" in r
               for r in risks)


def test_prod_rules_current_moves_and_environment_mismatch() -> None:
    doc = preview(
        "prod",
        step("update", "prod", "fabric:Model", "chat-model",
             old={"name": "prod-chat", "current_version": "v1", "versions": [{"name": "v1"}, {"name": "v2"}]},
             new={"name": "prod-chat", "current_version": "v2", "versions": [{"name": "v1"}, {"name": "v2"}]}),
        step("create", "prod", "pai:ModelVersion", "registry-model-1.1.0",
             new={"version_name": "1.1.0", "approval_status": "Pending", "labels": {"environment": "prod",
                                                                                    "alias": "current"}}),
        step("update", "prod", "pai:Model", "registry-model",
             old={"name": "prod-sd-base", "accessibility": "PRIVATE"},
             new={"name": "prod-sd-base", "accessibility": "PUBLIC"}),
        step("create", "prod", "esd:Endpoint", "async-endpoint",
             new={"name": "staging-sd", "autoscaling_enabled": False, "assign_to_roles": ["prod-operators"]}),
    )
    risks = report_from_preview(doc).risks
    text = "\n".join(risks)
    assert "**Current version moves in prod**: `chat-model` (fabric:Model) `prod-chat` serves `v2` instead of `v1`" in text
    assert "**Current version moves in prod**: `registry-model-1.1.0` (pai:ModelVersion) `1.1.0` becomes" in text
    assert "**Policy (prod model versions are Approved)**: `registry-model-1.1.0` (pai:ModelVersion) has approval " \
           "status `Pending`" in text
    assert "**Policy (no public models in prod)**: `registry-model` (pai:Model)" in text
    assert "**Policy (prod endpoints autoscale)**: `async-endpoint` (esd:Endpoint) has autoscaling disabled" in text
    assert "**Environment mismatch**: `async-endpoint` (esd:Endpoint) in `prod` carries `staging-sd`" in text
    assert len(risks) == 6


def test_the_same_changes_outside_prod_are_not_flagged() -> None:
    doc = preview("staging", step("update", "staging", "fabric:Model", "chat-model",
                                  old={"name": "staging-chat", "current_version": "v1"},
                                  new={"name": "staging-chat", "current_version": "v2"}),
                  step("create", "staging", "esd:Endpoint", "async-endpoint",
                       new={"name": "staging-sd", "autoscaling_enabled": False}))
    assert report_from_preview(doc).risks == []


def test_stack_claiming_another_environment() -> None:
    risks = report_from_preview(preview("prod", environment="staging")).risks
    assert risks == ["**Environment mismatch**: stack `prod` says `aimodels:environment: staging`; its platform "
                     "names would collide with that environment's."]


def test_exit_codes_for_ci(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    risky = tmp_path / "risky.json"
    risky.write_text(json.dumps(preview("prod", environment="staging")))
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps(preview("dev")))
    failed = tmp_path / "failed.json"
    failed.write_text(json.dumps(preview("dev", diagnostics=[
        {"message": "stack dev: aimodels:esd.trainEpochs: Input should be greater than or equal to 1\n",
         "severity": "error"}])))
    assert main(["review", "--preview-json", str(risky)]) == RISK_EXIT
    assert main(["review", "--preview-json", str(risky), "--no-fail"]) == 0
    assert main(["review", "--preview-json", str(clean)]) == 0
    assert main(["review", "--preview-json", str(failed)]) == 1
    out = capsys.readouterr().out
    assert "### Preview failed\n\n- stack dev: aimodels:esd.trainEpochs: Input should be greater" in out
    assert main(["review", "--preview-json", str(tmp_path / "missing.json")]) == 1
    assert "aimodels review: cannot read a `pulumi preview --json` document" in capsys.readouterr().err


def test_detailed_diff_on_a_whole_list_shows_the_items_that_differ() -> None:
    # what the project's provider server sends for a new Fabric version: the top-level key only
    v1 = {"name": "v1", "base_model_type": "Q", "description": None}
    v2 = {"name": "v2", "base_model_type": "Q", "description": None}
    doc = preview("dev", step("update", "dev", "fabric:Model", "chat-model",
                              old={"name": "dev-chat", "versions": [v1]}, new={"name": "dev-chat", "versions": [v1, v2]},
                              detailedDiff={"versions": {"kind": "UPDATE", "inputDiff": True}}))
    [change] = report_from_preview(doc).changes
    assert [(p.path, p.old, p.new, p.kind) for p in change.props] == [
        ("versions[1]", None, {"name": "v2", "base_model_type": "Q"}, "add")]


def test_a_failed_create_never_shows_its_internal_key_as_an_input() -> None:
    failed = {"name": "dev-sd", "instance_type": "ml.bad"}
    state = {"inputs": {"__provider": "gASV", **failed},
             "outputs": {"__provider": "gASV", **failed, "__init_error": "reached Failed"}}
    retried = {**step("replace", "dev", "esd:Endpoint", "retried", new=failed, replaceReasons=["__init_error"],
                      detailedDiff={"__init_error": {"kind": "UPDATE_REPLACE", "inputDiff": True}}), "oldState": state}
    corrected = {**step("replace", "dev", "esd:Endpoint", "corrected", new={**failed, "instance_type": "ml.g5.2xlarge"},
                        replaceReasons=["instance_type"],
                        detailedDiff={"instance_type": {"kind": "UPDATE_REPLACE", "inputDiff": True}}),
                 "oldState": state}
    text = render(report_from_preview(preview("dev", retried, corrected)))
    assert "__init_error" not in text and "__provider" not in text
    assert "| `instance_type` (forces replacement) | `ml.bad` | `ml.g5.2xlarge` |" in text
    assert "`retried` (esd:Endpoint)" in text and "Replaced because its last create failed" in text
