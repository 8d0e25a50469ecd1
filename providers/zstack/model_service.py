"""zstack:ModelService — a model service definition in a model center (AddModelService, spec §6.3).

Definition only: the service's YAML, resources, start command and image settings are registered;
deploying it (``deployModelService``, instance groups) is not managed here (docs/zstack.md says why).
UpdateModelService (``PUT /v1/ai/model-services/{uuid}``, wrapper ``updateModelService``) changes
the name, description, YAML, CPU and memory requests, GPU compute capability, start command, Python
version and type in place; everything else is create-time only, so it replaces. ``yaml`` is an
opaque string: sent and compared as given. A Model binds itself to services with its
``model_service_uuids``; ``model_uuids`` here binds models at create time instead.
"""

from __future__ import annotations

from typing import Any, Literal

import pulumi

from providers.core import Created, Inputs, Observed, Outputs, Resource, prop
from providers.zstack.base import (DeleteMode, Tag, Uuid, ZStackHandler, cleared, delete_mode, text,
                                   wait_timeout)

PATH = "/v1/ai/model-services"
ServiceType = Literal["Endpoint", "FineTune", "ModelEval", "App"]
ServiceSource = Literal["Other", "Bentoml", "HuggingFace"]
# input field -> API field, for the fields UpdateModelService accepts
UPDATABLE = {"name": "name", "description": "description", "yaml": "yaml", "request_cpu": "requestCpu",
             "request_memory": "requestMemory", "gpu_compute_capability": "gpuComputeCapability",
             "start_command": "startCommand", "python_version": "pythonVersion", "type": "type"}
# create-time only fields the inventory shows
CREATE_ONLY = {"model_center_uuid": "modelCenterUuid", "install_path": "installPath", "source": "source",
               "framework": "framework", "system": "system", "container_command": "containerCommand",
               "container_args": "containerArgs", "conda_version": "condaVersion",
               "support_distributed": "supportDistributed"}


class ModelServiceInputs(Inputs):
    name: str = prop(min_length=1, max_length=255)
    yaml: str = prop(min_length=1, description="the service definition, an opaque string sent as given")
    model_center_uuid: Uuid = prop(replace=True, description="normally a ModelCenter resource's id")
    request_cpu: int = prop(ge=1, description="CPU cores requested")
    request_memory: int = prop(ge=1, description="memory requested, in the platform's unit (undocumented)")
    install_path: str = prop(replace=True, min_length=1, max_length=2048)
    start_command: str = prop(min_length=1)
    description: str | None = prop(None, max_length=2048)
    type: ServiceType = prop("Endpoint")
    source: ServiceSource = prop("Other", replace=True)
    framework: str | None = prop(None, replace=True, max_length=255,
                                 description="free text on create; UpdateModelService cannot change it")
    gpu_compute_capability: str | None = prop(None, max_length=255)
    python_version: str | None = prop(None, max_length=255)
    conda_version: str | None = prop(None, replace=True, max_length=255)
    container_command: str | None = prop(None, replace=True)
    container_args: str | None = prop(None, replace=True)
    system: bool = prop(False, replace=True)
    support_distributed: bool = prop(False, replace=True)
    zone_uuid: Uuid | None = prop(None, replace=True, write_only=True, description="not in the inventory")
    model_uuids: list[Uuid] = prop([], replace=True, unordered=True, write_only=True,
                                   description="models to bind at create (a Model's model_service_uuids binds too)")
    tag_uuids: list[Uuid] = prop([], replace=True, unordered=True, write_only=True)
    system_tags: list[Tag] = prop([], replace=True, write_only=True)
    user_tags: list[Tag] = prop([], replace=True, unordered=True, write_only=True)
    resource_uuid: Uuid | None = prop(None, replace=True, server_default=True,
                                      description="the uuid to create it with; unset: one chosen by the provider")
    delete_mode: DeleteMode = delete_mode()
    wait_timeout_s: int = wait_timeout()


