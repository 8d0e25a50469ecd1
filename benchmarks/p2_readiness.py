"""P2: readiness overshoot of a real wait (esd:Endpoint create) against the emulator.

For each W the emulator's endpoint delay (``endpoint_create_seconds``) is set to W and SAMPLES
endpoints are created concurrently through the provider itself (in this process, configured as
the provider process configures it). The endpoint becomes ready at the emulator's due time (its
record's ``endTime``); the overshoot is the moment create returned minus that time. Polls per
wait are the GETs of that endpoint (``?endpointDeploymentJobId=<id>``) in the access log.

Target: overshoot <= max(0.5 s, 10 % of W) at the median, <= 20 % of W at the worst.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pulumi.dynamic import Config, ConfigureRequest

from benchmarks.harness import ESD_API_KEY, Emulator, median
from emulator import defaults
from providers.core import DynamicProvider
from providers.esd.endpoint import EndpointHandler
from providers.esd.role import RoleHandler


@dataclass
class Sample:
    wait_s: float
    overshoot_s: float
    polls: int


def _provider(handler: type, emulator: Emulator) -> DynamicProvider:
    p = DynamicProvider(handler)
    p.configure(ConfigureRequest(Config(raw_config={"esd:apiUrl": f"{emulator.url}/esd/prod", "esd:apiKey": ESD_API_KEY,
                                                    "esd:username": defaults.ESD_USERNAME}, project_name="bench")))
    return p


def _create(p: DynamicProvider, props: dict[str, Any]) -> Any:
    checked = p.check({}, props)
    assert not checked.failures, checked.failures
    return p.create(checked.inputs)


def _epoch(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()


def run(emulator: Emulator, waits: list[float], samples: int) -> dict[float, list[Sample]]:
    emulator.reset()
    roles, endpoints = _provider(RoleHandler, emulator), _provider(EndpointHandler, emulator)
    count = len(waits) * samples
    finished: dict[str, float] = {}
    created: dict[str, Any] = {}
    errors: list[str] = []
    mark = emulator.mark()
    with contextlib.redirect_stderr(io.StringIO()):  # the provider's progress lines
        for i in range(count):
            _create(roles, {"name": f"p2-r{i}", "permissions": ["sagemaker_endpoint:all"]})

        def one(i: int) -> None:
            name = f"p2-e{i}"
            try:
                created[name] = _create(endpoints, {"name": name, "endpoint_type": "Async",
                                                    "instance_type": "ml.g5.2xlarge", "assign_to_roles": [f"p2-r{i}"],
                                                    "wait_timeout_s": int(max(waits) * 3 + 60)})
                finished[name] = time.time()
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(f"{name}: {exc}")

        threads: list[threading.Thread] = []
        wait_of: dict[str, float] = {}
        for w_index, w in enumerate(waits):
            emulator.settings("esd", endpoint_create_seconds=w)
            for s in range(samples):
                i = w_index * samples + s
                wait_of[f"esd-async-p2-e{i}"] = w
                t = threading.Thread(target=one, args=(i,), daemon=True)
                t.start()
                threads.append(t)
            # The delay is fixed when the emulator accepts the POST: wait for these before changing it.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(emulator.objects("esd").get("endpoint", {})) < (w_index + 1) * samples:
                time.sleep(0.05)
        for t in threads:
            t.join(timeout=max(waits) * 3 + 120)
        records = emulator.objects("esd").get("endpoint", {})
        requests = emulator.requests_since(mark)
        for name, result in created.items():
            endpoints.delete(result.id, result.outs)
        for i in range(count):
            roles.delete(f"p2-r{i}", {"name": f"p2-r{i}", "permissions": ["sagemaker_endpoint:all"]})
    if errors:
        raise RuntimeError("P2 endpoint creates failed: " + "; ".join(errors))
    out: dict[float, list[Sample]] = {w: [] for w in waits}
    for record in records.values():
        physical = record.get("endpoint_name")
        short = physical.removeprefix("esd-async-")
        if physical not in wait_of or short not in finished:
            continue
        deployment = record["EndpointDeploymentJobId"]
        polls = sum(1 for r in requests if r.method == "GET" and f"endpointDeploymentJobId={deployment}" in r.path)
        out[wait_of[physical]].append(Sample(wait_of[physical], finished[short] - _epoch(record["endTime"]), polls))
    return out


def report(results: dict[float, list[Sample]]) -> list[str]:
    lines = ["P2  readiness overshoot (esd:Endpoint create, endpoint delay W; target: median <= max(0.5 s, 10 % W),",
             "    worst <= 20 % W)",
             f"    {'W':>6}  {'samples':>7}  {'median':>8}  {'worst':>8}  {'median/W':>8}  {'worst/W':>7}  "
             f"{'polls/wait':>10}  target"]
    for w, samples in results.items():
        if not samples:
            lines.append(f"    {w:>5.0f}s  no samples")
            continue
        over = [s.overshoot_s for s in samples]
        med, worst = median(over), max(over)
        ok = med <= max(0.5, 0.1 * w) and worst <= max(0.5, 0.2 * w)
        polls = median([float(s.polls) for s in samples])
        lines.append(f"    {w:>5.0f}s  {len(samples):>7}  {med:>7.2f}s  {worst:>7.2f}s  {med / w:>7.0%}  {worst / w:>7.0%}  "
                     f"{polls:>10.0f}  {'met' if ok else 'MISSED'}")
    return lines
