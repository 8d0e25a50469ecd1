"""The framework behind the project's provider server, without an engine: detailed diffs and
stables, provider-side previews, partial failures under either server, import by type, custom
deadlines. A toy handler keeps these tests about the framework (the platforms have their own)."""

from __future__ import annotations

import time

import pytest

from providers.core import (
    Created,
    CreatedButFailed,
    DynamicProvider,
    Handler,
    Inputs,
    Observed,
    Outputs,
    Poll,
    ResourceError,
    WaitTimeout,
    prop,
    runtime,
    wait_for,
)
from providers.core.handler import handler_for
from providers.core.resource import INIT_ERROR_KEY, UNKNOWN
from providers.core.server import _type_token


class ToyInputs(Inputs):
    name: str = prop(replace=True)
    size: int = prop(1)
    enabled: bool = prop(True)
    tags: list[str] = prop([], unordered=True)
    secret: str | None = prop(None, secret=True, write_only=True)
    note: str | None = None


class ToyOutputs(Outputs):
    toy_id: str | None = None
    status: str | None = prop(None, changes_with="enabled")
    modified: str | None = prop(None, changes_with="*")


cleaned: list[str] = []


class ToyHandler(Handler[ToyInputs, ToyOutputs]):
    Inputs, Outputs = ToyInputs, ToyOutputs
    type_token = "toy:Thing"

    def create(self, inputs: ToyInputs) -> Created[ToyOutputs]:
        if inputs.name == "fails":
            raise CreatedButFailed("toy:Thing fails reached Failed: no capacity", id="t-1",
                                   outputs=ToyOutputs(toy_id="t-1", status="Failed"),
                                   cleanup=lambda: cleaned.append("t-1"))
        return Created("t-2", ToyOutputs(toy_id="t-2", status="On"))

    def read(self, id, inputs, outputs):
        if id == "missing":
            return None
        return Observed(ToyInputs(name="found", size=3), ToyOutputs(toy_id=id, status="On"))


class SealedHandler(ToyHandler):
    type_token = "toy:Sealed"
    import_refusal = "the platform has no read API"


OLD = {"name": "a", "size": 1, "enabled": True, "tags": ["x"], "secret": "s1",
       "toy_id": "t-2", "status": "On", "modified": "monday"}


def test_diff_names_each_change_and_what_stays():
    p = DynamicProvider(ToyHandler)
    d = p.diff("t-2", OLD, {**OLD, "size": 2, "enabled": False, "tags": ["x", "y"]})
    assert d.changes and d.replaces == []
    assert d.detailed == {"size": "update", "enabled": "update", "tags": "update"}
    # unchanged inputs and outputs the update cannot change are stable; status follows enabled
    assert d.stables == ["name", "note", "secret", "toy_id"]


def test_diff_marks_replacements_and_additions():
    p = DynamicProvider(ToyHandler)
    d = p.diff("t-2", OLD, {**OLD, "name": "b", "note": "n"})
    assert d.replaces == ["name"] and d.stables == []
    assert d.detailed == {"name": "update-replace", "note": "add"}
    assert p.diff("t-2", {**OLD, "note": "n"}, OLD).detailed == {"note": "delete"}


def test_defaults_never_show_as_removed_and_wire_doubles_are_no_change():
    p = DynamicProvider(ToyHandler)
    wire = {k: v for k, v in OLD.items() if k not in ("enabled", "tags")}  # defaults dropped on the wire
    news = p.check({}, {"name": "a", "secret": "s1"}).inputs
    assert p.diff("t-2", {**wire, "size": 1.0}, {**news, "tags": [], "enabled": True}).changes is False


def test_write_only_value_unknown_after_import_is_not_a_change_but_later_changes_are():
    p = DynamicProvider(ToyHandler)
    imported = {k: v for k, v in OLD.items() if k != "secret"}
    assert p.diff("t-2", imported, OLD).changes is False
    olds = p.with_write_only(imported, {"secret": "s1"})
    assert p.diff("t-2", olds, {**OLD, "secret": "s2"}).detailed == {"secret": "update"}


