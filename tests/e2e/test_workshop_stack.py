"""workshop:ModelSync under the real engine, against the emulator: up, a clean preview, an update,
refresh (which says it cannot see drift), destroy (which says the platform keeps the model).

Program: tests/e2e/programs/workshop (one synced model). The stacks/ program's own Workshop block
is previewed too, with the rest of the local stack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

from emulator import defaults
from tests.e2e.conftest import REPO
from tests.e2e.test_stack import SECRETS, changes, persisted_state, stack_config
from tests.emulator_process import Emulator

PROGRAM = Path(__file__).resolve().parent / "programs" / "workshop"
APP_KEY, APP_SECRET = defaults.WORKSHOP_APP_KEY, defaults.WORKSHOP_APP_SECRET


def workshop_config(emulator: Emulator, token_name: str) -> dict[str, str]:
    return {"workshop:endpoint": f"{emulator.url}/workshop", "workshop:appKey": APP_KEY,
            "workshop:tokenName": token_name}


def synced(emulator: Emulator, token_name: str, model_id: str) -> dict[str, Any] | None:
    return emulator.objects("workshop").get("model", {}).get(f"{APP_KEY}/user:{token_name}/{model_id}")


def test_model_sync_lifecycle(make_stack, emulator: Emulator, tmp_path: Path) -> None:
    emulator.reset("workshop")
    emulator.settings("workshop", listing_delay_s=0.5)
    cache = tmp_path / "tokens"
    stack = make_stack(program_dir=PROGRAM, stack_name="workshop",
                       config={**workshop_config(emulator, "e2e"), "workshop:tokenCache": str(cache)},
                       secrets={"workshop:appSecret": APP_SECRET})
    lines: list[str] = []

    up = stack.up(on_output=lines.append)
    assert up.summary.result == "succeeded" and changes(up.summary) == {"create": 2}
    out = {k: v.value for k, v in up.outputs.items()}
    assert out["model_id"] == "e2e-style" and out["listing_status"] == "Listed"
    doc = synced(emulator, "e2e", "e2e-style")
    assert doc["workshopModelId"] == out["workshop_model_id"]
    assert [(v["modelVersionId"], v["files"][0]["status"]) for v in doc["versions"]] == [("e2e-style-1.0", 10)]
    assert "waiting (deadline 120s)" in "".join(lines)  # the listing wait showed its progress
    assert APP_SECRET not in persisted_state(stack)

    stack.preview(expect_no_changes=True, on_output=lambda _: None)

    # an update: a new version replaces the old one in the synced tree, same model on the platform
    stack.set_config("version", auto.ConfigValue(value="1.1"))
    stack.set_config("modelName", auto.ConfigValue(value="e2e style, second cut"))
    assert changes(stack.preview(on_output=lambda _: None)) == {"update": 1}
    up = stack.up(on_output=lambda _: None)
    assert changes(up.summary) == {"update": 1}
    assert up.outputs["workshop_model_id"].value == out["workshop_model_id"]
    doc = synced(emulator, "e2e", "e2e-style")
    assert doc["name"] == "e2e style, second cut" and [v["modelVersionId"] for v in doc["versions"]] == ["e2e-style-1.1"]
    stack.preview(expect_no_changes=True, on_output=lambda _: None)

    # refresh cannot see a console edit, and says so instead of pretending
    emulator.patch("workshop", "model", f"{APP_KEY}/user:e2e/e2e-style", name="edited in the console")
    lines.clear()
    refresh = stack.refresh(on_output=lines.append)
    assert changes(refresh.summary) == {}
    assert "has no read API" in "".join(lines)

    # destroy removes it from the stack only, says so, and the platform keeps it
    lines.clear()
    destroy = stack.destroy(on_output=lines.append)
    assert changes(destroy.summary) == {"delete": 2}
    text = "".join(lines)
    assert "removed from the stack only" in text and "no delete API" in text
    assert synced(emulator, "e2e", "e2e-style") is not None
    # every operation above ran in its own provider process; they all used one API token (issue 18)
    assert len(emulator.objects("workshop")["token"]) == 1
    [kept] = list(cache.iterdir())
    assert next(iter(emulator.objects("workshop")["token"])) not in persisted_state(stack)


def test_a_failed_update_is_recorded_and_run_again(make_stack, emulator: Emulator, tmp_path: Path) -> None:
    """Issue 18: after an update whose listing fails, state shows Listing failed (not the last good
    Listed), and the next up runs the update again although nothing in the program changed."""
    emulator.reset("workshop")
    emulator.settings("workshop", listing_delay_s=0.3)
    stack = make_stack(program_dir=PROGRAM, stack_name="workshop-fail",
                       config={**workshop_config(emulator, "e2e-fail"), "workshop:tokenCache": str(tmp_path / "t")},
                       secrets={"workshop:appSecret": APP_SECRET})
    assert stack.up(on_output=lambda _: None).outputs["listing_status"].value == "Listed"

    def synced_state() -> dict[str, Any]:
        [res] = [r for r in stack.export_stack().deployment["resources"] if r["type"].endswith("workshop:ModelSync")]
        return res.get("outputs", {})

    stack.set_config("version", auto.ConfigValue(value="2.0"))  # a new file (a hash the platform has not seen)
    stack.set_config("downloadUrl", auto.ConfigValue(value="https://models.example.com/fail/e2e.safetensors"))
    with pytest.raises(auto.CommandError) as err:
        stack.up(on_output=lambda _: None)
    assert "listing failed" in str(err.value)
    outs = synced_state()
    assert outs["status"] == -10 and outs["listing_status"] == "Listing failed" and outs.get("__update_error")
    # nothing changed in the program, yet the update is due again
    assert changes(stack.preview(on_output=lambda _: None)) == {"update": 1}

    stack.set_config("downloadUrl", auto.ConfigValue(value="https://models.example.com/ok/e2e.safetensors"))
    up = stack.up(on_output=lambda _: None)
    assert up.outputs["listing_status"].value == "Listed"
    assert "__update_error" not in synced_state()
    stack.preview(expect_no_changes=True, on_output=lambda _: None)


def test_the_local_stack_block_previews_one_synced_model(make_stack, emulator: Emulator) -> None:
    """stacks/__main__.py with the Workshop configured: one more resource, nothing else changes."""
    config = {**stack_config(emulator), **workshop_config(emulator, "e2e-preview")}
    stack = make_stack(program_dir=REPO, stack_name="e2e-workshop", config=config,
                       secrets={**SECRETS, "workshop:appSecret": APP_SECRET})
    preview = stack.preview(diff=True, on_output=lambda _: None)
    assert changes(preview) == {"create": 13}  # the 12 of tests/e2e/test_stack.py, plus the synced model
    assert "workshop:ModelSync" in preview.stdout and "e2e-house-style" in preview.stdout
