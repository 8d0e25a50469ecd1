"""`aimodels recover`: clears a stack lock only when its process is provably gone on this host.

Real lock files in Pulumi's DIY layout, real processes (a live `pulumi`-named one and a dead
pid); only the host name is chosen by the test."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aimodels.cli import main


def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    state = tmp_path / "state"
    monkeypatch.setenv("PULUMI_BACKEND_URL", state.as_uri())
    return root, state


def lock(state: Path, stack: str, pid: int, host: str | None = None) -> Path:
    directory = state / ".pulumi" / "locks" / "organization" / "p" / stack
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"lock-{pid}.json"
    path.write_text(json.dumps({"pid": pid, "username": "ci", "hostname": host or socket.gethostname(),
                                "timestamp": "2026-12-04T18:00:00Z"}))
    return path


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_clears_the_lock_of_a_dead_process_and_says_so(tmp_path, monkeypatch, capsys):
    root, state = project(tmp_path, monkeypatch)
    path = lock(state, "dev", dead_pid())
    other = lock(state, "prod", dead_pid())
    assert main(["recover", "--stack", "dev", "--project-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert "cleared the lock of ci@" in out and "that process is gone" in out and "pulumi up --stack dev" in out
    assert not path.exists() and other.exists()  # only the named stack


def test_refuses_while_the_locking_process_is_alive(tmp_path, monkeypatch, capsys):
    root, state = project(tmp_path, monkeypatch)
    fake = tmp_path / "pulumi"  # a live process whose program is called pulumi
    os.symlink("/bin/sleep", fake)
    proc = subprocess.Popen([str(fake), "30"])
    try:
        # Until the child has exec'd, /proc shows the forking Python's command line (a busy machine).
        deadline = time.monotonic() + 30
        while b"pulumi" not in Path(f"/proc/{proc.pid}/cmdline").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)
        path = lock(state, "dev", proc.pid)
        assert main(["recover", "--stack", "dev", "--project-dir", str(root)]) == 1
        err = capsys.readouterr().err
        assert "still running on this host" in err and "\n" not in err.strip()
        assert path.exists()
    finally:
        proc.kill()
        proc.wait()


def test_refuses_a_lock_from_another_host(tmp_path, monkeypatch, capsys):
    root, state = project(tmp_path, monkeypatch)
    path = lock(state, "dev", dead_pid(), host="ci-runner-7")
    assert main(["recover", "--stack", "dev", "--project-dir", str(root)]) == 1
    err = capsys.readouterr().err
    assert "another host" in err and "pulumi cancel --stack dev" in err
    assert path.exists()


def test_a_reused_pid_that_is_not_pulumi_counts_as_gone(tmp_path, monkeypatch, capsys):
    root, state = project(tmp_path, monkeypatch)
    proc = subprocess.Popen(["/bin/sleep", "30"])
    try:
        path = lock(state, "dev", proc.pid)
        assert main(["recover", "--stack", "dev", "--project-dir", str(root)]) == 0
        assert not path.exists()
    finally:
        proc.kill()
        proc.wait()


def test_object_store_backends_get_the_manual_command(tmp_path, monkeypatch, capsys):
    root, _ = project(tmp_path, monkeypatch)
    monkeypatch.setenv("PULUMI_BACKEND_URL", "s3://team-state")
    assert main(["recover", "--stack", "dev", "--project-dir", str(root)]) == 1
    assert "pulumi cancel --stack" in capsys.readouterr().err


def test_no_lock_is_nothing_to_do(tmp_path, monkeypatch, capsys):
    root, _ = project(tmp_path, monkeypatch)
    assert main(["recover", "--stack", "dev", "--project-dir", str(root)]) == 0
    assert "nothing to clear" in capsys.readouterr().out


def pulumi_cli(root: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["pulumi", *args], cwd=root, input=stdin, capture_output=True, text=True, timeout=120)


def test_clears_the_pending_creates_of_the_dead_run_with_the_engines_refresh(tmp_path, monkeypatch, capsys):
    """A real stack whose state records a create the killed run had started: recover clears the lock,
    then the pending create (through `pulumi refresh --clear-pending-creates`), naming it."""
    root, state = project(tmp_path, monkeypatch)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "recover-test-only")
    monkeypatch.setenv("PULUMI_SKIP_UPDATE_CHECK", "true")
    state.mkdir()
    init = pulumi_cli(root, "stack", "init", "dev")
    assert init.returncode == 0, init.stderr
    # What a killed `pulumi up` leaves in the DIY checkpoint (`pulumi stack import` drops pending
    # operations, so the fixture is written where the backend keeps it; tests/e2e/test_interrupt.py
    # makes a real one by killing the CLI).
    checkpoint = state / ".pulumi" / "stacks" / "p" / "dev.json"
    doc = json.loads(checkpoint.read_text())
    urn = "urn:pulumi:dev::p::test:index:Thing::ep0"
    doc["checkpoint"]["latest"]["pending_operations"] = [
        {"resource": {"urn": urn, "custom": False, "type": "test:index:Thing"}, "type": "creating"}]
    checkpoint.write_text(json.dumps(doc))
    before = json.loads(pulumi_cli(root, "stack", "export", "--stack", "dev").stdout)
    assert before["deployment"]["pending_operations"][0]["resource"]["urn"] == urn
    path = lock(state, "dev", dead_pid())
    assert main(["recover", "--stack", "dev", "--project-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert "cleared the lock of ci@" in out and "pending in state: ep0" in out
    assert "cleared them with `pulumi refresh --clear-pending-creates`" in out
    assert not path.exists()
    after = json.loads(pulumi_cli(root, "stack", "export", "--stack", "dev").stdout)
    assert not after["deployment"].get("pending_operations")
    # ... kept for the `pulumi up` that follows (an ESD role or user is recognised by it), which
    # reads it from the project it runs in
    record = json.loads((root / ".aimodels" / "pending-creates" / "dev.json").read_text())
    assert [op["resource"]["urn"] for op in record["pending_operations"]] == [urn]
    from providers.core import state as state_read

    monkeypatch.chdir(root)
    assert urn in state_read.read_record("dev")
    # nothing left: a second run says so, and keeps the record
    assert main(["recover", "--stack", "dev", "--project-dir", str(root)]) == 0
    assert "nothing to clear" in capsys.readouterr().out
    assert urn in state_read.read_record("dev")
