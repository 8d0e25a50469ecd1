"""The project's provider server (providers/core/server.py) under the real engine.

What the stock server (``python -m pulumi.dynamic``) cannot do, checked on the engine's own JSON:
honest previews (one update, no false replacement of dependents, the changed property named,
secrets included), import of every readable type, a create that fails after the platform
accepted the object kept in state for replacement, custom_timeouts as wait deadlines, and an
official CLI install picking the server up through Pulumi.yaml. The same program also runs
under the stock server, unchanged, with the stock limits.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

from aimodels.stateserver import StateServer
from emulator import defaults
from tests.e2e.conftest import PULUMI_HOME, REPO, kms_env
from tests.emulator_process import Emulator

PROGRAM = Path(__file__).resolve().parent / "programs" / "server" / "__main__.py"
LAUNCHERS = REPO / "scripts" / "launchers"
FAST = {"esd": {"endpoint_create_seconds": 0.3, "checkpoint_download_seconds": 0.2, "checkpoint_rename_seconds": 0.1,
                "inference_async_seconds": 0.2, "training_phase_seconds": 0.1},
        "fabric": {"create_delay_s": 0.2, "version_delay_s": 0.2}}
PAI_SECRET = defaults.PAI_ACCESS_KEY_SECRET
FABRIC_SECRET = defaults.FABRIC_SECRET_KEY
ESD_KEY = defaults.ESD_API_KEY


def quiet(_: str) -> None:
    pass


def write_project(root: Path, *, plugins: bool = True) -> Path:
    """A project around tests/e2e/programs/server, on the venv running these tests."""
    (root / "app").mkdir(parents=True)
    shutil.copy(PROGRAM, root / "app" / "__main__.py")
    text = textwrap.dedent(f"""\
        name: server
        main: app/
        runtime:
          name: python
          options:
            toolchain: pip
            virtualenv: {sys.prefix}
        """)
    if plugins:
        text += textwrap.dedent(f"""\
            plugins:
              providers:
                - name: pulumi-python
                  path: {LAUNCHERS}
            """)
    (root / "Pulumi.yaml").write_text(text)
    # The program finds the repository's assets relative to itself.
    (root / "stacks").mkdir()
    os.symlink(REPO / "stacks" / "assets", root / "stacks" / "assets")
    return root


def config(emulator: Emulator, **more: Any) -> dict[str, Any]:
    return {"esd:apiUrl": f"{emulator.url}/esd/prod", "pai:endpoint": f"{emulator.url}/pai",
            "pai:accessKeyId": defaults.PAI_ACCESS_KEY_ID, "fabric:endpoint": f"{emulator.url}/fabric",
            "fabric:accessKey": defaults.FABRIC_ACCESS_KEY, **more}


SECRETS = {"password": "First-Passw0rd", "esd:apiKey": ESD_KEY, "pai:accessKeySecret": PAI_SECRET, "fabric:secretKey": FABRIC_SECRET}


@pytest.fixture
def fresh(emulator: Emulator) -> Emulator:
    emulator.reset()
    emulator.clear_faults()
    for platform, values in FAST.items():
        emulator.settings(platform, **values)
    return emulator


def preview_json(stack: auto.Stack) -> dict[str, Any]:
    """``pulumi preview --json``: the engine's own account of what up will do."""
    proc = subprocess.run(
        [str(Path(stack.workspace.pulumi_command.command)), "preview", "--json", "--stack", stack.name],
        cwd=stack.workspace.work_dir, env={**os.environ, **stack.workspace.env_vars,
                                           "PULUMI_HOME": str(PULUMI_HOME)},
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return json.loads(proc.stdout)


def steps(preview: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {s["urn"].split("::")[-1]: (s["op"], s.get("detailedDiff") or {})
            for s in preview["steps"] if s["op"] != "same"}


def dynamic_resources(stack: auto.Stack) -> dict[str, dict[str, Any]]:
    return {r["urn"].split("::")[-1]: r for r in stack.export_stack().deployment.get("resources", [])
            if "dynamic" in r["type"]}


def test_previews_are_honest(make_stack, fresh: Emulator, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p")
    stack = make_stack(program_dir=project, stack_name="honest", config=config(fresh), secrets=SECRETS)
    assert stack.up(on_output=quiet).summary.result == "succeeded"

    # A model's description: one update; its version (which uses model_id) is not replaced.
    stack.set_config("description", auto.ConfigValue("second words"))
    preview = preview_json(stack)
    assert preview["changeSummary"] == {"same": 10, "update": 1}, steps(preview)
    assert steps(preview) == {"model": ("update", {"description": {"kind": "update", "inputDiff": True}})}
    assert stack.up(on_output=quiet).summary.resource_changes == {"same": 10, "update": 1}

    # Disabling a checkpoint: one update; the training and the smoke test that use its file
    # names are not replaced.
    stack.set_config("enabled", auto.ConfigValue("false"))
    preview = preview_json(stack)
    assert steps(preview) == {"checkpoint": ("update", {"enabled": {"kind": "update", "inputDiff": True}})}
    assert stack.up(on_output=quiet).summary.resource_changes == {"same": 10, "update": 1}
    stack.preview(expect_no_changes=True, on_output=quiet)

    # A secret-only change names the secret property and masks its value.
    stack.set_config("password", auto.ConfigValue("Second-Passw0rd", secret=True))
    preview = preview_json(stack)
    assert steps(preview) == {"user": ("update", {"password": {"kind": "update", "inputDiff": True}})}
    text = stack.preview(diff=True, on_output=quiet).stdout
    assert "password" in text and "[secret]" in text and "Passw0rd" not in text
    assert stack.up(on_output=quiet).summary.resource_changes == {"same": 10, "update": 1}
    stack.preview(expect_no_changes=True, on_output=quiet)


def test_stock_server_runs_the_same_program(make_stack, fresh: Emulator, tmp_path: Path) -> None:
    """Programs keep working under the SDK's stock server, with its limits (no detailed diff)."""
    project = write_project(tmp_path / "p")
    stack = make_stack(program_dir=project, stack_name="stock", config=config(fresh), secrets=SECRETS,
                       env={"AIMODELS_PROVIDER_SERVER": "stock"})
    assert stack.up(on_output=quiet).summary.resource_changes == {"create": 11}
    stack.preview(expect_no_changes=True, on_output=quiet)
    stack.set_config("description", auto.ConfigValue("second words"))
    preview = preview_json(stack)
    model_op, model_diff = steps(preview)["model"]
    assert model_op == "update" and model_diff == {}  # the stock server sends no detailed diff
    up = stack.up(on_output=quiet)
    assert up.summary.resource_changes == {"same": 10, "update": 1}
    stack.preview(expect_no_changes=True, on_output=quiet)


def test_import_every_readable_type(make_stack, fresh: Emulator, tmp_path: Path) -> None:
    """Objects made elsewhere are adopted only by import; the import previews clean afterwards."""
    project = write_project(tmp_path / "p")
    origin = make_stack(program_dir=project, stack_name="origin", config=config(fresh), secrets=SECRETS)
    origin.up(on_output=quiet)
    ids = {k: v for k, v in origin.outputs()["ids"].value.items()}
    # Forget the objects without deleting them: the stack's state keeps only the stack itself.
    deployment = origin.export_stack()
    deployment.deployment["resources"] = [r for r in deployment.deployment["resources"]
                                          if "dynamic" not in r["type"]]
    origin.import_stack(deployment)

    # Fabric lists models per workspace: its import id is <workspace>/<model id>.
    importable = {**ids, "chat": f"emulator-workspace/{ids['chat']}"}
    stack = make_stack(program_dir=project, stack_name="adopter", secrets=SECRETS,
                       config=config(fresh, importIds=json.dumps(importable)))
    up = stack.up(on_output=quiet)
    assert up.summary.resource_changes.get("import") == len(importable), up.stdout
    assert up.summary.resource_changes.get("create", 0) == 1  # the stack itself; no object is made
    stack.preview(expect_no_changes=True, on_output=quiet)
    assert {k: r["id"] for k, r in dynamic_resources(stack).items()} == importable


def test_pulumi_import_command(make_stack, fresh: Emulator, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p")
    origin = make_stack(program_dir=project, stack_name="origin", config=config(fresh), secrets=SECRETS)
    origin.up(on_output=quiet)
    role_id = origin.outputs()["ids"].value["role"]
    deployment = origin.export_stack()
    deployment.deployment["resources"] = [r for r in deployment.deployment["resources"]
                                          if not r["urn"].endswith("::role") and "dynamic" not in r["type"]]
    origin.import_stack(deployment)

    stack = make_stack(program_dir=project, stack_name="cli", config=config(fresh), secrets=SECRETS)
    proc = subprocess.run(
        [str(Path(stack.workspace.pulumi_command.command)), "import", "--yes", "--stack", "cli",
         "--generate-code=false", "--protect=false", "pulumi-python:dynamic/esd:Role", "role", role_id],
        cwd=project, env={**os.environ, **stack.workspace.env_vars, "PULUMI_HOME": str(PULUMI_HOME)},
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    role = dynamic_resources(stack)["role"]
    assert role["id"] == role_id
    assert role["inputs"]["name"] == "srv-operators"

    # A type the project does not have is refused with one line.
    proc = subprocess.run(
        [str(Path(stack.workspace.pulumi_command.command)), "import", "--yes", "--stack", "cli",
         "--generate-code=false", "pulumi-python:dynamic/esd:Nothing", "x", "abc"],
        cwd=project, env={**os.environ, **stack.workspace.env_vars, "PULUMI_HOME": str(PULUMI_HOME)},
        capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "esd:Nothing: not a resource type of this project, so it cannot be imported" in proc.stdout + proc.stderr


def test_failed_endpoint_is_kept_and_replaced(make_stack, fresh: Emulator, tmp_path: Path) -> None:
    """An endpoint that ends Failed after the platform accepted it stays in state, marked for
    replacement; nothing is orphaned; the next up converges."""
    project = write_project(tmp_path / "p")
    fresh.settings("esd", endpoint_fail_instance_types=["ml.g5.2xlarge"])
    stack = make_stack(program_dir=project, stack_name="partial", config=config(fresh), secrets=SECRETS)
    with pytest.raises(auto.CommandError) as err:
        stack.up(on_output=quiet)
    assert "did not pass" in str(err.value)
    endpoint = dynamic_resources(stack)["endpoint"]
    assert endpoint.get("init_errors") or endpoint.get("initErrors"), endpoint
    [record] = fresh.objects("esd")["endpoint"].values()
    assert record["endpoint_status"] == "Failed" and record["EndpointDeploymentJobId"] == endpoint["id"]

    preview = preview_json(stack)
    assert steps(preview)["endpoint"][0] == "replace"

    fresh.settings("esd", endpoint_fail_instance_types=[])
    up = stack.up(on_output=quiet)
    assert up.summary.result == "succeeded"
    records = list(fresh.objects("esd")["endpoint"].values())
    assert [r["endpoint_status"] for r in records] == ["InService"]
    stack.preview(expect_no_changes=True, on_output=quiet)


def test_custom_timeouts_set_the_wait_deadline(make_stack, fresh: Emulator, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p")
    fresh.settings("esd", endpoint_create_seconds=60)
    stack = make_stack(program_dir=project, stack_name="timeouts", config=config(fresh, endpointTimeout="3"),
                       secrets=SECRETS)
    started = time.monotonic()
    with pytest.raises(auto.CommandError) as err:
        stack.up(on_output=quiet)
    assert time.monotonic() - started < 50  # the endpoint would have taken 60 s
    assert "custom_timeouts deadline 3s" in str(err.value)
    assert "endpoint" in dynamic_resources(stack)  # kept in state, not forgotten


def test_official_cli_uses_the_project_server(pulumi_cli: Path, fresh: Emulator, state_server: StateServer,
                                              tmp_path: Path) -> None:
    """An official install ships a launcher of the stock server next to `pulumi`; the project's
    Pulumi.yaml `plugins:` entry makes the engine use the project's launcher instead."""
    official = tmp_path / "official"
    official.mkdir()
    for name in ("pulumi", "pulumi-language-python", "pulumi-language-python-exec"):
        shutil.copy2(pulumi_cli / name, official / name)
    stock = official / "pulumi-resource-pulumi-python"
    stock.write_text(f"#!/bin/sh\nexec {sys.executable} -u -m pulumi.dynamic \"$@\"\n")
    stock.chmod(0o755)

    kms = kms_env(state_server)  # the tier's secrets provider (tests/e2e/conftest.py)

    def run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": f"{official}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"),
               "PULUMI_HOME": str(PULUMI_HOME), "PULUMI_BACKEND_URL": (tmp_path / "state").as_uri(), **kms,
               "PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true"}
        return subprocess.run([str(official / "pulumi"), *args], cwd=project, env=env, capture_output=True,
                              text=True, timeout=300)

    (tmp_path / "state").mkdir()
    seen = {}
    for plugins in (True, False):
        project = write_project(tmp_path / f"project-{plugins}", plugins=plugins)
        name = "with" if plugins else "without"
        assert run(project, "stack", "init", name, "--secrets-provider", kms["AIMODELS_SECRETS_PROVIDER"]).returncode == 0
        values = [*(f"--plaintext={k}={v}" for k, v in config(fresh).items()),
                  *(f"--secret={k}={v}" for k, v in SECRETS.items())]
        assert run(project, "config", "set-all", "--stack", name, *values).returncode == 0
        up = run(project, "up", "--yes", "--stack", name, "--skip-preview")
        assert up.returncode == 0, up.stdout + up.stderr
        run(project, "config", "set", "--stack", name, "description", "second words")
        preview = run(project, "preview", "--json", "--stack", name)
        assert preview.returncode == 0, preview.stderr
        seen[plugins] = steps(json.loads(preview.stdout))
        assert run(project, "destroy", "--yes", "--skip-preview", "--stack", name).returncode == 0
        run(project, "stack", "rm", "--yes", name)
    assert seen[True] == {"model": ("update", {"description": {"kind": "update", "inputDiff": True}})}  # the project's server
    assert seen[False]["model"] == ("update", {})  # the stock server: no detailed diff
