"""Pin Huawei Cloud SDK-HMAC-SHA256 signing and IAM token auth (spec fabric.md §7).

Worked examples are written out by hand from the specification as literal
canonical requests and strings to sign; expected signatures are recomputed
here with hashlib/hmac from those literals, independently of the module.
Examples 1-2 and the canonical-query vector are the vendor's official SDK
test vectors (AK "AccessKey", SK "SecretKey", X-Sdk-Date 20200608T023900Z, an
underscored header that must stay unsigned) and must match exactly.

IamTokenAuth is exercised with httpx.MockTransport standing in for the IAM
endpoint and the service: these are unit tests of the auth-flow logic only.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from providers.fabric.auth import (
    EMPTY_SHA256,
    IamTokenAuth,
    IamTokenError,
    SdkHmacAuth,
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


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class _Capture:
    """MockTransport handler recording a snapshot of each request as sent."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[httpx.Request] = []
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(
            httpx.Request(
                request.method, request.url, headers=request.headers.copy(), content=request.read()
            )
        )
        return httpx.Response(self.status, json={})


# ---------------------------------------------------------------------------
# Worked examples 1 and 2: the vendor's official SDK test vectors
# ---------------------------------------------------------------------------

OFFICIAL_GET_CANONICAL_REQUEST = """\
GET
/resources/
size=1
host:service.endpoint.myhuaweicloud.com
x-sdk-date:20200608T023900Z

host;x-sdk-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"""

OFFICIAL_GET_STRING_TO_SIGN = """\
SDK-HMAC-SHA256
20200608T023900Z
de94dd1e1ccdb730b403ce35d7e14f7c7b04337f6def1c3a3a2ba936852b133f"""

OFFICIAL_GET_AUTHORIZATION = (
    "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, "
    "Signature=cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842"
)

OFFICIAL_POST_BODY = b'{"name":"test","id":1}'

OFFICIAL_POST_CANONICAL_REQUEST = """\
POST
/resources/
size=1
host:service.endpoint.myhuaweicloud.com
x-sdk-date:20200608T023900Z

host;x-sdk-date
8ed555081b9961769014bc1182c629bb0fe68d7b01c1fc1caab4dc791f377e8c"""

OFFICIAL_POST_STRING_TO_SIGN = """\
SDK-HMAC-SHA256
20200608T023900Z
2b1b2515e48cb55e043ff2ec5b93d3f13ec287e1da1d7a2e4e14b0611a341969"""

OFFICIAL_POST_AUTHORIZATION = (
    "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, "
    "Signature=436b1ac0a1ae03705934bb70ef2f2e09f7bfed2117d731a38235053199323a1f"
)


def _official_auth() -> SdkHmacAuth:
    return SdkHmacAuth("AccessKey", "SecretKey", clock=_fixed_clock(2020, 6, 8, 2, 39, 0))


def test_official_vectors_literals_are_self_consistent() -> None:
    assert _sha256_hex(OFFICIAL_POST_BODY) == OFFICIAL_POST_CANONICAL_REQUEST.rsplit("\n", 1)[1]
    for canonical, to_sign, authorization in (
        (OFFICIAL_GET_CANONICAL_REQUEST, OFFICIAL_GET_STRING_TO_SIGN, OFFICIAL_GET_AUTHORIZATION),
        (OFFICIAL_POST_CANONICAL_REQUEST, OFFICIAL_POST_STRING_TO_SIGN, OFFICIAL_POST_AUTHORIZATION),
    ):
        assert _sha256_hex(canonical) == to_sign.split("\n")[2]
        assert authorization.endswith("Signature=" + _hmac_hex("SecretKey", to_sign))


