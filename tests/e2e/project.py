"""A copy of the project (Pulumi.yaml + stacks/) driven through the installed `aimodels` command; the
``project`` fixture (tests/e2e/conftest.py) makes one per test."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.conftest import PULUMI_HOME, REPO
from tests.emulator_process import Emulator

AIMODELS = REPO / ".venv" / "bin" / "aimodels"
GOLDEN = Path(__file__).resolve().parent / "golden"
FAST = {"esd": {"endpoint_create_seconds": 0.3, "checkpoint_download_seconds": 0.2, "checkpoint_rename_seconds": 0.1,
                "inference_async_seconds": 0.2, "training_phase_seconds": 0.1},
        "fabric": {"create_delay_s": 0.2, "version_delay_s": 0.2}}


class Project:
    def __init__(self, root: Path, emulator: Emulator, pulumi_bin: Path, state: Path) -> None:
        self.root, self.emulator = root, emulator
        self.env = {**os.environ, "PULUMI_BACKEND_URL": state.as_uri(), "PULUMI_CONFIG_PASSPHRASE": "e2e-promotion",
                    "PULUMI_HOME": str(PULUMI_HOME), "AIMODELS_PULUMI": str(pulumi_bin / "pulumi"),
                    "PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true"}
        self.stacks: set[str] = set()

    def run(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
        cmd = [str(AIMODELS), args[0], "--project-dir", str(self.root), "--emulator",
               "--emulator-url", self.emulator.url, *args[1:]]
        proc = subprocess.run(cmd, env=self.env, text=True, capture_output=True, cwd=self.root)
        if expect is not None:
            assert proc.returncode == expect, f"{' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def up(self, stack: str, preview: bool = False) -> str:
        """`aimodels up` as a step of a scenario. Without `preview`, `pulumi up` skips its own preview
        phase (a second program run and provider start, about a CPU-second): what a preview shows is
        what test_preview_honesty, the review tests and the getting-started page check."""
        self.stacks.add(stack)
        return self.run("up", "--stack", stack, *(() if preview else ("--", "--skip-preview"))).stdout

    def stack_file(self, stack: str) -> Path:
        return self.root / "stacks" / f"Pulumi.{stack}.yaml"

    def edit(self, stack: str, key: str, change: Any) -> None:
        """Change one aimodels section of a stack file (a test shortcut for a hand edit)."""
        path = self.stack_file(stack)
        doc = yaml.safe_load(path.read_text())
        change(doc["config"][key])
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
