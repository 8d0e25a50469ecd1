"""Pin the API Gateway digest signing of providers.workshop.auth (spec workshop.md §2.1).

The worked examples are written out by hand from the spec: the string to sign as a literal, and
the Content-MD5 and signature computed outside Python with openssl::

    printf '%s' '{"name":"aimodels-pulumi"}' | openssl dgst -md5 -binary | base64
    printf '<string to sign>' | openssl dgst -sha256 -hmac '<AppSecret>' -binary | base64

so the expected values depend on neither the module nor hashlib.
"""

from __future__ import annotations

import httpx
import pytest

from providers.core import ClientSettings, RetryPolicy
from providers.core.http import ApiClient
from providers.workshop.auth import GatewayAuth, content_md5, string_to_sign, url_to_sign

APP_KEY, APP_SECRET = "203753130", "m4bRt7XqV2sLdE9pNcJ0hWyKfA3gZuT6"
NOON = 1796126400.0  # 2026-12-01T12:00:00Z
BODY = b'{"name":"aimodels-pulumi"}'

EXAMPLE_1 = (
    "POST\n"
    "application/json; charset=utf-8\n"
    "HSca6LJvtxBCi9M5lv8x2A==\n"
    "application/json; charset=utf-8\n"
    "Tue, 01 Dec 2026 12:00:00 GMT\n"
    "x-ca-key:203753130\n"
    "x-ca-nonce:c9f1e6a2-3b4d-4e5f-8a7b-1c2d3e4f5a6b\n"
    "x-ca-signature-method:HmacSHA256\n"
    "x-ca-timestamp:1796126400000\n"
    "/scc/allocate_token"
)
SIGNATURE_1 = "1f7adGhJ1BpyS24V969jRqb67QZFaKF8WqqzOG/L2f4="

EXAMPLE_2 = (
    "GET\n"
    "application/json; charset=utf-8\n"
    "\n"
    "\n"
    "Tue, 01 Dec 2026 12:00:00 GMT\n"
    "x-ca-key:203753130\n"
    "x-ca-nonce:00000000-0000-4000-8000-000000000001\n"
    "x-ca-signature-method:HmacSHA256\n"
    "x-ca-timestamp:1796126400000\n"
    "/scc/spSdModelSync?apiToken=01j1w6cxqz&flag&mode=10"
)
SIGNATURE_2 = "sHE69RNeF+cVkhKMpeSmeZcicq8hGfbcrwisGG3XjmU="


def auth(nonce: str = "c9f1e6a2-3b4d-4e5f-8a7b-1c2d3e4f5a6b", **kw) -> GatewayAuth:
    return GatewayAuth(APP_KEY, APP_SECRET, clock=lambda: NOON, nonce=lambda: nonce, **kw)


def test_example_1_post_with_a_json_body() -> None:
    request = httpx.Request("POST", "https://openai.edu-aliyun.com/scc/allocate_token", content=BODY,
                            headers={"Content-Type": "application/json; charset=utf-8"})
    assert auth().sign_request(request) == EXAMPLE_1
    h = request.headers
    assert h["content-md5"] == "HSca6LJvtxBCi9M5lv8x2A==" == content_md5(BODY)
    assert h["x-ca-signature"] == SIGNATURE_1
    assert h["date"] == "Tue, 01 Dec 2026 12:00:00 GMT" and h["x-ca-timestamp"] == "1796126400000"
    assert h["x-ca-key"] == APP_KEY and h["x-ca-signature-method"] == "HmacSHA256"
    assert h["x-ca-signature-headers"] == "x-ca-timestamp,x-ca-key,x-ca-nonce,x-ca-signature-method"
    assert h["accept"] == "application/json; charset=utf-8" and "x-ca-stage" not in h


def test_example_2_query_sorted_by_key_bare_key_and_no_body() -> None:
    request = httpx.Request("GET", "https://openai.edu-aliyun.com/scc/spSdModelSync",
                            params=[("mode", "10"), ("flag", ""), ("apiToken", "01j1w6cxqz")])
    assert auth(nonce="00000000-0000-4000-8000-000000000001").sign_request(request) == EXAMPLE_2
    assert request.headers["x-ca-signature"] == SIGNATURE_2
    assert "content-md5" not in request.headers and "content-type" not in request.headers


def test_pure_pieces() -> None:
    assert url_to_sign("/p") == "/p"
    assert url_to_sign("/p", [("b", "2"), ("a", ""), ("c", "x y")]) == "/p?a&b=2&c=x y"
    signed = {"x-ca-timestamp": "1", "x-ca-key": "k"}
    assert string_to_sign("post", "A", "", "", "D", signed, "/u") == "POST\nA\n\n\nD\nx-ca-key:k\nx-ca-timestamp:1\n/u"


def test_the_path_signed_is_the_one_on_the_wire_prefix_included() -> None:
    request = httpx.Request("POST", "http://127.0.0.1:8787/workshop/scc/spSdModelSync", content=b"{}")
    assert auth().sign_request(request).endswith("\n/workshop/scc/spSdModelSync")


def test_stage_and_caller_accept_are_kept() -> None:
    request = httpx.Request("POST", "https://h/scc/x", content=b"{}", headers={"Accept": "application/json"})
    text = auth(stage="TEST").sign_request(request)
    assert request.headers["x-ca-stage"] == "TEST" and text.split("\n")[1] == "application/json"


def test_every_send_is_signed_afresh_including_retries() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503 if len(seen) == 1 else 200, json={"data": {}})

    client = ApiClient(ClientSettings(base_url="https://h", retry=RetryPolicy(attempts=2)),
                       GatewayAuth(APP_KEY, APP_SECRET), transport=httpx.MockTransport(handler), sleep=lambda s: None)
    client.request("SyncModel", "POST", "/scc/spSdModelSync", content=b'{"a":1}', idempotent=True)
    nonces = [r.headers["x-ca-nonce"] for r in seen]
    assert len(nonces) == 2 and nonces[0] != nonces[1]
    assert all(r.headers["content-md5"] == content_md5(b'{"a":1}') for r in seen)


def test_secret_is_never_shown() -> None:
    a = GatewayAuth(APP_KEY, APP_SECRET)
    assert APP_SECRET not in repr(a) and APP_SECRET not in str(a) and APP_KEY in repr(a)
    with pytest.raises(ValueError) as err:
        GatewayAuth(APP_KEY, "")
    assert APP_KEY not in str(err.value)
