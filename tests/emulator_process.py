"""Start and talk to a real emulator process for tests (HTTP over loopback)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listener_inode(port: int) -> str | None:
    """The socket inode listening on 127.0.0.1:<port> (Linux /proc), or None when unknown."""
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    want = f"0100007F:{port:04X}"
    for line in lines:
        fields = line.split()
        if fields[1] == want and fields[3] == "0A":  # local address, state LISTEN
            return fields[9]
    return None


def owns_port(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds the listening socket of ``port`` (True when /proc cannot tell).

    Parallel test workers each start an emulator on a port that was free a moment earlier; this
    makes sure the health check answered from our process, not from another worker's.
    """
    inode = _listener_inode(port)
    if inode is None:
        return not Path("/proc/net/tcp").exists()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return True
    target = f"socket:[{inode}]"
    for fd in fds:
        try:
            if os.readlink(fd) == target:
                return True
        except OSError:
            continue
    return False


class Emulator:
    """A running ``aimodels-emulator`` process plus a small admin client."""

    def __init__(self, db_path: Path, port: int | None = None, extra_args: list[str] | None = None) -> None:
        self.db_path = db_path
        self.log_path = db_path.with_suffix(".log")
        self.extra_args = list(extra_args or [])
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.admin = httpx.Client(base_url=f"{self.url}/_admin", timeout=10)

    def start(self) -> Emulator:
        """Start the process; on a port another process took meanwhile, retry on a new one."""
        for _ in range(5):
            if self._start_once():
                return self
            self.stop()
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self.admin = httpx.Client(base_url=f"{self.url}/_admin", timeout=10)
        raise RuntimeError("emulator could not get a free port in 5 attempts")

    def _start_once(self) -> bool:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "emulator.server", "--port", str(self.port), "--db", str(self.db_path),
             *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[1],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if self._port_taken():
                    return False
                raise RuntimeError(f"emulator exited with {self.proc.returncode}; see {log.name}")
            try:
                if self.admin.get("/health").status_code == 200:
                    if owns_port(self.proc.pid, self.port):
                        return True
                    if self.proc.poll() is not None or self._port_taken():
                        return False
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("emulator did not become healthy within 30 s")

    def _port_taken(self) -> bool:
        """Someone else listens on our port (so our process cannot, or did not, bind it)."""
        return _listener_inode(self.port) is not None and not (
            self.proc is not None and self.proc.poll() is None and owns_port(self.proc.pid, self.port))

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    # -- admin helpers ------------------------------------------------------
    def objects(self, platform: str) -> dict[str, dict[str, Any]]:
        r = self.admin.get(f"/objects/{platform}")
        r.raise_for_status()
        return r.json()

    def reset(self, platform: str | None = None) -> None:
        self.admin.post(f"/reset/{platform}" if platform else "/reset").raise_for_status()

    def settings(self, platform: str, **values: Any) -> dict[str, Any]:
        r = self.admin.put(f"/settings/{platform}", json=values)
        r.raise_for_status()
        return r.json()

    def arm_fault(self, platform: str, **fault: Any) -> None:
        self.admin.post("/faults", json={"platform": platform, **fault}).raise_for_status()

    def clear_faults(self) -> None:
        self.admin.delete("/faults").raise_for_status()

    def patch(self, platform: str, kind: str, id: str, **changes: Any) -> dict[str, Any]:
        r = self.admin.patch(f"/objects/{platform}/{kind}/{id}", json=changes)
        r.raise_for_status()
        return r.json()

    def remove(self, platform: str, kind: str, id: str) -> None:
        self.admin.delete(f"/objects/{platform}/{kind}/{id}").raise_for_status()
