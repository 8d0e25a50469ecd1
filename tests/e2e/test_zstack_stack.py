"""ZStack under the real engine: a model center, a model service and a model bound to it
(tests/e2e/programs/zstack, the same resources as the ZStack block of stacks/__main__.py) through
up, a clean preview, in-place updates, a replacement, drift seen by refresh and repaired by up,
and destroy."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

from tests.emulator_process import Emulator

PROGRAM = Path(__file__).resolve().parent / "programs" / "zstack"
PASSWORD = "e2e-ZStack-Passw0rd"
TOKEN = "e2e-download-token"
KINDS = ("model", "model_center", "model_service")


@pytest.fixture
def fresh(emulator: Emulator) -> Emulator:
    emulator.reset("zstack")
    emulator.settings("zstack", job_delay_s=0.2, accounts={"admin": PASSWORD})
    return emulator


def quiet(_: str) -> None:
    pass


def changes(result: Any) -> dict[str, int]:
    counts = getattr(result, "change_summary", None) or getattr(result, "resource_changes", None) or {}
    return {k: v for k, v in counts.items() if k != "same" and v}


def objects(emulator: Emulator) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in emulator.objects("zstack").items() if k in KINDS}


def persisted_state(stack: auto.Stack) -> str:
    backend = Path(urllib.parse.urlparse(stack.workspace.env_vars["PULUMI_BACKEND_URL"]).path)
    [state] = list((backend / ".pulumi" / "stacks").rglob(f"{stack.name}.json"))
    return state.read_text()


def test_zstack_stack_lifecycle(make_stack, fresh: Emulator) -> None:
    stack = make_stack(program_dir=PROGRAM, stack_name="zstack-e2e",
                       config={"zstack:endpoint": f"{fresh.url}/zstack", "zstack:accountName": "admin"},
                       secrets={"zstack:accountPassword": PASSWORD, "zstack-e2e:downloadToken": TOKEN})

    # -- up ---------------------------------------------------------------------------------------
    up = stack.up(on_output=quiet)
    assert changes(up.summary) == {"create": 4}
    [center] = objects(fresh)["model_center"].values()
    [model] = objects(fresh)["model"].values()
    [service] = objects(fresh)["model_service"].values()
    assert [r["modelServiceUuid"] for r in model["modelServiceRefs"]] == [service["uuid"]]
    assert up.outputs["model_service_uuid"].value == service["uuid"]
    assert up.outputs["model_center_uuid"].value == center["uuid"] == model["modelCenterUuid"]
    assert model["_token"] == TOKEN and model["_userTags"] == ["environment::e2e"]
    assert up.outputs["model_center_status"].value == "Connected"
    state = persisted_state(stack)
    assert PASSWORD not in state and TOKEN not in state

    # -- no perpetual diff ---------------------------------------------------------------------------
    stack.preview(expect_no_changes=True, on_output=quiet)

    # -- in place: the model's description and the center's port --------------------------------------
    stack.set_config("description", auto.ConfigValue(value="updated by e2e"))
    stack.set_config("centerPort", auto.ConfigValue(value="9000"))
    stack.set_config("serviceYaml", auto.ConfigValue(value="name: qwen-vllm\nport: 8001\n"))
    assert changes(stack.preview(on_output=quiet)) == {"update": 3}
    up = stack.up(on_output=quiet)
    assert changes(up.summary) == {"update": 3}
    assert objects(fresh)["model_service"][service["uuid"]]["yaml"] == "name: qwen-vllm\nport: 8001\n"
    assert objects(fresh)["model"][model["uuid"]]["description"] == "updated by e2e"
    assert objects(fresh)["model_center"][center["uuid"]]["managementPort"] == 9000
    stack.preview(expect_no_changes=True, on_output=quiet)

    # -- create-time only: a new version replaces the model (create before delete) -------------------
    stack.set_config("version", auto.ConfigValue(value="1.5.1"))
    up = stack.up(on_output=quiet)
    assert changes(up.summary) == {"replace": 1}
    [replaced] = objects(fresh)["model"].values()
    assert replaced["uuid"] != model["uuid"] and replaced["version"] == "1.5.1"
    assert [r["modelServiceUuid"] for r in replaced["modelServiceRefs"]] == [service["uuid"]]
    assert up.outputs["model_uuid"].value == replaced["uuid"]

    # -- drift: renamed behind Pulumi's back; refresh sees it, up puts it back -----------------------
    fresh.patch("zstack", "model", replaced["uuid"], name="renamed-by-hand")
    refresh = stack.refresh(on_output=quiet)
    assert refresh.summary.resource_changes.get("update", 0) == 1
    assert changes(stack.preview(on_output=quiet)) == {"update": 1}
    stack.up(on_output=quiet)
    assert objects(fresh)["model"][replaced["uuid"]]["name"] == "e2e-qwen-1.5-32b"
    stack.preview(expect_no_changes=True, on_output=quiet)

    # -- destroy leaves nothing (ZStack has no built-in models or centers) ---------------------------
    stack.destroy(on_output=quiet)
    assert {k: v for k, v in objects(fresh).items() if v} == {}


def test_the_stack_block_declares_a_service_the_model_is_bound_to(make_stack, fresh: Emulator) -> None:
    """stacks/__main__.py with ZStack configured: its block adds a center, a service and a model."""
    from tests.e2e.conftest import REPO
    from tests.e2e.test_stack import SECRETS, stack_config

    config = {**stack_config(fresh), "zstack:endpoint": f"{fresh.url}/zstack", "zstack:accountName": "admin"}
    stack = make_stack(program_dir=REPO, stack_name="e2e-zstack-block", config=config,
                       secrets={**SECRETS, "zstack:accountPassword": PASSWORD})
    preview = stack.preview(diff=True, on_output=quiet)
    assert changes(preview) == {"create": 15}  # the 12 of tests/e2e/test_stack.py, plus center, service, model
    for token in ("zstack:ModelCenter", "zstack:ModelService", "zstack:Model"):
        assert token in preview.stdout
    assert "e2e-qwen-vllm" in preview.stdout
