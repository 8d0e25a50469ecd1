"""The PAI wire format: the 14 ROA routes of the spec's route table, under ``/api/v1``.

Each route checks the request signature first (emulator.pai.auth), then runs the backend
operation, and answers ``application/json;charset=utf-8`` with ``RequestId`` in the body and in
``x-acs-request-id``. Errors come back in the vendor envelope ``{RequestId, HostId, Code,
Message, Recommend}``. Paths nobody serves answer ``404 InvalidAction.NotFound`` in the same
envelope instead of FastAPI's default body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from emulator.core import jsonbody
from emulator.core.store import Store
from emulator.pai import auth, openapi
from emulator.pai.errors import PaiError, error_body, invalid, request_id
from emulator.pai.models import PLATFORM, PaiBackend

log = logging.getLogger("emulator.pai")

CONTENT_TYPE = "application/json;charset=utf-8"

Handler = Callable[["Call"], dict[str, Any]]


def _json(status: int, body: dict[str, Any], rid: str) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status_code=status, media_type=CONTENT_TYPE,
                    headers={"x-acs-request-id": rid})


class Call:
    """One authenticated request, handed to a route's handler."""

    def __init__(self, backend: PaiBackend, path: dict[str, str], query: dict[str, str], body: bytes) -> None:
        self.backend = backend
        self.path = path
        self.query = query
        self.raw_body = body

    def json(self) -> dict[str, Any]:
        if not self.raw_body.strip():
            return {}
        try:
            value = jsonbody.loads(self.raw_body)
        except ValueError:
            raise invalid("The request body is not valid JSON.") from None
        if not isinstance(value, dict):
            raise invalid("The request body must be a JSON object.")
        return value


def build_router(store: Store) -> APIRouter:
    backend = PaiBackend(store)
    setting = backend.setting
    router = APIRouter()

    def claim(nonce: str, ttl: float) -> bool:
        return store.claim_nonce(PLATFORM, nonce, ttl)

    def route(method: str, path: str, action: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            async def endpoint(request: Request) -> Response:
                rid = request_id()
                region = setting("region_id")
                try:
                    body = await request.body()
                    if setting("verify_signatures"):
                        headers: dict[str, str] = {}
                        for k, v in request.headers.items():
                            v = auth.header_text(v)  # UTF-8 on the wire, latin-1 text from the server
                            headers[k] = f"{headers[k]},{v}" if k in headers else v
                        received = auth.Received(
                            method=request.method,
                            raw_path=request.scope.get("raw_path", b"").decode("latin-1") or request.url.path,
                            raw_query=request.scope.get("query_string", b"").decode("latin-1"),
                            headers=headers, body=body)
                        auth.verify(received, action, auth.AuthSettings(
                            access_keys=setting("access_keys"),
                            max_clock_skew_s=float(setting("max_clock_skew_s")),
                            nonce_retention_s=float(setting("nonce_retention_s"))), claim)
                    query = dict(auth.parse_query(request.scope.get("query_string", b"").decode("latin-1")))
                    result = handler(Call(backend, dict(request.path_params), query, body))
                except PaiError as e:
                    if e.status >= 500:
                        log.error("%s %s -> %s %s", request.method, request.url.path, e.code, e.message)
                    return _json(e.status, error_body(e.status, e.code, e.message, rid, region), rid)
                return _json(200, {"RequestId": rid, **result}, rid)

            endpoint.__name__ = action
            router.add_api_route(path, endpoint, methods=[method], name=action, include_in_schema=True,
                                 openapi_extra=openapi.operation(path, action), response_class=Response)
            return handler

        return register

    # -- models --------------------------------------------------------------------------
    @route("POST", "/api/v1/models", "CreateModel")
    def create_model(c: Call) -> dict[str, Any]:
        return {"ModelId": c.backend.create_model(c.json())}

    @route("GET", "/api/v1/models", "ListModels")
    def list_models(c: Call) -> dict[str, Any]:
        models, total = c.backend.list_models(c.query)
        return {"Models": models, "TotalCount": total}

    @route("GET", "/api/v1/models/{ModelId}", "GetModel")
    def get_model(c: Call) -> dict[str, Any]:
        return c.backend.get_model(c.path["ModelId"])

    @route("PUT", "/api/v1/models/{ModelId}", "UpdateModel")
    def update_model(c: Call) -> dict[str, Any]:
        c.backend.update_model(c.path["ModelId"], c.json())
        return {}

    @route("DELETE", "/api/v1/models/{ModelId}", "DeleteModel")
    def delete_model(c: Call) -> dict[str, Any]:
        c.backend.delete_model(c.path["ModelId"])
        return {}

    @route("POST", "/api/v1/models/{ModelId}/labels", "CreateModelLabels")
    def create_model_labels(c: Call) -> dict[str, Any]:
        c.backend.add_model_labels(c.path["ModelId"], c.json())
        return {}

    @route("DELETE", "/api/v1/models/{ModelId}/labels", "DeleteModelLabels")
    def delete_model_labels(c: Call) -> dict[str, Any]:
        c.backend.delete_model_labels(c.path["ModelId"], c.query.get("LabelKeys"))
        return {}

    # -- versions ------------------------------------------------------------------------
    @route("POST", "/api/v1/models/{ModelId}/versions", "CreateModelVersion")
    def create_version(c: Call) -> dict[str, Any]:
        return {"VersionName": c.backend.create_version(c.path["ModelId"], c.json())}

    @route("GET", "/api/v1/models/{ModelId}/versions", "ListModelVersions")
    def list_versions(c: Call) -> dict[str, Any]:
        versions, total = c.backend.list_versions(c.path["ModelId"], c.query)
        return {"Versions": versions, "TotalCount": total}

    @route("GET", "/api/v1/models/{ModelId}/versions/{VersionName}", "GetModelVersion")
    def get_version(c: Call) -> dict[str, Any]:
        return c.backend.get_version(c.path["ModelId"], c.path["VersionName"])

    @route("PUT", "/api/v1/models/{ModelId}/versions/{VersionName}", "UpdateModelVersion")
    def update_version(c: Call) -> dict[str, Any]:
        c.backend.update_version(c.path["ModelId"], c.path["VersionName"], c.json())
        return {}

    @route("DELETE", "/api/v1/models/{ModelId}/versions/{VersionName}", "DeleteModelVersion")
    def delete_version(c: Call) -> dict[str, Any]:
        c.backend.delete_version(c.path["ModelId"], c.path["VersionName"])
        return {}

    @route("POST", "/api/v1/models/{ModelId}/versions/{VersionName}/labels", "CreateModelVersionLabels")
    def create_version_labels(c: Call) -> dict[str, Any]:
        c.backend.add_version_labels(c.path["ModelId"], c.path["VersionName"], c.json())
        return {}

    @route("DELETE", "/api/v1/models/{ModelId}/versions/{VersionName}/labels", "DeleteModelVersionLabels")
    def delete_version_labels(c: Call) -> dict[str, Any]:
        c.backend.delete_version_labels(c.path["ModelId"], c.path["VersionName"], c.query.get("LabelKeys"))
        return {}

    # -- anything else: the gateway's "no such API" ---------------------------------------
    async def unknown(request: Request) -> Response:
        rid = request_id()
        msg = f"Specified api is not found, please check your url and method. ({request.method} {request.url.path})"
        return _json(404, error_body(404, "InvalidAction.NotFound", msg, rid, setting("region_id")), rid)

    router.add_api_route("/{rest:path}", unknown, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"],
                         include_in_schema=False)
    return router

