"""esd:Endpoint — a SageMaker inference endpoint deployed by ESD.

There is no update API, so every input forces a replacement, and replacement deletes first:
the physical name ``esd-<type>-<name>`` is unique and a role may hold one live endpoint only.

Create sends its POST without listing first: the platform itself refuses a taken name or role.
An endpoint that existed before the operation is never adopted (the error says how to import
it). After a lost reply, the endpoint with our physical name is ours when it started no earlier
than our POST by the platform's clock and holds what we sent. The record has no field for a
marker, so after an interrupted run (under the project's server) the endpoint with our physical
name is taken as the one that run sent when it holds exactly what we send, is not being deleted,
is not the object the resource's state holds, and started within the recovery window (24 h,
AIMODELS_RECOVERY_WINDOW_S). Create then waits for InService, riding out outages; a Failed
status or the deadline raises CreatedButFailed (cleanup: delete).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import StringConstraints, model_validator

from providers.core import (
    ApiError,
    Created,
    CreatedButFailed,
    Inputs,
    Observed,
    Outputs,
    Poll,
    ProviderError,
    RuleError,
    TransportError,
    create,
    is_import,
    is_transient,
    progress,
    prop,
    wait_for,
)
from providers.esd.base import CLOCK_MARGIN_S, EsdHandler, utc_epoch, wait_timeout

RoleName = Annotated[str, StringConstraints(min_length=1)]
# SageMaker's endpoint-name rule; the ESD schema itself only says "at most 20 characters". [guess]
NAME_PATTERN = r"^[A-Za-z0-9](-*[A-Za-z0-9])*$"


def physical_name(endpoint_type: str, name: str) -> str:
    return f"esd-{endpoint_type.lower()}-{name}"


class _NameReleasing(ProviderError):
    """The physical name is taken though no endpoint record holds it (SageMaker still deleting)."""


def _conflict(exc: ApiError) -> bool:
    """The platform's answers when the physical name or a role's one endpoint is taken."""
    text = exc.vendor_message or ""
    return "already existing model" in text or "has a valid endpoint already" in text


def _int(value: Any) -> int | None:
    """The platform returns numbers as strings ("1"); state keeps integers."""
    return None if value in (None, "", "N/A") else int(float(value))


class EndpointInputs(Inputs):
    name: str = prop(replace=True, min_length=1, max_length=20, pattern=NAME_PATTERN,
                     description="short name; the platform names the endpoint esd-<type>-<name>")
    endpoint_type: Literal["Async", "Real-time"] = prop(replace=True)
    instance_type: str = prop(replace=True, min_length=1, description="e.g. ml.g5.2xlarge")
    initial_instance_count: int = prop(1, replace=True, ge=1)
    autoscaling_enabled: bool = prop(False, replace=True)
    min_instance_number: int | None = prop(None, replace=True, server_default=True, ge=0)
    max_instance_number: int | None = prop(None, replace=True, server_default=True, ge=1)
    assign_to_roles: list[RoleName] = prop(replace=True, unordered=True, min_length=1, max_length=10,
                                           description="roles allowed to use it; one live endpoint per role")
    custom_docker_image_uri: str | None = prop(None, replace=True)
    custom_extensions: list[str] = prop([], replace=True, max_length=2, description="at most 2 extension URLs")
    wait_timeout_s: int = wait_timeout(1800)

    @model_validator(mode="after")
    def _platform_rules(self) -> EndpointInputs:
        if self.custom_extensions and self.custom_docker_image_uri:
            raise RuleError("custom_extensions", "cannot be used together with custom_docker_image_uri")
        if self.endpoint_type == "Real-time" and self.autoscaling_enabled and (self.min_instance_number or 0) < 1:
            raise RuleError("min_instance_number", "must be at least 1 for a Real-time endpoint with autoscaling")
        if (self.min_instance_number is not None and self.max_instance_number is not None
                and self.min_instance_number > self.max_instance_number):
            raise RuleError("max_instance_number", "must not be below min_instance_number")
        return self


class EndpointOutputs(Outputs):
    endpoint_name: str | None = None  # physical name
    deployment_id: str | None = None
    status: str | None = None
    current_instance_count: int | None = None
    start_time: str | None = None


class EndpointHandler(EsdHandler[EndpointInputs, EndpointOutputs]):
    id_doc = "the endpoint deployment job id (a UUID); the physical name ``esd-<type>-<name>`` is an output."
    import_doc = "the deployment job id."
    refresh_doc = ("sees the status, instance type and counts, autoscaling, min/max instances (when "
                   "declared) and roles; an endpoint Deleting or Deleted counts as gone. Cannot see custom "
                   "images or extensions.")

    Inputs, Outputs = EndpointInputs, EndpointOutputs
    type_token = "esd:Endpoint"
    delete_before_replace = True

    def label(self, inputs: EndpointInputs) -> str:
        return f"{self.type_token} {physical_name(inputs.endpoint_type, inputs.name)}"

    def planned_outputs(self, inputs: EndpointInputs) -> dict[str, Any]:
        return {"endpoint_name": physical_name(inputs.endpoint_type, inputs.name)}

    def create(self, inputs: EndpointInputs) -> Created[EndpointOutputs]:
        physical = physical_name(inputs.endpoint_type, inputs.name)
        label = self.label(inputs)
        since = self.client.server_now() - CLOCK_MARGIN_S  # nothing older than this is ours
        body = self._body(inputs)

        handle = create.handle()  # no field carries it: durable as "our name, what we sent, within the window"

        def mine(record: dict[str, Any] | None) -> dict[str, Any] | None:
            return record if record is not None and self._made_since(record, inputs, since) else None

        def interrupted(record: dict[str, Any] | None) -> bool:
            """Sent by an interrupted run of this resource (see the module docstring)."""
            return (record is not None and handle.durable and not handle.is_current(record["EndpointDeploymentJobId"])
                    and self._made_since(record, inputs, handle.since(since)))

        lost_before = False  # whether an earlier send of this operation got no usable reply

        def send() -> dict[str, Any]:
            nonlocal lost_before
            try:
                return self.client.create_endpoint(body)
            except ApiError as exc:
                if is_transient(exc):
                    lost_before = True
                if exc.status != 400 or not _conflict(exc):
                    raise
                # The name or a role is taken: by our own earlier send whose reply was lost (only
                # possible after such a send), or by an endpoint that existed before this
                # operation, which is never adopted.
                record = self.client.find_endpoint(physical)
                if lost_before and mine(record) is not None:
                    return record
                if interrupted(record):
                    progress(f"{label}: found the endpoint an interrupted run of this resource created; continuing")
                    return record
                if record is not None:
                    raise self.already_exists(f"endpoint {physical} ({record.get('endpoint_status')})",
                                              record["EndpointDeploymentJobId"], inputs.name) from None
                if "already existing model" in (exc.vendor_message or ""):
                    raise _NameReleasing(exc.message) from None  # deleted, SageMaker still releasing it
                raise
            except TransportError:
                lost_before = True
                raise

        def attempt() -> dict[str, Any]:
            return self.create_once(label, send, lambda: mine(self.client.find_endpoint(physical)))

        try:
            record = attempt()
        except _NameReleasing as exc:
            # A delete-first replacement: the old endpoint's record is gone but SageMaker still
            # holds its model name for a while. Ask again until the deadline.
            progress(f"{label}: the name is still being released by the previous endpoint ({exc}); retrying")

            def poll() -> Poll[dict[str, Any]]:
                try:
                    return Poll(attempt(), "created", done=True)
                except _NameReleasing:
                    return Poll(None, "name still being released")

            record = wait_for(label, poll, timeout_s=inputs.wait_timeout_s) or {}
        deployment_id = record["EndpointDeploymentJobId"]
        try:
            record = self._wait_in_service(inputs, deployment_id)
        except ProviderError as exc:
            # Only the platform (Failed) or the deadline ends the wait; an outage is ridden out.
            # Under the stock server the endpoint is deleted (cleanup), since it cannot be kept in
            # state and would block the name and its roles' one-endpoint slot on the next `up`.
            raise CreatedButFailed(
                f"{exc.message} (endpoint {physical}, deployment {deployment_id})", id=deployment_id,
                outputs=self._outputs(record), cleanup=lambda: self.client.delete_endpoints([physical])) from exc
        return Created(deployment_id, self._outputs(record))

    def read(self, id: str, inputs: EndpointInputs, outputs: EndpointOutputs) -> Observed | None:
        record = self.client.get_endpoint(id)
        if record is None or record.get("endpoint_status") in ("Deleting", "Deleted"):
            return None
        imported = is_import(inputs)
        etype = record.get("endpoint_type") or getattr(inputs, "endpoint_type", None)
        prefix = f"esd-{str(etype).lower()}-"
        physical = record.get("endpoint_name") or ""
        exts = record.get("custom_extensions")
        seen = inputs.model_copy(update={
            "name": physical[len(prefix):] if physical.startswith(prefix) else getattr(inputs, "name", physical),
            "endpoint_type": etype,
            "instance_type": record.get("instance_type") or getattr(inputs, "instance_type", None),
            "autoscaling_enabled": bool(record.get("autoscaling")),
            "assign_to_roles": record.get("owner_group_or_role") or getattr(inputs, "assign_to_roles", []),
            "min_instance_number": (_int(record.get("min_instance_number"))
                                    if imported or inputs.min_instance_number is not None else None),
            "max_instance_number": (_int(record.get("max_instance_number"))
                                    if imported or inputs.max_instance_number is not None else None),
            **({"custom_extensions": [e for e in str(exts).split(",") if e]} if imported and exts else {}),
        })
        return Observed(seen, self._outputs(record))

    def delete(self, id: str, inputs: EndpointInputs, outputs: EndpointOutputs) -> None:
        self.client.delete_endpoints([outputs.endpoint_name or physical_name(inputs.endpoint_type, inputs.name)])

    # -- helpers
    def _body(self, inputs: EndpointInputs) -> dict[str, Any]:
        body: dict[str, Any] = {
            "endpoint_name": inputs.name,
            "endpoint_type": inputs.endpoint_type,
            "instance_type": inputs.instance_type,
            "initial_instance_count": inputs.initial_instance_count,
            "autoscaling_enabled": inputs.autoscaling_enabled,
            "assign_to_roles": inputs.assign_to_roles,
            "creator": self.client.username,
        }
        for key in ("min_instance_number", "max_instance_number", "custom_docker_image_uri"):
            if getattr(inputs, key) is not None:
                body[key] = getattr(inputs, key)
        if inputs.custom_extensions:
            body["custom_extensions"] = ",".join(inputs.custom_extensions)
        return body

    @staticmethod
    def _made_since(record: dict[str, Any], inputs: EndpointInputs, since: float) -> bool:
        """Made by this operation: started no earlier than our POST (platform clock) and holding
        what we sent. An endpoint that existed before the operation has an older startTime."""
        return (record.get("endpoint_status") not in ("Deleting", "Deleted")
                and utc_epoch(record.get("startTime")) >= since
                and record.get("endpoint_type") == inputs.endpoint_type
                and record.get("instance_type") == inputs.instance_type
                and sorted(record.get("owner_group_or_role") or []) == sorted(inputs.assign_to_roles))

    def _wait_in_service(self, inputs: EndpointInputs, deployment_id: str) -> dict[str, Any]:
        def poll() -> Poll[dict[str, Any]]:
            record = self.client.get_endpoint(deployment_id)
            if record is None:
                return Poll(None, "gone", failure="the endpoint record disappeared while waiting")
            status = record.get("endpoint_status") or "unknown"
            failure = (record.get("error") or "no reason given") if status == "Failed" else None
            return Poll(record, status, done=status == "InService", failure=failure)

        return wait_for(self.label(inputs), poll, timeout_s=inputs.wait_timeout_s)

    @staticmethod
    def _outputs(record: dict[str, Any]) -> EndpointOutputs:
        return EndpointOutputs(
            endpoint_name=record.get("endpoint_name"),
            deployment_id=record.get("EndpointDeploymentJobId"),
            status=record.get("endpoint_status"),
            current_instance_count=_int(record.get("current_instance_count")),
            start_time=record.get("startTime"),
        )
