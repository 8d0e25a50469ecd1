"""The project's own language host (tools/pulumi-build/cmd/pulumi-language-python) and exec script.

The host is driven over its real gRPC surface; the program it starts is a stand-in exec script
(``PULUMI_LANGUAGE_PYTHON_EXEC``) that records which signals reach it, so the tests need neither
an engine nor the Pulumi SDK's resource monitor.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from pulumi.runtime.proto import language_pb2, language_pb2_grpc

REPO = Path(__file__).resolve().parents[1]

FAKE_EXEC = '''
import os, signal, sys, time
marks = os.environ["FAKE_MARKS"]
def note(text):
    with open(marks, "a") as f:
        f.write(text + "\\n")
note("inherited SIGINT " + ("ignored" if signal.getsignal(signal.SIGINT) is signal.SIG_IGN else "handled"))
def on_signal(sig, frame):
    note(f"signal {sig}")
    sys.exit(32)
signal.signal(signal.SIGINT, on_signal)
signal.signal(signal.SIGTERM, on_signal)
note(f"started {' '.join(sys.argv[1:3])}")
time.sleep(120)
note("slept to the end")
'''


@pytest.fixture(scope="module")
def host_binary() -> Path:
    proc = subprocess.run(["bash", str(REPO / "scripts" / "pulumi-cli.sh")], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    binary = Path(proc.stdout.strip().splitlines()[-1]) / "pulumi-language-python"
    assert binary.is_file()
    return binary


def _ignore_sigint() -> None:
    # What a shell does to a job it starts in the background: SIGINT ignored, inherited on exec.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_host(binary: Path, tmp_path: Path) -> tuple[subprocess.Popen, str, Path]:
    fake = tmp_path / "fake-exec.py"
    fake.write_text(FAKE_EXEC)
    marks = tmp_path / "marks.txt"
    env = {**os.environ, "PULUMI_LANGUAGE_PYTHON_EXEC": str(fake), "PULUMI_PYTHON_CMD": sys.executable,
           "FAKE_MARKS": str(marks)}
    proc = subprocess.Popen([str(binary)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            preexec_fn=_ignore_sigint, cwd=tmp_path)
    port = proc.stdout.readline().decode().strip()
    assert port.isdigit(), port
    return proc, f"127.0.0.1:{port}", marks


def wait_for_line(path: Path, prefix: str, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists():
            for line in path.read_text().splitlines():
                if line.startswith(prefix):
                    return line
        time.sleep(0.05)
    raise AssertionError(f"no line starting with {prefix!r} in {path} within {timeout_s}s")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_host_exits_on_signal_even_when_sigint_was_ignored(host_binary: Path, tmp_path: Path, sig: int) -> None:
    proc, _, _ = start_host(host_binary, tmp_path)
    try:
        proc.send_signal(sig)
        # Without handling, an inherited SIG_IGN keeps the host alive until the engine's SIGKILL.
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_signal_is_passed_to_the_running_program(host_binary: Path, tmp_path: Path) -> None:
    proc, address, marks = start_host(host_binary, tmp_path)
    replies: list[object] = []
    try:
        channel = grpc.insecure_channel(address)
        stub = language_pb2_grpc.LanguageRuntimeStub(channel)
        request = language_pb2.RunRequest(project="p", stack="s", pwd=str(tmp_path), program=str(tmp_path),
                                          monitor_address="127.0.0.1:1", parallel=8)

        def run() -> None:
            try:
                replies.append(stub.Run(request))
            except grpc.RpcError as exc:  # the host may exit before it answers
                replies.append(exc)

        caller = threading.Thread(target=run, daemon=True)
        caller.start()
        started = wait_for_line(marks, "started")
        assert started == "started --monitor 127.0.0.1:1"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        # The program saw the signal and stopped early; it had not inherited "ignore SIGINT".
        assert wait_for_line(marks, "signal") == f"signal {int(signal.SIGINT)}"
        assert wait_for_line(marks, "inherited") == "inherited SIGINT handled"
        assert "slept to the end" not in marks.read_text()
        caller.join(timeout=10)
        channel.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- the exec script's executor sizing -------------------------------------------------------------
def load_exec_script():
    path = REPO / "scripts" / "launchers" / "pulumi-language-python-exec"
    loader = importlib.machinery.SourceFileLoader("pulumi_language_python_exec", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_program_threads_follow_the_engines_parallelism() -> None:
    m = load_exec_script()
    assert m.program_threads(32, environ={}) == 32 + m.SPARE_THREADS
    assert m.program_threads(1, environ={}) == 1 + m.SPARE_THREADS
    # No --parallel from the engine: the engine's own default, 4 x CPUs.
    assert m.program_threads(0, environ={}, cpus=2) == 8 + m.SPARE_THREADS
    # "Unbounded" (--parallel 2147483647) is capped.
    assert m.program_threads(2**31 - 1, environ={}) == m.MAX_THREADS
    assert m.program_threads(8, environ={"AIMODELS_PROGRAM_THREADS": "100"}) == 100
    with pytest.raises(ValueError, match="AIMODELS_PROGRAM_THREADS"):
        m.program_threads(8, environ={"AIMODELS_PROGRAM_THREADS": "0"})
    # Larger than asyncio's own default on any machine that matters here.
    assert m.program_threads(64, environ={}) > min(32, (os.cpu_count() or 1) + 4)
