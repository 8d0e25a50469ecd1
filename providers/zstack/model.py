"""zstack:Model — a model registered in a model center: every AddModel field of the seed page.

UpdateModel (``PUT /v1/ai/models/{uuid}``, wrapper ``updateModel``) changes name, install path,
description, vendor, parameters, model center, GPU hints, model id, classifications and the default
service in place; logo, introduction, size, version, token, share mode, service bindings and the
tags are create-time only, so they replace. ``token`` is secret and write-only (the inventory never
shows it), as are the share mode, tags and default service: refresh keeps them from state.
AddModel takes no classifications: when they are set, create runs UpdateModel right after it.
``size`` is MiB: the vendor documents no unit, and the seed's 102400 for a 32B model only makes
sense in MiB (the inventory's separate ``artifactSizeBytes`` is in bytes).
"""

from __future__ import annotations

from typing import Any, Literal

from providers.core import Created, CreatedButFailed, Inputs, Observed, Outputs, ProviderError, prop
from providers.zstack.base import DeleteMode, Tag, Uuid, ZStackHandler, delete_mode, text, wait_timeout

PATH = "/v1/ai/models"
UPDATABLE = {"name": "name", "install_path": "installPath", "description": "description", "vendor": "vendor",
             "parameters": "parameters", "model_center_uuid": "modelCenterUuid",
             "recommended_gpu_num": "recommendedGpuNum", "gpu_constraint_description": "gpuConstraintDescription",
             "model_id": "modelId", "default_model_service_uuid": "defaultModelServiceUuid",
             "model_classifications": "modelClassifications"}
CREATE_ONLY = {"logo": "logo", "introduction": "introduction", "size": "size", "version": "version",
               "token": "token", "share_mode": "shareMode", "model_service_uuids": "modelServiceUuids",
               "tag_uuids": "tagUuids"}
VISIBLE = ("name", "install_path", "description", "vendor", "parameters", "model_center_uuid",
           "gpu_constraint_description", "model_id", "logo", "introduction", "version")


class ModelInputs(Inputs):
    name: str = prop(min_length=1, max_length=255)
    install_path: str = prop(min_length=1, max_length=255, description="e.g. 192.168.10.12:/ai/model_center/qwen")
    model_center_uuid: Uuid = prop(description="normally a ModelCenter resource's id")
    description: str | None = prop(None, max_length=255)
    parameters: str | None = prop(None, max_length=255, description="free-text model parameters")
    vendor: str | None = prop(None, max_length=255)
    recommended_gpu_num: str | None = prop(None, max_length=255, pattern=r"^\d+(,\d+)*$",
                                           description='GPU counts, e.g. "2" or "1,2"')
    gpu_constraint_description: str | None = prop(None, max_length=512)
    model_id: str | None = prop(None, max_length=255)
    default_model_service_uuid: Uuid | None = prop(None, write_only=True)
    model_classifications: list[str] = prop([], unordered=True, description="set in place (UpdateModel)")
    # create-time only
    logo: str | None = prop(None, replace=True, description="base64 image")
    introduction: str | None = prop(None, replace=True)
    size: int | None = prop(None, replace=True, ge=0, description="MiB (a guess: the vendor documents no unit)")
    version: str | None = prop(None, replace=True, max_length=255)
    token: str | None = prop(None, replace=True, secret=True, write_only=True, description="download token (write-only)")
    share_mode: Literal["Public"] | None = prop(None, replace=True, write_only=True)
    model_service_uuids: list[Uuid] = prop([], replace=True, unordered=True,
                                           description="services to bind, e.g. ModelService resources' ids")
    tag_uuids: list[Uuid] = prop([], replace=True, unordered=True, write_only=True)
    system_tags: list[Tag] = prop([], replace=True, write_only=True)
    user_tags: list[Tag] = prop([], replace=True, unordered=True, write_only=True)
    resource_uuid: Uuid | None = prop(None, replace=True, server_default=True,
                                      description="the uuid to create it with; unset: one chosen by the provider")
    delete_mode: DeleteMode = delete_mode()
    wait_timeout_s: int = wait_timeout()


class ModelOutputs(Outputs):
    uuid: str | None = None
    model_type: str | None = None
    model_service_refs: list[dict[str, Any]] = prop([], changes_with="*")
    min_gpu_memory: int | None = prop(None, changes_with="*")
    recommended_gpu_memory: int | None = prop(None, changes_with="*")
    extra_gpu_mem_request: int | None = prop(None, changes_with="*")
    version_semver: str | None = prop(None, changes_with="*")
    is_latest_version: bool | None = prop(None, changes_with="*")
    artifact_checksum: str | None = prop(None, changes_with="*")
    artifact_size_bytes: int | None = prop(None, changes_with="*")
    architecture_type: str | None = prop(None, changes_with="*")
    framework_version: str | None = prop(None, changes_with="*")
    required_accelerator: str | None = prop(None, changes_with="*")
    pipeline_tag: str | None = prop(None, changes_with="*")
    create_date: str | None = None
    last_op_date: str | None = prop(None, changes_with="*")


