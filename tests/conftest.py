from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulator_process import Emulator


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One emulator process for the whole test session, on a free loopback port."""
    emu = Emulator(tmp_path_factory.mktemp("emulator") / "state.db").start()
    yield emu
    emu.stop()


@pytest.fixture(autouse=True)
def _clean_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").clear_faults()
