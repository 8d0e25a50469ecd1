"""End-to-end tier: real Pulumi engine, real provider processes, real emulator over HTTP.

Fixtures
--------
``pulumi_cli`` (session)
    Runs scripts/pulumi-cli.sh (reuses a matching CLI on PATH or the cached build in
    .tools/pulumi/bin, else builds it with Go) and returns the directory holding ``pulumi`` and
    the Python launchers. It never skips: without a CLI the tier fails loudly. The tests of the
    modules in ``CLI_MATRIX`` run once per supported CLI version (``SUPPORTED_CLI_VERSIONS``: the
    pinned one and the oldest supported, tools/pulumi-build/versions/); every other test gets the
    pinned CLI.

``make_stack`` (function)
    Factory ``make_stack(program_dir=REPO, stack_name="e2e", config={}, secrets={}, env={}, emulator=True)``
    returning a ``pulumi.automation.Stack`` (``LeanStack``: outputs fetched when read, update
    summaries without decrypted secrets) on a throwaway file backend under ``tmp_path`` with an
    ``awskms://`` secrets provider (``state_server``) and the project-local PULUMI_HOME
    (.tools/pulumi-home). Config keys without a namespace get the project's. ``emulator=True`` sets ``aimodels:emulator: true``
    (unless ``config`` sets it), so every endpoint the config leaves out targets the session
    emulator. Every stack it made is destroyed and removed at
    teardown (also when the test failed), and a stack config file it created is deleted.
    Tests run in parallel (pytest-xdist): two tests whose stacks share a config file (same
    program directory and stack name, e.g. the repository's stacks/Pulumi.e2e.yaml) take turns.

``state_server`` (session)
    This worker's moto server (aimodels/stateserver.py): its KMS key wraps the secrets of every
    stack ``make_stack`` and ``project`` make, and test_team_state keeps state in its S3 buckets.
    Why KMS and not a passphrase: a passphrase costs each CLI run that encrypts or decrypts a
    1,000,000-round key derivation (~0.15 CPU-s), about 500 times in a run of the tier; a KMS key
    costs one local Decrypt request (~0.01 CPU-s in moto). The chaos tools' and the benchmark
    smoke run's tests pass the key on (``AIMODELS_SECRETS_PROVIDER``); the passphrase provider is
    what ``scripts/up.sh``, the getting-started page and the CLI tests use.

The provider processes inherit the CLI's environment, so ``env`` (plus AIMODELS_EMULATOR_URL,
set to the session emulator) is how a stack reaches things that are not in its config.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pytest
from pulumi import automation as auto
from pulumi.automation._stack import StackInitMode

from aimodels.stateserver import StateServer
from providers.core import state
from tests.emulator_process import Emulator

if TYPE_CHECKING:
    from tests.e2e.project import Project

REPO = Path(__file__).resolve().parents[2]
PULUMI_HOME = REPO / ".tools" / "pulumi-home"

MakeStack = Callable[..., auto.Stack]


def _supported_cli_versions() -> list[str]:
    """The pinned CLI (tools/pulumi-build/go.mod) first, then the older supported ones."""
    build = REPO / "tools" / "pulumi-build"
    pinned = re.search(r"^\s*github\.com/pulumi/pulumi/pkg/v3 v(\S+)", (build / "go.mod").read_text(), re.M)
    assert pinned, "tools/pulumi-build/go.mod pins no github.com/pulumi/pulumi/pkg/v3"
    older = sorted((d.name for d in (build / "versions").glob("*") if (d / "go.mod").is_file()),
                   key=lambda v: tuple(int(x) for x in v.split(".")), reverse=True)
    return [pinned.group(1), *older]


SUPPORTED_CLI_VERSIONS = _supported_cli_versions()
# Modules whose tests run under every supported CLI version (see docs/pulumi-cli.md, "Tested range").
CLI_MATRIX = {"test_provider_server.py", "test_engine_smoke.py"}
# Tests of those modules that run under the pinned CLI only, with the reason: nothing they check
# depends on the engine's version beyond what another test of the matrix checks under each one.
PINNED_ONLY = {
    "test_stock_server_runs_the_same_program": "the SDK's stock server, not the project's code",
    "test_pulumi_import_command": "import through Read runs under each CLI in test_import_every_readable_type",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything under tests/e2e is in the e2e tier (select or deselect with -m e2e)."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pulumi_cli" in metafunc.fixturenames and metafunc.definition.path.name in CLI_MATRIX:
        versions = SUPPORTED_CLI_VERSIONS[:1] if metafunc.definition.name in PINNED_ONLY else SUPPORTED_CLI_VERSIONS
        metafunc.parametrize("pulumi_cli", versions, indirect=True, ids=[f"cli{v}" for v in versions],
                             scope="session")


@pytest.fixture(scope="session")
def pulumi_cli(request: pytest.FixtureRequest) -> Path:
    # Outside CLI_MATRIX: the version the run asks for (PULUMI_CLI_VERSION, e.g. an official
    # install on PATH), else the pinned one.
    version = getattr(request, "param", None) or os.environ.get("PULUMI_CLI_VERSION") or SUPPORTED_CLI_VERSIONS[0]
    script = REPO / "scripts" / "pulumi-cli.sh"
    env = {**os.environ, "PULUMI_CLI_VERSION": version}
    proc = subprocess.run(["bash", str(script)], cwd=REPO, capture_output=True, text=True, env=env)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        pytest.fail(
            f"scripts/pulumi-cli.sh failed (exit {proc.returncode}); the e2e tier needs the Pulumi CLI.\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}",
            pytrace=False,
        )
    bin_dir = Path(lines[-1])
    if not (bin_dir / "pulumi").is_file():
        pytest.fail(f"scripts/pulumi-cli.sh printed {bin_dir}, which has no pulumi binary", pytrace=False)
    return bin_dir


@functools.cache
def _pulumi_command(bin_dir: Path) -> auto.PulumiCommand:
    # PulumiCommand(root=R) runs R/bin/pulumi and puts R/bin first on PATH for the CLI, so the
    # language host and the provider launchers beside it are found. One per CLI and worker: making
    # one runs `pulumi version`, and the object holds nothing else.
    if bin_dir.name == "bin":
        return auto.PulumiCommand(root=str(bin_dir.parent))
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    return auto.PulumiCommand()


def _stack_config_path(program_dir: Path, stack_name: str) -> Path:
    """Where the CLI keeps Pulumi.<stack>.yaml (honours stackConfigDir)."""
    for name in ("Pulumi.yaml", "Pulumi.yml"):
        project = program_dir / name
        if project.is_file():
            import yaml

            data = yaml.safe_load(project.read_text()) or {}
            config_dir = data.get("stackConfigDir")
            if config_dir:
                return program_dir / config_dir / f"Pulumi.{stack_name}.yaml"
    return program_dir / f"Pulumi.{stack_name}.yaml"


def _quiet(_: str) -> None:
    pass


class _Outputs(MutableMapping[str, auto.OutputValue]):
    """A stack's outputs, fetched from the CLI when first read (two CLI runs, one decrypting). Read
    after a later operation on the same stack, they would be the later state's: that fails loudly
    instead."""

    def __init__(self, stack: LeanStack) -> None:
        self._stack, self._at, self._values = stack, stack.operations, None

    def _load(self) -> dict[str, auto.OutputValue]:
        if self._values is None:
            assert self._stack.operations == self._at, "outputs read after a later operation on the stack"
            self._values = dict(auto.Stack.outputs(self._stack))
        return self._values

    def __getitem__(self, key: str) -> auto.OutputValue:
        return self._load()[key]

    def __setitem__(self, key: str, value: auto.OutputValue) -> None:
        self._load()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __repr__(self) -> str:
        return repr(self._load())


class _Summary:
    """An operation's update summary, fetched from the CLI (``stack history``) when a test first reads
    it; read after a later operation on the stack, it would be the later one's: that fails loudly."""

    def __init__(self, stack: LeanStack, show_secrets: bool) -> None:
        self._stack, self._at, self._show, self._value = stack, stack.operations, show_secrets, None

    def __getattr__(self, name: str) -> Any:
        if self._value is None:
            assert self._stack.operations == self._at, "update summary read after a later operation on the stack"
            self._value = auto.Stack.info(self._stack, self._show)
        return getattr(self._value, name)


