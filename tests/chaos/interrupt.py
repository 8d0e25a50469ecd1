"""Kill campaign: interrupt ``pulumi up`` / ``pulumi destroy`` at random moments, recover the documented way.

    python -m tests.chaos --interrupt --cycles 30 --seed 1

What it does
    Starts its own emulator and file backend (as the fault campaign does) and drives the project's
    program (stacks/) with all five platforms: ESD, a PAI model and ModelVersion, a Fabric model and
    version, a ZStack model center, service and model, a Workshop model sync. The CLI is run directly (not
    through the Automation API) so the tool holds the ``pulumi`` process and can signal it. Every
    invocation gets its own value of the environment variable AIMODELS_CHAOS_RUN, which the engine
    passes on to the language host, the program and the provider server: that is how the tool finds
    them in /proc, whoever their parent is by then.

    A calibration cycle (no interruption) times one clean ``up`` and one clean ``destroy`` and
    records how many objects of each kind one ``up`` makes. Then each cycle, with choices drawn from
    a generator seeded by ``--seed`` and the cycle number (the same seed gives the same plan):

    1. the operation: ``up`` (from an empty stack) or ``destroy`` (of a stack a clean ``up`` just
       built); the signal: SIGINT (Ctrl-C, a cancelled CI job) or SIGKILL (a dead runner); the four
       pairs come equally often, in an order shuffled in blocks of four; the moment: uniform over
       the first 80 % of the calibrated length of that operation (later ones often miss);
    2. ``pulumi <op> --yes --skip-preview --non-interactive``, sent the signal at that moment (to the
       ``pulumi`` process only, in a session of its own: unlike a terminal's Ctrl-C, which reaches
       the whole foreground process group, the engine has to pass the stop on). SIGINT-to-exit is the time until ``pulumi`` exits (after
       ``--hang-seconds`` without an exit it is killed and the time counts as that long);
    3. 5 s after ``pulumi`` is gone, every process of that invocation still alive is a leftover
       (counted, named in the cycle's details, then killed by pid so the next step starts clean);
    4. recovery, only the documented way: when the backend's lock file is still there,
       ``aimodels recover --stack <stack>`` if that command exists, else ``pulumi cancel --yes``;
       then the same operation again (``pulumi up`` for an up cycle, ``pulumi destroy`` for a
       destroy cycle), once. Stuck: that did not succeed, or (up) a preview afterwards still wants
       changes;
    5. counts, with the emulator's own inventory: orphans are objects the state does not account
       for (after an up: no resource's id names them; after a destroy: anything left, except the
       Workshop model, which has no delete API and stays by design); duplicates are objects beyond
       what the calibration ``up`` made, per kind;
    6. cleanup without interruption (a ``destroy`` after an up cycle), then an emulator reset.

    Async transitions use the fast timings of the fault campaign, except ESD endpoint creation,
    which takes ``--wait-seconds`` (10): long enough that a Ctrl-C landing in a wait that does not
    stop shows in the SIGINT-to-exit figure, short enough to keep a cycle near a minute.

    It prints one line per cycle and one totals line:

        total (30 cycles, seed 1): orphans 0, duplicates 0, stuck 0, leftover processes 0,
        largest SIGINT-to-exit 3.1 s (...)

    and with ``--json FILE`` writes the plan and every count. Exit status 0 when the run completed
    (``--strict``: 1 when any count is not 0 or an exit took longer than 10 s), 2 when it could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.chaos.common import (
    FAST,
    PULUMI_HOME,
    REPO,
    Rig,
    duplicates,
    orphans,
    processes_with_env,
    run_cycles,
    say,
    short_error,
    state_without_object,
)

MARKER = "AIMODELS_CHAOS_RUN"
EXIT_TARGET_S = 10.0
LEFTOVER_GRACE_S = 5.0
MOMENT_SPAN = 0.8


@dataclass
class Plan:
    operation: str       # "up" | "destroy"
    signal: str          # "SIGINT" | "SIGKILL"
    at_s: float          # seconds after the operation started


@dataclass
class KillCycle:
    cycle: int
    plan: Plan
    signalled: bool = False            # False: the operation ended before the moment came
    victim_exit_code: int | None = None
    sigint_exit_s: float | None = None
    leftovers: dict[str, int] = field(default_factory=dict)
    lock_left: bool = False
    lock_cleared_by: str | None = None
    recovered: bool = False
    preview_changes: int = 0
    stuck: bool = False
    orphans: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    state_without_object: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        p = self.plan
        moment = f"{p.signal} at {p.at_s:.1f} s" if self.signalled else f"{p.signal} planned at {p.at_s:.1f} s (ended first)"
        exit_s = f", exit after {self.sigint_exit_s:.1f} s" if self.sigint_exit_s is not None else ""
        lock = f", lock left (cleared by {self.lock_cleared_by})" if self.lock_left else ""
        return (f"cycle {self.cycle:>3}: {p.operation:<7} {moment}{exit_s}, leftover processes "
                f"{sum(self.leftovers.values())}{lock}, recovery {'converged' if not self.stuck else 'STUCK'}, "
                f"orphans {sum(self.orphans.values())}, duplicates {sum(self.duplicates.values())}, "
                f"{self.seconds:.0f} s")


class Interrupt:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.rig = Rig(workdir)
        self.config_file, self.had_config_file = self.rig.config_file, self.rig.had_config_file
        self.run_id = uuid.uuid4().hex[:12]
        self.timings = {**FAST, "esd": {**FAST["esd"], "endpoint_create_seconds": args.wait_seconds}}
        self.expected: Counter[tuple[str, str]] = Counter()
        self.durations: dict[str, float] = {}
        self.recover_command: list[str] | None = None
        self.plans = self.draw()
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    # -- the CLI ----------------------------------------------------------------------------------
    def env(self, tag: str) -> dict[str, str]:
        return {**os.environ, **self.rig.env, "PULUMI_HOME": str(PULUMI_HOME), MARKER: f"{self.run_id}-{tag}"}

    def pulumi_argv(self, *words: str) -> list[str]:
        assert self.rig.bin_dir is not None
        return [str(self.rig.bin_dir / "pulumi"), *words, "--stack", self.rig.stack_name, "--non-interactive"]

    def op_argv(self, operation: str) -> list[str]:
        return self.pulumi_argv(operation, "--yes", "--skip-preview")

    def run(self, argv: list[str], tag: str, timeout: float = 600) -> tuple[int, str]:
        """Run to completion; (exit code, the tail of its output)."""
        log = self.logs / f"{tag}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(argv, cwd=REPO, env=self.env(tag), stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                code = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
        self.sweep(tag)
        return code, log.read_text(errors="replace")[-4000:]

    def sweep(self, tag: str) -> dict[str, int]:
        """Kill (by pid) what is left of one invocation; what was found, by process name."""
        found = processes_with_env(MARKER, f"{self.run_id}-{tag}")
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return dict(Counter(found.values()))

    def lock_files(self) -> list[Path]:
        assert self.rig.state_dir is not None
        root = self.rig.state_dir / ".pulumi" / "locks"
        # the lock blobs themselves, not the ``.attrs`` sidecars the file backend writes beside them
        return [p for p in root.rglob("*.json") if p.is_file()] if root.exists() else []

    def find_recover_command(self) -> list[str] | None:
        """``aimodels recover`` once the project has it (issue 20); None until then."""
        argv = [str(REPO / ".venv" / "bin" / "python"), "-m", "aimodels.cli", "recover", "--help"]
        try:
            proc = subprocess.run(argv, cwd=REPO, env=self.env("probe"), capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return argv[:-1] if proc.returncode == 0 and "--stack" in proc.stdout else None

    # -- calibration and cycles ---------------------------------------------------------------------
    def timed(self, operation: str, tag: str) -> float:
        started = time.monotonic()
        code, out = self.run(self.op_argv(operation), tag)
        if code != 0:
            raise SystemExit(f"chaos: the clean calibration {operation} failed, nothing to measure: "
                             f"{short_error(out)}")
        return time.monotonic() - started

    def calibrate(self) -> None:
        say("calibration: one clean up/destroy without interruption")
        self.rig.inventory.reset(self.timings)
        self.durations["up"] = self.timed("up", "calibrate-up")
        self.expected = self.rig.inventory.made()
        self.durations["destroy"] = self.timed("destroy", "calibrate-destroy")
        say(f"calibration: up {self.durations['up']:.1f} s, destroy {self.durations['destroy']:.1f} s; one up makes "
            + ", ".join(f"{p}:{k} {n}" for (p, k), n in sorted(self.expected.items())))
        self.recover_command = self.find_recover_command()
        say("recovery when the lock is left: " + ("aimodels recover --stack <stack>" if self.recover_command
                                                   else "pulumi cancel --yes (aimodels recover does not exist yet)"))

    def draw(self) -> list[tuple[str, str, float]]:
        """The campaign's plan, from the seed alone: (operation, signal, moment as a fraction of the
        operation's calibrated length) per cycle. The four operation/signal pairs come equally
        often (shuffled in blocks of four), so a short run is not all one kind."""
        rng = random.Random(f"aimodels-chaos-interrupt:{self.args.seed}")
        pairs: list[tuple[str, str]] = []
        while len(pairs) < self.args.cycles:
            block = [(op, sig) for op in ("up", "destroy") for sig in ("SIGINT", "SIGKILL")]
            rng.shuffle(block)
            pairs.extend(block)
        return [(op, sig, rng.random()) for op, sig in pairs[:self.args.cycles]]

    def plan(self, number: int) -> Plan:
        operation, sig, fraction = self.plans[number - 1]
        # over the first 80 % of the calibrated length: a later moment often finds the operation
        # already done (lengths vary by a few seconds with the machine's load)
        length = max(1.0, MOMENT_SPAN * self.durations[operation])
        return Plan(operation, sig, round(0.5 + fraction * (length - 0.5), 2))

    def cycle(self, number: int) -> KillCycle:
        started = time.monotonic()
        plan = self.plan(number)
        c = KillCycle(number, plan)
        inv = self.rig.inventory
        inv.reset(self.timings)
        tag = f"c{number}"
        if plan.operation == "destroy":
            code, out = self.run(self.op_argv("up"), f"{tag}-setup")
            if code != 0:
                c.errors.append(f"setup up: {short_error(out)}")

        # -- the interrupted operation -------------------------------------------------------------
        victim_tag = f"{tag}-victim"
        log = self.logs / f"{victim_tag}.log"
        with open(log, "wb") as out_file:
            proc = subprocess.Popen(self.op_argv(plan.operation), cwd=REPO, env=self.env(victim_tag),
                                    stdout=out_file, stderr=subprocess.STDOUT, start_new_session=True)
            t_start = time.monotonic()
            try:
                proc.wait(plan.at_s)
            except subprocess.TimeoutExpired:
                pass
            if proc.poll() is None:
                sent = time.monotonic()
                os.kill(proc.pid, signal.SIGINT if plan.signal == "SIGINT" else signal.SIGKILL)
                c.signalled = True
                try:
                    proc.wait(self.args.hang_seconds)
                except subprocess.TimeoutExpired:
                    c.errors.append(f"pulumi did not exit within {self.args.hang_seconds:.0f} s of {plan.signal}; killed")
                    proc.kill()
                    proc.wait()
                gone = time.monotonic()
                if plan.signal == "SIGINT":
                    c.sigint_exit_s = round(min(gone - sent, self.args.hang_seconds), 2)
            else:
                gone = time.monotonic()
                c.errors.append(f"{plan.operation} ended after {gone - t_start:.1f} s, before the signal")
            c.victim_exit_code = proc.returncode
        # the engine is gone: whatever of this invocation is alive 5 s later is left over
        time.sleep(max(0.0, gone + LEFTOVER_GRACE_S - time.monotonic()))
        c.leftovers = self.sweep(victim_tag)

        # -- recovery, the documented way ----------------------------------------------------------
        locks = self.lock_files()
        c.lock_left = bool(locks)
        if locks:
            if self.recover_command:
                argv, c.lock_cleared_by = [*self.recover_command, "--stack", self.rig.stack_name], "aimodels recover"
            else:
                argv, c.lock_cleared_by = self.pulumi_argv("cancel", "--yes"), "pulumi cancel"
            code, out = self.run(argv, f"{tag}-unlock", timeout=120)
            if code != 0:
                c.errors.append(f"{c.lock_cleared_by}: {short_error(out)}")
        code, out = self.run(self.op_argv(plan.operation), f"{tag}-recover")
        c.recovered = code == 0
        if not c.recovered:
            c.errors.append(f"recovery {plan.operation}: {short_error(out)}")

        # -- counts -----------------------------------------------------------------------------------
        try:
            resources = self.rig.state_resources()
        except self.rig.auto.CommandError as exc:
            # The stack's state cannot be read: report it (with a copy of the backend to look at),
            # count the cycle as stuck, and start the next one on a new stack.
            kept = Path(tempfile.gettempdir()) / f"aimodels-chaos-evidence-{self.run_id}-c{number}"
            shutil.copytree(self.rig.state_dir, kept, dirs_exist_ok=True)
            c.errors.append(f"state unreadable after recovery: {short_error(str(exc))} (backend copied to {kept})")
            c.stuck = True
            c.orphans = orphans(inv.objects(), [], stack_destroyed=False)
            self.rig.drop_stack()
            self.rig.make_stack()
            c.seconds = time.monotonic() - started
            return c
        objects = inv.objects()
        destroyed = plan.operation == "destroy"
        c.orphans = orphans(objects, resources, stack_destroyed=destroyed and c.recovered)
        c.duplicates = duplicates(Counter((p, k) for p, k, _, _ in objects), self.expected)
        c.state_without_object = state_without_object(inv.dump(), resources)
        if c.recovered and not destroyed:
            c.preview_changes = self.rig.preview_changes()
        c.stuck = not c.recovered or c.preview_changes > 0 or (destroyed and bool(resources))

        # -- cleanup: an empty stack and a fresh emulator for the next cycle --------------------------
        if self.rig.state_resources():
            if self.lock_files():
                self.run(self.pulumi_argv("cancel", "--yes"), f"{tag}-cleanup-unlock", timeout=120)
            code, out = self.run(self.op_argv("destroy"), f"{tag}-cleanup")
            if code != 0:
                c.errors.append(f"cleanup destroy: {short_error(out)}; the stack is replaced")
                self.rig.drop_stack()
                self.rig.make_stack()
        c.seconds = time.monotonic() - started
        return c

    def campaign(self) -> dict[str, Any]:
        def final_destroy() -> None:
            if self.lock_files():
                self.run(self.pulumi_argv("cancel", "--yes"), "final-unlock", timeout=120)
            self.run(self.op_argv("destroy"), "final-destroy")

        cycles, stopped = run_cycles(
            self.rig, self.args, self.calibrate, self.cycle,
            lambda c: [(key, getattr(c, key)) for key in ("leftovers", "orphans", "duplicates", "state_without_object")],
            final_destroy, last=lambda: self.sweep(""))
        return self.report(cycles, stopped)

    def report(self, cycles: list[KillCycle], stopped: str | None) -> dict[str, Any]:
        exits = [c.sigint_exit_s for c in cycles if c.sigint_exit_s is not None]
        totals: dict[str, Any] = {
            "cycles": len(cycles),
            "orphans": sum(sum(c.orphans.values()) for c in cycles),
            "duplicates": sum(sum(c.duplicates.values()) for c in cycles),
            "stuck": sum(c.stuck for c in cycles),
            "leftover_processes": sum(sum(c.leftovers.values()) for c in cycles),
            "largest_sigint_exit_s": max(exits) if exits else None,
            "sigint": sum(c.plan.signal == "SIGINT" and c.signalled for c in cycles),
            "sigkill": sum(c.plan.signal == "SIGKILL" and c.signalled for c in cycles),
            "ended_before_signal": sum(not c.signalled for c in cycles),
            "up_cycles": sum(c.plan.operation == "up" for c in cycles),
            "destroy_cycles": sum(c.plan.operation == "destroy" for c in cycles),
            "locks_left": sum(c.lock_left for c in cycles),
            "state_without_object": sum(len(c.state_without_object) for c in cycles),
            "seconds": round(sum(c.seconds for c in cycles), 1),
        }
        largest = "n/a (no SIGINT landed)" if totals["largest_sigint_exit_s"] is None \
            else f"{totals['largest_sigint_exit_s']:.1f} s"
        cleared = Counter(c.lock_cleared_by for c in cycles if c.lock_cleared_by)
        say(f"total ({len(cycles)} cycles, seed {self.args.seed}): orphans {totals['orphans']}, duplicates "
            f"{totals['duplicates']}, stuck {totals['stuck']}, leftover processes {totals['leftover_processes']}, "
            f"largest SIGINT-to-exit {largest} ({totals['up_cycles']} up / {totals['destroy_cycles']} destroy; "
            f"{totals['sigint']} SIGINT, {totals['sigkill']} SIGKILL, {totals['ended_before_signal']} ended first; "
            f"locks left {totals['locks_left']}" + (f" {dict(cleared)}" if cleared else "")
            + f"; {totals['seconds']:.0f} s)")
        return {"args": {"cycles": self.args.cycles, "seed": self.args.seed, "wait_seconds": self.args.wait_seconds},
                "calibration_seconds": {k: round(v, 1) for k, v in self.durations.items()},
                "expected_objects": {f"{p}:{k}": n for (p, k), n in sorted(self.expected.items())},
                "stopped_early": stopped, "totals": totals, "cycles": [asdict(c) for c in cycles]}


def findings(totals: dict[str, Any]) -> int:
    slow = (totals["largest_sigint_exit_s"] or 0) > EXIT_TARGET_S
    return totals["orphans"] + totals["duplicates"] + totals["stuck"] + totals["leftover_processes"] + int(slow)


def write_json(path: Path | None, report: dict[str, Any]) -> None:
    if path:
        path.write_text(json.dumps(report, indent=2))
