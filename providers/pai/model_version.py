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
    """Id: ``<model id>:<version name>``. Import: ``<model id>:<version name>``.
    Refresh: sees every input the registry returns (URI, approval status, description, source, specs,
    metrics, options, extra info, labels); format and framework are not read back.
    """

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


# ---- BEGIN GENERATED by `python -m tools.codegen`: do not edit this region by hand ----
# The typed resource class, from the models above (docs: docs/reference/pai.md#modelversion).
from collections.abc import Mapping  # noqa: E402
from typing import Any, Literal  # noqa: E402

import pulumi  # noqa: E402

from providers.core import Resource  # noqa: E402


class ModelVersion(Resource, handler=ModelVersionHandler):
    """pai:ModelVersion — one version of a pai:Model, keyed by version name (id ``<model id>:<version>``).

    The artefact (URI, format, framework) cannot change: a change is a new version. Approval
    status, description, source, specs and labels change in place. For promotion, name the
    version explicitly and declare the same version in each environment's stack.

    Reference: docs/reference/pai.md#modelversion
    """

    model_id: pulumi.Output[str]
    version_name: pulumi.Output[str | None]
    """major.minor.stage, e.g. 1.2.0; unset: the platform picks the next"""
    uri: pulumi.Output[str]
    """http(s):// or oss://bucket.endpoint/path"""
    format_type: pulumi.Output[Literal["OfflineModel", "SavedModel", "Keras H5", "Frozen Pb", "Caffe Prototxt", "TorchScript", "XGBoost", "PMML", "AlinkModel", "ONNX"] | None]
    framework_type: pulumi.Output[Literal["Pytorch", "PyTorch", "XGBoost", "Keras", "Caffe", "Alink", "Xflow", "TensorFlow"] | None]
    source_type: pulumi.Output[Literal["Custom", "PAIFlow", "TrainingService"]]
    source_id: pulumi.Output[str | None]
    description: pulumi.Output[str | None]
    approval_status: pulumi.Output[Literal["Pending", "Approved", "Rejected"] | None]
    inference_spec: pulumi.Output[dict[str, Any]]
    training_spec: pulumi.Output[dict[str, Any]]
    metrics: pulumi.Output[dict[str, Any]]
    options: pulumi.Output[str | None]
    """a JSON string, as the API takes it"""
    extra_info: pulumi.Output[dict[str, Any]]
    labels: pulumi.Output[dict[str, str]]
    created_at: pulumi.Output[str]
    modified_at: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        model_id: pulumi.Input[str],
        version_name: pulumi.Input[str] | None = None,
        uri: pulumi.Input[str],
        format_type: pulumi.Input[Literal["OfflineModel", "SavedModel", "Keras H5", "Frozen Pb", "Caffe Prototxt", "TorchScript", "XGBoost", "PMML", "AlinkModel", "ONNX"]] | None = None,
        framework_type: pulumi.Input[Literal["Pytorch", "PyTorch", "XGBoost", "Keras", "Caffe", "Alink", "Xflow", "TensorFlow"]] | None = None,
        source_type: pulumi.Input[Literal["Custom", "PAIFlow", "TrainingService"]] = "Custom",
        source_id: pulumi.Input[str] | None = None,
        description: pulumi.Input[str] | None = None,
        approval_status: pulumi.Input[Literal["Pending", "Approved", "Rejected"]] | None = None,
        inference_spec: pulumi.Input[Mapping[str, pulumi.Input[Any]]] | None = None,
        training_spec: pulumi.Input[Mapping[str, pulumi.Input[Any]]] | None = None,
        metrics: pulumi.Input[Mapping[str, pulumi.Input[Any]]] | None = None,
        options: pulumi.Input[str] | None = None,
        extra_info: pulumi.Input[Mapping[str, pulumi.Input[Any]]] | None = None,
        labels: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None,
    ) -> None:
        """Declare one pai:ModelVersion.

        Args:
            resource_name: the Pulumi name of the resource (unique in the stack).
            opts: Pulumi resource options.
            model_id: required; changing it replaces the resource; length ≥ 1.
            version_name: major.minor.stage, e.g. 1.2.0; unset: the platform picks the next; unset: the platform's
                choice; changing it replaces the resource; matches `^\\d+\\.\\d+\\.\\d[A-Za-z0-9_]*$`.
            uri: http(s):// or oss://bucket.endpoint/path; required; changing it replaces the resource; matches
                `^(https?|oss)://.+`.
            format_type: changing it replaces the resource.
            framework_type: changing it replaces the resource.
            source_type: default "Custom".
            source_id: .
            description: .
            approval_status: .
            inference_spec: default {}.
            training_spec: default {}.
            metrics: default {}.
            options: a JSON string, as the API takes it.
            extra_info: default {}.
            labels: default {}.
        """
        given = {
            "model_id": model_id,
            "version_name": version_name,
            "uri": uri,
            "format_type": format_type,
            "framework_type": framework_type,
            "source_type": source_type,
            "source_id": source_id,
            "description": description,
            "approval_status": approval_status,
            "inference_spec": inference_spec,
            "training_spec": training_spec,
            "metrics": metrics,
            "options": options,
            "extra_info": extra_info,
            "labels": labels,
        }
        super().__init__(resource_name, opts, **{k: v for k, v in given.items() if v is not None})
# ---- END GENERATED ----
