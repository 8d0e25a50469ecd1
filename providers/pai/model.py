"""pai:Model — a model in the PAI model registry. Everything but the workspace changes in place;
labels are reconciled through the label routes (UpdateModel never carries them)."""

from __future__ import annotations

from typing import Any, Literal

import pulumi

from providers.core import Created, Inputs, Observed, Outputs, ProviderError, Resource, TransportError, prop, progress
from providers.pai.base import Labels, PaiHandler
from providers.pai.client import labels_body, labels_of

# input field -> vendor field, for everything UpdateModel accepts
FIELDS = {"name": "ModelName", "description": "ModelDescription", "domain": "Domain", "task": "Task",
          "accessibility": "Accessibility", "origin": "Origin", "model_type": "ModelType", "model_doc": "ModelDoc",
          "order_number": "OrderNumber", "parameter_size": "ParameterSize", "extra_info": "ExtraInfo"}


class ModelInputs(Inputs):
    name: str = prop(min_length=1, max_length=127)
    description: str | None = None
    domain: str | None = prop(None, description="e.g. nlp, cv, aigc")
    task: str | None = prop(None, description="e.g. text-to-image-synthesis")
    accessibility: Literal["PRIVATE", "PUBLIC"] = "PRIVATE"
    origin: str | None = prop(None, description="e.g. ModelScope, HuggingFace, Civitai")
    model_type: str | None = prop(None, description="free text, e.g. Checkpoint, LoRA")
    model_doc: str | None = prop(None, description="documentation URL")
    order_number: int | None = None
    parameter_size: int | None = prop(None, ge=0, description="parameter count in millions")
    extra_info: dict[str, Any] = {}
    labels: Labels = {}
    workspace_id: str | None = prop(None, replace=True, server_default=True,
                                    description="unset: the account's default workspace")


class ModelOutputs(Outputs):
    model_id: str | None = None
    owner_id: str | None = None
    created_at: str | None = None
    latest_version: str | None = None


class ModelHandler(PaiHandler[ModelInputs, ModelOutputs]):
    """Id: the ModelId the registry assigned. Import: the ModelId.
    Refresh: sees every input (name, description, domain, task, accessibility, origin, type, doc, order,
    parameter size, extra info, labels; the workspace only when declared) and the latest version.
    """

    Inputs, Outputs = ModelInputs, ModelOutputs
    type_token = "pai:Model"

    def create(self, inputs: ModelInputs) -> Created[ModelOutputs]:
        body = {**self._body(inputs), "Labels": labels_body(inputs.labels)}
        if inputs.workspace_id:
            body["WorkspaceId"] = inputs.workspace_id
        try:
            model_id = self.client.create_model(body)
        except TransportError:
            model_id = self._recover(inputs)
        return Created(model_id, self._outputs(self.client.get_model(model_id)))

    def read(self, id: str, inputs: ModelInputs, outputs: ModelOutputs) -> Observed | None:
        model = self.client.get_model(id)
        seen = inputs.model_copy(update={
            **{field: model.get(vendor) for field, vendor in FIELDS.items()},
            "accessibility": model.get("Accessibility") or inputs.accessibility,
            "extra_info": model.get("ExtraInfo") or {},
            "labels": labels_of(model),
            "workspace_id": model.get("WorkspaceId") if inputs.workspace_id else None,
        })
        return Observed(seen, self._outputs(model))

    def update(self, id: str, olds: ModelInputs, news: ModelInputs, outputs: ModelOutputs) -> ModelOutputs:
        self.client.update_model(id, self._body(news))
        if olds.labels != news.labels:
            self.client.set_model_labels(id, olds.labels, news.labels)
        return self._outputs(self.client.get_model(id))

    def delete(self, id: str, inputs: ModelInputs, outputs: ModelOutputs) -> None:
        self.client.delete_model(id)

    def _body(self, inputs: ModelInputs) -> dict[str, Any]:
        # The full field set every time ("omitted = unchanged" is undocumented), as Terraform does.
        return {vendor: getattr(inputs, field) for field, vendor in FIELDS.items() if getattr(inputs, field) is not None}

    def _recover(self, inputs: ModelInputs) -> str:
        """The create reply was lost. Names are not unique, so adopt only an unambiguous match."""
        query = {"ModelName": inputs.name, **({"WorkspaceId": inputs.workspace_id} if inputs.workspace_id else {})}
        matches = [m for m in self.client.list_models(**query) if m.get("ModelName") == inputs.name]
        if len(matches) != 1:
            raise ProviderError(f"the CreateModel reply was lost and {len(matches)} models named {inputs.name!r} "
                                "exist; check the registry and delete the duplicate by hand")
        progress(f"{self.label(inputs)}: the create reply was lost; adopting {matches[0]['ModelId']}")
        return matches[0]["ModelId"]

    @staticmethod
    def _outputs(model: dict[str, Any]) -> ModelOutputs:
        return ModelOutputs(model_id=model.get("ModelId"), owner_id=model.get("OwnerId"),
                            created_at=model.get("GmtCreateTime"),
                            latest_version=(model.get("LatestVersion") or {}).get("VersionName"))


