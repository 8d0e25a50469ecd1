"""The local stack (stacks/, all five platforms) under the real engine: previews that tell the truth.

* a preview, ``preview --refresh`` and ``refresh --preview-only`` send no mutating request to any
  platform (counted from the emulator's own access log);
* a replaced parent shows its children as they will be: the same or updated, replaced only when
  the link itself is replace-only and gets a new value (a PAI version belongs to its model);
* ``pulumi up -v=9 --logtostderr`` never prints a secret of the stack;
* a configuration mistake fails the preview, naming the key, before anything is created;
* a failed ``up`` prints one line per failed resource and no traceback.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pulumi import automation as auto

from benchmarks.harness import ACCESS
from tests.e2e.conftest import REPO
from tests.e2e.test_stack import FAST, SECRETS, changes, stack_config
from tests.e2e.test_workshop_stack import APP_SECRET, workshop_config
from tests.emulator_process import Emulator

ZSTACK_PASSWORD = "e2e-ZStack-Passw0rd"
ALL_SECRETS = {**SECRETS, "workshop:appSecret": APP_SECRET, "zstack:accountPassword": ZSTACK_PASSWORD}
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
# Signing in is not a change to anything the stack manages (ZStack's session login).
SIGN_IN = ("/zstack/v1/accounts/login",)
# parent -> {child: what a preview that replaces the parent must show for the child}
PAIRS = {
    "operators": {"engineer": "same", "async-endpoint": "same"},  # linked by the role's name (an input)
    "base-model": {"style-training": "same", "endpoint-smoke-test": "same"},  # by the file name it keeps
    "training-images": {"style-training": "same"},  # by the dataset's name
    "async-endpoint": {"endpoint-smoke-test": "same"},  # by its physical name, built from the name
    # by the center's uuid: new; a service cannot move to another center, a model can (in place), but
    # the model is also bound to the service, which is new, and bindings are create-time only
    "model-center": {"qwen-service": "replace", "qwen-model": "replace"},
    "qwen-service": {"qwen-model": "replace"},
    # by the model's id: a new model has a new id, and a version cannot move to another model
    "registry-model": {"registry-model-1.0.0": "replace"},
}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """This module's own emulator, with uvicorn's access log (one line per request)."""
    emu = Emulator(tmp_path_factory.mktemp("emulator-logged") / "state.db",
                   extra_args=["--log-level", "info"]).start()
    yield emu
    emu.stop()


def mark(emulator: Emulator) -> int:
    time.sleep(0.2)
    return emulator.log_path.stat().st_size


def requests_since(emulator: Emulator, at: int) -> list[tuple[str, str]]:
    time.sleep(0.2)
    with open(emulator.log_path, "rb") as f:
        f.seek(at)
        text = f.read().decode(errors="replace")
    return [(m["method"], m["path"]) for m in map(ACCESS.search, text.splitlines())
            if m and not m["path"].startswith("/_admin")]


def plain_secrets(log: str, secrets: dict[str, str]) -> dict[str, list[str]]:
    """For each secret found in plain text as a property's value, the log lines (shortened).

    The engine (3.259) also logs, at -v=9, the inside of every secret envelope it marshals, as a
    line of its own: ``...RPC[<call>]: value={<secret>}``, right before the property's own line,
    which it masks (``password={[secret]}``). It does so for every secret, the program's
    RegisterResource included, so no provider can avoid it; those envelope lines are left out here.
    Everything else (a property line such as ``esd:apiKey={...}``) counts."""
    found: dict[str, list[str]] = {}
    envelopes = {f"]: value={{{secret}}}" for secret in secrets.values()}
    for line in log.splitlines():
        for envelope in envelopes:
            line = line.replace(envelope, "]: value={...}")
        for key, secret in secrets.items():
            if secret in line:
                at = line.index(secret)
                found.setdefault(key, []).append(line[max(0, at - 160):at + 40])
    return {k: v[:3] for k, v in found.items()}


def masked(log: str, key: str) -> bool:
    """Whether the log shows the property ``key`` as a secret (``key={[secret]}``) in a marshaling line."""
    return f"]: {key}={{[secret]}}" in log


def quiet(_: str) -> None:
    pass


def local_stack(make_stack, emulator: Emulator, name: str) -> auto.Stack:
    emulator.reset()
    for platform, values in FAST.items():
        emulator.settings(platform, **values)
    emulator.settings("zstack", job_delay_s=0.2, accounts={"admin": ZSTACK_PASSWORD})
    emulator.settings("workshop", listing_delay_s=0.2)
    config = {**stack_config(emulator), **workshop_config(emulator, name), "zstack:accountName": "admin"}
    return make_stack(program_dir=REPO, stack_name=name, config=config, secrets=ALL_SECRETS)


def urns(stack: auto.Stack) -> dict[str, str]:
    state = stack.export_stack().deployment
    return {r["urn"].split("::")[-1]: r["urn"] for r in state.get("resources", []) if "dynamic" in r["type"]}


def preview_ops(stack: auto.Stack, **kwargs: Any) -> dict[str, str]:
    ops: dict[str, str] = {}

    def seen(event: auto.EngineEvent) -> None:
        pre = event.resource_pre_event
        if pre is not None and "dynamic" in pre.metadata.type:
            name = pre.metadata.urn.split("::")[-1]
            op = pre.metadata.op.value
            ops[name] = "replace" if op in ("replace", "create-replacement", "delete-replaced") else op
    stack.preview(on_output=quiet, on_event=seen, **kwargs)
    return ops


def up_ops(stack: auto.Stack, **kwargs: Any) -> dict[str, str]:
    ops: dict[str, str] = {}

    def seen(event: auto.EngineEvent) -> None:
        pre = event.resource_pre_event
        if pre is not None and "dynamic" in pre.metadata.type:
            name = pre.metadata.urn.split("::")[-1]
            op = pre.metadata.op.value
            ops[name] = "replace" if op in ("replace", "create-replacement", "delete-replaced") else op
    stack.up(on_output=quiet, on_event=seen, **kwargs)
    return ops


def test_the_local_stack_previews_truthfully_and_keeps_its_secrets(make_stack, emulator: Emulator) -> None:
    stack = local_stack(make_stack, emulator, "e2e-honest")

    # -- up, logged at -v=9: no secret of the stack in the engine's log ---------------------------------
    up = stack.up(on_output=quiet, log_verbosity=9, log_to_std_err=True)
    assert changes(up.summary) == {"create": 16}  # the stack, 8 ESD, 2 PAI, 1 Fabric, 3 ZStack, 1 Workshop
    log = up.stderr
    assert "Marshaling property for RPC" in log and "Unmarshaling property for RPC" in log, "not a -v=9 log"
    assert plain_secrets(log, ALL_SECRETS) == {}
    assert all(masked(log, key) for key in ALL_SECRETS), [k for k in ALL_SECRETS if not masked(log, k)]
    assert masked(log, "password")  # the user's password, in the provider's Check/Create replies too
    assert "Create(urn:pulumi:e2e-honest::aimodels::pulumi-python:dynamic/esd:User::engineer).outputs]: " \
           "password={[secret]}" in log

    # -- previews send nothing that changes a platform ------------------------------------------------
    at = mark(emulator)
    stack.preview(on_output=quiet, expect_no_changes=True)
    stack.preview(on_output=quiet, refresh=True)
    stack.refresh(on_output=quiet, preview_only=True)
    seen = requests_since(emulator, at)
    assert seen, "the refreshes read nothing: the access log is not being written"
    writes = [(m, p) for m, p in seen if m in MUTATING and not p.startswith(SIGN_IN)]
    assert writes == [], writes

    # -- a replaced parent shows each child as it will be ----------------------------------------------
    ids = urns(stack)
    for parent, children in PAIRS.items():
        ops = preview_ops(stack, replace=[ids[parent]])
        assert ops[parent] == "replace", (parent, ops)
        assert {c: ops.get(c) for c in children} == children, (parent, ops)
    # and up does what the preview showed, resource by resource
    for parent in ("registry-model", "model-center"):
        planned = preview_ops(stack, replace=[ids[parent]])
        done = up_ops(stack, replace=[ids[parent]])
        assert done == planned, (parent, planned, done)

    # -- an update of a secret (Update RPCs at -v=9) --------------------------------------------------------
    new_password = "e2e-Engineer-Passw0rd-2"
    stack.set_config("aimodels:engineerPassword", auto.ConfigValue(value=new_password, secret=True))
    updated = stack.up(on_output=quiet, log_verbosity=9, log_to_std_err=True)
    assert changes(updated.summary) == {"update": 1}
    assert "Marshaling property for RPC" in updated.stderr
    assert plain_secrets(updated.stderr, {**ALL_SECRETS, "aimodels:engineerPassword": new_password}) == {}


def test_a_configuration_mistake_fails_the_preview_naming_the_key(make_stack, emulator: Emulator) -> None:
    emulator.reset()
    config = {k: v for k, v in stack_config(emulator).items() if k != "fabric:endpoint"}
    stack = make_stack(program_dir=REPO, stack_name="e2e-noendpoint", config=config, secrets=SECRETS,
                       emulator=False)
    before = {p: emulator.objects(p) for p in ("esd", "pai", "fabric")}
    with pytest.raises(auto.CommandError) as err:
        stack.preview(on_output=quiet)
    text = str(err.value)
    assert "fabric:endpoint: not set" in text and "fabric:Model" in text
    assert "Traceback" not in text
    # `pulumi up` previews first (no --skip-preview): it stops there, with nothing created
    from tests.e2e.conftest import PULUMI_HOME

    proc = subprocess.run([str(Path(stack.workspace.pulumi_command.command)), "up", "--yes", "--stack", stack.name],
                          cwd=stack.workspace.work_dir, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **stack.workspace.env_vars, "PULUMI_HOME": str(PULUMI_HOME)})
    assert proc.returncode != 0 and "fabric:endpoint: not set" in proc.stdout + proc.stderr
    assert {p: emulator.objects(p) for p in before} == before, "up created things before failing"


def test_a_failed_up_prints_one_line_per_failure_and_no_traceback(make_stack, emulator: Emulator) -> None:
    emulator.reset()
    for platform, values in FAST.items():
        emulator.settings(platform, **values)
    stack = make_stack(program_dir=REPO, stack_name="e2e-failing", config=stack_config(emulator), secrets=SECRETS)
    emulator.arm_fault("pai", method="POST", path="/api/v1/models", status=400, code="InvalidParameter",
                       message="the model name is refused", times=5)
    with pytest.raises(auto.CommandError) as err:
        stack.up(on_output=quiet)
    text = str(err.value)
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text[-3000:]
    # the engine shows the error on the resource's row and in its diagnostics: the same one line
    failed = {line[line.index("pai:Model e2e-sd-base create failed"):] for line in text.splitlines()
              if "InvalidParameter" in line}
    assert len(failed) == 1, failed
    [line] = failed
    assert line.endswith(")") and "HTTP 400: InvalidParameter: the model name is refused" in line


BAD_PROGRAM = """
from providers import fabric

