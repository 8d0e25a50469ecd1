"""Injected faults, armed through the admin surface.

A fault matches requests by platform, HTTP method and a regular expression on
the path below the platform prefix. It can delay the request, answer with an
error in the vendor's envelope instead of running the handler, or run the
handler (so the change is committed) and then drop the connection before a
response reaches the client. ``times`` bounds how often it fires.

Rate mode (``rate`` set, for chaos runs): each matching request is faulted with probability
``rate``; a faulted request gets one of ``kinds``, picked uniformly: an error status
(``"500"``, ``"502"``, ``"503"``, ``"429"``; 429 carries ``Retry-After: 1``), ``"latency"``
(``latency_s``, 2 s by default, then the request runs normally) or ``"drop"`` (the handler runs
and commits, the response is dropped). Draws come from a ``random.Random(seed)`` owned by the
fault, so a run's sequence of decisions is reproducible for a given request order. ``platform``
may be ``"*"`` (every platform) in this mode. ``fired`` counts what was injected, per kind.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr, field_validator

from emulator.core.platform import Platform


class Fault(BaseModel):
    platform: str
    method: str = "*"
    path: str = ".*"  # regex, full match against the path below the platform prefix
    status: int | None = None  # answer with this status instead of running the handler
    code: str = "InjectedFault"
    message: str = "injected fault"
    headers: dict[str, str] = Field(default_factory=dict)  # e.g. {"Retry-After": "1"}
    latency_s: float = 0.0
    drop_response: bool = False  # run the handler, then drop the connection
    times: int = 1  # how many requests it applies to; -1 = until cleared
    hits: int = 0
    # rate mode
    rate: float | None = Field(default=None, ge=0.0, le=1.0)
    seed: int | None = None
    kinds: list[str] = Field(default_factory=lambda: list(RATE_KINDS))
    fired: dict[str, int] = Field(default_factory=dict)
    _rng: random.Random | None = PrivateAttr(default=None)

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        unknown = sorted(set(kinds) - set(RATE_KINDS))
        if unknown or not kinds:
            raise ValueError(f"kinds must be a non-empty subset of {list(RATE_KINDS)}; unknown: {unknown}")
        return kinds

    def for_platform(self, platform: str) -> bool:
        return self.platform == platform or (self.platform == "*" and self.rate is not None)

    def draw(self) -> Fault | None:
        """Rate mode: None (let the request through) or the concrete fault to apply to it."""
        if self._rng is None:
            self._rng = random.Random(self.seed)
        if self._rng.random() >= (self.rate or 0.0):
            return None
        kind = self._rng.choice(self.kinds)
        self.fired[kind] = self.fired.get(kind, 0) + 1
        if kind == "latency":
            return Fault(platform=self.platform, latency_s=self.latency_s or RATE_LATENCY_S)
        if kind == "drop":
            return Fault(platform=self.platform, drop_response=True)
        status = int(kind)
        return Fault(platform=self.platform, status=status, code=self.code, message=self.message,
                     headers={"Retry-After": "1"} if status == 429 else {})

    def matches(self, method: str, path: str) -> bool:
        return (
            (self.method == "*" or self.method.upper() == method.upper())
            and re.fullmatch(self.path, path) is not None
        )


RATE_KINDS = ("500", "502", "503", "429", "latency", "drop")
RATE_LATENCY_S = 2.0


class FaultBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def arm(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self, platform: str | None = None) -> None:
        with self._lock:
            self._faults = [f for f in self._faults if platform and f.platform != platform]

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.model_dump() for f in self._faults]

    def take(self, platform: str, method: str, path: str) -> Fault | None:
        with self._lock:
            for f in self._faults:
                if f.for_platform(platform) and f.matches(method, path):
                    if f.rate is not None:
                        drawn = f.draw()
                        if drawn is None:
                            continue
                        f.hits += 1
                        if f.times != -1 and f.hits >= f.times:
                            self._faults.remove(f)
                        return drawn
                    f.hits += 1
                    if f.times != -1 and f.hits >= f.times:
                        self._faults.remove(f)
                    return f.model_copy()
        return None


ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


class DroppedResponse(Exception):
    """Raised after the response has started, so the server closes the connection mid-reply."""


class FaultMiddleware:
    def __init__(self, app: ASGIApp, book: FaultBook, platforms: dict[str, Platform]) -> None:
        self.app = app
        self.book = book
        self.platforms = platforms

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        name, _, rest = path.lstrip("/").partition("/")
        platform = self.platforms.get(name)
        fault = self.book.take(name, scope["method"], "/" + rest) if platform else None
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.latency_s:
            await asyncio.sleep(fault.latency_s)
        if fault.status is not None:
            body = json.dumps(platform.error_body(fault.status, fault.code, fault.message)).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            headers += [(k.lower().encode(), v.encode()) for k, v in fault.headers.items()]
            await send({"type": "http.response.start", "status": fault.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        if not fault.drop_response:
            await self.app(scope, receive, send)
            return

        # Run the handler to completion (the change is committed), swallow its reply,
        # then start a response that never completes: the client sees the connection drop.
        async def swallow(message: dict) -> None:
            return None

        await self.app(scope, receive, swallow)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"1024")]})
        raise DroppedResponse(f"dropped response to {scope['method']} {path} (injected)")
