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

import pulumi

from providers.core import Created, CreatedButFailed, Inputs, Observed, Outputs, ProviderError, Resource, prop
from providers.zstack.base import (DeleteMode, Tag, Uuid, ZStackHandler, cleared, delete_mode, text,
                                   wait_timeout)

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

    def create(self, inputs: ModelInputs) -> Created[ModelOutputs]:
        param = {api: getattr(inputs, name) for name, api in {**UPDATABLE, **CREATE_ONLY}.items()
                 if name != "model_classifications"}  # AddModel does not take them
        uid, inventory = self.submit_create(self.label(inputs), "AddModel", PATH, param, inputs,
                                            self._outputs, lambda u, t: self._delete(u, inputs, t))
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

    def update(self, id: str, olds: ModelInputs, news: ModelInputs, outputs: ModelOutputs) -> ModelOutputs:
        change: dict[str, Any] = {}
        for name, api in UPDATABLE.items():
            old, new = getattr(olds, name), getattr(news, name)
            if old != new:
                change[api] = cleared(old, new)
        if change.get("defaultModelServiceUuid") == "":
            del change["defaultModelServiceUuid"]
            change["clearDefaultModelService"] = True
        if change.get("modelClassifications") == "":
            change["modelClassifications"] = []  # a list is cleared with an empty list
        if not change:
            return outputs
        result = self.client.call("UpdateModel", "PUT", f"{PATH}/{id}", json={"updateModel": change},
                                  timeout_s=news.wait_timeout_s)
        inv = result.get("inventory") or self.client.get("QueryModel", PATH, id)  # the job's result first
        return self._outputs(inv) if inv else outputs

    def delete(self, id: str, inputs: ModelInputs, outputs: ModelOutputs) -> None:
        self._delete(id, inputs)

    def _delete(self, uid: str, inputs: ModelInputs, timeout_s: float | None = None) -> None:
        self.client.call("DeleteModel", "DELETE", f"{PATH}/{uid}", params={"deleteMode": inputs.delete_mode},
                         timeout_s=timeout_s or inputs.wait_timeout_s)

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


# ---- BEGIN GENERATED by `python -m tools.codegen`: do not edit this region by hand ----
# The typed resource class, from the models above (docs: docs/reference/zstack.md#model).
from collections.abc import Sequence  # noqa: E402
from typing import Any, Literal  # noqa: E402

import pulumi  # noqa: E402

from providers.core import Resource  # noqa: E402


