"""ZStack REST wire format (RestServer): wrappers, 202 + ``location`` jobs, plain-text framework errors.

Paths are relative to the platform prefix ``/zstack``, which is also ZStack's own context path, so a
client's base URL is ``http://127.0.0.1:<port>/zstack`` exactly as it would be
``http://<mn>:8080/zstack``. Bodies and query strings are parsed here, not by FastAPI, so bad input
gets ZStack's answers instead of FastAPI's 422.
"""

from __future__ import annotations

import base64
import email.utils
import functools
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from emulator.core import jsonbody
from emulator.core.store import Store
from emulator.zstack import models as m
from emulator.zstack.errors import TextError, ZsError, invalid_session
from emulator.zstack.openapi import operation as doc

TEXT = "text/plain;charset=UTF-8"
JSON = "application/json;charset=UTF-8"
DELETE_MODES = ("Permissive", "Enforcing")


def _text(status: int, text: str) -> Response:
    return Response(text, status_code=status, media_type=TEXT)


def _json(status: int, body: Any) -> Response:
    if body is None or body == {}:
        return Response("", status_code=status, media_type=JSON)  # RestServer writes "" for an empty map
    return Response(json.dumps(body), status_code=status, media_type=JSON)


def _errors(handler: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
    @functools.wraps(handler)
    async def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return await handler(*args, **kwargs)
        except TextError as e:
            return _text(e.status, e.text)
        except ZsError as e:
            return _json(e.status, e.body())

    return wrapper


def _body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        body = jsonbody.loads(raw)  # never RecursionError (a 500) on deep nesting
    except ValueError:
        raise TextError(400, "Unable to parse the request body as JSON") from None
    if not isinstance(body, dict):
        raise TextError(400, "the request body must be a JSON object")
    return body


def _tags(body: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key in ("systemTags", "userTags"):
        v = body.get(key)
        if v is not None and not (isinstance(v, list) and all(isinstance(i, str) for i in v)):
            raise TextError(400, f"field[{key}] must be of type List<String>")
        out[f"_{key}"] = v or []
    return out


def _v1_path(request: Request) -> str:
    """The path the AccessKey signature covers: from ``/v1`` on (the context path is not signed)."""
    path = request.url.path
    at = path.find("/v1/")
    return path[at:] if at >= 0 else path


def own_base(request: Request) -> str:
    """The emulator's own address as this request reached it (scheme, ``Host``, port), with the
    path up to ``/v1`` (the platform prefix, i.e. ZStack's context path ``/zstack``)."""
    path = request.url.path
    at = path.find("/v1/")
    return f"{request.url.scheme}://{request.url.netloc}{path[:at] if at >= 0 else ''}"


def authenticate(backend: m.ZStackBackend, request: Request) -> ZsError | None:
    """Framework checks raise (400/401/403 text); a bad session is returned, to fail the API later."""
    header = request.headers.get("authorization")
    if not header:
        raise TextError(400, "missing header 'Authorization'")
    kind, _, cred = header.strip().partition(" ")
    if kind == "OAuth":
        session = cred.strip()
        if not backend.session_valid(session):
            return invalid_session(f"Session[uuid:{session}] expired or does not exist")
        return None
    if kind == "ZStack":
        _verify_access_key(backend, request, cred.strip())
        return None
    raise TextError(400, "Authorization type must be 'OAuth'")


def _verify_access_key(backend: m.ZStackBackend, request: Request, cred: str) -> None:
    date = request.headers.get("date")
    if not date:
        raise TextError(400, "missing header 'Date' for AccessKey authentication")
    try:
        when = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError):
        raise TextError(400, f"Invalid header[Date: {date}], it must be like 'EEE, dd MMM yyyy HH:mm:ss z'") from None
    if when.tzinfo is None or abs(when.timestamp() - time.time()) > float(backend.setting("max_clock_skew_s")):
        raise TextError(403, "requestTimeTooSkewed")
    key_id, _, signature = cred.partition(":")
    secret = backend.setting("access_keys").get(key_id)
    if secret is None:
        raise TextError(401, f"invalid AccessKey[id:{key_id}]")
    to_sign = f"{request.method}\n{date}\n{_v1_path(request)}"
    expected = base64.b64encode(hmac.new(secret.encode(), to_sign.encode(), hashlib.sha1).digest()).decode()
    if not hmac.compare_digest(expected, signature):
        raise TextError(401, "AccessKey signature does not match")


def build_router(store: Store) -> APIRouter:
    backend = m.ZStackBackend(store)
    r = APIRouter(tags=["zstack"])

    def accepted(request: Request, job: str) -> Response:
        base = (backend.setting("location_base") or own_base(request)).rstrip("/")
        return _json(202, {"location": f"{base}/v1/api-jobs/{job}",
                           "apiTimeout": backend.setting("api_timeout_ms")})

    async def run_async(request: Request, api: str, payload: dict[str, Any]) -> Response:
        auth_error = authenticate(backend, request)
        backend.settle()
        job = backend.submit(request.headers.get("x-job-uuid"), api, payload, auth_error,
                       request.headers.get("x-web-hook"))
        if backend.setting("job_delay_s") <= 0:  # finishes at once: answer directly, as newer servers may
            status, body = backend.job_result(job)
            return _json(status, body)
        return accepted(request, job)

    def query(request: Request, kind: str, uuid: str | None = None) -> Response:
        auth_error = authenticate(backend, request)
        if auth_error is not None:
            raise auth_error
        q = [v for k, v in request.query_params.multi_items() if k == "q"]
        if uuid is not None:
            q.append(f"uuid={uuid}")
        return _json(200, backend.query(kind, q, dict(request.query_params)))

    async def create(request: Request, api: str, types: dict[str, str]) -> Response:
        body = _body(await request.body())
        params = body.get("param")
        params = params if isinstance(params, dict) else {}  # other keys are ignored, as RestServer does
        m.check_types(params, types)
        return await run_async(request, api, {"params": params, "tags": _tags(body)})

    async def update(request: Request, api: str, action: str, types: dict[str, str], uuid: str) -> Response:
        body = _body(await request.body())
        params = body.get(action)
        if not isinstance(params, dict):
            raise TextError(400, f"the body doesn't contain action mapping to the URL[{request.url.path}]")
        m.check_types(params, types)
        return await run_async(request, api, {"uuid": uuid, "params": params, "tags": _tags(body)})

    async def delete(request: Request, api: str, uuid: str) -> Response:
        mode = request.query_params.get("deleteMode") or "Permissive"
        if mode not in DELETE_MODES:
            raise TextError(400, f"Invalid query parameter[deleteMode={mode}], valid values are {list(DELETE_MODES)}")
        return await run_async(request, api, {"uuid": uuid, "deleteMode": mode})

    # -- identity --------------------------------------------------------------------------
    @r.put("/v1/accounts/login", openapi_extra=doc("plain", "login", authenticated=False))
    @_errors
    async def login(request: Request) -> Response:
        return _json(200, backend.login(_body(await request.body())))

    @r.get("/v1/accounts/sessions/{uuid}/valid")
    @_errors
    async def valid(uuid: str) -> Response:
        return _json(200, {"valid": backend.session_valid(uuid)})

    @r.delete("/v1/accounts/sessions/{uuid}")
    @_errors
    async def logout(uuid: str) -> Response:
        backend.logout(uuid)
        return _json(200, {})

    # -- jobs ------------------------------------------------------------------------------
    @r.get("/v1/api-jobs/{uuid}", openapi_extra=doc("plain", authenticated=False))
    @_errors
    async def job(uuid: str) -> Response:
        status, body = backend.job_result(uuid)
        if isinstance(body, str):
            return _text(status, body)
        return _json(status, body)

    @r.api_route("/v1/api-jobs/{uuid}", methods=["POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
    @_errors
    async def job_wrong_method(request: Request, uuid: str) -> Response:
        return _text(405, f"Method {request.method} is not supported on {request.url.path}")

    def object_routes(path: str, noun: str, api: str, kind: str, types: dict[str, str]) -> None:
        """One object type's five routes under ``path``: Add<api> (POST), query all and one (GET),
        Update<api> (PUT, wrapper ``update<api>``) and Delete<api> (DELETE). ``noun`` names them
        (``add_<noun>``, ``query_<noun>s``, ``get_<noun>``, ...) and their bodies in /openapi.json."""

        @r.post(path, name=f"add_{noun}", openapi_extra=doc("job", f"add_{noun}"))
        @_errors
        async def add(request: Request) -> Response:
            return await create(request, f"APIAdd{api}Msg", types)

        @r.get(path, name=f"query_{noun}s", openapi_extra=doc("query"))
        @_errors
        async def query_all(request: Request) -> Response:
            return query(request, kind)

        @r.get(f"{path}/{{uuid}}", name=f"get_{noun}", openapi_extra=doc("query"))
        @_errors
        async def get_one(request: Request, uuid: str) -> Response:
            return query(request, kind, uuid)

        @r.put(f"{path}/{{uuid}}", name=f"update_{noun}", openapi_extra=doc("job", f"update_{noun}"))
        @_errors
        async def update_one(request: Request, uuid: str) -> Response:
            return await update(request, f"APIUpdate{api}Msg", f"update{api}", types, uuid)

        @r.delete(f"{path}/{{uuid}}", name=f"delete_{noun}", openapi_extra=doc("delete"))
        @_errors
        async def delete_one(request: Request, uuid: str) -> Response:
            return await delete(request, f"APIDelete{api}Msg", uuid)

    object_routes("/v1/ai/model-centers", "center", "ModelCenter", m.CENTER, m.CENTER_TYPES)
    object_routes("/v1/ai/models", "model", "Model", m.MODEL, m.MODEL_TYPES)
    # model services: definitions only (deployModelService and instance groups are not served)
    object_routes("/v1/ai/model-services", "service", "ModelService", m.SERVICE, m.SERVICE_TYPES)

    # -- anything else -----------------------------------------------------------------------
    @r.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                 include_in_schema=False)
    async def no_route(request: Request, path: str) -> Response:
        return _text(404, f"no api mapping to {request.url.path}")

    return r