@pytest.mark.parametrize(
    ("method", "body", "canonical", "to_sign", "authorization"),
    [
        (
            "GET",
            None,
            OFFICIAL_GET_CANONICAL_REQUEST,
            OFFICIAL_GET_STRING_TO_SIGN,
            OFFICIAL_GET_AUTHORIZATION,
        ),
        (
            "POST",
            OFFICIAL_POST_BODY,
            OFFICIAL_POST_CANONICAL_REQUEST,
            OFFICIAL_POST_STRING_TO_SIGN,
            OFFICIAL_POST_AUTHORIZATION,
        ),
    ],
)
def test_official_vectors_reproduced_exactly(method, body, canonical, to_sign, authorization) -> None:
    request = httpx.Request(
        method,
        "https://service.endpoint.myhuaweicloud.com/resources",
        params=[("size", "1")],
        headers={"TEST_UNDERSCORE": "TEST_VALUE"},
        content=body,
    )
    result = _official_auth().sign_request(request)
    assert result.canonical_request == canonical
    assert result.string_to_sign == to_sign
    assert request.headers["Authorization"] == authorization
    assert request.headers["X-Sdk-Date"] == "20200608T023900Z"
    assert request.headers["TEST_UNDERSCORE"] == "TEST_VALUE"  # sent, just not signed


def test_official_canonical_query_vector() -> None:
    request = httpx.Request(
        "GET",
        "https://service.endpoint.myhuaweicloud.com/resources",
        params=[
            ("limit", 1),
            ("enable", True),
            ("test", "一 (&=?!#%.*)"),
            ("path", "/tmp/123"),
            ("multi", 1),
            ("multi", 2),
            ("multi", 3),
        ],
    )
    assert canonical_query_string(request.url.query.decode("ascii")) == (
        "enable=true&limit=1&multi=1&multi=2&multi=3"
        "&path=%2Ftmp%2F123&test=%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29"
    )


# ---------------------------------------------------------------------------
# Worked example 3: ListModels through a real httpx.Client, project id
# ---------------------------------------------------------------------------

LIST_CANONICAL_REQUEST = """\
GET
/v1/workspaces/ws%2001/models/
limit=10&name=llama%203%2A&offset=0&sort_by=CREATE_TIME
accept:application/json
host:fabric.cn-north-4.myhuaweicloud.com
user-agent:aimodels-iac/0.1
x-project-id:0123456789abcdef0123456789abcdef
x-sdk-date:20250315T120000Z

accept;host;user-agent;x-project-id;x-sdk-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"""

LIST_STRING_TO_SIGN = """\
SDK-HMAC-SHA256
20250315T120000Z
1ec7fe13913a079ecedfeaf53a1fd5d03419b3a34d49c5c2f5614e2139310650"""

LIST_SIGNATURE = "4f7025daf9366e94871e929e1df04f89022e63bcc7a90aa4009489da35c6dc97"

PROJECT = "0123456789abcdef0123456789abcdef"


def _client(auth: httpx.Auth, capture) -> httpx.Client:
    return httpx.Client(
        auth=auth,
        transport=httpx.MockTransport(capture),
        headers={"User-Agent": "aimodels-iac/0.1", "Accept": "application/json"},
    )


def test_list_models_worked_example() -> None:
    assert _sha256_hex(LIST_CANONICAL_REQUEST) == LIST_STRING_TO_SIGN.split("\n")[2]
    expected_signature = _hmac_hex("FabricExampleSK0123456789", LIST_STRING_TO_SIGN)
    assert expected_signature == LIST_SIGNATURE

    auth = SdkHmacAuth(
        "FABRICEXAMPLEAK", "FabricExampleSK0123456789", project_id=PROJECT,
        clock=_fixed_clock(2025, 3, 15, 12, 0, 0),
    )
    capture = _Capture()
    with _client(auth, capture) as client:
        client.get(
            "https://fabric.cn-north-4.myhuaweicloud.com/v1/workspaces/ws 01/models",
            params=[("name", "llama 3*"), ("limit", "10"), ("offset", "0"), ("sort_by", "CREATE_TIME")],
            headers={"X_Trace_Id": "abc"},
        )
    (sent,) = capture.requests
    # transport headers are present but unsigned; the underscored header too
    for present in ("accept-encoding", "connection", "x_trace_id"):
        assert present in sent.headers
    assert sent.headers["Authorization"] == (
        "SDK-HMAC-SHA256 Access=FABRICEXAMPLEAK, "
        "SignedHeaders=accept;host;user-agent;x-project-id;x-sdk-date, "
        f"Signature={expected_signature}"
    )
    assert sent.headers["X-Project-Id"] == PROJECT
    assert sent.url.query == b"name=llama%203%2A&limit=10&offset=0&sort_by=CREATE_TIME"

    result = auth.sign_request(
        httpx.Request(
            "GET",
            "https://fabric.cn-north-4.myhuaweicloud.com/v1/workspaces/ws%2001/models"
            "?name=llama+3*&limit=10&offset=0&sort_by=CREATE_TIME",
            headers={"User-Agent": "aimodels-iac/0.1", "Accept": "application/json"},
        )
    )
    assert result.canonical_request == LIST_CANONICAL_REQUEST
    assert result.string_to_sign == LIST_STRING_TO_SIGN
    assert result.signature == LIST_SIGNATURE


