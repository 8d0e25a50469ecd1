"""Running the Pulumi CLI for the ``aimodels`` command: the project, its stack files, and the
emulator overlay.

Emulator mode (``--emulator``) never edits the committed ``stacks/Pulumi.<stack>.yaml``: every
Pulumi command gets ``--config-file`` pointing at a generated copy in ``.aimodels/emulator/``
that adds ``aimodels:emulator: true``, the emulator's endpoints and its documented test
credentials (as environment variables for the provider processes, and the engineer password as
a secret), and the emulator's one Fabric workspace, and keeps the copy's own ``encryptionsalt`` between runs. It also defaults the state
backend, passphrase and PULUMI_HOME to the same project-local values as scripts/up.sh.

The state backend is Pulumi's own choice: ``PULUMI_BACKEND_URL`` when set, else the backend of
``pulumi login`` (``credentials.json`` in ``PULUMI_HOME``, or in ``~/.pulumi`` when the project's
home has none); only when neither names one does emulator mode fall back to the file backend in
``.pulumi-state/``. New stacks get the secrets provider in ``AIMODELS_SECRETS_PROVIDER`` (e.g.
``awskms://alias/aimodels-state?region=us-east-1&endpoint=http://127.0.0.1:4566``), else a passphrase.

:func:`pulumi_environment` is the one place that builds this environment; every command that
runs Pulumi for the project (``aimodels import``, ``aimodels recover``, ...) gets it from there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emulator import defaults

LOCAL_ONLY_PASSPHRASE = "aimodels-local-only"  # as scripts/lib.sh: protects nothing real
DEFAULT_EMULATOR_PORT = 8787
DEFAULT_EMULATOR_URL = f"http://127.0.0.1:{DEFAULT_EMULATOR_PORT}"
# The emulator's documented default credentials (emulator/<platform>/__init__.py); not secrets.
EMULATOR_ENV = {
    "ESD_API_KEY": defaults.ESD_API_KEY,
    "ALIBABA_CLOUD_ACCESS_KEY_ID": defaults.PAI_ACCESS_KEY_ID,
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": defaults.PAI_ACCESS_KEY_SECRET,
    "HUAWEICLOUD_SDK_AK": defaults.FABRIC_ACCESS_KEY,
    "HUAWEICLOUD_SDK_SK": defaults.FABRIC_SECRET_KEY,
}
EMULATOR_ENGINEER_PASSWORD = "Emulator-Engineer-0nly"
EMULATOR_FABRIC_WORKSPACE = "emulator-workspace"
# What `pulumi stack init` writes into a stack file for its secrets provider.
SECRETS_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt")


def _write_atomic(path: Path, text: str) -> None:
    """Two runs on one stack may write the same overlay at once: each sees a whole file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


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


def default_emulator_url(environ: Mapping[str, str] | None = None) -> str:
    """``AIMODELS_EMULATOR_URL``, else ``http://127.0.0.1:$AIMODELS_EMULATOR_PORT`` (default 8787),
    the same rule as scripts/lib.sh."""
    environ = os.environ if environ is None else environ
    url = environ.get("AIMODELS_EMULATOR_URL")
    if url:
        return url.rstrip("/")
    port = (environ.get("AIMODELS_EMULATOR_PORT") or "").strip() or str(DEFAULT_EMULATOR_PORT)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"AIMODELS_EMULATOR_PORT must be a port number (got {port!r})")
    return f"http://127.0.0.1:{port}"


def logged_in_backend(environ: Mapping[str, str] | None = None) -> str | None:
    """The backend URL of ``pulumi login``: the ``current`` entry of ``credentials.json`` in
    ``PULUMI_HOME`` (when set), else in ``~/.pulumi``. None when nobody logged in."""
    environ = os.environ if environ is None else environ
    homes = [Path(environ["PULUMI_HOME"])] if environ.get("PULUMI_HOME") else []
    homes.append(Path(environ.get("HOME") or Path.home()) / ".pulumi")
    for home in homes:
        try:
            current = json.loads((home / "credentials.json").read_text()).get("current")
        except (OSError, ValueError, AttributeError):
            continue
        if current:
            return str(current)
    return None


