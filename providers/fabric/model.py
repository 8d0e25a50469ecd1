"""fabric:Model — a DataArts Fabric model definition and its versions.

Versions are a list on the model, not a resource of their own: the platform creates a model
together with its first version, versions are immutable once made, and the model carries a
``current_version`` pointer. Promotion between environments is then a change to one list
(add the version proven in the previous stage) and one pointer (make it current), reviewed in
a single ``preview --diff``. Removing a version from the list deletes it on the platform.

Create and version addition are asynchronous: we wait until the model / version shows up in
the list. There is no get-one API, so every read goes through the filtered list.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pydantic import BaseModel, ConfigDict, Field, model_validator

from providers.core import (Created, Handler, Inputs, Observed, Outputs, Poll, ProviderError, Resource, RuleError,
                            TransportError, prop, progress, wait_for)
from providers.fabric.client import FabricClient, FabricSettings

NAME_PATTERN = r"^[\w\-. ]{1,64}$"


class VersionSpec(BaseModel):
    """One immutable model version. The name identifies it within the model."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME_PATTERN)
    description: str | None = None
    base_model_type: str = Field(min_length=1, description="a value ListBaseModels returns")
    model_path: str | None = Field(None, pattern=r"^obs://[^/]+/.+", description="obs://bucket/path/")

    def body(self) -> dict[str, Any]:
        config: dict[str, Any] = {"base_model_type": self.base_model_type}
        if self.model_path:
            config["model_path"] = self.model_path
        out: dict[str, Any] = {"name": self.name, "config": {"llm_model_config": config}}
        if self.description:
            out["description"] = self.description
        return out

    @classmethod
    def from_api(cls, v: dict[str, Any]) -> VersionSpec:
        config = (v.get("config") or {}).get("llm_model_config") or {}
        return cls.model_construct(name=v.get("name"), description=v.get("description") or None,
                                   base_model_type=config.get("base_model_type"), model_path=config.get("model_path"))


class ModelInputs(Inputs):
    workspace_id: str = prop(replace=True, min_length=1)
    name: str = prop(pattern=NAME_PATTERN, description="unique in the workspace")
    description: str | None = prop(None, max_length=1024)
    versions: list[VersionSpec] = prop(min_length=1, description="oldest first; the first is created with the model")
    current_version: str | None = prop(None, description="name of the current version; unset: the last listed")
    wait_timeout_s: int = prop(600, local=True, ge=1, le=6 * 3600)

    @model_validator(mode="after")
    def _versions(self) -> ModelInputs:
        names = [v.name for v in self.versions]
        if len(set(names)) != len(names):
            raise RuleError("versions", "version names must be unique within the model")
        if self.current_version is not None and self.current_version not in names:
            raise RuleError("current_version", f"{self.current_version!r} is not one of the listed versions")
        return self

    @property
    def wanted_current(self) -> str:
        return self.current_version or self.versions[-1].name


class ModelOutputs(Outputs):
    model_id: str | None = None
    version_ids: dict[str, str] = {}  # version name -> platform id
    current_version_id: str | None = None
    visibility: str | None = None
    created_at: str | None = None


