"""P3: N ESD endpoints, each ready W seconds after its create, through `pulumi up` and directly.

* direct: N threads, each POST /endpoints then GET ?endpointDeploymentJobId= every 0.1 s until
  InService; the time from the first POST to the last InService is the floor for this machine.
* pulumi: one stack holds N roles (created first, not measured; a role may own one live
  endpoint); `up` adding the N endpoints is timed, then `up` removes them again. Once per
  provider server (``AIMODELS_PROVIDER_SERVER=stock`` and the project's own, the launcher's
  default) and per engine parallelism (the engine's default, and ``--parallel`` given).

Target: up <= 1.5 W.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.harness import ESD_API_KEY, Emulator, Project, PulumiError, project
from benchmarks.p2_readiness import _epoch
from emulator import defaults

SERVERS = {"stock": {"AIMODELS_PROVIDER_SERVER": "stock"}, "ours": {}}


@dataclass
class Row:
    label: str
    seconds: float | None
    error: str | None = None
    creates_in_flight: int | None = None


def direct(emulator: Emulator, n: int) -> float:
    api = httpx.Client(base_url=f"{emulator.url}/esd/prod",
                       headers={"x-api-key": ESD_API_KEY, "username": defaults.ESD_USERNAME},
                       timeout=60)
    for i in range(n):
        api.post("/roles", json={"role_name": f"p3d-r{i}", "permissions": ["sagemaker_endpoint:all"]}).raise_for_status()
    starts: list[float] = []
    ends: list[float] = []
    errors: list[str] = []

    def one(i: int) -> None:
        try:
            with httpx.Client(base_url=api.base_url, headers=api.headers, timeout=60) as c:
                starts.append(time.monotonic())
                r = c.post("/endpoints", json={"endpoint_name": f"p3d-e{i}", "endpoint_type": "Async",
                                               "instance_type": "ml.g5.2xlarge", "initial_instance_count": 1,
                                               "autoscaling_enabled": False, "assign_to_roles": [f"p3d-r{i}"],
                                               "creator": "api"})
                r.raise_for_status()
                job = r.json()["data"]["EndpointDeploymentJobId"]
                while True:
                    eps = c.get("/endpoints", params={"endpointDeploymentJobId": job}).json()["data"]["endpoints"]
                    if eps and eps[0]["endpoint_status"] == "InService":
                        ends.append(time.monotonic())
                        return
                    time.sleep(0.1)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(str(exc))

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for first in range(0, n, 10):  # the API takes at most 10 names per call
        batch = range(first, min(n, first + 10))
        api.request("DELETE", "/endpoints", json={"endpoint_name_list": [f"esd-async-p3d-e{i}" for i in batch]}
                    ).raise_for_status()
        api.request("DELETE", "/roles", json={"role_name_list": [f"p3d-r{i}" for i in batch]}).raise_for_status()
    if errors:
        raise RuntimeError("direct creates failed: " + "; ".join(errors[:3]))
    return max(ends) - min(starts)


def run(emulator: Emulator, bin_dir: Path, workdir: Path, n: int, wait_s: float,
        parallels: list[int | None], smoke: bool = False) -> tuple[float, list[Row]]:
    emulator.reset()
    emulator.settings("esd", endpoint_create_seconds=wait_s)
    floor = direct(emulator, n)
    rows: list[Row] = []
    env = {"BENCH_SCENARIO": "endpoints", "BENCH_N": str(n), "BENCH_PREFIX": "p3"}
    variants = [(server, parallel) for server in SERVERS for parallel in parallels]

    def measure(p: Project, server: str, parallel: int | None) -> list[str]:
        label = f"{server:<5} server, " + (f"--parallel {parallel}" if parallel else "engine default parallel")
        args = ["--parallel", str(parallel)] if parallel else []
        try:
            up = p.run("up", env={**SERVERS[server], "BENCH_STAGE": "target"}, args=args)
            rows.append(Row(label, up.wall_s, creates_in_flight=_peak_creates(emulator)))
        except PulumiError as exc:
            rows.append(Row(label, None, error=str(exc).splitlines()[0]))
        return args

    if smoke:
        # One fresh stack per variant, whose timed `up` creates the roles too, and nothing removed
        # (the emulator is reset after the part): a third of the engine runs. The endpoints of
        # earlier variants stay on the platform but never overlap in time with later ones.
        for k, (server, parallel) in enumerate(variants):
            with project(workdir / f"v{k}", emulator, bin_dir, env={**env, "BENCH_PREFIX": f"p3{k}"},
                         destroy=False) as p:
                measure(p, server, parallel)
        return floor, rows
    with project(workdir, emulator, bin_dir, env=env) as p:
        p.run("up", env={"BENCH_STAGE": "deps"})
        for server, parallel in variants:
            args = measure(p, server, parallel)
            p.run("up", env={**SERVERS[server], "BENCH_STAGE": "deps"}, args=args)
    return floor, rows


def _peak_creates(emulator: Emulator) -> int:
    """Most endpoints in Creating at the same moment on the platform (from startTime/endTime)."""
    events = []
    for record in emulator.objects("esd").get("endpoint", {}).values():
        if record.get("startTime") and record.get("endTime"):
            events += [(_epoch(record["startTime"]), 1), (_epoch(record["endTime"]), -1)]
    live = peak = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        live += step
        peak = max(peak, live)
    return peak


def report(n: int, wait_s: float, floor: float, rows: list[Row], default_parallel: int) -> list[str]:
    lines = [f"P3  {n} ESD endpoints, each ready W = {wait_s:g} s after its create (target: up <= 1.5 W)",
             f"    direct concurrent HTTP: {floor:.1f} s = {floor / wait_s:.2f} W",
             f"    (engine default parallelism here: {default_parallel} = 4 x GOMAXPROCS, or $PULUMI_PARALLEL)",
             f"    {'variant':<44}{'up':>8}{'up/W':>8}{'up/direct':>11}  creates at once  target"]
    for r in rows:
        if r.seconds is None:
            lines.append(f"    {r.label:<44}  ERROR {r.error}")
            continue
        lines.append(f"    {r.label:<44}{r.seconds:>7.1f}s{r.seconds / wait_s:>8.2f}{r.seconds / floor:>11.2f}"
                     f"  {r.creates_in_flight!s:>15}  {'met' if r.seconds <= 1.5 * wait_s else 'MISSED'}")
    return lines
