"""What ``/openapi.json`` says about the Fabric and IAM token operations beyond their path parameters.

The routes parse query strings and bodies themselves (so a bad value gets the vendor's envelope, not
FastAPI's 422), so FastAPI only infers the path parameters; the query parameters, bodies and auth
headers are declared here from the spec (§2 route table, §3.1/§3.3 bodies, §3.5 queries, §7 auth).
Documentation only: validation stays in ``models.py`` / ``iam.py``.
"""

from __future__ import annotations

from typing import Any

_STR: dict[str, Any] = {"type": "string"}
_NAME: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 64}
_PAGE: dict[str, Any] = {
    "offset": {"type": "integer", "minimum": 0, "maximum": 1_000_000_000, "default": 0},
    "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
}
_ID: dict[str, Any] = {"type": "string", "minLength": 32, "maxLength": 36}

VERSION_INPUT: dict[str, Any] = {
    "type": "object", "required": ["name"],
    "properties": {
        "name": _NAME, "description": _STR,
        "config": {"type": "object", "properties": {"llm_model_config": {
            "type": "object", "required": ["base_model_type"],
            "properties": {"base_model_type": {"type": "string", "description": "a ListBaseModels value"},
                           "model_path": {"type": "string", "description": "obs://<bucket>/<path>"},
                           "local_model_path": _STR}}}},
    },
}

QUERIES: dict[str, dict[str, Any]] = {
    "list_models": {**_PAGE, "name": {"type": "string", "minLength": 1, "maxLength": 128},
                    "id": _ID, "type": {"type": "string", "minLength": 1, "maxLength": 128},
                    "visibility": {"type": "string", "enum": ["PRIVATE", "PUBLIC", "ALL"]},
                    "sort_by": {"type": "string", "enum": ["CREATE_TIME", "UPDATE_TIME", "NAME"],
                                "default": "CREATE_TIME"},
                    "order_by": {"type": "string", "enum": ["ASC", "DESC"], "default": "DESC"}},
    "list_versions": {**_PAGE, "version_id": _ID, "name": {"type": "string", "minLength": 4, "maxLength": 32}},
    "list_base_models": dict(_PAGE),
}

BODIES: dict[str, tuple[bool, dict[str, Any]]] = {
    "create_model": (True, {"type": "object", "required": ["name", "type", "version"], "properties": {
        "name": _NAME, "description": {"type": "string", "maxLength": 1024},
        "type": {"type": "string", "enum": ["LLM_MODEL"]}, "version": VERSION_INPUT}}),
    "update_model": (True, {"type": "object", "properties": {
        "name": _NAME, "description": {"type": "string", "maxLength": 1024},
        "current_version_id": _ID, "version": {**VERSION_INPUT, "description": "adds a version"}}}),
    "create_token": (True, {"type": "object", "required": ["auth"], "properties": {"auth": {
        "type": "object", "required": ["identity", "scope"], "properties": {
            "identity": {"type": "object", "properties": {
                "methods": {"type": "array", "items": {"type": "string", "enum": ["password"]}},
                "password": {"type": "object", "properties": {"user": {"type": "object", "properties": {
                    "name": _STR, "password": {"type": "string", "format": "password"},
                    "domain": {"type": "object", "properties": {"name": _STR, "id": _STR}}}}}}}},
            "scope": {"type": "object", "properties": {"project": {
                "type": "object", "properties": {"name": _STR, "id": _STR}}}}}}}}),
}

_AUTH_HEADERS = [
    {"name": "X-Auth-Token", "in": "header", "required": False, "schema": _STR,
     "description": "an IAM token (POST /fabric/v3/auth/tokens); or sign with AK/SK instead"},
    {"name": "Authorization", "in": "header", "required": False, "schema": _STR,
     "description": "SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<a;b>, Signature=<hex>"},
    {"name": "X-Sdk-Date", "in": "header", "required": False, "schema": _STR,
     "description": "YYYYMMDDTHHMMSSZ, with AK/SK"},
    {"name": "X-Project-Id", "in": "header", "required": False, "schema": _STR},
]


def operation(name: str, authenticated: bool = True) -> dict[str, Any]:
    """``openapi_extra`` for one route (FastAPI adds the path parameters it infers)."""
    parameters = [{"name": k, "in": "query", "required": False, "schema": v} for k, v in QUERIES.get(name, {}).items()]
    if authenticated:
        parameters += _AUTH_HEADERS
    extra: dict[str, Any] = {"parameters": parameters}
    if name in BODIES:
        required, schema = BODIES[name]
        extra["requestBody"] = {"required": required, "content": {"application/json": {"schema": schema}}}
    return extra
