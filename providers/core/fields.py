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
  write_only      the platform never returns it (a password): an import cannot know it, so an
                  unknown old value is not a change
  changes_with    (outputs) the inputs whose in-place update can change this output, or "*" for
                  any update; an output without it keeps its value across an in-place update, so
                  a preview shows it as known and dependents are not shown as replaced

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
    write_only: bool = False
    changes_with: tuple[str, ...] = ()

    def changes_on(self, changed: set[str]) -> bool:
        """Whether an in-place update that changes these inputs can change this output."""
        return "*" in self.changes_with or bool(changed & set(self.changes_with))


def prop(
    default: Any = ...,
    *,
    replace: bool = False,
    secret: bool = False,
    server_default: bool = False,
    unordered: bool = False,
    local: bool = False,
    write_only: bool = False,
    changes_with: str | tuple[str, ...] = (),
    **kwargs: Any,
) -> Any:
    if isinstance(changes_with, str):
        changes_with = (changes_with,)
    marks = {
        k: v
        for k, v in dict(replace=replace, secret=secret, server_default=server_default,
                         unordered=unordered, local=local, write_only=write_only,
                         changes_with=list(changes_with)).items()
        if v
    }
    return Field(default, json_schema_extra={_KEY: marks}, **kwargs)


def marks_of(field: FieldInfo) -> Marks:
    extra = field.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get(_KEY), dict):
        marks = dict(extra[_KEY])
        marks["changes_with"] = tuple(marks.get("changes_with", ()))
        return Marks(**marks)
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
