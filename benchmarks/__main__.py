"""python -m benchmarks [--smoke] [--parts p1,p2,p3,p4,s] [sizes...]   (see benchmarks/__init__.py)"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import p1_requests, p2_readiness, p3_concurrency, p4_scale, signals
from benchmarks.harness import REPO, Emulator, pulumi_bin

PARTS = ["p1", "p2", "p3", "p4", "s"]
# Async timings for P1 (and the smoke run): short, so the request counts come quickly.
FAST = {"esd": {"endpoint_create_seconds": 1.0, "checkpoint_download_seconds": 0.3, "checkpoint_rename_seconds": 0.2,
                "inference_async_seconds": 0.3, "training_phase_seconds": 0.2},
        "fabric": {"create_delay_s": 0.3, "version_delay_s": 0.3},
        "zstack": {"job_delay_s": 0.2}, "workshop": {"listing_delay_s": 0.3}}


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes and short waits (for the test suite)")
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    ap.add_argument("--types", default="", help="P1 resource types (default: all; e.g. esd:Role,fabric:Model)")
    ap.add_argument("--waits", type=_floats, help="P2 endpoint delays W in seconds (default 5,20,60)")
    ap.add_argument("--samples", type=int, help="P2 endpoints per W (default 3)")
    ap.add_argument("--endpoints", type=int, help="P3 endpoint count (default 16)")
    ap.add_argument("--endpoint-wait", type=float, help="P3 endpoint delay W in seconds (default 10)")
    ap.add_argument("--parallel", type=_ints, help="P3 --parallel values besides the engine default (default 32)")
    ap.add_argument("--sizes", type=_ints, help="P4 resource counts (default 10,100,500)")
    ap.add_argument("--split", type=int, help="P4: also run the largest N as this many stacks at once (default 5; 0 = no)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (emulator log, stacks)")
    ns = ap.parse_args(argv)
    smoke = ns.smoke
    ns.waits = ns.waits or ([1.0, 2.0] if smoke else [5.0, 20.0, 60.0])
    ns.samples = ns.samples or (1 if smoke else 3)
    ns.endpoints = ns.endpoints or (2 if smoke else 16)
    ns.endpoint_wait = ns.endpoint_wait or (1.0 if smoke else 10.0)
    ns.parallel = ns.parallel if ns.parallel is not None else ([4] if smoke else [32])
    ns.sizes = ns.sizes or ([2, 4] if smoke else [10, 100, 500])
    ns.split = ns.split if ns.split is not None else (2 if smoke else 5)
    ns.parts = [p.strip() for p in ns.parts.split(",") if p.strip()]
    unknown = sorted(set(ns.parts) - set(PARTS))
    if unknown:
        ap.error(f"unknown parts {unknown}; known: {PARTS}")
    return ns


def engine_default_parallel() -> int:
    """What the engine uses without --parallel: $PULUMI_PARALLEL, else 4 x GOMAXPROCS (CPUs)."""
    env = os.environ.get("PULUMI_PARALLEL", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return 4 * int(os.environ.get("GOMAXPROCS", "") or len(os.sched_getaffinity(0)))


def main(argv: list[str]) -> int:
    ns = parse(argv)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="aimodels-bench-"))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    bin_dir = pulumi_bin()
    version = subprocess.run([str(bin_dir / "pulumi"), "version"], capture_output=True, text=True).stdout.strip()
    server = os.environ.get("AIMODELS_PROVIDER_SERVER", "(launcher default)")
    print(f"aimodels benchmarks{' (smoke: sizes too small to mean anything)' if ns.smoke else ''}: commit {commit}, "
          f"pulumi {version}, Python {platform.python_version()}, {len(os.sched_getaffinity(0))} CPUs, "
          f"AIMODELS_PROVIDER_WORKERS={os.environ.get('AIMODELS_PROVIDER_WORKERS', '(default)')}, "
          f"server outside P3: {server}", flush=True)
    emulator = Emulator(work).start()
    failures = 0

    def part(name: str, body: Callable[[], list[str]]) -> None:
        nonlocal failures
        if name not in ns.parts:
            return
        t0 = time.monotonic()
        try:
            lines = body()
        except Exception as exc:  # noqa: BLE001 - one part failing must not hide the others
            failures += 1
            lines = [f"{name.upper()}  FAILED: {type(exc).__name__}: {exc}"]
        print("\n" + "\n".join(lines) + f"\n    ({time.monotonic() - t0:.0f} s)", flush=True)

    try:
        part("p1", lambda: p1_requests.report(p1_requests.run(emulator, bin_dir, work, ns.smoke, FAST,
                                                                                 [t for t in ns.types.split(",") if t])))
        part("p2", lambda: p2_readiness.report(p2_readiness.run(emulator, ns.waits, ns.samples)))

        def p3() -> list[str]:
            floor, rows = p3_concurrency.run(emulator, bin_dir, work / "p3", ns.endpoints, ns.endpoint_wait,
                                             [None, *ns.parallel], smoke=ns.smoke)
            return p3_concurrency.report(ns.endpoints, ns.endpoint_wait, floor, rows, engine_default_parallel())

        part("p3", p3)
        def p4() -> list[str]:
            rows = p4_scale.run(emulator, bin_dir, work, ns.sizes)
            split = p4_scale.run_split(emulator, bin_dir, work / "p4-split", max(ns.sizes), ns.split) if ns.split else None
            return p4_scale.report(rows, split)

        part("p4", p4)
        part("s", lambda: signals.report(signals.run(emulator, bin_dir, work / "s", 1 if ns.smoke else 3,
                                                                smoke=ns.smoke)))
    finally:
        emulator.stop()
        if ns.keep:
            print(f"\nwork directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\ntotal {time.monotonic() - started:.0f} s; {failures} part(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
