"""ZStack AI model-center state and rules (moto's ``models.py``).

Documents in the shared store, platform ``zstack``:

- ``model_center``  id = uuid: the ModelCenterInventory as rendered, plus internal ``_`` keys.
- ``model``         id = uuid: the ModelInventory as rendered, plus internal ``_`` keys
                    (``_shareMode``, ``_tagUuids``, ``_systemTags``, ``_userTags``, ``_token``:
                    accepted by AddModel but not part of the inventory).
- ``model_service`` id = uuid: the ModelServiceInventory as rendered (its ``modelServiceRefs`` are
                    computed from the models' bindings), plus internal ``_`` keys.
- ``session``       id = session uuid: SessionInventory + ``_expires`` (epoch seconds).
- ``job``           id = job uuid (= API message id): ``api``, ``request``, ``due`` (epoch
                    seconds), ``state`` running|done, ``status``/``body`` of the result once done.

Nothing runs in the background: a job whose ``due`` time has passed is executed by ``settle``,
which every route (and the admin surface, through ``Platform.refresh``) calls first. The API's
effect therefore appears when the job finishes, as on the real management node, and state and
timings survive a restart.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import threading
import time
import urllib.request
import uuid
from datetime import datetime, timezone
from typing import Any

from emulator import defaults
from emulator.core.store import Store
from emulator.zstack.errors import TextError, ZsError, invalid, not_found

P = "zstack"
MODEL, CENTER, SERVICE, SESSION, JOB = "model", "model_center", "model_service", "session", "job"

DEFAULT_SETTINGS: dict[str, Any] = {
    # accounts that may log in: name -> clear-text password (the login compares SHA-512 hex)
    "accounts": {defaults.ZSTACK_ACCOUNT: defaults.ZSTACK_PASSWORD},
    # AccessKey auth: AccessKeyId -> AccessKeySecret
    "access_keys": {defaults.ZSTACK_ACCESS_KEY_ID: defaults.ZSTACK_ACCESS_KEY_SECRET},
    "session_timeout_s": 7200,          # identity/session.timeout
    "job_delay_s": 1.0,                 # an API job finishes this long after it was submitted
    "job_retention_s": 10800,           # rest/completedApi.expiredPeriod: then poll -> 404 expired
    "api_timeout_ms": 1800000,          # the apiTimeout of the 202 reply
    # where the 202 ``location`` points: None = the emulator's own scheme, host, port and context
    # path as the request reached it; set e.g. "http://172.20.0.10:8080/zstack" to play a management
    # node that hands out an internal address (clients must then rewrite it, as the official SDKs do)
    "location_base": None,
    "max_clock_skew_s": 900,            # AccessKey Date window (REQUEST_DURATION_MINUTES = 15)
    "delete_missing_succeeds": True,    # successIfResourceNotExisting on the delete APIs
    "require_zone_uuid": False,         # True: AddModelCenter needs zoneUuid (newest SDK)
    "webhook_attempts": 15,             # X-Web-Hook: tries on a non-2xx answer or no answer ...
    "webhook_interval_s": 2.0,          # ... this far apart
}

ACCOUNT_UUID = "36c27e8ff05c4780bf6d2fa65700f22e"  # the admin account's uuid on a fresh ZStack

_HEX32 = re.compile(r"[0-9a-f]{32}")


# -- helpers ----------------------------------------------------------------------------------
def new_uuid() -> str:
    return uuid.uuid4().hex


def gson_date(ts: float) -> str:
    """Gson's default Java date format, e.g. ``Jun 7, 2017 9:20:28 PM`` (UTC here)."""
    t = datetime.fromtimestamp(ts, timezone.utc)
    hour = t.hour % 12 or 12
    return f"{t:%b} {t.day}, {t.year} {hour}:{t:%M:%S} {'AM' if t.hour < 12 else 'PM'}"


def sha512_hex(text: str) -> str:
    return hashlib.sha512(text.encode()).hexdigest()


