"""Pin Alibaba Cloud ACS3-HMAC-SHA256 signing (spec pai.md §7.1) for providers.pai.auth.

Worked examples are written out by hand from the specification as literal
canonical requests and strings to sign; expected signatures are recomputed
here with hashlib/hmac from those literals, independently of the module.
Example 1 is the vendor's own published example ("Request syntax and
signature method V3", fixed parameter values) and must match its published
intermediate hash and signature exactly.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from providers.pai.auth import (
    EMPTY_SHA256,
    AcsSigningError,
    AcsV3Auth,
    canonical_query_string,
    canonical_uri,
    rfc3986_encode,
)

EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _sha256_hex(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def _hmac_hex(key: str, message: str) -> str:
    return hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def _fixed_clock(*args: int):
    moment = datetime(*args, tzinfo=timezone.utc)
    return lambda: moment


class _Capture:
    """MockTransport handler that records what actually went on the wire."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[httpx.Request] = []
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        # Snapshot: a retry loop re-sends (and re-signs) the same Request object.
        self.requests.append(
            httpx.Request(
                request.method, request.url, headers=request.headers.copy(), content=request.read()
            )
        )
        return httpx.Response(self.status, json={"RequestId": "X"})


# ---------------------------------------------------------------------------
# Worked example 1: the vendor's published example, byte for byte
# ---------------------------------------------------------------------------

OFFICIAL_CANONICAL_REQUEST = """\
POST
/
ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai
host:ecs.cn-shanghai.aliyuncs.com
x-acs-action:RunInstances
x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-date:2023-10-26T10:22:32Z
x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d
x-acs-version:2014-05-26

host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"""

OFFICIAL_STRING_TO_SIGN = """\
ACS3-HMAC-SHA256
7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"""

OFFICIAL_SIGNATURE = "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"

OFFICIAL_AUTHORIZATION = (
    "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,"
    "SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;"
    "x-acs-signature-nonce;x-acs-version,"
    "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
)


def test_official_example_literals_are_self_consistent() -> None:
    # The published intermediate values follow from one another.
    assert _sha256_hex(OFFICIAL_CANONICAL_REQUEST) == OFFICIAL_STRING_TO_SIGN.split("\n")[1]
    assert _hmac_hex("YourAccessKeySecret", OFFICIAL_STRING_TO_SIGN) == OFFICIAL_SIGNATURE


def test_official_example_reproduced_exactly() -> None:
    auth = AcsV3Auth(
        "YourAccessKeyId",
        "YourAccessKeySecret",
        clock=_fixed_clock(2023, 10, 26, 10, 22, 32),
        nonce=lambda: "3156853299f313e23d1673dc12e1703d",
        version="2014-05-26",
    )
    request = httpx.Request(
        "POST",
        "https://ecs.cn-shanghai.aliyuncs.com/",
        params={
            "ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
            "RegionId": "cn-shanghai",
        },
        extensions={"acs_action": "RunInstances"},
    )
    result = auth.sign_request(request)
    assert result.canonical_request == OFFICIAL_CANONICAL_REQUEST
    assert result.string_to_sign == OFFICIAL_STRING_TO_SIGN
    assert result.signature == OFFICIAL_SIGNATURE
    assert request.headers["Authorization"] == OFFICIAL_AUTHORIZATION
    assert request.headers["x-acs-date"] == "2023-10-26T10:22:32Z"
    assert request.headers["x-acs-content-sha256"] == EMPTY


# ---------------------------------------------------------------------------
# Worked example 2: CreateModel, JSON body, through a real httpx.Client
# ---------------------------------------------------------------------------

CREATE_BODY = b'{"ModelName":"demo-model","Accessibility":"PRIVATE"}'
CREATE_BODY_SHA256 = "ccfedfb76e61487006668833741422d2646037f14f80668411b46d76bff19c99"

CREATE_CANONICAL_REQUEST = """\
POST
/api/v1/models

content-type:application/json; charset=utf-8
host:aiworkspace.cn-hangzhou.aliyuncs.com
x-acs-action:CreateModel
x-acs-content-sha256:ccfedfb76e61487006668833741422d2646037f14f80668411b46d76bff19c99
x-acs-date:2024-05-01T08:30:05Z
x-acs-signature-nonce:a1b2c3d4e5f60718293a4b5c6d7e8f90
x-acs-version:2021-02-04

content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version
ccfedfb76e61487006668833741422d2646037f14f80668411b46d76bff19c99"""

