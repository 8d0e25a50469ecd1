"""Contract tests for the PAI (AIWorkSpace 2021-02-04) emulator, over HTTP against a real process.

The signer below is this module's own reading of spec §7 (it deliberately shares no code with
emulator/pai/auth.py or providers/). It is pinned to the vendor's published V3 example before
it is trusted to produce valid requests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from emulator import defaults

AK = defaults.PAI_ACCESS_KEY_ID
SK = defaults.PAI_ACCESS_KEY_SECRET
VERSION = "2021-02-04"
EMPTY_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


# -- an independent signer ----------------------------------------------------------------------
def _enc(s: str) -> str:
    out = []
    for b in s.encode():
        c = chr(b)
        out.append(c if c.isascii() and (c.isalnum() or c in "-_.~") else f"%{b:02X}")
    return "".join(out)


def acs3_sign(method: str, path: str, query: dict[str, str], headers: dict[str, str], secret: str,
              ) -> tuple[str, str, str]:
    """Return (signed-header list, signature, string to sign) for already-complete headers."""
    lower = {k.lower(): v.strip() for k, v in headers.items()}
    names = sorted(lower)
    canonical = (
        f"{method}\n{path}\n"
        + "&".join(f"{_enc(k)}={_enc(query[k])}" for k in sorted(query)) + "\n"
        + "".join(f"{n}:{lower[n]}\n" for n in names) + "\n"
        + ";".join(names) + "\n"
        + lower["x-acs-content-sha256"]
    )
    sts = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    sig = hmac.new(secret.encode(), sts.encode(), hashlib.sha256).hexdigest()
    return ";".join(names), sig, sts


def roa_sign(method: str, path: str, query: dict[str, str], headers: dict[str, str], secret: str) -> tuple[str, str]:
    """Legacy ROA HMAC-SHA1: (base64 signature, string to sign)."""
    h = {k.lower(): v for k, v in headers.items()}
    sts = f"{method}\n{h.get('accept', '')}\n{h.get('content-md5', '')}\n{h.get('content-type', '')}\n{h.get('date', '')}\n"
    for name in sorted(n for n in h if n.startswith("x-acs-")):
        sts += f"{name}:{h[name]}\n"
    sts += path
    if query:
        sts += "?" + "&".join(k if query[k] == "" else f"{k}={query[k]}" for k in sorted(query))
    sig = base64.b64encode(hmac.new(secret.encode(), sts.encode(), hashlib.sha1).digest()).decode()
    return sig, sts


def test_signer_reproduces_vendor_v3_example() -> None:
    """The worked example of the vendor's "V3 request structure and signature" page (spec S5):
    POST / of ECS RunInstances, key YourAccessKeyId / YourAccessKeySecret."""
    headers = {
        "host": "ecs.cn-shanghai.aliyuncs.com",
        "x-acs-action": "RunInstances",
        "x-acs-version": "2014-05-26",
        "x-acs-date": "2023-10-26T10:22:32Z",
        "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
        "x-acs-content-sha256": EMPTY_HASH,
    }
    query = {"ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", "RegionId": "cn-shanghai"}
    signed, sig, _ = acs3_sign("POST", "/", query, headers, "YourAccessKeySecret")
    assert signed == "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
    assert sig == "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    assert _enc("a b*~") == "a%20b%2A~"


def test_emulator_verifier_reproduces_vendor_v3_example() -> None:
    """The emulator's verifier accepts the vendor example as-is (time pinned to the example's)."""
    from emulator.pai import auth

    received = auth.Received(
        method="POST", raw_path="/",
        raw_query="ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai",
        headers={
            "authorization": "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;"
                             "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
                             "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0",
            "host": "ecs.cn-shanghai.aliyuncs.com", "x-acs-action": "RunInstances",
            "x-acs-version": "2014-05-26", "x-acs-date": "2023-10-26T10:22:32Z",
            "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d", "x-acs-content-sha256": EMPTY_HASH,
        },
        body=b"")
    settings = auth.AuthSettings({"YourAccessKeyId": "YourAccessKeySecret"}, 900, 1800)
    when = datetime(2023, 10, 26, 10, 22, 32, tzinfo=timezone.utc)
    ak = auth.verify(received, "RunInstances", settings, lambda n, t: True, now=when, version="2014-05-26")
    assert ak == "YourAccessKeyId"


def test_roa_string_to_sign_layout() -> None:
    """Spec §7.2, written out by hand: five lines, sorted x-acs-* lines, resource with raw values."""
    _, sts = roa_sign("DELETE", "/pai/api/v1/models/m/labels", {"LabelKeys": "a,b", "Flag": ""},
                      {"Accept": "application/json", "Date": "Thu, 01 Jan 2026 00:00:00 GMT",
                       "x-acs-version": VERSION, "x-acs-action": "DeleteModelLabels"}, SK)
    assert sts == ("DELETE\napplication/json\n\n\nThu, 01 Jan 2026 00:00:00 GMT\n"
                   "x-acs-action:DeleteModelLabels\nx-acs-version:2021-02-04\n"
                   "/pai/api/v1/models/m/labels?Flag&LabelKeys=a,b")


# -- a small client --------------------------------------------------------------------------------
class Pai:
    def __init__(self, emulator: Any) -> None:
        self.base = emulator.url
        self.host = self.base.removeprefix("http://")
        self.http = httpx.Client(timeout=10)

    def request(self, method: str, path: str, action: str, *, query: dict[str, Any] | None = None,
                body: Any = None, ak: str = AK, sk: str = SK, scheme: str = "v3",
                date: datetime | None = None, nonce: str | None = None, extra: dict[str, str] | None = None,
                tamper: dict[str, Any] | None = None) -> httpx.Response:
        """Sign and send. ``tamper`` changes the request *after* signing: body, headers, drop."""
        path = "/pai" + path
        q = {k: str(v) for k, v in (query or {}).items()}
        raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        when = date or datetime.now(timezone.utc)
        headers = {"host": self.host, "x-acs-action": action, "x-acs-version": VERSION,
                   "x-acs-signature-nonce": nonce or uuid.uuid4().hex, "accept": "application/json"}
        if raw:
            headers["content-type"] = "application/json; charset=utf-8"
        headers.update(extra or {})
        if scheme == "v3":
            headers["x-acs-date"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            headers["x-acs-content-sha256"] = hashlib.sha256(raw).hexdigest()
            signed, sig, _ = acs3_sign(method, path, q, headers, sk)
            headers["authorization"] = f"ACS3-HMAC-SHA256 Credential={ak},SignedHeaders={signed},Signature={sig}"
        else:
            headers["date"] = format_datetime(when.astimezone(timezone.utc), usegmt=True)
            headers["x-acs-signature-method"] = "HMAC-SHA1"
            headers["x-acs-signature-version"] = "1.0"
            sig, _ = roa_sign(method, path, q, headers, sk)
            headers["authorization"] = f"acs {ak}:{sig}"
        tamper = tamper or {}
        raw = tamper.get("body", raw)
        headers.update(tamper.get("headers", {}))
        for name in tamper.get("drop", ()):
            headers.pop(name, None)
        q = tamper.get("query", q)
        url = self.base + path + ("?" + "&".join(f"{_enc(k)}={_enc(v)}" for k, v in q.items()) if q else "")
        return self.http.request(method, url, content=raw, headers=headers)

    # -- operations --------------------------------------------------------------------------
    def create_model(self, **body: Any) -> str:
        r = self.request("POST", "/api/v1/models", "CreateModel", body={"Labels": [], "Tag": [], **body})
        assert r.status_code == 200, r.text
        return r.json()["ModelId"]

    def get_model(self, mid: str) -> httpx.Response:
        return self.request("GET", f"/api/v1/models/{mid}", "GetModel")

    def list_models(self, **query: Any) -> httpx.Response:
        return self.request("GET", "/api/v1/models", "ListModels", query=query)

    def create_version(self, mid: str, **body: Any) -> httpx.Response:
        body.setdefault("Uri", "oss://mybucket.oss-cn-beijing.aliyuncs.com/mypath/")
        return self.request("POST", f"/api/v1/models/{mid}/versions", "CreateModelVersion", body=body)

    def version_path(self, mid: str, name: str) -> str:
        return f"/api/v1/models/{mid}/versions/{quote(name, safe='')}"


def err(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["Code"] == code, body
    assert set(body) >= {"RequestId", "HostId", "Code", "Message"}
    assert body["HostId"] == "aiworkspace.cn-hangzhou.aliyuncs.com"
    return body


@pytest.fixture
def pai(emulator: Any) -> Pai:
    emulator.reset("pai")
    return Pai(emulator)


REQUEST_ID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


# -- models ------------------------------------------------------------------------------------------
def test_model_crud(pai: Pai) -> None:
    mid = pai.create_model(ModelName="news-classifier", ModelDescription="first", Domain="nlp",
                           Task="text-classification", Origin="ModelScope", OrderNumber=3, ParameterSize=3000,
                           ExtraInfo={"Rating": 4.9}, Labels=[{"Key": "team", "Value": "a"}],
                           Tag=[{"Key": "env", "Value": "dev"}])
    assert re.fullmatch(r"model-[a-z0-9]{18}", mid)

    r = pai.get_model(mid)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    m = r.json()
    assert REQUEST_ID.match(m["RequestId"]) and r.headers["x-acs-request-id"] == m["RequestId"]
    assert m["ModelId"] == mid and m["ModelName"] == "news-classifier" and m["Accessibility"] == "PRIVATE"
    assert m["Domain"] == "nlp" and m["OrderNumber"] == 3 and m["ParameterSize"] == 3000
    assert m["ExtraInfo"] == {"Rating": 4.9} and m["Labels"] == [{"Key": "team", "Value": "a"}]
    assert "Tags" not in m and "LatestVersion" not in m  # GetModel's shape lacks Tags; no versions yet
    assert TIMESTAMP.match(m["GmtCreateTime"]) and re.fullmatch(r"\d{16}", m["OwnerId"])
    assert m["WorkspaceId"] == "100001"

    r = pai.request("PUT", f"/api/v1/models/{mid}", "UpdateModel",
                    body={"ModelName": "news-classifier", "ModelDescription": "second", "Accessibility": "PUBLIC",
                          "WorkspaceId": "ignored"})
    assert r.status_code == 200 and set(r.json()) == {"RequestId"}
    m2 = pai.get_model(mid).json()
    assert m2["ModelDescription"] == "second" and m2["Accessibility"] == "PUBLIC"
    assert m2["Domain"] == "nlp" and m2["WorkspaceId"] == "100001"  # omitted = unchanged; not updatable
    assert m2["GmtModifiedTime"] >= m["GmtModifiedTime"] and m2["GmtCreateTime"] == m["GmtCreateTime"]

    listed = pai.list_models().json()
    assert listed["TotalCount"] == 1 and listed["Models"][0]["Tags"] == [{"Key": "env", "Value": "dev"}]

    r = pai.request("DELETE", f"/api/v1/models/{mid}", "DeleteModel")
    assert r.status_code == 200 and set(r.json()) == {"RequestId"}
    err(pai.get_model(mid), 404, "201900002")
    err(pai.request("DELETE", f"/api/v1/models/{mid}", "DeleteModel"), 404, "201900002")


def test_model_labels_add_and_remove(pai: Pai) -> None:
    mid = pai.create_model(ModelName="m", Labels=[{"Key": "a", "Value": "1"}])
    path = f"/api/v1/models/{mid}/labels"
    r = pai.request("POST", path, "CreateModelLabels",
                    body={"Labels": [{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "9"}]})
    assert r.status_code == 200, r.text
    assert pai.get_model(mid).json()["Labels"] == [{"Key": "a", "Value": "9"}, {"Key": "b", "Value": "2"}]
    r = pai.request("DELETE", path, "DeleteModelLabels", query={"LabelKeys": "a,zz"})
    assert r.status_code == 200, r.text
    assert pai.get_model(mid).json()["Labels"] == [{"Key": "b", "Value": "2"}]
    err(pai.request("DELETE", path, "DeleteModelLabels"), 400, "MissingParameter")
    err(pai.request("POST", path, "CreateModelLabels", body={"Labels": [{"Key": "x=y", "Value": "1"}]}),
        400, "InvalidParameter")
    err(pai.request("POST", "/api/v1/models/model-nope/labels", "CreateModelLabels", body={"Labels": []}),
        404, "201900002")


# -- versions ----------------------------------------------------------------------------------------
def test_version_crud_and_naming(pai: Pai) -> None:
    mid = pai.create_model(ModelName="m")
    r = pai.create_version(mid, FormatType="SavedModel", FrameworkType="PyTorch", VersionDescription="v1",
                           InferenceSpec={"processor": "tensorflow_gpu_1.12"}, Options='{"a": 1}',
                           Metrics={"acc": 0.9}, Labels=[{"Key": "k", "Value": "v"}])
    assert r.status_code == 200 and r.json()["VersionName"] == "0.1.0", r.text
    assert pai.create_version(mid).json()["VersionName"] == "0.2.0"
    assert pai.create_version(mid, VersionName="2.3.4_beta").json()["VersionName"] == "2.3.4_beta"
    assert pai.create_version(mid).json()["VersionName"] == "2.4.0"
    err(pai.create_version(mid, VersionName="0.1.0"), 400, "InvalidParameter")

    v = pai.request("GET", pai.version_path(mid, "0.1.0"), "GetModelVersion").json()
    assert "ModelId" not in v and v["VersionName"] == "0.1.0" and v["SourceType"] == "Custom"
    assert v["Uri"].startswith("oss://") and v["InferenceSpec"] == {"processor": "tensorflow_gpu_1.12"}
    assert v["Options"] == '{"a": 1}' and v["Labels"] == [{"Key": "k", "Value": "v"}]
    assert TIMESTAMP.match(v["GmtCreateTime"]) and v["OwnerId"]

    m = pai.get_model(mid).json()
    assert m["LatestVersion"]["VersionName"] == "2.4.0"
    assert m["GmtLatestVersionModifiedTime"] == m["LatestVersion"]["GmtModifiedTime"]

    r = pai.request("PUT", pai.version_path(mid, "0.1.0"), "UpdateModelVersion",
                    body={"ApprovalStatus": "Approved", "Uri": "https://elsewhere/x", "VersionDescription": "new"})
    assert r.status_code == 200, r.text
    v2 = pai.request("GET", pai.version_path(mid, "0.1.0"), "GetModelVersion").json()
    assert v2["ApprovalStatus"] == "Approved" and v2["VersionDescription"] == "new"
    assert v2["Uri"] == v["Uri"] and v2["FormatType"] == "SavedModel"  # Uri is not updatable
    err(pai.request("PUT", pai.version_path(mid, "0.1.0"), "UpdateModelVersion", body={"ApprovalStatus": "Maybe"}),
        400, "InvalidParameter")

    vl = f"{pai.version_path(mid, '0.1.0')}/labels"
    assert pai.request("POST", vl, "CreateModelVersionLabels",
                       body={"Labels": [{"Key": "stage", "Value": "prod"}]}).status_code == 200
    assert pai.request("DELETE", vl, "DeleteModelVersionLabels", query={"LabelKeys": "k"}).status_code == 200
    v3 = pai.request("GET", pai.version_path(mid, "0.1.0"), "GetModelVersion").json()
    assert v3["Labels"] == [{"Key": "stage", "Value": "prod"}]

    r = pai.request("DELETE", pai.version_path(mid, "2.3.4_beta"), "DeleteModelVersion")
    assert r.status_code == 200, r.text
    err(pai.request("GET", pai.version_path(mid, "2.3.4_beta"), "GetModelVersion"), 404, "201900003")
    err(pai.request("DELETE", pai.version_path(mid, "2.3.4_beta"), "DeleteModelVersion"), 404, "201900003")
    err(pai.request("GET", pai.version_path("model-nope", "0.1.0"), "GetModelVersion"), 404, "201900002")

    listed = pai.request("GET", f"/api/v1/models/{mid}/versions", "ListModelVersions",
                         query={"Order": "DESC", "PageSize": 2}).json()
    assert listed["TotalCount"] == 3 and [x["VersionName"] for x in listed["Versions"]] == ["2.4.0", "0.2.0"]
    filtered = pai.request("GET", f"/api/v1/models/{mid}/versions", "ListModelVersions",
                           query={"FrameworkType": "pytorch", "ApprovalStatus": "Approved", "Label": "PRO"}).json()
    assert [x["VersionName"] for x in filtered["Versions"]] == ["0.1.0"]
    err(pai.request("GET", "/api/v1/models/model-nope/versions", "ListModelVersions"), 404, "201900002")


def test_delete_model_cascades_or_refuses(pai: Pai, emulator: Any) -> None:
    mid = pai.create_model(ModelName="m")
    pai.create_version(mid)
    emulator.settings("pai", strict_model_delete=True)
    err(pai.request("DELETE", f"/api/v1/models/{mid}", "DeleteModel"), 400, "InvalidParameter")
    emulator.settings("pai", strict_model_delete=False)
    assert pai.request("DELETE", f"/api/v1/models/{mid}", "DeleteModel").status_code == 200
    assert emulator.objects("pai") == {}


# -- lists ----------------------------------------------------------------------------------------------
def test_list_models_pagination_sorting_filtering(pai: Pai, emulator: Any) -> None:
    ids = []
    for i in range(5):
        ids.append(pai.create_model(ModelName=f"model-{i}", Domain="cv" if i % 2 else "nlp", ParameterSize=1000 * i,
                                    Labels=[{"Key": "idx", "Value": f"n{i}"}], Tag=[{"Key": "tier", "Value": str(i % 2)}]))
        time.sleep(0.002)  # distinct GmtCreateTime
    page1 = pai.list_models(PageSize=2).json()
    page3 = pai.list_models(PageSize=2, PageNumber=3).json()
    assert page1["TotalCount"] == 5 and [m["ModelId"] for m in page1["Models"]] == ids[:2]
    assert [m["ModelId"] for m in page3["Models"]] == ids[4:]
    assert pai.list_models(PageSize=2, PageNumber=4).json()["Models"] == []
    desc = pai.list_models(Order="DESC", SortBy="GmtCreateTime").json()
    assert [m["ModelId"] for m in desc["Models"]] == ids[::-1]
    assert pai.list_models().json()["TotalCount"] == 5  # default page size 10

    def names(**q: Any) -> list[str]:
        r = pai.list_models(**q)
        assert r.status_code == 200, r.text
        return sorted(m["ModelName"] for m in r.json()["Models"])

    assert names(Domain="cv") == ["model-1", "model-3"]
    assert names(ModelName="DEL-4") == ["model-4"]
    assert names(Label="n2") == ["model-2"]
    assert names(Query="n3") == ["model-3"]
    assert names(Tag=json.dumps([{"Key": "tier", "Value": "1"}])) == ["model-1", "model-3"]
    cond = [{"Column": "ParameterSize", "Operator": "LessThan", "Value": "2000"}]
    assert names(Conditions=json.dumps(cond)) == ["model-0", "model-1"]
    assert names(WorkspaceId="100001", Domain="nlp", PageSize=100) == ["model-0", "model-2", "model-4"]

    assert names(Provider="pai") == []
    emulator.patch("pai", "model", ids[0], Provider="pai")
    assert names(Provider="pai") == ["model-0"] and "model-0" not in names()

    err(pai.list_models(SortBy="ModelName"), 400, "InvalidParameter")
    err(pai.list_models(PageSize=0), 400, "InvalidParameter")
    err(pai.list_models(PageNumber="x"), 400, "InvalidParameter")
    err(pai.list_models(Order="UP"), 400, "InvalidParameter")
    err(pai.list_models(Tag="not json"), 400, "InvalidParameter")


# -- validation and not-found ---------------------------------------------------------------------------
@pytest.mark.parametrize("body, code", [
    ({}, "MissingParameter"),
    ({"ModelName": ""}, "InvalidParameter"),
    ({"ModelName": "x" * 128}, "InvalidParameter"),
    ({"ModelName": "m", "Accessibility": "SECRET"}, "InvalidParameter"),
    ({"ModelName": "m", "OrderNumber": "1"}, "InvalidParameter"),
    ({"ModelName": "m", "ExtraInfo": "x"}, "InvalidParameter"),
    ({"ModelName": "m", "Labels": [{"Key": "k", "Value": "a,b"}]}, "InvalidParameter"),
    ({"ModelName": "m", "Tag": [{"Key": "k" * 129, "Value": ""}]}, "InvalidParameter"),
    (b"{not json", "InvalidParameter"),
])
def test_create_model_validation(pai: Pai, body: Any, code: str) -> None:
    body = body if isinstance(body, bytes) else {"Labels": [], "Tag": [], **body}
    e = err(pai.request("POST", "/api/v1/models", "CreateModel", body=body), 400, code)
    assert e["Message"]
    assert pai.list_models().json()["TotalCount"] == 0


OSS_URI = "oss://mybucket.oss-cn-beijing.aliyuncs.com/mypath/"


@pytest.mark.parametrize("body, code", [
    ({}, "MissingParameter"),
    ({"Uri": "ftp://host/x"}, "InvalidParameter"),
    ({"Uri": OSS_URI, "VersionName": "v1"}, "InvalidParameter"),
    ({"Uri": OSS_URI, "VersionName": "1.2"}, "InvalidParameter"),
    ({"Uri": OSS_URI, "Options": {"a": 1}}, "InvalidParameter"),
    ({"Uri": OSS_URI, "Metrics": {"m": "x" * 9000}}, "InvalidParameter"),
    ({"Uri": OSS_URI, "FormatType": "Pickle"}, "InvalidParameter"),
    ({"Uri": OSS_URI, "SourceType": "Somewhere"}, "InvalidParameter"),
])
def test_create_version_validation(pai: Pai, body: dict[str, Any], code: str) -> None:
    mid = pai.create_model(ModelName="m")
    err(pai.request("POST", f"/api/v1/models/{mid}/versions", "CreateModelVersion", body=body), 400, code)
    listed = pai.request("GET", f"/api/v1/models/{mid}/versions", "ListModelVersions").json()
    assert listed["TotalCount"] == 0


def test_not_found_status_is_a_setting_and_unknown_paths_are_vendor_errors(pai: Pai, emulator: Any) -> None:
    emulator.settings("pai", not_found_status=400)
    err(pai.get_model("model-nope"), 400, "201900002")
    r = pai.http.get(pai.base + "/pai/api/v2/nothing")
    err(r, 404, "InvalidAction.NotFound")


def test_unique_model_names_setting(pai: Pai, emulator: Any) -> None:
    pai.create_model(ModelName="same")
    pai.create_model(ModelName="same")  # allowed by default
    emulator.settings("pai", unique_model_names=True)
    err(pai.request("POST", "/api/v1/models", "CreateModel", body={"ModelName": "same"}), 400, "InvalidParameter")


# -- signatures ---------------------------------------------------------------------------------------
def test_bad_signature_reports_server_string_to_sign(pai: Pai) -> None:
    r = pai.request("GET", "/api/v1/models", "ListModels", query={"PageSize": 5}, sk="wrong-secret")
    e = err(r, 400, "SignatureDoesNotMatch")
    # The server's string to sign equals ours, since only the secret was wrong.
    headers = {k: v for k, v in r.request.headers.items() if k in (
        "host", "x-acs-action", "x-acs-version", "x-acs-signature-nonce", "accept", "x-acs-date",
        "x-acs-content-sha256")}
    _, _, sts = acs3_sign("GET", "/pai/api/v1/models", {"PageSize": "5"}, headers, SK)
    assert e["Message"].endswith("server string to sign is:" + sts)


def test_tampered_query_fails_signature(pai: Pai) -> None:
    assert pai.request("GET", "/api/v1/models", "ListModels", query={"PageSize": 5}).status_code == 200
    r = pai.request("GET", "/api/v1/models", "ListModels", query={"PageSize": 5}, tamper={"query": {"PageSize": "6"}})
    err(r, 400, "SignatureDoesNotMatch")


def test_unknown_access_key(pai: Pai) -> None:
    err(pai.request("GET", "/api/v1/models", "ListModels", ak="LTAI5tNobody"),
        404, "InvalidAccessKeyId.NotFound")


def test_expired_and_malformed_dates(pai: Pai) -> None:
    old = datetime.now(timezone.utc) - timedelta(minutes=16)
    err(pai.request("GET", "/api/v1/models", "ListModels", date=old), 400, "InvalidTimeStamp.Expired")
    future = datetime.now(timezone.utc) + timedelta(minutes=16)
    err(pai.request("GET", "/api/v1/models", "ListModels", date=future, scheme="roa"), 400, "InvalidTimeStamp.Expired")
    assert pai.request("GET", "/api/v1/models", "ListModels",
                       date=datetime.now(timezone.utc) - timedelta(minutes=14)).status_code == 200


def test_reused_nonce_is_rejected(pai: Pai) -> None:
    assert pai.request("GET", "/api/v1/models", "ListModels", nonce="fixed-nonce-1").status_code == 200
    err(pai.request("GET", "/api/v1/models", "ListModels", nonce="fixed-nonce-1"), 400, "SignatureNonceUsed")
    # a request rejected before the nonce check does not burn its nonce
    err(pai.request("GET", "/api/v1/models", "ListModels", nonce="fixed-nonce-2", sk="x"), 400, "SignatureDoesNotMatch")
    assert pai.request("GET", "/api/v1/models", "ListModels", nonce="fixed-nonce-2").status_code == 200


def test_payload_hash_mismatch(pai: Pai) -> None:
    r = pai.request("POST", "/api/v1/models", "CreateModel", body={"ModelName": "a"},
                    tamper={"body": json.dumps({"ModelName": "b"}).encode()})
    err(r, 400, "InvalidParameter.ContentSHA256")
    assert pai.list_models().json()["TotalCount"] == 0


def test_incomplete_signatures(pai: Pai) -> None:
    err(pai.request("GET", "/api/v1/models", "ListModels", tamper={"drop": ["authorization"]}),
        400, "IncompleteSignature")
    err(pai.request("GET", "/api/v1/models", "ListModels", tamper={"headers": {"authorization": "Bearer x"}}),
        400, "IncompleteSignature")
    # an x-acs-* header added after signing is unsigned
    err(pai.request("GET", "/api/v1/models", "ListModels", tamper={"headers": {"x-acs-extra": "1"}}),
        400, "IncompleteSignature")
    err(pai.request("GET", "/api/v1/models", "ListModels", tamper={"drop": ["x-acs-date"]}),
        400, "IncompleteSignature")


def test_action_and_version_headers_must_name_the_route(pai: Pai) -> None:
    err(pai.request("GET", "/api/v1/models", "GetModel"), 404, "InvalidAction.NotFound")
    err(pai.request("GET", "/api/v1/models", "ListModels", extra={"x-acs-version": "2020-01-01"}),
        400, "InvalidVersion")


def test_legacy_roa_sha1_scheme(pai: Pai) -> None:
    r = pai.request("POST", "/api/v1/models", "CreateModel", body={"ModelName": "legacy"}, scheme="roa",
                    extra={"content-md5": base64.b64encode(hashlib.md5(b'{"ModelName": "legacy"}').digest()).decode()})
    assert r.status_code == 200, r.text
    mid = r.json()["ModelId"]
    r = pai.request("DELETE", f"/api/v1/models/{mid}/labels", "DeleteModelLabels", scheme="roa",
                    query={"LabelKeys": "a,b c"})
    assert r.status_code == 200, r.text
    e = err(pai.request("GET", f"/api/v1/models/{mid}", "GetModel", scheme="roa", sk="wrong"),
            400, "SignatureDoesNotMatch")
    assert f"/pai/api/v1/models/{mid}" in e["Message"]
    err(pai.request("GET", "/api/v1/models", "ListModels", scheme="roa", ak="LTAI5tNobody"),
        404, "InvalidAccessKeyId.NotFound")
    err(pai.request("POST", "/api/v1/models", "CreateModel", body={"ModelName": "x"}, scheme="roa",
                    extra={"content-md5": "AAAAAAAAAAAAAAAAAAAAAA=="}), 400, "InvalidParameter.ContentMD5")
    assert pai.request("GET", "/api/v1/models", "ListModels", scheme="roa", nonce="legacy-n").status_code == 200
    err(pai.request("GET", "/api/v1/models", "ListModels", scheme="roa", nonce="legacy-n"), 400, "SignatureNonceUsed")


def test_extra_access_keys_and_skipping_verification(pai: Pai, emulator: Any) -> None:
    emulator.settings("pai", access_keys={"LTAI5tSecond": "second-secret"})
    assert pai.request("GET", "/api/v1/models", "ListModels", ak="LTAI5tSecond", sk="second-secret").status_code == 200
    err(pai.request("GET", "/api/v1/models", "ListModels"), 404, "InvalidAccessKeyId.NotFound")
    emulator.settings("pai", verify_signatures=False)
    assert pai.http.get(pai.base + "/pai/api/v1/models").status_code == 200


# -- persistence, admin, faults --------------------------------------------------------------------------
def test_state_and_nonces_survive_restart(pai: Pai, emulator: Any) -> None:
    mid = pai.create_model(ModelName="durable")
    assert pai.create_version(mid).status_code == 200
    assert pai.request("GET", "/api/v1/models", "ListModels", nonce="before-restart").status_code == 200
    emulator.restart()
    m = pai.get_model(mid).json()
    assert m["ModelName"] == "durable" and m["LatestVersion"]["VersionName"] == "0.1.0"
    err(pai.request("GET", "/api/v1/models", "ListModels", nonce="before-restart"), 400, "SignatureNonceUsed")


def test_admin_lists_and_resets(pai: Pai, emulator: Any) -> None:
    assert emulator.objects("pai") == {}
    mid = pai.create_model(ModelName="m")
    pai.create_version(mid, VersionName="1.0.0")
    objs = emulator.objects("pai")
    assert set(objs["model"]) == {mid} and set(objs["version"]) == {f"{mid}:1.0.0"}
    emulator.remove("pai", "version", f"{mid}:1.0.0")  # gone behind the client's back
    err(pai.request("GET", pai.version_path(mid, "1.0.0"), "GetModelVersion"), 404, "201900003")
    emulator.reset("pai")
    assert emulator.objects("pai") == {}
    err(pai.get_model(mid), 404, "201900002")


def test_injected_fault_uses_vendor_envelope(pai: Pai, emulator: Any) -> None:
    emulator.arm_fault("pai", method="GET", path="/api/v1/models", status=503, code="ServiceUnavailable",
                       message="The request has failed due to a temporary failure of the server.")
    r = pai.list_models()
    e = err(r, 503, "ServiceUnavailable")
    assert REQUEST_ID.match(e["RequestId"]) and e["Message"].startswith("The request has failed")
    assert pai.list_models().status_code == 200  # fired once