def render(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


# -- field checks (run when the job executes, so failures surface on the poll) ------------------
def _str(params: dict[str, Any], name: str, *, required: bool = False, max_len: int | None = None) -> str | None:
    v = params.get(name)
    if v is None or (required and v == ""):
        if required:
            raise invalid(f"field[{name}] of message type[{params.get('_api', 'API')}] is mandatory, can not be null")
        return None
    if max_len is not None and len(v) > max_len:
        raise invalid(f"field[{name}] exceeds the max length of {max_len} chars")
    return v


def _ip(value: str, name: str) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise invalid(f"field[{name}] is not a valid IP address: {value}") from None


def check_types(params: dict[str, Any], spec: dict[str, str]) -> None:
    """TypeVerifier: a wrong JSON type is a synchronous 400 (plain text) before any job exists."""
    for name, kind in spec.items():
        v = params.get(name)
        if v is None:
            continue
        ok = {
            "str": isinstance(v, str),
            "int": isinstance(v, int) and not isinstance(v, bool),
            "bool": isinstance(v, bool),
            "list": isinstance(v, list) and all(isinstance(i, str) for i in v),
            "objects": isinstance(v, list) and all(isinstance(i, dict) for i in v),
            "map": isinstance(v, dict),
        }[kind]
        if not ok:
            java = {"str": "String", "int": "Long", "bool": "Boolean", "list": "List<String>", "objects": "List",
                    "map": "Map"}[kind]
            raise TextError(400, f"field[{name}] must be of type {java}, but got {type(v).__name__}[{v!r}]")


CENTER_TYPES = {"name": "str", "url": "str", "description": "str", "parameters": "str", "managementIp": "str",
                "managementPort": "int", "zoneUuid": "str", "storageNetworkUuid": "str",
                "serviceNetworkUuid": "str", "containerRegistry": "str", "containerNetwork": "str",
                "containerStorageNetwork": "str", "resourceUuid": "str", "tagUuids": "list"}
CENTER_UPDATABLE = ("name", "url", "description", "parameters", "managementIp", "managementPort",
                    "storageNetworkUuid", "serviceNetworkUuid", "containerRegistry", "containerNetwork",
                    "containerStorageNetwork")
MODEL_TYPES = {"name": "str", "installPath": "str", "description": "str", "parameters": "str",
               "modelCenterUuid": "str", "logo": "str", "vendor": "str", "introduction": "str", "size": "int",
               "version": "str", "token": "str", "resourceUuid": "str", "tagUuids": "list",
               "modelServiceUuids": "list", "recommendedGpuNum": "str", "gpuConstraintDescription": "str",
               "modelId": "str", "shareMode": "str", "defaultModelServiceUuid": "str",
               "modelClassifications": "list", "clearDefaultModelService": "bool"}
MODEL_UPDATABLE = ("name", "installPath", "description", "vendor", "parameters", "modelCenterUuid",
                   "recommendedGpuNum", "gpuConstraintDescription", "modelId", "defaultModelServiceUuid",
                   "modelClassifications")
# AddModelService / UpdateModelService (Java SDK AddModelServiceAction, UpdateModelServiceAction)
SERVICE_TYPES = {"name": "str", "description": "str", "yaml": "str", "modelCenterUuid": "str", "requestCpu": "int",
                 "requestMemory": "int", "gpuComputeCapability": "str", "installPath": "str", "system": "bool",
                 "startCommand": "str", "containerCommand": "str", "containerArgs": "str", "pythonVersion": "str",
                 "condaVersion": "str", "zoneUuid": "str", "type": "str", "source": "str", "framework": "str",
                 "modelUuids": "list", "architectureImages": "objects", "supportDistributed": "bool",
                 "vendorToSpecUuidsMap": "map", "resourceUuid": "str", "tagUuids": "list", "dockerImage": "str",
                 "vmImageUuid": "str"}
SERVICE_UPDATABLE = ("name", "description", "yaml", "requestCpu", "requestMemory", "gpuComputeCapability",
                     "startCommand", "pythonVersion", "type", "framework")
SERVICE_KINDS = ("Endpoint", "FineTune", "ModelEval", "App")
SERVICE_SOURCES = ("Other", "Bentoml", "HuggingFace")


# ``size`` of AddModel: the seed page says Long with no unit; its example is 102400 for a 32B model, which
# is absurd in bytes or KiB and right in MiB (100 GiB), while the inventory's separate
# ``artifactSizeBytes`` is documented in bytes. Guess: size is MiB, and artifactSizeBytes = size * 2**20.
SIZE_UNIT_BYTES = 1024 * 1024
_SEMVER = re.compile(r"v?(\d+)\.(\d+)\.(\d+)([-+].*)?")


def semver(version: str | None) -> str | None:
    """versionSemver: the version when it reads as semantic (a leading "v" dropped); a guess."""
    m = _SEMVER.fullmatch(version or "")
    return version.lstrip("v") if m and version else None


def gpu_num(value: str | None) -> Any:
    """recommendedGpuNum: a string on input, a list in the inventory ("2" -> [2], "1,2" -> [1, 2])."""
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",")]
    if all(p.isdigit() for p in parts):
        return [int(p) for p in parts]
    return value