def gpu_num_text(value: Any) -> str | None:
    """The inventory shows recommendedGpuNum as a list of ints (or the string sent)."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or None
    return text(value)


class ModelHandler(ZStackHandler[ModelInputs, ModelOutputs]):
    id_doc = "the model's UUID."
    import_doc = "the UUID."
    refresh_doc = ("sees every field the inventory shows (name, install path, description, vendor, "
                   "parameters, model center, GPU hints, model id, logo, introduction, size, version, "
                   "service bindings); cannot see the token, share mode, tags or default service "
                   "(write-only: kept from state).")

    Inputs, Outputs = ModelInputs, ModelOutputs
    type_token = "zstack:Model"
    api, path, updatable = "Model", PATH, UPDATABLE

    def create(self, inputs: ModelInputs) -> Created[ModelOutputs]:
        param = {api: getattr(inputs, name) for name, api in {**UPDATABLE, **CREATE_ONLY}.items()
                 if name != "model_classifications"}  # AddModel does not take them
        uid, inventory = self.submit_create(inputs, param)
        if inputs.model_classifications:
            try:
                result = self.client.call("UpdateModel", "PUT", f"{PATH}/{uid}",
                                          json={"updateModel": {"modelClassifications": inputs.model_classifications}},
                                          timeout_s=inputs.wait_timeout_s)
            except ProviderError as exc:
                raise CreatedButFailed(f"{self.label(inputs)}: created {uid}, but setting its classifications "
                                       f"failed: {exc.message}", id=uid, outputs=self._outputs(inventory),
                                       cleanup=lambda: self._delete(uid, inputs)) from None
            inventory = result.get("inventory") or inventory
        return Created(uid, self._outputs(inventory))

    def read(self, id: str, inputs: ModelInputs, outputs: ModelOutputs) -> Observed | None:
        inv = self.client.get("QueryModel", PATH, id)
        if inv is None:
            return None
        seen: dict[str, Any] = {name: text(inv.get(UPDATABLE.get(name) or CREATE_ONLY[name])) for name in VISIBLE}
        seen["size"] = inv.get("size")
        seen["recommended_gpu_num"] = gpu_num_text(inv.get("recommendedGpuNum"))
        classes = inv.get("modelClassifications")
        if isinstance(classes, list):
            seen["model_classifications"] = sorted({c for c in classes if isinstance(c, str)})
        refs = inv.get("modelServiceRefs")
        # ModelServiceRefInventory (the official Java SDK): uuid, modelUuid, modelServiceUuid, isDefault
        if isinstance(refs, list):
            seen["model_service_uuids"] = sorted({r["modelServiceUuid"] for r in refs
                                                  if isinstance(r, dict) and r.get("modelServiceUuid")})
        return Observed(self.as_found(inputs, seen), self._outputs(inv))

    def update_body(self, olds: ModelInputs, news: ModelInputs) -> dict[str, Any]:
        change = super().update_body(olds, news)
        if change.get("defaultModelServiceUuid") == "":
            del change["defaultModelServiceUuid"]
            change["clearDefaultModelService"] = True
        if change.get("modelClassifications") == "":
            change["modelClassifications"] = []  # a list is cleared with an empty list
        return change

    # update and delete: ZStackHandler's (UpdateModel with update_body; DeleteModel with delete_mode)

    @staticmethod
    def _outputs(inv: dict[str, Any]) -> ModelOutputs:
        refs = inv.get("modelServiceRefs")
        return ModelOutputs(uuid=inv.get("uuid"), model_type=inv.get("type"),
                            model_service_refs=refs if isinstance(refs, list) else [],
                            min_gpu_memory=inv.get("minGpuMemory"),
                            recommended_gpu_memory=inv.get("recommendedGpuMemory"),
                            extra_gpu_mem_request=inv.get("extraGpuMemRequest"),
                            version_semver=text(inv.get("versionSemver")),
                            is_latest_version=inv.get("isLatestVersion"),
                            artifact_checksum=text(inv.get("artifactChecksum")),
                            artifact_size_bytes=inv.get("artifactSizeBytes"),
                            architecture_type=text(inv.get("architectureType")),
                            framework_version=text(inv.get("frameworkVersion")),
                            required_accelerator=text(inv.get("requiredAccelerator")),
                            pipeline_tag=text(inv.get("pipelineTag")),
                            create_date=inv.get("createDate"), last_op_date=inv.get("lastOpDate"))