class LeanStack(auto.Stack):
    """The SDK's stack, minus the CLI runs a test seldom reads: after every up/refresh/destroy the
    SDK fetches the outputs (two CLI runs) and the update summary with secrets decrypted. Here the
    outputs are fetched when read and the summary only when read, without secrets unless
    ``show_secrets=True``; everything else is the SDK's."""

    operations = 0
    _in_operation = False

    def outputs(self) -> MutableMapping[str, auto.OutputValue]:
        return _Outputs(self)

    def info(self, show_secrets: bool = True) -> Any:
        # Called by the SDK at the end of up/refresh/destroy; a test's own call fetches at once.
        return _Summary(self, show_secrets) if self._in_operation else super().info(show_secrets)

    def _operation(self, run: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.operations += 1
        self._in_operation = True
        try:
            return run(*args, **kwargs)
        finally:
            self._in_operation = False

    def up(self, *args: Any, show_secrets: bool = False, **kwargs: Any) -> auto.UpResult:
        return self._operation(super().up, *args, show_secrets=show_secrets, **kwargs)

    def refresh(self, *args: Any, show_secrets: bool = False, **kwargs: Any) -> auto.RefreshResult:
        return self._operation(super().refresh, *args, show_secrets=show_secrets, **kwargs)

    def destroy(self, *args: Any, show_secrets: bool = False, **kwargs: Any) -> auto.DestroyResult:
        return self._operation(super().destroy, *args, show_secrets=show_secrets, **kwargs)

    def import_stack(self, *args: Any, **kwargs: Any) -> None:
        self.operations += 1
        return super().import_stack(*args, **kwargs)


def take_turns(path: Path, timeout_s: float = 900) -> IO[str]:
    """An exclusive lock on a path of the working tree, held until the handle is closed (for a stack
    config file: the test's teardown).

    Parallel workers share the working tree: two stacks of the same program directory and name
    would write the same Pulumi.<stack>.yaml, two wheel builds the same build/. The lock lives
    outside the tree (keyed by the path).
    """
    key = hashlib.sha256(str(path).encode()).hexdigest()[:24]
    lock_dir = Path(tempfile.gettempdir()) / "aimodels-e2e-locks"
    lock_dir.mkdir(exist_ok=True)
    handle = open(lock_dir / f"{key}.lock", "w")
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                pytest.fail(f"another test kept {path} for {timeout_s:.0f}s", pytrace=False)
            time.sleep(0.2)


def _holds_anything(stack: auto.Stack) -> bool:
    """Whether the stack's state (its file backend, read directly) has a resource beyond the stack
    itself and its providers, or an operation left pending; unreadable counts as yes. A test that
    destroyed its stack already saves the clean-up a CLI run."""
    deployment = state.from_file_backend(stack.name, stack.workspace.project_settings().name,
                                         stack.workspace.env_vars["PULUMI_BACKEND_URL"])
    if deployment is None:
        return True
    kept = [r for r in deployment.get("resources") or []
            if r.get("type") != "pulumi:pulumi:Stack" and not str(r.get("type", "")).startswith("pulumi:providers:")]
    return bool(kept or deployment.get("pending_operations"))


@pytest.fixture(scope="session")
def state_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StateServer]:
    server = StateServer(workdir=tmp_path_factory.mktemp("state-server")).start()
    yield server
    server.stop()


