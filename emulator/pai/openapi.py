"""What ``/openapi.json`` says about the 14 PAI operations: path, query, header and body parameters.

The routes read the raw request themselves (the signature covers the raw bytes, and errors must come
back in the vendor envelope instead of FastAPI's 422), so FastAPI cannot infer any of this; it is
declared here from the spec's route table (§2), bodies (§3.1, §3.3, §4.1, §4.3) and list queries
(§3.4, §4.4). Documentation only: validation stays in ``models.py``.
"""

from __future__ import annotations

import re
from typing import Any

from emulator.pai.models import ACCESSIBILITY, APPROVAL_STATUSES, FORMAT_TYPES, FRAMEWORK_TYPES, SOURCE_TYPES

_STR: dict[str, Any] = {"type": "string"}
_INT: dict[str, Any] = {"type": "integer", "format": "int64"}
_OBJ: dict[str, Any] = {"type": "object", "additionalProperties": True}
_LABELS: dict[str, Any] = {"type": "array", "items": {
    "type": "object", "properties": {"Key": _STR, "Value": _STR}, "required": ["Key"]}}


def _enum(values: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


_MODEL_FIELDS: dict[str, Any] = {
    "ModelName": {"type": "string", "minLength": 1, "maxLength": 127},
    "ModelDescription": _STR, "Accessibility": _enum(ACCESSIBILITY), "Origin": _STR, "Domain": _STR,
    "Task": _STR, "ModelDoc": _STR, "OrderNumber": _INT, "ModelType": _STR, "ExtraInfo": _OBJ,
    "ParameterSize": _INT,
}
_VERSION_UPDATABLE: dict[str, Any] = {
    "VersionDescription": _STR, "ApprovalStatus": _enum(APPROVAL_STATUSES), "SourceType": _enum(SOURCE_TYPES),
    "SourceId": _STR, "InferenceSpec": _OBJ, "TrainingSpec": _OBJ, "EvaluationSpec": _OBJ,
    "CompressionSpec": _OBJ, "DistillationSpec": _OBJ, "ExtraInfo": _OBJ,
    "Metrics": {**_OBJ, "description": "serialised form at most 8192 bytes"},
    "Options": {"type": "string", "description": "a JSON document as a string"},
}


def _body(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


BODIES: dict[str, dict[str, Any]] = {
    "CreateModel": _body({**_MODEL_FIELDS, "WorkspaceId": _STR, "Labels": _LABELS, "Tag": _LABELS}, ("ModelName",)),
    "UpdateModel": _body(_MODEL_FIELDS),
    "CreateModelLabels": _body({"Labels": _LABELS}),
    "CreateModelVersion": _body({
        "Uri": {"type": "string", "description": "http(s)://... or oss://<bucket>.<endpoint>/<path>"},
        "VersionName": {"type": "string", "pattern": r"^\d+\.\d+\.\d[A-Za-z0-9_]*$"},
        "Labels": _LABELS, "FormatType": _enum(FORMAT_TYPES),
        "FrameworkType": {**_enum(FRAMEWORK_TYPES), "description": "matched case-insensitively"},
        **_VERSION_UPDATABLE}, ("Uri",)),
    "UpdateModelVersion": _body(_VERSION_UPDATABLE),
    "CreateModelVersionLabels": _body({"Labels": _LABELS}),
}

_PAGING = {
    "PageNumber": {"type": "integer", "minimum": 1, "default": 1},
    "PageSize": {"type": "integer", "minimum": 1, "default": 10},
    "Order": {"type": "string", "enum": ["ASC", "DESC"], "default": "ASC"},
    "SortBy": {"type": "string", "enum": ["GmtCreateTime"]},
}
_JSON_LIST = {"type": "string", "description": "a JSON-encoded list"}

QUERIES: dict[str, dict[str, Any]] = {
    "ListModels": {**_PAGING, **{k: _STR for k in (
        "WorkspaceId", "ModelName", "Label", "Provider", "Domain", "Task", "Origin", "ModelType", "Query")},
        "Collections": {"type": "string", "description": "comma-separated"},
        "Tag": {**_JSON_LIST, "description": "JSON-encoded [{Key, Value}]"},
        "Conditions": {**_JSON_LIST, "description": "JSON-encoded [{Column, Operator, Value}]"}},
    "ListModelVersions": {**_PAGING, **{k: _STR for k in (
        "VersionName", "FormatType", "FrameworkType", "SourceType", "SourceId", "Label", "ApprovalStatus")}},
    "DeleteModelLabels": {"LabelKeys": {"type": "string", "description": "comma-separated label keys"}},
    "DeleteModelVersionLabels": {"LabelKeys": {"type": "string", "description": "comma-separated label keys"}},
}

_HEADERS = [
    {"name": "Authorization", "in": "header", "required": True, "schema": _STR,
     "description": "ACS3-HMAC-SHA256 Credential=...,SignedHeaders=...,Signature=... (or legacy acs AK:sig)"},
    {"name": "x-acs-action", "in": "header", "required": True, "schema": _STR},
    {"name": "x-acs-version", "in": "header", "required": True, "schema": {"type": "string", "enum": ["2021-02-04"]}},
    {"name": "x-acs-date", "in": "header", "required": False, "schema": _STR},
    {"name": "x-acs-signature-nonce", "in": "header", "required": False, "schema": _STR},
    {"name": "x-acs-content-sha256", "in": "header", "required": False, "schema": _STR},
]


def operation(path: str, action: str) -> dict[str, Any]:
    """``openapi_extra`` for one route."""
    parameters = [{"name": name, "in": "path", "required": True, "schema": _STR}
                  for name in re.findall(r"{(\w+)}", path)]
    parameters += [{"name": name, "in": "query", "required": False, "schema": schema}
                   for name, schema in QUERIES.get(action, {}).items()]
    parameters += _HEADERS
    extra: dict[str, Any] = {"operationId": action, "parameters": parameters,
                             "responses": {"200": {"description": "JSON with RequestId; errors in the "
                                                   "{RequestId, HostId, Code, Message} envelope"}}}
    if action in BODIES:
        extra["requestBody"] = {"required": action not in ("UpdateModel", "UpdateModelVersion"),
                                "content": {"application/json": {"schema": BODIES[action]}}}
    return extra
