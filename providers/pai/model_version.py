"""pai:ModelVersion — one version of a pai:Model, keyed by version name (id ``<model id>:<version>``).

The artefact (URI, format, framework) cannot change: a change is a new version. Approval
status, description, source, specs and labels change in place. For promotion, name the
version explicitly and declare the same version in each environment's stack.
"""

from __future__ import annotations

from typing import Any, Literal

import pulumi

from providers.core import Created, Inputs, Observed, Outputs, Resource, prop
from providers.pai.base import Labels, PaiHandler
from providers.pai.client import labels_body, labels_of

FormatType = Literal["OfflineModel", "SavedModel", "Keras H5", "Frozen Pb", "Caffe Prototxt", "TorchScript",
                     "XGBoost", "PMML", "AlinkModel", "ONNX"]
FrameworkType = Literal["Pytorch", "PyTorch", "XGBoost", "Keras", "Caffe", "Alink", "Xflow", "TensorFlow"]
VERSION_PATTERN = r"^\d+\.\d+\.\d[A-Za-z0-9_]*$"
# input field -> vendor field, for everything UpdateModelVersion accepts
UPDATABLE = {"description": "VersionDescription", "approval_status": "ApprovalStatus", "source_type": "SourceType",
             "source_id": "SourceId", "inference_spec": "InferenceSpec", "training_spec": "TrainingSpec",
             "metrics": "Metrics", "options": "Options", "extra_info": "ExtraInfo"}


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


class ModelVersionOutputs(Outputs):
    created_at: str | None = None
    modified_at: str | None = None


class ModelVersionHandler(PaiHandler[ModelVersionInputs, ModelVersionOutputs]):
    Inputs, Outputs = ModelVersionInputs, ModelVersionOutputs
    type_token = "pai:ModelVersion"

    def label(self, inputs: ModelVersionInputs) -> str:
        return f"{self.type_token} {inputs.model_id}:{inputs.version_name or '(next)'}"

    def create(self, inputs: ModelVersionInputs) -> Created[ModelVersionOutputs]:
        body = {**self._body(inputs), "Uri": inputs.uri, "Labels": labels_body(inputs.labels)}
        for field, vendor in (("version_name", "VersionName"), ("format_type", "FormatType"),
                              ("framework_type", "FrameworkType")):
            if getattr(inputs, field) is not None:
                body[vendor] = getattr(inputs, field)
        version = self.client.create_version(inputs.model_id, body)
        return Created(f"{inputs.model_id}:{version}", self._outputs(self.client.get_version(inputs.model_id, version)))

    def read(self, id: str, inputs: ModelVersionInputs, outputs: ModelVersionOutputs) -> Observed | None:
        model_id, version = id.split(":", 1)
        v = self.client.get_version(model_id, version)
        seen = inputs.model_copy(update={
            **{field: v.get(vendor) for field, vendor in UPDATABLE.items()},
            "source_type": v.get("SourceType") or "Custom",
            **{k: v.get(vendor) or {} for k, vendor in (("inference_spec", "InferenceSpec"),
                                                        ("training_spec", "TrainingSpec"), ("metrics", "Metrics"),
                                                        ("extra_info", "ExtraInfo"))},
            "uri": v.get("Uri") or inputs.uri,
            "labels": labels_of(v),
            "version_name": version if inputs.version_name else None,
        })
        return Observed(seen, self._outputs(v))

    def update(self, id: str, olds: ModelVersionInputs, news: ModelVersionInputs,
               outputs: ModelVersionOutputs) -> ModelVersionOutputs:
        model_id, version = id.split(":", 1)
        self.client.update_version(model_id, version, self._body(news))
        if olds.labels != news.labels:
            self.client.set_version_labels(model_id, version, olds.labels, news.labels)
        return self._outputs(self.client.get_version(model_id, version))

    def delete(self, id: str, inputs: ModelVersionInputs, outputs: ModelVersionOutputs) -> None:
        model_id, version = id.split(":", 1)
        self.client.delete_version(model_id, version)

    @staticmethod
    def _body(inputs: ModelVersionInputs) -> dict[str, Any]:
        return {vendor: getattr(inputs, f) for f, vendor in UPDATABLE.items() if getattr(inputs, f) not in (None, {})}

    @staticmethod
    def _outputs(v: dict[str, Any]) -> ModelVersionOutputs:
        return ModelVersionOutputs(created_at=v.get("GmtCreateTime"), modified_at=v.get("GmtModifiedTime"))


class ModelVersion(Resource, handler=ModelVersionHandler):
    version_name: pulumi.Output[str]
    created_at: pulumi.Output[str]
    modified_at: pulumi.Output[str]
