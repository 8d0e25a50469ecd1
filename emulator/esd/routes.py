"""The ESD wire format: routes of the REST API (stage ``prod``), the Lambda envelope, API Gateway's
own replies, and the emulator's presigned-URL S3 stand-in.

Every request goes through the checks of spec §1.3 in order: route and method exist (else API
Gateway's 403 "Missing Authentication Token"), API key (403 "Forbidden"), JSON-schema body validation
(400 with the validator's text), then the Lambda: dataclass parse (TypeError 400s) and the operation,
whose exceptions map to statuses as in §1.5: ``EsdError`` keeps its status, everything else is a 400
with ``str(exception)``.

An operation of ``EsdBackend`` takes plain arguments, which ``dispatch`` binds by parameter name:
``caller`` (the identity headers), ``body`` (the parsed request body), ``id`` (the path's ``{id}``),
``base_url`` (where the client reached the emulator), and any other name is the query parameter of
that name (all its values when annotated ``list[str]``, else the last one, or None).
"""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from emulator.core import jsonbody
from emulator.core.store import Store
from emulator.esd.errors import EsdError, S3Error
from emulator.esd.models import Caller, GatewayReply, Later, Reply, backend
from emulator.esd.schemas import DATACLASSES, SCHEMAS, validate

log = logging.getLogger("emulator.esd")

API_VERSION = "1.5.0"

REASONS = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 500: "Internal Server Error",
}

LAMBDA_HEADERS = {
    "x-api-version": API_VERSION,
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Allow-Methods": "*",
    "Access-Control-Allow-Credentials": "true",
}

CORS_ALLOWED_HEADERS = "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token,X-Amz-User-Agent"

GATEWAY_ERROR_TYPES = {
    "Missing Authentication Token": "MissingAuthenticationTokenException",
    "Forbidden": "ForbiddenException",
    "Endpoint request timed out": "InternalServerErrorException",
    "Internal server error": "InternalServerErrorException",
}


def lambda_response(reply: Reply) -> Response:
    body: dict[str, Any] = {"statusCode": reply.status}
    if reply.data:
        body["data"] = reply.data
    message = reply.message if reply.message is not None else REASONS.get(reply.status, "")
    if message:
        body["message"] = message
    headers = dict(LAMBDA_HEADERS)
    if reply.status == 204:
        # The Lambda writes a body for 204 too; HTTP forbids one, and clients must not rely on it.
        return Response(status_code=204, headers=headers)
    return Response(json.dumps(body), status_code=reply.status, headers=headers, media_type="application/json")


def gateway_response(status: int, message: str, with_status_code: bool = False) -> Response:
    """A reply API Gateway makes itself: only ``{"message": ...}`` (the body validator adds statusCode)."""
    body: dict[str, Any] = {"statusCode": status, "message": message} if with_status_code else {"message": message}
    headers = {"x-amzn-ErrorType": GATEWAY_ERROR_TYPES.get(message, "BadRequestException")}
    return Response(json.dumps(body), status_code=status, headers=headers, media_type="application/json")


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    name: str
    summary: str
    status: int
    query: tuple[str, ...] = ()

    @property
    def schema(self) -> dict[str, Any] | None:
        return SCHEMAS.get(self.name)


_PAGED = ("limit", "exclusive_start_key")

