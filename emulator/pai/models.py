"""State and rules of the emulated PAI model registry (AIWorkSpace 2021-02-04).

Documents in the shared store, platform ``pai``:

* kind ``model``, id ``<ModelId>``: the Model object as the vendor returns it (§3.2), minus the
  computed ``LatestVersion`` / ``GmtLatestVersionModifiedTime``.
* kind ``version``, id ``<ModelId>:<VersionName>`` (terraform's resource id format): the
  ModelVersion object (§4.2) plus one internal key ``_ModelId``, never rendered.

Every rule the spec leaves open is decided here and listed in the package docstring.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from datetime import datetime, timezone
from typing import Any

from emulator import defaults
from emulator.core import jsonbody
from emulator.core.store import Store
from emulator.pai.errors import (
    MODEL_NOT_FOUND,
    VERSION_NOT_FOUND,
    WORKSPACE_NOT_FOUND,
    PaiError,
    invalid,
    missing,
)

PLATFORM = "pai"

DEFAULT_SETTINGS: dict[str, Any] = {
    "access_keys": {defaults.PAI_ACCESS_KEY_ID: defaults.PAI_ACCESS_KEY_SECRET},
    "verify_signatures": True,
    "max_clock_skew_s": 900,
    "nonce_retention_s": 1800,
    "region_id": "cn-hangzhou",
    "default_workspace_id": "100001",
    "workspaces": [],
    "owner_id": "1234567890123456",
    "user_id": "1234567890123456",
    "unique_model_names": False,
    "strict_model_delete": False,
    "not_found_status": 404,
}
MODEL = "model"
VERSION = "version"

MODEL_FIELDS_STR = ("ModelDescription", "Origin", "Domain", "Task", "ModelDoc", "ModelType")
MODEL_UPDATABLE = ("ModelName", "ModelDescription", "Accessibility", "Origin", "Domain", "Task",
                   "ModelDoc", "OrderNumber", "ModelType", "ExtraInfo", "ParameterSize")
VERSION_OBJECTS = ("InferenceSpec", "TrainingSpec", "EvaluationSpec", "CompressionSpec",
                   "DistillationSpec", "ExtraInfo", "Metrics")
VERSION_UPDATABLE = ("VersionDescription", "ApprovalStatus", "InferenceSpec", "TrainingSpec",
                     "EvaluationSpec", "CompressionSpec", "DistillationSpec", "Metrics", "Options",
                     "SourceType", "SourceId", "ExtraInfo")

ACCESSIBILITY = ("PRIVATE", "PUBLIC")
FORMAT_TYPES = ("OfflineModel", "SavedModel", "Keras H5", "Frozen Pb", "Caffe Prototxt", "TorchScript",
                "XGBoost", "PMML", "AlinkModel", "ONNX")
FRAMEWORK_TYPES = ("Pytorch", "XGBoost", "Keras", "Caffe", "Alink", "Xflow", "TensorFlow")
SOURCE_TYPES = ("Custom", "PAIFlow", "TrainingService")
APPROVAL_STATUSES = ("Pending", "Approved", "Rejected")
CONDITION_OPERATORS = ("Equal", "NotEqual", "LessThan", "LessThanOrEqual", "GreaterThan",
                       "GreaterThanOrEqual", "Like", "In")

VERSION_NAME = re.compile(r"^(\d+)\.(\d+)\.(\d[A-Za-z0-9_]*)$")
URI = re.compile(r"^(https?|oss)://[^/\s]+(/\S*)?$")
METRICS_MAX_BYTES = 8192
LABEL_MAX_BYTES = 128
MODEL_NAME_MAX = 127


def now_iso() -> str:
    t = datetime.now(timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def new_model_id() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "model-" + "".join(secrets.choice(alphabet) for _ in range(18))


# -- field checks ------------------------------------------------------------------------------
def _str(body: dict[str, Any], name: str) -> str | None:
    v = body.get(name)
    if v is None:
        return None
    if not isinstance(v, str):
        raise invalid(f"The parameter {name} must be a string.")
    return v


def _int(body: dict[str, Any], name: str) -> int | None:
    v = body.get(name)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise invalid(f"The parameter {name} must be an integer.")
    return v


def _obj(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    v = body.get(name)
    if v is None:
        return None
    if not isinstance(v, dict):
        raise invalid(f"The parameter {name} must be a JSON object.")
    return v


def _enum(body: dict[str, Any], name: str, allowed: tuple[str, ...], loose_case: bool = False) -> str | None:
    v = _str(body, name)
    if v is None:
        return None
    ok = v.lower() in {a.lower() for a in allowed} if loose_case else v in allowed
    if not ok:
        raise invalid(f"The parameter {name} has an invalid value {v!r}; valid values: {', '.join(allowed)}.")
    return v


def check_labels(value: Any, name: str) -> list[dict[str, str]]:
    """A ``[{Key, Value}]`` list; each part ≤128 bytes, no ``=`` or ``,``; later duplicates win."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(f"The parameter {name} must be a list of {{Key, Value}}.")
    out: dict[str, str] = {}
    for item in value:
        if not isinstance(item, dict):
            raise invalid(f"Each item of {name} must be an object with Key and Value.")
        key, val = item.get("Key"), item.get("Value", "")
        if val is None:
            val = ""
        if not isinstance(key, str) or not key:
            raise invalid(f"Each item of {name} needs a non-empty string Key.")
        if not isinstance(val, str):
            raise invalid(f"The Value of {name} key {key!r} must be a string.")
        for part, what in ((key, "Key"), (val, "Value")):
            if len(part.encode()) > LABEL_MAX_BYTES:
                raise invalid(f"The {what} of {name} item {key!r} is longer than {LABEL_MAX_BYTES} bytes.")
            if "=" in part or "," in part:
                raise invalid(f"The {what} of {name} item {key!r} may not contain '=' or ','.")
        out[key] = val
    return [{"Key": k, "Value": v} for k, v in out.items()]


