"""Fabric's vendor errors and their envelopes.

The service answers ``{error_code, error_msg, solution_msg}`` (``FabricError``); the token API
answers IAM's Keystone-style body (``IamError``). Codes marked [spec] come from the spec, the others
are guesses.
"""

from __future__ import annotations

from typing import Any

# -- service error codes ---------------------------------------------------------------------
STILL_RUNNING = "dataartsfabric.00000001"      # [spec §6] 500 "still running, try later"
INVALID_PARAM = "dataartsfabric.00010001"      # guess
WORKSPACE_MISSING = "dataartsfabric.00010003"  # [spec §6]
BUCKET_MISSING = "dataartsfabric.00010004"     # [spec §6]
NOT_FOUND = "dataartsfabric.00010009"          # [spec §6] queried resource does not exist
DUPLICATE_NAME = "dataartsfabric.00010010"     # guess
IN_USE = "dataartsfabric.00010011"             # guess
VERSION_FAILED = "dataartsfabric.00010012"     # guess
CURRENT_VERSION = "dataartsfabric.00010013"    # guess
BAD_REQUEST_BODY = "common.01000001"           # [seed page example] unreadable body / type mismatch


class FabricError(Exception):
    """An error in Fabric's envelope: ``{error_code, error_msg, solution_msg}``."""

    def __init__(self, status: int, code: str, msg: str, solution: str = "") -> None:
        super().__init__(f"{status} {code} {msg}")
        self.status = status
        self.code = code
        self.msg = msg
        self.solution = solution

    def body(self) -> dict[str, Any]:
        return {"error_code": self.code, "error_msg": self.msg, "solution_msg": self.solution}


def error_body(status: int, code: str, message: str) -> dict[str, Any]:
    return {"error_code": code, "error_msg": message, "solution_msg": ""}


def invalid(msg: str) -> FabricError:
    return FabricError(400, INVALID_PARAM, msg, "Check the request parameters and try again.")


# -- IAM and API-gateway authentication ------------------------------------------------------
TOKEN_ERROR = "APIG.1002"  # [seed page example] "Incorrect token or token resolution failed"
TOKEN_MSG = "Incorrect token or token resolution failed"
AKSK_ERROR = "APIGW.0301"  # guess: the API gateway's IAM-authentication failure code
AKSK_MSG = "Incorrect IAM authentication information"


def token_error(detail: str) -> FabricError:
    return FabricError(401, TOKEN_ERROR, TOKEN_MSG, detail)


def aksk_error(detail: str) -> FabricError:
    return FabricError(401, AKSK_ERROR, f"{AKSK_MSG}: {detail}",
                       "Check the AK/SK, the signature and the X-Sdk-Date header.")


class IamError(Exception):
    """An error of the token API. Its body mirrors the IAM-style 403 of the vendor's seed page:
    a Keystone ``error`` object plus top-level ``error_code``/``error_msg``/``title``."""

    TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.msg = message

    def body(self) -> dict[str, Any]:
        title = self.TITLES.get(self.status, "Error")
        return {"error": {"code": str(self.status), "message": self.msg, "title": title},
                "error_code": self.status, "error_msg": self.msg, "title": title}
