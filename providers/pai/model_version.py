"""pai:ModelVersion — one version of a pai:Model, keyed by version name (id ``<model id>:<version>``).

The artefact (URI, format, framework) cannot change: a change is a new version, and because
the new one usually has the same name, the old one is deleted first (delete-before-replace).
Approval status, description, source, specs and labels change in place. For promotion, name
the version explicitly and declare the same version in each environment's stack.

Requests: create 1 (``created_at``/``modified_at`` arrive with the next read), read 1, delete 1,
update only what changed. A lost create reply is recovered through the create's marker label
(base.py); a version that already exists under the requested name is refused with the import
command, never adopted.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator

from providers.core import ApiError, Created, Inputs, Observed, Outputs, ProviderError, create, prop
from providers.pai.base import MARK, Labels, PaiHandler
from providers.pai.client import labels_body, labels_of

FormatType = Literal["OfflineModel", "SavedModel", "Keras H5", "Frozen Pb", "Caffe Prototxt", "TorchScript",
                     "XGBoost", "PMML", "AlinkModel", "ONNX"]
FrameworkType = Literal["Pytorch", "PyTorch", "XGBoost", "Keras", "Caffe", "Alink", "Xflow", "TensorFlow"]
VERSION_PATTERN = r"^\d+\.\d+\.\d[A-Za-z0-9_]*$"
# input field -> vendor field, for everything UpdateModelVersion accepts
UPDATABLE = {"description": "VersionDescription", "approval_status": "ApprovalStatus", "source_type": "SourceType",
             "source_id": "SourceId", "inference_spec": "InferenceSpec", "training_spec": "TrainingSpec",
             "metrics": "Metrics", "options": "Options", "extra_info": "ExtraInfo"}
SPECS = {"inference_spec": "InferenceSpec", "training_spec": "TrainingSpec", "metrics": "Metrics",
         "extra_info": "ExtraInfo"}  # free-form objects: {} and unset are the same


class ModelVersionInputs(Inputs):
    model_id: str = prop(replace=True, min_length=1)
    version_name: str | None = prop(None, replace=True, server_default=True, pattern=VERSION_PATTERN,
                                    description="major.minor.stage, e.g. 1.2.0; unset: the platform picks the next")
    uri: str = prop(replace=True, pattern=r"^(https?|oss)://.+", description="http(s):// or oss://bucket.endpoint/path")
    format_type: FormatType | None = prop(None, replace=True)
    framework_type: FrameworkType | None = prop(None, replace=True)
    source_type: Literal["Custom", "PAIFlow", "TrainingService"] = "Custom"
    source_id: str | None = None
    description: str | None = None
    approval_status: Literal["Pending", "Approved", "Rejected"] | None = None
    inference_spec: dict[str, Any] = {}
    training_spec: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    options: str | None = prop(None, description="a JSON string, as the API takes it")
    extra_info: dict[str, Any] = {}
    labels: Labels = {}

    @field_validator("description", "source_id", "options", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value  # the platform does not tell "" from unset


class ModelVersionOutputs(Outputs):
    created_at: str | None = None
    modified_at: str | None = prop(None, changes_with="*")


class ModelVersionHandler(PaiHandler[ModelVersionInputs, ModelVersionOutputs]):
    id_doc = "``<model id>:<version name>``."
    import_doc = "``<model id>:<version name>``."
    refresh_doc = ("sees every input the registry returns (URI, approval status, description, source, specs,"
                   " metrics, options, extra info, labels); format and framework are not read back.")

    Inputs, Outputs = ModelVersionInputs, ModelVersionOutputs
    type_token = "pai:ModelVersion"
    # A new artefact under the same version name can exist only once the old one is gone.
    delete_before_replace = True

    def label(self, inputs: ModelVersionInputs) -> str:
        return f"{self.type_token} {inputs.model_id}:{inputs.version_name or '(next)'}"

    def create(self, inputs: ModelVersionInputs) -> Created[ModelVersionOutputs]:
        # One request: the reply carries only the version name; times come with the next read.
        handle = create.handle()  # the marker label's value: durable under the project's server
        token = handle.token
        body = {**self._body(inputs), "Uri": inputs.uri, "Labels": labels_body({**inputs.labels, MARK: token})}
        for field, vendor in (("version_name", "VersionName"), ("format_type", "FormatType"),
                              ("framework_type", "FrameworkType")):
            if getattr(inputs, field) is not None:
                body[vendor] = getattr(inputs, field)

        def find() -> str | None:
            found = [v for v in self.client.list_versions(inputs.model_id, Label=token)
                     if labels_of(v).get(MARK) == token and not handle.is_current(f"{inputs.model_id}:{v['VersionName']}")]
            return found[0]["VersionName"] if found else None

        try:
            version = self.create_once(self.label(inputs), handle,
                                       lambda: self.client.create_version(inputs.model_id, body), find)
        except ApiError as exc:
            self._refuse_existing(inputs, exc)
            raise
        return Created(f"{inputs.model_id}:{version}", ModelVersionOutputs())

    def read(self, id: str, inputs: ModelVersionInputs, outputs: ModelVersionOutputs) -> Observed | None:
        """Works from the id alone (import): every input comes from the platform."""
        model_id, version = id.split(":", 1)
        v = self.client.get_version(model_id, version)
        importing = getattr(inputs, "uri", None) is None
        values: dict[str, Any] = {field: v.get(vendor) for field, vendor in UPDATABLE.items()}
        values.update({k: v.get(vendor) or {} for k, vendor in SPECS.items()})
        values.update(
            model_id=model_id,
            # unset = the platform's choice: keep it unset unless it was set (or we are importing)
            version_name=version if (getattr(inputs, "version_name", None) or importing) else None,
            uri=v.get("Uri"), format_type=v.get("FormatType") or None, framework_type=v.get("FrameworkType") or None,
            source_type=v.get("SourceType") or "Custom", source_id=v.get("SourceId") or None,
            description=v.get("VersionDescription") or None, options=v.get("Options") or None,
            labels=labels_of(v, hide=MARK),
        )
        return Observed(ModelVersionInputs.model_construct(**values), self._outputs(v))

    def update(self, id: str, olds: ModelVersionInputs, news: ModelVersionInputs,
               outputs: ModelVersionOutputs) -> ModelVersionOutputs:
        # Only what changed is sent; modified_at is as of the last read (refresh).
        model_id, version = id.split(":", 1)
        if any(getattr(olds, f) != getattr(news, f) for f in UPDATABLE):
            body = self._body(news)
            body.update({UPDATABLE[f]: "" for f in ("description", "source_id", "options")
                         if getattr(news, f) is None and getattr(olds, f)})  # cleared
            body.update({vendor: {} for f, vendor in SPECS.items() if getattr(olds, f) and not getattr(news, f)})
            self.client.update_version(model_id, version, body)
        if olds.labels != news.labels:
            self.client.set_version_labels(model_id, version, olds.labels, news.labels)
        return outputs

    def delete(self, id: str, inputs: ModelVersionInputs, outputs: ModelVersionOutputs) -> None:
        model_id, version = id.split(":", 1)
        self.client.delete_version(model_id, version)

    def _refuse_existing(self, inputs: ModelVersionInputs, exc: ApiError) -> None:
        """A named version that already exists was not made by this operation: never adopt it."""
        if exc.status != 400 or not inputs.version_name:
            return
        try:
            self.client.get_version(inputs.model_id, inputs.version_name)
        except ProviderError:
            return  # not there (or unknowable): the platform's own error stands
        id = f"{inputs.model_id}:{inputs.version_name}"
        raise ProviderError(f"version {inputs.version_name} of model {inputs.model_id} already exists, made outside "
                            f"this stack or by an interrupted earlier run; to manage it here, import it with "
                            f"`{self.import_command('<resource name>', id)}`, or delete it ({exc.message})") from None

    @staticmethod
    def _body(inputs: ModelVersionInputs) -> dict[str, Any]:
        return {vendor: getattr(inputs, f) for f, vendor in UPDATABLE.items() if getattr(inputs, f) not in (None, {})}

    @staticmethod
    def _outputs(v: dict[str, Any]) -> ModelVersionOutputs:
        return ModelVersionOutputs(created_at=v.get("GmtCreateTime"), modified_at=v.get("GmtModifiedTime"))
