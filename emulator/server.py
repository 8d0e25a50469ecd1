"""One process, every emulated platform: ``aimodels-emulator --port 8787``.

Each platform is mounted under its own prefix (``/esd/prod/ping``, ``/pai/api/v1/models``...),
the admin surface under ``/_admin``. State lives in one SQLite file, so a restart keeps it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
from pathlib import Path

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="aimodels-emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="listen address (loopback by default)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("AIMODELS_EMULATOR_PORT", DEFAULT_PORT)))
    parser.add_argument("--db", default=os.environ.get("AIMODELS_EMULATOR_DB", ".emulator/state.db"),
                        help="SQLite file holding the emulator's state")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)

    import uvicorn

    logging.basicConfig(level=args.log_level.upper())
    app = create_app(args.db)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