def merge_labels(current: list[dict[str, str]], new: list[dict[str, str]]) -> list[dict[str, str]]:
    merged = {lab["Key"]: lab["Value"] for lab in current}
    merged.update({lab["Key"]: lab["Value"] for lab in new})
    return [{"Key": k, "Value": v} for k, v in merged.items()]


def _check_model_name(name: str | None) -> None:
    if name is not None and not (1 <= len(name) <= MODEL_NAME_MAX):
        raise invalid(f"The parameter ModelName must be 1 to {MODEL_NAME_MAX} characters long.")


def _check_version_fields(body: dict[str, Any], doc: dict[str, Any], names: tuple[str, ...]) -> None:
    """Validate and copy the version fields ``names`` that ``body`` carries into ``doc``."""
    for name in names:
        if body.get(name) is None:
            continue
        if name in VERSION_OBJECTS:
            v: Any = _obj(body, name)
            if name == "Metrics" and len(json.dumps(v, separators=(",", ":")).encode()) > METRICS_MAX_BYTES:
                raise invalid(f"The parameter Metrics exceeds {METRICS_MAX_BYTES} bytes when serialised.")
        elif name == "FormatType":
            v = _enum(body, name, FORMAT_TYPES)
        elif name == "FrameworkType":
            v = _enum(body, name, FRAMEWORK_TYPES, loose_case=True)
        elif name == "SourceType":
            v = _enum(body, name, SOURCE_TYPES)
        elif name == "ApprovalStatus":
            v = _enum(body, name, APPROVAL_STATUSES)
        else:  # VersionDescription, SourceId, Options (a JSON *string*), Uri
            v = _str(body, name)
        doc[name] = v


# -- queries -----------------------------------------------------------------------------------
class Query:
    """Typed access to a list operation's query parameters."""

    def __init__(self, params: dict[str, str]) -> None:
        self.params = params

    def get(self, name: str) -> str | None:
        v = self.params.get(name)
        return v if v not in (None, "") else None

    def positive_int(self, name: str, default: int) -> int:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            v = int(raw)
        except ValueError:
            raise invalid(f"The parameter {name} must be an integer, got {raw!r}.") from None
        if v < 1:
            raise invalid(f"The parameter {name} must be at least 1, got {v}.")
        return v

    def json_list(self, name: str) -> list[Any] | None:
        raw = self.get(name)
        if raw is None:
            return None
        try:
            v = jsonbody.loads(raw)
        except ValueError:
            raise invalid(f"The parameter {name} must be a JSON-encoded list.") from None
        if not isinstance(v, list):
            raise invalid(f"The parameter {name} must be a JSON-encoded list.")
        return v


