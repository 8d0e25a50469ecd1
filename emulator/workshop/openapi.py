"""What ``/openapi.json`` says about the two Workshop operations (spec §2-§3, the seed page).

The route reads its body itself (so bad input gets the service's envelope, not FastAPI's 422), so
FastAPI declares nothing; the gateway headers, the session parameters the page lists (``apiToken``,
``roleId``, ``sessionMode``, ``expiredInSeconds``, ``customResourceConfigId``: accepted in the JSON
body or the query string) and the bodies are declared here. Documentation only.
"""

from __future__ import annotations

from typing import Any

_STR: dict[str, Any] = {"type": "string"}
_URL: dict[str, Any] = {"type": "string", "format": "uri"}

SESSION_PARAMETERS: dict[str, dict[str, Any]] = {
    "apiToken": {"type": "string", "description": "from /scc/allocate_token; required (body or query)"},
    "roleId": {"type": "string", "description": "accepted and ignored by model sync"},
    "sessionMode": {"type": "integer", "enum": [10, 20], "description": "accepted and ignored by model sync"},
    "expiredInSeconds": {"type": "integer", "description": "accepted and ignored by model sync"},
    "customResourceConfigId": {"type": "string", "description": "comma-separated; accepted and ignored"},
}
FILE = {"type": "object", "required": ["name", "aliasName", "downloadUrl", "hash", "sizeKb"], "properties": {
    "name": _STR, "aliasName": _STR, "downloadUrl": _URL, "hash": _STR, "sizeKb": {"type": "number"},
    "isPrimary": {"type": "boolean", "description": "at most one per version"}}}
COVER = {"type": "object", "required": ["cover", "coverFile"], "properties": {
    "cover": _URL, "coverFile": {"type": "object", "required": ["width", "height"], "properties": {
        "width": {"type": "integer"}, "height": {"type": "integer"}, "format": _STR}}}}
VERSION = {"type": "object", "required": ["modelVersionId", "name", "baseModel", "covers", "files"], "properties": {
    "modelVersionId": _STR, "name": _STR,
    "baseModel": {"type": "string", "enum": ["v1.4", "v1.5", "v2.0", "v2.1", "vxl_0.9", "vxl_1.0", "vxl_distilled",
                                             "v1.5_lcm", "vxl_1.0_lcm", "vxl_turbo"]},
    "versionDesc": _STR, "triggerWords": {"type": "array", "items": _STR}, "isAutoCollection": {"type": "boolean"},
    "covers": {"type": "array", "items": COVER, "minItems": 1}, "files": {"type": "array", "items": FILE, "minItems": 1}}}
SYNC = {"type": "object", "required": ["modelId", "name", "modelType", "sourceType", "versions"], "properties": {
    **SESSION_PARAMETERS,
    "modelId": _STR, "name": _STR, "modelType": {"type": "string", "enum": ["checkpoint", "lora", "textualinversion", "vae"]},
    "modelDesc": _STR, "source": _URL,
    "sourceType": {"type": "string", "enum": ["liblib", "civitia", "hugging_face", "internal"]},
    "isOriginal": {"type": "boolean"}, "originalCreator": _STR, "originalCreatorHomepage": _URL,
    "versions": {"type": "array", "items": VERSION, "minItems": 1}}}
TOKEN = {"type": "object", "properties": {
    "name": _STR, "tokenExpiredAt": {"type": "integer", "description": "13-digit ms timestamp"},
    "sceneRoleId": _STR}}

_GATEWAY = [{"name": name, "in": "header", "required": name in ("X-Ca-Key", "X-Ca-Signature"), "schema": _STR}
            for name in ("X-Ca-Key", "X-Ca-Signature", "X-Ca-Signature-Headers", "X-Ca-Signature-Method",
                         "X-Ca-Timestamp", "X-Ca-Nonce", "Content-MD5", "X-Ca-Stage")]


def operation(path: str) -> dict[str, Any]:
    """``openapi_extra`` for ``/scc/allocate_token`` or ``/scc/spSdModelSync``."""
    parameters = list(_GATEWAY)
    if path == "/scc/spSdModelSync":
        parameters += [{"name": k, "in": "query", "required": False, "schema": v} for k, v in SESSION_PARAMETERS.items()]
    schema = SYNC if path == "/scc/spSdModelSync" else TOKEN
    return {"parameters": parameters,
            "requestBody": {"required": path == "/scc/spSdModelSync",
                            "content": {"application/json": {"schema": schema}}}}