OPS = [
    Op("GET", "/prod/ping", "ping", "Health check (API key only)", 200),
    Op("GET", "/prod/roles", "list_roles", "List roles", 200, ("role",)),
    Op("POST", "/prod/roles", "create_role", "Create or overwrite a role", 201),
    Op("DELETE", "/prod/roles", "delete_roles", "Delete roles", 204),
    Op("GET", "/prod/users", "list_users", "List users", 200, ("username", "show_password")),
    Op("POST", "/prod/users", "create_user", "Create or overwrite a user", 201),
    Op("DELETE", "/prod/users", "delete_users", "Delete users", 204),
    Op("GET", "/prod/checkpoints", "list_checkpoints", "List checkpoints", 200,
       ("page", "per_page", "username", "status", "types", "roles")),
    Op("POST", "/prod/checkpoints", "create_checkpoint", "Create a checkpoint (files: 201, urls: 202)", 201),
    Op("PUT", "/prod/checkpoints/{id}", "update_checkpoint", "Activate (status) or rename a checkpoint", 200),
    Op("DELETE", "/prod/checkpoints", "delete_checkpoints", "Delete checkpoints", 204),
    Op("GET", "/prod/endpoints", "list_endpoints", "List endpoints", 200,
       _PAGED + ("endpointDeploymentJobId", "username")),
    Op("POST", "/prod/endpoints", "create_endpoint", "Deploy an endpoint", 202),
    Op("DELETE", "/prod/endpoints", "delete_endpoints", "Delete endpoints by physical name", 204),
    Op("GET", "/prod/inferences", "list_inferences", "List inference jobs of one task type", 200,
       ("type",) + _PAGED + ("username",)),
    Op("POST", "/prod/inferences", "create_inference", "Create an inference job", 201),
    Op("PUT", "/prod/inferences/{id}/start", "start_inference", "Start an inference job", 202),
    Op("GET", "/prod/inferences/{id}", "get_inference", "Get an inference job", 200),
    Op("DELETE", "/prod/inferences", "delete_inferences", "Delete inference jobs", 204),
    Op("GET", "/prod/trainings", "list_trainings", "List training jobs", 200, _PAGED),
    Op("POST", "/prod/trainings", "create_training", "Start a Kohya LoRA training job", 201),
    Op("GET", "/prod/trainings/{id}", "get_training", "Get a training job", 200),
    Op("DELETE", "/prod/trainings", "delete_trainings", "Delete training jobs", 204),
    Op("GET", "/prod/datasets", "list_datasets", "List datasets", 200, _PAGED + ("dataset_status",)),
    Op("POST", "/prod/datasets", "create_dataset", "Create a dataset (returns upload URLs)", 201),
    Op("GET", "/prod/datasets/{id}", "get_dataset", "Get a dataset with its items", 200),
    Op("PUT", "/prod/datasets/{id}", "update_dataset", "Set a dataset's status", 200),
    Op("DELETE", "/prod/datasets", "delete_datasets", "Delete datasets", 204),
]

# Resources with a CORS pre-flight (``/prod/inference`` exists but has no other method).
RESOURCES = sorted({op.path for op in OPS} | {"/prod/inference"})

ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]

_NO_BODY = object()


