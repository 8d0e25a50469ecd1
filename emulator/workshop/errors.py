"""The Workshop's two kinds of error and their envelopes.

``WorkshopError`` is the service's business error, rendered as ``{errCode, errMessage,
apiInvokeId, data: null}``. ``GatewayError`` is the API Gateway's own rejection, rendered as an
empty body plus ``X-Ca-Error-Code`` / ``X-Ca-Error-Message`` headers (routes.py writes both).
"""

from __future__ import annotations

import uuid
from typing import Any


class WorkshopError(Exception):
    """A business error: rendered as ``{errCode, errMessage, apiInvokeId}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class GatewayError(Exception):
    """A rejection by the API Gateway in front of the service (signature, route, method)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def invalid(message: str) -> WorkshopError:
    return WorkshopError(400, "InvalidParameter", message)


def missing(name: str) -> WorkshopError:
    return WorkshopError(400, "MissingParameter", f"{name} is mandatory for this action")


def invoke_id() -> str:
    return str(uuid.uuid4())


def error_body(status: int, code: str, message: str, rid: str | None = None) -> dict[str, Any]:
    """The service's error envelope (injected faults use it with a fresh apiInvokeId)."""
    return {"errCode": code, "errMessage": message, "apiInvokeId": rid or invoke_id(), "data": None}
