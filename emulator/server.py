"""One process, every emulated platform: ``aimodels-emulator --port 8787``.

Each platform is mounted under its own prefix (``/esd/prod/ping``, ``/pai/api/v1/models``...),
the admin surface under ``/_admin``. State lives in one SQLite file, so a restart keeps it.

Each platform can also be served at the root of a port of its own, for tools that cannot add a
path prefix (an official SDK signs the path it sends, so a prefix breaks its signature):

    aimodels-emulator --port 8787 --pai-port 8788 --fabric-port 8789 --esd-port 8790

There ``http://127.0.0.1:8788/api/v1/models`` is PAI's ``/pai/api/v1/models``: same store, same
faults and settings (armed on the main port's ``/_admin``). The signature is checked over the
path as received. A path that already starts with the platform prefix is served as is, so URLs
the emulator hands out (ESD's presigned ``/esd/_s3/...``, Fabric's token catalog) work on both.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from emulator.core.admin import build_admin_router
from emulator.core.faults import FaultBook, FaultMiddleware
from emulator.core.platform import Platform
from emulator.core.store import Store

# Each name is a package emulator.<name> exposing ``platform: Platform``.
PLATFORMS = ["esd", "pai", "fabric", "zstack", "workshop"]

DEFAULT_PORT = 8787


def load_platforms(names: list[str] | None = None) -> dict[str, Platform]:
    out: dict[str, Platform] = {}
    # AIMODELS_EMULATOR_PLATFORMS=pai,esd mounts a subset (e.g. while a sibling platform is unfinished).
    env = [n.strip() for n in os.environ.get("AIMODELS_EMULATOR_PLATFORMS", "").split(",") if n.strip()]
    for name in names or env or PLATFORMS:
        mod = importlib.import_module(f"emulator.{name}")
        out[name] = mod.platform
    return out


def create_app(db_path: str, platforms: dict[str, Platform] | None = None) -> FastAPI:
    platforms = platforms or load_platforms()
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    store = Store(db_path)
    book = FaultBook()
    app = FastAPI(title="aimodels emulator", description="Offline stand-ins for the AI-model platform APIs.")
    app.state.store = store
    app.state.faults = book
    app.include_router(build_admin_router(store, book, platforms))
    for name, p in platforms.items():
        if p.seed and not store.dump(name):
            p.seed(store)
        app.include_router(p.build_router(store), prefix=f"/{name}")
    app.add_middleware(FaultMiddleware, book=book, platforms=platforms)
    return app


def create_platform_app(main_app: FastAPI, name: str, platforms: dict[str, Platform] | None = None) -> Any:
    """The platform ``name`` at the root of its own port, sharing ``main_app``'s store and faults."""
    platforms = platforms or load_platforms()
    p = platforms[name]
    app = FastAPI(title=f"aimodels emulator: {name}", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.store = main_app.state.store
    app.state.faults = main_app.state.faults
    app.include_router(p.build_router(main_app.state.store), prefix=f"/{name}")
    app.add_middleware(FaultMiddleware, book=main_app.state.faults, platforms={name: p})
    return AtRoot(app, f"/{name}")


class AtRoot:
    """ASGI wrapper: route ``/x`` as ``/<platform>/x`` (``raw_path``, which signatures cover, is untouched)."""

    def __init__(self, app: Callable[..., Awaitable[None]], prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] in ("http", "websocket"):
            path = scope["path"]
            if path != self.prefix and not path.startswith(self.prefix + "/"):
                scope = {**scope, "path": self.prefix + path}
        await self.app(scope, receive, send)


def _serve_all(servers: list[Any]) -> None:
    """Run several uvicorn servers in one loop; a signal to the process stops them all."""
    import uvicorn

    first, rest = servers[0], servers[1:]

    class Quiet(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # the first server handles signals for everyone

    for s in rest:
        s.__class__ = Quiet
    original = first.handle_exit

    def handle_exit(sig: int, frame: Any) -> None:
        original(sig, frame)
        for s in rest:
            s.should_exit = True
            s.force_exit = first.force_exit

    first.handle_exit = handle_exit

    async def run() -> None:
        await asyncio.gather(*(s.serve() for s in servers))

    asyncio.run(run())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="aimodels-emulator", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="listen address (loopback by default)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("AIMODELS_EMULATOR_PORT", DEFAULT_PORT)))
    parser.add_argument("--db", default=os.environ.get("AIMODELS_EMULATOR_DB", ".emulator/state.db"),
                        help="SQLite file holding the emulator's state")
    parser.add_argument("--log-level", default="warning")
    for name in PLATFORMS:
        env = f"AIMODELS_EMULATOR_{name.upper()}_PORT"
        parser.add_argument(f"--{name}-port", type=int, default=int(os.environ[env]) if os.environ.get(env) else None,
                            help=f"also serve {name} at the root of this port (env {env})")
    args = parser.parse_args(argv)

    import uvicorn

    logging.basicConfig(level=args.log_level.upper())
    platforms = load_platforms()
    app = create_app(args.db, platforms)
    servers = [uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level))]
    for name in platforms:
        port = getattr(args, f"{name}_port", None)
        if port:
            servers.append(uvicorn.Server(uvicorn.Config(create_platform_app(app, name, platforms), host=args.host,
                                                         port=port, log_level=args.log_level)))
    if len(servers) == 1:
        servers[0].run()
    else:
        _serve_all(servers)


if __name__ == "__main__":
    main()
