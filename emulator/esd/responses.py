"""The ESD wire format: the Lambda envelope, API Gateway's own replies, and request context.

Handlers in models.py return a ``Reply`` (a Lambda response), a ``GatewayReply`` (an API Gateway
response such as a 504 timeout) or a ``Later`` (sleep outside the store lock, then continue; used by
real-time inference). Any exception a handler raises becomes what the Lambda's shared helper makes of
it (spec §1.5): ``EsdError`` keeps its status, everything else is a 400 with ``str(exception)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi.responses import Response

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


class EsdError(Exception):
    """An error the Lambda answers with its own status (401, 403, 404) or a 400."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> EsdError:
    return EsdError(400, message)


@dataclass
class Reply:
    status: int
    data: Any = None
    message: str | None = None


@dataclass
class GatewayReply:
    status: int
    message: str


@dataclass
class Later:
    """Wait ``seconds`` without holding the store, then run ``then`` (inside a transaction)."""

    seconds: float
    then: Callable[[], Reply | GatewayReply]


class Query(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...
    def getlist(self, key: str) -> list[str]: ...


@dataclass
class Ctx:
    headers: Mapping[str, str]
    query: Query
    path: dict[str, str]
    body: dict[str, Any] | None
    base_url: str


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


def error_body(status: int, code: str, message: str) -> dict[str, Any]:
    """Injected faults in the vendor's envelope: gateway-made for 502/503/504, Lambda-made otherwise."""
    if status in (502, 503, 504):
        return {"message": message}
    return {"statusCode": status, "message": message}
