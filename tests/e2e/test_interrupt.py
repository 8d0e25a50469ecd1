"""Interrupted runs under the real engine: Ctrl-C, a hard stop and a killed CLI.

* One SIGINT to `pulumi up` while endpoint creates wait: the CLI exits within seconds (the
  figure is printed; the bound asserted is generous), every endpoint the platform accepted is
  in state with its id, and the next `up` converges without a second endpoint.
* A second SIGINT (the engine's hard stop) and a SIGKILL of the CLI leave a stack that recovers
  the documented way (docs/interrupted-runs.md): `aimodels recover`, then `pulumi up`.
* When the CLI is killed, no provider server, language host or program of that run outlives it
  by more than 5 s (found in /proc by a variable only this run's processes carry).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

from emulator import defaults
from tests.e2e.conftest import PULUMI_HOME, REPO
from tests.emulator_process import Emulator

PROGRAM = Path(__file__).resolve().parent / "programs" / "interrupt" / "__main__.py"
LAUNCHERS = REPO / "scripts" / "launchers"
ESD_KEY = defaults.ESD_API_KEY
PAI_SECRET = defaults.PAI_ACCESS_KEY_SECRET
COUNT = 3
GENEROUS_S = 60.0  # far below the endpoints' create time (600 s): the run did not just finish


def quiet(_: str) -> None:
    pass


@pytest.fixture
def fresh(emulator: Emulator) -> Emulator:
    emulator.reset()
    emulator.clear_faults()
    emulator.settings("esd", endpoint_create_seconds=600)
    return emulator


def write_project(root: Path) -> Path:
    (root / "app").mkdir(parents=True)
    shutil.copy(PROGRAM, root / "app" / "__main__.py")
    (root / "Pulumi.yaml").write_text(textwrap.dedent(f"""\
        name: interrupt
        main: app/
        runtime:
          name: python
          options:
            toolchain: pip
            virtualenv: {sys.prefix}
        plugins:
          providers:
            - name: pulumi-python
              path: {LAUNCHERS}
        """))
    return root


def make(make_stack, fresh: Emulator, tmp_path: Path, name: str, **config: Any) -> auto.Stack:
    project = write_project(tmp_path / name)
    return make_stack(program_dir=project, stack_name=name,
                      config={"esd:apiUrl": f"{fresh.url}/esd/prod", "pai:endpoint": f"{fresh.url}/pai",
                              "pai:accessKeyId": defaults.PAI_ACCESS_KEY_ID, "count": COUNT, **config},
                      secrets={"esd:apiKey": ESD_KEY, "pai:accessKeySecret": PAI_SECRET})


def env_of(stack: auto.Stack, run_id: str = "") -> dict[str, str]:
    return {**os.environ, **stack.workspace.env_vars, "PULUMI_HOME": str(PULUMI_HOME),
            **({"AIMODELS_TEST_RUN": run_id} if run_id else {})}


def start(stack: auto.Stack, command: str = "up", run_id: str = "") -> subprocess.Popen[str]:
    """`pulumi up|destroy` as a CI job runs it: non-interactive, its own process (signalled alone)."""
    return subprocess.Popen(
        [stack.workspace.pulumi_command.command, command, "--yes", "--skip-preview", "--non-interactive",
         "--stack", stack.name],
        cwd=stack.workspace.work_dir, env=env_of(stack, run_id), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)


def pulumi(stack: auto.Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([stack.workspace.pulumi_command.command, *args, "--stack", stack.name],
                          cwd=stack.workspace.work_dir, env=env_of(stack), capture_output=True, text=True,
                          timeout=300)


def endpoints(emulator: Emulator) -> list[dict[str, Any]]:
    return list(emulator.objects("esd").get("endpoint", {}).values())


def pai_models(emulator: Emulator) -> list[dict[str, Any]]:
    return [m for m in emulator.objects("pai").get("model", {}).values()
            if str(m.get("ModelName", "")).startswith("int-model-")]


def wait_until(what: str, condition, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def exit_time(proc: subprocess.Popen[str], sent_at: float, bound_s: float = GENEROUS_S) -> tuple[float, str]:
    try:
        out, _ = proc.communicate(timeout=bound_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"pulumi did not exit within {bound_s:.0f}s of the signal:\n{out[-3000:]}") from None
    return time.monotonic() - sent_at, out


def dynamic_resources(stack: auto.Stack) -> dict[str, dict[str, Any]]:
    return {r["urn"].split("::")[-1]: r for r in stack.export_stack().deployment.get("resources", [])
            if "dynamic" in r["type"]}


def run_processes(run_id: str) -> list[str]:
    """Processes whose environment carries this run's id: the CLI's children inherit it."""
    found = []
    needle = f"AIMODELS_TEST_RUN={run_id}".encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if needle in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                found.append(f"{pid} {cmdline[:120]}")
        except OSError:
            continue  # gone, or not ours to read
    return found


def converge(stack: auto.Stack, fresh: Emulator) -> None:
    """The documented recovery's last step: a plain `up` with the platform now fast."""
    fresh.settings("esd", endpoint_create_seconds=0.3)
    up = stack.up(on_output=quiet)
    assert up.summary.result == "succeeded", up.stdout
    records = endpoints(fresh)
    names = sorted(r["endpoint_name"] for r in records)
    assert names == [f"esd-async-int{i}" for i in range(COUNT)], records  # no orphan, no duplicate
    assert {r["endpoint_status"] for r in records} == {"InService"}
    state = dynamic_resources(stack)
    assert sorted(r["id"] for r in state.values()) == sorted(r["EndpointDeploymentJobId"] for r in records)
    stack.preview(expect_no_changes=True, on_output=quiet)


