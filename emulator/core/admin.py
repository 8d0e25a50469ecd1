"""The admin surface tests use: list everything, reset, tweak objects, arm faults, change settings.

Routes live under ``/_admin`` and need no credentials; the emulator only listens on loopback.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, HTTPException

from emulator.core.faults import Fault, FaultBook
from emulator.core.platform import Platform
from emulator.core.store import Store


def build_admin_router(store: Store, book: FaultBook, platforms: dict[str, Platform]) -> APIRouter:
    r = APIRouter(prefix="/_admin", tags=["admin"])

    def _platform(name: str) -> Platform:
        if name not in platforms:
            raise HTTPException(404, f"unknown platform {name!r}; known: {sorted(platforms)}")
        return platforms[name]

    @r.get("/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "platforms": sorted(platforms)}

    def _refresh(names: list[str]) -> None:
        for name in names:
            refresh = getattr(platforms.get(name), "refresh", None)
            if refresh:
                refresh(store)

    @r.get("/objects")
    def all_objects() -> dict[str, Any]:
        _refresh(list(platforms))
        return store.dump()

    @r.get("/objects/{platform}")
    def platform_objects(platform: str) -> dict[str, Any]:
        _platform(platform)
        _refresh([platform])
        return store.dump(platform).get(platform, {})

    @r.get("/objects/{platform}/{kind}/{id:path}")
    def get_object(platform: str, kind: str, id: str) -> dict[str, Any]:
        _refresh([platform])
        doc = store.get(platform, kind, id)
        if doc is None:
            raise HTTPException(404, "no such object")
        return doc

    @r.patch("/objects/{platform}/{kind}/{id:path}")
    def patch_object(platform: str, kind: str, id: str, patch: dict[str, Any] = Body(...)) -> dict[str, Any]:
        """Shallow-merge ``patch`` into a stored object: a change made behind the client's back."""
        _refresh([platform])
        with store.transaction():
            doc = store.get(platform, kind, id)
            if doc is None:
                raise HTTPException(404, "no such object")
            doc.update(patch)
            store.put(platform, kind, id, doc)
        return doc

    @r.delete("/objects/{platform}/{kind}/{id:path}")
    def delete_object(platform: str, kind: str, id: str) -> dict[str, Any]:
        if not store.delete(platform, kind, id):
            raise HTTPException(404, "no such object")
        return {"deleted": True}

    @r.post("/reset")
    def reset_all() -> dict[str, Any]:
        store.reset()
        book.clear()
        for p in platforms.values():
            _seed(p)
        return {"reset": sorted(platforms)}

    @r.post("/reset/{platform}")
    def reset_platform(platform: str) -> dict[str, Any]:
        p = _platform(platform)
        store.reset(platform)
        book.clear(platform)
        _seed(p)
        return {"reset": [platform]}

    @r.get("/settings/{platform}")
    def get_settings(platform: str) -> dict[str, Any]:
        p = _platform(platform)
        return {**p.default_settings, **store.settings(platform)}

    @r.put("/settings/{platform}")
    def put_settings(platform: str, values: dict[str, Any] = Body(...)) -> dict[str, Any]:
        p = _platform(platform)
        unknown = sorted(set(values) - set(p.default_settings))
        if unknown:
            raise HTTPException(400, f"unknown settings {unknown}; known: {sorted(p.default_settings)}")
        for k, v in values.items():
            store.set_setting(platform, k, v)
        return {**p.default_settings, **store.settings(platform)}

    @r.get("/faults")
    def list_faults() -> list[dict[str, Any]]:
        return book.list()

    @r.post("/faults")
    def arm_fault(fault: Fault) -> dict[str, Any]:
        if fault.platform != "*" or fault.rate is None:  # "*" (every platform) only in rate mode
            _platform(fault.platform)
        book.arm(fault)
        return {"armed": fault.model_dump()}

    @r.delete("/faults")
    def clear_faults() -> dict[str, Any]:
        book.clear()
        return {"cleared": True}

    def _seed(p: Platform) -> None:
        seed = getattr(p, "seed", None)
        if seed:
            seed(store)

    return r
