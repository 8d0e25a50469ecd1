"""Contract tests for the AI Creation Workshop emulator, over HTTP against a real process.

The signer below is this module's own reading of spec §2.1 (it shares no code with
emulator/workshop/gateway.py or providers/). Its string to sign is pinned to a literal first.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import http.server
import json
import queue
import threading
import time
import uuid
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from emulator import defaults

APP_KEY, APP_SECRET = defaults.WORKSHOP_APP_KEY, defaults.WORKSHOP_APP_SECRET
JSON = "application/json; charset=utf-8"


def gateway_sign(method: str, path: str, headers: dict[str, str], secret: str) -> tuple[str, str]:
    """(signature, string to sign) over already-complete headers; signs the four x-ca-* headers."""
    h = {k.lower(): v for k, v in headers.items()}
    names = sorted(n for n in h if n in ("x-ca-key", "x-ca-nonce", "x-ca-signature-method", "x-ca-timestamp"))
    sts = "\n".join([method, h.get("accept", ""), h.get("content-md5", ""), h.get("content-type", ""),
                     h.get("date", "")] + [f"{n}:{h[n]}" for n in names] + [path])
    return base64.b64encode(hmac.new(secret.encode(), sts.encode(), hashlib.sha256).digest()).decode(), sts


def test_signer_string_to_sign_layout() -> None:
    headers = {"Accept": JSON, "Content-MD5": "abc==", "Content-Type": JSON, "Date": "Tue, 01 Dec 2026 12:00:00 GMT",
               "X-Ca-Key": "k", "X-Ca-Timestamp": "1", "X-Ca-Nonce": "n", "X-Ca-Signature-Method": "HmacSHA256"}
    _, sts = gateway_sign("POST", "/workshop/scc/spSdModelSync", headers, "s")
    assert sts == ("POST\napplication/json; charset=utf-8\nabc==\napplication/json; charset=utf-8\n"
                   "Tue, 01 Dec 2026 12:00:00 GMT\nx-ca-key:k\nx-ca-nonce:n\nx-ca-signature-method:HmacSHA256\n"
                   "x-ca-timestamp:1\n/workshop/scc/spSdModelSync")


class Workshop:
    def __init__(self, emulator: Any) -> None:
        self.base = f"{emulator.url}/workshop"
        self.http = httpx.Client(timeout=10)

    def post(self, path: str, body: Any = None, *, key: str = APP_KEY, secret: str = APP_SECRET,
             nonce: str | None = None, timestamp_ms: int | None = None, tamper: dict[str, Any] | None = None,
             query: str = "") -> httpx.Response:
        raw = b"" if body is None else json.dumps(body).encode()
        headers = {"Accept": JSON, "Content-Type": JSON, "Date": formatdate(usegmt=True), "X-Ca-Key": key,
                   "X-Ca-Timestamp": str(timestamp_ms or int(time.time() * 1000)),
                   "X-Ca-Nonce": nonce or str(uuid.uuid4()), "X-Ca-Signature-Method": "HmacSHA256",
                   "X-Ca-Signature-Headers": "x-ca-key,x-ca-timestamp,x-ca-nonce,x-ca-signature-method"}
        if raw:
            headers["Content-MD5"] = base64.b64encode(hashlib.md5(raw).digest()).decode()
        full = f"/workshop{path}" + (f"?{query}" if query else "")
        headers["X-Ca-Signature"], _ = gateway_sign("POST", full, headers, secret)
        tamper = tamper or {}
        raw = tamper.get("body", raw)
        headers.update(tamper.get("headers", {}))
        for name in tamper.get("drop", ()):
            headers.pop(name, None)
        return self.http.post(self.base + path + (f"?{query}" if query else ""), content=raw, headers=headers)

    def token(self, name: str | None = "tester", **extra: Any) -> str:
        r = self.post("/scc/allocate_token", {**({"name": name} if name else {}), **extra})
        assert r.status_code == 200 and "errCode" not in r.json(), r.text
        return r.json()["data"]["apiToken"]

    def sync(self, body: dict[str, Any], token: str | None = None, **kw: Any) -> httpx.Response:
        return self.post("/scc/spSdModelSync", {"apiToken": token or self.token(), **body}, **kw)


def model(model_id: str = "m-1", *, files: int = 1, url: str = "https://models.example.com/a.safetensors",
          hash: str = "sha256:aaa") -> dict[str, Any]:
    """The seed's example body, with our values."""
    return {
        "modelId": model_id, "name": "Demo", "modelType": "checkpoint", "modelDesc": "<p>x</p>",
        "source": "https://example.com/demo", "sourceType": "internal", "isOriginal": False,
        "originalCreator": "ccc", "originalCreatorHomepage": "https://example.com/ccc",
        "versions": [{
            "modelVersionId": "v-1", "name": "v1.2.2-EOL", "baseModel": "v1.5", "versionDesc": "<p>v</p>",
            "triggerWords": ["rev", "animated"], "isAutoCollection": True,
            "covers": [{"cover": "https://example.com/c.jpeg", "coverFile": {"width": 1920, "height": 1080,
                                                                               "format": "jpeg"}}],
            "files": [{"name": f"f{i}.safetensors", "aliasName": f"f{i}", "downloadUrl": url.replace("a.", f"{i}."),
                       "hash": f"{hash}{i}", "sizeKb": 5376404.0390625, "isPrimary": i == 0} for i in range(files)],
        }],
    }


