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

import json
import os
import re
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


# Where a -v=9 log shows property values, by CLI generation:
# * 3.259 (glog text lines): one line per property marshaled for a provider or program RPC,
#   ``... Marshaling property for RPC[<call>]: <key>=<value>``, secrets as ``<key>={[secret]}``;
# * 3.277 (one JSON record per line, ``{"time":..,"level":..,"msg":..,"v":N}``): the engine no
#   longer logs marshaled properties (pkg/resource/plugin/provider_plugin.go marshals with
#   propertyrpc.Marshal, which logs nothing); the values it logs are the step generator's, with each
#   resource's checked inputs (the provider's Check reply; for the default provider, the stack's
#   provider config): ``Planner decided to create '<urn>' (inputs=map[<key>:{<value>} ..])``
#   (pkg/resource/deploy/step_generator.go), secrets redacted as ``<key>:{[secret]}``
#   (sdk/go/common/resource/logging_redact.go).
GLOG_PROPERTY = "Marshaling property for RPC"
PLANNER = re.compile(r"^Planner decided (?:to|not to) [a-z-]+ '(?P<urn>[^']+)' .*inputs=map\[")


def records(log: str) -> list[tuple[dict[str, Any] | None, str]]:
    """Each line of the log as (its JSON record or None for a text line, the text to search): for a
    JSON record, the raw line and every string inside it decoded (a secret with a character JSON
    escapes is found either way)."""
    out: list[tuple[dict[str, Any] | None, str]] = []
    for line in log.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            out.append((None, line))
            continue
        strings: list[str] = []

        def walk(value: Any) -> None:
            if isinstance(value, str):
                strings.append(value)
            elif isinstance(value, dict):
                for k, v in value.items():
                    strings.append(str(k))
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)
        walk(record)
        out.append((record, "\n".join([line, *strings])))
    return out


def property_lines(log: str) -> list[str]:
    """The lines that show resource property values: 3.259's marshaling lines, 3.277's planner
    records at -v=7..9. Empty when the log is not verbose enough to show any property."""
    found = []
    for record, text in records(log):
        if record is None:
            if GLOG_PROPERTY in text:
                found.append(text)
        elif isinstance(record.get("msg"), str) and PLANNER.match(record["msg"]):
            found.append(record["msg"])
    return found


def verbose_log(log: str) -> bool:
    """A -v=9 log with property values: glog text with marshaling and unmarshaling lines (3.259),
    or JSON records at v=9 plus planner records carrying inputs (3.277)."""
    recs = records(log)
    if any(r is not None and r.get("v") == 9 for r, _ in recs):
        return bool(property_lines(log))
    return GLOG_PROPERTY in log and "Unmarshaling property for RPC" in log


def plain_secrets(log: str, secrets: dict[str, str]) -> dict[str, list[str]]:
    """For each secret found in plain text anywhere in the log, the log lines (shortened).

    The engine 3.259 also logs, at -v=9, the inside of every secret envelope it marshals, as a
    glog line of its own: ``...RPC[<call>]: value={<secret>}``, right before the property's own line,
    which it masks (``password={[secret]}``). It does so for every secret, the program's
    RegisterResource included, so no provider can avoid it; those envelope lines (text lines of
    exactly that shape) are left out here. 3.277 logs no envelope (no marshaling lines at all), so
    in its JSON records nothing is left out: a secret anywhere in a record counts."""
    found: dict[str, list[str]] = {}
    envelopes = {f"]: value={{{secret}}}" for secret in secrets.values()}
    for record, text in records(log):
        if record is None and GLOG_PROPERTY in text:
            for envelope in envelopes:
                text = text.replace(envelope, "]: value={...}")
        for key, secret in secrets.items():
            if secret in text:
                at = text.index(secret)
                found.setdefault(key, []).append(text[max(0, at - 160):at + 40])
    return {k: v[:3] for k, v in found.items()}


def masked(log: str, key: str, urn_suffix: str = "") -> bool:
    """Whether the log shows the property ``key`` as a secret: ``]: key={[secret]}`` in a 3.259
    marshaling line, ``key:{[secret]}`` inside ``inputs=map[..]`` of a 3.277 planner record (of the
    resource whose URN ends with ``urn_suffix``, when given)."""
    glog = f"]: {key}={{[secret]}}"
    entry = re.compile(r"[\[ ]" + re.escape(key) + r":\{\[secret\]\}[ \]]")
    for line in property_lines(log):
        match = PLANNER.match(line)
        if match is None:
            if glog in line and (not urn_suffix or urn_suffix in line):
                return True
        elif entry.search(line[line.index("inputs=map["):]) and match["urn"].endswith(urn_suffix):
            return True
    return False


