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

from providers.core import Created, Inputs, Observed, Outputs, prop
from providers.zstack.base import DeleteMode, Tag, Uuid, ZStackHandler, delete_mode, text, wait_timeout

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
    api, path, updatable = "ModelService", PATH, UPDATABLE

    def create(self, inputs: ModelServiceInputs) -> Created[ModelServiceOutputs]:
        param = {api: getattr(inputs, name) for name, api in {**UPDATABLE, **CREATE_ONLY}.items()}
        param.update(zoneUuid=inputs.zone_uuid, modelUuids=inputs.model_uuids, tagUuids=inputs.tag_uuids)
        if not inputs.system:
            param["system"] = None  # the default: not sent
        if not inputs.support_distributed:
            param["supportDistributed"] = None
        uid, inventory = self.submit_create(inputs, param)
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

    # update and delete: ZStackHandler's (UpdateModelService with the UPDATABLE fields that changed;
    # DeleteModelService with delete_mode)

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
