"""Smoke test of the engine toolchain: CLI + language host + dynamic-provider launcher.

A throwaway project with one trivial dynamic resource whose provider lives in an importable
module of the project: up, preview with no changes, an in-place update, destroy.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlparse

import pytest
from pulumi import automation as auto

from tests.emulator_process import Emulator

pytestmark = pytest.mark.e2e

# How the engine marks a secret value in exported state (the "sig" key and the secret sig).
SECRET_SIG = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")

PROVIDER = '''
import os
import uuid

from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult


class EchoProvider(ResourceProvider):
    """Echoes its input; records what the provider process sees (config, env, cwd)."""

    greeting = None

    def configure(self, req):
        self.greeting = req.config.get("greeting")

    def _outs(self, props):
        return {
            "text": props["text"],
            "length": len(props["text"]),
            "greeting": self.greeting,
            "emulator_url": os.environ.get("AIMODELS_EMULATOR_URL"),
            "cwd": os.getcwd(),
        }

    def create(self, props):
        return CreateResult(id_=uuid.uuid4().hex, outs=self._outs(props))

    def diff(self, id, olds, news):
        return DiffResult(changes=olds.get("text") != news.get("text"))

    def update(self, id, olds, news):
        return UpdateResult(outs=self._outs(news))
'''

PROGRAM = '''
import pulumi
from pulumi.dynamic import Resource

from echo_provider import EchoProvider


class Echo(Resource, module="smoke", name="Echo"):
    text: pulumi.Output[str]
    length: pulumi.Output[int]
    greeting: pulumi.Output[str]
    emulator_url: pulumi.Output[str]
    cwd: pulumi.Output[str]

    def __init__(self, name, text, opts=None):
        super().__init__(
            EchoProvider(), name,
            {"text": text, "length": None, "greeting": None, "emulator_url": None, "cwd": None}, opts,
        )


config = pulumi.Config()
echo = Echo("echo", config.require("text"))
pulumi.export("text", echo.text)
pulumi.export("length", echo.length)
pulumi.export("greeting", echo.greeting)
pulumi.export("emulator_url", echo.emulator_url)
pulumi.export("cwd", echo.cwd)
pulumi.export("token_is_secret", config.require_secret("token").apply(lambda t: len(t) > 0))
'''


def write_project(root: Path) -> Path:
    """Pulumi.yaml with main: app/ (like the real project) and the venv running these tests."""
    (root / "app").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: smoke
            main: app/
            runtime:
              name: python
              options:
                toolchain: pip
                virtualenv: {sys.prefix}
            """
        )
    )
    (root / "app" / "echo_provider.py").write_text(PROVIDER)
    (root / "app" / "__main__.py").write_text(PROGRAM)
    return root


def test_up_preview_update_destroy(make_stack, emulator: Emulator, tmp_path: Path) -> None:
    project = write_project(tmp_path / "project")
    stack = make_stack(
        program_dir=project,
        stack_name="smoke",
        config={"text": "hello", "greeting": "hi"},
        secrets={"token": "s3cret-token"},
    )

    up = stack.up(on_output=print)
    assert up.summary.result == "succeeded"
    assert up.summary.resource_changes == {"create": 2}
    outputs = {k: v.value for k, v in up.outputs.items()}
    assert outputs["text"] == "hello"
    assert outputs["length"] == 5
    assert outputs["greeting"] == "hi"  # stack config reached configure() in the provider process
    assert outputs["emulator_url"] == emulator.url  # the provider process inherits the env
    assert outputs["cwd"] == str(project / "app")  # providers run in the main: directory
    assert up.outputs["token_is_secret"].secret

    preview = stack.preview(diff=True, expect_no_changes=True, on_output=print)
    assert preview.change_summary == {"same": 2}

    stack.set_config("text", auto.ConfigValue("goodbye"))
    update = stack.up(on_output=print)
    assert update.summary.resource_changes == {"update": 1, "same": 1}
    assert update.outputs["length"].value == 7

    # The file backend's checkpoint on disk (export_stack() would decrypt secrets).
    backend = Path(urlparse(stack.workspace.env_vars["PULUMI_BACKEND_URL"]).path)
    checkpoint = next(backend.glob(".pulumi/stacks/smoke/smoke.json"))
    raw = checkpoint.read_text()
    assert "s3cret-token" not in raw
    resources = json.loads(raw)["checkpoint"]["latest"]["resources"]
    echo = next(r for r in resources if r["type"] == "pulumi-python:dynamic/smoke:Echo")
    assert echo["inputs"]["__provider"].get(SECRET_SIG[0]) == SECRET_SIG[1]  # stored encrypted

    destroy = stack.destroy(on_output=print)
    assert destroy.summary.resource_changes == {"delete": 2}
