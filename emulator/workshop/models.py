"""State and rules of the emulated AI Creation Workshop: tokens, synced models, the listing machine.

Documents in the shared store, platform ``workshop`` (read them at ``/_admin/objects/workshop``):

* kind ``token``, id ``<apiToken>``: ``{apiToken, appKey, owner, name, sceneRoleId, tokenExpiredAt,
  usedSessionTimeInSeconds}``. ``owner`` is ``<appKey>/user:<name>`` for a named token (every
  token allocated under one name acts as the same end user) and ``<appKey>/token:<apiToken>`` for
  an anonymous one.
* kind ``model``, id ``<owner>/<modelId>``: the model as last synced (camelCase, as sent) plus
  ``owner``, ``workshopModelId``, ``syncCount``, ``createdAt``/``updatedAt``; each version carries
  ``workshopVersionId``; each file ``workshopFileId``, ``status``, ``startsAt``, ``endsAt``,
  ``willFail``.

A file's listing (spec §3.1, §7): a file whose hash is already uploaded (setting
``uploaded_hashes``, or any listed file of the same app) is Listed (10) at once; any other file
is Not listed (0) for ``queue_delay_s``, Listing (5) until ``listing_delay_s`` later, then Listed
(10), or Listing failed (-10) when its ``downloadUrl`` matches ``fail_pattern``. Transitions are
applied lazily (on every sync and admin read) and by a timer, which also posts the listing-result
event to ``callback_url`` when one is set.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from typing import Any

import httpx

from emulator import defaults
from emulator.core.store import Store
from emulator.workshop.errors import WorkshopError, invalid, invoke_id, missing

log = logging.getLogger("emulator.workshop")

PLATFORM = "workshop"

DEFAULT_SETTINGS: dict[str, Any] = {
    "apps": {defaults.WORKSHOP_APP_KEY: defaults.WORKSHOP_APP_SECRET},
    "verify_signatures": True,
    "max_clock_skew_s": 900,
    "nonce_retention_s": 1800,
    "token_ttl_s": 86400,
    "queue_delay_s": 0,
    "listing_delay_s": 2.0,
    "fail_pattern": "fail",
    "uploaded_hashes": [],
    "sync_reply": "auto",
    "callback_url": None,
    "errors_on_http_200": True,
}
TOKEN, MODEL = "token", "model"
MODEL_TYPES = ("checkpoint", "lora", "textualinversion", "vae")
SOURCE_TYPES = ("liblib", "civitia", "hugging_face", "internal")
BASE_MODELS = ("v1.4", "v1.5", "v2.0", "v2.1", "vxl_0.9", "vxl_1.0", "vxl_distilled", "v1.5_lcm",
               "vxl_1.0_lcm", "vxl_turbo")
NOT_LISTED, LISTING, LISTED, FAILED = 0, 5, 10, -10
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case (ids look like 01j1w6cx...)


def new_id() -> str:
    """A lower-case ULID-like id: 10 characters of millisecond time, 16 random."""
    ms, out = int(time.time() * 1000), ""
    for _ in range(10):
        out = _ALPHABET[ms % 32] + out
        ms //= 32
    return out + "".join(secrets.choice(_ALPHABET) for _ in range(16))


# -- field checks (business rules of the seed's body) -------------------------------------------------
def _str(obj: dict[str, Any], name: str, where: str, required: bool = True) -> str | None:
    value = obj.get(name)
    if value is None or value == "":
        if required:
            raise missing(f"{where}{name}")
        return None
    if not isinstance(value, str):
        raise invalid(f"{where}{name} must be a string")
    return value


def _enum(obj: dict[str, Any], name: str, where: str, allowed: tuple[str, ...]) -> str:
    value = _str(obj, name, where)
    if value not in allowed:
        raise invalid(f"{where}{name} {value!r} is not one of {', '.join(allowed)}")
    return value


def _bool(obj: dict[str, Any], name: str, where: str) -> None:
    if obj.get(name) is not None and not isinstance(obj[name], bool):
        raise invalid(f"{where}{name} must be true or false")


def _positive(obj: dict[str, Any], name: str, where: str, integer: bool = False) -> None:
    value = obj.get(name)
    if value is None:
        raise missing(f"{where}{name}")
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
        raise invalid(f"{where}{name} must be a positive {'integer' if integer else 'number'}")


def _list(obj: dict[str, Any], name: str, where: str, required: bool = True) -> list[Any]:
    value = obj.get(name)
    if value is None:
        if required:
            raise missing(f"{where}{name}")
        return []
    if not isinstance(value, list):
        raise invalid(f"{where}{name} must be an array")
    if required and not value:
        raise invalid(f"{where}{name} must not be empty")
    return value


def validate_model(body: dict[str, Any]) -> None:
    _str(body, "modelId", "")
    _str(body, "name", "")
    _enum(body, "modelType", "", MODEL_TYPES)
    _enum(body, "sourceType", "", SOURCE_TYPES)
    for name in ("modelDesc", "source", "originalCreator", "originalCreatorHomepage"):
        _str(body, name, "", required=False)
    _bool(body, "isOriginal", "")
    seen_ids: set[str] = set()
    seen_names: set[str] = set()
    for i, v in enumerate(_list(body, "versions", "")):
        where = f"versions[{i}]."
        if not isinstance(v, dict):
            raise invalid(f"versions[{i}] must be an object")
        vid, vname = _str(v, "modelVersionId", where), _str(v, "name", where)
        if vid in seen_ids:
            raise invalid(f"{where}modelVersionId {vid!r} appears twice")
        if vname in seen_names:
            raise invalid(f"{where}name {vname!r}: version names must be unique within a model")
        seen_ids.add(vid)
        seen_names.add(vname)
        _enum(v, "baseModel", where, BASE_MODELS)
        _str(v, "versionDesc", where, required=False)
        _bool(v, "isAutoCollection", where)
        words = _list(v, "triggerWords", where, required=False)
        if not all(isinstance(w, str) for w in words):
            raise invalid(f"{where}triggerWords must be an array of strings")
        for j, c in enumerate(_list(v, "covers", where)):
            cw = f"{where}covers[{j}]."
            if not isinstance(c, dict):
                raise invalid(f"{where}covers[{j}] must be an object")
            _str(c, "cover", cw)
            cf = c.get("coverFile")
            if not isinstance(cf, dict):
                raise missing(f"{cw}coverFile")
            _positive(cf, "width", f"{cw}coverFile.", integer=True)
            _positive(cf, "height", f"{cw}coverFile.", integer=True)
            _str(cf, "format", f"{cw}coverFile.", required=False)
        files = _list(v, "files", where)
        names: set[str] = set()
        for j, f in enumerate(files):
            fw = f"{where}files[{j}]."
            if not isinstance(f, dict):
                raise invalid(f"{where}files[{j}] must be an object")
            fname = _str(f, "name", fw)
            if fname in names:
                raise invalid(f"{fw}name {fname!r} appears twice in the version")
            names.add(fname)
            for name in ("aliasName", "downloadUrl", "hash"):
                _str(f, name, fw)
            _positive(f, "sizeKb", fw)
            _bool(f, "isPrimary", fw)
        if sum(1 for f in files if f.get("isPrimary") is True) > 1:
            raise invalid(f"{where}files: a version can have only one primary model file")


class WorkshopBackend:
    def __init__(self, store: Store) -> None:
        self.store = store

    def setting(self, key: str) -> Any:
        return self.store.setting(PLATFORM, key, DEFAULT_SETTINGS[key])

    # -- tokens ---------------------------------------------------------------------------------
    def allocate_token(self, app_key: str, body: dict[str, Any]) -> dict[str, Any]:
        name = _str(body, "name", "", required=False)
        role = _str(body, "sceneRoleId", "", required=False)
        now_ms = int(time.time() * 1000)
        expires = body.get("tokenExpiredAt")
        if expires is None:
            expires = now_ms + int(float(self.setting("token_ttl_s")) * 1000)
        elif isinstance(expires, bool) or not isinstance(expires, int) or len(str(expires)) != 13:
            raise invalid("tokenExpiredAt must be a 13-digit millisecond timestamp")
        elif expires <= now_ms:
            raise invalid("tokenExpiredAt is in the past")
        token = new_id()
        owner = f"{app_key}/user:{name}" if name else f"{app_key}/token:{token}"
        used = 0
        if name:  # the same end user: carry its usage on
            used = max((t.get("usedSessionTimeInSeconds", 0) for t in self.store.list(PLATFORM, TOKEN)
                        if t["owner"] == owner), default=0)
        doc = {"apiToken": token, "appKey": app_key, "owner": owner, "name": name, "sceneRoleId": role,
               "tokenExpiredAt": expires, "usedSessionTimeInSeconds": used}
        self.store.put(PLATFORM, TOKEN, token, doc)
        return {"apiToken": token, "tokenExpiredAt": expires, "usedSessionTimeInSeconds": used}

    def owner_of(self, app_key: str, token: str | None) -> str:
        if not token:
            raise missing("apiToken")
        doc = self.store.get(PLATFORM, TOKEN, token)
        if doc is None or doc["appKey"] != app_key:
            raise WorkshopError(401, "InvalidApiToken", "The apiToken is not valid for this app")
        if doc["tokenExpiredAt"] <= time.time() * 1000:
            raise WorkshopError(401, "ApiTokenExpired", "The apiToken has expired; allocate a new one")
        return doc["owner"]

    # -- model sync -----------------------------------------------------------------------------
    def sync(self, app_key: str, owner: str, body: dict[str, Any]) -> Any:
        validate_model(body)
        session_mode = body.get("sessionMode")
        if session_mode is not None and session_mode not in (10, 20):
            raise invalid("sessionMode must be 10 (session) or 20 (inference)")
        now = time.time()
        events: list[dict[str, Any]] = []
        with self.store.transaction():
            events += self._materialize(now)
            doc_id = f"{owner}/{body['modelId']}"
            old = self.store.get(PLATFORM, MODEL, doc_id)
            doc = self._merge(app_key, owner, body, old, now)
            self.store.put(PLATFORM, MODEL, doc_id, doc)
        self._deliver(events)
        self._schedule(doc)
        return self._reply(doc)

    def _merge(self, app_key: str, owner: str, body: dict[str, Any], old: dict[str, Any] | None,
               now: float) -> dict[str, Any]:
        """The new tree replaces the old one (a full-state sync: versions and files left out are
        dropped); ids are kept by modelVersionId and file name, listings by unchanged file."""
        old_versions = {v["modelVersionId"]: v for v in (old or {}).get("versions", [])}
        uploaded = self._uploaded_hashes(app_key)
        queue, delay = float(self.setting("queue_delay_s")), float(self.setting("listing_delay_s"))
        pattern = self.setting("fail_pattern")
        keep = {k: v for k, v in body.items() if k not in ("apiToken", "versions")}
        versions = []
        for v in body["versions"]:
            before = old_versions.get(v["modelVersionId"], {})
            old_files = {f["name"]: f for f in before.get("files", [])}
            files = []
            for f in v["files"]:
                prev = old_files.get(f["name"])
                state = dict(f)
                if prev and (prev["hash"], prev["downloadUrl"]) == (f["hash"], f["downloadUrl"]):
                    state.update({k: prev[k] for k in ("workshopFileId", "status", "startsAt", "endsAt", "willFail")})
                else:
                    state["workshopFileId"] = prev["workshopFileId"] if prev else new_id()
                    if f["hash"] in uploaded:
                        state.update(status=LISTED, startsAt=now, endsAt=now, willFail=False)
                    else:
                        fails = bool(pattern) and re.search(pattern, f["downloadUrl"], re.IGNORECASE) is not None
                        state.update(status=NOT_LISTED if queue > 0 else LISTING, startsAt=now + queue,
                                     endsAt=now + queue + delay, willFail=fails)
                files.append(state)
            versions.append({**{k: v[k] for k in v if k != "files"},
                             "workshopVersionId": before.get("workshopVersionId") or new_id(), "files": files})
        return {**keep, "owner": owner, "appKey": app_key, "versions": versions,
                "workshopModelId": (old or {}).get("workshopModelId") or new_id(),
                "syncCount": (old or {}).get("syncCount", 0) + 1,
                "createdAt": (old or {}).get("createdAt") or now, "updatedAt": now}

    def _uploaded_hashes(self, app_key: str) -> set[str]:
        hashes = set(self.setting("uploaded_hashes"))
        for m in self.store.list(PLATFORM, MODEL):
            if m.get("appKey") == app_key:
                hashes.update(f["hash"] for v in m["versions"] for f in v["files"] if f["status"] == LISTED)
        return hashes

    def _reply(self, doc: dict[str, Any]) -> Any:
        items = [{"modelId": doc["workshopModelId"], "modelVersionId": v["workshopVersionId"],
                  "modelFileId": f["workshopFileId"], "status": f["status"]}
                 for v in doc["versions"] for f in v["files"]]
        shape = self.setting("sync_reply")
        if shape == "list" or (shape == "auto" and len(items) > 1):
            return items
        first = doc["versions"][0]
        primary = next((f for f in first["files"] if f.get("isPrimary")), first["files"][0])
        statuses = [i["status"] for i in items]
        overall = (FAILED if FAILED in statuses else LISTED if all(s == LISTED for s in statuses)
                   else LISTING if LISTING in statuses else NOT_LISTED)
        return {"modelId": doc["workshopModelId"], "modelVersionId": first["workshopVersionId"],
                "modelFileId": primary["workshopFileId"], "status": overall}

    # -- the listing machine ----------------------------------------------------------------------
    def _materialize(self, now: float) -> list[dict[str, Any]]:
        """Apply due transitions to every stored file; return the listing-result events."""
        events = []
        for m in self.store.list(PLATFORM, MODEL):
            changed = False
            for v in m["versions"]:
                for f in v["files"]:
                    if f["status"] not in (NOT_LISTED, LISTING):
                        continue
                    if now >= f["endsAt"]:
                        f["status"] = FAILED if f["willFail"] else LISTED
                        changed = True
                        events.append(self._event(m, v, f))
                    elif now >= f["startsAt"] and f["status"] == NOT_LISTED:
                        f["status"], changed = LISTING, True
            if changed:
                self.store.put(PLATFORM, MODEL, f"{m['owner']}/{m['modelId']}", m)
        return events

    @staticmethod
    def _event(m: dict[str, Any], v: dict[str, Any], f: dict[str, Any]) -> dict[str, Any]:
        failed = f["status"] == FAILED
        return {"eventType": "ModelListingResult", "eventId": invoke_id(), "eventTime": int(time.time() * 1000),
                "modelId": m["workshopModelId"], "modelVersionId": v["workshopVersionId"],
                "modelFileId": f["workshopFileId"], "status": f["status"], "sourceModelId": m["modelId"],
                "sourceModelVersionId": v["modelVersionId"], "fileName": f["name"],
                "errMessage": f"could not download {f['downloadUrl']}" if failed else None}

    def refresh(self) -> None:
        with self.store.transaction():
            events = self._materialize(time.time())
        self._deliver(events)

    def _schedule(self, doc: dict[str, Any]) -> None:
        now = time.time()
        due = [t for v in doc["versions"] for f in v["files"] if f["status"] in (NOT_LISTED, LISTING)
               for t in (f["endsAt"],) if t > now]
        for at in sorted(set(due)):
            timer = threading.Timer(at - now + 0.05, self._tick)
            timer.daemon = True
            timer.start()

    def _tick(self) -> None:
        try:
            self.refresh()
        except Exception:  # the store may be closed or reset under us: the next read catches up
            log.debug("workshop listing timer failed", exc_info=True)

    def _deliver(self, events: list[dict[str, Any]]) -> None:
        url = self.setting("callback_url")
        if not url or not events:
            return

        def post() -> None:
            for event in events:
                try:
                    httpx.post(url, content=json.dumps(event), timeout=5,
                               headers={"Content-Type": "application/json", "X-Workshop-Event": event["eventType"]})
                except httpx.HTTPError as exc:
                    log.warning("listing-result callback to %s failed: %s", url, exc)

        threading.Thread(target=post, daemon=True).start()