class ModelHandler(Handler[ModelInputs, ModelOutputs]):
    """Id: the model id the platform assigned; the workspace is an input. Import: the model id (the workspace
    must be declared: every call is under it).
    Refresh: sees name, description, the versions (by name and content) and which one is current; versions
    made behind our back show up as extra list entries.
    """

    Inputs, Outputs = ModelInputs, ModelOutputs
    Settings, Client = FabricSettings, FabricClient
    client: FabricClient
    type_token = "fabric:Model"

    def check_change(self, olds: ModelInputs, news: ModelInputs) -> list[tuple[str, str]]:
        before = {v.name: v.body() for v in olds.versions}
        changed = [v.name for v in news.versions if v.name in before and before[v.name] != v.body()]
        if changed and olds.workspace_id == news.workspace_id:
            return [("versions", f"versions are immutable: {', '.join(changed)} changed; "
                                 "add a version with a new name instead")]
        return []

    def create(self, inputs: ModelInputs) -> Created[ModelOutputs]:
        ws, first = inputs.workspace_id, inputs.versions[0]
        body: dict[str, Any] = {"name": inputs.name, "type": "LLM_MODEL", "version": first.body()}
        if inputs.description:
            body["description"] = inputs.description
        try:
            model_id = self.client.create_model(ws, body)["id"]
        except TransportError:
            # Names are unique per workspace, so the name finds a model whose create reply was lost.
            found = self._wait_named(inputs)
            progress(f"{self.label(inputs)}: the create reply was lost, but the model exists; continuing")
            model_id = found["id"]
        try:
            self._wait_model(inputs, model_id)
            for spec in inputs.versions[1:]:
                self._add_version(inputs, model_id, spec)
            self._make_current(inputs, model_id)
        except ProviderError:
            progress(f"{self.label(inputs)}: removing the incomplete model {model_id}")
            try:
                self.client.delete_model(ws, model_id)
            except ProviderError as exc:
                progress(f"{self.label(inputs)}: cleanup failed, delete model {model_id} by hand: {exc}")
            raise
        return Created(model_id, self._outputs(inputs.workspace_id, model_id))

    def read(self, id: str, inputs: ModelInputs, outputs: ModelOutputs) -> Observed | None:
        model = self.client.find_model(inputs.workspace_id, id)
        if model is None:
            return None
        # Keep the declared order (the platform lists newest first, with second-resolution times);
        # versions made behind our back go last, oldest first.
        order = {v.name: i for i, v in enumerate(inputs.versions)}
        versions = sorted(self.client.versions(inputs.workspace_id, id),
                          key=lambda v: (order.get(v.get("name"), len(order)), v.get("create_time") or ""))
        current_id = (model.get("current_version") or {}).get("id")
        current = next((v.get("name") for v in versions if v.get("id") == current_id), None)
        seen = inputs.model_copy(update={
            "name": model.get("name"),
            "description": model.get("description") or None,
            "versions": [VersionSpec.from_api(v) for v in versions],
            "current_version": inputs.current_version if current == inputs.wanted_current else current,
        })
        return Observed(seen, self._outputs_from(model, versions))

    def update(self, id: str, olds: ModelInputs, news: ModelInputs, outputs: ModelOutputs) -> ModelOutputs:
        ws = news.workspace_id
        have = {v["name"]: v for v in self.client.versions(ws, id)}
        for spec in news.versions:
            existing = have.get(spec.name)
            if existing is None:
                self._add_version(news, id, spec)
            elif VersionSpec.from_api(existing).body() != spec.body():
                raise ProviderError(f"version {spec.name!r} exists with another configuration and versions are "
                                    "immutable: add a version with a new name instead")
        if (news.name, news.description) != (olds.name, olds.description):
            self.client.update_model(ws, id, {"name": news.name, "description": news.description or ""})
        self._make_current(news, id)
        wanted = {v.name for v in news.versions}
        for name, v in have.items():
            if name not in wanted:
                progress(f"{self.label(news)}: deleting version {name}")
                self.client.delete_version(ws, id, v["id"])
        return self._outputs(ws, id)

    def delete(self, id: str, inputs: ModelInputs, outputs: ModelOutputs) -> None:
        # Refused while an inference service uses a version: the vendor's message says so.
        self.client.delete_model(inputs.workspace_id, id)

    # -- helpers
    def _wait_model(self, inputs: ModelInputs, model_id: str) -> dict[str, Any]:
        def poll() -> Poll[dict[str, Any]]:
            model = self.client.find_model(inputs.workspace_id, model_id)
            return Poll(model, "creating" if model is None else "visible", done=model is not None)

        return wait_for(self.label(inputs), poll, timeout_s=inputs.wait_timeout_s)

    def _wait_named(self, inputs: ModelInputs) -> dict[str, Any]:
        def poll() -> Poll[dict[str, Any]]:
            model = self.client.find_model_by_name(inputs.workspace_id, inputs.name)
            return Poll(model, "looking", done=model is not None)

        return wait_for(self.label(inputs), poll, timeout_s=min(60, inputs.wait_timeout_s))

    def _add_version(self, inputs: ModelInputs, model_id: str, spec: VersionSpec) -> None:
        ws = inputs.workspace_id
        try:
            self.client.update_model(ws, model_id, {"version": spec.body()})
        except TransportError:
            progress(f"{self.label(inputs)}: the reply adding version {spec.name} was lost; checking the list")

        def poll() -> Poll[str]:
            v = next((v for v in self.client.versions(ws, model_id) if v.get("name") == spec.name), None)
            return Poll(v and v["id"], "adding" if v is None else "visible", done=v is not None)

        wait_for(f"{self.label(inputs)} version {spec.name}", poll, timeout_s=inputs.wait_timeout_s)

    def _make_current(self, inputs: ModelInputs, model_id: str) -> None:
        ws = inputs.workspace_id
        model = self.client.find_model(ws, model_id) or {}
        versions = {v["name"]: v["id"] for v in self.client.versions(ws, model_id)}
        target = versions.get(inputs.wanted_current)
        if target and (model.get("current_version") or {}).get("id") != target:
            self.client.update_model(ws, model_id, {"current_version_id": target})

    def _outputs(self, ws: str, model_id: str) -> ModelOutputs:
        return self._outputs_from(self.client.find_model(ws, model_id) or {}, self.client.versions(ws, model_id))

    @staticmethod
    def _outputs_from(model: dict[str, Any], versions: list[dict[str, Any]]) -> ModelOutputs:
        return ModelOutputs(model_id=model.get("id"), version_ids={v["name"]: v["id"] for v in versions},
                            current_version_id=(model.get("current_version") or {}).get("id"),
                            visibility=model.get("visibility"), created_at=model.get("create_time"))


