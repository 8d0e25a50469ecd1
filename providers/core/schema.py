"""The package schema the provider server answers GetSchema with.

The engine's own tools read a provider's schema: ``pulumi import`` generates the code to paste
from it. Every resource of this project is a Python dynamic resource, so the package is
``pulumi-python`` and a type token is ``pulumi-python:dynamic/<platform>:<Kind>``. The schema
maps that package onto this project's typed classes: Python package ``providers`` and module
``dynamic/<platform>`` -> ``<platform>``, so generated code reads
``providers.esd.Role("operators", name=..., permissions=[...])``.

Types are plain: strings, numbers, booleans, lists and maps; nested objects (a Fabric version, a
Workshop file) are ``Any`` and appear as dicts, which the typed classes accept.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from providers.core.fields import marks_of
from providers.core.handler import HANDLERS, Handler

PACKAGE = "pulumi-python"
PLATFORMS = ("esd", "pai", "fabric", "zstack", "workshop")
ANY = {"$ref": "pulumi.json#/Any"}
_SCALARS = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}


def type_token(handler: type[Handler]) -> str:
    """``esd:Role`` -> ``pulumi-python:dynamic/esd:Role``: the type the engine records."""
    platform, _, kind = handler.type_token.partition(":")
    return f"{PACKAGE}:dynamic/{platform}:{kind}"


def _type(spec: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON-schema fragment as a Pulumi schema type."""
    options = [s for s in spec.get("anyOf", []) if s.get("type") != "null"]
    if options:
        return _type(options[0]) if len(options) == 1 else dict(ANY)
    kind = spec.get("type")
    if kind in _SCALARS:
        return {"type": _SCALARS[kind]}
    if kind == "array":
        return {"type": "array", "items": _type(spec.get("items") or {})}
    if kind == "object" and isinstance(spec.get("additionalProperties"), dict):
        return {"type": "object", "additionalProperties": _type(spec["additionalProperties"])}
    if "enum" in spec or "const" in spec:
        values = spec.get("enum") or [spec.get("const")]
        if all(isinstance(v, str) for v in values):
            return {"type": "string"}
    return dict(ANY)


def _properties(model: Any) -> dict[str, dict[str, Any]]:
    specs = model.model_json_schema().get("properties", {})
    out = {}
    for name, field in model.model_fields.items():
        prop = _type(specs.get(name, {}))
        if field.description:
            prop["description"] = field.description
        if marks_of(field).secret:
            prop["secret"] = True
        out[name] = prop
    return out


def resource_schema(handler: type[Handler]) -> dict[str, Any]:
    inputs = _properties(handler.Inputs)
    outputs = _properties(handler.Outputs)
    doc = " ".join((handler.__doc__ or "").split())
    return {
        "description": f"{handler.type_token}. {doc}".strip(),
        "inputProperties": inputs,
        "requiredInputs": sorted(n for n, f in handler.Inputs.model_fields.items() if f.is_required()),
        "properties": {**inputs, **outputs},
    }


def package_schema(version: str) -> dict[str, Any]:
    for platform in PLATFORMS:
        importlib.import_module(f"providers.{platform}")
    handlers = sorted((h for h in HANDLERS.values() if h.__module__.startswith("providers.")),
                      key=lambda h: h.type_token)
    platforms = sorted({h.type_token.partition(":")[0] for h in handlers})
    return {
        "name": PACKAGE,
        "version": version,
        "description": "This project's Python dynamic resources (providers.<platform>)",
        "language": {"python": {"packageName": "providers",
                                "moduleNameOverrides": {f"dynamic/{p}": p for p in platforms}}},
        "resources": {type_token(h): resource_schema(h) for h in handlers},
    }


def schema_text(version: str) -> str:
    return json.dumps(package_schema(version), sort_keys=True)