def test_one_sigint_stops_waiting_creates_and_keeps_them(make_stack, fresh: Emulator, tmp_path: Path) -> None:
    stack = make(make_stack, fresh, tmp_path, "ctrlc")
    proc = start(stack)
    wait_until(f"{COUNT} endpoints creating", lambda: len(endpoints(fresh)) == COUNT)
    time.sleep(1.0)  # every create is inside its wait now
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    took, out = exit_time(proc, sent)
    print(f"\nSIGINT to exit of `pulumi up` with {COUNT} endpoint creates waiting: {took:.1f}s")
    assert proc.returncode != 0, out
    assert took <= GENEROUS_S, out

    records = {r["EndpointDeploymentJobId"]: r for r in endpoints(fresh)}
    state = dynamic_resources(stack)
    assert sorted(state) == [f"ep{i}" for i in range(COUNT)], out
    assert sorted(r["id"] for r in state.values()) == sorted(records), out  # every accepted endpoint, by its id
    converge(stack, fresh)


def kill_mid_wait(stack: auto.Stack, fresh: Emulator, command: str = "up",
                  also: Callable[[], bool] = lambda: True) -> tuple[str, float]:
    """SIGKILL the CLI while its endpoint creates wait (and ``also`` holds); return the run id and
    how long the run's other processes (provider server, language host, program) outlived it."""
    run_id = uuid.uuid4().hex
    proc = start(stack, command, run_id)
    wait_until(f"{COUNT} endpoints creating", lambda: len(endpoints(fresh)) == COUNT and also())
    time.sleep(1.0)
    children = run_processes(run_id)
    assert len(children) >= 3, children  # the CLI, the language host, the program, the provider server
    proc.kill()
    killed = time.monotonic()
    proc.communicate()
    while run_processes(run_id) and time.monotonic() - killed < 5.0:
        time.sleep(0.1)
    return run_id, time.monotonic() - killed


def test_no_process_outlives_a_killed_engine(make_stack, fresh: Emulator, tmp_path: Path) -> None:
    stack = make(make_stack, fresh, tmp_path, "orphans")
    run_id, took = kill_mid_wait(stack, fresh)
    left = run_processes(run_id)
    print(f"\nSIGKILL of `pulumi up` mid-wait: the run's other processes were gone {took:.1f}s later")
    assert left == [], left
    assert pulumi(stack, "cancel", "--yes").returncode == 0  # the dead CLI's lock


def recover(stack: auto.Stack) -> subprocess.CompletedProcess[str]:
    """The documented first step after a killed run: `aimodels recover --stack X`."""
    return subprocess.run([sys.executable, "-m", "aimodels.cli", "recover", "--stack", stack.name,
                           "--project-dir", stack.workspace.work_dir],
                          cwd=REPO, env=env_of(stack), capture_output=True, text=True, timeout=60)


