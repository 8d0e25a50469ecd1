"""Request-signature verification for the PAI emulator (spec §7).

Two schemes, picked by the ``Authorization`` prefix:

* ``ACS3-HMAC-SHA256 Credential=<AK>,SignedHeaders=<a;b>,Signature=<hex>`` (V3, §7.1)
* ``acs <AK>:<base64 sig>`` (legacy ROA HMAC-SHA1, §7.2)

The verifier rebuilds the canonical form from what was received: the raw path as it arrived
(prefix ``/pai`` included), the query string, the headers the client listed, and the body bytes.
The pure functions here (``canonical_request_v3``, ``string_to_sign_v3``, ``sign_v3``,
``string_to_sign_roa``, ``sign_roa``) take plain values so they can be checked against the
vendor's published example without a server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, quote

from emulator.pai.errors import PaiError

log = logging.getLogger("emulator.pai.auth")

V3_ALGORITHM = "ACS3-HMAC-SHA256"
API_VERSION = "2021-02-04"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

_V3_FIELD = re.compile(r"\s*(Credential|SignedHeaders|Signature)=([^,]*)\s*")
_ROA_AUTH = re.compile(r"^acs ([^:\s]+):(\S+)$")


# -- pure building blocks --------------------------------------------------------------------
def header_text(raw: str) -> str:
    """A header value as the client sent it. Servers hand header bytes over as latin-1 text; signers
    (Alibaba's SDKs, this project's) sign the UTF-8 text, so bytes that form valid UTF-8 are read as
    UTF-8. Other bytes stay as they came (latin-1), which is all an ASCII-only client ever sends."""
    try:
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw


def percent_encode(value: str) -> str:
    """RFC 3986: only ``A-Za-z0-9-_.~`` stay literal (so space -> %20, ``*`` -> %2A)."""
    return quote(value, safe="-_.~")


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """Decoded (name, value) pairs of a raw query string, blanks kept."""
    return parse_qsl(raw_query, keep_blank_values=True)


def canonical_query_v3(pairs: Sequence[tuple[str, str]]) -> str:
    """Sorted by decoded name (then value), then encoded, as the vendor page orders the steps."""
    ordered = sorted(pairs, key=lambda kv: (kv[0].encode(), kv[1].encode()))
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in ordered)


def canonical_request_v3(method: str, raw_path: str, pairs: Sequence[tuple[str, str]],
                         headers: Mapping[str, str], signed: Sequence[str], payload_hash: str) -> str:
    """The six-part canonical request; ``headers`` keyed by lower-case name."""
    names = sorted({n.strip().lower() for n in signed if n.strip()})
    block = "".join(f"{n}:{headers.get(n, '').strip()}\n" for n in names)
    return "\n".join([method.upper(), raw_path or "/", canonical_query_v3(pairs), block,
                      ";".join(names), payload_hash])


def string_to_sign_v3(canonical_request: str) -> str:
    return f"{V3_ALGORITHM}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"


def sign_v3(secret: str, string_to_sign: str) -> str:
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def string_to_sign_roa(method: str, raw_path: str, pairs: Sequence[tuple[str, str]],
                       headers: Mapping[str, str]) -> str:
    """Legacy ROA: five header lines, sorted ``x-acs-*`` lines, then the resource (values unencoded)."""
    lines = [method.upper(), headers.get("accept", ""), headers.get("content-md5", ""),
             headers.get("content-type", ""), headers.get("date", "")]
    out = "".join(f"{line}\n" for line in lines)
    acs = sorted((n, v) for n, v in headers.items() if n.startswith("x-acs-"))
    out += "".join(f"{n}:{v.strip()}\n" for n, v in acs)
    resource = raw_path
    if pairs:
        items = sorted(pairs)
        resource += "?" + "&".join(f"{k}={v}" if v != "" else k for k, v in items)
    return out + resource


def sign_roa(secret: str, string_to_sign: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()


# -- the check a route runs ------------------------------------------------------------------
@dataclass
class Received:
    """What the server got, as plain values."""

    method: str
    raw_path: str  # percent-encoded, as received, including the /pai prefix
    raw_query: str
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class AuthSettings:
    access_keys: Mapping[str, str]
    max_clock_skew_s: float
    nonce_retention_s: float


def _incomplete(detail: str) -> PaiError:
    return PaiError(400, "IncompleteSignature",
                    f"The request signature does not conform to Aliyun standards. {detail}")


def _check_action(received: Received, action: str, api_version: str) -> None:
    got_action = received.headers.get("x-acs-action")
    if not got_action:
        raise PaiError(400, "MissingParameter",
                       'The input parameter "x-acs-action" that is mandatory for processing this request is not supplied.')
    if got_action != action:
        raise PaiError(404, "InvalidAction.NotFound",
                       f"Specified api is not found, please check your url and method. "
                       f"(x-acs-action {got_action!r} does not name {received.method} {received.raw_path}, "
                       f"which is {action})")
    version = received.headers.get("x-acs-version")
    if not version:
        raise PaiError(400, "MissingParameter",
                       'The input parameter "x-acs-version" that is mandatory for processing this request is not supplied.')
    if version != api_version:
        raise PaiError(400, "InvalidVersion", f"Specified parameter Version is not valid. ({version!r})")


def _check_time(when: datetime, now: datetime, max_skew_s: float) -> None:
    if abs((now - when).total_seconds()) > max_skew_s:
        raise PaiError(400, "InvalidTimeStamp.Expired",
                       f"Specified time stamp or date value is expired. (request {when:%Y-%m-%dT%H:%M:%SZ}, "
                       f"server {now:%Y-%m-%dT%H:%M:%SZ}, tolerance {int(max_skew_s)} s)")


def verify(received: Received, action: str, settings: AuthSettings,
           claim_nonce: Callable[[str, float], bool], now: datetime | None = None,
           version: str = API_VERSION) -> str:
    """Check one request's signature; return the access key id, or raise ``PaiError``.

    Order: header shape, action/version, access key, timestamp, content hash, signature,
    and only then the nonce (so a rejected request does not burn its nonce).
    """
    now = now or datetime.now(timezone.utc)
    auth = received.headers.get("authorization", "").strip()
    if not auth:
        raise _incomplete("The Authorization header is missing.")
    if auth.startswith("ACS3-"):
        scheme = "v3"
    elif auth.startswith("acs "):
        scheme = "roa"
    else:
        raise _incomplete("Unknown Authorization scheme; expected 'ACS3-HMAC-SHA256 ...' or 'acs AK:signature'.")
    _check_action(received, action, version)
    pairs = parse_query(received.raw_query)
    if scheme == "v3":
        ak = _verify_v3(received, pairs, settings, now)
    else:
        ak = _verify_roa(received, pairs, settings, now)
    nonce = received.headers.get("x-acs-signature-nonce", "")
    if nonce and not claim_nonce(f"{ak}/{nonce}", settings.nonce_retention_s):
        raise PaiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
    return ak


def _secret(settings: AuthSettings, ak: str) -> str:
    secret = settings.access_keys.get(ak)
    if secret is None:
        raise PaiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    return secret


def _verify_v3(received: Received, pairs: list[tuple[str, str]], settings: AuthSettings, now: datetime) -> str:
    h = received.headers
    auth = h["authorization"]
    algorithm, _, rest = auth.partition(" ")
    if algorithm != V3_ALGORITHM:
        raise _incomplete(f"Unsupported signature algorithm {algorithm!r}; this endpoint takes {V3_ALGORITHM}.")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        m = _V3_FIELD.fullmatch(part)
        if not m:
            raise _incomplete(f"Malformed Authorization part {part.strip()!r}.")
        fields[m.group(1)] = m.group(2).strip()
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
    if missing:
        raise _incomplete(f"Authorization lacks {', '.join(missing)}.")
    signed = [n.strip().lower() for n in fields["SignedHeaders"].split(";") if n.strip()]
    for required in ("x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"):
        if not h.get(required):
            raise _incomplete(f"The header {required} is required.")
    unsigned = sorted(n for n in h if (n.startswith("x-acs-") or n == "host") and n not in signed)
    if unsigned:
        raise _incomplete(f"These headers must be signed: {';'.join(unsigned)}.")
    ak = fields["Credential"]
    secret = _secret(settings, ak)
    try:
        when = datetime.strptime(h["x-acs-date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise PaiError(400, "InvalidTimeStamp.Format",
                       f"Specified time stamp or date value is not well formatted. ({h['x-acs-date']!r}; "
                       "expected YYYY-MM-DDTHH:MM:SSZ)") from None
    _check_time(when, now, settings.max_clock_skew_s)
    actual = hashlib.sha256(received.body).hexdigest()
    if h["x-acs-content-sha256"].strip().lower() != actual:
        raise PaiError(400, "InvalidParameter.ContentSHA256",
                       f"The x-acs-content-sha256 header does not match the SHA-256 of the request body "
                       f"(received {h['x-acs-content-sha256']!r}, body hashes to {actual!r}).")
    canonical = canonical_request_v3(received.method, received.raw_path, pairs, h, signed,
                                     h["x-acs-content-sha256"].strip())
    sts = string_to_sign_v3(canonical)
    if not hmac.compare_digest(sign_v3(secret, sts), fields["Signature"].lower()):
        log.warning("ACS3 signature mismatch; server canonical request:\n%s", canonical)
        raise PaiError(400, "SignatureDoesNotMatch",
                       f"Specified signature does not match our calculation. server string to sign is:{sts}")
    return ak


def _verify_roa(received: Received, pairs: list[tuple[str, str]], settings: AuthSettings, now: datetime) -> str:
    h = received.headers
    m = _ROA_AUTH.fullmatch(h["authorization"])
    if not m:
        raise _incomplete("Expected 'acs <AccessKeyId>:<signature>'.")
    method = h.get("x-acs-signature-method", "HMAC-SHA1")
    if method != "HMAC-SHA1":
        raise _incomplete(f"Unsupported x-acs-signature-method {method!r}; legacy ROA signing is HMAC-SHA1.")
    if not h.get("date"):
        raise _incomplete("The header date is required.")
    ak, signature = m.group(1), m.group(2)
    secret = _secret(settings, ak)
    try:
        when = parsedate_to_datetime(h["date"])
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        raise PaiError(400, "InvalidTimeStamp.Format",
                       f"Specified time stamp or date value is not well formatted. ({h['date']!r}; "
                       "expected RFC 1123 GMT)") from None
    _check_time(when, now, settings.max_clock_skew_s)
    if h.get("content-md5"):
        actual = base64.b64encode(hashlib.md5(received.body).digest()).decode()
        if h["content-md5"].strip() != actual:
            raise PaiError(400, "InvalidParameter.ContentMD5",
                           f"The Content-MD5 header does not match the MD5 of the request body "
                           f"(received {h['content-md5']!r}, body gives {actual!r}).")
    sts = string_to_sign_roa(received.method, received.raw_path, pairs, h)
    if not hmac.compare_digest(sign_roa(secret, sts), signature):
        raise PaiError(400, "SignatureDoesNotMatch",
                       f"Specified signature does not match our calculation. server string to sign is:{sts}")
    return ak
