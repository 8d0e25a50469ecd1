"""One rule for choosing the Python interpreter: the provider launcher
(scripts/launchers/pulumi-resource-pulumi-python) and the Go language host
(tools/pulumi-build/cmd/pulumi-language-python) are both tested against the same cases,
tools/pulumi-build/cmd/pulumi-language-python/testdata/interpreter.json. The Go side runs as
``go test`` there (below, when Go is installed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HOST = REPO / "tools" / "pulumi-build" / "cmd" / "pulumi-language-python"
LAUNCHER = REPO / "scripts" / "launchers" / "pulumi-resource-pulumi-python"
CASES = json.loads((HOST / "testdata" / "interpreter.json").read_text())["cases"]


def _fake_python(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('#!/bin/sh\necho "$0"\n')
    path.chmod(0o755)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_launcher_follows_the_rule(case: dict, tmp_path: Path) -> None:
    root = tmp_path / "root"
    program = root / "stacks"  # the engine starts the launcher in the program directory
    program.mkdir(parents=True)
    (root / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    for venv in case["venvs"]:
        _fake_python(tmp_path / venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_RUNTIME_", "VIRTUAL_ENV"))}
    env.pop("PULUMI_PYTHON_CMD", None)
    env.update(PULUMI_RUNTIME_TOOLCHAIN=case["toolchain"], AIMODELS_PROVIDER_SERVER="project")
    if case["virtualenv"]:
        env["PULUMI_RUNTIME_VIRTUALENV"] = case["virtualenv"].replace("{tmp}", str(tmp_path))
    if case.get("python_cmd"):
        _fake_python(tmp_path / case["python_cmd"])
        env["PULUMI_PYTHON_CMD"] = str(tmp_path / case["python_cmd"])
    proc = subprocess.run(["sh", str(LAUNCHER), "127.0.0.1:1"], cwd=program, env=env, capture_output=True, text=True)
    if case["want"] == "error":
        assert proc.returncode != 0 and "pulumi-resource-pulumi-python:" in proc.stderr, proc.stdout + proc.stderr
        return
    assert proc.returncode == 0, proc.stderr
    assert os.path.realpath(proc.stdout.strip()) == os.path.realpath(tmp_path / case["want"])


@pytest.mark.skipif(shutil.which("go") is None, reason="Go is not installed (scripts/pulumi-cli.sh needs it to build)")
def test_the_language_host_follows_the_rule() -> None:
    # The build flags of scripts/pulumi-cli.sh, so the compiled dependencies come from the shared Go cache.
    env = {**os.environ, "GOFLAGS": "-mod=readonly -buildvcs=false", "CGO_ENABLED": "0",
           "GOTOOLCHAIN": os.environ.get("GOTOOLCHAIN_BUILD", "auto")}
    proc = subprocess.run(["go", "test", "-trimpath", "-tags", "osusergo,grpcnotrace", "./cmd/pulumi-language-python/"],
                          cwd=HOST.parents[1], env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