def test_killed_up_recovers_with_recover_then_up(make_stack, fresh: Emulator, tmp_path: Path) -> None:
    """SIGKILL mid-wait; `aimodels recover` clears the dead run's lock; `pulumi up` continues with
    the endpoints the killed run sent (no second one, none left over), without any state edit."""
    fresh.settings("esd", endpoint_create_seconds=25)
    stack = make(make_stack, fresh, tmp_path, "killed", paiModels=2)
    # The PAI models are made but their replies are lost, and the CLI dies while the creates look
    # for them: the first look (one per model, before sending) passes, the look-ups after hang. The
    # sends take a second, so both first looks come before any look-up after a send.
    fresh.arm_fault("pai", method="GET", path="/api/v1/models", times=2)
    fresh.arm_fault("pai", method="POST", path="/api/v1/models", drop_response=True, latency_s=1.0, times=-1)
    fresh.arm_fault("pai", method="GET", path="/api/v1/models", latency_s=20.0, times=-1)
    before = {r["EndpointDeploymentJobId"] for r in endpoints(fresh)}
    run_id, _ = kill_mid_wait(stack, fresh, also=lambda: len(pai_models(fresh)) == 2)
    assert run_processes(run_id) == []
    sent = {r["EndpointDeploymentJobId"] for r in endpoints(fresh)} - before
    assert len(sent) == COUNT
    fresh.clear_faults()
    assert len(pai_models(fresh)) == 2
    models_sent = {m["ModelId"] for m in pai_models(fresh)}

    blocked = pulumi(stack, "up", "--yes", "--skip-preview", "--non-interactive")
    assert blocked.returncode != 0 and "locked" in blocked.stderr + blocked.stdout
    done = recover(stack)
    assert done.returncode == 0, done.stderr
    assert "cleared the lock" in done.stdout and "that process is gone" in done.stdout
    up = stack.up(on_output=quiet)
    assert up.summary.result == "succeeded", up.stdout
    records = endpoints(fresh)
    assert {r["EndpointDeploymentJobId"] for r in records} == sent  # the same endpoints, continued
    assert {r["endpoint_status"] for r in records} == {"InService"}
    assert {m["ModelId"] for m in pai_models(fresh)} == models_sent  # recognised by their label, not made twice
    assert sorted(r["id"] for r in dynamic_resources(stack).values()) == sorted(sent | models_sent)
    assert not stack.export_stack().deployment.get("pending_operations")  # the engine cleared them itself
    stack.preview(expect_no_changes=True, on_output=quiet)
    again = recover(stack)  # nothing to clear any more
    assert again.returncode == 0 and "nothing to clear" in again.stdout


def test_second_sigint_hard_stop_recovers_the_same_way(make_stack, fresh: Emulator, tmp_path: Path) -> None:
    fresh.settings("esd", endpoint_create_seconds=25)
    stack = make(make_stack, fresh, tmp_path, "hardstop")
    run_id = uuid.uuid4().hex
    proc = start(stack, "up", run_id)
    wait_until(f"{COUNT} endpoints creating", lambda: len(endpoints(fresh)) == COUNT)
    time.sleep(1.0)
    sent_at = time.monotonic()
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    took, out = exit_time(proc, sent_at)
    print(f"\ntwo SIGINTs to exit of `pulumi up`: {took:.1f}s")
    deadline = time.monotonic() + 5
    while run_processes(run_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run_processes(run_id) == []
    done = recover(stack)
    assert done.returncode == 0, done.stderr
    converge(stack, fresh)


def test_killed_destroy_recovers_with_recover_then_destroy(make_stack, fresh: Emulator, tmp_path: Path) -> None:
    """SIGKILL of `pulumi destroy` while its deletes are on the wire; `aimodels recover` then
    `pulumi destroy` leaves nothing on the platform and nothing in state."""
    fresh.settings("esd", endpoint_create_seconds=0.3)
    stack = make(make_stack, fresh, tmp_path, "killdestroy")
    assert stack.up(on_output=quiet).summary.result == "succeeded"
    assert len(endpoints(fresh)) == COUNT
    fresh.arm_fault("esd", method="DELETE", path="/prod/endpoints", latency_s=6.0, times=-1)
    run_id = uuid.uuid4().hex
    proc = start(stack, "destroy", run_id)
    time.sleep(4.0)  # the CLI has started, its deletes wait on the slow platform
    assert proc.poll() is None
    proc.kill()
    proc.communicate()
    deadline = time.monotonic() + 5
    while run_processes(run_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run_processes(run_id) == []
    fresh.clear_faults()
    time.sleep(6.5)  # the platform finishes what it had received
    done = recover(stack)
    assert done.returncode == 0, done.stderr
    destroy = stack.destroy(on_output=quiet)
    assert destroy.summary.result == "succeeded", destroy.stdout
    assert endpoints(fresh) == []
    assert dynamic_resources(stack) == {}
