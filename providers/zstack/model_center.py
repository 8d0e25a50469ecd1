"""zstack:ModelCenter — the storage and service endpoint models live in (AddModelCenter, §6.2).

Every field but the zone and the tags changes in place (``updateModelCenter``); the zone and the
tags are create-time only, so they replace. ``zone_uuid`` is not in the inventory, so refresh
cannot see it change. Create, update and delete are API jobs.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from pydantic import field_validator

from providers.core import Created, Inputs, Observed, Outputs, prop
from providers.zstack.base import DeleteMode, Tag, Uuid, ZStackHandler, delete_mode, text, wait_timeout

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
    api, path, updatable = "ModelCenter", PATH, UPDATABLE

    def create(self, inputs: ModelCenterInputs) -> Created[ModelCenterOutputs]:
        param = {api: getattr(inputs, name) for name, api in UPDATABLE.items()}
        param.update(zoneUuid=inputs.zone_uuid, tagUuids=inputs.tag_uuids)
        uid, inventory = self.submit_create(inputs, param)
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

    # update and delete: ZStackHandler's (UpdateModelCenter with the UPDATABLE fields that changed;
    # DeleteModelCenter with delete_mode)

    @staticmethod
    def _outputs(inv: dict[str, Any]) -> ModelCenterOutputs:
        return ModelCenterOutputs(uuid=inv.get("uuid"), status=inv.get("status"), capacity=inv.get("capacity"),
                                  create_date=inv.get("createDate"), last_op_date=inv.get("lastOpDate"))
