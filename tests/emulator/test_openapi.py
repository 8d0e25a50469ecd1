"""/openapi.json describes every vendor operation the emulator serves, validly.

Issue 8: 12 PAI operations used path templates without declaring their path parameters (an
invalid OpenAPI document), and no PAI or Fabric body or query parameter was declared at all.
The expected query parameters below come from the specs' route tables (PAI §2-§4, Fabric §2-§3.5).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.emulator_process import Emulator

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}

PAI_LIST_COMMON = {"PageNumber", "PageSize", "Order", "SortBy"}
PAI_QUERY = {
    ("get", "/pai/api/v1/models"): PAI_LIST_COMMON | {
        "WorkspaceId", "ModelName", "Label", "Provider", "Domain", "Task", "Origin", "ModelType", "Query",
        "Collections", "Tag", "Conditions"},
    ("get", "/pai/api/v1/models/{ModelId}/versions"): PAI_LIST_COMMON | {
        "VersionName", "FormatType", "FrameworkType", "SourceType", "SourceId", "Label", "ApprovalStatus"},
    ("delete", "/pai/api/v1/models/{ModelId}/labels"): {"LabelKeys"},
    ("delete", "/pai/api/v1/models/{ModelId}/versions/{VersionName}/labels"): {"LabelKeys"},
}
PAI_BODY = {
    ("post", "/pai/api/v1/models"): {"ModelName"},
    ("put", "/pai/api/v1/models/{ModelId}"): set(),
    ("post", "/pai/api/v1/models/{ModelId}/labels"): set(),
    ("post", "/pai/api/v1/models/{ModelId}/versions"): {"Uri"},
    ("put", "/pai/api/v1/models/{ModelId}/versions/{VersionName}"): set(),
    ("post", "/pai/api/v1/models/{ModelId}/versions/{VersionName}/labels"): set(),
}
FABRIC_MODELS = "/fabric/v1/workspaces/{workspace_id}/models"
FABRIC_QUERY = {
    ("get", FABRIC_MODELS): {"offset", "limit", "name", "id", "type", "visibility", "sort_by", "order_by"},
    ("get", FABRIC_MODELS + "/{model_id}/versions"): {"offset", "limit", "version_id", "name"},
    ("get", "/fabric/v1/base-models"): {"offset", "limit"},
}
FABRIC_BODY = {
    ("post", FABRIC_MODELS): {"name", "type", "version"},
    ("put", FABRIC_MODELS + "/{model_id}"): set(),
    ("post", "/fabric/v3/auth/tokens"): {"auth"},
}


@pytest.fixture(scope="module")
def spec(emulator: Emulator) -> dict[str, Any]:
    r = httpx.get(f"{emulator.url}/openapi.json", timeout=30)
    assert r.status_code == 200, r.text[:500]
    return r.json()


def operations(spec: dict[str, Any], prefix: str = "/") -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in spec["paths"].items() if path.startswith(prefix)
            for method, op in item.items() if method in METHODS]


def params(op: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in op.get("parameters", []) if p["in"] == where}


def test_every_path_parameter_is_declared(spec: dict[str, Any]) -> None:
    """OpenAPI 3: each {name} in a path template is a required ``in: path`` parameter of every operation."""
    missing = []
    for method, path, op in operations(spec):
        declared = params(op, "path")
        for name in re.findall(r"{([^}:]+)", path):
            if name not in declared or declared[name].get("required") is not True:
                missing.append(f"{method.upper()} {path}: {name}")
        for name in declared:
            if f"{{{name}}}" not in path and f"{{{name}:" not in path:
                missing.append(f"{method.upper()} {path}: declares unknown path parameter {name}")
    assert not missing, "\n".join(missing)


def test_operation_ids_are_unique(spec: dict[str, Any]) -> None:
    ids = [op.get("operationId") for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_all_vendor_operations_are_documented(spec: dict[str, Any]) -> None:
    pai = {(m, p) for m, p, _ in operations(spec, "/pai/")}
    assert len(pai) == 14, sorted(pai)
    fabric = {(m, p) for m, p, _ in operations(spec, "/fabric/")}
    assert fabric == {("post", "/fabric/v3/auth/tokens"), ("get", "/fabric/v1/base-models"),
                      ("post", FABRIC_MODELS), ("get", FABRIC_MODELS), ("put", FABRIC_MODELS + "/{model_id}"),
                      ("delete", FABRIC_MODELS + "/{model_id}"), ("get", FABRIC_MODELS + "/{model_id}/versions"),
                      ("delete", FABRIC_MODELS + "/{model_id}/versions/{version_id}")}, sorted(fabric)


@pytest.mark.parametrize("table", [PAI_QUERY, FABRIC_QUERY], ids=["pai", "fabric"])
def test_query_parameters_are_declared(spec: dict[str, Any], table: dict[tuple[str, str], set[str]]) -> None:
    for (method, path), expected in table.items():
        op = spec["paths"][path][method]
        assert set(params(op, "query")) == expected, (method, path)
        assert all(p.get("required") is False for p in params(op, "query").values())


@pytest.mark.parametrize("table", [PAI_BODY, FABRIC_BODY], ids=["pai", "fabric"])
def test_request_bodies_are_declared(spec: dict[str, Any], table: dict[tuple[str, str], set[str]]) -> None:
    for (method, path), required in table.items():
        op = spec["paths"][path][method]
        schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        assert schema and schema.get("type") == "object" and schema.get("properties"), (method, path, op)
        assert set(schema.get("required", [])) == required, (method, path)
        assert required <= set(schema["properties"]), (method, path)


def test_vendor_operations_declare_their_credentials(spec: dict[str, Any]) -> None:
    """PAI and Fabric operations name their auth headers, as ESD's do (x-api-key)."""
    for method, path, op in operations(spec, "/pai/"):
        assert {"Authorization", "x-acs-action", "x-acs-version"} <= set(params(op, "header")), (method, path)
    for method, path, op in operations(spec, "/fabric/v1/"):
        assert {"X-Auth-Token", "Authorization"} <= set(params(op, "header")), (method, path)