CREATE_STRING_TO_SIGN = """\
ACS3-HMAC-SHA256
40c45d8f613884ef2051683af9d8f801e6033b19a073a60e98f08983a8cb856a"""

CREATE_SIGNATURE = "bd56da8a87a1a791843df36dafd4b8eee4735f98b6fe48a79e765e1e4e50aa67"


def test_create_model_worked_example() -> None:
    assert _sha256_hex(CREATE_BODY) == CREATE_BODY_SHA256
    assert _sha256_hex(CREATE_CANONICAL_REQUEST) == CREATE_STRING_TO_SIGN.split("\n")[1]
    expected_signature = _hmac_hex("ExampleSecret/Key+0123456789", CREATE_STRING_TO_SIGN)
    assert expected_signature == CREATE_SIGNATURE

    auth = AcsV3Auth(
        "LTAI5tExampleKeyId",
        "ExampleSecret/Key+0123456789",
        clock=_fixed_clock(2024, 5, 1, 8, 30, 5),
        nonce=lambda: "a1b2c3d4e5f60718293a4b5c6d7e8f90",
    )
    capture = _Capture()
    with httpx.Client(auth=auth, transport=httpx.MockTransport(capture)) as client:
        client.post(
            "https://aiworkspace.cn-hangzhou.aliyuncs.com/api/v1/models",
            content=CREATE_BODY,
            headers={"Content-Type": "application/json; charset=utf-8"},
            extensions={"acs_action": "CreateModel"},
        )
    (sent,) = capture.requests
    # httpx's own accept / accept-encoding / connection / user-agent / content-length
    # headers are on the request, but must not be signed.
    assert "user-agent" in sent.headers and "content-length" in sent.headers
    assert sent.headers["Authorization"] == (
        "ACS3-HMAC-SHA256 Credential=LTAI5tExampleKeyId,"
        "SignedHeaders=content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;"
        f"x-acs-signature-nonce;x-acs-version,Signature={expected_signature}"
    )
    assert sent.headers["x-acs-content-sha256"] == CREATE_BODY_SHA256
    assert sent.headers["x-acs-version"] == "2021-02-04"
    assert sent.headers["x-acs-action"] == "CreateModel"
    assert sent.content == CREATE_BODY

    # and the intermediate strings, via the inspection entry point
    again = httpx.Request(
        "POST",
        "https://aiworkspace.cn-hangzhou.aliyuncs.com/api/v1/models",
        content=CREATE_BODY,
        headers={"Content-Type": "application/json; charset=utf-8"},
        extensions={"acs_action": "CreateModel"},
    )
    result = auth.sign_request(again)
    assert result.canonical_request == CREATE_CANONICAL_REQUEST
    assert result.string_to_sign == CREATE_STRING_TO_SIGN
    assert result.signature == CREATE_SIGNATURE


# ---------------------------------------------------------------------------
# Worked example 3: GET with awkward query, STS credentials
# ---------------------------------------------------------------------------

LIST_CANONICAL_REQUEST = """\
GET
/api/v1/models/model-abc/versions
Label=team%20a%2Ab~&Order=&PageNumber=1&PageSize=10&Query=%E6%A8%A1%E5%9E%8B&VersionName=1.0.0_beta
host:aiworkspace.cn-hangzhou.aliyuncs.com
x-acs-accesskey-id:STS.NExampleKeyId
x-acs-action:ListModelVersions
x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-date:2024-05-01T08:30:05Z
x-acs-security-token:CAIS+example/token==
x-acs-signature-nonce:0f0e0d0c0b0a09080706050403020100
x-acs-version:2021-02-04

host;x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"""

LIST_STRING_TO_SIGN = """\
ACS3-HMAC-SHA256
f0d1a9be90838e1051da5d4baea9d83f30a34a5c37b1d10ea96487ee93e9b037"""

LIST_SIGNATURE = "1186338dad1495b9129c00ac39f799d2527bc7fd6739118a77e0cd6c4f8111a0"


