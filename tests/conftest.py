from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulator_process import Emulator


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slowest first: the e2e tier (tens of seconds a test) ahead of the rest (stable order within
    each group), so parallel workers (pytest-xdist, scripts/test.sh) start the long tests early and
    fill the end of the run with short ones instead of waiting on one long straggler."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)


@pytest.fixture(scope="session", autouse=True)
def _own_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Provider code run in the test process may read a stack's state through the CLI
    (providers/core/state.py): it must meet an empty backend of the session's own, never the
    developer's login or the network. Tests that need a backend set their own."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PULUMI_BACKEND_URL", tmp_path_factory.mktemp("backend").as_uri())
    mp.setenv("PULUMI_SKIP_UPDATE_CHECK", "true")
    yield
    mp.undo()


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One emulator process for the whole test session, on a free loopback port.

    Under pytest-xdist the session is per worker: every worker has its own emulator (own port, own
    SQLite file), so tests that reset the emulator or change its settings stay isolated."""
    emu = Emulator(tmp_path_factory.mktemp("emulator") / "state.db").start()
    yield emu
    emu.stop()


@pytest.fixture(autouse=True)
def _clean_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").clear_faults()
