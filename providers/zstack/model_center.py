"""zstack:ModelCenter — the storage and service endpoint models live in (AddModelCenter, §6.2).

Every field but the zone and the tags changes in place (``updateModelCenter``); the zone and the
tags are create-time only, so they replace. ``zone_uuid`` is not in the inventory, so refresh
cannot see it change. Create, update and delete are API jobs.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pulumi
from pydantic import field_validator

from providers.core import Created, Inputs, Observed, Outputs, Resource, prop
from providers.zstack.base import (DeleteMode, Tag, Uuid, ZStackHandler, cleared, delete_mode, text,
                                   wait_timeout)

PATH = "/v1/ai/model-centers"
# input field -> API field, for the fields UpdateModelCenter accepts
UPDATABLE = {"name": "name", "url": "url", "description": "description", "parameters": "parameters",
             "management_ip": "managementIp", "management_port": "managementPort",
             "storage_network_uuid": "storageNetworkUuid", "service_network_uuid": "serviceNetworkUuid",
             "container_registry": "containerRegistry", "container_network": "containerNetwork",
             "container_storage_network": "containerStorageNetwork"}


class ModelCenterInputs(Inputs):
    name: str = prop(min_length=1, max_length=255)
    url: str = prop(min_length=1, max_length=255, description="export holding the models, e.g. 10.0.0.12:/ai/mc")
    management_ip: str = prop(description="IP address of the model center's management service")
    management_port: int = prop(ge=1, le=65535)
    zone_uuid: Uuid | None = prop(None, replace=True, description="required by ZStack 5.5+; create-time only")
    description: str | None = prop(None, max_length=255)
    parameters: str | None = prop(None, max_length=255, description="mount parameters")
    storage_network_uuid: Uuid | None = None
    service_network_uuid: Uuid | None = None
    container_registry: str | None = prop(None, max_length=255)
    container_network: str | None = prop(None, max_length=255)
    container_storage_network: str | None = prop(None, max_length=255)
    tag_uuids: list[Uuid] = prop([], replace=True, unordered=True, write_only=True)
    system_tags: list[Tag] = prop([], replace=True, write_only=True)
    user_tags: list[Tag] = prop([], replace=True, unordered=True, write_only=True)
    resource_uuid: Uuid | None = prop(None, replace=True, server_default=True,
                                      description="the uuid to create it with; unset: one chosen by the provider")
    delete_mode: DeleteMode = delete_mode()
    wait_timeout_s: int = wait_timeout()

    @field_validator("management_ip")
    @classmethod
    def _ip(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address") from None


class ModelCenterOutputs(Outputs):
    uuid: str | None = None
    status: str | None = prop(None, changes_with="*")
    capacity: dict[str, Any] | None = prop(None, changes_with="*")
    create_date: str | None = None
    last_op_date: str | None = prop(None, changes_with="*")


class ModelCenterHandler(ZStackHandler[ModelCenterInputs, ModelCenterOutputs]):
    id_doc = "the model center's UUID."
    import_doc = "the UUID."
    refresh_doc = ("sees every field UpdateModelCenter changes (name, URL, description, parameters, "
                   "management address, networks, container settings); cannot see the zone or the tags (not "
                   "in the inventory).")

    Inputs, Outputs = ModelCenterInputs, ModelCenterOutputs
    type_token = "zstack:ModelCenter"

    def create(self, inputs: ModelCenterInputs) -> Created[ModelCenterOutputs]:
        param = {api: getattr(inputs, name) for name, api in UPDATABLE.items()}
        param.update(zoneUuid=inputs.zone_uuid, tagUuids=inputs.tag_uuids)
        uid, inventory = self.submit_create(self.label(inputs), "AddModelCenter", PATH, param, inputs,
                                            self._outputs, lambda u, t: self._delete(u, inputs, t))
        return Created(uid, self._outputs(inventory))

    def read(self, id: str, inputs: ModelCenterInputs, outputs: ModelCenterOutputs) -> Observed | None:
        inv = self.client.get("QueryModelCenter", PATH, id)
        if inv is None:
            return None
        seen: dict[str, Any] = {name: text(inv.get(api)) for name, api in UPDATABLE.items()}
        seen["management_port"] = inv.get("managementPort")
        if inputs is None:
            seen["zone_uuid"] = text(inv.get("zoneUuid"))
        return Observed(self.as_found(inputs, seen), self._outputs(inv))

    def update(self, id: str, olds: ModelCenterInputs, news: ModelCenterInputs,
               outputs: ModelCenterOutputs) -> ModelCenterOutputs:
        change = {api: cleared(getattr(olds, name), getattr(news, name)) for name, api in UPDATABLE.items()
                  if getattr(olds, name) != getattr(news, name)}
        if not change:
            return outputs
        result = self.client.call("UpdateModelCenter", "PUT", f"{PATH}/{id}", json={"updateModelCenter": change},
                                  timeout_s=news.wait_timeout_s)
        inv = result.get("inventory") or self.client.get("QueryModelCenter", PATH, id)  # the job's result first
        return self._outputs(inv) if inv else outputs

    def delete(self, id: str, inputs: ModelCenterInputs, outputs: ModelCenterOutputs) -> None:
        self._delete(id, inputs)

    def _delete(self, uid: str, inputs: ModelCenterInputs, timeout_s: float | None = None) -> None:
        self.client.call("DeleteModelCenter", "DELETE", f"{PATH}/{uid}", params={"deleteMode": inputs.delete_mode},
                         timeout_s=timeout_s or inputs.wait_timeout_s)

    @staticmethod
    def _outputs(inv: dict[str, Any]) -> ModelCenterOutputs:
        return ModelCenterOutputs(uuid=inv.get("uuid"), status=inv.get("status"), capacity=inv.get("capacity"),
                                  create_date=inv.get("createDate"), last_op_date=inv.get("lastOpDate"))


# ---- BEGIN GENERATED by `python -m tools.codegen`: do not edit this region by hand ----
# The typed resource class, from the models above (docs: docs/reference/zstack.md#modelcenter).
from collections.abc import Sequence  # noqa: E402
from typing import Any, Literal  # noqa: E402

import pulumi  # noqa: E402

from providers.core import Resource  # noqa: E402


class ModelCenter(Resource, handler=ModelCenterHandler):
    """zstack:ModelCenter — the storage and service endpoint models live in (AddModelCenter, §6.2).

    Every field but the zone and the tags changes in place (``updateModelCenter``); the zone and the
    tags are create-time only, so they replace. ``zone_uuid`` is not in the inventory, so refresh
    cannot see it change. Create, update and delete are API jobs.

    Reference: docs/reference/zstack.md#modelcenter
    """

    name: pulumi.Output[str]
    url: pulumi.Output[str]
    """export holding the models, e.g. 10.0.0.12:/ai/mc"""
    management_ip: pulumi.Output[str]
    """IP address of the model center's management service"""
    management_port: pulumi.Output[int]
    zone_uuid: pulumi.Output[str | None]
    """required by ZStack 5.5+; create-time only"""
    description: pulumi.Output[str | None]
    parameters: pulumi.Output[str | None]
    """mount parameters"""
    storage_network_uuid: pulumi.Output[str | None]
    service_network_uuid: pulumi.Output[str | None]
    container_registry: pulumi.Output[str | None]
    container_network: pulumi.Output[str | None]
    container_storage_network: pulumi.Output[str | None]
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
    status: pulumi.Output[str]
    capacity: pulumi.Output[dict[str, Any]]
    create_date: pulumi.Output[str]
    last_op_date: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        name: pulumi.Input[str],
        url: pulumi.Input[str],
        management_ip: pulumi.Input[str],
        management_port: pulumi.Input[int],
        zone_uuid: pulumi.Input[str] | None = None,
        description: pulumi.Input[str] | None = None,
        parameters: pulumi.Input[str] | None = None,
        storage_network_uuid: pulumi.Input[str] | None = None,
        service_network_uuid: pulumi.Input[str] | None = None,
        container_registry: pulumi.Input[str] | None = None,
        container_network: pulumi.Input[str] | None = None,
        container_storage_network: pulumi.Input[str] | None = None,
        tag_uuids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        system_tags: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        user_tags: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        resource_uuid: pulumi.Input[str] | None = None,
        delete_mode: pulumi.Input[Literal["Permissive", "Enforcing"]] = "Permissive",
        wait_timeout_s: pulumi.Input[int] = 1800,
    ) -> None:
        """Declare one zstack:ModelCenter.

        Args:
            resource_name: the Pulumi name of the resource (unique in the stack).
            opts: Pulumi resource options.
            name: required; length ≥ 1; length ≤ 255.
            url: export holding the models, e.g. 10.0.0.12:/ai/mc; required; length ≥ 1; length ≤ 255.
            management_ip: IP address of the model center's management service; required.
            management_port: required; ≥ 1; ≤ 65535.
            zone_uuid: required by ZStack 5.5+; create-time only; changing it replaces the resource.
            description: length ≤ 255.
            parameters: mount parameters; length ≤ 255.
            storage_network_uuid: .
            service_network_uuid: .
            container_registry: length ≤ 255.
            container_network: length ≤ 255.
            container_storage_network: length ≤ 255.
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
            "url": url,
            "management_ip": management_ip,
            "management_port": management_port,
            "zone_uuid": zone_uuid,
            "description": description,
            "parameters": parameters,
            "storage_network_uuid": storage_network_uuid,
            "service_network_uuid": service_network_uuid,
            "container_registry": container_registry,
            "container_network": container_network,
            "container_storage_network": container_storage_network,
            "tag_uuids": tag_uuids,
            "system_tags": system_tags,
            "user_tags": user_tags,
            "resource_uuid": resource_uuid,
            "delete_mode": delete_mode,
            "wait_timeout_s": wait_timeout_s,
        }
        super().__init__(resource_name, opts, **{k: v for k, v in given.items() if v is not None})
# ---- END GENERATED ----