def test_previews_keep_what_up_keeps():
    p = DynamicProvider(ToyHandler)
    state = p.preview_update(OLD, {**OLD, "size": 5})
    assert state["toy_id"] == "t-2" and state["status"] == "On" and state["modified"] == UNKNOWN
    state = p.preview_update(OLD, {**OLD, "enabled": False})
    assert state["status"] == UNKNOWN and state["enabled"] is False
    created = p.preview_create({"name": "n", "size": 1, "__provider": "x"})
    assert created["name"] == "n" and created["toy_id"] == UNKNOWN and "__provider" not in created


def test_failed_create_under_the_stock_server_cleans_up(monkeypatch):
    monkeypatch.setattr(runtime, "partial_state_supported", False)
    cleaned.clear()
    with pytest.raises(ResourceError) as err:
        DynamicProvider(ToyHandler).create({"name": "fails"})
    assert cleaned == ["t-1"]
    assert "no capacity" in str(err.value) and "t-1 was removed again" in str(err.value)


def test_failed_create_under_the_project_server_is_recorded(monkeypatch):
    monkeypatch.setattr(runtime, "partial_state_supported", True)
    cleaned.clear()
    p = DynamicProvider(ToyHandler)
    with pytest.raises(ResourceError) as err:
        p.create({"name": "fails"})
    assert cleaned == [] and isinstance(err.value.cause, CreatedButFailed)
    state = p.failed_create_state({"name": "fails", "size": 1}, err.value.cause)
    assert state["toy_id"] == "t-1" and state["status"] == "Failed" and "no capacity" in state[INIT_ERROR_KEY]
    d = p.diff("t-1", state, {"name": "fails", "size": 1})
    assert d.replaces == [INIT_ERROR_KEY] and d.detailed == {INIT_ERROR_KEY: "update-replace"}
    # a corrected input shows as itself (forcing the replacement), not only as the failed create
    d = p.diff("t-1", state, {"name": "fails", "size": 2, "note": "n"})
    assert d.changes and sorted(d.replaces) == ["note", "size"]
    assert d.detailed == {"size": "update-replace", "note": "add-replace"}


def test_import_reads_by_id_and_refuses_clearly():
    assert handler_for("toy:Thing") is ToyHandler
    assert handler_for("esd:Role").type_token == "esd:Role"  # loads providers.esd on demand
    assert handler_for("nope:Thing") is None
    seen = DynamicProvider(ToyHandler).read("t-9", {})
    assert seen.id == "t-9" and seen.inputs["name"] == "found" and seen.outs["toy_id"] == "t-9"
    with pytest.raises(ResourceError, match="no toy:Thing with id missing exists"):
        DynamicProvider(ToyHandler).read("missing", {})
    with pytest.raises(ResourceError, match="cannot be imported: the platform has no read API"):
        DynamicProvider(SealedHandler).read("t-9", {})


def test_type_token_from_urn():
    assert _type_token("urn:pulumi:dev::aimodels::pulumi-python:dynamic/esd:Endpoint::sd") == "esd:Endpoint"
    assert _type_token("urn:pulumi:dev::p::parent$pulumi-python:dynamic/pai:Model::m") == "pai:Model"
    assert _type_token("urn:pulumi:dev::p::aws:s3:Bucket::b") == ""


def test_custom_timeouts_set_the_wait_deadline():
    lines: list[str] = []
    call = runtime.Call(urn="u", deadline=time.monotonic() + 0.3, log=lines.append)
    with runtime.serving(call), pytest.raises(WaitTimeout, match="custom_timeouts deadline"):
        wait_for("toy:Thing a", lambda: Poll(None, "Creating"), timeout_s=3600)
    assert lines[0].startswith("toy:Thing a: waiting (custom_timeouts deadline 0s)")
    assert runtime.current() is None


def test_custom_timeouts_label_names_the_value_set_not_what_is_left():
    """A wait that starts late in its operation still names the user's custom_timeouts value."""
    lines: list[str] = []
    call = runtime.Call(urn="u", deadline=time.monotonic() + 0.3, log=lines.append, timeout_s=3.0)
    with runtime.serving(call), pytest.raises(WaitTimeout, match=r"custom_timeouts deadline 3s\)"):
        wait_for("toy:Thing a", lambda: Poll(None, "Creating"), timeout_s=3600)
    assert lines[0] == "toy:Thing a: waiting (custom_timeouts deadline 3s)"
