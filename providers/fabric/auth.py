"""Huawei Cloud authentication for httpx, in two parts:

* providers/fabric/signer.py: :class:`SdkHmacAuth`, ``SDK-HMAC-SHA256`` AK/SK request signing (spec §7.2);
* providers/fabric/token.py: :class:`IamTokenAuth`, ``X-Auth-Token`` from IAM or a fixed token (spec §7.1).

This module keeps the names callers import from one place.
"""

from __future__ import annotations

from providers.fabric.signer import (
    ALGORITHM,
    DATE_FORMAT,
    EMPTY_SHA256,
    UNSIGNED_HEADERS,
    UNSIGNED_PAYLOAD,
    SdkHmacAuth,
    SdkSignature,
    canonical_query_string,
    canonical_uri,
    rfc3986_encode,
)
from providers.fabric.token import IamTokenAuth, IamTokenError

__all__ = [
    "ALGORITHM",
    "DATE_FORMAT",
    "EMPTY_SHA256",
    "UNSIGNED_HEADERS",
    "UNSIGNED_PAYLOAD",
    "IamTokenAuth",
    "IamTokenError",
    "SdkHmacAuth",
    "SdkSignature",
    "canonical_query_string",
    "canonical_uri",
    "rfc3986_encode",
]
