"""The chaos tool (``python -m tests.chaos``) runs end to end and reports its counts.

A short run: 2 cycles at a modest fault rate with a fixed seed, over a stack with all five platforms
(ESD, a PAI model and ModelVersion, a Fabric model and version, a ZStack center, service and model, a Workshop
model sync). It starts its own emulator and
file backend, so it needs only the Pulumi CLI. What it asserts:

- the tool completes, prints one line per cycle and the totals, and its JSON report is consistent
  (totals are the sums of the cycles; every cycle made 1..4 up attempts; faults were injected);
- no perpetual diffs: preview runs with faults off, so a diff there is a deterministic defect;
- a cycle that left no object left no ESD blob file on disk either;
- nothing orphaned, nothing duplicated, no state entry without its object, every cycle converged
  (the provider fixes of issue 8: creates safe to repeat, waits that ride out outages).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from aimodels.stateserver import StateServer
from tests.e2e.conftest import REPO, kms_env

CYCLES = 2


def test_chaos_tool_short_run(tmp_path: Path, state_server: StateServer) -> None:
    report_file = tmp_path / "chaos.json"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.chaos", "--cycles", str(CYCLES), "--fault-rate", "0.05", "--seed", "7",
         "--json", str(report_file), "--max-minutes", "8", "--grace-minutes", "4"],
        cwd=REPO, capture_output=True, text=True, timeout=15 * 60, env={**os.environ, **kms_env(state_server)},
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    out = proc.stdout
    assert "calibration: one up makes" in out
    assert [ln for ln in out.splitlines() if ln.startswith("cycle ")] and f"total ({CYCLES} cycles" in out, out

    report = json.loads(report_file.read_text())
    assert report["stopped_early"] is None
    # all five platforms and both kinds of version are in the stack the tool drives
    expected = report["expected_objects"]
    for kind in ("esd:endpoint", "pai:model", "pai:version", "fabric:model", "fabric:version", "zstack:model_center",
                 "zstack:model_service", "zstack:model", "workshop:model"):
        assert expected.get(kind) == 1, (kind, expected)
    cycles, totals = report["cycles"], report["totals"]
    assert len(cycles) == totals["cycles"] == CYCLES
    for key in ("up_attempts", "converged", "perpetual_diffs", "orphans", "duplicates", "state_without_object",
                "blob_files_left"):
        assert totals[key] == sum(int(c[key]) for c in cycles), key
    for c in cycles:
        assert 1 <= c["up_attempts"] <= 4 and 1 <= c["destroy_attempts"] <= 4
        assert c["converged"] == (c["up_attempts"] < 4 or not any(e.startswith("up #4") for e in c["errors"]))
        assert c["orphans"] == sum(c["details"]["orphans"].values())
        assert c["duplicates"] == sum(c["details"]["duplicates"].values())
        # no object left means no bytes left in the ESD blob directory either (issue 8: 39 files were)
        assert c["blob_files_left"] == 0 or c["orphans"] > 0, c
    assert sum(totals["faults_fired"].values()) > 0  # faults were really injected
    assert totals["perpetual_diffs"] == 0, cycles
    assert totals["orphans"] == totals["duplicates"] == 0, cycles
    assert all(c["converged"] for c in cycles) and all(c["state_without_object"] == 0 for c in cycles), cycles
