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
                raise RuntimeError(f"emulator exited with {self.proc.returncode}; see {log.name}")
            try:
                if self.admin.get("/health").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("emulator did not become healthy within 30 s")

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
