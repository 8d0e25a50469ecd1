"""pai:Model — a model in the PAI model registry. Everything but the workspace changes in place;
labels are reconciled through the label routes (UpdateModel never carries them).

Requests: create 1 (CreateModel; ``owner_id`` and ``created_at`` arrive with the next read),
read 1, delete 1, update only what changed (UpdateModel if a model field changed; label routes
if labels changed). Names are not unique, so a lost create reply is recovered by the create's
marker label (see base.py), never by name: a model that existed before is never adopted."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator

from providers.core import Created, Inputs, Observed, Outputs, create, prop
from providers.pai.base import MARK, Labels, PaiHandler
from providers.pai.client import labels_body, labels_of

# input field -> vendor field, for everything UpdateModel accepts
FIELDS = {"name": "ModelName", "description": "ModelDescription", "domain": "Domain", "task": "Task",
          "accessibility": "Accessibility", "origin": "Origin", "model_type": "ModelType", "model_doc": "ModelDoc",
          "order_number": "OrderNumber", "parameter_size": "ParameterSize", "extra_info": "ExtraInfo"}
TEXT = ("description", "domain", "task", "origin", "model_type", "model_doc")  # cleared by sending ""


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

    @field_validator(*TEXT, mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value  # the platform does not tell "" from unset


class ModelOutputs(Outputs):
    model_id: str | None = None
    owner_id: str | None = None
    created_at: str | None = None
    latest_version: str | None = None


class ModelHandler(PaiHandler[ModelInputs, ModelOutputs]):
    id_doc = "the ModelId the registry assigned."
    import_doc = "the ModelId."
    refresh_doc = ("sees every input (name, description, domain, task, accessibility, origin, type, doc, "
                   "order, parameter size, extra info, labels; the workspace only when declared) and the "
                   "latest version.")

    Inputs, Outputs = ModelInputs, ModelOutputs
    type_token = "pai:Model"

    def create(self, inputs: ModelInputs) -> Created[ModelOutputs]:
        # One request: the reply carries only the id; owner and creation time come with the next read.
        handle = create.handle()  # the marker label's value: durable under the project's server
        token = handle.token
        body = {**self._body(inputs), "Labels": labels_body({**inputs.labels, MARK: token})}
        where = {"WorkspaceId": inputs.workspace_id} if inputs.workspace_id else {}
        body.update(where)

        def find() -> str | None:
            found = [m for m in self.client.list_models(Label=token, **where)
                     if labels_of(m).get(MARK) == token and not handle.is_current(m["ModelId"])]
            return found[0]["ModelId"] if found else None

        model_id = self.create_once(self.label(inputs), handle, lambda: self.client.create_model(body), find)
        return Created(model_id, ModelOutputs(model_id=model_id))

    def read(self, id: str, inputs: ModelInputs, outputs: ModelOutputs) -> Observed | None:
        """Works from the id alone (import): every input comes from the platform."""
        model = self.client.get_model(id)
        importing = getattr(inputs, "name", None) is None
        values: dict[str, Any] = {field: model.get(vendor) for field, vendor in FIELDS.items()}
        values.update({field: values[field] or None for field in TEXT})  # "" and unset are the same
        values.update(
            accessibility=model.get("Accessibility") or "PRIVATE",
            extra_info=model.get("ExtraInfo") or {},
            labels=labels_of(model, hide=MARK),
            # unset = the default workspace: keep it unset unless it was set (or we are importing)
            workspace_id=model.get("WorkspaceId") if (getattr(inputs, "workspace_id", None) or importing) else None,
        )
        return Observed(ModelInputs.model_construct(**values), self._outputs(model))

    def update(self, id: str, olds: ModelInputs, news: ModelInputs, outputs: ModelOutputs) -> ModelOutputs:
        # Only what changed is sent; nothing an update does changes the outputs, so none is read back.
        if any(getattr(olds, f) != getattr(news, f) for f in FIELDS):
            body = self._body(news)
            body.update({FIELDS[f]: "" for f in TEXT if getattr(news, f) is None and getattr(olds, f)})  # cleared
            if olds.extra_info and not news.extra_info:
                body["ExtraInfo"] = {}
            self.client.update_model(id, body)
        if olds.labels != news.labels:
            self.client.set_model_labels(id, olds.labels, news.labels)
        return outputs

    def delete(self, id: str, inputs: ModelInputs, outputs: ModelOutputs) -> None:
        self.client.delete_model(id)

    def _body(self, inputs: ModelInputs) -> dict[str, Any]:
        # The full field set every time ("omitted = unchanged" is undocumented), as Terraform does.
        return {vendor: getattr(inputs, field) for field, vendor in FIELDS.items() if getattr(inputs, field) is not None}

    @staticmethod
    def _outputs(model: dict[str, Any]) -> ModelOutputs:
        return ModelOutputs(model_id=model.get("ModelId"), owner_id=model.get("OwnerId"),
                            created_at=model.get("GmtCreateTime"),
                            latest_version=(model.get("LatestVersion") or {}).get("VersionName"))