# ---- BEGIN GENERATED by `python -m tools.codegen`: do not edit this region by hand ----
# The typed resource class, from the models above (docs: docs/reference/fabric.md#model).
from collections.abc import Sequence  # noqa: E402
from typing import Any  # noqa: E402

import pulumi  # noqa: E402

from providers.core import Resource  # noqa: E402
from providers.fabric.types import VersionSpecArgs  # noqa: E402


class Model(Resource, handler=ModelHandler):
    """fabric:Model — a DataArts Fabric model definition and its versions.

    Versions are a list on the model, not a resource of their own: the platform creates a model
    together with its first version, versions are immutable once made, and the model carries a
    ``current_version`` pointer. Promotion between environments is then a change to one list
    (add the version proven in the previous stage) and one pointer (make it current), reviewed in
    a single ``preview --diff``. Removing a version from the list deletes it on the platform.

    Create and version addition are asynchronous: we wait until the model / version shows up in
    the list. There is no get-one API, so every read goes through the filtered list.

    Reference: docs/reference/fabric.md#model
    """

    workspace_id: pulumi.Output[str]
    name: pulumi.Output[str]
    """unique in the workspace"""
    description: pulumi.Output[str | None]
    versions: pulumi.Output[list[dict[str, Any]]]
    """oldest first; the first is created with the model"""
    current_version: pulumi.Output[str | None]
    """name of the current version; unset: the last listed"""
    wait_timeout_s: pulumi.Output[int]
    model_id: pulumi.Output[str]
    version_ids: pulumi.Output[dict[str, str]]
    """version name -> platform id"""
    current_version_id: pulumi.Output[str]
    visibility: pulumi.Output[str]
    created_at: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        workspace_id: pulumi.Input[str],
        name: pulumi.Input[str],
        description: pulumi.Input[str] | None = None,
        versions: pulumi.Input[Sequence[pulumi.Input[VersionSpecArgs]]],
        current_version: pulumi.Input[str] | None = None,
        wait_timeout_s: pulumi.Input[int] = 600,
    ) -> None:
        """Declare one fabric:Model.

        Args:
            resource_name: the Pulumi name of the resource (unique in the stack).
            opts: Pulumi resource options.
            workspace_id: required; changing it replaces the resource; length ≥ 1.
            name: unique in the workspace; required; matches `^[\\w\\-. ]{1,64}$`.
            description: length ≤ 1024.
            versions: oldest first; the first is created with the model; required; length ≥ 1.
            current_version: name of the current version; unset: the last listed.
            wait_timeout_s: default 600; provider-side only; ≥ 1; ≤ 21600.
        """
        given = {
            "workspace_id": workspace_id,
            "name": name,
            "description": description,
            "versions": versions,
            "current_version": current_version,
            "wait_timeout_s": wait_timeout_s,
        }
        super().__init__(resource_name, opts, **{k: v for k, v in given.items() if v is not None})
# ---- END GENERATED ----
