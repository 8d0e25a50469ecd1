"""What every ZStack resource shares: the client, uuid and tag types, delete mode, wait deadline,
and the create/update/delete pattern of an async API with a uuid we choose ourselves."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import StringConstraints

from providers.core import (
    ApiError,
    CreatedButFailed,
    Handler,
    Inputs,
    Outputs,
    TransportError,
    create,
    marks_of,
    progress,
    prop,
)
from providers.zstack.client import JobTimeout, ZStackClient, ZStackSettings, new_uuid

I = TypeVar("I", bound=Inputs)
O = TypeVar("O", bound=Outputs)

Uuid = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
DeleteMode = Literal["Permissive", "Enforcing"]
CLEANUP_WAIT_S = 600  # how long a cleanup waits for a create job that outlived its deadline


def delete_mode() -> Any:
    return prop("Permissive", local=True,
                description="Permissive refuses while dependents exist; Enforcing deletes them too")


def wait_timeout(default_s: int = 1800) -> Any:
    return prop(default_s, local=True, ge=1, le=6 * 3600,
                description="seconds to wait for each API job before failing the operation")


def text(value: Any) -> str | None:
    """Inventories may carry "" for an unset string: treat it as unset."""
    return value if isinstance(value, str) and value != "" else None


def cleared(old: Any, new: Any) -> Any:
    """An update field: the new value, or "" to clear one that was set (null means "unchanged")."""
    return "" if new is None and old is not None else new


class ZStackHandler(Handler[I, O]):
    """Each resource sets ``api`` (the noun of its calls: Add<api>, Query<api>, Update<api>,
    Delete<api>), ``path`` (the route they live under), ``updatable`` (input name -> API field, for
    the fields Update<api> accepts) and ``_outputs`` (the outputs an inventory shows)."""

    Settings = ZStackSettings
    Client = ZStackClient
    client: ZStackClient
    api: ClassVar[str]
    path: ClassVar[str]
    updatable: ClassVar[dict[str, str]]

    @staticmethod
    def _outputs(inv: dict[str, Any]) -> Any:
        raise NotImplementedError

    def check_change(self, olds: I, news: I) -> list[tuple[str, str]]:
        """A pinned ``resource_uuid`` cannot survive a create-before-delete replacement: the new
        object would need the uuid the old one still holds, and ZStack refuses a used uuid."""
        pinned = getattr(olds, "resource_uuid", None)
        if pinned is None or getattr(news, "resource_uuid", None) != pinned:
            return []
        replacing = [name for name, field in type(news).model_fields.items()
                     if marks_of(field).replace and name != "resource_uuid"
                     and getattr(olds, name) != getattr(news, name)]
        if not replacing:
            return []
        return [("resource_uuid", f"is pinned to {pinned}, so replacing the object (because "
                                  f"{', '.join(replacing)} changed) would need that uuid twice; "
                                  "change resource_uuid too, or unset it")]

    def submit_create(self, inputs: Any, param: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Run Add<api> with ``resourceUuid`` chosen here, so the object is ours and findable.

        Returns (uuid, inventory). ``_outputs`` renders an inventory (``{"uuid": ...}`` when only the
        uuid is known). If the job outlives the deadline the object may still appear: CreatedButFailed
        carries its uuid and a cleanup that deletes it. If the job answers a failure (or the server
        an outage), the chosen uuid is looked up before the failure is believed: an object found
        under it was made by this create, so it is reported as created-but-failed with that id,
        never left behind unrecorded (the next ``up`` would make a second one).
        """
        what, operation, path, outputs = self.label(inputs), f"Add{self.api}", self.path, self._outputs

        def delete(uid: str, timeout_s: float) -> None:
            self._delete(uid, inputs, timeout_s)

        handle = create.handle()  # durable under the project's server: a re-run asks for the same uuid
        uid = inputs.resource_uuid or (handle.uuid() if handle.durable else new_uuid())
        if handle.durable and not inputs.resource_uuid and not handle.is_current(uid):
            # An interrupted run of this resource may have made it (rides out an outage like any look-up).
            found = create.look_up(what, lambda: self.client.get(f"Query{self.api}", path, uid))
            if found:
                progress(f"{what}: found {uid}, which an interrupted run of this resource created; continuing")
                return uid, found
        body = {"param": {k: v for k, v in {**param, "resourceUuid": uid}.items() if v is not None and v != []},
                "systemTags": list(inputs.system_tags), "userTags": list(inputs.user_tags)}
        try:
            result = self.client.call(operation, "POST", path, json=body, timeout_s=inputs.wait_timeout_s)
        except ApiError as exc:
            if exc.status < 500 or getattr(exc, "login", False):
                raise  # refused before any job ran (a framework 400, a failed login): nothing was made
            try:
                found = self.client.get(f"Query{self.api}", path, uid)
            except (ApiError, TransportError) as lookup:
                raise CreatedButFailed(
                    f"{what}: {exc.message}; whether {uid} was created could not be checked ({lookup.message})",
                    id=uid, outputs=outputs({"uuid": uid}),
                    cleanup=lambda: delete(uid, inputs.wait_timeout_s)) from None
            if found is None:
                raise
            progress(f"{what}: the job answered a failure, but {uid} exists: recording it as a failed create")
            raise CreatedButFailed(f"{what}: {exc.message}; yet {uid} was created", id=uid,
                                   outputs=outputs(found), cleanup=lambda: delete(uid, inputs.wait_timeout_s)) from None
        except JobTimeout as exc:
            timed_out = exc

            def cleanup() -> None:  # let the create finish first, or the delete could overtake it
                patience = max(CLEANUP_WAIT_S, inputs.wait_timeout_s)
                self.client.finish(timed_out, patience)
                delete(uid, patience)

            raise CreatedButFailed(f"{what}: {exc.message}", id=uid, outputs=outputs({"uuid": uid}),
                                   cleanup=cleanup) from None
        inventory = result.get("inventory") or self.client.get(f"Query{self.api}", path, uid)
        if not inventory:
            raise CreatedButFailed(f"{what}: the job succeeded but {uid} is not listed", id=uid,
                                   outputs=outputs({"uuid": uid}), cleanup=lambda: delete(uid, inputs.wait_timeout_s))
        progress(f"{what}: created {uid}")
        return uid, inventory

    def update_body(self, olds: Any, news: Any) -> dict[str, Any]:
        """The Update<api> fields: for each ``updatable`` input that changed, its API name and the
        new value (``cleared``)."""
        return {api: cleared(getattr(olds, name), getattr(news, name)) for name, api in self.updatable.items()
                if getattr(olds, name) != getattr(news, name)}

    def update(self, id: str, olds: I, news: I, outputs: O) -> O:
        """Update<api> (wrapper ``update<api>``) with ``update_body``; nothing when nothing changed.
        The outputs come from the job's inventory, else from a fresh query, else stay as they were."""
        change = self.update_body(olds, news)
        if not change:
            return outputs
        result = self.client.call(f"Update{self.api}", "PUT", f"{self.path}/{id}", json={f"update{self.api}": change},
                                  timeout_s=news.wait_timeout_s)  # type: ignore[attr-defined]
        inv = result.get("inventory") or self.client.get(f"Query{self.api}", self.path, id)  # the job's result first
        return self._outputs(inv) if inv else outputs

    def delete(self, id: str, inputs: I, outputs: O) -> None:
        self._delete(id, inputs)

    def _delete(self, uid: str, inputs: Any, timeout_s: float | None = None) -> None:
        """Delete<api> with the resource's ``delete_mode``, waiting ``timeout_s`` (default: its
        ``wait_timeout_s``)."""
        self.client.call(f"Delete{self.api}", "DELETE", f"{self.path}/{uid}", params={"deleteMode": inputs.delete_mode},
                         timeout_s=timeout_s or inputs.wait_timeout_s)
