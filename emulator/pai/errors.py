"""PAI's vendor error and its envelope ``{RequestId, HostId, Code, Message, Recommend}`` (spec §6)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

DEFAULT_REGION = "cn-hangzhou"

# Vendor codes (§6).
MODEL_NOT_FOUND = "201900002"
VERSION_NOT_FOUND = "201900003"
WORKSPACE_NOT_FOUND = "100400008"
INVALID = "InvalidParameter"
MISSING = "MissingParameter"


class PaiError(Exception):
    """A vendor error: HTTP status, ``Code`` and ``Message`` of the envelope."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def invalid(message: str) -> PaiError:
    return PaiError(400, INVALID, message)


def missing(name: str) -> PaiError:
    return PaiError(400, MISSING,
                    f'The input parameter "{name}" that is mandatory for processing this request is not supplied.')


def request_id() -> str:
    return str(uuid.uuid4()).upper()


def host_id(region: str = DEFAULT_REGION) -> str:
    return f"aiworkspace.{region}.aliyuncs.com"


def error_body(status: int, code: str, message: str, rid: str | None = None,
               region: str = DEFAULT_REGION) -> dict[str, Any]:
    """The envelope of every error; injected faults use it with a fresh RequestId and cn-hangzhou."""
    rid = rid or request_id()
    return {
        "RequestId": rid,
        "HostId": host_id(region),
        "Code": code,
        "Message": message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={quote(code)}&product=AIWorkSpace&requestId={rid}",
    }