# ---------------------------------------------------------------------------
# Worked example 4: UpdateModelDefinition, JSON body
# ---------------------------------------------------------------------------

UPDATE_BODY = b'{"name":"demo","description":"v2"}'
UPDATE_BODY_SHA256 = "0f3307b934b1d32dd5b6281a9f67a150634c280cedaa54a22d55da134a09d5f7"

UPDATE_CANONICAL_REQUEST = """\
PUT
/v1/workspaces/ws-01/models/8f14e45f-ceea-467f-a0f5-6d6e2f5b0c11/

accept:application/json
content-type:application/json;charset=UTF-8
host:fabric.cn-north-4.myhuaweicloud.com
user-agent:aimodels-iac/0.1
x-project-id:0123456789abcdef0123456789abcdef
x-sdk-date:20250315T120000Z

accept;content-type;host;user-agent;x-project-id;x-sdk-date
0f3307b934b1d32dd5b6281a9f67a150634c280cedaa54a22d55da134a09d5f7"""

UPDATE_STRING_TO_SIGN = """\
SDK-HMAC-SHA256
20250315T120000Z
78c74cc6925dfe5e2cb35b7613c8f86f8263d7880653edc10ab95b66258072ba"""

UPDATE_SIGNATURE = "2b23f0e14dbc843891a02d1af702236114b3baceb45da021aa2c641f5ddd38e2"


def test_update_model_worked_example() -> None:
    assert _sha256_hex(UPDATE_BODY) == UPDATE_BODY_SHA256
    assert _sha256_hex(UPDATE_CANONICAL_REQUEST) == UPDATE_STRING_TO_SIGN.split("\n")[2]
    assert _hmac_hex("FabricExampleSK0123456789", UPDATE_STRING_TO_SIGN) == UPDATE_SIGNATURE

    auth = SdkHmacAuth(
        "FABRICEXAMPLEAK", "FabricExampleSK0123456789", project_id=PROJECT,
        clock=_fixed_clock(2025, 3, 15, 12, 0, 0),
    )
    capture = _Capture()
    url = (
        "https://fabric.cn-north-4.myhuaweicloud.com"
        "/v1/workspaces/ws-01/models/8f14e45f-ceea-467f-a0f5-6d6e2f5b0c11"
    )
    with _client(auth, capture) as client:
        client.put(url, content=UPDATE_BODY, headers={"Content-Type": "application/json;charset=UTF-8"})
    (sent,) = capture.requests
    assert sent.headers["Authorization"] == (
        "SDK-HMAC-SHA256 Access=FABRICEXAMPLEAK, "
        "SignedHeaders=accept;content-type;host;user-agent;x-project-id;x-sdk-date, "
        f"Signature={UPDATE_SIGNATURE}"
    )
    assert "x-sdk-content-sha256" not in sent.headers  # JSON bodies are hashed

    result = auth.sign_request(
        httpx.Request(
            "PUT",
            url,
            content=UPDATE_BODY,
            headers={
                "User-Agent": "aimodels-iac/0.1",
                "Accept": "application/json",
                "Content-Type": "application/json;charset=UTF-8",
            },
        )
    )
    assert result.canonical_request == UPDATE_CANONICAL_REQUEST
    assert result.string_to_sign == UPDATE_STRING_TO_SIGN


