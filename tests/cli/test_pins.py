"""Pins: the gate over a source's state, the target's new pins, the config edits, rollback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aimodels import pins as P


def res(type_token: str, urn_name: str, **props: Any) -> dict[str, Any]:
    return {"urn": f"urn:pulumi:dev::aimodels::pulumi-python:dynamic/{type_token}::{urn_name}",
            "type": f"pulumi-python:dynamic/{type_token}", "inputs": {}, "outputs": props}


def deployment(approval: str = "Approved", current_label: str | None = "1.1.0", smoke: str = "succeed",
               fabric_current_id: str = "id-v2") -> dict[str, Any]:
    def labels(name: str) -> dict[str, str]:
        return {"environment": "dev", **({"alias": "current"} if name == current_label else {})}
    return {"resources": [
        {"urn": "urn:pulumi:dev::aimodels::pulumi:pulumi:Stack::aimodels-dev", "type": "pulumi:pulumi:Stack"},
        res("pai:Model", "registry-model", name="dev-sd-base", model_id="m-1"),
        res("pai:ModelVersion", "registry-model-1.0.0", version_name="1.0.0", uri="oss://b/1.0.0/",
            format_type="SavedModel", framework_type="Pytorch", approval_status="Approved", labels=labels("1.0.0")),
        res("pai:ModelVersion", "registry-model-1.1.0", version_name="1.1.0", uri="oss://b/1.1.0/",
            format_type="SavedModel", framework_type="Pytorch", approval_status=approval, labels=labels("1.1.0")),
        res("fabric:Model", "chat-model", current_version="v2", current_version_id=fabric_current_id,
            version_ids={"v1": "id-v1", "v2": "id-v2"},
            versions=[{"name": "v1", "base_model_type": "Q", "model_path": "obs://b/v1/", "description": None},
                      {"name": "v2", "base_model_type": "Q", "model_path": "obs://b/v2/", "description": None}]),
        res("esd:Checkpoint", "base-model", source_url="https://m.example.com/sd.safetensors"),
        res("esd:InferenceJob", "endpoint-smoke-test", status=smoke),
    ]}


TARGET = {
    "pai": {"versions": [{"name": "1.0.0", "uri": "oss://b/1.0.0/", "approval": "Approved"}]},
    "fabric": {"workspace": "ws", "versions": [{"name": "v1", "baseModelType": "Q", "modelPath": "obs://b/v1/"}],
               "current": "v1"},
    "esd": {"endpoint": {"instanceType": "ml.g5.2xlarge"}},
}


def test_proven_items_become_the_targets_new_pointers() -> None:
    found, refusals = P.proven("dev", deployment(), list(P.PLATFORMS))
    assert refusals == []
    old = P.current_pins(TARGET)
    new, more = P.promoted("staging", old, found)
    assert more == []
    assert [v["name"] for v in new["pai"]["versions"]] == ["1.0.0", "1.1.0"]
    assert new["pai"]["versions"][1] == {"name": "1.1.0", "uri": "oss://b/1.1.0/", "format": "SavedModel",
                                         "framework": "Pytorch", "approval": "Approved"}
    assert new["pai"]["current"] == "1.1.0"
    assert new["fabric"]["versions"][1] == {"name": "v2", "baseModelType": "Q", "modelPath": "obs://b/v2/"}
    assert new["fabric"]["current"] == "v2"
    assert new["esd"] == {"baseModelUrl": "https://m.example.com/sd.safetensors"}
    assert old["pai"]["versions"] == TARGET["pai"]["versions"]  # the input is not modified


def test_gate_refuses_unapproved_current_pai_version() -> None:
    found, refusals = P.proven("dev", deployment(approval="Pending"), ["pai"])
    assert [str(r) for r in refusals] == ["pai 1.1.0: approval status in dev is Pending, not Approved"]
    assert "pai" not in found


def test_gate_uses_the_alias_not_the_newest_version() -> None:
    found, refusals = P.proven("dev", deployment(approval="Pending", current_label="1.0.0"), ["pai"])
    assert refusals == [] and found["pai"]["version"]["name"] == "1.0.0"


def test_gate_refuses_failed_smoke_test_and_fabric_version_not_current() -> None:
    _, refusals = P.proven("dev", deployment(smoke="failed", fabric_current_id="id-v1"), ["fabric", "esd"])
    text = "; ".join(map(str, refusals))
    assert "fabric v2: is not the current version in dev" in text
    assert "esd base model: the smoke test in dev did not succeed (status failed)" in text


def test_gate_refuses_a_source_that_runs_nothing() -> None:
    _, refusals = P.proven("dev", {"resources": []}, ["pai"])
    assert [str(r) for r in refusals] == ["dev: has no deployed resources (run `pulumi up` on it first)"]


def test_a_pinned_version_never_changes_content() -> None:
    found, _ = P.proven("dev", deployment(), ["pai"])
    target = {**TARGET, "pai": {"versions": [{"name": "1.1.0", "uri": "oss://other/1.1.0/"}]}}
    _, refusals = P.promoted("staging", P.current_pins(target), found)
    assert "pai 1.1.0: staging pins a different content under that name" in str(refusals[0])


def test_edits_are_leaf_sets_and_removals_last_first() -> None:
    old = {"versions": [{"name": "a", "uri": "u1"}], "current": "a"}
    new = {"versions": [{"name": "a", "uri": "u1"}, {"name": "b", "uri": "u2"}], "current": "b"}
    sets, removals = P.edits("aimodels:pai", old, new)
    assert sets == [("aimodels:pai.versions[1].name", "b"), ("aimodels:pai.versions[1].uri", "u2"),
                    ("aimodels:pai.current", "b")]
    assert removals == []
    sets, removals = P.edits("aimodels:pai", new, {"versions": [{"name": "a", "uri": "u1"}]})
    assert sets == [] and removals == ["aimodels:pai.versions[1]", "aimodels:pai.current"]
    assert P.edits("aimodels:esd", {}, {"baseModelUrl": "https://x"}) == ([("aimodels:esd.baseModelUrl", "https://x")], [])
    assert P.edits("aimodels:esd", None, {"baseModelUrl": "https://x"}) == ([("aimodels:esd.baseModelUrl", "https://x")], [])


def test_rollback_repoints_and_keeps_versions(tmp_path: Path) -> None:
    found, _ = P.proven("dev", deployment(), ["pai", "fabric"])
    old = P.current_pins(TARGET)
    new, _ = P.promoted("staging", old, found)
    path = P.history_file(tmp_path, "staging")
    first = P.append_history(path, {"action": "promote", "from": "dev", "before": {p: old[p] for p in ("pai", "fabric")},
                                    "after": {p: new[p] for p in ("pai", "fabric")}})
    assert first["id"] == 1 and path.read_text().startswith("# Pin history of stack staging")
    entry = P.last_undoable(P.read_history(path))
    back, drift = P.repointed(new, entry)
    assert drift == []
    assert back["pai"]["current"] == "1.0.0"  # the implicit "last listed" of before, made explicit
    assert back["fabric"]["current"] == "v1"
    assert [v["name"] for v in back["pai"]["versions"]] == ["1.0.0", "1.1.0"]  # still registered
    P.append_history(path, {"action": "rollback", "undoes": 1, "before": {}, "after": {}})
    assert P.last_undoable(P.read_history(path)) is None


def test_rollback_refuses_when_a_pointer_moved_since() -> None:
    found, _ = P.proven("dev", deployment(), ["fabric"])
    old = P.current_pins(TARGET)
    new, _ = P.promoted("staging", old, found)
    entry = {"id": 1, "before": {"fabric": old["fabric"]}, "after": {"fabric": new["fabric"]}}
    moved = {**new, "fabric": {**new["fabric"], "current": "v1"}}
    _, drift = P.repointed(moved, entry)
    assert drift == ["fabric"]


@pytest.mark.parametrize("platform", ["pai", "fabric"])
def test_effective_pointer_defaults_to_last_version(platform: str) -> None:
    assert P.effective(platform, {"versions": [{"name": "x"}, {"name": "y"}]}) == "y"
    assert P.effective(platform, {"versions": [{"name": "x"}, {"name": "y"}], "current": "x"}) == "x"
