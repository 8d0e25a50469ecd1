"""What every HMAC request-signing scheme here shares: RFC 3986 encoding, the canonical query
string, the canonical request (method, URI, query, headers, signed-header list, payload hash),
SHA-256 / HMAC-SHA256 in hex, the request's body and target, and a UTC clock tests can replace.

A scheme (Alibaba's ``ACS3-HMAC-SHA256`` in providers/pai/auth.py, Huawei's ``SDK-HMAC-SHA256``
in providers/fabric/signer.py) keeps only what is its own: which headers it signs, how it
canonicalises the path, the string to sign and the ``Authorization`` layout.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote, unquote_to_bytes

import httpx

Clock = Callable[[], "datetime | float"]
Pairs = list[tuple[bytes, bytes]]

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class Signature:
    """The intermediate and final values of one signing run (no secrets inside)."""

    canonical_request: str
    string_to_sign: str
    signature: str
    signed_headers: str
    authorization: str


def rfc3986_encode(value: str | bytes) -> str:
    """Percent-encode everything except ``A-Za-z0-9-_.~`` (UTF-8, upper-case hex)."""
    return quote(value, safe="-_.~")


def parse_query(raw_query: str) -> list[tuple[bytes, bytes]]:
    """Split a raw query into decoded (name, value) byte pairs, order kept.

    ``+`` is read as a space (httpx writes spaces in ``params=`` that way);
    a bare ``name`` has the empty value; empty ``&&`` segments are skipped.
    """
    pairs: list[tuple[bytes, bytes]] = []
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((unquote_to_bytes(name.replace("+", " ")), unquote_to_bytes(value.replace("+", " "))))
    return pairs


def join_pairs(pairs: list[tuple[bytes, bytes]]) -> str:
    return "&".join(f"{rfc3986_encode(k)}={rfc3986_encode(v)}" for k, v in pairs)


def canonical_query_string(raw_query: str) -> str:
    """Canonical query string of a raw query (without the leading ``?``): pairs sorted by
    decoded name then value, both RFC 3986-encoded, joined with ``&``."""
    return join_pairs(sorted(parse_query(raw_query)))


def sha256_hex(data: str | bytes) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def hmac_sha256_hex(key: str, message: str) -> str:
    return hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def request_body(request: httpx.Request) -> bytes:
    """The exact body bytes (read first when the request streams)."""
    try:
        return request.content
    except httpx.RequestNotRead:
        return request.read()


def request_target(request: httpx.Request) -> tuple[str, Pairs]:
    """The raw (percent-encoded) path and the decoded query pairs, in wire order."""
    raw_path, _, raw_query = request.url.raw_path.decode("ascii").partition("?")
    return raw_path, parse_query(raw_query)


def set_wire_target(request: httpx.Request, path: str, pairs: Pairs) -> None:
    """Put ``path`` and the strictly encoded query (original order) on the wire, so the server
    never has to guess what a ``+`` or a loosely encoded character means."""
    wire = path + ("?" + join_pairs(pairs) if pairs else "")
    if wire != request.url.raw_path.decode("ascii"):
        request.url = request.url.copy_with(raw_path=wire.encode("ascii"))


def ensure_host(request: httpx.Request, name: str = "Host") -> None:
    """Set the ``Host`` header (signed by every scheme) when httpx has not set it yet."""
    if "host" not in request.headers:
        request.headers[name] = request.url.netloc.decode("ascii")


def canonical_request(method: str, uri: str, pairs: Pairs, headers: httpx.Headers, names: Iterable[str],
                      payload_hash: str) -> tuple[str, str]:
    """(canonical request, signed-header list): six parts joined with ``\\n``. ``names`` are the
    lower-case header names to sign; each becomes ``name:trimmed value\\n`` in sorted order."""
    ordered = sorted(set(names))
    canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in ordered)
    signed_headers = ";".join(ordered)
    canonical = "\n".join(
        [method.upper(), uri, join_pairs(sorted(pairs)), canonical_headers, signed_headers, payload_hash]
    )
    return canonical, signed_headers


def check_key_pair(id_name: str, key_id: object, secret_name: str, secret: object,
                   security_token: object) -> None:
    """Refuse a key pair that cannot sign (the messages name the parameter, never its value)."""
    for name, value in ((id_name, key_id), (secret_name, secret)):
        if not isinstance(value, str) or not value:
            raise TypeError(f"{name} must be a non-empty string")
    if security_token is not None and not isinstance(security_token, str):
        raise TypeError("security_token must be a string or None")


class SigningAuth(httpx.Auth):
    """Base of the HMAC signers: every run of the auth flow signs afresh (so a retried request gets
    a new date and nonce), and ``str`` is the secret-free ``repr``."""

    requires_request_body = True

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign_request(request)
        yield request

    def sign_request(self, request: httpx.Request) -> Signature:
        raise NotImplementedError

    def __str__(self) -> str:
        return repr(self)

    @staticmethod
    def finish(request: httpx.Request, canonical: str, signed_headers: str, string_to_sign: str,
               signature: str, authorization: str) -> Signature:
        """Put ``Authorization`` on the request; return the run's values for inspection."""
        request.headers["Authorization"] = authorization
        return Signature(canonical_request=canonical, string_to_sign=string_to_sign, signature=signature,
                         signed_headers=signed_headers, authorization=authorization)


def utc_now(clock: Clock | None) -> datetime:
    value = clock() if clock is not None else datetime.now(timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
