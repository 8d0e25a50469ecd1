"""Contract tests for the ZStack emulator over real HTTP (shared/specs/zstack.md §1-§7, §10).

Everything here speaks raw HTTP; nothing is imported from ``providers`` (the client is an
independent reading of the same spec). The SHA-512 of the emulator's default password was
computed with ``printf password | sha512sum``, not with the code under test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from emulator import defaults
from tests.emulator_process import Emulator

PASSWORD_SHA512 = ("b109f3bbbc244eb82441917ed06d618b9008dd09b3befd1b5e07394c706a8bb9"
                   "80b1d7785e5976ec049b46df5f1326af5a2ea6d103fd07c95385ffab0cacbc86")
AK_ID, AK_SECRET = defaults.ZSTACK_ACCESS_KEY_ID, defaults.ZSTACK_ACCESS_KEY_SECRET
HEX32 = re.compile(r"[0-9a-f]{32}")
GSON = re.compile(r"[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} (AM|PM)")
CENTER = {"name": "mc", "url": "192.168.10.12:/ai/model_center", "managementIp": "192.168.10.12",
          "managementPort": 8989}


class ZStack:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.http = httpx.Client(base_url=f"{emu.url}/zstack", timeout=10)
        self.session = self.login().json()["inventory"]["uuid"]

    def login(self, name: str = "admin", password: str = PASSWORD_SHA512) -> httpx.Response:
        return self.http.put("/v1/accounts/login",
                             json={"logInByAccount": {"accountName": name, "password": password}})

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"OAuth {self.session}"}

    def send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {**self.auth, **kw.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kw)

    def job_path(self, reply: httpx.Response) -> str:
        assert reply.status_code == 202, reply.text
        location = reply.json()["location"]
        return location[location.index("/v1/api-jobs/"):]

    def wait(self, reply: httpx.Response) -> httpx.Response:
        path = self.job_path(reply)
        for _ in range(200):
            r = self.http.get(path, headers=self.auth)
            if r.status_code != 202:
                return r
            time.sleep(0.02)
        raise AssertionError("job did not finish")

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.wait(self.send(method, path, **kw))

    def add_center(self, **fields: Any) -> dict[str, Any]:
        r = self.call("POST", "/v1/ai/model-centers", json={"param": {**CENTER, **fields}})
        assert r.status_code == 200, r.text
        return r.json()["inventory"]

    def add_model(self, center: str, **fields: Any) -> httpx.Response:
        param = {"name": "Qwen 1.5 32B", "installPath": "192.168.10.12:/ai/model_center/Qwen_1.5_23B",
                 "modelCenterUuid": center, **fields}
        return self.call("POST", "/v1/ai/models", json={"param": param, "systemTags": [], "userTags": ["team"]})


@pytest.fixture
def zs(emulator: Emulator) -> ZStack:
    emulator.reset("zstack")
    # Jobs are still 202 + poll, finished by the first poll; the tests of a running job set longer delays.
    emulator.settings("zstack", job_delay_s=0.001)
    return ZStack(emulator)


# -- sessions ------------------------------------------------------------------------------------
def test_login_takes_the_sha512_hex_of_the_password(zs):
    r = zs.login()
    assert r.status_code == 200
    inv = r.json()["inventory"]
    assert HEX32.fullmatch(inv["uuid"]) and GSON.fullmatch(inv["createDate"]) and GSON.fullmatch(inv["expiredDate"])
    assert inv["accountUuid"] and "_expires" not in inv
    for bad in ("password", "0" * 128):  # clear text or a wrong digest
        r = zs.login(password=bad)
        assert r.status_code == 503 and r.json()["error"]["code"] == "ID.1000"
    assert zs.http.put("/v1/accounts/login", json={"logIn": {}}).status_code == 400


def test_session_validity_and_logout(zs):
    assert zs.http.get(f"/v1/accounts/sessions/{zs.session}/valid").json() == {"valid": True}
    r = zs.http.delete(f"/v1/accounts/sessions/{zs.session}")
    assert r.status_code == 200 and r.text == ""
    assert zs.http.get(f"/v1/accounts/sessions/{zs.session}/valid").json() == {"valid": False}
    # an invalid session is not refused by the HTTP layer: queries 503 ID.1001 ...
    r = zs.send("GET", "/v1/ai/models")
    assert r.status_code == 503 and r.json()["error"]["code"] == "ID.1001"
    # ... and mutating APIs accept the job, which then fails with ID.1001
    r = zs.call("POST", "/v1/ai/model-centers", json={"param": CENTER})
    assert r.status_code == 503 and r.json()["error"]["code"] == "ID.1001"


def test_expired_session(zs, emulator):
    emulator.settings("zstack", session_timeout_s=0)
    zs.session = zs.login().json()["inventory"]["uuid"]
    r = zs.send("GET", "/v1/ai/model-centers")
    assert r.status_code == 503 and r.json()["error"]["code"] == "ID.1001"


def test_framework_errors_are_plain_text(zs):
    r = zs.http.get("/v1/ai/models")
    assert (r.status_code, r.text) == (400, "missing header 'Authorization'")
    assert r.headers["content-type"].startswith("text/plain")
    r = zs.http.get("/v1/ai/models", headers={"Authorization": f"Bearer {zs.session}"})
    assert (r.status_code, r.text) == (400, "Authorization type must be 'OAuth'")
    r = zs.send("GET", "/v1/ai/nothing-here")
    assert r.status_code == 404 and r.text == "no api mapping to /zstack/v1/ai/nothing-here"
    r = zs.send("PUT", "/v1/ai/models/" + "a" * 32, json={"updateSomething": {}})
    assert r.status_code == 400 and "doesn't contain action mapping" in r.text
    r = zs.send("POST", "/v1/ai/models", json={"param": {"size": "big"}})
    assert r.status_code == 400 and "field[size]" in r.text
    r = zs.send("POST", "/v1/ai/models", content=b"{not json")
    assert r.status_code == 400


# -- jobs ----------------------------------------------------------------------------------------
def test_async_create_is_a_job_polled_until_200(zs, emulator):
    emulator.settings("zstack", job_delay_s=0.5)
    r = zs.send("POST", "/v1/ai/model-centers", json={"param": CENTER})
    assert r.status_code == 202
    body = r.json()
    assert body["apiTimeout"] == 1800000
    # by default ``location`` is the address the client used, so following it as given works
    assert re.fullmatch(re.escape(f"{emulator.url}/zstack/v1/api-jobs/") + "[0-9a-f]{32}", body["location"])
    path = zs.job_path(r)
    first = zs.http.get(path)
    assert first.status_code == 202 and first.text == ""
    assert zs.send("GET", "/v1/ai/model-centers").json()["inventories"] == []  # not there before the job ends
    done = zs.wait(r)
    assert done.status_code == 200
    assert httpx.get(body["location"], timeout=10).json() == done.json()  # followed as given
    inv = done.json()["inventory"]
    assert HEX32.fullmatch(inv["uuid"]) and GSON.fullmatch(inv["createDate"])
    assert inv["managementPort"] == 8989 and inv["status"] == "Connected"
    assert zs.http.post(path).status_code == 405


def test_location_follows_the_address_the_client_used(zs, emulator):
    """Issue 18: ``location`` never sends a client to a private address it did not use. The same
    emulator reached as ``localhost`` and with another ``Host`` answers with that host; an explicit
    ``location_base`` (a management node with an internal address) still wins."""
    port = emulator.url.rsplit(":", 1)[1]
    for base in (f"http://localhost:{port}", f"http://127.0.0.1:{port}"):
        with httpx.Client(base_url=f"{base}/zstack", timeout=10, headers=zs.auth) as other:
            r = other.post("/v1/ai/model-centers", json={"param": CENTER})
            assert r.status_code == 202, r.text
            location = r.json()["location"]
            assert location.startswith(f"{base}/zstack/v1/api-jobs/"), location
            assert other.get(location).status_code in (200, 202)  # followed exactly as given
    r = zs.send("POST", "/v1/ai/model-centers", json={"param": CENTER}, headers={"Host": f"mn.example:{port}"})
    assert r.json()["location"].startswith(f"http://mn.example:{port}/zstack/v1/api-jobs/")
    assert "172.20.0.10" not in r.text
    emulator.settings("zstack", location_base="http://172.20.0.10:8080/zstack")
    r = zs.send("POST", "/v1/ai/model-centers", json={"param": CENTER})
    assert r.json()["location"].startswith("http://172.20.0.10:8080/zstack/v1/api-jobs/")


def test_job_uuid_header_makes_a_retry_the_same_job(zs):
    job = "0123456789abcdef0123456789abcdef"
    r = zs.send("POST", "/v1/ai/model-centers", json={"param": CENTER}, headers={"X-Job-UUID": job})
    assert r.json()["location"].endswith(f"/v1/api-jobs/{job}")
    again = zs.send("POST", "/v1/ai/model-centers", json={"param": CENTER}, headers={"X-Job-UUID": job})
    assert (again.status_code, again.text) == (400, f"Duplicate job uuid[{job}]")
    zs.wait(r)
    assert len(zs.send("GET", "/v1/ai/model-centers").json()["inventories"]) == 1
    short = zs.send("POST", "/v1/ai/model-centers", json={"param": CENTER}, headers={"X-Job-UUID": "abc"})
    assert short.status_code == 400 and "X-Job-UUID" in short.text


def test_unknown_and_expired_jobs(zs, emulator):
    r = zs.http.get("/v1/api-jobs/" + "f" * 32)
    assert (r.status_code, r.text) == (404, f"no job[uuid:{'f' * 32}] found")
    reply = zs.send("POST", "/v1/ai/model-centers", json={"param": CENTER})
    zs.wait(reply)
    emulator.settings("zstack", job_retention_s=0)
    r = zs.http.get(zs.job_path(reply))
    assert (r.status_code, r.text) == (404, "the job has been expired")


def test_direct_reply_when_jobs_take_no_time(zs, emulator):
    emulator.settings("zstack", job_delay_s=0)
    r = zs.send("POST", "/v1/ai/model-centers", json={"param": CENTER})
    assert r.status_code == 200 and r.json()["inventory"]["name"] == "mc"


# -- model centers and models ----------------------------------------------------------------------
def test_model_center_validation(zs, emulator):
    r = zs.call("POST", "/v1/ai/model-centers", json={"param": {**CENTER, "managementIp": None}})
    assert r.status_code == 503 and r.json()["error"]["code"] == "SYS.1007"
    assert "managementIp" in r.json()["error"]["details"]
    r = zs.call("POST", "/v1/ai/model-centers", json={"param": {**CENTER, "managementPort": 70000}})
    assert r.json()["error"]["code"] == "SYS.1007"
    # the wrong wrapper key: fields are ignored, so the job fails on a required field
    r = zs.call("POST", "/v1/ai/model-centers", json={"params": CENTER})
    assert r.status_code == 503 and "is mandatory" in r.json()["error"]["details"]
    emulator.settings("zstack", require_zone_uuid=True)
    r = zs.call("POST", "/v1/ai/model-centers", json={"param": CENTER})
    assert "zoneUuid" in r.json()["error"]["details"]


def test_model_lifecycle(zs):
    center = zs.add_center()
    uid = "00000000000000000000000000000abc"
    r = zs.add_model(center["uuid"], size=102400, vendor="Alibaba", recommendedGpuNum="2", shareMode="Public",
                     resourceUuid=uid, token="download-token")
    assert r.status_code == 200, r.text
    inv = r.json()["inventory"]
    assert inv["uuid"] == uid and inv["size"] == 102400 and inv["recommendedGpuNum"] == [2]
    assert "token" not in inv and "shareMode" not in inv and inv["type"] == "Custom"
    one = zs.send("GET", f"/v1/ai/models/{uid}").json()
    assert one["inventories"] == [inv]
    # update through the updateModel wrapper, no /actions suffix
    r = zs.call("PUT", f"/v1/ai/models/{uid}", json={"updateModel": {"description": "new", "size": 1}})
    assert r.status_code == 200
    inv2 = r.json()["inventory"]
    assert inv2["description"] == "new" and inv2["size"] == 102400  # size is not updatable: ignored
    # resourceUuid already used
    r = zs.add_model(center["uuid"], resourceUuid=uid)
    assert r.json()["error"]["code"] == "SYS.1007"
    # Permissive delete of a center with models is refused; deleting the model first works
    r = zs.call("DELETE", f"/v1/ai/model-centers/{center['uuid']}")
    assert r.status_code == 503 and r.json()["error"]["code"] == "SYS.1006"
    r = zs.call("DELETE", f"/v1/ai/models/{uid}", params={"deleteMode": "Permissive"})
    assert r.status_code == 200 and r.text == ""
    assert zs.send("GET", f"/v1/ai/models/{uid}").json() == {"inventories": []}
    # deleting what is gone succeeds (successIfResourceNotExisting)
    assert zs.call("DELETE", f"/v1/ai/models/{uid}").status_code == 200
    assert zs.call("DELETE", f"/v1/ai/model-centers/{center['uuid']}").status_code == 200


def test_missing_model_center_is_sys_1003(zs):
    r = zs.add_model("0" * 32)
    assert r.status_code == 503
    error = r.json()["error"]
    assert error["code"] == "SYS.1003" and "0" * 32 in error["details"] and error["description"]
    r = zs.add_model(zs.add_center()["uuid"], shareMode="Private")
    assert r.json()["error"]["code"] == "SYS.1007"


def test_enforcing_delete_takes_the_models_along(zs):
    center = zs.add_center()
    zs.add_model(center["uuid"])
    r = zs.call("DELETE", f"/v1/ai/model-centers/{center['uuid']}", params={"deleteMode": "Enforcing"})
    assert r.status_code == 200
    assert zs.send("GET", "/v1/ai/models").json()["inventories"] == []
    bad = zs.send("DELETE", f"/v1/ai/model-centers/{center['uuid']}", params={"deleteMode": "Force"})
    assert bad.status_code == 400


def test_strict_delete_mode_reports_missing(zs, emulator):
    emulator.settings("zstack", delete_missing_succeeds=False)
    r = zs.call("DELETE", f"/v1/ai/models/{'e' * 32}")
    assert r.json()["error"]["code"] == "SYS.1003"


# -- the query grammar ---------------------------------------------------------------------------
def test_query_grammar(zs):
    center = zs.add_center()["uuid"]
    for name, size in (("alpha", 10), ("beta", 20), ("gamma", 30)):
        zs.add_model(center, name=name, size=size, vendor=None if name == "gamma" else "Acme")

    def names(*q: str, **params: Any) -> list[str]:
        r = zs.send("GET", "/v1/ai/models", params=[("q", c) for c in q] + list(params.items()))
        assert r.status_code == 200, r.text
        return [i["name"] for i in r.json()["inventories"]]

    assert names("name=beta") == ["beta"]
    assert names("name!=beta") == ["alpha", "gamma"]
    assert names("size>10") == ["beta", "gamma"] and names("size>=20", "size<=20") == ["beta"]
    assert names("size<20") == ["alpha"]
    assert names("name?=alpha, gamma") == ["alpha", "gamma"] and names("name!?=alpha,gamma") == ["beta"]
    assert names("name~=%MM%") == ["gamma"] and names("name!~=%a") == []
    assert names("vendor is null") == ["gamma"] and names("vendor not null") == ["alpha", "beta"]
    assert names(sort="-size", limit=2) == ["gamma", "beta"] and names(sort="+name", start=1) == ["beta", "gamma"]
    r = zs.send("GET", "/v1/ai/models", params={"replyWithCount": "true", "limit": 1})
    assert r.json()["total"] == 3 and len(r.json()["inventories"]) == 1
    assert zs.send("GET", "/v1/ai/models", params={"count": "true"}).json() == {"total": 3}
    r = zs.send("GET", "/v1/ai/models", params={"fields": "name,size", "q": "name=alpha"})
    assert r.json()["inventories"] == [{"name": "alpha", "size": 10}]
    assert zs.send("GET", "/v1/ai/models", params={"q": "nameonly"}).status_code == 400
    assert zs.send("GET", "/v1/ai/models", params={"limit": "ten"}).status_code == 400
    assert zs.send("GET", "/v1/ai/models", params={"q": "colour=red"}).status_code == 400
    assert zs.send("GET", "/v1/ai/models", params={"q": "_token=x"}).status_code == 400  # internal keys
    assert zs.send("GET", f"/v1/ai/model-centers/{center}").json()["inventories"][0]["uuid"] == center


# -- AccessKey auth ------------------------------------------------------------------------------
def ak_headers(method: str, path: str, secret: str = AK_SECRET, skew_s: float = 0) -> dict[str, str]:
    date = formatdate(time.time() + skew_s, usegmt=True)
    sig = base64.b64encode(hmac.new(secret.encode(), f"{method}\n{date}\n{path}".encode(), hashlib.sha1).digest())
    return {"Authorization": f"ZStack {AK_ID}:{sig.decode()}", "Date": date}


def test_access_key_signing(zs):
    r = zs.http.post("/v1/ai/model-centers", json={"param": CENTER},
                     headers=ak_headers("POST", "/v1/ai/model-centers"))
    assert r.status_code == 202
    path = zs.job_path(r)
    for _ in range(100):
        done = zs.http.get(path, headers=ak_headers("GET", path))
        if done.status_code != 202:
            break
        time.sleep(0.02)
    assert done.status_code == 200
    ok = zs.http.get("/v1/ai/model-centers", headers=ak_headers("GET", "/v1/ai/model-centers"))
    assert ok.status_code == 200 and len(ok.json()["inventories"]) == 1
    bad = zs.http.get("/v1/ai/model-centers", headers=ak_headers("GET", "/v1/ai/model-centers", secret="wrong"))
    assert bad.status_code == 401
    skewed = zs.http.get("/v1/ai/model-centers", headers=ak_headers("GET", "/v1/ai/model-centers", skew_s=-3600))
    assert (skewed.status_code, skewed.text) == (403, "requestTimeTooSkewed")
    no_date = {"Authorization": ak_headers("GET", "/v1/ai/model-centers")["Authorization"]}
    assert zs.http.get("/v1/ai/model-centers", headers=no_date).status_code == 400


# -- admin surface, state, faults -----------------------------------------------------------------
def test_state_survives_a_restart_and_faults_use_the_error_envelope(zs, emulator):
    center = zs.add_center()
    emulator.restart()
    assert zs.send("GET", f"/v1/ai/model-centers/{center['uuid']}").json()["inventories"][0]["name"] == "mc"
    assert center["uuid"] in emulator.objects("zstack")["model_center"]
    emulator.arm_fault("zstack", method="GET", path="/v1/ai/models", status=503, code="SYS.1000",
                       message="internal error")
    r = zs.send("GET", "/v1/ai/models")
    assert r.status_code == 503 and r.json()["error"]["code"] == "SYS.1000"
    assert zs.send("GET", "/v1/ai/models").status_code == 200


def test_web_hook_gets_the_result_without_polling(zs):
    import http.server
    import threading

    got: list[tuple[Any, bytes]] = []
    arrived = threading.Event()

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            got.append((self.headers, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(500 if len(got) == 1 else 200)  # the first delivery is refused: retried
            self.end_headers()
            if len(got) == 2:
                arrived.set()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        zs.emu.settings("zstack", webhook_interval_s=0.1)
        job = "abcdef0123456789abcdef0123456789"
        r = zs.send("POST", "/v1/ai/model-centers", json={"param": CENTER},
                    headers={"X-Job-UUID": job, "X-Web-Hook": f"http://127.0.0.1:{server.server_port}/hook"})
        assert r.status_code == 202
        assert arrived.wait(10), "the hook was not called twice"
        headers, body = got[1]
        assert headers.get("x-job-uuid") == job and headers.get("x-job-success") == "true"
        assert json.loads(body)["inventory"]["name"] == "mc"
    finally:
        server.shutdown()


# -- model services (issue 18): definitions only -----------------------------------------------------
SERVICE = {"name": "qwen-vllm", "yaml": "kind: Service\n", "requestCpu": 8, "requestMemory": 34359738368,
           "installPath": "192.168.10.12:/ai/model_center/services/vllm", "startCommand": "vllm serve"}


def test_model_service_lifecycle_and_bindings(zs):
    center = zs.add_center()["uuid"]
    for missing in ("name", "yaml", "modelCenterUuid", "requestCpu", "requestMemory", "installPath", "startCommand"):
        param = {k: v for k, v in {**SERVICE, "modelCenterUuid": center}.items() if k != missing}
        r = zs.call("POST", "/v1/ai/model-services", json={"param": param})
        assert r.status_code == 503 and r.json()["error"]["code"] == "SYS.1007", missing
        assert f"field[{missing}]" in r.json()["error"]["details"]
    for bad in ({"type": "Batch"}, {"source": "Git"}):
        r = zs.call("POST", "/v1/ai/model-services", json={"param": {**SERVICE, "modelCenterUuid": center, **bad}})
        assert r.status_code == 503 and r.json()["error"]["code"] == "SYS.1007"
    r = zs.send("POST", "/v1/ai/model-services", json={"param": {**SERVICE, "requestCpu": "eight"}})
    assert r.status_code == 400 and "field[requestCpu]" in r.text  # TypeVerifier: synchronous, plain text
    r = zs.call("POST", "/v1/ai/model-services", json={"param": {**SERVICE, "modelCenterUuid": "f" * 32}})
    assert r.json()["error"]["code"] == "SYS.1003"

    r = zs.call("POST", "/v1/ai/model-services", json={"param": {**SERVICE, "modelCenterUuid": center,
                                                                 "architectureImages": [
                                                                     {"cpuArchitecture": "x86_64",
                                                                      "dockerImage": "vllm:0.6"}]}})
    assert r.status_code == 200, r.text
    svc = r.json()["inventory"]
    assert HEX32.fullmatch(svc["uuid"]) and GSON.fullmatch(svc["createDate"])
    assert (svc["type"], svc["source"], svc["system"], svc["supportDistributed"]) == ("Endpoint", "Other", False, False)
    assert svc["yaml"] == "kind: Service\n" and svc["cpuArchitectures"] == ["x86_64"] and svc["modelServiceRefs"] == []
    assert {"readme", "size", "framework", "vendorToSpecUuidsMap", "modelServiceImages", "lastOpDate"} <= set(svc)

    # a model binds it (and must name services that exist); both sides show the ref
    r = zs.add_model(center, modelServiceUuids=["d" * 32])
    assert r.json()["error"]["code"] == "SYS.1003" and f"ModelServiceVO[uuid:{'d' * 32}]" in r.text
    model = zs.add_model(center, modelServiceUuids=[svc["uuid"]], defaultModelServiceUuid=svc["uuid"]).json()["inventory"]
    ref = model["modelServiceRefs"][0]
    assert set(ref) == {"uuid", "modelUuid", "modelServiceUuid", "isDefault"}  # ModelServiceRefInventory
    assert (ref["modelUuid"], ref["modelServiceUuid"], ref["isDefault"]) == (model["uuid"], svc["uuid"], True)
    listed = zs.send("GET", f"/v1/ai/model-services/{svc['uuid']}").json()["inventories"]
    assert [r["modelUuid"] for r in listed[0]["modelServiceRefs"]] == [model["uuid"]]
    q = zs.send("GET", "/v1/ai/model-services", params={"q": "source=Other"}).json()["inventories"]
    assert [s["uuid"] for s in q] == [svc["uuid"]]

    r = zs.call("PUT", f"/v1/ai/model-services/{svc['uuid']}",
                json={"updateModelService": {"yaml": "kind: Other\n", "requestCpu": 4, "type": "App"}})
    assert r.status_code == 200 and (r.json()["inventory"]["yaml"], r.json()["inventory"]["type"]) == ("kind: Other\n", "App")
    r = zs.call("PUT", f"/v1/ai/model-services/{svc['uuid']}", json={"updateModelService": {"framework": "vLLM"}})
    assert r.json()["error"]["code"] == "SYS.1007"  # UpdateModelService's framework takes source's values

    r = zs.call("DELETE", f"/v1/ai/model-services/{svc['uuid']}")
    assert r.status_code == 503 and r.json()["error"]["code"] == "SYS.1006"  # still bound
    r = zs.call("DELETE", f"/v1/ai/model-services/{svc['uuid']}", params={"deleteMode": "Enforcing"})
    assert r.status_code == 200
    assert zs.send("GET", f"/v1/ai/models/{model['uuid']}").json()["inventories"][0]["modelServiceRefs"] == []
    assert zs.send("GET", "/v1/ai/model-services").json()["inventories"] == []


def test_model_inventory_fields_and_description_limit(zs):
    center = zs.add_center()["uuid"]
    inv = zs.add_model(center, size=102400, version="v1.2.0").json()["inventory"]
    for key in ("versionSemver", "isLatestVersion", "artifactChecksum", "artifactSizeBytes", "architectureType",
                "frameworkVersion", "requiredAccelerator", "pipelineTag", "extraGpuMemRequest",
                "modelClassifications"):
        assert key in inv, key
    assert inv["artifactSizeBytes"] == 102400 * 2**20 and inv["versionSemver"] == "1.2.0"
    r = zs.add_model(center, description="x" * 256)
    assert r.json()["error"]["code"] == "SYS.1007" and "field[description]" in r.text
    r = zs.call("PUT", f"/v1/ai/models/{inv['uuid']}", json={"updateModel": {"modelClassifications": ["chat"]}})
    assert r.json()["inventory"]["modelClassifications"] == ["chat"]


# -- hostile bodies and the OpenAPI document ---------------------------------------------------------
BODY_ROUTES = [("PUT", "/v1/accounts/login"), ("POST", "/v1/ai/model-centers"), ("PUT", "/v1/ai/model-centers/" + "a" * 32),
               ("POST", "/v1/ai/models"), ("PUT", "/v1/ai/models/" + "a" * 32), ("POST", "/v1/ai/model-services"),
               ("PUT", "/v1/ai/model-services/" + "a" * 32)]
DEEP = ["[" * 50_000 + "]" * 50_000, json.dumps(json.loads('{"a":' * 200 + "1" + "}" * 200)),
        '{"param": {"name": ' + "[" * 50_000 + "]" * 50_000 + "}}"]


def test_deep_json_is_a_plain_400_on_every_body_route(zs):
    for method, path in BODY_ROUTES:
        for body in DEEP:
            r = zs.send(method, path, content=body, headers={"Content-Type": "application/json"})
            assert r.status_code == 400, (method, path, r.status_code, r.text[:200])
            assert r.headers["content-type"].startswith("text/plain")


def test_openapi_declares_bodies_and_query_parameters(emulator):
    spec = httpx.get(f"{emulator.url}/openapi.json", timeout=30).json()
    paths = spec["paths"]
    for path in ("/zstack/v1/ai/model-centers", "/zstack/v1/ai/models", "/zstack/v1/ai/model-services"):
        query = {p["name"] for p in paths[path]["get"]["parameters"] if p["in"] == "query"}
        assert {"q", "limit", "start", "replyWithCount", "count", "sort", "fields"} <= query, path
        assert {p["name"] for p in paths[path + "/{uuid}"]["delete"]["parameters"] if p["in"] == "query"} == \
            {"deleteMode"}
    wrappers = {("put", "/zstack/v1/accounts/login"): ("logInByAccount", {"accountName", "password"}),
                ("post", "/zstack/v1/ai/model-centers"): ("param", {"name", "url", "managementIp", "managementPort"}),
                ("put", "/zstack/v1/ai/model-centers/{uuid}"): ("updateModelCenter", set()),
                ("post", "/zstack/v1/ai/models"): ("param", {"name", "installPath", "modelCenterUuid"}),
                ("put", "/zstack/v1/ai/models/{uuid}"): ("updateModel", set()),
                ("post", "/zstack/v1/ai/model-services"): ("param", {"name", "yaml", "modelCenterUuid", "requestCpu",
                                                                     "requestMemory", "installPath", "startCommand"}),
                ("put", "/zstack/v1/ai/model-services/{uuid}"): ("updateModelService", set())}
    for (method, path), (key, required) in wrappers.items():
        schema = paths[path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert schema["required"] == [key] and set(schema["properties"][key].get("required", [])) == required
        assert set(schema["properties"][key]["properties"]) >= required
