"""DataArts Fabric wire format (moto's ``responses.py`` + ``urls.py``).

Paths are relative to the platform prefix ``/fabric``. Every response carries ``X-Request-Id``.
Query parameters and bodies are parsed here, not by FastAPI, so a bad value gets the vendor's
envelope instead of FastAPI's 422.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from emulator.core import jsonbody
from emulator.core.store import Store
from emulator.fabric import openapi
from emulator.fabric.errors import BAD_REQUEST_BODY, FabricError, IamError
from emulator.fabric.iam import Received, authenticate, issue_token
from emulator.fabric.models import FabricBackend

# [seed page example] the service's 404 body
NO_ROUTE = ("common.01000001", "response status exception, code: 404")


def _vendor(handler: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
    """Render FabricError/IamError in the vendor's envelope and stamp X-Request-Id on every reply."""

    @functools.wraps(handler)
    async def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            response = await handler(*args, **kwargs)
        except (FabricError, IamError) as e:
            response = JSONResponse(e.body(), status_code=e.status)
        response.headers["X-Request-Id"] = uuid.uuid4().hex
        return response

    return wrapper


def _json_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return jsonbody.loads(raw)
    except ValueError:
        raise FabricError(400, BAD_REQUEST_BODY, "failed to read http request, please check your input, "
                          "code: 400, reason: Malformed JSON., cause: HttpMessageNotReadableException") from None


def _params(request: Request) -> dict[str, str]:
    # Last value wins for a repeated key (none of these parameters is a list).
    return dict(request.query_params)


def _received(request: Request, body: bytes) -> Received:
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
    return Received(method=request.method, raw_path=raw_path.decode("latin-1"),
                    raw_query=request.scope.get("query_string", b"").decode("latin-1"), headers=headers, body=body)


def build_router(store: Store) -> APIRouter:
    backend = FabricBackend(store)
    r = APIRouter(tags=["fabric"])

    async def caller(request: Request) -> tuple[dict[str, Any], bytes]:
        body = await request.body()
        return await run_in_threadpool(authenticate, store, _received(request, body)), body

    # -- IAM -------------------------------------------------------------------------------
    @r.post("/v3/auth/tokens", openapi_extra=openapi.operation("create_token", authenticated=False))
    @_vendor
    async def create_token(request: Request) -> Response:
        raw = await request.body()
        try:
            body = jsonbody.loads(raw) if raw.strip() else None
        except ValueError:
            raise IamError(400, "The request body is not valid JSON.") from None
        token, out = await run_in_threadpool(issue_token, store, body, str(request.base_url))
        return JSONResponse(out, status_code=201, headers={"X-Subject-Token": token})

    # -- models ----------------------------------------------------------------------------
    @r.post("/v1/workspaces/{workspace_id}/models", openapi_extra=openapi.operation("create_model"))
    @_vendor
    async def create_model(request: Request, workspace_id: str) -> Response:
        user, raw = await caller(request)
        out = await run_in_threadpool(backend.create_model, workspace_id, _json_body(raw), user)
        return JSONResponse(out)

    @r.get("/v1/workspaces/{workspace_id}/models", openapi_extra=openapi.operation("list_models"))
    @_vendor
    async def list_models(request: Request, workspace_id: str) -> Response:
        user, _ = await caller(request)
        return JSONResponse(await run_in_threadpool(backend.list_models, workspace_id, _params(request), user))

    @r.put("/v1/workspaces/{workspace_id}/models/{model_id}", openapi_extra=openapi.operation("update_model"))
    @_vendor
    async def update_model(request: Request, workspace_id: str, model_id: str) -> Response:
        user, raw = await caller(request)
        out = await run_in_threadpool(backend.update_model, workspace_id, model_id, _json_body(raw), user)
        return JSONResponse(out)

    @r.delete("/v1/workspaces/{workspace_id}/models/{model_id}",
              openapi_extra=openapi.operation("delete_model"))
    @_vendor
    async def delete_model(request: Request, workspace_id: str, model_id: str) -> Response:
        await caller(request)
        await run_in_threadpool(backend.delete_model, workspace_id, model_id)
        return Response(status_code=200)

    @r.get("/v1/workspaces/{workspace_id}/models/{model_id}/versions",
           openapi_extra=openapi.operation("list_versions"))
    @_vendor
    async def list_versions(request: Request, workspace_id: str, model_id: str) -> Response:
        await caller(request)
        return JSONResponse(await run_in_threadpool(backend.list_versions, workspace_id, model_id,
                                                    _params(request)))

    @r.delete("/v1/workspaces/{workspace_id}/models/{model_id}/versions/{version_id}",
              openapi_extra=openapi.operation("delete_version"))
    @_vendor
    async def delete_version(request: Request, workspace_id: str, model_id: str, version_id: str) -> Response:
        await caller(request)
        await run_in_threadpool(backend.delete_version, workspace_id, model_id, version_id)
        return Response(status_code=202)

    @r.get("/v1/base-models", openapi_extra=openapi.operation("list_base_models"))
    @_vendor
    async def list_base_models(request: Request) -> Response:
        await caller(request)
        return JSONResponse(await run_in_threadpool(backend.list_base_models, _params(request)))

    # -- everything else (including GET one model/version, which the vendor does not have) --
    @r.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                 include_in_schema=False)
    @_vendor
    async def no_route(request: Request, path: str) -> Response:
        raise FabricError(404, NO_ROUTE[0], NO_ROUTE[1], f"No API {request.method} /{path}.")

    return r