def test_list_versions_sts_worked_example() -> None:
    assert "模型".encode("utf-8").hex() == "e6a8a1e59e8b"
    assert _sha256_hex(LIST_CANONICAL_REQUEST) == LIST_STRING_TO_SIGN.split("\n")[1]
    assert _hmac_hex("StsExampleSecret", LIST_STRING_TO_SIGN) == LIST_SIGNATURE

    auth = AcsV3Auth(
        "STS.NExampleKeyId",
        "StsExampleSecret",
        security_token="CAIS+example/token==",
        clock=_fixed_clock(2024, 5, 1, 8, 30, 5),
        nonce=lambda: "0f0e0d0c0b0a09080706050403020100",
    )
    request = httpx.Request(
        "GET",
        "https://aiworkspace.cn-hangzhou.aliyuncs.com/api/v1/models/model-abc/versions",
        params=[
            ("PageSize", "10"),
            ("Label", "team a*b~"),
            ("PageNumber", "1"),
            ("Order", ""),
            ("VersionName", "1.0.0_beta"),
            ("Query", "模型"),
        ],
        headers={"x-acs-action": "ListModelVersions"},
    )
    result = auth.sign_request(request)
    assert result.canonical_request == LIST_CANONICAL_REQUEST
    assert result.string_to_sign == LIST_STRING_TO_SIGN
    assert request.headers["Authorization"].endswith(f",Signature={LIST_SIGNATURE}")
    assert request.headers["x-acs-security-token"] == "CAIS+example/token=="
    assert request.headers["x-acs-accesskey-id"] == "STS.NExampleKeyId"
    # The wire query is the strict RFC 3986 form, original order kept.
    assert request.url.query == (
        b"PageSize=10&Label=team%20a%2Ab~&PageNumber=1&Order="
        b"&VersionName=1.0.0_beta&Query=%E6%A8%A1%E5%9E%8B"
    )


# ---------------------------------------------------------------------------
# RFC 3986 encoding edge cases
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("a b", "a%20b"),
        ("~", "~"),
        ("*", "%2A"),
        ("a+b", "a%2Bb"),
        ("/", "%2F"),
        ("AZaz09-_.~", "AZaz09-_.~"),
        ("!'()", "%21%27%28%29"),
        ('"', "%22"),
        ("一", "%E4%B8%80"),
        ("é", "%C3%A9"),
        ("😀", "%F0%9F%98%80"),
        ("", ""),
    ],
)
def test_rfc3986_encode(raw: str, encoded: str) -> None:
    assert rfc3986_encode(raw) == encoded


@pytest.mark.parametrize(
    ("raw_path", "expected"),
    [
        ("", "/"),
        ("/", "/"),
        ("/api/v1/models", "/api/v1/models"),
        ("/api/v1/models/a%20b", "/api/v1/models/a%20b"),
        ("/api/v1/models/a*b", "/api/v1/models/a%2Ab"),
        ("/api/v1/models/%7Eme~", "/api/v1/models/~me~"),
        ("/api/v1/models/x%2Fy", "/api/v1/models/x%2Fy"),  # encoded slash stays in its segment
        ("/api/v1/models/%e4%b8%80", "/api/v1/models/%E4%B8%80"),
        ("/api/v1/models/m+1", "/api/v1/models/m%2B1"),  # '+' in a path is a literal plus
        ("/api/v1/models/v1.0.0_beta/", "/api/v1/models/v1.0.0_beta/"),
    ],
)
def test_canonical_uri(raw_path: str, expected: str) -> None:
    assert canonical_uri(raw_path) == expected


def test_canonical_uri_from_httpx_url_and_wire_path_rewritten() -> None:
    auth = AcsV3Auth("ak", "sk", nonce=lambda: "n")
    request = httpx.Request(
        "GET", "https://h.example.com/api/v1/models/a b*(c)~/一", extensions={"acs_action": "GetModel"}
    )
    result = auth.sign_request(request)
    expected = "/api/v1/models/a%20b%2A%28c%29~/%E4%B8%80"
    assert result.canonical_request.split("\n")[1] == expected
    assert request.url.raw_path == expected.encode()  # signed path == path on the wire


@pytest.mark.parametrize(
    ("raw_query", "expected"),
    [
        ("", ""),
        ("b=2&a=1", "a=1&b=2"),
        ("k=2&k=1&k=", "k=&k=1&k=2"),  # repeated keys: by name, then value
        ("empty=&bare&x=1", "bare=&empty=&x=1"),  # empty value / bare name -> "name="
        ("q=a+b", "q=a%20b"),  # '+' is a form-encoded space
        ("q=a%2Bb", "q=a%2Bb"),  # a real plus
        ("q=a%20b*~", "q=a%20b%2A~"),
        ("q=%7E", "q=~"),
        ("p=%2Ftmp%2F1", "p=%2Ftmp%2F1"),
        ("%E4%B8%80=1&a=2", "a=2&%E4%B8%80=1"),  # sorted by decoded name
        ("a=1&&b=2", "a=1&b=2"),
        ("B=1&a=1", "B=1&a=1"),  # code-point order: upper case first
    ],
)
def test_canonical_query_string(raw_query: str, expected: str) -> None:
    assert canonical_query_string(raw_query) == expected


