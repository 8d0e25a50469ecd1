from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulator_process import Emulator


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slowest first: the e2e tier (tens of seconds a test) ahead of the rest (stable order within
    each group), so parallel workers (pytest-xdist, scripts/test.sh) start the long tests early and
    fill the end of the run with short ones instead of waiting on one long straggler.

    The provider tests (tests/providers) mostly wait: on the emulator's delays, deadlines and
    signals, with little CPU. They are spread among the e2e tests, so a worker that runs them
    waits while the others' engine runs use the cores, instead of leaving cores idle at the end."""
    e2e = [item for item in items if item.get_closest_marker("e2e") is not None]
    waiting = [item for item in items if item not in e2e and "providers" in item.path.parent.parts[-1:]]
    rest = [item for item in items if item not in e2e and item not in waiting]
    order: list[pytest.Item] = []
    for i, item in enumerate(e2e):  # after the i-th e2e test, its share of the provider tests
        order.append(item)
        order.extend(waiting[len(waiting) * i // len(e2e):len(waiting) * (i + 1) // len(e2e)])
    if not e2e:
        order.extend(waiting)
    items[:] = order + rest


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