def pulumi_environment(project: Project, *, emulator: bool = False, emulator_url: str | None = None,
                       binary: Path | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every Pulumi command of the project runs in.

    Always: the CLI's directory first on PATH, no update checks. The backend is
    ``PULUMI_BACKEND_URL``, else ``pulumi login``'s (exported, so that a project-local
    PULUMI_HOME does not hide a login in ``~/.pulumi``). In emulator mode also: the emulator URL
    (``emulator_url``, ``AIMODELS_EMULATOR_URL`` or ``AIMODELS_EMULATOR_PORT``), the emulator's
    documented test credentials, the local-only passphrase unless a passphrase (or its file) is
    set, the project-local PULUMI_HOME, and the file backend in ``.pulumi-state/`` when no backend
    is chosen."""
    env = dict(os.environ if base is None else base)
    if binary is not None:
        env["PATH"] = f"{binary.parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    backend = env.get("PULUMI_BACKEND_URL") or logged_in_backend(env)
    if backend:
        env["PULUMI_BACKEND_URL"] = backend
    if emulator:
        env["AIMODELS_EMULATOR_URL"] = (emulator_url or default_emulator_url(env)).rstrip("/")
        env.setdefault("PULUMI_BACKEND_URL", (project.root / ".pulumi-state").as_uri())
        if "PULUMI_CONFIG_PASSPHRASE_FILE" not in env:
            env.setdefault("PULUMI_CONFIG_PASSPHRASE", LOCAL_ONLY_PASSPHRASE)
        env.setdefault("PULUMI_HOME", str(project.root / ".tools" / "pulumi-home"))
        env.setdefault("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")
        env.update(EMULATOR_ENV)
        if env["PULUMI_BACKEND_URL"].startswith("file://"):
            Path(env["PULUMI_BACKEND_URL"][len("file://"):]).mkdir(parents=True, exist_ok=True)
    return env


@dataclass
class Pulumi:
    project: Project
    emulator: bool = False
    emulator_url: str | None = None
    echo: bool = True
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.binary = find_pulumi(self.project)
        self.env = pulumi_environment(self.project, emulator=self.emulator, emulator_url=self.emulator_url,
                                      binary=self.binary)
        if self.emulator:
            self.emulator_url = self.env["AIMODELS_EMULATOR_URL"]

    # -- plumbing -------------------------------------------------------------------------------
    def run(self, args: list[str], *, capture: bool = True, check: bool = True,
            what: str | None = None, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.binary), *args, "--non-interactive"] if args[0] in ("up", "preview", "destroy", "refresh") \
            else [str(self.binary), *args]
        proc = subprocess.run(cmd, cwd=self.project.root, env={**self.env, **(env or {})}, text=True,
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
        """Create the stack in the backend if it is not there; never leaves a change in the stack file
        in emulator mode (the secrets provider's keys go to the generated overlay instead).

        The secrets provider is ``AIMODELS_SECRETS_PROVIDER`` when set (e.g. an ``awskms://`` key),
        else a passphrase. A stack another process created meanwhile counts as there."""
        if stack in self.stacks():
            return False
        path = self.project.stack_file(stack)
        before = path.read_bytes() if path.exists() else None
        provider = self.env.get("AIMODELS_SECRETS_PROVIDER") or ("passphrase" if self.emulator else None)
        args = ["stack", "init", stack, "--no-select", *(["--secrets-provider", provider] if provider else [])]
        try:
            proc = self.run(args, check=False)
            if proc.returncode != 0:
                if "already exists" in (proc.stderr or "") + (proc.stdout or "") and stack in self.stacks():
                    return False  # created by a concurrent run: same outcome
                detail = " ".join(((proc.stderr or "") + (proc.stdout or "")).split()[-60:])
                raise UserError(f"pulumi stack init {stack} failed (exit {proc.returncode}): {detail}")
            if self.emulator and path.exists() and path.read_bytes() != before:
                # The keys `stack init` wrote (encryptionsalt, or secretsprovider + encryptedkey) belong
                # to the overlay in emulator mode; config_file() carries them over from there.
                written = yaml.safe_load(path.read_text()) or {}
                keys = {k: written[k] for k in SECRETS_KEYS if k in written}
                if keys:
                    out = self._overlay_path(stack)
                    _write_atomic(out, yaml.safe_dump(keys, sort_keys=False))
        finally:
            if self.emulator and path.exists() and path.read_bytes() != before:
                if before is None:
                    path.unlink()
                else:
                    path.write_bytes(before)
        return True

    def _overlay_path(self, stack: str) -> Path:
        out = self.project.work_dir / ("emulator" if self.emulator else "dry-run") / f"Pulumi.{stack}.yaml"
        out.parent.mkdir(parents=True, exist_ok=True)
        return out

    # -- which config file a command uses ------------------------------------------------------------
    def config_file(self, stack: str, text: str | None = None) -> Path | None:
        """The file Pulumi should read for ``stack``: None (the committed file) unless in emulator
        mode or previewing a not-yet-written ``text`` (a dry run), then a generated file."""
        if not self.emulator and text is None:
            return None
        source = text if text is not None else self.project.stack_file(stack).read_text()
        doc = yaml.safe_load(source) or {}
        kind = "emulator" if self.emulator else "dry-run"
        out = self._overlay_path(stack)
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
        # The secrets provider's keys: the stack file's own, else those kept in the overlay.
        source_keys = doc if any(k in doc for k in SECRETS_KEYS) else previous
        keys = {k: source_keys[k] for k in SECRETS_KEYS if k in source_keys}
        same_keys = bool(keys) and all(previous.get(k) == v for k, v in keys.items())
        password_kept = False
        if self.emulator and "aimodels:engineerPassword" not in config:
            old = (previous.get("config") or {}).get("aimodels:engineerPassword")
            if old is not None and same_keys:
                config["aimodels:engineerPassword"] = old
                password_kept = True
        new_doc = {k: v for k, v in doc.items() if k not in ("config", *SECRETS_KEYS)}
        new_doc.update(keys)
        new_doc["config"] = config
        header = (f"# GENERATED by `aimodels` from {self.project.rel(self.project.stack_file(stack))} "
                  f"({kind}); do not edit.\n")
        _write_atomic(out, header + yaml.safe_dump(new_doc, sort_keys=False, default_flow_style=False))
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