class ModelServiceOutputs(Outputs):
    uuid: str | None = None
    readme: str | None = prop(None, changes_with="*")
    size: int | None = prop(None, changes_with="*")
    cpu_architectures: list[str] = []
    model_service_refs: list[dict[str, Any]] = prop([], changes_with="*")  # models bound to it
    model_service_images: list[dict[str, Any]] = []
    vendor_to_spec_uuids_map: dict[str, Any] = {}
    create_date: str | None = None
    last_op_date: str | None = prop(None, changes_with="*")


class ModelServiceHandler(ZStackHandler[ModelServiceInputs, ModelServiceOutputs]):
    id_doc = "the model service's UUID."
    import_doc = "the UUID."
    refresh_doc = ("sees every field but the zone, the models bound at create and the tags (write-only: not "
                   "in the inventory); the bindings all models made show in ``model_service_refs``.")

    Inputs, Outputs = ModelServiceInputs, ModelServiceOutputs
    type_token = "zstack:ModelService"

    def create(self, inputs: ModelServiceInputs) -> Created[ModelServiceOutputs]:
        param = {api: getattr(inputs, name) for name, api in {**UPDATABLE, **CREATE_ONLY}.items()}
        param.update(zoneUuid=inputs.zone_uuid, modelUuids=inputs.model_uuids, tagUuids=inputs.tag_uuids)
        if not inputs.system:
            param["system"] = None  # the default: not sent
        if not inputs.support_distributed:
            param["supportDistributed"] = None
        uid, inventory = self.submit_create(self.label(inputs), "AddModelService", PATH, param, inputs,
                                            self._outputs, lambda u, t: self._delete(u, inputs, t))
        return Created(uid, self._outputs(inventory))

    def read(self, id: str, inputs: ModelServiceInputs, outputs: ModelServiceOutputs) -> Observed | None:
        inv = self.client.get("QueryModelService", PATH, id)
        if inv is None:
            return None
        seen: dict[str, Any] = {name: text(inv.get(api)) for name, api in {**UPDATABLE, **CREATE_ONLY}.items()}
        for name in ("request_cpu", "request_memory"):
            seen[name] = inv.get(UPDATABLE[name])
        for name in ("system", "support_distributed"):
            seen[name] = bool(inv.get(CREATE_ONLY[name]))
        seen["type"] = seen["type"] or "Endpoint"
        seen["source"] = seen["source"] or "Other"
        return Observed(self.as_found(inputs, seen), self._outputs(inv))

    def update(self, id: str, olds: ModelServiceInputs, news: ModelServiceInputs,
               outputs: ModelServiceOutputs) -> ModelServiceOutputs:
        change = {api: cleared(getattr(olds, name), getattr(news, name)) for name, api in UPDATABLE.items()
                  if getattr(olds, name) != getattr(news, name)}
        if not change:
            return outputs
        result = self.client.call("UpdateModelService", "PUT", f"{PATH}/{id}", json={"updateModelService": change},
                                  timeout_s=news.wait_timeout_s)
        inv = result.get("inventory") or self.client.get("QueryModelService", PATH, id)  # the job's result first
        return self._outputs(inv) if inv else outputs

    def delete(self, id: str, inputs: ModelServiceInputs, outputs: ModelServiceOutputs) -> None:
        self._delete(id, inputs)

    def _delete(self, uid: str, inputs: ModelServiceInputs, timeout_s: float | None = None) -> None:
        self.client.call("DeleteModelService", "DELETE", f"{PATH}/{uid}", params={"deleteMode": inputs.delete_mode},
                         timeout_s=timeout_s or inputs.wait_timeout_s)

    @staticmethod
    def _outputs(inv: dict[str, Any]) -> ModelServiceOutputs:
        def as_list(v: Any) -> list[Any]:
            return v if isinstance(v, list) else []

        return ModelServiceOutputs(
            uuid=inv.get("uuid"), readme=text(inv.get("readme")), size=inv.get("size"),
            cpu_architectures=[a for a in as_list(inv.get("cpuArchitectures")) if isinstance(a, str)],
            model_service_refs=[r for r in as_list(inv.get("modelServiceRefs")) if isinstance(r, dict)],
            model_service_images=[i for i in as_list(inv.get("modelServiceImages")) if isinstance(i, dict)],
            vendor_to_spec_uuids_map=inv.get("vendorToSpecUuidsMap") or {},
            create_date=inv.get("createDate"), last_op_date=inv.get("lastOpDate"))