class Model(Resource, handler=ModelHandler):
    """zstack:Model — a model registered in a model center: every AddModel field of the seed page.

    UpdateModel (``PUT /v1/ai/models/{uuid}``, wrapper ``updateModel``) changes name, install path,
    description, vendor, parameters, model center, GPU hints, model id, classifications and the default
    service in place; logo, introduction, size, version, token, share mode, service bindings and the
    tags are create-time only, so they replace. ``token`` is secret and write-only (the inventory never
    shows it), as are the share mode, tags and default service: refresh keeps them from state.
    AddModel takes no classifications: when they are set, create runs UpdateModel right after it.
    ``size`` is MiB: the vendor documents no unit, and the seed's 102400 for a 32B model only makes
    sense in MiB (the inventory's separate ``artifactSizeBytes`` is in bytes).

    Reference: docs/reference/zstack.md#model
    """

    name: pulumi.Output[str]
    install_path: pulumi.Output[str]
    """e.g. 192.168.10.12:/ai/model_center/qwen"""
    model_center_uuid: pulumi.Output[str]
    """normally a ModelCenter resource's id"""
    description: pulumi.Output[str | None]
    parameters: pulumi.Output[str | None]
    """free-text model parameters"""
    vendor: pulumi.Output[str | None]
    recommended_gpu_num: pulumi.Output[str | None]
    """GPU counts, e.g. "2" or "1,2\""""
    gpu_constraint_description: pulumi.Output[str | None]
    model_id: pulumi.Output[str | None]
    default_model_service_uuid: pulumi.Output[str | None]
    model_classifications: pulumi.Output[list[str]]
    """set in place (UpdateModel)"""
    logo: pulumi.Output[str | None]
    """base64 image"""
    introduction: pulumi.Output[str | None]
    size: pulumi.Output[int | None]
    """MiB (a guess: the vendor documents no unit)"""
    version: pulumi.Output[str | None]
    token: pulumi.Output[str | None]
    """download token (write-only)"""
    share_mode: pulumi.Output[Literal["Public"] | None]
    model_service_uuids: pulumi.Output[list[str]]
    """services to bind, e.g. ModelService resources' ids"""
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
    model_type: pulumi.Output[str]
    model_service_refs: pulumi.Output[list[dict[str, Any]]]
    min_gpu_memory: pulumi.Output[int]
    recommended_gpu_memory: pulumi.Output[int]
    extra_gpu_mem_request: pulumi.Output[int]
    version_semver: pulumi.Output[str]
    is_latest_version: pulumi.Output[bool]
    artifact_checksum: pulumi.Output[str]
    artifact_size_bytes: pulumi.Output[int]
    architecture_type: pulumi.Output[str]
    framework_version: pulumi.Output[str]
    required_accelerator: pulumi.Output[str]
    pipeline_tag: pulumi.Output[str]
    create_date: pulumi.Output[str]
    last_op_date: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        name: pulumi.Input[str],
        install_path: pulumi.Input[str],
        model_center_uuid: pulumi.Input[str],
        description: pulumi.Input[str] | None = None,
        parameters: pulumi.Input[str] | None = None,
        vendor: pulumi.Input[str] | None = None,
        recommended_gpu_num: pulumi.Input[str] | None = None,
        gpu_constraint_description: pulumi.Input[str] | None = None,
        model_id: pulumi.Input[str] | None = None,
        default_model_service_uuid: pulumi.Input[str] | None = None,
        model_classifications: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        logo: pulumi.Input[str] | None = None,
        introduction: pulumi.Input[str] | None = None,
        size: pulumi.Input[int] | None = None,
        version: pulumi.Input[str] | None = None,
        token: pulumi.Input[str] | None = None,
        share_mode: pulumi.Input[Literal["Public"]] | None = None,
        model_service_uuids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        tag_uuids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        system_tags: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        user_tags: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        resource_uuid: pulumi.Input[str] | None = None,
        delete_mode: pulumi.Input[Literal["Permissive", "Enforcing"]] = "Permissive",
        wait_timeout_s: pulumi.Input[int] = 1800,
    ) -> None:
        """Declare one zstack:Model.

        Args:
            resource_name: the Pulumi name of the resource (unique in the stack).
            opts: Pulumi resource options.
            name: required; length ≥ 1; length ≤ 255.
            install_path: e.g. 192.168.10.12:/ai/model_center/qwen; required; length ≥ 1; length ≤ 255.
            model_center_uuid: normally a ModelCenter resource's id; required; matches `^[0-9a-f]{32}$`.
            description: length ≤ 255.
            parameters: free-text model parameters; length ≤ 255.
            vendor: length ≤ 255.
            recommended_gpu_num: GPU counts, e.g. "2" or "1,2"; length ≤ 255; matches `^\\d+(,\\d+)*$`.
            gpu_constraint_description: length ≤ 512.
            model_id: length ≤ 255.
            default_model_service_uuid: write-only: the platform never returns it.
            model_classifications: set in place (UpdateModel); default []; order does not matter.
            logo: base64 image; changing it replaces the resource.
            introduction: changing it replaces the resource.
            size: MiB (a guess: the vendor documents no unit); changing it replaces the resource; ≥ 0.
            version: changing it replaces the resource; length ≤ 255.
            token: download token (write-only); changing it replaces the resource; secret; write-only: the platform
                never returns it.
            share_mode: changing it replaces the resource; write-only: the platform never returns it.
            model_service_uuids: services to bind, e.g. ModelService resources' ids; default []; changing it replaces
                the resource; order does not matter; items: matches `^[0-9a-f]{32}$`.
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
            "install_path": install_path,
            "model_center_uuid": model_center_uuid,
            "description": description,
            "parameters": parameters,
            "vendor": vendor,
            "recommended_gpu_num": recommended_gpu_num,
            "gpu_constraint_description": gpu_constraint_description,
            "model_id": model_id,
            "default_model_service_uuid": default_model_service_uuid,
            "model_classifications": model_classifications,
            "logo": logo,
            "introduction": introduction,
            "size": size,
            "version": version,
            "token": token,
            "share_mode": share_mode,
            "model_service_uuids": model_service_uuids,
            "tag_uuids": tag_uuids,
            "system_tags": system_tags,
            "user_tags": user_tags,
            "resource_uuid": resource_uuid,
            "delete_mode": delete_mode,
            "wait_timeout_s": wait_timeout_s,
        }
        super().__init__(resource_name, opts, **{k: v for k, v in given.items() if v is not None})
# ---- END GENERATED ----
