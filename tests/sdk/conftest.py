"""The emulator with each platform also at the root of its own port, and the official-SDK tier.

Tests in ``test_official_sdks.py`` carry the ``sdk`` marker and run only when it is selected:

    .venv/bin/pip install -c requirements.lock -e '.[sdk]'   # once: the vendors' SDKs
    bash scripts/test.sh tests/sdk -m sdk

``test_ports.py`` needs no SDK and runs with the default suite.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.emulator_process import Emulator, free_port

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = "sdk" in (config.option.markexpr or "")
    for item in items:
        if Path(str(item.fspath)).name == "test_official_sdks.py":
            item.add_marker(pytest.mark.sdk)
            if not selected:
                item.add_marker(pytest.mark.skip(reason="official-SDK tier: run `bash scripts/test.sh tests/sdk -m sdk`"))


class PortsEmulator(Emulator):
    """An emulator process started with ``--<platform>-port`` for each platform in ``ports``."""

    def __init__(self, db_path: Path, platforms: tuple[str, ...] = ("pai", "fabric", "esd")) -> None:
        super().__init__(db_path)
        self.ports = {name: free_port() for name in platforms}

    def root_url(self, platform: str) -> str:
        return f"http://127.0.0.1:{self.ports[platform]}"

    def start(self) -> PortsEmulator:
        log = open(self.db_path.with_suffix(".log"), "ab")
        args = [sys.executable, "-m", "emulator.server", "--port", str(self.port), "--db", str(self.db_path)]
        for name, port in self.ports.items():
            args += [f"--{name}-port", str(port)]
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited with {self.proc.returncode}; see {log.name}")
            try:
                if self.admin.get("/health").status_code == 200 and all(map(_listening, self.ports.values())):
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("emulator did not become healthy within 30 s")


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def ports_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortsEmulator]:
    emu = PortsEmulator(tmp_path_factory.mktemp("ports-emulator") / "state.db").start()
    yield emu
    emu.stop()
