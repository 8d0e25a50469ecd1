"""``aimodels import``: adopt an existing platform object into a stack and write its declaration.

    aimodels import esd:Role operators my-role --stack dev [--output adopted.py]

Runs ``pulumi import pulumi-python:dynamic/<platform>:<Kind> <name> <id>`` (the provider reads the
object by id), then reads the imported inputs back from the stack's state and prints the
declaration with the project's typed class, ready to paste into stacks/blocks/<platform>.py:

    operators = esd.Role("operators", name="dev-operators", permissions=[...])

Values the platform never returns (write-only inputs: a password, a download token, tags) are not
in the state; the declaration lists them as comments to fill in, and declaring them does not
force a replacement. Secret values are never printed.
"""

from __future__ import annotations

import keyword
import pprint
import re
from typing import Any

from aimodels.pulumi_cli import Pulumi, UserError

PACKAGE = "pulumi-python:dynamic/"
SIG = "4dabf18193072939515e22adb298388d"


def handler_of(type_token: str) -> Any:
    """The handler of ``esd:Role`` (or ``pulumi-python:dynamic/esd:Role``), or a UserError."""
    from providers.core.handler import HANDLERS, handler_for

    token = type_token[len(PACKAGE):] if type_token.startswith(PACKAGE) else type_token
    handler = handler_for(token) if re.fullmatch(r"[a-z]+:[A-Z][A-Za-z]*", token) else None
    if handler is None:
        known = sorted(t for t, h in HANDLERS.items() if h.__module__.startswith("providers."))
        raise UserError(f"{type_token!r} is not a resource type of this project (known: {', '.join(known)})")
    if handler.import_refusal:
        raise UserError(f"{token} cannot be imported: {handler.import_refusal}")
    return handler


def _literal(value: Any, indent: int) -> str:
    text = pprint.pformat(value, width=100 - indent, sort_dicts=True)
    return text.replace("\n", "\n" + " " * indent)


def declaration(handler: Any, name: str, inputs: dict[str, Any]) -> str:
    """Python source declaring the imported object with its typed class."""
    from providers.core.fields import marks_of

    platform, _, kind = handler.type_token.partition(":")
    fields = handler.Inputs.model_fields
    var = re.sub(r"\W", "_", name).strip("_").lower() or "imported"
    if var[0].isdigit() or keyword.iskeyword(var):
        var = f"imported_{var}"
    lines = [f"from providers import {platform}", "", f"{var} = {platform}.{kind}(", f"    {name!r},"]
    missing = []
    for field, info in fields.items():
        marks = marks_of(info)
        if marks.local:
            continue  # a knob of the provider (a wait deadline): the default is fine
        if field not in inputs:
            if info.is_required() or marks.write_only:
                missing.append(field)
            continue
        value = inputs[field]
        if marks.secret or (isinstance(value, dict) and SIG in value):
            lines.append(f"    {field}=...,  # secret: pass it from config (pulumi.Config().require_secret)")
            continue
        if value == info.default or (value in ([], {}) and info.default in ([], {})):
            continue  # the default: nothing to declare
        lines.append(f"    {field}={_literal(value, 4 + len(field) + 1)},")
    for field in missing:
        lines.append(f"    # {field}=...,  # not readable from the platform: declare it as created")
    lines.append(")")
    return "\n".join(lines) + "\n"


def run_import(pulumi: Pulumi, stack: str, type_token: str, name: str, id: str,
               config_args: list[str] | None = None) -> str:
    """Import the object into ``stack`` and return its declaration."""
    handler = handler_of(type_token)
    engine_type = PACKAGE + handler.type_token
    pulumi.run(["import", "--yes", "--stack", stack, "--generate-code=false", "--protect=false",
                *(config_args or []), engine_type, name, id], what=f"pulumi import {engine_type} {name} {id}")
    deployment = pulumi.export(stack)
    for res in deployment.get("resources") or []:
        if res.get("type") == engine_type and res.get("urn", "").endswith(f"::{name}"):
            inputs = {k: v for k, v in (res.get("inputs") or {}).items() if not k.startswith("__")}
            return declaration(handler, name, inputs)
    raise UserError(f"pulumi import reported success but stack {stack} has no {engine_type} named {name}")
