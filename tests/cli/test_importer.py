"""`aimodels import`: the declaration written after an import uses the project's typed classes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from aimodels.importer import declaration, handler_of
from aimodels.pulumi_cli import UserError

SIG = "4dabf18193072939515e22adb298388d"


def test_declaration_uses_the_typed_class_and_leaves_out_defaults_and_knobs() -> None:
    code = declaration(handler_of("pulumi-python:dynamic/zstack:Model"), "qwen-model", {
        "name": "qwen", "install_path": "10.0.0.12:/ai/mc/qwen", "model_center_uuid": "a" * 32,
        "description": "d", "model_service_uuids": [], "delete_mode": "Permissive"})
    namespace: dict = {"zstack": SimpleNamespace(Model=lambda *name, **inputs: inputs)}  # what the class receives
    exec(compile(code.replace("from providers import zstack\n", ""), "<code>", "exec"), namespace)
    assert code.startswith("from providers import zstack\n\nqwen_model = zstack.Model(\n    'qwen-model',\n")
    assert namespace["qwen_model"] == {"name": "qwen", "install_path": "10.0.0.12:/ai/mc/qwen",
                                       "model_center_uuid": "a" * 32, "description": "d"}
    # write-only values the platform never returns are named, to be declared as created
    for field in ("token", "user_tags", "tag_uuids", "system_tags", "share_mode", "default_model_service_uuid"):
        assert f"# {field}=...," in code
    assert "delete_mode" not in code and "wait_timeout_s" not in code


def test_secrets_are_never_printed() -> None:
    code = declaration(handler_of("esd:User"), "engineer", {"username": "dev-engineer", "roles": ["r"],
                                                           "password": {SIG: "x", "value": "hunter2"}})
    assert "hunter2" not in code and "password=...,  # secret" in code


def test_unknown_and_unimportable_types_are_one_line() -> None:
    with pytest.raises(UserError, match="not a resource type of this project"):
        handler_of("esd:Nothing")
    with pytest.raises(UserError, match="workshop:ModelSync cannot be imported: .*no read API"):
        handler_of("workshop:ModelSync")