def _contains(haystack: Any, needle: str) -> bool:
    return isinstance(haystack, str) and needle.lower() in haystack.lower()


def _label_match(labels: list[dict[str, str]], needle: str) -> bool:
    return any(_contains(lab["Key"], needle) or _contains(lab["Value"], needle) for lab in labels)


def _compare(actual: Any, operator: str, expected: Any) -> bool:
    if operator == "In":
        options = expected if isinstance(expected, list) else str(expected).split(",")
        return str(actual) in {str(o).strip() for o in options}
    if operator == "Like":
        return _contains(actual, str(expected))
    if actual is None:
        return operator == "NotEqual"
    a, b = actual, expected
    try:  # numbers compare as numbers when both sides read as numbers
        if not isinstance(a, (str, bool)) or not isinstance(b, (str, bool)):
            a, b = float(a), float(b)
    except (TypeError, ValueError):
        a, b = str(actual), str(expected)
    return {
        "Equal": lambda: a == b, "NotEqual": lambda: a != b,
        "LessThan": lambda: a < b, "LessThanOrEqual": lambda: a <= b,
        "GreaterThan": lambda: a > b, "GreaterThanOrEqual": lambda: a >= b,
    }[operator]()


def _order(q: Query) -> bool:
    """True for descending; validates Order and SortBy."""
    order = (q.get("Order") or "ASC").upper()
    if order not in ("ASC", "DESC"):
        raise invalid(f"The parameter Order has an invalid value {q.get('Order')!r}; valid values: ASC, DESC.")
    sort_by = q.get("SortBy")
    if sort_by is not None and sort_by != "GmtCreateTime":
        raise invalid(f"The parameter SortBy has an invalid value {sort_by!r}; only GmtCreateTime is supported.")
    return order == "DESC"


def _page(items: list[dict[str, Any]], q: Query, descending: bool) -> tuple[list[dict[str, Any]], int]:
    number = q.positive_int("PageNumber", 1)
    size = q.positive_int("PageSize", 10)
    # Stable: equal timestamps keep creation order (the store lists oldest first).
    ordered = sorted(items, key=lambda d: d.get("GmtCreateTime", ""), reverse=False)
    if descending:
        ordered.reverse()
    start = (number - 1) * size
    return ordered[start:start + size], len(ordered)