# ---- BEGIN GENERATED by `python -m tools.codegen`: do not edit this region by hand ----
# The typed resource class, from the models above (docs: docs/reference/zstack.md#modelservice).
from collections.abc import Sequence  # noqa: E402
from typing import Any, Literal  # noqa: E402

import pulumi  # noqa: E402

from providers.core import Resource  # noqa: E402


class ModelService(Resource, handler=ModelServiceHandler):
    """zstack:ModelService — a model service definition in a model center (AddModelService, spec §6.3).

    Definition only: the service's YAML, resources, start command and image settings are registered;
    deploying it (``deployModelService``, instance groups) is not managed here (docs/zstack.md says why).
    UpdateModelService (``PUT /v1/ai/model-services/{uuid}``, wrapper ``updateModelService``) changes
    the name, description, YAML, CPU and memory requests, GPU compute capability, start command, Python
    version and type in place; everything else is create-time only, so it replaces. ``yaml`` is an
    opaque string: sent and compared as given. A Model binds itself to services with its
    ``model_service_uuids``; ``model_uuids`` here binds models at create time instead.

    Reference: docs/reference/zstack.md#modelservice
    """

    name: pulumi.Output[str]
    yaml: pulumi.Output[str]
    """the service definition, an opaque string sent as given"""
    model_center_uuid: pulumi.Output[str]
    """normally a ModelCenter resource's id"""
    request_cpu: pulumi.Output[int]
    """CPU cores requested"""
    request_memory: pulumi.Output[int]
    """memory requested, in the platform's unit (undocumented)"""
    install_path: pulumi.Output[str]
    start_command: pulumi.Output[str]
    description: pulumi.Output[str | None]
    type: pulumi.Output[Literal["Endpoint", "FineTune", "ModelEval", "App"]]
    source: pulumi.Output[Literal["Other", "Bentoml", "HuggingFace"]]
    framework: pulumi.Output[str | None]
    """free text on create; UpdateModelService cannot change it"""
    gpu_compute_capability: pulumi.Output[str | None]
    python_version: pulumi.Output[str | None]
    conda_version: pulumi.Output[str | None]
    container_command: pulumi.Output[str | None]
    container_args: pulumi.Output[str | None]
    system: pulumi.Output[bool]
    support_distributed: pulumi.Output[bool]
    zone_uuid: pulumi.Output[str | None]
    """not in the inventory"""
    model_uuids: pulumi.Output[list[str]]
    """models to bind at create (a Model's model_service_uuids binds too)"""
    tag_uuids: pulumi.Output[list[str]]
    system_tags: pulumi.Output[list[str]]
    user_tags: pulumi.Output[list[str]]
    resource_uuid: pulumi.Output[str | None]
    """the uuid to create it with; unset: one chosen by the provider"""
    delete_mode: pulumi.Output[Literal["Permissive", "Enforcing"]]
    """Permissive refuses while dependents exist; Enforcing deletes them too"""
    wait_timeout_s: pulumi.Output[int]
    """seconds to wait for each API job before failing the operation"""
    uuid: pulumi.Output[str]
    readme: pulumi.Output[str]
    size: pulumi.Output[int]
    cpu_architectures: pulumi.Output[list[str]]
    model_service_refs: pulumi.Output[list[dict[str, Any]]]
    """models bound to it"""
    model_service_images: pulumi.Output[list[dict[str, Any]]]
    vendor_to_spec_uuids_map: pulumi.Output[dict[str, Any]]
    create_date: pulumi.Output[str]
    last_op_date: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        name: pulumi.Input[str],
        yaml: pulumi.Input[str],
        model_center_uuid: pulumi.Input[str],
        request_cpu: pulumi.Input[int],
        request_memory: pulumi.Input[int],
        install_path: pulumi.Input[str],
        start_command: pulumi.Input[str],
        description: pulumi.Input[str] | None = None,
        type: pulumi.Input[Literal["Endpoint", "FineTune", "ModelEval", "App"]] = "Endpoint",
        source: pulumi.Input[Literal["Other", "Bentoml", "HuggingFace"]] = "Other",
        framework: pulumi.Input[str] | None = None,
        gpu_compute_capability: pulumi.Input[str] | None = None,
        python_version: pulumi.Input[str] | None = None,
        conda_version: pulumi.Input[str] | None = None,
        container_command: pulumi.Input[str] | None = None,
        container_args: pulumi.Input[str] | None = None,
        system: pulumi.Input[bool] = False,
        support_distributed: pulumi.Input[bool] = False,
        zone_uuid: pulumi.Input[str] | None = None,
        model_uuids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        tag_uuids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        system_tags: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        user_tags: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        resource_uuid: pulumi.Input[str] | None = None,
        delete_mode: pulumi.Input[Literal["Permissive", "Enforcing"]] = "Permissive",
        wait_timeout_s: pulumi.Input[int] = 1800,
    ) -> None:
        """Declare one zstack:ModelService.

        Args:
            resource_name: the Pulumi name of the resource (unique in the stack).
            opts: Pulumi resource options.
            name: required; length ≥ 1; length ≤ 255.
            yaml: the service definition, an opaque string sent as given; required; length ≥ 1.
            model_center_uuid: normally a ModelCenter resource's id; required; changing it replaces the resource;
                matches `^[0-9a-f]{32}$`.
            request_cpu: CPU cores requested; required; ≥ 1.
            request_memory: memory requested, in the platform's unit (undocumented); required; ≥ 1.
            install_path: required; changing it replaces the resource; length ≥ 1; length ≤ 2048.
            start_command: required; length ≥ 1.
            description: length ≤ 2048.
            type: default "Endpoint".
            source: default "Other"; changing it replaces the resource.
            framework: free text on create; UpdateModelService cannot change it; changing it replaces the resource;
                length ≤ 255.
            gpu_compute_capability: length ≤ 255.
            python_version: length ≤ 255.
            conda_version: changing it replaces the resource; length ≤ 255.
            container_command: changing it replaces the resource.
            container_args: changing it replaces the resource.
            system: default false; changing it replaces the resource.
            support_distributed: default false; changing it replaces the resource.
            zone_uuid: not in the inventory; changing it replaces the resource; write-only: the platform never returns
                it.
            model_uuids: models to bind at create (a Model's model_service_uuids binds too); default []; changing it
                replaces the resource; order does not matter; write-only: the platform never returns it; items:
                matches `^[0-9a-f]{32}$`.
            tag_uuids: default []; changing it replaces the resource; order does not matter; write-only: the platform
                never returns it; items: matches `^[0-9a-f]{32}$`.
            system_tags: default []; changing it replaces the resource; write-only: the platform never returns it;
                items: length ≥ 1, length ≤ 2048.
            user_tags: default []; changing it replaces the resource; order does not matter; write-only: the platform
                never returns it; items: length ≥ 1, length ≤ 2048.
            resource_uuid: the uuid to create it with; unset: one chosen by the provider; unset: the platform's
                choice; changing it replaces the resource.
            delete_mode: Permissive refuses while dependents exist; Enforcing deletes them too; default "Permissive";
                provider-side only.
            wait_timeout_s: seconds to wait for each API job before failing the operation; default 1800; provider-side
                only; ≥ 1; ≤ 21600.
        """
        given = {
            "name": name,
            "yaml": yaml,
            "model_center_uuid": model_center_uuid,
            "request_cpu": request_cpu,
            "request_memory": request_memory,
            "install_path": install_path,
            "start_command": start_command,
            "description": description,
            "type": type,
            "source": source,
            "framework": framework,
            "gpu_compute_capability": gpu_compute_capability,
            "python_version": python_version,
            "conda_version": conda_version,
            "container_command": container_command,
            "container_args": container_args,
            "system": system,
            "support_distributed": support_distributed,
            "zone_uuid": zone_uuid,
            "model_uuids": model_uuids,
            "tag_uuids": tag_uuids,
            "system_tags": system_tags,
            "user_tags": user_tags,
            "resource_uuid": resource_uuid,
            "delete_mode": delete_mode,
            "wait_timeout_s": wait_timeout_s,
        }
        super().__init__(resource_name, opts, **{k: v for k, v in given.items() if v is not None})
# ---- END GENERATED ----
