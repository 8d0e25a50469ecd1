"""docs/getting-started.md, run as written (e2e tier: the real engine, the real scripts).

The page's ``console`` blocks are run in order in a throwaway copy of the project (its own state
backend, PULUMI_HOME, emulator port and git history), and each command's output must show the
lines the page shows under it (convention: tests/docs/tutorial.py). The page cannot rot: a
changed command, output line or exit code fails this test.

AIMODELS_TUTORIAL_RECORD=<dir> also writes every command's full output there (to update the page).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.docs import tutorial
from tests.emulator_process import free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "getting-started.md"


def _cli_bin() -> Path:
    proc = subprocess.run(["bash", str(REPO / "scripts" / "pulumi-cli.sh")], cwd=REPO, capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        pytest.fail(f"scripts/pulumi-cli.sh failed (exit {proc.returncode}):\n{proc.stderr}", pytrace=False)
    return Path(lines[-1])


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A copy of the project a newcomer would have checked out, sharing only the built tools."""
    root = tmp_path / "aimodels"
    root.mkdir()
    for name in ("Pulumi.yaml", "pyproject.toml", "requirements.lock", ".gitignore"):
        shutil.copy(REPO / name, root / name)  # same pyproject + lock: scripts/lib.sh reuses .venv as is
    shutil.copytree(REPO / "stacks", root / "stacks", ignore=shutil.ignore_patterns(
        "__pycache__", "pin-history", "Pulumi.e2e*.yaml", "Pulumi.chaos*.yaml"))
    shutil.copytree(REPO / "scripts", root / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
    (root / ".venv").symlink_to(REPO / ".venv")
    (root / "tools").symlink_to(REPO / "tools")  # scripts/pulumi-cli.sh hashes tools/pulumi-build
    bin_dir = _cli_bin()
    drop = [REPO / ".venv" / "bin"]
    if (REPO / ".tools" / "pulumi").is_dir():
        (root / ".tools").mkdir()
        (root / ".tools" / "pulumi").symlink_to(REPO / ".tools" / "pulumi")  # the built CLI, not its home
        if bin_dir.resolve() == (REPO / ".tools" / "pulumi" / "bin").resolve():
            drop.append(bin_dir)
    git = ["git", "-c", "user.name=tutorial", "-c", "user.email=tutorial@localhost"]
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    (root / ".git" / "info" / "exclude").write_text(".venv\ntools\n.tools\n")
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "checkout"], cwd=root, check=True)

    port = free_port()
    assert port != 8787
    env = tutorial.clean_env({"AIMODELS_EMULATOR_PORT": str(port),
                              "AIMODELS_EMULATOR_URL": f"http://127.0.0.1:{port}"}, drop)
    yield root, env

    pidfile = root / ".emulator" / "emulator.pid"  # an emulator scripts/up.sh left running (a failed run)
    try:
        pid = int(pidfile.read_text().strip())
        if "aimodels-emulator" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
            os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        pass


def test_the_getting_started_page_runs_as_written(sandbox: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, env = sandbox
    steps = tutorial.parse(PAGE.read_text())
    assert len(steps) >= 10, "the page lost its commands"
    record = os.environ.get("AIMODELS_TUTORIAL_RECORD")
    state = tmp_path / "shell"
    state.mkdir()
    shell = tutorial.Shell(root, env, state)
    for i, step in enumerate(steps, start=1):
        proc = shell.run(step.command)
        if record:
            Path(record).mkdir(parents=True, exist_ok=True)
            (Path(record) / f"{i:02d}.txt").write_text(f"$ {step.command}\n# exit {proc.returncode}\n{proc.stdout}")
        where = f"docs/getting-started.md:{step.line}: `{step.command}`"
        tail = "\n".join(proc.stdout.splitlines()[-60:])
        assert proc.returncode == step.exit_code, f"{where} exited {proc.returncode}, not {step.exit_code}\n{tail}"
        gone = tutorial.missing(step.expected, proc.stdout)
        assert gone is None, f"{where}: its output lacks the line the page shows: {gone!r}\n--- output ---\n{tail}"
    # the page's last words: the stack files are back as checked out, and the emulator is stopped
    leftover = subprocess.run(["git", "status", "--porcelain", "stacks/"], cwd=root, capture_output=True, text=True)
    assert leftover.stdout == "", f"the page leaves stack files changed:\n{leftover.stdout}"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{env['AIMODELS_EMULATOR_URL']}/_admin/health", timeout=2)