fabric.Model("chat", workspace_id="emulator-workspace", name="e2e-chat", versions=[
    {"name": "v1", "base_model_type": "QWEN2_5_7B"}, {"name": "v2", "base_model_type": "QWEN2_5_7B"}])
"""


def test_check_failures_name_the_property_and_rule_without_go_values(make_stack, emulator: Emulator,
                                                                      tmp_path: Path) -> None:
    from tests.e2e.test_provider_server import SECRETS as SERVER_SECRETS
    from tests.e2e.test_provider_server import config, write_project

    project = write_project(tmp_path / "p")
    (project / "app" / "__main__.py").write_text(BAD_PROGRAM)
    stack = make_stack(program_dir=project, stack_name="badcheck", config=config(emulator), secrets=SERVER_SECRETS)
    with pytest.raises(auto.CommandError) as err:
        stack.preview(on_output=quiet)
    text = str(err.value)
    assert "has a problem: current_version: is required when more than one version is listed" in text, text[-2000:]
    assert "{<nil>}" not in text and "value {" not in text and "[{" not in text  # no Go-formatted values
    assert "Traceback" not in text


def test_pulumi_import_with_code_generation_prints_typed_code(make_stack, emulator: Emulator,
                                                               tmp_path: Path) -> None:
    """`pulumi import` exits 0 with code generation on; the code uses the project's typed classes."""
    from tests.e2e.conftest import PULUMI_HOME
    from tests.e2e.test_provider_server import SECRETS as SERVER_SECRETS
    from tests.e2e.test_provider_server import config, write_project

    emulator.reset()
    for platform, values in FAST.items():
        emulator.settings(platform, **values)
    project = write_project(tmp_path / "p")
    origin = make_stack(program_dir=project, stack_name="origin", config=config(emulator), secrets=SERVER_SECRETS)
    origin.up(on_output=quiet)
    ids = origin.outputs()["ids"].value
    deployment = origin.export_stack()
    deployment.deployment["resources"] = [r for r in deployment.deployment["resources"] if "dynamic" not in r["type"]]
    origin.import_stack(deployment)

    stack = make_stack(program_dir=project, stack_name="cli", config=config(emulator), secrets=SERVER_SECRETS)
    command = str(Path(stack.workspace.pulumi_command.command))
    env = {**os.environ, **stack.workspace.env_vars, "PULUMI_HOME": str(PULUMI_HOME)}
    for token, name, id in [("esd:Role", "role", ids["role"]), ("pai:Model", "model", ids["model"]),
                            ("fabric:Model", "chat", f"emulator-workspace/{ids['chat']}")]:
        proc = subprocess.run([command, "import", "--yes", "--stack", "cli", "--protect=false",
                               f"pulumi-python:dynamic/{token}", name, id],
                              cwd=project, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        code = proc.stdout[proc.stdout.index("import pulumi"):]
        compile(code, f"<{name}>", "exec")  # code a user can paste
        platform, kind = token.split(":")
        assert "import providers as " in code and f".{platform}.{kind}(\"{name}\"" in code, code
        assert "__provider" not in code and "__init_error" not in code
    stack.preview(on_output=quiet)  # the imported objects are in state

    # `aimodels import` runs the import and writes the declaration with the typed class
    from aimodels.importer import run_import
    from aimodels.pulumi_cli import Project, Pulumi

    pulumi = Pulumi(Project(project, project))
    pulumi.env.update(stack.workspace.env_vars, PULUMI_HOME=str(PULUMI_HOME))
    code = run_import(pulumi, "cli", "esd:Dataset", "dataset", ids["dataset"])
    namespace: dict[str, Any] = {"esd": SimpleNamespace(Dataset=lambda *name, **inputs: inputs)}
    exec(compile(code.replace("from providers import esd\n", ""), "<dataset>", "exec"), namespace)
    assert "from providers import esd" in code and 'dataset = esd.Dataset(\n    \'dataset\',' in code
    assert namespace["dataset"]["name"] == "srv-cats"
    assert "# files=...,  # not readable from the platform" in code  # write-only: declare it as created