# -- the operations (executed when their job is due) --------------------------------------------
def _ref(model_uuid: str, service_uuid: str, is_default: bool) -> dict[str, Any]:
    """A ModelServiceRefInventory (Java SDK): uuid, modelUuid, modelServiceUuid, isDefault."""
    return {"uuid": new_uuid(), "modelUuid": model_uuid, "modelServiceUuid": service_uuid, "isDefault": is_default}


def _enum(params: dict[str, Any], name: str, valid: tuple[str, ...]) -> None:
    v = params.get(name)
    if v is not None and v not in valid:
        raise invalid(f"field[{name}] must be one of {list(valid)}, but got {v}")


def _positive(params: dict[str, Any], name: str) -> None:
    v = params.get(name)
    if v is not None and v < 1:
        raise invalid(f"field[{name}] must be at least 1, but got {v}")


# -- jobs -------------------------------------------------------------------------------------
OPERATIONS = {
    "APIAddModelServiceMsg": lambda b, r: b.add_model_service(r["params"], r["tags"]),
    "APIUpdateModelServiceMsg": lambda b, r: b.update_model_service(r["uuid"], r["params"]),
    "APIDeleteModelServiceMsg": lambda b, r: b.delete_model_service(r["uuid"], r["deleteMode"]),
    "APIAddModelCenterMsg": lambda b, r: b.add_model_center(r["params"], r["tags"]),
    "APIUpdateModelCenterMsg": lambda b, r: b.update_model_center(r["uuid"], r["params"]),
    "APIDeleteModelCenterMsg": lambda b, r: b.delete_model_center(r["uuid"], r["deleteMode"]),
    "APIAddModelMsg": lambda b, r: b.add_model(r["params"], r["tags"]),
    "APIUpdateModelMsg": lambda b, r: b.update_model(r["uuid"], r["params"]),
    "APIDeleteModelMsg": lambda b, r: b.delete_model(r["uuid"], r["deleteMode"]),
}


def _deliver(url: str, job_uuid: str, status: int, body: Any, attempts: int, interval_s: float) -> None:
    """POST the poll's answer to the hook, with X-Job-UUID and X-Job-Success; retry on non-2xx."""
    data = b"" if not body else json.dumps(body).encode()
    headers = {"Content-Type": "application/json;charset=UTF-8", "X-Job-UUID": job_uuid,
               "X-Job-Success": "true" if status == 200 else "false"}
    for attempt in range(max(1, attempts)):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers, method="POST"),
                                        timeout=10) as reply:
                if 200 <= reply.status < 300:
                    return
        except (OSError, ValueError):
            pass
        if attempt + 1 < attempts:
            time.sleep(interval_s)


# -- queries ----------------------------------------------------------------------------------
QUERY_OPS = ["!=", ">=", "<=", "!?=", "!~=", "~=", "?=", "=", ">", "<"]


def parse_condition(q: str) -> tuple[str, str, str | None]:
    for suffix, op in ((" is null", "is null"), (" not null", "not null")):
        if q.endswith(suffix):
            return q[: -len(suffix)].strip(), op, None
    for op in QUERY_OPS:
        at = q.find(op)
        if at > 0:
            return q[:at].strip(), op, q[at + len(op):]
    raise TextError(400, f"Invalid query parameter[q={q}], it must be in format of 'field[operator]value'")


def _like(pattern: str, value: str) -> bool:
    rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, re.IGNORECASE | re.DOTALL) is not None


def _cmp_value(field_value: Any, text: str) -> tuple[Any, Any]:
    if isinstance(field_value, (int, float)) and not isinstance(field_value, bool):
        try:
            return field_value, float(text)
        except ValueError:
            return str(field_value), text
    if isinstance(field_value, bool):
        return str(field_value).lower(), text.lower()
    return ("" if field_value is None else str(field_value)), text


