"""The benchmark suite (benchmarks/) in its smoke mode: every part runs at a tiny size.

This keeps the benchmark code from rotting; it asserts what the tables contain, never timings.
"""

from __future__ import annotations

import os
import subprocess
import sys

from aimodels.stateserver import StateServer
from tests.e2e.conftest import REPO, kms_env


def test_benchmark_smoke_prints_every_part(pulumi_cli, state_server: StateServer) -> None:
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke"], cwd=REPO, capture_output=True, text=True,
                          timeout=900, env={**os.environ, **kms_env(state_server)})
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:] + proc.stderr[-4000:]
    assert "0 part(s) failed" in out
    # P1: both smoke types, every operation counted, a no-change preview sends nothing.
    for kind in ("esd:Role", "pai:Model"):
        row = next(line for line in out.splitlines() if line.strip().startswith(kind + " "))
        assert "?" not in row and "ERROR" not in row, row
        assert row.rstrip().endswith(" 0"), row
    # P2: one line per W (1 s and 2 s in smoke mode), each with a poll count.
    p2 = out.split("P2  readiness overshoot", 1)[1].split("\nP3", 1)[0]
    rows = [line.split() for line in p2.splitlines() if line.strip().startswith(("1s", "2s"))]
    assert [r[0] for r in rows] == ["1s", "2s"], p2
    assert all(int(r[6]) >= 1 for r in rows), p2
    # P3: the direct floor and four pulumi variants (two servers x two parallelisms).
    assert "direct concurrent HTTP:" in out
    assert sum(1 for line in out.splitlines() if " server, " in line and "ERROR" not in line) == 4
    # P4: four operations per size, the skip-checkpoints rerun, the marginal costs.
    assert "PULUMI_SKIP_CHECKPOINTS=true" in out and "marginal cost of one more resource" in out
    assert "resources as 2 stacks of 2, run at the same time" in out
    # S: both signal variants measured.
    assert "SIGINT ignored" in out
