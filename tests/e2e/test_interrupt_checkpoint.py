"""A SIGINT to `pulumi up` while an esd:Checkpoint from a URL is being made (the kill campaign's
cycle 21, seed 1): during its download (POST answered, no id yet) or during its rename (the
checkpoint exists). The next `pulumi up` converges with exactly one checkpoint, the one in state.
"""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from emulator import defaults
from tests.e2e.test_interrupt import dynamic_resources, exit_time, quiet, start, wait_until, write_project
from tests.emulator_process import Emulator

PROGRAM = Path(__file__).resolve().parent / "programs" / "interrupt_checkpoint" / "__main__.py"
DOWNLOAD_S = 15.0  # longer than the next `up` takes to send its create: the two downloads overlap
RENAME_S = 4.0


def checkpoints(emulator: Emulator) -> list[dict[str, Any]]:
    return list(emulator.objects("esd").get("checkpoint", {}).values())


def downloads(emulator: Emulator) -> list[dict[str, Any]]:
    return list(emulator.objects("esd").get("checkpoint_download", {}).values())


@pytest.mark.parametrize("moment", ["download", "rename"])
def test_sigint_during_a_url_checkpoint_create_then_up_converges_with_one(
        make_stack, emulator: Emulator, tmp_path: Path, moment: str) -> None:
    emulator.reset()
    emulator.clear_faults()
    emulator.settings("esd", checkpoint_download_seconds=DOWNLOAD_S if moment == "download" else 0.3,
                      checkpoint_rename_seconds=RENAME_S if moment == "rename" else 0.2)
    project = write_project(tmp_path / moment)
    shutil.copy(PROGRAM, project / "app" / "__main__.py")
    stack = make_stack(program_dir=project, stack_name=f"ckpt-{moment}",
                       config={"esd:apiUrl": f"{emulator.url}/esd/prod"},
                       secrets={"esd:apiKey": defaults.ESD_API_KEY})
    proc = start(stack)
    if moment == "download":
        wait_until("the download under way", lambda: len(downloads(emulator)) == 1)
    else:
        wait_until("the downloaded checkpoint", lambda: len(checkpoints(emulator)) == 1, timeout_s=60)
    time.sleep(1.5)  # the rename was sent: its wait is under way
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    took, out = exit_time(proc, sent)
    print(f"\nSIGINT ({moment}) to exit of `pulumi up`: {took:.1f}s")
    assert proc.returncode != 0, out
    if moment == "rename":  # the platform finishes the rename before the next run looks
        wait_until("the rename", lambda: [c["checkpoint_names"] for c in checkpoints(emulator)] == [["int-sd-abc123"]])

    emulator.settings("esd", checkpoint_rename_seconds=0.2)
    up = stack.up(on_output=quiet)
    assert up.summary.result == "succeeded", up.stdout
    wait_until("every download landed", lambda: not downloads(emulator), timeout_s=DOWNLOAD_S * 3)
    time.sleep(0.5)
    records = checkpoints(emulator)
    state = dynamic_resources(stack)
    assert [r["id"] for r in records] == [state["base-model"]["id"]], (records, up.stdout)
    assert records[0]["checkpoint_names"] == ["int-sd-abc123"]
    stack.preview(expect_no_changes=True, on_output=quiet)
