"""Alibaba Cloud API Gateway digest signing (AppKey/AppSecret, HmacSHA256) as an ``httpx.Auth``.

Specification: the API gateway's "Use digest authentication to call an API"
(https://www.alibabacloud.com/help/doc-detail/29475.htm), as the official SpeedPix SDK applies it
to ``openai.edu-aliyun.com``; the Workshop pages: https://help.aliyun.com/en/document_detail/2834502.html
(model sync) and .../2834729.html (allocate token).

For every request (and afresh for every retry) the flow sets:

    Accept                   application/json; charset=utf-8 (unless the caller chose one)
    Content-Type             application/json; charset=utf-8 when a body is sent (unless set)
    Content-MD5              base64(MD5(body bytes)), only when a body is sent
    Date                     RFC 1123, GMT
    X-Ca-Key                 the AppKey
    X-Ca-Timestamp           epoch milliseconds
    X-Ca-Nonce               a fresh UUID4 (single use)
    X-Ca-Signature-Method    HmacSHA256
    X-Ca-Signature-Headers   x-ca-timestamp,x-ca-key,x-ca-nonce,x-ca-signature-method
    X-Ca-Stage               only when a stage is configured (RELEASE, PRE, TEST)
    X-Ca-Signature           base64(HMAC-SHA256(AppSecret, string to sign))

String to sign: the lines ``METHOD``, ``Accept``, ``Content-MD5`` (empty without a body),
``Content-Type``, ``Date``, then one ``name:value`` line per signed header sorted by name, then
the path (with ``?k=v&...`` sorted by key when there is a query; a key without value is written
bare), joined with ``\\n``. The path is the one on the wire, including any prefix of the base URL.

The body is hashed as sent, so the client serialises JSON once and sends those bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Generator, Mapping
from email.utils import formatdate

import httpx

from providers.core import signing

JSON = "application/json; charset=utf-8"
METHOD = "HmacSHA256"
# The order the official SDK lists them in; the gateway sorts them itself.
SIGNED_HEADERS = ("x-ca-timestamp", "x-ca-key", "x-ca-nonce", "x-ca-signature-method")


def content_md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def url_to_sign(path: str, query: list[tuple[str, str]] = ()) -> str:
    """The last line: the path, then ``?`` and the query pairs sorted by key (values decoded)."""
    if not query:
        return path
    parts = [k if v == "" else f"{k}={v}" for k, v in sorted(query, key=lambda kv: kv[0])]
    return f"{path}?{'&'.join(parts)}"


def string_to_sign(method: str, accept: str, md5: str, content_type: str, date: str,
                   signed: Mapping[str, str], url: str) -> str:
    lines = [method.upper(), accept, md5, content_type, date]
    lines += [f"{name}:{signed[name]}" for name in sorted(signed)]
    lines.append(url)
    return "\n".join(lines)


def sign(secret: str, text: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()).decode()


class GatewayAuth(httpx.Auth):
    """Signs each request with the AppKey/AppSecret pair. Holds the secret; never prints it."""

    requires_request_body = True

    def __init__(self, app_key: str, app_secret: str, *, stage: str | None = None,
                 clock: Callable[[], float] | None = None, nonce: Callable[[], str] | None = None) -> None:
        if not app_key or not app_secret:
            raise ValueError("GatewayAuth needs an AppKey and an AppSecret")
        self.app_key = app_key
        self._secret = app_secret
        self.stage = stage
        self._clock = clock or time.time
        self._nonce = nonce or (lambda: str(uuid.uuid4()))

    def __repr__(self) -> str:
        return f"GatewayAuth(app_key={self.app_key!r}, app_secret=***)"

    __str__ = __repr__

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign_request(request)
        yield request

    def sign_request(self, request: httpx.Request) -> str:
        """Set the gateway headers on ``request``; returns the string that was signed."""
        body = request.content
        now = self._clock()
        h = request.headers
        h.pop("x-ca-signature", None)
        if h.get("accept") in (None, "", "*/*"):
            h["Accept"] = JSON
        if body:
            h.setdefault("Content-Type", JSON)
            h["Content-MD5"] = content_md5(body)
        else:
            h.pop("content-md5", None)
        h["Date"] = formatdate(now, usegmt=True)
        signed = {"x-ca-key": self.app_key, "x-ca-timestamp": str(int(now * 1000)), "x-ca-nonce": self._nonce(),
                  "x-ca-signature-method": METHOD}
        for name, value in signed.items():
            h[name] = value
        h["x-ca-signature-headers"] = ",".join(SIGNED_HEADERS)
        if self.stage:
            h["x-ca-stage"] = self.stage
        raw = request.url.raw_path.decode("ascii")
        path, _, query = raw.partition("?")
        pairs = [(k.decode("utf-8"), v.decode("utf-8")) for k, v in signing.parse_query(query)]
        text = string_to_sign(request.method, h.get("accept", ""), h.get("content-md5", ""),
                              h.get("content-type", ""), h["date"], signed, url_to_sign(path, pairs))
        h["x-ca-signature"] = sign(self._secret, text)
        return text