# ---- BEGIN GENERATED by `python -m tools.codegen`: do not edit this region by hand ----
# The typed resource class, from the models above (docs: docs/reference/pai.md#model).
from collections.abc import Mapping  # noqa: E402
from typing import Any, Literal  # noqa: E402

import pulumi  # noqa: E402

from providers.core import Resource  # noqa: E402


class Model(Resource, handler=ModelHandler):
    """pai:Model — a model in the PAI model registry. Everything but the workspace changes in place;
    labels are reconciled through the label routes (UpdateModel never carries them).

    Reference: docs/reference/pai.md#model
    """

    name: pulumi.Output[str]
    description: pulumi.Output[str | None]
    domain: pulumi.Output[str | None]
    """e.g. nlp, cv, aigc"""
    task: pulumi.Output[str | None]
    """e.g. text-to-image-synthesis"""
    accessibility: pulumi.Output[Literal["PRIVATE", "PUBLIC"]]
    origin: pulumi.Output[str | None]
    """e.g. ModelScope, HuggingFace, Civitai"""
    model_type: pulumi.Output[str | None]
    """free text, e.g. Checkpoint, LoRA"""
    model_doc: pulumi.Output[str | None]
    """documentation URL"""
    order_number: pulumi.Output[int | None]
    parameter_size: pulumi.Output[int | None]
    """parameter count in millions"""
    extra_info: pulumi.Output[dict[str, Any]]
    labels: pulumi.Output[dict[str, str]]
    workspace_id: pulumi.Output[str | None]
    """unset: the account's default workspace"""
    model_id: pulumi.Output[str]
    owner_id: pulumi.Output[str]
    created_at: pulumi.Output[str]
    latest_version: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        name: pulumi.Input[str],
        description: pulumi.Input[str] | None = None,
        domain: pulumi.Input[str] | None = None,
        task: pulumi.Input[str] | None = None,
        accessibility: pulumi.Input[Literal["PRIVATE", "PUBLIC"]] = "PRIVATE",
        origin: pulumi.Input[str] | None = None,
        model_type: pulumi.Input[str] | None = None,
        model_doc: pulumi.Input[str] | None = None,
        order_number: pulumi.Input[int] | None = None,
        parameter_size: pulumi.Input[int] | None = None,
        extra_info: pulumi.Input[Mapping[str, pulumi.Input[Any]]] | None = None,
        labels: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None,
        workspace_id: pulumi.Input[str] | None = None,
    ) -> None:
        """Declare one pai:Model.

        Args:
            resource_name: the Pulumi name of the resource (unique in the stack).
            opts: Pulumi resource options.
            name: required; length ≥ 1; length ≤ 127.
            description: .
            domain: e.g. nlp, cv, aigc.
            task: e.g. text-to-image-synthesis.
            accessibility: default "PRIVATE".
            origin: e.g. ModelScope, HuggingFace, Civitai.
            model_type: free text, e.g. Checkpoint, LoRA.
            model_doc: documentation URL.
            order_number: .
            parameter_size: parameter count in millions; ≥ 0.
            extra_info: default {}.
            labels: default {}.
            workspace_id: unset: the account's default workspace; unset: the platform's choice; changing it replaces
                the resource.
        """
        given = {
            "name": name,
            "description": description,
            "domain": domain,
            "task": task,
            "accessibility": accessibility,
            "origin": origin,
            "model_type": model_type,
            "model_doc": model_doc,
            "order_number": order_number,
            "parameter_size": parameter_size,
            "extra_info": extra_info,
            "labels": labels,
            "workspace_id": workspace_id,
        }
        super().__init__(resource_name, opts, **{k: v for k, v in given.items() if v is not None})
# ---- END GENERATED ----
