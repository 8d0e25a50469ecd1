"""Chaos runs: the stack program through up / preview --expect-no-changes / destroy under injected faults.

    python -m tests.chaos --cycles 40 --fault-rate 0.085 --seed 1
    python -m tests.chaos --interrupt --cycles 30 --seed 1     # the kill campaign: tests/chaos/interrupt.py

What it does
    Starts its own emulator (a free loopback port, SQLite under a temp dir) and a throwaway Pulumi
    file backend under the same temp dir, then creates a stack of the project's program (stacks/)
    through the Automation API, pointed at that emulator, with all five platforms: ESD (role, user,
    two checkpoints, dataset, endpoint, training, inference), a PAI model and one ModelVersion, a
    DataArts Fabric model and one version, a ZStack model center, service and model, a Workshop model
    sync (tests/chaos/common.py). Async transitions run fast (emulator settings). A calibration
    cycle without faults records how many objects of each kind one clean ``up`` makes. Then each cycle:

    1. arms a rate fault on every platform through the admin surface (per request, probability
       ``--fault-rate``: 500/502/503/429, 2 s latency, or the response dropped after the handler
       committed; seeded with ``--seed`` and the cycle number);
    2. ``up``, retried up to ``--up-retries`` (3) more times while it fails;
    3. with faults off: duplicates (objects beyond what the calibration ``up`` made, per kind) and
       state entries without an object (a resource id the emulator does not know);
       ``preview --expect-no-changes`` (a perpetual diff is a resource preview wants to change);
    4. faults on again: ``destroy``, retried like ``up``;
    5. faults off: orphans (objects left after destroy, minus the built-ins a reset seeds and the
       Workshop model, which has no delete API and stays by design; bytes left in the ESD blob
       directory are reported beside them), then an emulator reset so every
       cycle starts from the same place (a stack that still holds resources is destroyed without
       faults, or removed, first).

    It prints one line per cycle and the totals, and with ``--json FILE`` writes them as JSON.
    The seed fixes the sequence of fault draws, not which request gets which draw: the engine runs
    up to four provider calls at once, so two runs with one seed fault similar, not identical,
    requests (compare totals over many cycles, not single cycles).
    Bounded: ``--cycles`` and ``--max-minutes`` (no new cycle starts after it; a watchdog ends the
    run, its processes and the emulator ``--grace-minutes`` later). Exit status 0 when the run
    completed (whatever it measured; ``--strict`` makes findings exit 1), 2 when it could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.chaos.common import Rig, descendants, duplicates, orphans, quiet, run_cycles, say, short_error


@dataclass
class Cycle:
    cycle: int
    up_attempts: int = 0
    converged: bool = False
    perpetual_diffs: int = 0
    duplicates: int = 0
    orphans: int = 0
    state_without_object: int = 0
    destroy_attempts: int = 0
    destroyed: bool = False
    blob_files_left: int = 0
    faults_fired: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        fired = sum(self.faults_fired.values())
        return (f"cycle {self.cycle:>3}: up attempts {self.up_attempts}, converged {'yes' if self.converged else 'NO'}, "
                f"perpetual diffs {self.perpetual_diffs}, orphans {self.orphans}, duplicates {self.duplicates}, "
                f"state entries without an object {self.state_without_object}, destroy attempts "
                f"{self.destroy_attempts}{'' if self.destroyed else ' (FAILED)'}, blob files left "
                f"{self.blob_files_left}, faults fired {fired}, {self.seconds:.0f} s")


# -- the run ----------------------------------------------------------------------------------
class Chaos:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.rig = Rig(workdir)
        self.auto = self.rig.auto
        self.emulator = self.rig.emulator
        self.inventory = self.rig.inventory
        self.config_file, self.had_config_file = self.rig.config_file, self.rig.had_config_file
        self.expected: Counter[tuple[str, str]] = Counter()

    @property
    def stack(self) -> Any:
        return self.rig.stack

    # -- faults -----------------------------------------------------------------------------
    def arm(self, seed: int) -> None:
        self.emulator.clear_faults()
        if self.args.fault_rate > 0:
            self.emulator.arm_fault("*", rate=self.args.fault_rate, seed=seed, times=-1, latency_s=2.0)

    def disarm(self) -> dict[str, int]:
        fired: Counter[str] = Counter()
        for fault in self.emulator.admin.get("/faults").json():
            fired.update(fault.get("fired") or {})
        self.emulator.clear_faults()
        return dict(fired)

    def attempt(self, what: str, op: Any, cycle: Cycle, retries: int) -> tuple[int, bool]:
        for n in range(1, retries + 2):
            try:
                op()
                return n, True
            except self.auto.CommandError as exc:
                cycle.errors.append(f"{what} #{n}: {short_error(exc)}")
        return retries + 1, False

    # -- cycles ---------------------------------------------------------------------------------
    def calibrate(self) -> None:
        say("calibration: one clean up/destroy without faults")
        self.inventory.reset()
        try:
            self.stack.up(on_output=quiet)
        except self.auto.CommandError as exc:
            raise SystemExit(f"chaos: the clean calibration up failed, nothing to measure: {short_error(exc)}")
        self.expected = self.inventory.made()
        self.stack.destroy(on_output=quiet)
        say("calibration: one up makes " + ", ".join(f"{p}:{k} {n}" for (p, k), n in sorted(self.expected.items())))

    def cycle(self, number: int) -> Cycle:
        c = Cycle(number)
        started = time.monotonic()
        self.inventory.reset()
        seed = self.args.seed * 1000 + number
        fired: Counter[str] = Counter()

        self.arm(seed)
        c.up_attempts, c.converged = self.attempt("up", lambda: self.stack.up(on_output=quiet), c, self.args.up_retries)
        fired.update(self.disarm())
        dup = duplicates(self.inventory.made(), self.expected)
        c.duplicates, c.details["duplicates"] = sum(dup.values()), dup
        missing = self.rig.state_without_object()
        c.state_without_object, c.details["state_without_object"] = len(missing), missing
        if c.converged:
            c.perpetual_diffs = self.rig.preview_changes()

        self.arm(seed + 500)
        c.destroy_attempts, c.destroyed = self.attempt("destroy", lambda: self.stack.destroy(on_output=quiet), c,
                                                       self.args.up_retries)
        fired.update(self.disarm())
        left = orphans(self.inventory.objects(), [], stack_destroyed=True)
        c.orphans, c.details["orphans"] = sum(left.values()), left
        c.blob_files_left = self.inventory.blob_files()
        c.faults_fired = dict(fired)

        if self.rig.state_resources():  # leave nothing to the next cycle
            try:
                self.stack.destroy(on_output=quiet)
            except self.auto.CommandError as exc:
                c.errors.append(f"cleanup destroy: {short_error(exc)}")
                self.rig.drop_stack()
                self.rig.make_stack()
        c.seconds = time.monotonic() - started
        return c

    def run(self) -> dict[str, Any]:
        def final_destroy() -> None:
            self.emulator.clear_faults()
            self.stack.destroy(on_output=quiet)

        cycles, stopped = run_cycles(
            self.rig, self.args, self.calibrate, self.cycle,
            lambda c: [(key, c.details.get(key)) for key in ("duplicates", "state_without_object", "orphans")],
            final_destroy)
        return self.report(cycles, stopped)

    def report(self, cycles: list[Cycle], stopped: str | None) -> dict[str, Any]:
        fired = dict(sum((Counter(c.faults_fired) for c in cycles), Counter()))
        totals: dict[str, Any] = {
            "cycles": len(cycles),
            "up_attempts": sum(c.up_attempts for c in cycles),
            "converged": sum(c.converged for c in cycles),
            "perpetual_diffs": sum(c.perpetual_diffs for c in cycles),
            "orphans": sum(c.orphans for c in cycles),
            "duplicates": sum(c.duplicates for c in cycles),
            "state_without_object": sum(c.state_without_object for c in cycles),
            "destroy_failures": sum(not c.destroyed for c in cycles),
            "blob_files_left": sum(c.blob_files_left for c in cycles),
            "faults_fired": fired,
            "seconds": round(sum(c.seconds for c in cycles), 1),
        }
        say(f"total ({len(cycles)} cycles, fault rate {self.args.fault_rate}, seed {self.args.seed}): "
            f"up attempts {totals['up_attempts']}, converged {totals['converged']}/{len(cycles)}, perpetual diffs "
            f"{totals['perpetual_diffs']}, orphans {totals['orphans']}, duplicates {totals['duplicates']}, state "
            f"entries without an object {totals['state_without_object']}, destroy failures "
            f"{totals['destroy_failures']}, blob files left {totals['blob_files_left']}, faults fired "
            f"{sum(fired.values())} {fired}, {totals['seconds']:.0f} s")
        return {"args": {"cycles": self.args.cycles, "fault_rate": self.args.fault_rate, "seed": self.args.seed,
                         "up_retries": self.args.up_retries},
                "expected_objects": {f"{p}:{k}": n for (p, k), n in sorted(self.expected.items())},
                "stopped_early": stopped, "totals": totals, "cycles": [asdict(c) for c in cycles]}


def watchdog(limit_s: float, chaos: Any) -> None:
    """Past the hard limit: end what this run started (by pid), then the run itself."""
    time.sleep(limit_s)
    say(f"chaos: hard time limit ({limit_s / 60:.0f} min) reached; stopping the processes this run started")
    sweep = getattr(chaos, "sweep", None)
    if sweep is not None:  # the kill campaign's processes, also those whose parent is gone
        sweep("")
    for pid in reversed(descendants(os.getpid())):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    if chaos.config_file.exists() and not chaos.had_config_file:
        chaos.config_file.unlink()
    os._exit(2)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cycles", type=int, default=3, help="up/preview/destroy cycles (default 3)")
    p.add_argument("--fault-rate", type=float, default=0.1, help="probability that a request is faulted (0..1)")
    p.add_argument("--seed", type=int, default=1, help="seed of the fault draws")
    p.add_argument("--up-retries", type=int, default=3, help="retries of a failed up (and destroy) per cycle")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="no cycle starts after this (default: 2 + 3 per cycle)")
    p.add_argument("--grace-minutes", type=float, default=10.0,
                   help="after --max-minutes, the watchdog ends the run this much later")
    p.add_argument("--interrupt", action="store_true",
                   help="kill campaign instead: SIGINT/SIGKILL to pulumi up/destroy at random moments, then the "
                        "documented recovery (see tests/chaos/interrupt.py)")
    p.add_argument("--wait-seconds", type=float, default=10.0,
                   help="--interrupt: how long an ESD endpoint takes to come up (default 10)")
    p.add_argument("--hang-seconds", type=float, default=60.0,
                   help="--interrupt: a pulumi still running this long after SIGINT is killed (default 60)")
    p.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 if any cycle did not converge or left orphans, duplicates, diffs or dangling state")
    args = p.parse_args(argv)
    if not 0 <= args.fault_rate <= 1:
        p.error("--fault-rate must be between 0 and 1")
    if args.cycles < 1 or args.up_retries < 0:
        p.error("--cycles must be at least 1 and --up-retries at least 0")
    if args.max_minutes is None:
        args.max_minutes = 2 + 3 * args.cycles
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.interrupt:
        return interrupt_main(args)
    with tempfile.TemporaryDirectory(prefix="aimodels-chaos-") as tmp:
        chaos = Chaos(args, Path(tmp))
        threading.Thread(target=watchdog, args=((args.max_minutes + args.grace_minutes) * 60, chaos),
                         daemon=True).start()
        report = chaos.run()
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    t = report["totals"]
    findings = (t["cycles"] - t["converged"]) + t["perpetual_diffs"] + t["orphans"] + t["duplicates"] \
        + t["state_without_object"]
    return 1 if args.strict and findings else 0


def interrupt_main(args: argparse.Namespace) -> int:
    from tests.chaos.interrupt import Interrupt, findings, write_json

    with tempfile.TemporaryDirectory(prefix="aimodels-chaos-") as tmp:
        campaign = Interrupt(args, Path(tmp))
        threading.Thread(target=watchdog, args=((args.max_minutes + args.grace_minutes) * 60, campaign),
                         daemon=True).start()
        report = campaign.campaign()
    write_json(args.json, report)
    return 1 if args.strict and findings(report["totals"]) else 0


if __name__ == "__main__":
    sys.exit(main())