def biz_error(r: httpx.Response, code: str, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["errCode"] == code and body["errMessage"] and body["apiInvokeId"] and body["data"] is None, body
    return body


def gateway_error(r: httpx.Response, status: int, code: str) -> str:
    assert r.status_code == status, (r.status_code, r.headers, r.text)
    assert r.headers["x-ca-error-code"] == code and r.headers["x-ca-request-id"] and r.content == b""
    return r.headers["x-ca-error-message"]


def stored(emulator: Any, model_id: str = "m-1", owner: str = f"{APP_KEY}/user:tester") -> dict[str, Any]:
    return emulator.objects("workshop")["model"][f"{owner}/{model_id}"]


@pytest.fixture
def ws(emulator: Any) -> Workshop:
    emulator.reset("workshop")
    emulator.settings("workshop", listing_delay_s=0.3)
    return Workshop(emulator)


# -- tokens ------------------------------------------------------------------------------------------
def test_allocate_token(ws: Workshop, emulator: Any) -> None:
    r = ws.post("/scc/allocate_token", {"name": "alice"})
    assert r.status_code == 200 and r.headers["x-ca-request-id"]
    data = r.json()["data"]
    assert set(data) == {"apiToken", "tokenExpiredAt", "usedSessionTimeInSeconds"}
    assert len(data["apiToken"]) == 26 and len(str(data["tokenExpiredAt"])) == 13
    later = int(time.time() * 1000) + 3_600_000
    assert ws.post("/scc/allocate_token", {"tokenExpiredAt": later}).json()["data"]["tokenExpiredAt"] == later
    biz_error(ws.post("/scc/allocate_token", {"tokenExpiredAt": 1000}), "InvalidParameter")
    biz_error(ws.post("/scc/allocate_token", {"tokenExpiredAt": int(time.time() * 1000) - 1}), "InvalidParameter")
    tokens = emulator.objects("workshop")["token"]
    assert tokens[data["apiToken"]]["owner"] == f"{APP_KEY}/user:alice"


def test_sync_needs_a_valid_token(ws: Workshop, emulator: Any) -> None:
    biz_error(ws.post("/scc/spSdModelSync", model()), "MissingParameter")
    biz_error(ws.sync(model(), token="01notatoken0000000000000000"), "InvalidApiToken")
    soon = ws.token(tokenExpiredAt=int(time.time() * 1000) + 300)
    time.sleep(0.4)
    biz_error(ws.sync(model(), token=soon), "ApiTokenExpired")
    emulator.settings("workshop", errors_on_http_200=False)
    biz_error(ws.sync(model(), token=soon), "ApiTokenExpired", status=401)


def test_token_in_the_query_string(ws: Workshop) -> None:
    token = ws.token()
    r = ws.post("/scc/spSdModelSync", model(), query=f"apiToken={token}")
    assert r.status_code == 200 and r.json()["data"]["status"] == 5, r.text


# -- model sync -----------------------------------------------------------------------------------------
def test_sync_stores_the_tree_and_lists_the_file(ws: Workshop, emulator: Any) -> None:
    r = ws.sync(model())
    assert r.status_code == 200
    data = r.json()["data"]
    assert set(data) == {"modelId", "modelVersionId", "modelFileId", "status"} and data["status"] == 5
    doc = stored(emulator)
    assert doc["name"] == "Demo" and doc["versions"][0]["triggerWords"] == ["rev", "animated"]
    assert doc["workshopModelId"] == data["modelId"] and doc["syncCount"] == 1 and "apiToken" not in doc
    time.sleep(0.4)
    assert stored(emulator)["versions"][0]["files"][0]["status"] == 10  # the admin read applies transitions
    again = ws.sync(model()).json()["data"]
    assert again == {**data, "status": 10}  # same ids: an upsert keyed by modelId


def test_upsert_is_keyed_by_token_owner_and_model_id(ws: Workshop, emulator: Any) -> None:
    first = ws.sync(model(), token=ws.token("tester")).json()["data"]
    second = ws.sync(model(), token=ws.token("tester")).json()["data"]  # another token, same end user
    assert first["modelId"] == second["modelId"]
    other = ws.sync(model(), token=ws.token("someone-else")).json()["data"]
    assert other["modelId"] != first["modelId"]
    assert sorted(emulator.objects("workshop")["model"]) == [f"{APP_KEY}/user:someone-else/m-1",
                                                             f"{APP_KEY}/user:tester/m-1"]
    assert stored(emulator)["syncCount"] == 2


def test_full_state_sync_replaces_versions_and_restarts_changed_files(ws: Workshop, emulator: Any) -> None:
    body = model(files=2)
    items = ws.sync(body).json()["data"]
    assert isinstance(items, list) and [i["status"] for i in items] == [5, 5]
    time.sleep(0.4)
    changed = copy.deepcopy(body)
    changed["versions"][0]["files"][1]["hash"] = "sha256:new"
    changed["versions"].append({**copy.deepcopy(body["versions"][0]), "modelVersionId": "v-2", "name": "v2"})
    changed["versions"][1]["files"] = changed["versions"][1]["files"][:1]
    after = ws.sync(changed).json()["data"]
    # kept: file 0 (listed; ids kept); restarted: file 1 (same id); v-2's file was uploaded before (same hash)
    assert [i["status"] for i in after] == [10, 5, 10]
    assert after[0]["modelFileId"] == items[0]["modelFileId"] and after[1]["modelFileId"] == items[1]["modelFileId"]
    assert after[2]["modelVersionId"] != after[0]["modelVersionId"]
    only_v2 = {**changed, "versions": changed["versions"][1:]}
    ws.sync(only_v2)
    assert [v["modelVersionId"] for v in stored(emulator)["versions"]] == ["v-2"]


def test_uploaded_hash_is_listed_at_once_and_fail_pattern_fails(ws: Workshop, emulator: Any) -> None:
    emulator.settings("workshop", uploaded_hashes=["sha256:known0"])
    assert ws.sync(model(hash="sha256:known")).json()["data"]["status"] == 10
    failing = model("m-2", url="https://models.example.com/fail/a.safetensors")
    assert ws.sync(failing).json()["data"]["status"] == 5
    time.sleep(0.4)
    assert ws.sync(failing).json()["data"]["status"] == -10  # a failed file stays failed until it changes
    fixed = model("m-2", url="https://models.example.com/ok/a.safetensors")
    assert ws.sync(fixed).json()["data"]["status"] == 5


def test_queue_delay_reports_not_listed_first(ws: Workshop, emulator: Any) -> None:
    emulator.settings("workshop", queue_delay_s=0.3, listing_delay_s=5)
    assert ws.sync(model()).json()["data"]["status"] == 0
    time.sleep(0.4)
    assert ws.sync(model()).json()["data"]["status"] == 5


def test_reply_shape_settings(ws: Workshop, emulator: Any) -> None:
    emulator.settings("workshop", sync_reply="list")
    assert isinstance(ws.sync(model()).json()["data"], list)
    emulator.settings("workshop", sync_reply="object")
    one = ws.sync(model(files=3)).json()["data"]
    files = stored(emulator)["versions"][0]["files"]
    assert isinstance(one, dict) and one["modelFileId"] == files[0]["workshopFileId"]  # the primary file


@pytest.mark.parametrize("change, code", [
    (lambda b: b.pop("modelId"), "MissingParameter"),
    (lambda b: b.pop("name"), "MissingParameter"),
    (lambda b: b.update(modelType="hypernetwork"), "InvalidParameter"),
    (lambda b: b.update(sourceType="civitai"), "InvalidParameter"),  # the vendor spells it civitia
    (lambda b: b.update(isOriginal="no"), "InvalidParameter"),
    (lambda b: b.update(versions=[]), "InvalidParameter"),
    (lambda b: b["versions"][0].update(baseModel="sdxl"), "InvalidParameter"),
    (lambda b: b["versions"][0].pop("modelVersionId"), "MissingParameter"),
    (lambda b: b["versions"].append(copy.deepcopy(b["versions"][0])), "InvalidParameter"),
    (lambda b: b["versions"][0]["covers"][0]["coverFile"].update(width=0), "InvalidParameter"),
    (lambda b: b["versions"][0]["covers"][0].pop("coverFile"), "MissingParameter"),
    (lambda b: b["versions"][0]["files"][0].pop("hash"), "MissingParameter"),
    (lambda b: b["versions"][0]["files"][0].update(sizeKb="big"), "InvalidParameter"),
    (lambda b: b["versions"][0]["files"].append({**b["versions"][0]["files"][0], "name": "x"}), "InvalidParameter"),
    (lambda b: b.update(sessionMode=30), "InvalidParameter"),
])
def test_sync_validation(ws: Workshop, emulator: Any, change: Any, code: str) -> None:
    body = model()
    change(body)
    biz_error(ws.sync(body), code)
    assert "model" not in emulator.objects("workshop")


def test_non_json_body_is_a_business_error_not_a_5xx(ws: Workshop) -> None:
    biz_error(ws.post("/scc/spSdModelSync", None, tamper={"body": b"{not json", "drop": ["Content-MD5"]}),
              "InvalidParameter")


def test_listing_result_callback(ws: Workshop, emulator: Any) -> None:
    events: queue.Queue = queue.Queue()

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            events.put((self.headers["X-Workshop-Event"], json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        emulator.settings("workshop", callback_url=f"http://127.0.0.1:{server.server_port}/events")
        data = ws.sync(model("m-cb", url="https://models.example.com/failing/a.bin")).json()["data"]
        kind, event = events.get(timeout=10)  # the timer delivers it: nobody polls
        assert kind == "ModelListingResult" and event["status"] == -10 and event["errMessage"]
        assert (event["modelId"], event["modelFileId"]) == (data["modelId"], data["modelFileId"])
        assert event["sourceModelId"] == "m-cb" and event["sourceModelVersionId"] == "v-1"
        ws.sync(model("m-cb", url="https://models.example.com/good/a.bin"))
        assert events.get(timeout=10)[1]["status"] == 10
    finally:
        server.shutdown()


# -- the gateway ------------------------------------------------------------------------------------------
def test_bad_signature_reports_server_string_to_sign(ws: Workshop) -> None:
    message = gateway_error(ws.post("/scc/allocate_token", {}, secret="wrong"), 403, "A403IS")
    assert message.startswith("Invalid Signature, Server StringToSign:`POST#application/json; charset=utf-8#")
    assert message.endswith("#/workshop/scc/allocate_token`") and APP_SECRET not in message


def test_gateway_rejections(ws: Workshop) -> None:
    assert "X-Ca-Key" in gateway_error(ws.post("/scc/allocate_token", {}, tamper={"drop": ["X-Ca-Key"]}), 400, "I400MH")
    gateway_error(ws.post("/scc/allocate_token", {}, tamper={"drop": ["X-Ca-Signature"]}), 400, "I400MH")
    gateway_error(ws.post("/scc/allocate_token", {}, key="99999999"), 400, "A400IK")
    gateway_error(ws.post("/scc/allocate_token", {}, timestamp_ms=int(time.time() * 1000) - 901_000), 400, "A400IT")
    gateway_error(ws.post("/scc/allocate_token", {}, tamper={"headers": {"X-Ca-Timestamp": "soon"}}), 400, "I400HD")
    gateway_error(ws.post("/scc/allocate_token", {"name": "a"}, tamper={"body": b'{"name": "b"}'}), 400, "I400HD")
    gateway_error(ws.post("/scc/allocate_token", {}, tamper={"headers": {"X-Ca-Signature-Method": "MD5"}}),
                  400, "I400HD")
    # the query takes part in the signature: a parameter added after signing breaks it
    signed = ws.post("/scc/allocate_token", {}, query="a=1")
    assert signed.status_code == 200
    replay = ws.http.post(ws.base + "/scc/allocate_token?a=2", content=signed.request.content,
                          headers=dict(signed.request.headers))
    gateway_error(replay, 403, "A403IS")


def test_reused_nonce_is_rejected_and_a_rejected_request_does_not_burn_it(ws: Workshop) -> None:
    assert ws.post("/scc/allocate_token", {}, secret="wrong", nonce="n-1").status_code == 403
    assert ws.post("/scc/allocate_token", {}, nonce="n-1").status_code == 200
    gateway_error(ws.post("/scc/allocate_token", {}, nonce="n-1"), 400, "A400NU")


def test_unknown_paths_and_methods_are_gateway_errors(ws: Workshop) -> None:
    gateway_error(ws.http.get(ws.base + "/scc/spSdModelSync"), 405, "I405UM")
    gateway_error(ws.post("/scc/spSdModelQuery", {}), 404, "I404NF")  # no read API is published


def test_skipping_verification_and_extra_apps(ws: Workshop, emulator: Any) -> None:
    emulator.settings("workshop", apps={"30000001": "second-secret"})
    assert ws.post("/scc/allocate_token", {}, key="30000001", secret="second-secret").status_code == 200
    emulator.settings("workshop", verify_signatures=False)
    r = ws.http.post(ws.base + "/scc/allocate_token", json={}, headers={"X-Ca-Key": APP_KEY})
    assert r.status_code == 200 and r.json()["data"]["apiToken"]


# -- persistence, admin, faults ------------------------------------------------------------------------------
def test_state_and_nonces_survive_restart(ws: Workshop, emulator: Any) -> None:
    token = ws.token()
    ws.sync(model(), token=token)
    assert ws.post("/scc/allocate_token", {}, nonce="before-restart").status_code == 200
    emulator.restart()
    assert ws.sync(model(), token=token).json()["data"]["status"] == 10  # due transition applied lazily
    gateway_error(ws.post("/scc/allocate_token", {}, nonce="before-restart"), 400, "A400NU")


def test_admin_edit_and_reset(ws: Workshop, emulator: Any) -> None:
    ws.sync(model())
    emulator.patch("workshop", "model", f"{APP_KEY}/user:tester/m-1", name="Edited in the console")
    assert stored(emulator)["name"] == "Edited in the console"
    emulator.reset("workshop")
    assert emulator.objects("workshop") == {}


def test_injected_fault_uses_the_envelope(ws: Workshop, emulator: Any) -> None:
    emulator.arm_fault("workshop", path="/scc/spSdModelSync", status=503, code="ServiceUnavailable",
                       message="try again later")
    biz_error(ws.sync(model()), "ServiceUnavailable", status=503)
    assert ws.sync(model()).status_code == 200


# -- hostile bodies and the OpenAPI document (issue 18) ------------------------------------------------
@pytest.mark.parametrize("path", ["/scc/allocate_token", "/scc/spSdModelSync"])
@pytest.mark.parametrize("raw", ["[" * 50_000 + "]" * 50_000, json.dumps(json.loads('{"a":' * 200 + "1" + "}" * 200)),
                                 '{"modelId": ' + "[" * 50_000 + "]" * 50_000 + "}"], ids=["array", "map", "field"])
def test_deep_json_is_a_business_error_not_a_5xx(ws: Workshop, path: str, raw: str) -> None:
    biz_error(ws.post(path, None, tamper={"body": raw.encode(), "drop": ["Content-MD5"]}), "InvalidParameter")


def test_openapi_declares_bodies_and_the_token_parameter(emulator: Any) -> None:
    spec = httpx.get(f"{emulator.url}/openapi.json", timeout=30).json()["paths"]
    sync = spec["/workshop/scc/spSdModelSync"]["post"]
    query = {p["name"]: p for p in sync["parameters"] if p["in"] == "query"}
    assert {"apiToken", "roleId", "sessionMode", "expiredInSeconds", "customResourceConfigId"} <= set(query)
    body = sync["requestBody"]["content"]["application/json"]["schema"]
    assert {"modelId", "name", "modelType", "sourceType", "versions"} <= set(body["required"])
    assert {"apiToken", "roleId", "sessionMode", "expiredInSeconds", "customResourceConfigId"} <= set(body["properties"])
    token = spec["/workshop/scc/allocate_token"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(token["properties"]) == {"name", "tokenExpiredAt", "sceneRoleId"}
    headers = {p["name"] for p in sync["parameters"] if p["in"] == "header"}
    assert {"X-Ca-Key", "X-Ca-Signature"} <= headers
