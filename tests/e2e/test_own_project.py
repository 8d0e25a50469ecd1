"""Use from your own Pulumi project, as the README's "Use it in your own Pulumi project" section
says: build the wheel, install it into a new virtualenv in a folder outside this repository, write
a Pulumi.yaml and a program, `pulumi up` against the emulator, then destroy.

To keep it fast the new virtualenv gets the wheel with ``--no-deps`` and borrows the third-party
dependencies (pulumi, httpx, pydantic) from this repository's .venv through a ``.pth`` line; the
project itself comes only from the wheel (the test proves the repository is not on the path).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
from pulumi import automation as auto

from emulator import defaults
from tests.e2e.conftest import REPO, MakeStack, take_turns
from tests.emulator_process import Emulator

pytestmark = pytest.mark.e2e

PROGRAM = '''
"""My own project: one ESD role and one PAI model, against the emulator."""

import pulumi

from providers import esd, pai

ops = esd.Role("ops", name="own-project-ops", permissions=["checkpoint:all", "inference:all"])
model = pai.Model("model", name="own-project-model", domain="aigc", labels={"team": "own"},
                  description=pulumi.Config().get("description"))

pulumi.export("role", ops.name)
pulumi.export("model_id", model.model_id)
'''

PULUMI_YAML = '''
name: own-project
description: a project of my own that uses the aimodels resources
runtime:
  name: python
  options:
    toolchain: pip
    virtualenv: venv
'''


# The wheel's console script `pulumi-resource-pulumi-python` starts the project's provider server;
# a Pulumi.yaml `plugins:` entry makes the engine use it (before any launcher on PATH or beside the CLI).
PLUGINS = '''
plugins:
  providers:
    - name: pulumi-python
      path: venv/bin
'''
HAS_SERVER = (REPO / "providers" / "core" / "server.py").is_file()


def _run(*args: str, cwd: Path) -> str:
    proc = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # setuptools builds in the checkout's build/: one worker at a time (this module's two tests may
    # run on two workers at once, each building its own wheel).
    turn = take_turns(REPO / "build")
    try:
        _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w", str(out),
             str(REPO), cwd=out)
    finally:
        turn.close()
    (whl,) = out.glob("aimodels_iac-*.whl")
    return whl


def test_wheel_has_no_repository_layout_in_it(wheel: Path) -> None:
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"providers", "emulator", "aimodels",
                    wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}
    assert {"providers/esd/role.py", "providers/fabric/types.py", "providers/py.typed"} <= set(names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "aimodels-emulator = emulator.server:main" in scripts
    assert "aimodels = aimodels.cli:main" in scripts  # promote / rollback / review
    assert "pulumi-resource-pulumi-python = providers.core.server:main" in scripts  # the provider plugin


def test_own_project_up_and_destroy(wheel: Path, tmp_path: Path, make_stack: MakeStack, emulator: Emulator,
                                    pulumi_cli: Path) -> None:
    project = tmp_path / "my-project"
    project.mkdir()
    assert REPO not in project.parents
    (project / "Pulumi.yaml").write_text(textwrap.dedent(PULUMI_YAML).lstrip() + (PLUGINS if HAS_SERVER else ""))
    (project / "__main__.py").write_text(textwrap.dedent(PROGRAM).lstrip())

    # python -m venv venv && venv/bin/pip install <wheel>   (dependencies borrowed, see the docstring)
    base_python = getattr(sys, "_base_executable", sys.executable)
    _run(base_python, "-m", "venv", "venv", cwd=project)
    venv_python = project / "venv" / "bin" / "python"
    _run(str(venv_python), "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "-q", str(wheel),
         cwd=project)
    site = Path(_run(str(venv_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                     cwd=project).strip())
    (site / "zz_borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    where = json.loads(_run(str(venv_python), "-c",
                            "import json, providers, emulator, sys; "
                            "print(json.dumps([providers.__file__, emulator.__file__, sys.path]))", cwd=project))
    assert all(Path(p).is_relative_to(project / "venv") for p in where[:2]), where
    assert str(REPO) not in where[2]

    # The user's editor and type checker see the typed classes of the installed package (PEP 561).
    checked = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--python-executable", str(venv_python),
                              "--cache-dir", str(tmp_path / "mypy"), "__main__.py"],
                             cwd=project, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    stack = make_stack(project, stack_name="dev", config={
        "esd:apiUrl": f"{emulator.url}/esd/prod",
        "pai:endpoint": f"{emulator.url}/pai",
        "pai:accessKeyId": defaults.PAI_ACCESS_KEY_ID,
    }, secrets={
        "esd:apiKey": defaults.ESD_API_KEY,
        "pai:accessKeySecret": defaults.PAI_ACCESS_KEY_SECRET,
    })
    up = stack.up(on_output=lambda _: None)
    assert up.summary.result == "succeeded"
    outputs = {k: v.value for k, v in up.outputs.items()}
    assert outputs["role"] == "own-project-ops"
    model_id = outputs["model_id"]
    assert model_id in json.dumps(emulator.objects("pai"))
    assert "own-project-ops" in json.dumps(emulator.objects("esd"))

    preview = stack.preview(on_output=lambda _: None)
    assert preview.change_summary.get("same") == 3  # two resources and the stack: nothing to do

    if HAS_SERVER:  # the project's server answers with a detailed diff; the stock server cannot
        assert (project / "venv" / "bin" / "pulumi-resource-pulumi-python").is_file()
        stack.set_config("description", auto.ConfigValue(value="second words"))
        proc = subprocess.run([str(pulumi_cli / "pulumi"), "preview", "--json", "--stack", "dev"], cwd=project,
                              env={**os.environ, **stack.workspace.env_vars, "PATH": f"{pulumi_cli}:{os.environ['PATH']}",
                                   "PULUMI_HOME": stack.workspace.pulumi_home or ""},
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        steps = {s["urn"].split("::")[-1]: s for s in json.loads(proc.stdout).get("steps", [])}
        assert steps["model"]["op"] == "update"
        assert "description" in (steps["model"].get("detailedDiff") or {}), steps["model"]

    stack.destroy(on_output=lambda _: None)
    assert model_id not in json.dumps(emulator.objects("pai"))
    assert "own-project-ops" not in json.dumps(emulator.objects("esd"))