# ---------------------------------------------------------------------------
# Behaviour of the auth flow
# ---------------------------------------------------------------------------


def test_empty_body_hash_and_no_content_type_signed() -> None:
    assert EMPTY_SHA256 == EMPTY == _sha256_hex(b"")
    auth = AcsV3Auth("ak", "sk", nonce=lambda: "n", clock=_fixed_clock(2024, 1, 1))
    request = httpx.Request(
        "DELETE", "https://h.example.com/api/v1/models/m", extensions={"acs_action": "DeleteModel"}
    )
    result = auth.sign_request(request)
    assert request.headers["x-acs-content-sha256"] == EMPTY
    assert result.canonical_request.endswith("\n" + EMPTY)
    assert "content-type" not in result.signed_headers


def test_fresh_nonce_and_date_for_every_send_including_retries() -> None:
    counter = iter(range(1000))
    moments = iter(datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=i) for i in range(100))
    auth = AcsV3Auth(
        "ak", "sk", nonce=lambda: f"nonce-{next(counter)}", clock=lambda: next(moments)
    )
    capture = _Capture(status=503)
    with httpx.Client(auth=auth, transport=httpx.MockTransport(capture)) as client:
        request = client.build_request(
            "POST",
            "https://h.example.com/api/v1/models",
            json={"ModelName": "m"},
            extensions={"acs_action": "CreateModel"},
        )
        for _ in range(3):  # a retry loop re-sending the very same Request object
            client.send(request)
        client.get("https://h.example.com/api/v1/models", extensions={"acs_action": "ListModels"})

    nonces = [r.headers["x-acs-signature-nonce"] for r in capture.requests]
    assert nonces == ["nonce-0", "nonce-1", "nonce-2", "nonce-3"]
    dates = [r.headers["x-acs-date"] for r in capture.requests]
    assert len(set(dates)) == 4
    signatures = {r.headers["Authorization"] for r in capture.requests}
    assert len(signatures) == 4
    for sent in capture.requests:  # no stale duplicates left behind by earlier signings
        assert len(sent.headers.get_list("authorization")) == 1
        assert len(sent.headers.get_list("x-acs-signature-nonce")) == 1


def test_default_nonce_is_unique_per_request() -> None:
    auth = AcsV3Auth("ak", "sk")
    capture = _Capture()
    with httpx.Client(auth=auth, transport=httpx.MockTransport(capture)) as client:
        request = client.build_request(
            "GET", "https://h.example.com/api/v1/models", extensions={"acs_action": "ListModels"}
        )
        for _ in range(20):
            client.send(request)
    nonces = {r.headers["x-acs-signature-nonce"] for r in capture.requests}
    assert len(nonces) == 20


def test_date_format_is_utc_without_fraction() -> None:
    eastern = timezone(timedelta(hours=8))
    auth = AcsV3Auth(
        "ak",
        "sk",
        nonce=lambda: "n",
        clock=lambda: datetime(2024, 3, 9, 7, 5, 3, 987654, tzinfo=eastern),
    )
    request = httpx.Request("GET", "https://h.example.com/", extensions={"acs_action": "A"})
    auth.sign_request(request)
    assert request.headers["x-acs-date"] == "2024-03-08T23:05:03Z"
    # an epoch-seconds clock works too
    auth = AcsV3Auth("ak", "sk", nonce=lambda: "n", clock=lambda: 0.0)
    auth.sign_request(request)
    assert request.headers["x-acs-date"] == "1970-01-01T00:00:00Z"


def test_action_resolution_order() -> None:
    resolver_calls: list[str] = []

    def resolver(request: httpx.Request) -> str:
        resolver_calls.append(request.method)
        return "FromResolver"

    auth = AcsV3Auth("ak", "sk", action_resolver=resolver, nonce=lambda: "n")

    r1 = httpx.Request(
        "GET",
        "https://h.example.com/",
        headers={"x-acs-action": "FromHeader"},
        extensions={"acs_action": "FromExtension"},
    )
    auth.sign_request(r1)
    assert r1.headers["x-acs-action"] == "FromExtension"

    r2 = httpx.Request("GET", "https://h.example.com/", headers={"x-acs-action": "FromHeader"})
    auth.sign_request(r2)
    assert r2.headers["x-acs-action"] == "FromHeader"

    r3 = httpx.Request("GET", "https://h.example.com/")
    auth.sign_request(r3)
    assert r3.headers["x-acs-action"] == "FromResolver"
    assert resolver_calls == ["GET"]


