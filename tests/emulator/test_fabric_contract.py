"""Contract tests for the DataArts Fabric emulator, over real HTTP (shared/specs/fabric.md).

The SDK-HMAC-SHA256 signer below is this module's own, written from spec §7.2; nothing is
imported from ``providers`` (the client and its signer are an independent reading of the spec).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from emulator import defaults
from tests.emulator_process import Emulator

WS = "emulator-workspace"
MODELS = f"/fabric/v1/workspaces/{WS}/models"
AK = defaults.FABRIC_ACCESS_KEY
SK = defaults.FABRIC_SECRET_KEY
PROJECT_ID = defaults.FABRIC_PROJECT_ID
USER, PASSWORD, DOMAIN, PROJECT = defaults.FABRIC_USERNAME, defaults.FABRIC_PASSWORD, defaults.FABRIC_DOMAIN_NAME, "cn-north-4"
OBS = "obs://my-bucket/models/llama3/"


# -- an independent SDK-HMAC-SHA256 signer (spec §7.2) ---------------------------------------
def _enc(s: str) -> str:
    return quote(s, safe="~")


def canonical_request(method: str, path: str, params: list[tuple[str, str]], headers: dict[str, str],
                      body: bytes) -> tuple[str, str]:
    """(canonical request, signed headers) for the logical request."""
    uri = "/".join(_enc(seg) for seg in path.split("/"))
    if not uri.endswith("/"):
        uri += "/"
    query = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(params))  # sorted decoded, then encoded
    lower = {k.lower(): v.strip() for k, v in headers.items()}
    names = sorted(lower)
    canon_headers = "".join(f"{n}:{lower[n]}\n" for n in names)
    signed = ";".join(names)
    return "\n".join([method, uri, query, canon_headers, signed, hashlib.sha256(body).hexdigest()]), signed


def sign(method: str, path: str, params: list[tuple[str, str]], headers: dict[str, str], body: bytes,
         ak: str = AK, sk: str = SK) -> str:
    canon, signed = canonical_request(method, path, params, headers, body)
    sts = f"SDK-HMAC-SHA256\n{headers['X-Sdk-Date']}\n{hashlib.sha256(canon.encode()).hexdigest()}"
    sig = hmac.new(sk.encode(), sts.encode(), hashlib.sha256).hexdigest()
    return f"SDK-HMAC-SHA256 Access={ak}, SignedHeaders={signed}, Signature={sig}"


def sdk_date(offset_s: float = 0) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=offset_s)).strftime("%Y%m%dT%H%M%SZ")


# -- fixtures ---------------------------------------------------------------------------------
class Fabric:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.http = httpx.Client(base_url=emu.url, timeout=10)
        self._token: str | None = None

    def token_request(self, user: str = USER, password: str = PASSWORD, domain: str = DOMAIN,
                      project: dict[str, str] | None = None) -> httpx.Response:
        return self.http.post("/fabric/v3/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"],
                         "password": {"user": {"name": user, "password": password, "domain": {"name": domain}}}},
            "scope": {"project": project if project is not None else {"name": PROJECT}}}})

    def token(self) -> str:
        if self._token is None:
            r = self.token_request()
            assert r.status_code == 201, r.text
            self._token = r.headers["X-Subject-Token"]
        return self._token

    def call(self, method: str, path: str, *, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"X-Auth-Token": token or self.token(), **kw.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kw)

    def signed(self, method: str, path: str, *, params: list[tuple[str, str]] | None = None,
               body: bytes = b"", date: str | None = None, ak: str = AK, sk: str = SK,
               extra: dict[str, str] | None = None, send_body: bytes | None = None) -> httpx.Response:
        params = params or []
        headers = {"Host": f"127.0.0.1:{self.emu.port}", "X-Sdk-Date": date or sdk_date(),
                   "X-Project-Id": PROJECT_ID, "Content-Type": "application/json", **(extra or {})}
        headers["Authorization"] = sign(method, path, params, headers, body, ak, sk)
        return self.http.request(method, path, params=params, headers=headers,
                                 content=body if send_body is None else send_body)

    # conveniences
    def create(self, name: str = "llama3-8b", version: str = "v1", **extra: Any) -> httpx.Response:
        body = {"name": name, "description": "d", "type": "LLM_MODEL",
                "version": {"name": version, "description": "first",
                            "config": {"llm_model_config": {"base_model_type": "LLAMA3_8B", "model_path": OBS}}},
                **extra}
        return self.call("POST", MODELS, json=body)

    def created(self, name: str = "llama3-8b", version: str = "v1") -> tuple[str, str]:
        r = self.create(name, version)
        assert r.status_code == 200, r.text
        return r.json()["id"], r.json()["version_id"]

    def models(self, **params: Any) -> dict[str, Any]:
        r = self.call("GET", MODELS, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def versions(self, model_id: str, **params: Any) -> dict[str, Any]:
        r = self.call("GET", f"{MODELS}/{model_id}/versions", params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def add_version(self, model_id: str, name: str, **extra: Any) -> httpx.Response:
        return self.call("PUT", f"{MODELS}/{model_id}", json={"version": {
            "name": name, "config": {"llm_model_config": {"base_model_type": "QWEN2_5_7B", "model_path": OBS}}},
            **extra})


@pytest.fixture
def fab(emulator: Emulator) -> Fabric:
    emulator.reset("fabric")
    emulator.settings("fabric", create_delay_s=0, version_delay_s=0)
    return Fabric(emulator)


def wait_until(pred: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def assert_error(r: httpx.Response, status: int, code: str, msg_part: str = "") -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error_code", "error_msg", "solution_msg"}, body
    assert body["error_code"] == code, body
    assert msg_part in body["error_msg"], body
    assert r.headers.get("X-Request-Id")
    return body


# -- IAM token --------------------------------------------------------------------------------
def test_token_issue_and_use(fab: Fabric) -> None:
    r = fab.token_request()
    assert r.status_code == 201
    token = r.headers["X-Subject-Token"]
    assert token
    t = r.json()["token"]
    expires = datetime.strptime(t["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs((expires - datetime.now(timezone.utc)).total_seconds() - 86400) < 60
    assert t["methods"] == ["password"] and t["project"]["id"] == PROJECT_ID
    assert t["catalog"] and t["user"]["name"] == USER
    # a project id works as scope too
    assert fab.token_request(project={"id": PROJECT_ID}).status_code == 201
    assert fab.call("GET", MODELS, token=token).status_code == 200


@pytest.mark.parametrize("kw,status", [
    ({"password": "wrong"}, 401),
    ({"user": "nobody"}, 401),
    ({"domain": "other-domain"}, 401),
    ({"project": {"name": "cn-south-1"}}, 401),
    ({"project": {}}, 401),
])
def test_token_rejected(fab: Fabric, kw: dict[str, Any], status: int) -> None:
    r = fab.token_request(**kw)
    assert r.status_code == status
    assert "X-Subject-Token" not in r.headers
    assert r.json()["error"]["code"] == str(status)


def test_token_malformed_body(fab: Fabric) -> None:
    r = fab.http.post("/fabric/v3/auth/tokens", json={"auth": {"identity": {"methods": ["token"]}}})
    assert r.status_code == 400
    r = fab.http.post("/fabric/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"name": USER, "password": PASSWORD,
                                                       "domain": {"name": DOMAIN}}}}}})
    assert r.status_code == 400 and "project scope" in r.json()["error_msg"]


def test_token_expiry_and_unknown_token(fab: Fabric) -> None:
    fab.emu.settings("fabric", token_ttl_s=1)
    token = fab.token_request().headers["X-Subject-Token"]
    assert fab.call("GET", MODELS, token=token).status_code == 200
    time.sleep(1.1)
    body = assert_error(fab.call("GET", MODELS, token=token), 401, "APIG.1002", "Incorrect token")
    assert "expired" in body["solution_msg"]
    # a fresh token works again (what a client's refresh does)
    assert fab.call("GET", MODELS, token=fab.token_request().headers["X-Subject-Token"]).status_code == 200
    assert_error(fab.call("GET", MODELS, token="MIIforged.token"), 401, "APIG.1002")
    forged = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
    assert_error(fab.call("GET", MODELS, token=forged), 401, "APIG.1002")


def test_token_revoked_by_password_change(fab: Fabric) -> None:
    token = fab.token()
    fab.emu.settings("fabric", users={USER: {"password": "N3wPassword!", "user_id": defaults.FABRIC_USER_ID}})
    assert_error(fab.call("GET", MODELS, token=token), 401, "APIG.1002")


def test_no_credentials(fab: Fabric) -> None:
    assert_error(fab.http.get(MODELS), 401, "APIGW.0301")
    assert_error(fab.http.get("/fabric/v1/base-models"), 401, "APIGW.0301")


# -- AK/SK ------------------------------------------------------------------------------------
def test_pinned_signature(fab: Fabric) -> None:
    """One signature derived by hand from spec §7.2, accepted by the emulator byte for byte."""
    canonical = (
        "GET\n"
        "/fabric/v1/workspaces/emulator-workspace/models/\n"      # trailing '/' appended
        "limit=5&name=my%20model\n"                               # sorted, RFC 3986 (space = %20)
        "host:fabric.cn-north-4.myhuaweicloud.com\n"
        "x-project-id:000000000000000000000000000a0001\n"
        "x-sdk-date:20250520T080000Z\n"
        "\n"
        "host;x-project-id;x-sdk-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # sha256 of the empty body
    )
    assert hashlib.sha256(canonical.encode()).hexdigest() == \
        "947ecb72bdbce24632d24b7d63219d01581d0690d59dbd692344d2a65a891ce4"
    expected = "8bf6c6b3532dd9046fd8c9ae6ae21b9fb8580a1156cf0a561451bbef13bbd4c9"
    headers = {"Host": "fabric.cn-north-4.myhuaweicloud.com", "X-Sdk-Date": "20250520T080000Z",
               "X-Project-Id": PROJECT_ID}
    ours, signed = canonical_request("GET", MODELS, [("name", "my model"), ("limit", "5")],
                                     headers, b"")
    assert ours == canonical and signed == "host;x-project-id;x-sdk-date"
    auth = f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders=host;x-project-id;x-sdk-date, Signature={expected}"
    assert sign("GET", MODELS, [("name", "my model"), ("limit", "5")], headers, b"") == auth

    url = f"{MODELS}?name=my%20model&limit=5"
    # 2025 is far outside the 15-minute window...
    assert_error(fab.http.get(url, headers={**headers, "Authorization": auth}), 401, "APIGW.0301", "expired")
    # ...so widen the window to check the signature itself.
    fab.emu.settings("fabric", signature_skew_s=10 ** 10)
    r = fab.http.get(url, headers={**headers, "Authorization": auth})
    assert r.status_code == 200, r.text
    bad = auth[:-1] + ("0" if auth[-1] != "0" else "1")
    assert_error(fab.http.get(url, headers={**headers, "Authorization": bad}), 401, "APIGW.0301", "signature")


def test_signed_requests_on_every_route(fab: Fabric) -> None:
    body = (b'{"name": "signed model", "type": "LLM_MODEL", "version": {"name": "v1", "config": '
            b'{"llm_model_config": {"base_model_type": "LLAMA3_8B", "model_path": "obs://my-bucket/m/"}}}}')
    r = fab.signed("POST", MODELS, body=body)
    assert r.status_code == 200, r.text
    mid, vid = r.json()["id"], r.json()["version_id"]
    r = fab.signed("GET", MODELS, params=[("name", "signed mo"), ("limit", "10"), ("offset", "0")])
    assert r.status_code == 200 and r.json()["total"] == 1, r.text
    r = fab.signed("PUT", f"{MODELS}/{mid}", body=b'{"description": "via AK/SK"}')
    assert r.status_code == 200 and r.json()["description"] == "via AK/SK"
    r = fab.signed("GET", f"{MODELS}/{mid}/versions", params=[("version_id", vid)])
    assert r.status_code == 200 and r.json()["total"] == 1
    assert fab.signed("GET", "/fabric/v1/base-models").status_code == 200
    r = fab.signed("PUT", f"{MODELS}/{mid}", body=b'{"version": {"name": "ver-2", "config": {"llm_model_config": '
                   b'{"base_model_type": "LLAMA3_8B"}}}}')
    assert r.status_code == 200
    v2 = fab.versions(mid, name="ver-2")["versions"]
    r = fab.signed("DELETE", f"{MODELS}/{mid}/versions/{vid}")
    assert r.status_code == 202, r.text
    assert v2 and fab.signed("DELETE", f"{MODELS}/{mid}").status_code == 200
    # repeated keys, reserved characters and UNSIGNED-PAYLOAD
    r = fab.signed("GET", MODELS, params=[("name", "a_b-c.d"), ("x", "z/1"), ("x", "b:2"), ("empty", "")])
    assert r.status_code == 200, r.text


def test_unsigned_payload(fab: Fabric) -> None:
    """A non-empty body signed as UNSIGNED-PAYLOAD; an empty body always hashes as the empty string."""
    def signed_put(body: bytes) -> dict[str, str]:
        headers = {"Host": f"127.0.0.1:{fab.emu.port}", "X-Sdk-Date": sdk_date(), "Content-Type": "text/plain",
                   "X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD"}
        canon, signed = canonical_request("PUT", f"{MODELS}/{mid}", [], headers, body)
        if body:
            canon = canon.rsplit("\n", 1)[0] + "\nUNSIGNED-PAYLOAD"
        sts = f"SDK-HMAC-SHA256\n{headers['X-Sdk-Date']}\n{hashlib.sha256(canon.encode()).hexdigest()}"
        sig = hmac.new(SK.encode(), sts.encode(), hashlib.sha256).hexdigest()
        return {**headers, "Authorization": f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders={signed}, Signature={sig}"}

    mid, _ = fab.created()
    r = fab.http.put(f"{MODELS}/{mid}", headers=signed_put(b'{"description": "unsigned"}'),
                     content=b'{"description": "unsigned"}')
    assert r.status_code == 200 and r.json()["description"] == "unsigned", r.text
    # the same header with an empty body: the SDK hashes the empty string, not the literal
    r = fab.http.put(f"{MODELS}/{mid}", headers=signed_put(b""))
    assert_error(r, 400, "dataartsfabric.00010001")  # authenticated; then the missing body is refused


def test_signature_failures(fab: Fabric) -> None:
    ok = fab.signed("GET", MODELS)
    assert ok.status_code == 200, ok.text
    # a replay of the same signed request is accepted: the scheme has no nonce (only the date window)
    assert fab.http.send(ok.request).status_code == 200
    # body changed after signing
    body = b'{"description": "a"}'
    r = fab.signed("PUT", f"{MODELS}/00000000-0000-0000-0000-000000000000", body=body,
                   send_body=b'{"description": "b"}')
    assert_error(r, 401, "APIGW.0301", "signature")
    # wrong secret key
    assert_error(fab.signed("GET", MODELS, sk="not-the-secret"), 401, "APIGW.0301", "signature")
    # unknown access key
    assert_error(fab.signed("GET", MODELS, ak="UNKNOWNAK00000000000"), 401, "APIGW.0301", "UNKNOWNAK")
    # X-Sdk-Date skewed beyond 15 minutes, either way; inside the window is fine
    assert_error(fab.signed("GET", MODELS, date=sdk_date(-16 * 60)), 401, "APIGW.0301", "expired")
    assert_error(fab.signed("GET", MODELS, date=sdk_date(16 * 60)), 401, "APIGW.0301", "expired")
    assert fab.signed("GET", MODELS, date=sdk_date(-14 * 60)).status_code == 200
    # malformed date, malformed authorization, signed query tampered with
    assert_error(fab.signed("GET", MODELS, date="2025-05-20T08:00:00Z"), 401, "APIGW.0301", "X-Sdk-Date")
    r = fab.http.get(MODELS, headers={"Authorization": "SDK-HMAC-SHA256 garbage", "X-Sdk-Date": sdk_date()})
    assert_error(r, 401, "APIGW.0301")
    r = fab.signed("GET", MODELS, params=[("limit", "5")])
    tampered = r.request.url.copy_with(query=b"limit=6")
    r2 = fab.http.get(tampered, headers={k: v for k, v in r.request.headers.items() if k != "host"})
    assert_error(r2, 401, "APIGW.0301", "signature")
    # a path that differs from the signed one
    headers = {"Host": f"127.0.0.1:{fab.emu.port}", "X-Sdk-Date": sdk_date()}
    headers["Authorization"] = sign("GET", "/fabric/v1/base-models", [], headers, b"")
    assert_error(fab.http.get(MODELS, headers=headers), 401, "APIGW.0301", "signature")
    # a signed header the request does not carry
    headers = {"Host": f"127.0.0.1:{fab.emu.port}", "X-Sdk-Date": sdk_date(), "X-Extra": "1"}
    headers["Authorization"] = sign("GET", MODELS, [], headers, b"")
    del headers["X-Extra"]
    assert_error(fab.http.get(MODELS, headers=headers), 401, "APIGW.0301", "x-extra")
    # a project the credentials do not belong to
    assert_error(fab.signed("GET", MODELS, extra={"X-Project-Id": "ffffffffffffffffffffffffffffffff"}),
                 401, "APIGW.0301", "project")


# -- models -----------------------------------------------------------------------------------
def test_create_is_asynchronous(fab: Fabric) -> None:
    fab.emu.settings("fabric", create_delay_s=0.4)
    r = fab.create("LLama3-8b")
    assert r.status_code == 200, r.text
    assert r.headers["X-Request-Id"]
    mid, vid = r.json()["id"], r.json()["version_id"]
    assert len(mid) == 36 and len(vid) == 36 and mid != vid
    assert fab.models(id=mid)["total"] == 0          # not listed yet
    assert_error(fab.call("GET", f"{MODELS}/{mid}/versions"), 400, "dataartsfabric.00010009")
    # mutations while it is being created: "still running, try later"
    assert_error(fab.call("PUT", f"{MODELS}/{mid}", json={"description": "x"}), 500, "dataartsfabric.00000001")
    assert_error(fab.call("DELETE", f"{MODELS}/{mid}"), 500, "dataartsfabric.00000001")
    listed = wait_until(lambda: fab.models(id=mid)["models"])
    m = listed[0]
    assert m["id"] == mid and m["name"] == "LLama3-8b" and m["description"] == "d"
    assert m["type"] == "LLM_MODEL" and m["visibility"] == "PRIVATE"
    assert m["create_time"].endswith("Z") and m["update_time"] == m["create_time"]
    assert m["create_user"] == {"domain_name": DOMAIN, "domain_id": defaults.FABRIC_DOMAIN_ID,
                                "user_name": USER, "user_id": defaults.FABRIC_USER_ID}
    cv = m["current_version"]
    assert cv["id"] == vid and cv["name"] == "v1" and cv["description"] == "first"
    assert cv["config"] == {"llm_model_config": {"base_model_type": "LLAMA3_8B", "model_path": OBS}}
    assert cv["cap_white_list"] == [] and cv["create_user"]["user_name"] == USER
    versions = fab.versions(mid)
    assert versions["total"] == 1 and versions["versions"][0] == cv


@pytest.mark.parametrize("patch,code", [
    ({"name": ""}, "dataartsfabric.00010001"),
    ({"name": "x" * 65}, "dataartsfabric.00010001"),
    ({"name": "bad/name"}, "dataartsfabric.00010001"),
    ({"name": "bad*name"}, "dataartsfabric.00010001"),
    ({"name": None}, "dataartsfabric.00010001"),
    ({"description": "d" * 1025}, "dataartsfabric.00010001"),
    ({"description": 12}, "common.01000001"),
    ({"type": "CV_MODEL"}, "dataartsfabric.00010001"),
    ({"type": None}, "dataartsfabric.00010001"),
    ({"version": None}, "dataartsfabric.00010001"),
    ({"version": {"name": "v 1!"}}, "dataartsfabric.00010001"),
    ({"version": {"name": "v1", "config": {"llm_model_config": {"base_model_type": "GPT5"}}}},
     "dataartsfabric.00010001"),
    ({"version": {"name": "v1", "config": {"llm_model_config": {"model_path": OBS}}}}, "dataartsfabric.00010001"),
    ({"version": {"name": "v1", "config": {"llm_model_config": {"base_model_type": "LLAMA3_8B",
                                                                 "model_path": "/local/path"}}}},
     "dataartsfabric.00010001"),
])
def test_create_validation(fab: Fabric, patch: dict[str, Any], code: str) -> None:
    body = {"name": "ok", "type": "LLM_MODEL",
            "version": {"name": "v1", "config": {"llm_model_config": {"base_model_type": "LLAMA3_8B"}}}, **patch}
    assert_error(fab.call("POST", MODELS, json=body), 400, code)
    assert fab.emu.objects("fabric").get("model", {}) == {}


def test_create_name_rules_and_optional_config(fab: Fabric) -> None:
    for name in ["a", "x" * 64, "Qwen2.5 7B_chat-v1", "模型一"]:
        assert fab.create(name).status_code == 200, name
    r = fab.call("POST", MODELS, json={"name": "bare", "type": "LLM_MODEL", "version": {"name": "v1"}})
    assert r.status_code == 200, r.text
    assert fab.models(id=r.json()["id"])["models"][0]["current_version"]["config"] == {}


def test_workspace_and_bucket_must_exist(fab: Fabric) -> None:
    r = fab.call("GET", "/fabric/v1/workspaces/no-such-ws/models")
    assert_error(r, 400, "dataartsfabric.00010003")
    fab.emu.settings("fabric", obs_buckets=["other-bucket"])
    assert_error(fab.create(), 400, "dataartsfabric.00010004")
    fab.emu.settings("fabric", obs_buckets=["my-bucket"], workspaces=["ws-a", "ws-b"])
    assert fab.call("POST", "/fabric/v1/workspaces/ws-a/models", json={
        "name": "m", "type": "LLM_MODEL", "version": {"name": "v1"}}).status_code == 200
    # same name in another workspace is fine; models are scoped by workspace
    r = fab.call("POST", "/fabric/v1/workspaces/ws-b/models", json={
        "name": "m", "type": "LLM_MODEL", "version": {"name": "v1"}})
    assert r.status_code == 200
    assert fab.call("GET", "/fabric/v1/workspaces/ws-a/models").json()["total"] == 1


def test_duplicate_names_rejected(fab: Fabric) -> None:
    fab.emu.settings("fabric", create_delay_s=30)       # still being created: still a duplicate
    fab.created("dup")
    assert_error(fab.create("dup"), 400, "dataartsfabric.00010010", "dup")
    assert fab.create("Dup").status_code == 200          # names are case-sensitive
    fab.emu.settings("fabric", create_delay_s=0)
    other, _ = fab.created("other")
    assert_error(fab.call("PUT", f"{MODELS}/{other}", json={"name": "dup"}), 400, "dataartsfabric.00010010")
    assert len(fab.emu.objects("fabric")["model"]) == 3


def test_list_filters_sorting_pagination(fab: Fabric) -> None:
    names = ["alpha-7b", "beta-7b", "gamma-70b", "delta-7b", "epsilon"]
    ids = [fab.created(n)[0] for n in names]
    all_ = fab.models(limit=100)
    assert all_["total"] == 5
    assert [m["id"] for m in all_["models"]] == ids[::-1]      # CREATE_TIME DESC by default
    assert [m["name"] for m in fab.models(sort_by="NAME", order_by="ASC")["models"]] == sorted(names)
    assert [m["id"] for m in fab.models(order_by="ASC")["models"]] == ids
    page1 = fab.models(limit=2, sort_by="NAME", order_by="ASC")
    page3 = fab.models(limit=2, offset=4, sort_by="NAME", order_by="ASC")
    assert page1["total"] == page3["total"] == 5
    assert [m["name"] for m in page1["models"]] == ["alpha-7b", "beta-7b"]
    assert [m["name"] for m in page3["models"]] == ["gamma-70b"]
    assert fab.models(offset=10)["models"] == []
    assert len(fab.models()["models"]) == 5                  # default limit 10
    assert {m["name"] for m in fab.models(name="7B")["models"]} == {"alpha-7b", "beta-7b", "delta-7b"}
    assert fab.models(id=ids[2])["models"][0]["name"] == "gamma-70b"
    assert fab.models(id="0" * 32)["total"] == 0
    assert fab.models(type="LLM_MODEL")["total"] == 5 and fab.models(type="OTHER")["total"] == 0
    # UPDATE_TIME follows updates
    time.sleep(1.01)  # timestamps have 1 s resolution on the wire; sorting uses the exact time
    assert fab.call("PUT", f"{MODELS}/{ids[0]}", json={"description": "touched"}).status_code == 200
    assert fab.models(sort_by="UPDATE_TIME")["models"][0]["id"] == ids[0]
    for bad in [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "ten"}, {"sort_by": "SIZE"},
                {"order_by": "UP"}, {"visibility": "SHARED"}, {"id": "short"}, {"name": "x" * 129},
                {"name": "bad/name"}]:
        assert_error(fab.call("GET", MODELS, params=bad), 400, "dataartsfabric.00010001")


def test_list_visibility(fab: Fabric) -> None:
    mine_private, _ = fab.created("mine-private")
    mine_public, _ = fab.created("mine-public")
    fab.emu.patch("fabric", "model", mine_public, visibility="PUBLIC")
    fab.emu.settings("fabric", users={
        USER: {"password": PASSWORD, "user_id": defaults.FABRIC_USER_ID},
        "other-user": {"password": "0therPass!", "user_id": "000000000000000000000000000e0002"}})
    other = fab.token_request(user="other-user", password="0therPass!").headers["X-Subject-Token"]
    theirs_public = fab.call("POST", MODELS, token=other, json={
        "name": "theirs-public", "type": "LLM_MODEL", "version": {"name": "v1"}}).json()["id"]
    theirs_private = fab.call("POST", MODELS, token=other, json={
        "name": "theirs-private", "type": "LLM_MODEL", "version": {"name": "v1"}}).json()["id"]
    fab.emu.patch("fabric", "model", theirs_public, visibility="PUBLIC")

    def ids(**p: Any) -> set[str]:
        return {m["id"] for m in fab.models(limit=100, **p)["models"]}

    assert ids() == {mine_private, mine_public}
    assert ids(visibility="PRIVATE") == {mine_private}
    assert ids(visibility="PUBLIC") == {mine_public, theirs_public}
    assert ids(visibility="ALL") == {mine_private, mine_public, theirs_public}
    assert theirs_private not in ids(visibility="ALL")


def test_update_model(fab: Fabric) -> None:
    mid, vid = fab.created("before")
    created = fab.models(id=mid)["models"][0]
    time.sleep(1.01)
    r = fab.call("PUT", f"{MODELS}/{mid}", json={"name": "after", "description": "new", "visibility": "PUBLIC"})
    assert r.status_code == 200, r.text
    m = r.json()
    assert m["name"] == "after" and m["description"] == "new" and m["visibility"] == "PRIVATE"
    assert m["current_version"]["id"] == vid and m["create_time"] == created["create_time"]
    assert m["update_time"] > created["update_time"]
    assert fab.models(id=mid)["models"][0] == m
    # an empty update changes nothing
    assert fab.call("PUT", f"{MODELS}/{mid}", json={}).json() == m
    assert_error(fab.call("PUT", f"{MODELS}/{mid}", json={"name": "no/slash"}), 400, "dataartsfabric.00010001")
    assert_error(fab.call("PUT", f"{MODELS}/{'0' * 32}", json={"name": "x"}), 400, "dataartsfabric.00010009")
    assert_error(fab.call("PUT", f"{MODELS}/{mid}", content=b"{not json"), 400, "common.01000001")


def test_add_version_is_asynchronous(fab: Fabric) -> None:
    mid, v1 = fab.created()
    fab.emu.settings("fabric", version_delay_s=0.4)
    r = fab.add_version(mid, "ver-2")
    assert r.status_code == 200, r.text
    assert r.json()["current_version"]["id"] == v1          # not current yet
    assert fab.versions(mid)["total"] == 1                  # not listed yet
    # another version while one is being created: still running
    assert_error(fab.add_version(mid, "v3"), 500, "dataartsfabric.00000001")
    listed = wait_until(lambda: fab.versions(mid, name="VER-2")["versions"])  # fuzzy, case-insensitive
    v2 = listed[0]["id"]
    assert listed[0]["config"]["llm_model_config"]["base_model_type"] == "QWEN2_5_7B"
    assert fab.models(id=mid)["models"][0]["current_version"]["id"] == v2   # becomes current
    assert [v["id"] for v in fab.versions(mid)["versions"]] == [v2, v1]     # newest first
    assert fab.versions(mid, version_id=v1)["versions"][0]["id"] == v1
    assert fab.versions(mid, limit=1, offset=1)["versions"][0]["id"] == v1
    # switch the current version back
    r = fab.call("PUT", f"{MODELS}/{mid}", json={"current_version_id": v1})
    assert r.status_code == 200 and r.json()["current_version"]["id"] == v1
    # duplicate version name, bad version, unknown current version
    fab.emu.settings("fabric", version_delay_s=0)
    assert_error(fab.add_version(mid, "ver-2"), 400, "dataartsfabric.00010010")
    assert_error(fab.call("PUT", f"{MODELS}/{mid}", json={"current_version_id": "0" * 32}),
                 400, "dataartsfabric.00010009")
    for bad in [{"name": "no"}, {"version_id": "short"}, {"limit": 0}]:
        assert_error(fab.call("GET", f"{MODELS}/{mid}/versions", params=bad), 400, "dataartsfabric.00010001")
    # a failed version cannot become current
    fab.emu.patch("fabric", "version", v2, failed=True)
    assert_error(fab.call("PUT", f"{MODELS}/{mid}", json={"current_version_id": v2}), 400,
                 "dataartsfabric.00010012")


def test_new_version_current_setting(fab: Fabric) -> None:
    fab.emu.settings("fabric", new_version_becomes_current=False)
    mid, v1 = fab.created()
    assert fab.add_version(mid, "v2").status_code == 200
    assert fab.versions(mid)["total"] == 2
    assert fab.models(id=mid)["models"][0]["current_version"]["id"] == v1


def test_delete_version(fab: Fabric) -> None:
    mid, v1 = fab.created()
    fab.add_version(mid, "ver-2")
    v2 = fab.versions(mid, name="ver-2")["versions"][0]["id"]
    assert fab.models(id=mid)["models"][0]["current_version"]["id"] == v2
    assert_error(fab.call("DELETE", f"{MODELS}/{mid}/versions/{v2}"), 400, "dataartsfabric.00010013")
    fab.emu.patch("fabric", "version", v1, in_use_by=["svc-chat"])
    body = assert_error(fab.call("DELETE", f"{MODELS}/{mid}/versions/{v1}"), 400, "dataartsfabric.00010011",
                        "inference services")
    assert "svc-chat" in body["error_msg"]
    fab.emu.patch("fabric", "version", v1, in_use_by=[])
    r = fab.call("DELETE", f"{MODELS}/{mid}/versions/{v1}")
    assert r.status_code == 202 and r.headers["X-Request-Id"]
    assert fab.versions(mid, version_id=v1)["total"] == 0
    assert_error(fab.call("DELETE", f"{MODELS}/{mid}/versions/{v1}"), 400, "dataartsfabric.00010009")
    assert set(fab.emu.objects("fabric")["version"]) == {v2}


def test_delete_model_and_refusal_while_in_use(fab: Fabric) -> None:
    mid, v1 = fab.created()
    fab.emu.patch("fabric", "version", v1, in_use_by=["svc-a"])
    body = assert_error(fab.call("DELETE", f"{MODELS}/{mid}"), 400, "dataartsfabric.00010011", "svc-a")
    assert "Delete the inference services" in body["solution_msg"]
    fab.emu.patch("fabric", "version", v1, in_use_by=[])
    fab.emu.patch("fabric", "model", mid, in_use_by=["svc-b"])
    assert_error(fab.call("DELETE", f"{MODELS}/{mid}"), 400, "dataartsfabric.00010011", "svc-b")
    fab.emu.patch("fabric", "model", mid, in_use_by=[])
    fab.add_version(mid, "v2")
    r = fab.call("DELETE", f"{MODELS}/{mid}")
    assert r.status_code == 200 and r.headers["X-Request-Id"]
    assert fab.models(id=mid)["total"] == 0
    objs = fab.emu.objects("fabric")
    assert objs.get("model", {}) == {} and objs.get("version", {}) == {}
    assert_error(fab.call("DELETE", f"{MODELS}/{mid}"), 400, "dataartsfabric.00010009")
    assert_error(fab.call("GET", f"{MODELS}/{mid}/versions"), 400, "dataartsfabric.00010009")
    fab.emu.settings("fabric", not_found_status=404)
    assert_error(fab.call("DELETE", f"{MODELS}/{mid}"), 404, "dataartsfabric.00010009")


def test_no_get_one_routes(fab: Fabric) -> None:
    mid, vid = fab.created()
    for method, path in [("GET", f"{MODELS}/{mid}"), ("GET", f"{MODELS}/{mid}/versions/{vid}"),
                         ("PUT", f"{MODELS}/{mid}/versions/{vid}"), ("POST", f"{MODELS}/{mid}/versions"),
                         ("GET", "/fabric/v1/models")]:
        assert_error(fab.call(method, path), 404, "common.01000001")


def test_base_models(fab: Fabric) -> None:
    r = fab.call("GET", "/fabric/v1/base-models")
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == len(body["models"]) >= 1
    for m in body["models"]:
        assert set(m) == {"base_model_type", "max_tokens", "num_of_mu"}
        assert m["max_tokens"] >= 1 and 1 <= m["num_of_mu"] <= 128
    assert len(fab.call("GET", "/fabric/v1/base-models", params={"limit": 1}).json()["models"]) == 1
    assert_error(fab.call("GET", "/fabric/v1/base-models", params={"limit": 500}), 400, "dataartsfabric.00010001")


# -- emulator surface -------------------------------------------------------------------------
def test_state_survives_restart(fab: Fabric) -> None:
    token = fab.token()
    mid, vid = fab.created("durable")
    fab.emu.settings("fabric", version_delay_s=0.2)
    fab.add_version(mid, "v2")
    fab.emu.restart()
    assert fab.call("GET", MODELS, token=token).status_code == 200     # tokens survive too
    m = wait_until(lambda: fab.models(id=mid)["models"])[0]
    assert m["name"] == "durable"
    assert wait_until(lambda: fab.versions(mid)["total"] == 2)
    assert_error(fab.create("durable"), 400, "dataartsfabric.00010010")
    assert fab.signed("GET", MODELS).json()["total"] == 1


def test_admin_reset_and_list(fab: Fabric) -> None:
    mid, vid = fab.created()
    objs = fab.emu.objects("fabric")
    assert set(objs["model"]) == {mid} and set(objs["version"]) == {vid}
    assert objs["model"][mid]["name"] == "llama3-8b" and objs["version"][vid]["model_id"] == mid
    assert objs["base_model"]
    fab.emu.settings("fabric", create_delay_s=5)
    fab.emu.reset("fabric")
    objs = fab.emu.objects("fabric")
    assert "model" not in objs and "version" not in objs and objs["base_model"]   # reseeded
    assert fab.emu.admin.get("/settings/fabric").json()["create_delay_s"] == 1.0
    assert fab.models()["total"] == 0


def test_injected_fault_in_vendor_envelope(fab: Fabric) -> None:
    fab.emu.arm_fault("fabric", method="POST", path="/v1/workspaces/.*/models", status=500,
                      code="dataartsfabric.00000001", message="still running, try later")
    r = fab.create()
    assert r.status_code == 500
    assert r.json() == {"error_code": "dataartsfabric.00000001", "error_msg": "still running, try later",
                        "solution_msg": ""}
    assert "model" not in fab.emu.objects("fabric")
    assert fab.create().status_code == 200               # fault fired once
    fab.emu.arm_fault("fabric", method="GET", path="/v1/base-models", status=408,
                      code="common.00000408", message="timeout exception occurred")
    r = fab.call("GET", "/fabric/v1/base-models")
    assert r.status_code == 408 and r.json()["error_code"] == "common.00000408"
