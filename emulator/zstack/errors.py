"""ZStack's vendor errors and their envelopes.

``ZsError`` is an API failure: HTTP 503 (or the job result's status) with ``{"error": ErrorCode}``.
``TextError`` is RestServer's own plain-text 400/404/405, not JSON.
"""

from __future__ import annotations

from typing import Any


class ZsError(Exception):
    """An API failure: HTTP 503 with ``{"error": ErrorCode}`` (sync reply or job result)."""

    def __init__(self, code: str, description: str, details: str, status: int = 503) -> None:
        super().__init__(f"{code} {details}")
        self.status = status
        self.code = code
        self.description = description
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error": error_code(self.code, self.description, self.details)}


class TextError(Exception):
    """A framework-level failure: plain text, not JSON (RestServer's own 400/404/405)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def error_code(code: str, description: str, details: str) -> dict[str, Any]:
    return {"code": code, "description": description, "details": details,
            "elaboration": None, "opaque": None, "cause": None}


def error_body(status: int, code: str, message: str) -> dict[str, Any]:
    """Injected faults, rendered in the API's error envelope."""
    return {"error": error_code(code, message, message)}


def invalid(details: str) -> ZsError:
    return ZsError("SYS.1007", "One or more API argument is invalid", details)


def not_found(details: str) -> ZsError:
    return ZsError("SYS.1003", "Resource not found", details)


def invalid_session(details: str = "Session expired") -> ZsError:
    return ZsError("ID.1001", "Invalid session", details)