def _matches(doc: dict[str, Any], field: str, op: str, value: str | None) -> bool:
    v = doc.get(field)
    if op == "is null":
        return v is None
    if op == "not null":
        return v is not None
    assert value is not None
    if op in ("?=", "!?="):
        items = [i.strip() for i in value.split(",")]
        inside = v is not None and str(v) in items
        return inside if op == "?=" else (v is not None and not inside)
    if op in ("~=", "!~="):
        hit = v is not None and _like(value, str(v))
        return hit if op == "~=" else (v is not None and not hit)
    if v is None:
        return False
    a, b = _cmp_value(v, value)
    try:
        return {"=": a == b, "!=": a != b, ">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]
    except TypeError:
        return False


def _int_param(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise TextError(400, f"Invalid query parameter[{name}={raw}], it must be an integer") from None


class ZStackBackend:
    """Every API of the route table, as store reads and writes under the management node's rules.

    Operations take plain arguments (ids, the parsed ``params``/``tags`` of a message, query
    conditions) and return the reply's dict; they raise ``ZsError``/``TextError``.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def setting(self, key: str) -> Any:
        return self.store.setting(P, key, DEFAULT_SETTINGS[key])

    def login(self, body: Any) -> dict[str, Any]:
        params = body.get("logInByAccount") if isinstance(body, dict) else None
        if not isinstance(params, dict):
            raise TextError(400, "the body doesn't contain action mapping to the URL[/v1/accounts/login]")
        name, password = params.get("accountName"), params.get("password")
        if not isinstance(name, str) or not isinstance(password, str) or not name or not password:
            raise invalid("field[accountName] and field[password] are mandatory")
        accounts = self.setting("accounts")
        if name not in accounts or sha512_hex(accounts[name]) != password.lower():
            raise ZsError("ID.1000", "Authentication error", "Incorrect account name or password")
        now = time.time()
        ttl = float(self.setting("session_timeout_s"))
        account_uuid = ACCOUNT_UUID if name == "admin" else hashlib.md5(name.encode()).hexdigest()
        session = {"uuid": new_uuid(), "accountUuid": account_uuid, "userUuid": account_uuid,
                   "userType": "AccountVO", "expiredDate": gson_date(now + ttl), "createDate": gson_date(now),
                   "noSessionEvaluation": False, "_expires": now + ttl, "_account": name}
        self.store.put(P, SESSION, session["uuid"], session)
        return {"inventory": render(session)}

    def session_valid(self, session_uuid: str) -> bool:
        s = self.store.get(P, SESSION, session_uuid)
        return s is not None and s["_expires"] > time.time()

    def logout(self, session_uuid: str) -> None:
        self.store.delete(P, SESSION, session_uuid)

    def _resource_uuid(self, params: dict[str, Any]) -> str:
        ru = params.get("resourceUuid")
        if ru is None:
            return new_uuid()
        if not _HEX32.fullmatch(ru):
            raise invalid(f"resourceUuid[{ru}] is not a valid uuid (32 lower-case hex characters)")
        if self.store.get(P, MODEL, ru) or self.store.get(P, CENTER, ru) or self.store.get(P, SERVICE, ru):
            raise invalid(f"resourceUuid[{ru}] is already used by another resource")
        return ru

    def add_model_center(self, params: dict[str, Any], tags: dict[str, Any]) -> dict[str, Any]:
        params = {**params, "_api": "APIAddModelCenterMsg"}
        for name in ("name", "url", "managementIp"):
            _str(params, name, required=True, max_len=255)
        if params.get("managementPort") is None:
            raise invalid("field[managementPort] of message type[APIAddModelCenterMsg] is mandatory, can not be null")
        if self.setting("require_zone_uuid"):
            _str(params, "zoneUuid", required=True)
        _str(params, "description", max_len=2048)
        _str(params, "parameters", max_len=255)
        _ip(params["managementIp"], "managementIp")
        if not 1 <= params["managementPort"] <= 65535:
            raise invalid(f"field[managementPort] must be in range [1, 65535], got {params['managementPort']}")
        uid = self._resource_uuid(params)
        now = time.time()
        doc = {"uuid": uid, "name": params["name"], "description": params.get("description"), "url": params["url"],
               "status": "Connected", "parameters": params.get("parameters"), "managementIp": params["managementIp"],
               "managementPort": params["managementPort"],
               **{k: params.get(k) for k in ("storageNetworkUuid", "serviceNetworkUuid", "containerRegistry",
                                              "containerStorageNetwork", "containerNetwork")},
               "capacity": {"totalCapacity": 10995116277760, "availableCapacity": 10995116277760},
               "createDate": gson_date(now), "lastOpDate": gson_date(now),
               "_zoneUuid": params.get("zoneUuid"), "_tagUuids": params.get("tagUuids") or [], "_created": now, **tags}
        self.store.put(P, CENTER, uid, doc)
        return {"inventory": render(doc)}

    def update_model_center(self, uid: str, params: dict[str, Any]) -> dict[str, Any]:
        doc = self.store.get(P, CENTER, uid)
        if doc is None:
            raise not_found(f"Unable to find ModelCenterVO[uuid:{uid}]")
        for name in ("name", "url", "description", "parameters"):
            _str(params, name, max_len=255)
        if params.get("managementIp") is not None:
            _ip(params["managementIp"], "managementIp")
        if params.get("managementPort") is not None and not 1 <= params["managementPort"] <= 65535:
            raise invalid(f"field[managementPort] must be in range [1, 65535], got {params['managementPort']}")
        changed = {k: params[k] for k in CENTER_UPDATABLE if params.get(k) is not None}
        if changed:
            doc.update(changed)
            doc["lastOpDate"] = gson_date(time.time())
            self.store.put(P, CENTER, uid, doc)
        return {"inventory": render(doc)}

    def delete_model_center(self, uid: str, mode: str) -> dict[str, Any]:
        doc = self.store.get(P, CENTER, uid)
        if doc is None:
            if self.setting("delete_missing_succeeds"):
                return {}
            raise not_found(f"Unable to find ModelCenterVO[uuid:{uid}]")
        models = [m for m in self.store.list(P, MODEL) if m.get("modelCenterUuid") == uid]
        services = [s for s in self.store.list(P, SERVICE) if s.get("modelCenterUuid") == uid]
        if (models or services) and mode != "Enforcing":
            raise ZsError("SYS.1006", "Operation error",
                          f"model center[uuid:{uid}] still has {len(models)} model(s) and {len(services)} model "
                          "service(s); delete them first or use deleteMode=Enforcing")
        for m in models:
            self.store.delete(P, MODEL, m["uuid"])
        for svc in services:
            self._unbind_service(svc["uuid"])
            self.store.delete(P, SERVICE, svc["uuid"])
        self.store.delete(P, CENTER, uid)
        return {}

    def add_model(self, params: dict[str, Any], tags: dict[str, Any]) -> dict[str, Any]:
        params = {**params, "_api": "APIAddModelMsg"}
        for name in ("name", "installPath", "modelCenterUuid"):
            _str(params, name, required=True, max_len=255 if name == "name" else 2048)
        _str(params, "description", max_len=255)
        _str(params, "recommendedGpuNum", max_len=255)
        _str(params, "gpuConstraintDescription", max_len=512)
        _str(params, "modelId", max_len=255)
        share = params.get("shareMode")
        if share is not None and share not in ("Public",):
            raise invalid(f"field[shareMode] must be one of [Public], but got {share}")
        if params.get("size") is not None and params["size"] < 0:
            raise invalid("field[size] must not be negative")
        center = params["modelCenterUuid"]
        if self.store.get(P, CENTER, center) is None:
            raise not_found(f"Unable to find ModelCenterVO[uuid:{center}]")
        services = list(dict.fromkeys(params.get("modelServiceUuids") or []))
        default = params.get("defaultModelServiceUuid")
        for svc in services + ([default] if default and default not in services else []):
            if self.store.get(P, SERVICE, svc) is None:
                raise not_found(f"Unable to find ModelServiceVO[uuid:{svc}]")
        uid = self._resource_uuid(params)
        now = time.time()
        doc = {"uuid": uid, "name": params["name"], "description": params.get("description"),
               "installPath": params["installPath"], "parameters": params.get("parameters"), "modelCenterUuid": center,
               "logo": params.get("logo"), "vendor": params.get("vendor"), "modelId": params.get("modelId"),
               "introduction": params.get("introduction"), "size": params.get("size"), "version": params.get("version"),
               "type": "Custom", "minGpuMemory": None, "recommendedGpuMemory": None,
               "recommendedGpuNum": gpu_num(params.get("recommendedGpuNum")),
               "gpuConstraintDescription": params.get("gpuConstraintDescription"),
               "versionSemver": semver(params.get("version")), "isLatestVersion": True, "artifactChecksum": None,
               "artifactSizeBytes": None if params.get("size") is None else params["size"] * SIZE_UNIT_BYTES,
               "architectureType": None, "frameworkVersion": None, "requiredAccelerator": None,
               "pipelineTag": None,
               "modelServiceRefs": [_ref(uid, s, s == default) for s in services],
               "modelClassifications": [], "extraGpuMemRequest": None,
               "createDate": gson_date(now), "lastOpDate": gson_date(now),
               "_shareMode": share, "_tagUuids": params.get("tagUuids") or [], "_token": params.get("token"),
               "_defaultModelServiceUuid": params.get("defaultModelServiceUuid"), "_created": now, **tags}
        self.store.put(P, MODEL, uid, doc)
        return {"inventory": render(doc)}

    def update_model(self, uid: str, params: dict[str, Any]) -> dict[str, Any]:
        doc = self.store.get(P, MODEL, uid)
        if doc is None:
            raise not_found(f"Unable to find ModelVO[uuid:{uid}]")
        for name in ("name", "installPath", "description", "vendor", "parameters", "modelCenterUuid",
                     "recommendedGpuNum", "modelId", "defaultModelServiceUuid"):
            _str(params, name, max_len=255)
        _str(params, "gpuConstraintDescription", max_len=512)
        center = params.get("modelCenterUuid")
        if center is not None and self.store.get(P, CENTER, center) is None:
            raise not_found(f"Unable to find ModelCenterVO[uuid:{center}]")
        default = params.get("defaultModelServiceUuid")
        if default and self.store.get(P, SERVICE, default) is None:
            raise not_found(f"Unable to find ModelServiceVO[uuid:{default}]")
        changed = {k: params[k] for k in MODEL_UPDATABLE if params.get(k) is not None}
        if "recommendedGpuNum" in changed:
            changed["recommendedGpuNum"] = gpu_num(changed["recommendedGpuNum"])
        if "defaultModelServiceUuid" in changed:
            changed["_defaultModelServiceUuid"] = changed.pop("defaultModelServiceUuid")
        if params.get("clearDefaultModelService"):
            changed["_defaultModelServiceUuid"] = None
        if "_defaultModelServiceUuid" in changed:
            changed["modelServiceRefs"] = [{**r, "isDefault": r["modelServiceUuid"] == changed["_defaultModelServiceUuid"]}
                                           for r in doc.get("modelServiceRefs") or []]
        if changed:
            doc.update(changed)
            doc["lastOpDate"] = gson_date(time.time())
            self.store.put(P, MODEL, uid, doc)
        return {"inventory": render(doc)}

    def delete_model(self, uid: str, mode: str) -> dict[str, Any]:
        if self.store.get(P, MODEL, uid) is None:
            if self.setting("delete_missing_succeeds"):
                return {}
            raise not_found(f"Unable to find ModelVO[uuid:{uid}]")
        self.store.delete(P, MODEL, uid)
        return {}

    def _unbind_service(self, service_uuid: str) -> None:
        for model in self.store.list(P, MODEL):
            refs = model.get("modelServiceRefs") or []
            kept = [r for r in refs if r.get("modelServiceUuid") != service_uuid]
            if len(kept) != len(refs):
                model["modelServiceRefs"] = kept
                if model.get("_defaultModelServiceUuid") == service_uuid:
                    model["_defaultModelServiceUuid"] = None
                self.store.put(P, MODEL, model["uuid"], model)

    def service_refs(self, service_uuid: str) -> list[dict[str, Any]]:
        """The bindings of one service, as the models hold them (one source of truth)."""
        return [r for m in self.store.list(P, MODEL) for r in m.get("modelServiceRefs") or []
                if r.get("modelServiceUuid") == service_uuid]

    def add_model_service(self, params: dict[str, Any], tags: dict[str, Any]) -> dict[str, Any]:
        """AddModelService: a service definition only (deployModelService is not emulated)."""
        params = {**params, "_api": "APIAddModelServiceMsg"}
        for name in ("name", "yaml", "modelCenterUuid", "installPath", "startCommand"):
            _str(params, name, required=True, max_len=255 if name == "name" else None)
        for name in ("requestCpu", "requestMemory"):
            if params.get(name) is None:
                raise invalid(f"field[{name}] of message type[APIAddModelServiceMsg] is mandatory, can not be null")
            _positive(params, name)
        _str(params, "description", max_len=2048)
        _enum(params, "type", SERVICE_KINDS)
        _enum(params, "source", SERVICE_SOURCES)
        center = params["modelCenterUuid"]
        if self.store.get(P, CENTER, center) is None:
            raise not_found(f"Unable to find ModelCenterVO[uuid:{center}]")
        models = list(dict.fromkeys(params.get("modelUuids") or []))
        for model in models:
            if self.store.get(P, MODEL, model) is None:
                raise not_found(f"Unable to find ModelVO[uuid:{model}]")
        images = params.get("architectureImages") or []
        uid = self._resource_uuid(params)
        now = time.time()
        doc = {"uuid": uid, "name": params["name"], "description": params.get("description"), "readme": None,
               "yaml": params["yaml"], "requestCpu": params["requestCpu"], "requestMemory": params["requestMemory"],
               "modelCenterUuid": center, "type": params.get("type") or "Endpoint", "framework": params.get("framework"),
               "source": params.get("source") or "Other", "size": None, "system": bool(params.get("system")),
               "gpuComputeCapability": params.get("gpuComputeCapability"), "installPath": params["installPath"],
               "pythonVersion": params.get("pythonVersion"), "condaVersion": params.get("condaVersion"),
               "startCommand": params["startCommand"], "containerCommand": params.get("containerCommand"),
               "containerArgs": params.get("containerArgs"), "supportDistributed": bool(params.get("supportDistributed")),
               "cpuArchitectures": sorted({i["cpuArchitecture"] for i in images if isinstance(i.get("cpuArchitecture"), str)}),
               "vendorToSpecUuidsMap": params.get("vendorToSpecUuidsMap") or {}, "modelServiceRefs": [],
               "modelServiceImages": images, "createDate": gson_date(now), "lastOpDate": gson_date(now),
               "_zoneUuid": params.get("zoneUuid"), "_tagUuids": params.get("tagUuids") or [], "_created": now, **tags}
        self.store.put(P, SERVICE, uid, doc)
        for model_uuid in models:
            model = self.store.get(P, MODEL, model_uuid)
            assert model is not None
            model["modelServiceRefs"] = [*(model.get("modelServiceRefs") or []), _ref(model_uuid, uid, False)]
            self.store.put(P, MODEL, model_uuid, model)
        return {"inventory": self.render_service(doc)}

    def update_model_service(self, uid: str, params: dict[str, Any]) -> dict[str, Any]:
        doc = self.store.get(P, SERVICE, uid)
        if doc is None:
            raise not_found(f"Unable to find ModelServiceVO[uuid:{uid}]")
        _str(params, "name", max_len=255)
        _str(params, "description", max_len=2048)
        for name in ("requestCpu", "requestMemory"):
            _positive(params, name)
        _enum(params, "type", SERVICE_KINDS)
        _enum(params, "framework", SERVICE_SOURCES)  # UpdateModelServiceAction's validValues (a copy of source's)
        changed = {k: params[k] for k in SERVICE_UPDATABLE if params.get(k) is not None}
        changed.update({f"_{k}": params[k] for k in ("dockerImage", "vmImageUuid") if params.get(k) is not None})
        if changed:
            doc.update(changed)
            doc["lastOpDate"] = gson_date(time.time())
            self.store.put(P, SERVICE, uid, doc)
        return {"inventory": self.render_service(doc)}

    def delete_model_service(self, uid: str, mode: str) -> dict[str, Any]:
        if self.store.get(P, SERVICE, uid) is None:
            if self.setting("delete_missing_succeeds"):
                return {}
            raise not_found(f"Unable to find ModelServiceVO[uuid:{uid}]")
        refs = self.service_refs(uid)
        if refs and mode != "Enforcing":
            raise ZsError("SYS.1006", "Operation error",
                          f"model service[uuid:{uid}] is bound to {len(refs)} model(s); unbind them first "
                          "or use deleteMode=Enforcing")
        self._unbind_service(uid)
        self.store.delete(P, SERVICE, uid)
        return {}

    def render_service(self, doc: dict[str, Any]) -> dict[str, Any]:
        return render({**doc, "modelServiceRefs": self.service_refs(doc["uuid"])})

    def submit(self, job_uuid: str | None, api: str, request: dict[str, Any], auth_error: ZsError | None,
               web_hook: str | None = None) -> str:
        """Record an API job; it runs when ``job_delay_s`` has passed (see ``settle``)."""
        if job_uuid is not None:
            if len(job_uuid) != 32:
                raise TextError(400, f"Invalid header[X-Job-UUID], it must be a UUID of 32 characters "
                                     f"without '-', but got {job_uuid}")
        else:
            job_uuid = new_uuid()
        now = time.time()
        with self.store.transaction():
            if self.store.get(P, JOB, job_uuid) is not None:
                raise TextError(400, f"Duplicate job uuid[{job_uuid}]")
            job = {"uuid": job_uuid, "api": api, "request": request, "created": now,
                   "due": now + float(self.setting("job_delay_s")), "state": "running"}
            if auth_error is not None:
                job["auth_error"] = auth_error.body()
            if web_hook:
                job["web_hook"] = web_hook
            self.store.put(P, JOB, job_uuid, job)
        if web_hook:  # nobody polls a job with a hook: finish it on time, by itself
            timer = threading.Timer(max(0.0, job["due"] - time.time()) + 0.01, self.settle)
            timer.daemon = True
            timer.start()
        return job_uuid

    def _run(self, job: dict[str, Any]) -> None:
        if job.get("auth_error"):
            job["status"], job["body"] = 503, job["auth_error"]
        else:
            try:
                result = OPERATIONS[job["api"]](self, job["request"])
                job["status"], job["body"] = 200, result
            except ZsError as e:
                job["status"], job["body"] = 503, e.body()
        job["state"] = "done"
        job["finished"] = time.time()
        self.store.put(P, JOB, job["uuid"], job)
        if job.get("web_hook"):
            threading.Thread(target=_deliver, daemon=True, args=(
                job["web_hook"], job["uuid"], job["status"], job["body"], int(self.setting("webhook_attempts")),
                float(self.setting("webhook_interval_s")))).start()

    def settle(self) -> None:
        """Run every job that is due (in submission order) and forget those past retention."""
        now = time.time()
        retention = float(self.setting("job_retention_s"))
        with self.store.transaction():
            for job in sorted(self.store.list(P, JOB), key=lambda j: j["created"]):
                if job["state"] == "running" and job["due"] <= now:
                    self._run(job)
                elif job["state"] == "done" and job.get("finished", now) + retention < now:
                    job["state"] = "expired"
                    self.store.put(P, JOB, job["uuid"], {k: job[k] for k in ("uuid", "api", "created", "due", "state")})
            for s in self.store.list(P, SESSION):
                if s["_expires"] + 86400 < now:  # long-expired sessions are forgotten
                    self.store.delete(P, SESSION, s["uuid"])

    def job_result(self, job_uuid: str) -> tuple[int, Any]:
        self.settle()
        job = self.store.get(P, JOB, job_uuid)
        if job is None:
            return 404, f"no job[uuid:{job_uuid}] found"
        if job["state"] == "expired":
            return 404, "the job has been expired"
        if job["state"] == "running":
            return 202, None
        return job["status"], job["body"]

    def query(self, kind: str, q: list[str], params: dict[str, str]) -> dict[str, Any]:
        self.settle()
        docs = self.store.list(P, kind)
        if kind == SERVICE:  # bindings live on the models: show them on the service too
            docs = [{**d, "modelServiceRefs": self.service_refs(d["uuid"])} for d in docs]
        fields = {k for d in docs for k in d if not k.startswith("_")}  # internal keys are not queryable
        for cond in q:
            field, op, value = parse_condition(cond)
            if docs and field not in fields:
                raise TextError(400, f"Invalid query parameter[q={cond}], unknown field[{field}]")
            docs = [d for d in docs if _matches(d, field, op, value)]
        total = len(docs)
        if params.get("count") == "true":
            return {"total": total}
        sort = params.get("sort")
        if sort:
            desc, key = sort.startswith("-"), sort.lstrip("+-")
            docs.sort(key=lambda d: (d.get(key) is None, d.get(key) if d.get(key) is not None else ""), reverse=desc)
        start = _int_param(params, "start", 0)
        limit = _int_param(params, "limit", 1000)
        docs = docs[start:start + limit] if limit >= 0 else docs[start:]
        out = [render(d) for d in docs]
        if params.get("fields"):
            wanted = {f.strip() for f in params["fields"].split(",")}
            out = [{k: v for k, v in d.items() if k in wanted} for d in out]
        reply: dict[str, Any] = {"inventories": out}
        if params.get("replyWithCount") == "true":
            reply["total"] = total
        return reply