def test_non_json_body_uses_unsigned_payload() -> None:
    auth = SdkHmacAuth("ak", "sk", clock=_fixed_clock(2025, 3, 15, 12, 0, 0))
    request = httpx.Request(
        "POST",
        "https://h.example.com/upload",
        content=b"\x00\x01binary",
        headers={"Content-Type": "application/octet-stream"},
    )
    result = auth.sign_request(request)
    assert request.headers["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"
    expected = (
        "POST\n/upload/\n\n"
        "content-type:application/octet-stream\n"
        "host:h.example.com\n"
        "x-sdk-content-sha256:UNSIGNED-PAYLOAD\n"
        "x-sdk-date:20250315T120000Z\n"
        "\n"
        "content-type;host;x-sdk-content-sha256;x-sdk-date\n"
        "UNSIGNED-PAYLOAD"
    )
    assert result.canonical_request == expected
    to_sign = f"SDK-HMAC-SHA256\n20250315T120000Z\n{_sha256_hex(expected)}"
    assert result.string_to_sign == to_sign
    assert result.signature == _hmac_hex("sk", to_sign)

    # a body-less request never claims UNSIGNED-PAYLOAD: it hashes the empty string
    bare = httpx.Request("GET", "https://h.example.com/x", headers={"Content-Type": "text/plain"})
    result = auth.sign_request(bare)
    assert "x-sdk-content-sha256" not in bare.headers
    assert result.canonical_request.endswith("\n" + EMPTY)


# ---------------------------------------------------------------------------
# Encoding edge cases
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("a b", "a%20b"),
        ("~", "~"),
        ("*", "%2A"),
        ("/", "%2F"),
        ("a+b", "a%2Bb"),
        ("AZaz09-_.~", "AZaz09-_.~"),
        ("一", "%E4%B8%80"),
        ("😀", "%F0%9F%98%80"),
    ],
)
def test_rfc3986_encode(raw: str, encoded: str) -> None:
    assert rfc3986_encode(raw) == encoded


@pytest.mark.parametrize(
    ("raw_path", "expected"),
    [
        ("/", "/"),
        ("", "/"),
        ("/v1/base-models", "/v1/base-models/"),  # trailing slash appended
        ("/v1/base-models/", "/v1/base-models/"),  # ... but never doubled
        ("/v1/workspaces/ws%2001/models", "/v1/workspaces/ws%2001/models/"),
        ("/v1/a*b/~c/%7Ed", "/v1/a%2Ab/~c/~d/"),
        ("/v1/%E4%B8%80", "/v1/%E4%B8%80/"),
        ("/v1/x%2Fy", "/v1/x/y/"),  # whole path decoded first: %2F is a separator
        ("/v1/m+1", "/v1/m%2B1/"),
    ],
)
def test_canonical_uri(raw_path: str, expected: str) -> None:
    assert canonical_uri(raw_path) == expected


@pytest.mark.parametrize(
    ("raw_query", "expected"),
    [
        ("", ""),
        ("offset=0&limit=10", "limit=10&offset=0"),
        ("k=b&k=a&k=", "k=&k=a&k=b"),  # repeated keys: values sorted
        ("name=&id&x=1", "id=&name=&x=1"),  # empty value / bare name
        ("q=a+b", "q=a%20b"),
        ("q=a%2Bb~*", "q=a%2Bb~%2A"),
        ("q=%7E%20", "q=~%20"),
    ],
)
def test_canonical_query_string(raw_query: str, expected: str) -> None:
    assert canonical_query_string(raw_query) == expected


