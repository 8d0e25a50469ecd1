"""DataArts Fabric store logic and vendor rules (moto's ``models.py``).

Documents in the shared store, platform ``fabric``:

- ``model``      id = model id (uuid4, 36 chars). Fields the API shows plus bookkeeping:
  ``workspace_id``, ``current_version_id``, ``pending_version_id`` (a version added by update that
  becomes current once it is ready), ``ready_at`` (epoch seconds; the model is invisible before),
  ``created_ts``/``updated_ts``/``seq`` (sorting), ``in_use_by`` (list of inference-service names;
  non-empty = the whole model is in use).
- ``version``    id = version id (uuid4). ``model_id``, ``workspace_id``, ``ready_at``, ``failed``
  (admin-settable: a failed version cannot be made current), ``in_use_by``.
- ``base_model`` id = base_model_type; seeded, served by ListBaseModels.

Nothing is asynchronous in the server: "being created" is simply ``now < ready_at``, evaluated on
every read, so state and timings survive a restart.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from emulator import defaults
from emulator.core.store import Store
from emulator.fabric.errors import (
    BAD_REQUEST_BODY,
    BUCKET_MISSING,
    CURRENT_VERSION,
    DUPLICATE_NAME,
    IN_USE,
    NOT_FOUND,
    STILL_RUNNING,
    VERSION_FAILED,
    WORKSPACE_MISSING,
    FabricError,
    invalid,
)

P = "fabric"

DEFAULT_SETTINGS: dict[str, Any] = {
    # -- async behaviour ------------------------------------------------------------------
    "create_delay_s": 1.0,          # a created model (and its first version) is listed after this
    "version_delay_s": 1.0,         # a version added by update is listed after this
    "new_version_becomes_current": True,  # the added version becomes current_version once ready
    # -- vendor choices the spec leaves open ----------------------------------------------
    "not_found_status": 400,        # 400 or 404; the code is dataartsfabric.00010009 either way
    "workspaces": ["emulator-workspace"],  # existing workspace ids; "*" accepts any well-formed id
    "obs_buckets": [],              # existing OBS buckets for model_path; [] = every bucket exists
    # -- IAM / auth -------------------------------------------------------------------------
    "token_ttl_s": 86400,           # X-Auth-Token lifetime (vendor: 24 h)
    "signature_skew_s": 900,        # allowed |now - X-Sdk-Date| (vendor: 15 min)
    "accept_any_token": False,      # True: any non-empty X-Auth-Token passes (spec §9 option)
    "token_secret": "fabric-emulator-token-key",  # MAC key of the emulator's stateless tokens
    "domain_name": defaults.FABRIC_DOMAIN_NAME,
    "domain_id": defaults.FABRIC_DOMAIN_ID,
    "project_name": defaults.FABRIC_PROJECT_NAME,
    "project_id": defaults.FABRIC_PROJECT_ID,
    "users": {
        defaults.FABRIC_USERNAME: {"password": defaults.FABRIC_PASSWORD, "user_id": defaults.FABRIC_USER_ID},
    },
    "access_keys": {
        defaults.FABRIC_ACCESS_KEY: {"secret_key": defaults.FABRIC_SECRET_KEY, "user": defaults.FABRIC_USERNAME},
    },
}

# Invented base model types (the spec gives none): (base_model_type, max_tokens, num_of_mu).
BASE_MODELS = [
    ("LLAMA3_8B", 8192, 1),
    ("QWEN2_5_7B", 32768, 1),
    ("QWEN2_5_72B", 32768, 8),
    ("DEEPSEEK_R1_DISTILL_QWEN_32B", 32768, 4),
]

def setting(store: Store, key: str) -> Any:
    return store.setting(P, key, DEFAULT_SETTINGS[key])


def seed(store: Store) -> None:
    for t, max_tokens, mu in BASE_MODELS:
        store.put(P, "base_model", t, {"base_model_type": t, "max_tokens": max_tokens, "num_of_mu": mu})


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- validation ------------------------------------------------------------------------------
# \w is Unicode-aware: letters (including CJK, which the SDK docstring allows), digits and "_".
_NAME = re.compile(r"[\w\-. ]{1,64}")
_FILTER = re.compile(r"[\w\-. ]+")
_ID = re.compile(r"[A-Za-z0-9-]{32,36}")
_WORKSPACE = re.compile(r"[A-Za-z0-9-]{1,36}")
_OBS = re.compile(r"obs://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(.+)")


def _name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise invalid(f"Invalid {field}: 1 to 64 characters; only letters, digits, hyphens (-), "
                      "underscores (_), periods (.) and spaces are allowed.")
    return value


def _description(value: Any, field: str, limit: int | None = 1024) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FabricError(400, BAD_REQUEST_BODY, "failed to read http request, please check your input, "
                          f"code: 400, reason: Type mismatch for {field}., cause: TypeMismatchException")
    if limit is not None and len(value) > limit:
        raise invalid(f"Invalid {field}: at most {limit} characters.")
    return value


def _int_param(params: dict[str, str], key: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"Invalid {key}: must be an integer from {lo} to {hi}.") from None
    if not lo <= value <= hi:
        raise invalid(f"Invalid {key}: must be an integer from {lo} to {hi}.")
    return value


def _page(params: dict[str, str]) -> tuple[int, int]:
    return (_int_param(params, "offset", 0, 0, 1_000_000_000),
            _int_param(params, "limit", 10, 1, 100))


def _str_param(params: dict[str, str], key: str, lo: int, hi: int, pattern: re.Pattern[str] | None) -> str | None:
    raw = params.get(key)
    if raw is None:
        return None
    if not lo <= len(raw) <= hi or (pattern is not None and not pattern.fullmatch(raw)):
        raise invalid(f"Invalid {key}: {raw!r}.")
    return raw


def _enum_param(params: dict[str, str], key: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    raw = params.get(key)
    if raw is None or raw == "":
        return default
    if raw not in allowed:
        raise invalid(f"Invalid {key}: must be one of {', '.join(allowed)}.")
    return raw


def _in_use(doc: dict[str, Any]) -> list[str]:
    v = doc.get("in_use_by")
    if not v:
        return []
    if isinstance(v, list):
        return [str(x) for x in v]
    return [str(v) if not isinstance(v, bool) else "inference-service"]


class FabricBackend:
    """The vendor's rules over the shared store. ``caller`` is the authenticated User dict."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def setting(self, key: str) -> Any:
        return setting(self.store, key)

    # -- lookups -------------------------------------------------------------------------
    def check_workspace(self, ws: str) -> None:
        known = self.setting("workspaces")
        if not _WORKSPACE.fullmatch(ws) or ("*" not in known and ws not in known):
            raise FabricError(400, WORKSPACE_MISSING, f"The workspace {ws} does not exist.",
                              "Check the workspace ID.")

    def not_found(self, what: str, id_: str) -> FabricError:
        status = 404 if int(self.setting("not_found_status")) == 404 else 400
        return FabricError(status, NOT_FOUND, f"The queried {what} {id_} does not exist.",
                           f"Check the {what} ID.")

    @staticmethod
    def still_running(what: str, id_: str) -> FabricError:
        return FabricError(500, STILL_RUNNING, f"The {what} {id_} is still being created. Try again later.",
                           "Try again later.")

    def _model(self, ws: str, model_id: str, *, creating_ok: bool = False) -> dict[str, Any]:
        doc = self.store.get(P, "model", model_id)
        if doc is None or doc["workspace_id"] != ws:
            raise self.not_found("model", model_id)
        if not creating_ok and time.time() < doc["ready_at"]:
            raise self.still_running("model", model_id)
        return self._settle(doc)

    def _versions_of(self, model_id: str) -> list[dict[str, Any]]:
        return [v for v in self.store.list(P, "version") if v["model_id"] == model_id]

    def _settle(self, model: dict[str, Any]) -> dict[str, Any]:
        """Promote a pending version that has finished creating to current (lazily, on read)."""
        pid = model.get("pending_version_id")
        if not pid:
            return model
        v = self.store.get(P, "version", pid)
        if v is not None and time.time() < v["ready_at"]:
            return model
        with self.store.transaction():
            if v is not None and not v.get("failed") and self.setting("new_version_becomes_current"):
                model["current_version_id"] = pid
            model["pending_version_id"] = None
            self.store.put(P, "model", model["id"], model)
        return model

    # -- rendering -----------------------------------------------------------------------
    @staticmethod
    def render_version(v: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": v["id"],
            "name": v["name"],
            "description": v["description"],
            "config": v["config"],
            "cap_white_list": v.get("cap_white_list", []),
            "create_time": v["create_time"],
            "create_user": v["create_user"],
        }

    def render_model(self, m: dict[str, Any]) -> dict[str, Any]:
        cur = self.store.get(P, "version", m["current_version_id"]) if m.get("current_version_id") else None
        return {
            "id": m["id"],
            "name": m["name"],
            "description": m["description"],
            "type": m["type"],
            "visibility": m["visibility"],
            "create_time": m["create_time"],
            "update_time": m["update_time"],
            "current_version": self.render_version(cur) if cur else None,
            "create_user": m["create_user"],
            "update_user": m["update_user"],
        }

    # -- version input ---------------------------------------------------------------------
    def _version_input(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise invalid("Invalid version: a ModelVersionInput object is required.")
        name = _name(value.get("name"), "version.name")
        description = _description(value.get("description"), "version.description", limit=None)
        config_in = value.get("config")
        config: dict[str, Any] = {}
        if config_in is not None:
            if not isinstance(config_in, dict):
                raise invalid("Invalid version.config: must be an object.")
            llm = config_in.get("llm_model_config")
            if llm is not None:
                config["llm_model_config"] = self._llm_config(llm)
        return {"name": name, "description": description, "config": config}

    def _llm_config(self, llm: Any) -> dict[str, Any]:
        if not isinstance(llm, dict):
            raise invalid("Invalid version.config.llm_model_config: must be an object.")
        bmt = llm.get("base_model_type")
        if not isinstance(bmt, str) or self.store.get(P, "base_model", bmt) is None:
            raise invalid(f"Invalid base_model_type {bmt!r}: use a value returned by ListBaseModels.")
        out: dict[str, Any] = {"base_model_type": bmt}
        path = llm.get("model_path")
        if path is not None:
            m = _OBS.fullmatch(path) if isinstance(path, str) else None
            if m is None:
                raise invalid(f"Invalid model_path {path!r}: only valid OBS paths (obs://bucket/path) are allowed.")
            buckets = self.setting("obs_buckets")
            if buckets and m.group(1) not in buckets:
                raise FabricError(400, BUCKET_MISSING, f"The bucket {m.group(1)} does not exist.",
                                  "Check the OBS path of the model.")
            out["model_path"] = path
        local = llm.get("local_model_path")
        if local is not None:
            if not isinstance(local, str) or not local:
                raise invalid("Invalid local_model_path.")
            out["local_model_path"] = local
        return out

    def _new_version(self, model_id: str, ws: str, vin: dict[str, Any], caller: dict[str, Any],
                     now: float, ready_at: float) -> dict[str, Any]:
        vid = str(uuid.uuid4())
        return {
            "id": vid, "model_id": model_id, "workspace_id": ws,
            "name": vin["name"], "description": vin["description"], "config": vin["config"],
            "cap_white_list": [], "create_time": iso(now), "create_user": caller,
            "created_ts": now, "seq": self.store.next_counter("fabric.seq"),
            "ready_at": ready_at, "failed": False, "in_use_by": [],
        }

    def _check_unique_name(self, ws: str, name: str, except_id: str | None = None) -> None:
        for m in self.store.list(P, "model"):
            if m["workspace_id"] == ws and m["name"] == name and m["id"] != except_id:
                raise FabricError(400, DUPLICATE_NAME, f"The model name {name} already exists.",
                                  "Use another model name.")

    # -- CreateModelDefinition ---------------------------------------------------------------
    def create_model(self, ws: str, body: Any, caller: dict[str, Any]) -> dict[str, Any]:
        self.check_workspace(ws)
        if not isinstance(body, dict):
            raise invalid("The request body must be a CreateModelInput object.")
        name = _name(body.get("name"), "name")
        description = _description(body.get("description"), "description")
        if body.get("type") != "LLM_MODEL":
            raise invalid("Invalid type: the only supported value is LLM_MODEL.")
        vin = self._version_input(body.get("version"))
        with self.store.transaction():
            self._check_unique_name(ws, name)
            now = time.time()
            ready_at = now + float(self.setting("create_delay_s"))
            mid = str(uuid.uuid4())
            version = self._new_version(mid, ws, vin, caller, now, ready_at)
            model = {
                "id": mid, "workspace_id": ws, "name": name, "description": description,
                "type": "LLM_MODEL", "visibility": "PRIVATE",
                "create_time": iso(now), "update_time": iso(now),
                "create_user": caller, "update_user": caller,
                "current_version_id": version["id"], "pending_version_id": None,
                "created_ts": now, "updated_ts": now, "seq": self.store.next_counter("fabric.seq"),
                "ready_at": ready_at, "in_use_by": [],
            }
            self.store.put(P, "version", version["id"], version)
            self.store.put(P, "model", mid, model)
        return {"id": mid, "version_id": version["id"]}

    # -- ListModels --------------------------------------------------------------------------
    def list_models(self, ws: str, params: dict[str, str], caller: dict[str, Any]) -> dict[str, Any]:
        self.check_workspace(ws)
        offset, limit = _page(params)
        name = _str_param(params, "name", 1, 128, _FILTER)
        id_ = _str_param(params, "id", 32, 36, _ID)
        type_ = _str_param(params, "type", 1, 128, None)
        visibility = _enum_param(params, "visibility", ("PRIVATE", "PUBLIC", "ALL"), None)
        sort_by = _enum_param(params, "sort_by", ("CREATE_TIME", "UPDATE_TIME", "NAME"), "CREATE_TIME")
        order_by = _enum_param(params, "order_by", ("ASC", "DESC"), "DESC")
        now = time.time()
        me = caller["user_id"]
        rows = []
        for m in self.store.list(P, "model"):
            if m["workspace_id"] != ws or now < m["ready_at"]:
                continue
            own = m["create_user"]["user_id"] == me
            public = m["visibility"] == "PUBLIC"
            if visibility is None and not own:
                continue
            if visibility == "PRIVATE" and not (own and not public):
                continue
            if visibility == "PUBLIC" and not public:
                continue
            if visibility == "ALL" and not (own or public):
                continue
            if id_ is not None and m["id"] != id_:
                continue
            if name is not None and name.lower() not in m["name"].lower():
                continue
            if type_ is not None and m["type"] != type_:
                continue
            rows.append(self._settle(m))
        key = {"CREATE_TIME": lambda m: (m["created_ts"], m["seq"]),
               "UPDATE_TIME": lambda m: (m["updated_ts"], m["seq"]),
               "NAME": lambda m: (m["name"], m["seq"])}[sort_by]
        rows.sort(key=key, reverse=order_by == "DESC")
        return {"total": len(rows), "models": [self.render_model(m) for m in rows[offset:offset + limit]]}

    # -- UpdateModelDefinition ---------------------------------------------------------------
    def update_model(self, ws: str, model_id: str, body: Any, caller: dict[str, Any]) -> dict[str, Any]:
        self.check_workspace(ws)
        if not isinstance(body, dict):
            raise invalid("The request body must be an UpdateModelInput object.")
        name = _name(body["name"], "name") if body.get("name") is not None else None
        description = (_description(body["description"], "description")
                       if body.get("description") is not None else None)
        cur_id = body.get("current_version_id")
        if cur_id is not None and (not isinstance(cur_id, str) or not _ID.fullmatch(cur_id)):
            raise invalid(f"Invalid current_version_id {cur_id!r}.")
        vin = self._version_input(body["version"]) if body.get("version") is not None else None
        with self.store.transaction():
            model = self._model(ws, model_id)
            versions = self._versions_of(model_id)
            now = time.time()
            changed = False
            if vin is not None:
                if any(now < v["ready_at"] for v in versions):
                    raise FabricError(500, STILL_RUNNING, f"A version of model {model_id} is still being "
                                      "created. Try again later.", "Try again later.")
                if any(v["name"] == vin["name"] for v in versions):
                    raise FabricError(400, DUPLICATE_NAME, f"The version name {vin['name']} already exists "
                                      "in this model.", "Use another version name.")
            if name is not None and name != model["name"]:
                self._check_unique_name(ws, name, except_id=model_id)
                model["name"] = name
                changed = True
            if description is not None and description != model["description"]:
                model["description"] = description
                changed = True
            if cur_id is not None:
                target = next((v for v in versions if v["id"] == cur_id), None)
                if target is None:
                    raise self.not_found("model version", cur_id)
                if now < target["ready_at"]:
                    raise self.still_running("model version", cur_id)
                if target.get("failed"):
                    raise FabricError(400, VERSION_FAILED, f"The model version {cur_id} failed and cannot be "
                                      "set as the current version.", "Choose a version that did not fail.")
                if cur_id != model["current_version_id"] or model.get("pending_version_id"):
                    model["current_version_id"] = cur_id
                    model["pending_version_id"] = None
                    changed = True
            if vin is not None:
                version = self._new_version(model_id, ws, vin, caller, now,
                                            now + float(self.setting("version_delay_s")))
                self.store.put(P, "version", version["id"], version)
                model["pending_version_id"] = version["id"]
                changed = True
            if changed:
                model["update_time"] = iso(now)
                model["updated_ts"] = now
                model["update_user"] = caller
                self.store.put(P, "model", model_id, model)
        return self.render_model(model)

    # -- CleanupModel ------------------------------------------------------------------------
    def delete_model(self, ws: str, model_id: str) -> None:
        self.check_workspace(ws)
        with self.store.transaction():
            model = self._model(ws, model_id)
            versions = self._versions_of(model_id)
            now = time.time()
            if any(now < v["ready_at"] for v in versions):
                raise FabricError(500, STILL_RUNNING, f"A version of model {model_id} is still being created. "
                                  "Try again later.", "Try again later.")
            users = _in_use(model) + [u for v in versions for u in _in_use(v)]
            if users:
                raise FabricError(
                    400, IN_USE,
                    f"The model {model_id} is being used by inference services {sorted(set(users))} "
                    "and cannot be deleted.",
                    "Delete the inference services that use the model, then try again.")
            for v in versions:
                self.store.delete(P, "version", v["id"])
            self.store.delete(P, "model", model_id)

    # -- ListModelVersions -------------------------------------------------------------------
    def list_versions(self, ws: str, model_id: str, params: dict[str, str]) -> dict[str, Any]:
        self.check_workspace(ws)
        offset, limit = _page(params)
        version_id = _str_param(params, "version_id", 32, 36, _ID)
        name = _str_param(params, "name", 4, 32, _FILTER)
        doc = self.store.get(P, "model", model_id)
        if doc is None or doc["workspace_id"] != ws or time.time() < doc["ready_at"]:
            raise self.not_found("model", model_id)
        now = time.time()
        rows = [v for v in self._versions_of(model_id)
                if now >= v["ready_at"]
                and (version_id is None or v["id"] == version_id)
                and (name is None or name.lower() in v["name"].lower())]
        rows.sort(key=lambda v: (v["created_ts"], v["seq"]), reverse=True)
        return {"total": len(rows), "versions": [self.render_version(v) for v in rows[offset:offset + limit]]}

    # -- DeleteModelVersion ------------------------------------------------------------------
    def delete_version(self, ws: str, model_id: str, version_id: str) -> None:
        self.check_workspace(ws)
        with self.store.transaction():
            model = self._model(ws, model_id)
            v = self.store.get(P, "version", version_id)
            if v is None or v["model_id"] != model_id:
                raise self.not_found("model version", version_id)
            if time.time() < v["ready_at"]:
                raise self.still_running("model version", version_id)
            users = _in_use(v)
            if users:
                raise FabricError(
                    400, IN_USE,
                    f"The model version {version_id} is being used by inference services {sorted(users)} "
                    "and cannot be deleted.",
                    "Delete the inference services that use the model version, then try again.")
            if model["current_version_id"] == version_id:
                raise FabricError(400, CURRENT_VERSION, f"The model version {version_id} is the current "
                                  "version of the model and cannot be deleted.",
                                  "Set another version as the current version, or delete the model.")
            self.store.delete(P, "version", version_id)

    # -- ListBaseModels ----------------------------------------------------------------------
    def list_base_models(self, params: dict[str, str]) -> dict[str, Any]:
        offset, limit = _page(params)
        rows = self.store.list(P, "base_model")
        return {"total": len(rows), "models": rows[offset:offset + limit]}


__all__ = ["DEFAULT_SETTINGS", "FabricBackend", "seed", "setting"]