def secret_in_state(resource: dict[str, Any], key: str) -> bool:
    """Whether the state holds the output ``key`` as a secret envelope (the engine encrypts every
    envelope it saves; the Automation API's export shows them decrypted, as ``plaintext``)."""
    value = (resource.get("outputs") or {}).get(key)
    return isinstance(value, dict) and value.get("4dabf18193072939515e22adb298388d") == \
        "1b47061264138c4ac30d75fd1eb44270" and ("ciphertext" in value or "plaintext" in value)


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


def _ops(run: Any, **kwargs: Any) -> dict[str, str]:
    """What a preview or an up did to each dynamic resource (replace-like steps as "replace")."""
    ops: dict[str, str] = {}

    def seen(event: auto.EngineEvent) -> None:
        pre = event.resource_pre_event
        if pre is not None and "dynamic" in pre.metadata.type:
            name = pre.metadata.urn.split("::")[-1]
            op = pre.metadata.op.value
            ops[name] = "replace" if op in ("replace", "create-replacement", "delete-replaced") else op
    run(on_output=quiet, on_event=seen, **kwargs)
    return ops


def preview_ops(stack: auto.Stack, **kwargs: Any) -> dict[str, str]:
    return _ops(stack.preview, **kwargs)


def up_ops(stack: auto.Stack, **kwargs: Any) -> dict[str, str]:
    return _ops(stack.up, **kwargs)


def test_the_local_stack_previews_truthfully_and_keeps_its_secrets(make_stack, emulator: Emulator) -> None:
    stack = local_stack(make_stack, emulator, "e2e-honest")

    # -- up, logged at -v=9: no secret of the stack in the engine's log ---------------------------------
    up = stack.up(on_output=quiet, log_verbosity=9, log_to_std_err=True)
    assert changes(up.summary) == {"create": 16}  # the stack, 8 ESD, 2 PAI, 1 Fabric, 3 ZStack, 1 Workshop
    log = up.stderr
    assert verbose_log(log), "not a -v=9 log"
    assert plain_secrets(log, ALL_SECRETS) == {}
    assert all(masked(log, key) for key in ALL_SECRETS), [k for k in ALL_SECRETS if not masked(log, k)]
    # the user's password, as the provider's own replies carry it: its Check reply (3.277's planner
    # record of the user, 3.259's marshaling lines) and its Create reply (3.259 logs the outputs;
    # 3.277 logs no outputs, so the state it writes is read instead)
    assert masked(log, "password", "esd:User::engineer")
    if GLOG_PROPERTY in log:
        assert "Create(urn:pulumi:e2e-honest::aimodels::pulumi-python:dynamic/esd:User::engineer).outputs]: " \
               "password={[secret]}" in log
    engineer = next(r for r in stack.export_stack().deployment["resources"] if r["urn"].endswith("esd:User::engineer"))
    assert secret_in_state(engineer, "password"), engineer.get("outputs", {}).get("password")

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

    # -- an update of a secret (Update RPCs at -v=9) --------------------------------------------------------
    new_password = "e2e-Engineer-Passw0rd-2"
    stack.set_config("aimodels:engineerPassword", auto.ConfigValue(value=new_password, secret=True))
    updated = stack.up(on_output=quiet, log_verbosity=9, log_to_std_err=True)
    assert changes(updated.summary) == {"update": 1}
    assert verbose_log(updated.stderr), "not a -v=9 log"
    assert plain_secrets(updated.stderr, {**ALL_SECRETS, "aimodels:engineerPassword": new_password}) == {}

    # -- forced replacements (`up --replace`) do what their preview showed --------------------------
    # The engine checks a targeted replacement without old inputs and calls no Diff; the provider
    # reads the stack's state to tell it from a new resource, so the replacement's create never
    # takes its original (the object the engine deletes right after).
    for parent in ("registry-model", "model-center"):
        before = {r["urn"]: r["id"] for r in stack.export_stack().deployment["resources"] if r.get("id")}
        planned = preview_ops(stack, replace=[ids[parent]])
        done = up_ops(stack, replace=[ids[parent]])
        assert done == planned, (parent, planned, done)
        after = {r["urn"]: r["id"] for r in stack.export_stack().deployment["resources"] if r.get("id")}
        assert after[ids[parent]] != before[ids[parent]], f"{parent} kept its object"
        stack.preview(on_output=quiet, refresh=True, expect_no_changes=True)  # state's objects are all there


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
