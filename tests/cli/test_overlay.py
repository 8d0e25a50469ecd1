"""Emulator mode's generated stack file, with the real Pulumi CLI (no program is run)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from aimodels.pulumi_cli import EMULATOR_ENV, Project, Pulumi

REPO = Path(__file__).resolve().parents[2]
PULUMI = REPO / ".tools" / "pulumi" / "bin" / "pulumi"
if not PULUMI.is_file() and shutil.which("pulumi"):
    PULUMI = Path(shutil.which("pulumi"))


@pytest.fixture
def pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pulumi:
    if not PULUMI.is_file():
        pytest.fail("the Pulumi CLI is missing: run scripts/pulumi-cli.sh", pytrace=False)
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True)
    shutil.copy(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copy(REPO / "stacks" / "Pulumi.staging.yaml", root / "stacks" / "Pulumi.staging.yaml")
    monkeypatch.setenv("AIMODELS_PULUMI", str(PULUMI))
    monkeypatch.setenv("PULUMI_BACKEND_URL", (tmp_path / "state").as_uri())
    monkeypatch.setenv("PULUMI_HOME", str(REPO / ".tools" / "pulumi-home"))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "overlay-test-only")
    (tmp_path / "state").mkdir()
    return Pulumi(Project.find(root), emulator=True, emulator_url="http://127.0.0.1:9")


def test_overlay_targets_the_emulator_and_leaves_the_stack_file_alone(pulumi: Pulumi) -> None:
    committed = pulumi.project.stack_file("staging").read_bytes()
    assert pulumi.init("staging") is True
    assert pulumi.init("staging") is False
    assert pulumi.project.stack_file("staging").read_bytes() == committed  # no salt written into it
    path = pulumi.config_file("staging")
    assert path == pulumi.project.root / ".aimodels" / "emulator" / "Pulumi.staging.yaml"
    doc = yaml.safe_load(path.read_text())
    config = doc["config"]
    assert str(config["aimodels:emulator"]).lower() == "true"  # Pulumi rewrites it as a string
    assert config["esd:apiUrl"] == "http://127.0.0.1:9/esd/prod"
    assert config["pai:endpoint"] == "http://127.0.0.1:9/pai"
    assert config["fabric:endpoint"] == "http://127.0.0.1:9/fabric"
    assert config["aimodels:fabric"]["workspace"] == "emulator-workspace"
    assert config["aimodels:pai"] == yaml.safe_load(committed)["config"]["aimodels:pai"]  # pins untouched
    assert set(config["aimodels:engineerPassword"]) == {"secure"}  # encrypted, with the overlay's own salt
    salt = doc["encryptionsalt"]
    assert all(pulumi.env[k] == v for k, v in EMULATOR_ENV.items())
    assert pulumi.env["AIMODELS_EMULATOR_URL"] == "http://127.0.0.1:9"

    # regenerated from the stack file on every command, keeping its salt and encrypted password
    again = yaml.safe_load(pulumi.config_file("staging").read_text())
    assert again["encryptionsalt"] == salt
    assert again["config"]["aimodels:engineerPassword"] == config["aimodels:engineerPassword"]
    assert pulumi.project.stack_file("staging").read_bytes() == committed


def test_dry_run_file_is_the_new_text(pulumi: Pulumi) -> None:
    pulumi.init("staging")
    text = pulumi.project.stack_file("staging").read_text().replace("current: v1", "current: v1\n    # dry")
    doc = yaml.safe_load(pulumi.config_file("staging", text).read_text())
    assert doc["config"]["aimodels:fabric"]["current"] == "v1" and str(doc["config"]["aimodels:emulator"]).lower() == "true"
