"""What ``/openapi.json`` says about the ZStack operations beyond their path parameters.

The routes parse bodies and query strings themselves (so bad input gets RestServer's plain-text 400,
not FastAPI's 422), so FastAPI infers only the path parameters. The bodies (their wrapper keys),
the query parameters (``q`` grammar, paging, ``deleteMode``) and the auth headers are declared here
from the spec (§2, §5, §6, §7) and the Java SDK actions. Documentation only: validation stays in
``models.py``.
"""

from __future__ import annotations

from typing import Any

_STR: dict[str, Any] = {"type": "string"}
_UUID: dict[str, Any] = {"type": "string", "pattern": "^[0-9a-f]{32}$"}
_INT: dict[str, Any] = {"type": "integer"}
_BOOL: dict[str, Any] = {"type": "boolean"}
_LIST: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
_TAGS: dict[str, Any] = {"systemTags": _LIST, "userTags": _LIST}

QUERY: dict[str, dict[str, Any]] = {
    "q": {"type": "array", "items": {"type": "string"},
          "description": "a condition <field><op><value>, op one of != >= <= !?= !~= ~= ?= = > < "
                         "(or '<field> is null' / '<field> not null'); repeat to AND them"},
    "limit": {"type": "integer", "default": 1000}, "start": {"type": "integer", "default": 0},
    "replyWithCount": _BOOL, "count": _BOOL, "sort": {"type": "string", "description": "+field or -field"},
    "fields": {"type": "string", "description": "comma-separated projection"}, "groupBy": _STR,
}
DELETE_QUERY: dict[str, dict[str, Any]] = {
    "deleteMode": {"type": "string", "enum": ["Permissive", "Enforcing"], "default": "Permissive"},
}

CENTER = {"name": _STR, "url": _STR, "description": _STR, "parameters": _STR, "managementIp": _STR,
          "managementPort": _INT, "zoneUuid": _UUID, "storageNetworkUuid": _UUID, "serviceNetworkUuid": _UUID,
          "containerRegistry": _STR, "containerNetwork": _STR, "containerStorageNetwork": _STR,
          "resourceUuid": _UUID, "tagUuids": _LIST}
MODEL = {"name": _STR, "installPath": _STR, "modelCenterUuid": _UUID, "description": _STR, "parameters": _STR,
         "token": _STR, "logo": _STR, "vendor": _STR, "introduction": _STR,
         "size": {"type": "integer", "description": "MiB (a guess: the vendor documents no unit)"},
         "version": _STR, "modelServiceUuids": _LIST, "recommendedGpuNum": _STR, "gpuConstraintDescription": _STR,
         "modelId": _STR, "shareMode": {"type": "string", "enum": ["Public"]}, "defaultModelServiceUuid": _UUID,
         "resourceUuid": _UUID, "tagUuids": _LIST}
MODEL_UPDATE = {k: MODEL[k] for k in ("name", "installPath", "description", "vendor", "parameters", "modelCenterUuid",
                                      "recommendedGpuNum", "gpuConstraintDescription", "modelId",
                                      "defaultModelServiceUuid")}
MODEL_UPDATE.update(modelClassifications=_LIST, clearDefaultModelService=_BOOL)
SERVICE = {"name": _STR, "description": _STR, "yaml": {"type": "string", "description": "opaque to the API"},
           "modelCenterUuid": _UUID, "requestCpu": _INT, "requestMemory": _INT, "gpuComputeCapability": _STR,
           "installPath": _STR, "system": _BOOL, "startCommand": _STR, "containerCommand": _STR,
           "containerArgs": _STR, "pythonVersion": _STR, "condaVersion": _STR, "zoneUuid": _UUID,
           "type": {"type": "string", "enum": ["Endpoint", "FineTune", "ModelEval", "App"], "default": "Endpoint"},
           "source": {"type": "string", "enum": ["Other", "Bentoml", "HuggingFace"], "default": "Other"},
           "framework": _STR, "modelUuids": _LIST,
           "architectureImages": {"type": "array", "items": {"type": "object", "properties": {
               "cpuArchitecture": _STR, "vmImageUuid": _UUID, "dockerImage": _STR}}},
           "supportDistributed": _BOOL, "vendorToSpecUuidsMap": {"type": "object"}, "resourceUuid": _UUID,
           "tagUuids": _LIST}
SERVICE_UPDATE = {k: SERVICE[k] for k in ("name", "description", "yaml", "requestCpu", "requestMemory",
                                          "gpuComputeCapability", "startCommand", "pythonVersion", "type")}
SERVICE_UPDATE.update(dockerImage=_STR, vmImageUuid=_UUID,
                      framework={"type": "string", "enum": ["Other", "Bentoml", "HuggingFace"]})


def _wrapped(key: str, fields: dict[str, Any], required: list[str]) -> dict[str, Any]:
    inner: dict[str, Any] = {"type": "object", "properties": fields}
    if required:
        inner["required"] = required
    return {"type": "object", "required": [key], "properties": {key: inner, **_TAGS}}


BODIES: dict[str, dict[str, Any]] = {
    "login": _wrapped("logInByAccount", {"accountName": _STR, "password": {
        "type": "string", "description": "lower-case hex SHA-512 of the password"}}, ["accountName", "password"]),
    "add_center": _wrapped("param", CENTER, ["name", "url", "managementIp", "managementPort"]),
    "update_center": _wrapped("updateModelCenter", {k: v for k, v in CENTER.items()
                                                    if k not in ("zoneUuid", "resourceUuid", "tagUuids")}, []),
    "add_model": _wrapped("param", MODEL, ["name", "installPath", "modelCenterUuid"]),
    "update_model": _wrapped("updateModel", MODEL_UPDATE, []),
    "add_service": _wrapped("param", SERVICE, ["name", "yaml", "modelCenterUuid", "requestCpu", "requestMemory",
                                                "installPath", "startCommand"]),
    "update_service": _wrapped("updateModelService", SERVICE_UPDATE, []),
}

_AUTH = [
    {"name": "Authorization", "in": "header", "required": False, "schema": _STR,
     "description": "OAuth <session uuid>, or ZStack <AccessKeyId>:<signature> with Date"},
    {"name": "Date", "in": "header", "required": False, "schema": _STR, "description": "with AccessKey auth"},
]
_JOB_HEADERS = [
    {"name": "X-Job-UUID", "in": "header", "required": False, "schema": {"type": "string", "minLength": 32,
                                                                         "maxLength": 32}},
    {"name": "X-Web-Hook", "in": "header", "required": False, "schema": _STR},
]


def operation(kind: str, body: str | None = None, authenticated: bool = True) -> dict[str, Any]:
    """``openapi_extra`` for one route; ``kind`` is query, get, delete, job (async) or plain."""
    parameters: list[dict[str, Any]] = []
    if kind == "query":
        parameters += [{"name": k, "in": "query", "required": False, "schema": v} for k, v in QUERY.items()]
    if kind == "delete":
        parameters += [{"name": k, "in": "query", "required": False, "schema": v} for k, v in DELETE_QUERY.items()]
    if authenticated:
        parameters += _AUTH
    if kind in ("delete", "job"):
        parameters += _JOB_HEADERS
    extra: dict[str, Any] = {"parameters": parameters}
    if body is not None:
        extra["requestBody"] = {"required": True, "content": {"application/json": {"schema": BODIES[body]}}}
    return extra