# -- the backend -------------------------------------------------------------------------------
class PaiBackend:
    """Every operation of the route table, as store reads and writes under the vendor's rules."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def setting(self, key: str) -> Any:
        return self.store.setting(PLATFORM, key, DEFAULT_SETTINGS[key])

    # -- lookups ---------------------------------------------------------------
    def _model(self, model_id: str) -> dict[str, Any]:
        doc = self.store.get(PLATFORM, MODEL, model_id)
        if doc is None:
            raise PaiError(self.setting("not_found_status"), MODEL_NOT_FOUND,
                           f"Model {model_id} does not exist.")
        return doc

    def _version(self, model_id: str, version_name: str) -> dict[str, Any]:
        self._model(model_id)
        doc = self.store.get(PLATFORM, VERSION, f"{model_id}:{version_name}")
        if doc is None:
            raise PaiError(self.setting("not_found_status"), VERSION_NOT_FOUND,
                           f"Version {version_name} of model {model_id} does not exist.")
        return doc

    def _versions(self, model_id: str) -> list[dict[str, Any]]:
        return [v for v in self.store.list(PLATFORM, VERSION) if v.get("_ModelId") == model_id]

    @staticmethod
    def render_version(doc: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in doc.items() if not k.startswith("_")}

    def render_model(self, doc: dict[str, Any], with_tags: bool) -> dict[str, Any]:
        out = dict(doc)
        if not with_tags:
            out.pop("Tags", None)
        versions = self._versions(doc["ModelId"])
        if versions:
            latest = max(enumerate(versions), key=lambda iv: (iv[1].get("GmtCreateTime", ""), iv[0]))[1]
            out["LatestVersion"] = self.render_version(latest)
            out["GmtLatestVersionModifiedTime"] = latest.get("GmtModifiedTime")
        return out

    def _identity(self) -> dict[str, str]:
        return {"OwnerId": str(self.setting("owner_id")), "UserId": str(self.setting("user_id"))}

    def _workspace(self, workspace_id: str | None) -> str:
        ws = workspace_id or str(self.setting("default_workspace_id"))
        known = self.setting("workspaces")
        if known and ws not in [str(w) for w in known]:
            raise PaiError(self.setting("not_found_status"), WORKSPACE_NOT_FOUND,
                           f"Workspace {ws} does not exist.")
        return ws

    # -- models ----------------------------------------------------------------
    def create_model(self, body: dict[str, Any]) -> str:
        name = _str(body, "ModelName")
        if name is None:
            raise missing("ModelName")
        _check_model_name(name)
        labels = check_labels(body.get("Labels"), "Labels")
        tags = check_labels(body.get("Tag"), "Tag")
        accessibility = _enum(body, "Accessibility", ACCESSIBILITY) or "PRIVATE"
        doc: dict[str, Any] = {"ModelName": name, "Accessibility": accessibility,
                               "Labels": labels, "Tags": tags}
        for f in MODEL_FIELDS_STR:
            if (v := _str(body, f)) is not None:
                doc[f] = v
        for f in ("OrderNumber", "ParameterSize"):
            if (v := _int(body, f)) is not None:
                doc[f] = v
        if (extra := _obj(body, "ExtraInfo")) is not None:
            doc["ExtraInfo"] = extra
        with self.store.transaction():
            doc["WorkspaceId"] = self._workspace(_str(body, "WorkspaceId"))
            if self.setting("unique_model_names"):
                self._check_unique_name(name, doc["WorkspaceId"], None)
            model_id = new_model_id()
            while self.store.get(PLATFORM, MODEL, model_id) is not None:
                model_id = new_model_id()
            stamp = now_iso()
            doc.update(ModelId=model_id, GmtCreateTime=stamp, GmtModifiedTime=stamp, **self._identity())
            self.store.put(PLATFORM, MODEL, model_id, doc)
        return model_id

    def _check_unique_name(self, name: str, workspace_id: str, model_id: str | None) -> None:
        for other in self.store.list(PLATFORM, MODEL):
            if (other["ModelName"] == name and other.get("WorkspaceId") == workspace_id
                    and other["ModelId"] != model_id):
                raise invalid(f"A model named {name!r} already exists in workspace {workspace_id} "
                              f"({other['ModelId']}).")

    def get_model(self, model_id: str) -> dict[str, Any]:
        return self.render_model(self._model(model_id), with_tags=False)

    def update_model(self, model_id: str, body: dict[str, Any]) -> None:
        with self.store.transaction():
            doc = self._model(model_id)
            changes: dict[str, Any] = {}
            for f in MODEL_UPDATABLE:
                if body.get(f) is None:
                    continue
                if f in ("OrderNumber", "ParameterSize"):
                    changes[f] = _int(body, f)
                elif f == "ExtraInfo":
                    changes[f] = _obj(body, f)
                elif f == "Accessibility":
                    changes[f] = _enum(body, f, ACCESSIBILITY)
                else:
                    changes[f] = _str(body, f)
            _check_model_name(changes.get("ModelName"))
            if "ModelName" in changes and self.setting("unique_model_names"):
                self._check_unique_name(changes["ModelName"], doc.get("WorkspaceId", ""), model_id)
            doc.update(changes)
            doc["GmtModifiedTime"] = now_iso()
            self.store.put(PLATFORM, MODEL, model_id, doc)

    def delete_model(self, model_id: str) -> None:
        with self.store.transaction():
            self._model(model_id)
            versions = self._versions(model_id)
            if versions and self.setting("strict_model_delete"):
                raise invalid(f"Model {model_id} still has {len(versions)} version(s); delete them first.")
            for v in versions:
                self.store.delete(PLATFORM, VERSION, f"{model_id}:{v['VersionName']}")
            self.store.delete(PLATFORM, MODEL, model_id)

    def list_models(self, params: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
        q = Query(params)
        descending = _order(q)
        tag_filter = q.json_list("Tag")
        if tag_filter is not None:
            tag_filter = check_labels(tag_filter, "Tag")
        conditions = q.json_list("Conditions") or []
        for c in conditions:
            if not isinstance(c, dict) or not isinstance(c.get("Column"), str) or "Value" not in c:
                raise invalid("Each item of Conditions must be an object with Column, Operator and Value.")
            if c.get("Operator") not in CONDITION_OPERATORS:
                raise invalid(f"The Operator {c.get('Operator')!r} in Conditions is not supported; valid values: "
                              f"{', '.join(CONDITION_OPERATORS)}.")
        provider = q.get("Provider")
        fuzzy = q.get("Query")
        label = q.get("Label")
        name = q.get("ModelName")

        def keep(m: dict[str, Any]) -> bool:
            if provider is not None:
                if m.get("Provider") != provider:
                    return False
            elif m.get("Provider"):
                return False  # public models of a provider are listed only when asked for
            for f in ("WorkspaceId", "Domain", "Task", "Origin", "ModelType"):
                want = q.get(f)
                if want is not None and m.get(f) != want:
                    return False
            if name is not None and not _contains(m.get("ModelName"), name):
                return False
            if label is not None and not _label_match(m.get("Labels", []), label):
                return False
            if fuzzy is not None and not (
                    any(_contains(m.get(f), fuzzy) for f in ("ModelName", "Domain", "Task"))
                    or _label_match(m.get("Labels", []), fuzzy)):
                return False
            if tag_filter:
                have = {(t["Key"], t["Value"]) for t in m.get("Tags", [])}
                have_keys = {t["Key"] for t in m.get("Tags", [])}
                for t in tag_filter:
                    if t["Value"] == "" and t["Key"] in have_keys:
                        continue
                    if (t["Key"], t["Value"]) not in have:
                        return False
            return all(_compare(m.get(c["Column"]), c["Operator"], c["Value"]) for c in conditions)

        page, total = _page([m for m in self.store.list(PLATFORM, MODEL) if keep(m)], q, descending)
        return [self.render_model(m, with_tags=True) for m in page], total

    def add_model_labels(self, model_id: str, body: dict[str, Any]) -> None:
        labels = check_labels(body.get("Labels"), "Labels")
        with self.store.transaction():
            doc = self._model(model_id)
            doc["Labels"] = merge_labels(doc.get("Labels", []), labels)
            doc["GmtModifiedTime"] = now_iso()
            self.store.put(PLATFORM, MODEL, model_id, doc)

    def delete_model_labels(self, model_id: str, label_keys: str | None) -> None:
        keys = _label_keys(label_keys)
        with self.store.transaction():
            doc = self._model(model_id)
            doc["Labels"] = [lab for lab in doc.get("Labels", []) if lab["Key"] not in keys]
            doc["GmtModifiedTime"] = now_iso()
            self.store.put(PLATFORM, MODEL, model_id, doc)

    # -- versions --------------------------------------------------------------
    def create_version(self, model_id: str, body: dict[str, Any]) -> str:
        uri = _str(body, "Uri")
        if uri is None or uri == "":
            raise missing("Uri")
        if not URI.match(uri):
            raise invalid(f"The parameter Uri {uri!r} must be an http(s):// URL or oss://<bucket>.<endpoint>/<path>.")
        requested = _str(body, "VersionName")
        if requested is not None and not VERSION_NAME.match(requested):
            raise invalid(f"The parameter VersionName {requested!r} must look like major.minor.stage, "
                          "for example 1.1.0 or 2.3.4_beta.")
        labels = check_labels(body.get("Labels"), "Labels")
        doc: dict[str, Any] = {"Uri": uri, "Labels": labels, "SourceType": "Custom"}
        _check_version_fields(body, doc, ("VersionDescription", "FormatType", "FrameworkType", "SourceType",
                                          "SourceId", "ApprovalStatus", "Options", *VERSION_OBJECTS))
        with self.store.transaction():
            self._model(model_id)
            existing = self._versions(model_id)
            names = {v["VersionName"] for v in existing}
            version_name = requested or _next_version_name(names)
            if version_name in names:
                raise invalid(f"Version {version_name} already exists in model {model_id}.")
            stamp = now_iso()
            doc.update(VersionName=version_name, GmtCreateTime=stamp, GmtModifiedTime=stamp,
                       _ModelId=model_id, **self._identity())
            self.store.put(PLATFORM, VERSION, f"{model_id}:{version_name}", doc)
            self._touch_model(model_id)
        return version_name

    def _touch_model(self, model_id: str) -> None:
        """Version changes move the model's GmtModifiedTime too (a guess)."""
        doc = self._model(model_id)
        doc["GmtModifiedTime"] = now_iso()
        self.store.put(PLATFORM, MODEL, model_id, doc)

    def get_version(self, model_id: str, version_name: str) -> dict[str, Any]:
        return self.render_version(self._version(model_id, version_name))

    def update_version(self, model_id: str, version_name: str, body: dict[str, Any]) -> None:
        with self.store.transaction():
            doc = self._version(model_id, version_name)
            _check_version_fields(body, doc, VERSION_UPDATABLE)
            doc["GmtModifiedTime"] = now_iso()
            self.store.put(PLATFORM, VERSION, f"{model_id}:{version_name}", doc)

    def delete_version(self, model_id: str, version_name: str) -> None:
        with self.store.transaction():
            self._version(model_id, version_name)
            self.store.delete(PLATFORM, VERSION, f"{model_id}:{version_name}")
            self._touch_model(model_id)

    def list_versions(self, model_id: str, params: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
        q = Query(params)
        descending = _order(q)
        self._model(model_id)
        label = q.get("Label")

        def keep(v: dict[str, Any]) -> bool:
            for f in ("VersionName", "FormatType", "SourceType", "SourceId", "ApprovalStatus"):
                want = q.get(f)
                if want is not None and v.get(f) != want:
                    return False
            fw = q.get("FrameworkType")
            if fw is not None and str(v.get("FrameworkType", "")).lower() != fw.lower():
                return False
            return label is None or _label_match(v.get("Labels", []), label)

        page, total = _page([v for v in self._versions(model_id) if keep(v)], q, descending)
        return [self.render_version(v) for v in page], total

    def add_version_labels(self, model_id: str, version_name: str, body: dict[str, Any]) -> None:
        labels = check_labels(body.get("Labels"), "Labels")
        with self.store.transaction():
            doc = self._version(model_id, version_name)
            doc["Labels"] = merge_labels(doc.get("Labels", []), labels)
            doc["GmtModifiedTime"] = now_iso()
            self.store.put(PLATFORM, VERSION, f"{model_id}:{version_name}", doc)

    def delete_version_labels(self, model_id: str, version_name: str, label_keys: str | None) -> None:
        keys = _label_keys(label_keys)
        with self.store.transaction():
            doc = self._version(model_id, version_name)
            doc["Labels"] = [lab for lab in doc.get("Labels", []) if lab["Key"] not in keys]
            doc["GmtModifiedTime"] = now_iso()
            self.store.put(PLATFORM, VERSION, f"{model_id}:{version_name}", doc)


def _label_keys(raw: str | None) -> set[str]:
    keys = {k.strip() for k in (raw or "").split(",") if k.strip()}
    if not keys:
        raise missing("LabelKeys")
    return keys


def _next_version_name(existing: set[str]) -> str:
    """``0.1.0`` first; then the highest major.minor among existing names with the minor bumped."""
    parsed = [(int(m.group(1)), int(m.group(2))) for n in existing if (m := VERSION_NAME.match(n))]
    if not parsed:
        return "0.1.0"
    major, minor = max(parsed)
    name = f"{major}.{minor + 1}.0"
    while name in existing:
        minor += 1
        name = f"{major}.{minor + 1}.0"
    return name