def kms_env(server: StateServer) -> dict[str, str]:
    """The credentials and the ``AIMODELS_SECRETS_PROVIDER`` of the server's KMS key (no backend)."""
    return {k: v for k, v in server.env.items() if k != "PULUMI_BACKEND_URL"}


@pytest.fixture
def make_stack(pulumi_cli: Path, emulator: Emulator, state_server: StateServer, tmp_path: Path) -> Iterator[MakeStack]:
    command = _pulumi_command(pulumi_cli)
    kms = kms_env(state_server)
    PULUMI_HOME.mkdir(parents=True, exist_ok=True)
    made: list[tuple[auto.Stack, Path, bool]] = []
    locks: dict[Path, IO[str]] = {}
    emulator_url = emulator.url  # the name `emulator` is make()'s flag below

    def make(
        program_dir: Path | str = REPO,
        stack_name: str = "e2e",
        config: Mapping[str, Any] | None = None,
        secrets: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        emulator: bool = True,
    ) -> auto.Stack:
        program_dir = Path(program_dir).resolve()
        state = tmp_path / f"pulumi-state-{len(made)}"
        state.mkdir()
        env_vars = {
            "PULUMI_BACKEND_URL": state.as_uri(),
            **kms,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "AIMODELS_EMULATOR_URL": emulator_url,
            **(env or {}),
        }
        config_file = _stack_config_path(program_dir, stack_name)
        if config_file not in locks:
            locks[config_file] = take_turns(config_file)
        had_config_file = config_file.exists()
        workspace = auto.LocalWorkspace(
            work_dir=str(program_dir),
            pulumi_home=str(PULUMI_HOME),
            env_vars=env_vars,
            secrets_provider=kms["AIMODELS_SECRETS_PROVIDER"],
            pulumi_command=command,
        )
        stack = LeanStack(stack_name, workspace, StackInitMode.CREATE)
        made.append((stack, config_file, had_config_file))
        config = dict(config or {})
        if emulator:  # unset endpoints go to the session emulator (AIMODELS_EMULATOR_URL above)
            config.setdefault("aimodels:emulator", "true")
        values = {k: auto.ConfigValue(value=str(v)) for k, v in config.items()}
        values.update({k: auto.ConfigValue(value=str(v), secret=True) for k, v in (secrets or {}).items()})
        if values:
            stack.set_all_config(values)
        return stack

    yield make

    errors: list[str] = []
    for stack, config_file, had_config_file in reversed(made):
        try:
            if _holds_anything(stack):
                stack.destroy(on_output=_quiet)
        except auto.CommandError as exc:  # keep going: remove the other stacks too
            errors.append(f"destroy {stack.name}: {exc}")
        try:
            stack.workspace.remove_stack(stack.name, force=True)
        except auto.CommandError as exc:
            errors.append(f"stack rm {stack.name}: {exc}")
        if not had_config_file and config_file.exists():
            config_file.unlink()
    for handle in locks.values():
        handle.close()
    if errors:
        pytest.fail("e2e teardown failed:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
def project(pulumi_cli: Path, emulator: Emulator, state_server: StateServer, tmp_path: Path) -> Iterator[Project]:
    """A copy of the project in tmp_path (tests/e2e/project.py); destroys every stack it brought up."""
    from tests.e2e.project import FAST, Project

    emulator.reset()
    for platform, values in FAST.items():
        emulator.settings(platform, **values)
    root = tmp_path / "project"
    root.mkdir()
    shutil.copytree(REPO / "stacks", root / "stacks", ignore=shutil.ignore_patterns("__pycache__", "pin-history",
                                                                                  "Pulumi.e2e*.yaml"))
    shutil.copy(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
    for shared in (".venv", "scripts", "policy"):  # the virtualenv, the launchers Pulumi.yaml points at, the pack
        (root / shared).symlink_to(REPO / shared)
    state = tmp_path / "state"
    state.mkdir()
    p = Project(root, emulator, pulumi_cli, state)
    p.env.update(kms_env(state_server))
    yield p
    # Clean-up, not a test of destroy's preview (test_promotion destroys through the full command).
    failures = [s for s in sorted(p.stacks)
                if p.run("destroy", "--stack", s, "--", "--skip-preview", expect=None).returncode != 0]
    assert not failures, f"destroy failed for {failures}"
