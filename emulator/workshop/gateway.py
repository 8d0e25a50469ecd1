"""The API Gateway in front of the Workshop: digest-signature verification (spec §2.1).

Rebuilt from what the server received: method, the ``Accept``, ``Content-MD5``, ``Content-Type``
and ``Date`` headers, the headers the client lists in ``X-Ca-Signature-Headers`` (sorted, lower
case), and the raw path (prefix ``/workshop`` included) with the query sorted by key. Rejections
come from the gateway itself: an empty body and the ``X-Ca-Error-Code``, ``X-Ca-Error-Message``
and ``X-Ca-Request-Id`` headers. A signature mismatch names the server's string to sign, line
breaks written as ``#`` (headers cannot carry them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from emulator.workshop.errors import GatewayError

ALGORITHMS = {"HmacSHA256": hashlib.sha256, "HmacSHA1": hashlib.sha1}
UNSIGNED = {"x-ca-signature", "x-ca-signature-headers"}


@dataclass
class Received:
    method: str
    raw_path: str  # as received, prefix included, no query
    raw_query: str
    headers: dict[str, str]  # lower-case names
    body: bytes


def string_to_sign(method: str, headers: Mapping[str, str], signed_names: list[str], raw_path: str,
                   raw_query: str) -> str:
    lines = [method.upper()] + [headers.get(n, "") for n in ("accept", "content-md5", "content-type", "date")]
    lines += [f"{n}:{headers.get(n, '')}" for n in sorted(set(signed_names))]
    pairs = sorted(parse_qsl(raw_query, keep_blank_values=True), key=lambda kv: kv[0])
    url = raw_path + ("?" + "&".join(k if v == "" else f"{k}={v}" for k, v in pairs) if pairs else "")
    return "\n".join(lines + [url])


def signature(secret: str, text: str, method: str = "HmacSHA256") -> str:
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), ALGORITHMS[method]).digest()).decode()


def _missing(name: str) -> GatewayError:
    return GatewayError(400, "I400MH", f"Header `{name}` is Required")


def _invalid(name: str, reason: str) -> GatewayError:
    return GatewayError(400, "I400HD", f"Invalid Header `{name}` {reason}")


def verify(r: Received, apps: Mapping[str, str], *, now_ms: int, max_skew_s: float, nonce_ttl_s: float,
           claim_nonce: Callable[[str, float], bool]) -> str:
    """Check one request; return its AppKey or raise ``GatewayError``.

    Order: key and signature present, known AppKey, signature method, timestamp, Content-MD5,
    signature, and only then the nonce (a rejected request does not burn its nonce)."""
    h = r.headers
    key = h.get("x-ca-key")
    if not key:
        raise _missing("X-Ca-Key")
    given = h.get("x-ca-signature")
    if not given:
        raise _missing("X-Ca-Signature")
    secret = apps.get(key)
    if secret is None:
        raise GatewayError(400, "A400IK", "Invalid AppKey")
    method = h.get("x-ca-signature-method") or "HmacSHA1"  # the gateway's default when absent
    if method not in ALGORITHMS:
        raise _invalid("X-Ca-Signature-Method", f"unsupported value {method!r} (HmacSHA256 or HmacSHA1)")
    stamp = h.get("x-ca-timestamp")
    if stamp is not None:
        if not stamp.isdigit():
            raise _invalid("X-Ca-Timestamp", "is not a number of milliseconds")
        if abs(now_ms - int(stamp)) > max_skew_s * 1000:
            raise GatewayError(400, "A400IT", f"Invalid Timestamp: {stamp} is more than {int(max_skew_s)} s away "
                                              f"from the server time {now_ms}")
    md5 = h.get("content-md5")
    if md5 is not None and md5 != base64.b64encode(hashlib.md5(r.body).digest()).decode():
        raise _invalid("Content-MD5", "does not match the body")
    names = [n.strip().lower() for n in h.get("x-ca-signature-headers", "").split(",") if n.strip()]
    names = [n for n in names if n not in UNSIGNED]
    text = string_to_sign(r.method, h, names, r.raw_path, r.raw_query)
    if not hmac.compare_digest(signature(secret, text, method), given):
        flat = text.replace("\n", "#").encode("latin-1", "replace").decode("latin-1")
        raise GatewayError(403, "A403IS", f"Invalid Signature, Server StringToSign:`{flat}`")
    nonce = h.get("x-ca-nonce")
    if nonce and not claim_nonce(f"{key}/{nonce}", nonce_ttl_s):
        raise GatewayError(400, "A400NU", "Nonce Used")
    return key
