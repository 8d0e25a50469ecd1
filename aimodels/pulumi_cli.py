"""Running the Pulumi CLI for the ``aimodels`` command: the project, its stack files, and the
emulator overlay.

Emulator mode (``--emulator``) never edits the committed ``stacks/Pulumi.<stack>.yaml``: every
Pulumi command gets ``--config-file`` pointing at a generated copy in ``.aimodels/emulator/``
that adds ``aimodels:emulator: true``, the emulator's endpoints and its documented test
credentials (as environment variables for the provider processes, and the engineer password as
a secret), and the emulator's one Fabric workspace, and keeps the copy's own ``encryptionsalt`` between runs. It also defaults the state
backend, passphrase and PULUMI_HOME to the same project-local values as scripts/up.sh.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

LOCAL_ONLY_PASSPHRASE = "aimodels-local-only"  # as scripts/lib.sh: protects nothing real
DEFAULT_EMULATOR_URL = "http://127.0.0.1:8787"
# The emulator's documented default credentials (emulator/<platform>/__init__.py); not secrets.
EMULATOR_ENV = {
    "ESD_API_KEY": "09876543210987654321",
    "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5tEmulatorAccessKey",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "EmulatorSecretKey000000000000000",
    "HUAWEICLOUD_SDK_AK": "EMULATORAK0000000000",
    "HUAWEICLOUD_SDK_SK": "EmulatorSecretKey0000000000000000000000",
}
EMULATOR_ENGINEER_PASSWORD = "Emulator-Engineer-0nly"
EMULATOR_FABRIC_WORKSPACE = "emulator-workspace"


class UserError(Exception):
    """Bad input or a refused operation: printed as one line, exit code 1, nothing changed."""


@dataclass
class Project:
    root: Path
    config_dir: Path

    @classmethod
    def find(cls, start: Path | None = None) -> Project:
        here = (start or Path.cwd()).resolve()
        for d in (here, *here.parents):
            for name in ("Pulumi.yaml", "Pulumi.yml"):
                if (d / name).is_file():
                    data = yaml.safe_load((d / name).read_text()) or {}
                    return cls(d, d / (data.get("stackConfigDir") or "."))
        raise UserError(f"no Pulumi.yaml in {here} or above (run inside the project or pass --project-dir)")

    def stack_file(self, stack: str) -> Path:
        return self.config_dir / f"Pulumi.{stack}.yaml"

    def read_stack_file(self, stack: str) -> dict[str, Any]:
        path = self.stack_file(stack)
        if not path.is_file():
            raise UserError(f"stack {stack}: no config file {self.rel(path)}")
        try:
            return yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise UserError(f"stack {stack}: {self.rel(path)} is not valid YAML: {' '.join(str(exc).split())}") from None

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    @property
    def work_dir(self) -> Path:
        return self.root / ".aimodels"


def find_pulumi(project: Project) -> Path:
    explicit = os.environ.get("AIMODELS_PULUMI")
    if explicit:
        return Path(explicit)
    built = project.root / ".tools" / "pulumi" / "bin" / "pulumi"
    if built.is_file():
        return built
    found = shutil.which("pulumi")
    if not found:
        raise UserError("no Pulumi CLI: run scripts/pulumi-cli.sh (or put pulumi on PATH, or set AIMODELS_PULUMI)")
    return Path(found)


@dataclass
class Pulumi:
    project: Project
    emulator: bool = False
    emulator_url: str | None = None
    echo: bool = True
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.binary = find_pulumi(self.project)
        env = dict(os.environ)
        env["PATH"] = f"{self.binary.parent}{os.pathsep}{env.get('PATH', '')}"
        env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
        if self.emulator:
            self.emulator_url = (self.emulator_url or env.get("AIMODELS_EMULATOR_URL") or DEFAULT_EMULATOR_URL).rstrip("/")
            env["AIMODELS_EMULATOR_URL"] = self.emulator_url
            env.setdefault("PULUMI_BACKEND_URL", (self.project.root / ".pulumi-state").as_uri())
            if "PULUMI_CONFIG_PASSPHRASE_FILE" not in env:
                env.setdefault("PULUMI_CONFIG_PASSPHRASE", LOCAL_ONLY_PASSPHRASE)
            env.setdefault("PULUMI_HOME", str(self.project.root / ".tools" / "pulumi-home"))
            env.setdefault("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")
            env.update(EMULATOR_ENV)
            if env["PULUMI_BACKEND_URL"].startswith("file://"):
                Path(env["PULUMI_BACKEND_URL"][len("file://"):]).mkdir(parents=True, exist_ok=True)
        self.env = env

    # -- plumbing -------------------------------------------------------------------------------
    def run(self, args: list[str], *, capture: bool = True, check: bool = True,
            what: str | None = None) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.binary), *args, "--non-interactive"] if args[0] in ("up", "preview", "destroy", "refresh") \
            else [str(self.binary), *args]
        proc = subprocess.run(cmd, cwd=self.project.root, env=self.env, text=True,
                              stdout=subprocess.PIPE if capture else None,
                              stderr=subprocess.PIPE if capture else None)
        if check and proc.returncode != 0:
            detail = " ".join(((proc.stderr or "") + (proc.stdout or "")).split()[-60:]) if capture else ""
            raise UserError(f"{what or 'pulumi ' + args[0]} failed (exit {proc.returncode}){': ' + detail if detail else ''}")
        return proc

    def stacks(self) -> dict[str, dict[str, Any]]:
        proc = self.run(["stack", "ls", "--json"], what="pulumi stack ls")
        return {s["name"].split("/")[-1]: s for s in json.loads(proc.stdout or "[]")}

    def require_stack(self, stack: str) -> None:
        known = self.stacks()
        if stack not in known:
            raise UserError(f"unknown stack {stack!r} (known: {', '.join(sorted(known)) or 'none'}; "
                            f"create it with `aimodels up --stack {stack}`)")

    def export(self, stack: str) -> dict[str, Any]:
        proc = self.run(["stack", "export", "--stack", stack], what=f"pulumi stack export --stack {stack}")
        return json.loads(proc.stdout).get("deployment") or {}

    def outputs(self, stack: str) -> dict[str, Any]:
        proc = self.run(["stack", "output", "--json", "--stack", stack], what=f"pulumi stack output --stack {stack}")
        return json.loads(proc.stdout or "{}")

    def init(self, stack: str) -> bool:
        """Create the stack in the backend if it is not there; never leaves a change in the stack file."""
        if stack in self.stacks():
            return False
        path = self.project.stack_file(stack)
        before = path.read_bytes() if path.exists() else None
        try:
            self.run(["stack", "init", stack, "--secrets-provider", "passphrase", "--no-select"]
                     if self.emulator else ["stack", "init", stack, "--no-select"], what=f"pulumi stack init {stack}")
        finally:
            # In emulator mode the salt lives in the generated overlay, not in the committed file.
            if self.emulator and before is not None and path.read_bytes() != before:
                path.write_bytes(before)
        return True

    # -- which config file a command uses ------------------------------------------------------------
    def config_file(self, stack: str, text: str | None = None) -> Path | None:
        """The file Pulumi should read for ``stack``: None (the committed file) unless in emulator
        mode or previewing a not-yet-written ``text`` (a dry run), then a generated file."""
        if not self.emulator and text is None:
            return None
        source = text if text is not None else self.project.stack_file(stack).read_text()
        doc = yaml.safe_load(source) or {}
        kind = "emulator" if self.emulator else "dry-run"
        out = self.project.work_dir / kind / f"Pulumi.{stack}.yaml"
        out.parent.mkdir(parents=True, exist_ok=True)
        previous = {}
        if out.exists():
            previous = yaml.safe_load(out.read_text()) or {}
        config = dict(doc.get("config") or {})
        if self.emulator:
            url = self.emulator_url
            config.update({"aimodels:emulator": True, "esd:apiUrl": f"{url}/esd/prod",
                           "pai:endpoint": f"{url}/pai", "fabric:endpoint": f"{url}/fabric"})
            for key in ("esd:apiKey", "pai:accessKeyId", "pai:accessKeySecret", "fabric:accessKey",
                        "fabric:secretKey", "fabric:projectId", "fabric:token", "fabric:username",
                        "fabric:password", "esd:username"):
                config.pop(key, None)  # the emulator's credentials come from the environment
            fabric = config.get("aimodels:fabric")
            if isinstance(fabric, dict) and fabric.get("workspace"):
                # The emulator has one Fabric workspace; environments share it (names carry the env).
                config["aimodels:fabric"] = {**fabric, "workspace": EMULATOR_FABRIC_WORKSPACE}
        salt = doc.get("encryptionsalt") or previous.get("encryptionsalt")
        password_kept = False
        if self.emulator and "aimodels:engineerPassword" not in config:
            old = (previous.get("config") or {}).get("aimodels:engineerPassword")
            if old is not None and salt and salt == previous.get("encryptionsalt"):
                config["aimodels:engineerPassword"] = old
                password_kept = True
        new_doc = {k: v for k, v in doc.items() if k not in ("config", "encryptionsalt")}
        if salt:
            new_doc["encryptionsalt"] = salt
        new_doc["config"] = config
        header = (f"# GENERATED by `aimodels` from {self.project.rel(self.project.stack_file(stack))} "
                  f"({kind}); do not edit.\n")
        out.write_text(header + yaml.safe_dump(new_doc, sort_keys=False, default_flow_style=False))
        if self.emulator and "aimodels:engineerPassword" not in config and not password_kept:
            self.run(["config", "set", "--secret", "aimodels:engineerPassword", EMULATOR_ENGINEER_PASSWORD,
                      "--stack", stack, "--config-file", str(out)], what="pulumi config set (emulator overlay)")
        return out

    @staticmethod
    def config_args(config_file: Path | None) -> list[str]:
        return ["--config-file", str(config_file)] if config_file else []

    def stream(self, args: list[str], what: str) -> int:
        """Run with output going straight to the terminal (up, preview --diff)."""
        sys.stdout.flush()
        return self.run(args, capture=False, check=False, what=what).returncode