def test_fresh_date_and_no_stale_headers_when_resent() -> None:
    clock = FakeClock(datetime(2025, 3, 15, 12, 0, 0, tzinfo=timezone.utc))
    auth = SdkHmacAuth("ak", "sk", project_id="p", clock=clock)
    capture = _Capture()
    with _client(auth, capture) as client:
        request = client.build_request(
            "POST", "https://h.example.com/v1/x", content=b"data",
            headers={"Content-Type": "application/octet-stream"},
        )
        client.send(request)
        clock.advance(61)
        request.headers["Content-Type"] = "application/json"
        client.send(request)
    first, second = capture.requests
    assert first.headers["X-Sdk-Date"] == "20250315T120000Z"
    assert second.headers["X-Sdk-Date"] == "20250315T120101Z"
    assert first.headers["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"
    assert "x-sdk-content-sha256" not in second.headers  # recomputed, not carried over
    for sent in (first, second):
        assert len(sent.headers.get_list("authorization")) == 1
        assert len(sent.headers.get_list("x-sdk-date")) == 1
    assert first.headers["Authorization"] != second.headers["Authorization"]


def test_security_token_is_sent_and_signed() -> None:
    auth = SdkHmacAuth("ak", "sk", clock=_fixed_clock(2025, 1, 1), security_token="TempTokenValue")
    request = httpx.Request("GET", "https://h.example.com/v1/x")
    result = auth.sign_request(request)
    assert request.headers["X-Security-Token"] == "TempTokenValue"
    assert result.signed_headers == "host;x-sdk-date;x-security-token"


def test_async_client_signs_the_same() -> None:
    auth = _official_auth()
    capture = _Capture()

    async def run() -> None:
        async with httpx.AsyncClient(auth=auth, transport=httpx.MockTransport(capture)) as client:
            await client.get(
                "https://service.endpoint.myhuaweicloud.com/resources",
                params={"size": "1"},
                headers={"TEST_UNDERSCORE": "TEST_VALUE"},
            )

    asyncio.run(run())
    (sent,) = capture.requests
    # the client adds accept/user-agent (signed) so only the scheme is compared here
    assert sent.headers["Authorization"].startswith(
        "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=accept;host;user-agent;x-sdk-date, "
    )


def test_sk_masked_in_repr_and_str() -> None:
    auth = SdkHmacAuth("VisibleAK", "TopSecretSK", project_id="proj", security_token="TempTok")
    for text in (repr(auth), str(auth)):
        assert "TopSecretSK" not in text and "TempTok" not in text
        assert "VisibleAK" in text and "***" in text


def test_empty_sha256_constant() -> None:
    assert EMPTY_SHA256 == EMPTY == _sha256_hex(b"")


# ---------------------------------------------------------------------------
# IamTokenAuth (MockTransport stands in for IAM and the service)
# ---------------------------------------------------------------------------

IAM = "https://iam.cn-north-4.myhuaweicloud.com"
SERVICE = "https://fabric.cn-north-4.myhuaweicloud.com/v1/base-models"
PASSWORD = "P@ssw0rd-very-secret"


class FakeIam:
    """IAM /v3/auth/tokens plus a service that accepts only currently-valid tokens."""

    def __init__(self, clock: FakeClock, lifetime_s: float = 24 * 3600) -> None:
        self.clock = clock
        self.lifetime_s = lifetime_s
        self.issued: list[str] = []
        self.token_bodies: list[dict] = []
        self.valid: set[str] = set()
        self.service_calls: list[str | None] = []
        self.iam_status = 201
        self.include_expiry = True
        self.reject_all = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/auth/tokens":
            assert request.method == "POST"
            self.token_bodies.append(json.loads(request.content))
            if self.iam_status != 201:
                return httpx.Response(
                    self.iam_status,
                    json={"error": {"code": self.iam_status, "message": "The username or password is wrong.",
                                    "title": "Unauthorized"}},
                )
            token = f"MIIT-token-{len(self.issued) + 1}"
            self.issued.append(token)
            self.valid.add(token)
            expires = self.clock.now + timedelta(seconds=self.lifetime_s)
            body: dict = {"token": {"methods": ["password"], "catalog": []}}
            if self.include_expiry:
                body["token"]["expires_at"] = expires.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
            return httpx.Response(201, headers={"X-Subject-Token": token}, json=body)
        token = request.headers.get("X-Auth-Token")
        self.service_calls.append(token)
        if self.reject_all or token not in self.valid:
            return httpx.Response(401, json={"error_code": "APIGW.0301", "error_msg": "Incorrect token"})
        return httpx.Response(200, json={"total": 0, "models": []})


def _iam_auth(clock: FakeClock, **kwargs) -> IamTokenAuth:
    params = dict(
        iam_url=IAM, username="alice", password=PASSWORD, domain="acme", project="cn-north-4",
        refresh_margin_s=300, clock=clock,
    )
    params.update(kwargs)
    return IamTokenAuth(**params)


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock(datetime(2025, 3, 15, 12, 0, 0, tzinfo=timezone.utc))


def test_token_fetched_once_and_cached(clock: FakeClock) -> None:
    iam = FakeIam(clock)
    auth = _iam_auth(clock)
    with httpx.Client(auth=auth, transport=httpx.MockTransport(iam)) as client:
        for _ in range(3):
            assert client.get(SERVICE).status_code == 200
            clock.advance(60)
    assert iam.issued == ["MIIT-token-1"]
    assert iam.service_calls == ["MIIT-token-1"] * 3
    assert iam.token_bodies == [
        {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": "alice", "password": PASSWORD, "domain": {"name": "acme"}}
                    },
                },
                "scope": {"project": {"name": "cn-north-4"}},
            }
        }
    ]
    assert auth.expires_at == datetime(2025, 3, 16, 12, 0, 0, tzinfo=timezone.utc)