def _openapi(op: Op) -> dict[str, Any]:
    extra: dict[str, Any] = {"parameters": [
        {"name": "x-api-key", "in": "header", "required": True, "schema": {"type": "string"}},
        {"name": "username", "in": "header", "required": False, "schema": {"type": "string"}},
    ]}
    if "{id}" in op.path:
        extra["parameters"].append({"name": "id", "in": "path", "required": True, "schema": {"type": "string"}})
    for q in op.query:
        extra["parameters"].append({"name": q, "in": "query", "required": False, "schema": {"type": "string"}})
    if op.schema:
        extra["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.schema}}}
    extra["responses"] = {str(op.status): {"description": "Lambda envelope {statusCode, data?, message?}"}}
    return extra


def _arguments(handler: Callable[..., Any], request: Request, body: dict[str, Any] | None) -> dict[str, Any]:
    """The operation's arguments, by parameter name (see the module docstring)."""
    args: dict[str, Any] = {}
    for name, param in inspect.signature(handler).parameters.items():
        if name == "caller":
            args[name] = Caller(username=request.headers.get("username"),
                                authorization=request.headers.get("authorization"))
        elif name == "body":
            args[name] = body
        elif name == "id":
            args[name] = request.path_params["id"]
        elif name == "base_url":
            args[name] = str(request.base_url)
        elif param.annotation in ("list[str]", list[str]):
            args[name] = request.query_params.getlist(name)
        else:
            args[name] = request.query_params.get(name)
    return args


def build_router(store: Store) -> APIRouter:
    esd = backend(store)
    router = APIRouter(tags=["esd"])

    def dispatch(op: Op, request: Request, raw: bytes) -> Response:
        esd.tick()
        if request.headers.get("x-api-key") != esd.setting("api_key"):
            return gateway_response(403, "Forbidden")
        parsed: Any = _NO_BODY
        if op.schema is not None:
            if raw.strip():
                try:
                    parsed = jsonbody.loads(raw)
                except ValueError:
                    return gateway_response(400, "Invalid request body", with_status_code=True)
            errors = validate(op.schema, {} if parsed is _NO_BODY else parsed)
            if errors:
                return gateway_response(400, "[" + ", ".join(errors) + "]", with_status_code=True)
        handler: Callable[..., Reply | GatewayReply | Later] = getattr(esd, op.name)

        def run(fn: Callable[[], Reply | GatewayReply | Later]) -> Reply | GatewayReply | Later:
            # Like the Lambda, whatever was written before an error stays written: commit, don't roll back.
            with store.transaction():
                try:
                    return fn()
                except EsdError as e:
                    return Reply(e.status, message=e.message)
                except Exception as e:  # the shared helper turns every other exception into a 400
                    log.info("esd %s %s -> 400 %r", op.method, op.path, e, exc_info=True)
                    return Reply(400, message=str(e))

        def first() -> Reply | GatewayReply | Later:
            body = None
            if op.schema is not None:
                if parsed is _NO_BODY:
                    raise TypeError("the JSON object must be str, bytes or bytearray, not NoneType")
                body = DATACLASSES[op.name].parse(parsed)
            return handler(**_arguments(handler, request, body))

        result = run(first)
        while isinstance(result, Later):
            time.sleep(max(0.0, result.seconds))
            result = run(result.then)
        if isinstance(result, GatewayReply):
            return gateway_response(result.status, result.message)
        return lambda_response(result)

    def make_endpoint(op: Op) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            return await run_in_threadpool(dispatch, op, request, raw)

        endpoint.__name__ = f"esd_{op.name}"
        return endpoint

    for op in OPS:
        router.add_api_route(op.path, make_endpoint(op), methods=[op.method], summary=op.summary,
                             openapi_extra=_openapi(op), response_class=Response, status_code=op.status)

    def preflight(request: Request) -> Response:
        return Response(status_code=204, headers={
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Headers": CORS_ALLOWED_HEADERS,
            "Access-Control-Allow-Methods": "OPTIONS,GET,PUT,POST,DELETE,PATCH,HEAD",
        })

    for path in RESOURCES:
        router.add_api_route(path, preflight, methods=["OPTIONS"], include_in_schema=False)

    # -- the S3 stand-in behind presigned URLs ----------------------------------------------------
    def s3_dispatch(request: Request, bucket: str, key: str, raw: bytes) -> Response:
        method = request.method
        query = dict(request.query_params)
        try:
            esd.s3.check_presigned("GET" if method == "HEAD" else method, bucket, key, query)
            if method == "PUT":
                if "uploadId" in query:
                    etag = esd.s3.upload_part(bucket, key, query["uploadId"], int(query.get("partNumber", "0")), raw)
                else:
                    etag = esd.s3.put_object(bucket, key, raw,
                                             request.headers.get("content-type") or "binary/octet-stream")
                return Response(status_code=200, headers={"ETag": etag})
            meta, data = esd.s3.get_object(bucket, key)
            headers = {"ETag": meta["etag"], "Content-Type": meta.get("content_type") or "binary/octet-stream"}
            if method == "HEAD":
                return Response(status_code=200, headers={**headers, "Content-Length": str(len(data))})
            return Response(data, status_code=200, headers=headers)
        except S3Error as e:
            return Response(e.xml(), status_code=e.status, media_type="application/xml")

    async def s3_endpoint(request: Request, bucket: str, key: str) -> Response:
        raw = await request.body()
        return await run_in_threadpool(s3_dispatch, request, bucket, key, raw)

    for method in ("GET", "PUT", "HEAD"):
        router.add_api_route("/_s3/{bucket}/{key:path}", s3_endpoint, methods=[method],
                             summary=f"Presigned-URL target, {method} (S3 stand-in)", response_class=Response,
                             operation_id=f"esd_s3_{method.lower()}", include_in_schema=method != "HEAD")

    # -- anything else is an unknown route to API Gateway ------------------------------------------
    async def missing_token(request: Request) -> Response:
        return gateway_response(403, "Missing Authentication Token")

    router.add_api_route("/{path:path}", missing_token, methods=ALL_METHODS, include_in_schema=False)
    return router
