"""S: how long an empty `pulumi preview` takes with SIGINT ignored (a script that runs `pulumi &`).

The engine stops its plugins with SIGINT and kills them 5 s later; a plugin that ignores SIGINT
(inherited from the shell) costs those 5 s on every operation.
"""

from __future__ import annotations

import signal
from pathlib import Path

from benchmarks.harness import Emulator, median, project


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run(emulator: Emulator, bin_dir: Path, workdir: Path, repeats: int, smoke: bool = False) -> dict[str, float]:
    out: dict[str, list[float]] = {"normal": [], "SIGINT ignored": []}
    with project(workdir, emulator, bin_dir, env={"BENCH_SCENARIO": "empty"}, destroy=False) as p:
        if not smoke:  # smoke: previews of the stack as `stack init` left it (no update yet)
            p.run("up")
        for _ in range(repeats):
            out["normal"].append(p.run("preview").wall_s)
            out["SIGINT ignored"].append(p.run("preview", preexec_fn=_ignore_sigint).wall_s)
    return {k: median(v) for k, v in out.items()}


def report(results: dict[str, float]) -> list[str]:
    return ["S   `pulumi preview` of an empty program (median): "
            + ", ".join(f"{k} {v:.2f} s" for k, v in results.items())]
