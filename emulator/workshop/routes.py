"""The Workshop's wire format behind its API Gateway: ``POST /scc/allocate_token`` and
``POST /scc/spSdModelSync`` (prefix ``/workshop``).

Each call passes the gateway first (emulator.workshop.gateway: rejections are an empty body plus
``X-Ca-Error-*`` headers), then the service, which answers ``{"data": ..., "apiInvokeId": ...}``
or ``{"errCode", "errMessage", "apiInvokeId", "data": null}``. Every response carries
``X-Ca-Request-Id``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from emulator.core import jsonbody
from emulator.core.store import Store
from emulator.workshop import gateway, openapi
from emulator.workshop.errors import GatewayError, WorkshopError, error_body, invalid, invoke_id
from emulator.workshop.models import PLATFORM, WorkshopBackend

CONTENT_TYPE = "application/json;charset=UTF-8"
ROUTES = {"/scc/allocate_token": "AllocateToken", "/scc/spSdModelSync": "SyncModel"}


def _json(status: int, body: dict[str, Any], rid: str) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status_code=status, media_type=CONTENT_TYPE,
                    headers={"X-Ca-Request-Id": rid})


def _gateway_error(e: GatewayError, rid: str) -> Response:
    return Response(b"", status_code=e.status, headers={
        "X-Ca-Request-Id": rid, "X-Ca-Error-Code": e.code, "X-Ca-Error-Message": e.message})


def build_router(store: Store) -> APIRouter:
    backend = WorkshopBackend(store)
    setting = backend.setting
    router = APIRouter()

    def route(path: str) -> Callable[[Callable[[str, dict[str, Any], dict[str, str]], Any]], None]:
        def register(handler: Callable[[str, dict[str, Any], dict[str, str]], Any]) -> None:
            async def endpoint(request: Request) -> Response:
                rid = invoke_id().upper()
                body = await request.body()
                raw_path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
                raw_query = request.scope.get("query_string", b"").decode("latin-1")
                try:
                    app_key = gateway.verify(
                        gateway.Received(request.method, raw_path.partition("?")[0], raw_query,
                                         {k.lower(): v for k, v in request.headers.items()}, body),
                        setting("apps"), now_ms=int(time.time() * 1000),
                        max_skew_s=float(setting("max_clock_skew_s")),
                        nonce_ttl_s=float(setting("nonce_retention_s")),
                        claim_nonce=lambda n, ttl: store.claim_nonce(PLATFORM, n, ttl),
                    ) if setting("verify_signatures") else request.headers.get("x-ca-key", "")
                except GatewayError as e:
                    return _gateway_error(e, rid)
                try:
                    data = handler(app_key, _body(body), dict(request.query_params))
                except WorkshopError as e:
                    status = 200 if setting("errors_on_http_200") else e.status
                    return _json(status, error_body(e.status, e.code, e.message, rid), rid)
                return _json(200, {"data": data, "apiInvokeId": rid}, rid)

            endpoint.__name__ = ROUTES[path]
            router.add_api_route(path, endpoint, methods=["POST"], name=ROUTES[path],
                                 openapi_extra=openapi.operation(path))

        return register

    @route("/scc/allocate_token")
    def allocate_token(app_key: str, body: dict[str, Any], query: dict[str, str]) -> Any:
        return backend.allocate_token(app_key, body)

    @route("/scc/spSdModelSync")
    def sync_model(app_key: str, body: dict[str, Any], query: dict[str, str]) -> Any:
        token = body.get("apiToken") or query.get("apiToken")  # the page leaves open where it goes
        owner = backend.owner_of(app_key, token)
        return backend.sync(app_key, owner, body)

    async def unknown(request: Request) -> Response:
        rid = invoke_id().upper()
        path = "/" + request.path_params.get("rest", "")
        if path in ROUTES:
            return _gateway_error(GatewayError(405, "I405UM", f"Unsupported Method `{request.method}`"), rid)
        return _gateway_error(GatewayError(404, "I404NF", f"Invalid Url `{path}`: no API is published here"),
                              rid)

    router.add_api_route("/{rest:path}", unknown, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"],
                         include_in_schema=False)
    return router


def _body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        value = jsonbody.loads(raw)  # never RecursionError (a 500) on deep nesting
    except ValueError:
        raise invalid("The request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise invalid("The request body must be a JSON object")
    return value
