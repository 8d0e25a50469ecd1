"""ESD's vendor errors and their envelopes.

``EsdError`` is what the Lambda's shared helper answers with its own status (spec §1.5): the
Lambda envelope ``{statusCode, message}``. API Gateway's own replies (403 "Forbidden", 504 timeout)
carry only ``{"message"}`` plus ``x-amzn-ErrorType``. ``S3Error`` is the S3 stand-in's error, an
XML body behind presigned URLs, whose boto ``ClientError`` text the Lambda surfaces as a 400.
"""

from __future__ import annotations

import uuid
from typing import Any


class EsdError(Exception):
    """An error the Lambda answers with its own status (401, 403, 404) or a 400."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> EsdError:
    return EsdError(400, message)


def error_body(status: int, code: str, message: str) -> dict[str, Any]:
    """Injected faults in the vendor's envelope: gateway-made for 502/503/504, Lambda-made otherwise."""
    if status in (502, 503, 504):
        return {"message": message}
    return {"statusCode": status, "message": message}


class S3Error(Exception):
    """An S3 error. ``op`` names the boto operation for the ClientError text the Lambda surfaces."""

    def __init__(self, status: int, code: str, message: str, op: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.op = op

    def client_error(self) -> str:
        return f"An error occurred ({self.code}) when calling the {self.op} operation: {self.message}"

    def xml(self) -> bytes:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{self.message}</Message>"
            f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
        ).encode()