def test_token_refreshed_before_expiry(clock: FakeClock) -> None:
    iam = FakeIam(clock, lifetime_s=3600)
    auth = _iam_auth(clock, refresh_margin_s=300)
    with httpx.Client(auth=auth, transport=httpx.MockTransport(iam)) as client:
        client.get(SERVICE)
        clock.advance(3600 - 300 - 1)  # 1 s before the refresh point: still cached
        client.get(SERVICE)
        assert iam.issued == ["MIIT-token-1"]
        clock.advance(1)  # at the refresh point (5 min before expiry): re-obtained
        client.get(SERVICE)
        assert iam.issued == ["MIIT-token-1", "MIIT-token-2"]
        clock.advance(60)
        client.get(SERVICE)
    assert iam.service_calls == ["MIIT-token-1", "MIIT-token-1", "MIIT-token-2", "MIIT-token-2"]


def test_refetched_once_on_401_and_request_resent(clock: FakeClock) -> None:
    iam = FakeIam(clock)
    auth = _iam_auth(clock)
    with httpx.Client(auth=auth, transport=httpx.MockTransport(iam)) as client:
        client.get(SERVICE)
        iam.valid.clear()  # token revoked server-side (e.g. password change)
        response = client.post(SERVICE, json={"x": 1})
        assert response.status_code == 200
        assert response.request.headers["X-Auth-Token"] == "MIIT-token-2"
        assert response.request.content == b'{"x":1}'  # body re-sent intact
    assert iam.issued == ["MIIT-token-1", "MIIT-token-2"]
    assert iam.service_calls == ["MIIT-token-1", "MIIT-token-1", "MIIT-token-2"]


def test_only_one_refetch_when_401_persists(clock: FakeClock) -> None:
    iam = FakeIam(clock)
    iam.reject_all = True
    auth = _iam_auth(clock)
    with httpx.Client(auth=auth, transport=httpx.MockTransport(iam)) as client:
        response = client.get(SERVICE)
    assert response.status_code == 401
    assert iam.issued == ["MIIT-token-1", "MIIT-token-2"]
    assert iam.service_calls == ["MIIT-token-1", "MIIT-token-2"]


def test_given_token_without_credentials(clock: FakeClock) -> None:
    iam = FakeIam(clock)
    iam.valid.add("given-token")
    auth = IamTokenAuth(token="given-token", clock=clock)
    with httpx.Client(auth=auth, transport=httpx.MockTransport(iam)) as client:
        assert client.get(SERVICE).status_code == 200
        clock.advance(10 * 24 * 3600)  # no known expiry: still used
        iam.valid.clear()
        assert client.get(SERVICE).status_code == 401  # nothing to refresh with: returned as-is
    assert iam.token_bodies == []
    assert iam.service_calls == ["given-token", "given-token"]


def test_given_token_replaced_from_iam_on_401(clock: FakeClock) -> None:
    iam = FakeIam(clock)
    auth = _iam_auth(clock, token="stale-token")
    with httpx.Client(auth=auth, transport=httpx.MockTransport(iam)) as client:
        assert client.get(SERVICE).status_code == 200
    assert iam.service_calls == ["stale-token", "MIIT-token-1"]


