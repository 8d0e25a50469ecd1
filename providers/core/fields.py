"""Behaviour declared on the field, terraform-plugin-framework style.

    name: str = prop(replace=True, min_length=1, description="...")
    password: str = prop(secret=True)
    min_instances: int | None = prop(None, server_default=True)

Marks:
  replace         a change forces a replacement (the platform cannot change it in place)
  secret          the engine stores the value encrypted (inputs and outputs)
  server_default  leaving it unset means "whatever the platform chose": no diff while unset
  unordered       a list compared as a set: canonicalised (sorted, de-duplicated) in check
  local           steers the provider only (a wait deadline); changing it needs no API call

A field that exists only on the Outputs model is output-only by construction.
Any other keyword goes to ``pydantic.Field`` (constraints, description, alias...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo

_KEY = "x-pulumi"


@dataclass(frozen=True)
class Marks:
    replace: bool = False
    secret: bool = False
    server_default: bool = False
    unordered: bool = False
    local: bool = False


def prop(
    default: Any = ...,
    *,
    replace: bool = False,
    secret: bool = False,
    server_default: bool = False,
    unordered: bool = False,
    local: bool = False,
    **kwargs: Any,
) -> Any:
    marks = {
        k: v
        for k, v in dict(replace=replace, secret=secret, server_default=server_default,
                         unordered=unordered, local=local).items()
        if v
    }
    return Field(default, json_schema_extra={_KEY: marks}, **kwargs)


def marks_of(field: FieldInfo) -> Marks:
    extra = field.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get(_KEY), dict):
        return Marks(**extra[_KEY])
    return Marks()


class Inputs(BaseModel):
    """What the user sets. Unknown properties are rejected by name."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Outputs(BaseModel):
    """What the platform returns (output-only). Extra keys in stored state are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class RuleError(ValueError):
    """Raise from a model validator to blame a specific property: ``raise RuleError("name", "…")``."""

    def __init__(self, prop: str, message: str) -> None:
        super().__init__(message)
        self.prop = prop
