"""The kill campaign (``python -m tests.chaos --interrupt``) over a stack of all five platforms.

Two cycles with seed 3, whose plan interrupts ``pulumi up`` mid-way twice: SIGKILL at about 60 %
of a clean up's length (creates in flight: the engine dies, the lock stays) and SIGINT at about
55 % (Ctrl-C during the ESD endpoint wait). Recovery is only the documented one: ``pulumi cancel``
(or ``aimodels recover``) when the lock is left, then ``pulumi up``.

What it asserts, besides a consistent report: nothing orphaned, nothing duplicated, no recovery
stuck, no process of the interrupted run alive 5 s after its engine was gone, and ``pulumi up``
gone within 10 s of SIGINT (issue 20). Until the provider server honours Cancel and exits with
its engine, and creates recognise what an interrupted predecessor made, this test fails with the
counts it found.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from aimodels.stateserver import StateServer
from tests.e2e.conftest import REPO, kms_env

CYCLES, SEED = 2, 3


def test_kill_campaign_short_run(tmp_path: Path, state_server: StateServer) -> None:
    report_file = tmp_path / "interrupt.json"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.chaos", "--interrupt", "--cycles", str(CYCLES), "--seed", str(SEED),
         "--json", str(report_file), "--max-minutes", "8", "--grace-minutes", "4"],
        cwd=REPO, capture_output=True, text=True, timeout=15 * 60, env={**os.environ, **kms_env(state_server)},
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    out = proc.stdout
    total_line = next((ln for ln in out.splitlines() if ln.startswith(f"total ({CYCLES} cycles, seed {SEED})")), None)
    assert total_line is not None, out

    report = json.loads(report_file.read_text())
    assert report["stopped_early"] is None
    expected = report["expected_objects"]
    for kind in ("esd:endpoint", "pai:version", "fabric:version", "zstack:model", "workshop:model"):
        assert expected.get(kind) == 1, (kind, expected)
    cycles, totals = report["cycles"], report["totals"]
    assert len(cycles) == totals["cycles"] == CYCLES
    # the plan is the seed's: two ups, one SIGKILL and one SIGINT, each landing while pulumi ran
    assert sorted((c["plan"]["operation"], c["plan"]["signal"]) for c in cycles) == [("up", "SIGINT"),
                                                                                    ("up", "SIGKILL")]
    assert all(c["signalled"] for c in cycles), [c["errors"] for c in cycles]
    for key, of in (("orphans", "orphans"), ("duplicates", "duplicates"), ("leftover_processes", "leftovers")):
        assert totals[key] == sum(sum(c[of].values()) for c in cycles), key
    assert totals["stuck"] == sum(c["stuck"] for c in cycles)
    sigint = [c for c in cycles if c["plan"]["signal"] == "SIGINT"]
    assert totals["largest_sigint_exit_s"] == max(c["sigint_exit_s"] for c in sigint)

    findings = {k: totals[k] for k in ("orphans", "duplicates", "stuck", "leftover_processes")}
    details = "\n".join([total_line, *(json.dumps({k: c[k] for k in ("plan", "errors", "leftovers", "orphans",
                                                                    "duplicates", "sigint_exit_s")})
                                       for c in cycles)])
    assert findings == {"orphans": 0, "duplicates": 0, "stuck": 0, "leftover_processes": 0}, details
    assert totals["largest_sigint_exit_s"] <= 10.0, details