def test_missing_expires_at_assumes_24h(clock: FakeClock) -> None:
    iam = FakeIam(clock)
    iam.include_expiry = False
    auth = _iam_auth(clock)
    with httpx.Client(auth=auth, transport=httpx.MockTransport(iam)) as client:
        client.get(SERVICE)
        clock.advance(24 * 3600 - 301)
        client.get(SERVICE)
        assert len(iam.issued) == 1
        clock.advance(1)
        client.get(SERVICE)
    assert len(iam.issued) == 2


def test_project_id_scope_and_url_forms(clock: FakeClock) -> None:
    iam = FakeIam(clock)
    for url in (IAM, IAM + "/", IAM + "/v3", IAM + "/v3/auth/tokens"):
        auth = _iam_auth(clock, iam_url=url, project=None, project_id="0123abcd")
        assert auth.token_url == IAM + "/v3/auth/tokens"
        with httpx.Client(auth=auth, transport=httpx.MockTransport(iam)) as client:
            client.get(SERVICE)
    assert all(b["auth"]["scope"] == {"project": {"id": "0123abcd"}} for b in iam.token_bodies)


def test_iam_failure_raises_without_secrets(clock: FakeClock) -> None:
    iam = FakeIam(clock)
    iam.iam_status = 401
    auth = _iam_auth(clock)
    with httpx.Client(auth=auth, transport=httpx.MockTransport(iam)) as client:
        with pytest.raises(IamTokenError) as excinfo:
            client.get(SERVICE)
    err = excinfo.value
    assert err.status_code == 401
    assert err.error_msg == "The username or password is wrong."
    assert "401" in str(err)
    assert PASSWORD not in str(err) and PASSWORD not in repr(err)
    assert iam.service_calls == []


def test_password_and_token_masked_in_repr(clock: FakeClock) -> None:
    iam = FakeIam(clock)
    auth = _iam_auth(clock, token="GivenTokenValue")
    texts = [repr(auth), str(auth)]
    with httpx.Client(auth=auth, transport=httpx.MockTransport(iam)) as client:
        client.get(SERVICE)  # now holds an IAM-issued token
    texts += [repr(auth), str(auth)]
    for text in texts:
        assert PASSWORD not in text
        assert "GivenTokenValue" not in text and "MIIT-token" not in text
        assert "alice" in text and "***" in text


def test_incomplete_credentials_rejected_without_echoing_values() -> None:
    with pytest.raises(ValueError) as excinfo:
        IamTokenAuth(iam_url=IAM, username="alice", password=PASSWORD)
    message = str(excinfo.value)
    assert "domain" in message and "project" in message
    assert PASSWORD not in message
    with pytest.raises(ValueError):
        IamTokenAuth()


def test_iam_flow_with_async_client(clock: FakeClock) -> None:
    iam = FakeIam(clock)
    auth = _iam_auth(clock)

    async def run() -> list[int]:
        async with httpx.AsyncClient(auth=auth, transport=httpx.MockTransport(iam)) as client:
            first = await client.get(SERVICE)
            iam.valid.clear()
            second = await client.get(SERVICE)
            return [first.status_code, second.status_code]

    assert asyncio.run(run()) == [200, 200]
    assert iam.issued == ["MIIT-token-1", "MIIT-token-2"]


def test_iam_error_with_a_numeric_error_code_is_reported_as_text():
    """The IAM token API puts an integer in the top-level error_code (seed page shape)."""

    def iam(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"code": "401", "message": "The username or password is wrong.",
                                                   "title": "Unauthorized"},
                                         "error_code": 401, "error_msg": "The username or password is wrong."})

    auth = IamTokenAuth(iam_url="https://iam.example", username="u", password="Secret-PW-1", domain="d",
                        project="cn-north-4")
    client = httpx.Client(transport=httpx.MockTransport(iam), auth=auth)
    with pytest.raises(IamTokenError) as err:
        client.get("https://fabric.example/v1/x")
    assert err.value.error_code == "401" and "Secret-PW-1" not in str(err.value)
