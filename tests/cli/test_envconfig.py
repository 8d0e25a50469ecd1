"""The environment schema: every committed stack file passes; a bad value names stack, key and rule."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aimodels.envconfig import ConfigProblem, from_stack_file, validate

STACKS = Path(__file__).resolve().parents[2] / "stacks"


@pytest.mark.parametrize("stack", ["local", "dev", "staging", "prod"])
def test_committed_stack_files_are_valid(stack: str) -> None:
    doc = yaml.safe_load((STACKS / f"Pulumi.{stack}.yaml").read_text())
    config = from_stack_file(stack, doc)
    assert config.environment == stack
    assert config.fabric.current_name and config.pai.current_name


def test_committed_non_local_files_hold_no_secrets_and_no_emulator() -> None:
    for stack in ("dev", "staging", "prod"):
        text = (STACKS / f"Pulumi.{stack}.yaml").read_text()
        assert "secure:" not in text and "encryptionsalt" not in text
        assert "aimodels:emulator" not in yaml.safe_load(text)["config"]


def test_prod_is_configured_like_prod() -> None:
    prod = from_stack_file("prod", yaml.safe_load((STACKS / "Pulumi.prod.yaml").read_text()))
    assert prod.is_prod and prod.esd.endpoint.autoscaling.enabled
    assert all(v.approval == "Approved" for v in prod.pai.versions)
    assert prod.pai.accessibility == "PRIVATE"


@pytest.mark.parametrize(("values", "message"), [
    ({"pai": {"versions": [{"name": "1.0.0", "uri": "oss://b/x", "approval": "ok"}]}},
     "stack prod: aimodels:pai.versions[0].approval: Input should be 'Pending', 'Approved' or 'Rejected'"),
    ({"pai": {"versions": [{"name": "one", "uri": "oss://b/x"}]}},
     "stack prod: aimodels:pai.versions[0].name: String should match pattern"),
    ({"fabric": {"versions": [{"name": "v1", "baseModelType": "Q"}], "current": "v9"}},
     "stack prod: aimodels:fabric: current 'v9' is not one of the listed versions"),
    ({"fabric": {"versions": [{"name": "v1", "baseModelType": "Q"}, {"name": "v1", "baseModelType": "Q"}]}},
     "stack prod: aimodels:fabric: version names must be unique (repeated: v1)"),
    ({"esd": {"endpoint": {"instanceTyp": "ml.g5.xlarge"}}}, "stack prod: aimodels:esd.endpoint.instanceTyp: unknown key"),
    ({"esd": {"trainEpochs": 0}}, "stack prod: aimodels:esd.trainEpochs: Input should be greater than or equal to 1"),
    ({"esd": {"endpoint": {"autoscaling": {"enabled": True, "min": 3, "max": 2}}}},
     "stack prod: aimodels:esd.endpoint.autoscaling: min must not exceed max"),
    ({"paiVersions": "[\"1.0.0\"]"}, "stack prod: aimodels:paiVersions: unknown key"),
    ({"environment": "Prod-EU"}, "stack prod: aimodels:environment: String should match pattern"),
])
def test_bad_values_name_stack_key_and_rule(values: dict, message: str) -> None:
    with pytest.raises(ConfigProblem) as err:
        validate("prod", values)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigProblem) as err:
        validate("dev", {"esd": {"trainEpochs": 0}, "pai": {"accessibility": "OPEN"}, "bogus": 1})
    text = str(err.value)
    assert text.count("stack dev:") == 3
    assert "aimodels:bogus: unknown key" in text and "aimodels:pai.accessibility" in text


def test_structured_values_and_pulumi_strings() -> None:
    # `pulumi config set aimodels:emulator true` stores the string "true"
    config = validate("dev", {"emulator": "true", "pai": {"versions": [
        {"name": "1.0.0", "uri": "oss://b/1/"}, {"name": "1.1.0", "uri": "oss://b/2/", "approval": "Approved"}]}})
    assert config.emulator is True
    assert config.environment == "dev"
    assert config.pai.current_name == "1.1.0"
    assert config.pai.versions[0].approval == "Pending"