def test_missing_action_is_refused_without_leaking_the_secret() -> None:
    auth = AcsV3Auth("ak", "TopSecretValue", nonce=lambda: "n")
    with pytest.raises(AcsSigningError) as excinfo:
        with httpx.Client(auth=auth, transport=httpx.MockTransport(_Capture())) as client:
            client.get("https://h.example.com/api/v1/models")
    assert "TopSecretValue" not in str(excinfo.value)
    assert "TopSecretValue" not in repr(excinfo.value)


def test_version_override_via_extension() -> None:
    auth = AcsV3Auth("ak", "sk", nonce=lambda: "n")
    request = httpx.Request(
        "GET", "https://h.example.com/", extensions={"acs_action": "A", "acs_version": "2099-01-01"}
    )
    auth.sign_request(request)
    assert request.headers["x-acs-version"] == "2099-01-01"


def test_header_values_are_trimmed_and_host_port_kept() -> None:
    auth = AcsV3Auth("ak", "sk", nonce=lambda: "n", clock=_fixed_clock(2024, 1, 1))
    request = httpx.Request(
        "POST",
        "http://127.0.0.1:8123/api/v1/models",
        content=b"{}",
        headers={"Content-Type": "  application/json; charset=utf-8  ", "x-acs-extra": " v  1 "},
        extensions={"acs_action": "CreateModel"},
    )
    result = auth.sign_request(request)
    lines = result.canonical_request.split("\n")
    assert "content-type:application/json; charset=utf-8" in lines
    assert "host:127.0.0.1:8123" in lines
    assert "x-acs-extra:v  1" in lines  # only leading/trailing whitespace goes
    assert result.signed_headers == (
        "content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-extra;"
        "x-acs-signature-nonce;x-acs-version"
    )


def test_streaming_body_is_read_and_hashed() -> None:
    def chunks():
        yield b'{"Model'
        yield b'Name":"m"}'

    auth = AcsV3Auth("ak", "sk", nonce=lambda: "n")
    capture = _Capture()
    with httpx.Client(auth=auth, transport=httpx.MockTransport(capture)) as client:
        client.post(
            "https://h.example.com/api/v1/models",
            content=chunks(),
            extensions={"acs_action": "CreateModel"},
        )
    (sent,) = capture.requests
    assert sent.headers["x-acs-content-sha256"] == _sha256_hex(b'{"ModelName":"m"}')


def test_async_client() -> None:
    auth = AcsV3Auth(
        "LTAI5tExampleKeyId",
        "ExampleSecret/Key+0123456789",
        clock=_fixed_clock(2024, 5, 1, 8, 30, 5),
        nonce=lambda: "a1b2c3d4e5f60718293a4b5c6d7e8f90",
    )
    capture = _Capture()

    async def run() -> None:
        async with httpx.AsyncClient(auth=auth, transport=httpx.MockTransport(capture)) as client:
            await client.post(
                "https://aiworkspace.cn-hangzhou.aliyuncs.com/api/v1/models",
                content=CREATE_BODY,
                headers={"Content-Type": "application/json; charset=utf-8"},
                extensions={"acs_action": "CreateModel"},
            )

    asyncio.run(run())
    (sent,) = capture.requests
    assert sent.headers["Authorization"].endswith(f",Signature={CREATE_SIGNATURE}")


def test_secret_and_token_masked_in_repr_and_str() -> None:
    auth = AcsV3Auth("LTAIvisible", "TopSecretValue", security_token="StsTokenValue")
    for text in (repr(auth), str(auth), f"{auth}"):
        assert "TopSecretValue" not in text
        assert "StsTokenValue" not in text
        assert "***" in text
        assert "LTAIvisible" in text


def test_constructor_errors_do_not_echo_values() -> None:
    with pytest.raises(TypeError) as excinfo:
        AcsV3Auth("ak", b"bytes-secret")  # type: ignore[arg-type]
    assert "bytes-secret" not in str(excinfo.value)
    with pytest.raises(TypeError):
        AcsV3Auth("", "sk")
