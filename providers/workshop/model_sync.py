"""workshop:ModelSync — one model, with its versions, covers and files, synced to the AI Creation
Workshop with ``POST /scc/spSdModelSync`` (the seed's JSON body, field for field).

The platform documents one call: a full-state upsert keyed by *our* ``modelId``. So:

* the id is ``model_id``; changing it makes another model (a replacement);
* create and update send the complete tree, then wait until every file is Listed (10), failing
  on Listing failed (-10) or at ``wait_timeout_s``. There is no status query: a wait re-sends the
  same tree (an upsert, so harmless) and reads the status from the reply;
* a lost reply is harmless: the client re-sends the same upsert, which cannot make a duplicate;
* there is no read API: refresh keeps the last synced state and says it cannot see changes made
  in the console, unless ``resync_on_refresh`` asks for the declared tree to be re-sent: refresh
  then marks it as drift and the next ``up`` re-sends it (which overwrites such changes and
  refreshes the listing status); a refresh itself never writes;
* there is no delete API: delete removes the model from the stack only, with a warning that the
  platform keeps it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from providers.core import (
    Created,
    CreatedButFailed,
    FailedState,
    Handler,
    Inputs,
    Observed,
    Outputs,
    Poll,
    ProviderError,
    RuleError,
    UpdatedButFailed,
    WaitTimeout,
    marks_of,
    progress,
    prop,
    wait_for,
)
from providers.workshop.client import WorkshopClient, WorkshopSettings

ModelType = Literal["checkpoint", "lora", "textualinversion", "vae"]
SourceType = Literal["liblib", "civitia", "hugging_face", "internal"]  # "civitia" is the vendor's spelling
BaseModelType = Literal["v1.4", "v1.5", "v2.0", "v2.1", "vxl_0.9", "vxl_1.0", "vxl_distilled", "v1.5_lcm",
                        "vxl_1.0_lcm", "vxl_turbo"]
URL = r"^https?://\S+$"
LISTED, LISTING_FAILED = 10, -10
STATUS_WORDS = {0: "Not listed", 5: "Listing", 10: "Listed", -10: "Listing failed"}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CoverFile(_Spec):
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    format: str | None = Field(None, min_length=1, description="e.g. jpeg, png")


class Cover(_Spec):
    cover: str = Field(pattern=URL, description="thumbnail URL")
    cover_file: CoverFile


class ModelFile(_Spec):
    name: str = Field(min_length=1, description="file name, unique within the version")
    alias_name: str = Field(min_length=1, description="the alias LoRA prompts use")
    download_url: str = Field(pattern=URL)
    hash: str = Field(min_length=1)
    size_kb: float = Field(gt=0)
    is_primary: bool = False


class Version(_Spec):
    model_version_id: str = Field(min_length=1, description="your id for the version, unique in the model")
    name: str = Field(min_length=1)
    base_model: BaseModelType
    version_desc: str | None = Field(None, description="HTML")
    trigger_words: list[str] = []
    is_auto_collection: bool | None = None
    covers: list[Cover] = Field(min_length=1)
    files: list[ModelFile] = Field(min_length=1)

    @model_validator(mode="after")
    def _files(self) -> Version:
        primaries = [f.name for f in self.files if f.is_primary]
        if len(primaries) > 1:  # the seed: "A version can have only one primary model file" (none is allowed)
            raise ValueError(f"version {self.model_version_id!r} can have only one file with is_primary=true "
                             f"(has {len(primaries)})")
        names = [f.name for f in self.files]
        if len(set(names)) != len(names):
            raise ValueError(f"version {self.model_version_id!r}: file names must be unique")
        return self


class ModelSyncInputs(Inputs):
    model_id: str = prop(replace=True, min_length=1, max_length=128, description="your id: the platform's key")
    name: str = prop(min_length=1)
    model_type: ModelType
    model_desc: str | None = prop(None, description="HTML")
    source: str | None = prop(None, pattern=URL, description="where the model comes from")
    source_type: SourceType
    is_original: bool | None = None
    original_creator: str | None = None
    original_creator_homepage: str | None = prop(None, pattern=URL)
    versions: list[Version] = prop(min_length=1)
    wait_for_listing: bool = prop(True, local=True, description="wait until every file is Listed")
    wait_timeout_s: int = prop(1800, local=True, ge=1, le=24 * 3600)
    resync_on_refresh: bool = prop(False, local=True,
                                   description="refresh marks the declared tree as drift; the next up re-sends it "
                                               "(overwrites console edits)")
    # The page's other request parameters, sent where apiToken goes. They are the session APIs'
    # parameters and probably ignored by model sync (spec §3.2), so changing one re-sends nothing.
    role_id: str | None = prop(None, local=True, min_length=1, description="roleId, sent with each sync")
    session_mode: Literal[10, 20] | None = prop(None, local=True,
                                                description="sessionMode: 10 session, 20 inference; sent with each sync")
    expired_in_seconds: int | None = prop(None, local=True, ge=1, description="expiredInSeconds, sent with each sync")
    custom_resource_config_ids: list[str] = prop([], local=True,
                                                 description="customResourceConfigId (comma-joined), sent with each sync")

    @model_validator(mode="after")
    def _versions(self) -> ModelSyncInputs:
        ids = [v.model_version_id for v in self.versions]
        if len(set(ids)) != len(ids):
            raise RuleError("versions", "model_version_id must be unique within the model")
        names = [v.name for v in self.versions]
        if len(set(names)) != len(names):
            raise RuleError("versions", "version names must be unique within the model")
        return self

    def session(self) -> dict[str, Any]:
        """The request parameters beside apiToken (unset ones left out)."""
        ids = ",".join(self.custom_resource_config_ids) or None
        return {k: v for k, v in {"roleId": self.role_id, "sessionMode": self.session_mode,
                                  "expiredInSeconds": self.expired_in_seconds,
                                  "customResourceConfigId": ids}.items() if v is not None}

    def wire(self) -> dict[str, Any]:
        """The request body of spSdModelSync, camelCase, unset optional fields left out."""
        local = {n for n, f in type(self).model_fields.items() if marks_of(f).local}
        return _camel(self.model_dump(mode="json", exclude_none=True, exclude=local))


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {_camel_key(k): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _camel_key(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


class ModelSyncOutputs(Outputs):
    workshop_model_id: str | None = None  # the platform's id of the model, as the reply gives it
    status: int | None = prop(None, changes_with="*")  # 10 Listed when every file is; -10 when any failed; else 5 / 0
    listing_status: str | None = prop(None, changes_with="*")
    version_ids: dict[str, str] = prop({}, changes_with="versions")  # your model_version_id -> the platform's id
    file_ids: dict[str, str] = prop({}, changes_with="versions")  # "<model_version_id>/<file name>" -> the platform's id
    file_statuses: dict[str, int] = prop({}, changes_with="*")  # "<model_version_id>/<file name>" -> listing status


def outputs_from(inputs: ModelSyncInputs, items: list[dict[str, Any]]) -> ModelSyncOutputs:
    """Read a sync reply. One item per file, in request order, maps onto our ids; a single item
    (the documented shape) only gives the model id and one status."""
    files = [(v.model_version_id, f.name) for v in inputs.versions for f in v.files]
    statuses = [int(i["status"]) for i in items if isinstance(i.get("status"), (int, float))]
    out = ModelSyncOutputs(workshop_model_id=next((i.get("modelId") for i in items if i.get("modelId")), None))
    if statuses:
        if LISTING_FAILED in statuses:
            out.status = LISTING_FAILED
        elif all(s == LISTED for s in statuses):
            out.status = LISTED
        else:
            out.status = 5 if 5 in statuses else min(statuses)
        out.listing_status = STATUS_WORDS.get(out.status, str(out.status))
    if len(items) == len(files):
        for (version_id, name), item in zip(files, items):
            key = f"{version_id}/{name}"
            if item.get("modelVersionId"):
                out.version_ids[version_id] = str(item["modelVersionId"])
            if item.get("modelFileId"):
                out.file_ids[key] = str(item["modelFileId"])
            if isinstance(item.get("status"), (int, float)):
                out.file_statuses[key] = int(item["status"])
    return out


# What a resync re-sends: everything the console can edit (model_id is the key; the rest steer the provider).
RESYNCED = ("name", "model_type", "model_desc", "source", "source_type", "is_original", "original_creator",
            "original_creator_homepage", "versions")

# Models this provider process created: a delete of one of them in the same run is the old half of a
# replacement that kept the model_id (create-before-delete), not a model leaving the stack. (A model
# is created and removed from the stack in different runs, so in different provider processes.)
_SYNCED: set[tuple[str, ...]] = set()


class ModelSyncHandler(Handler[ModelSyncInputs, ModelSyncOutputs]):
    id_doc = "``model_id`` (ours: the sync is an upsert keyed by it)."
    import_doc = "not possible (no read API)."
    refresh_doc = ("there is no read API: keeps the last synced state and cannot see console changes; with "
                   "``resync_on_refresh`` it marks the declared tree as drift, and the next up re-sends it "
                   "(overwriting them) and refreshes the listing status.")

    Inputs, Outputs = ModelSyncInputs, ModelSyncOutputs
    Settings, Client = WorkshopSettings, WorkshopClient
    client: WorkshopClient
    type_token = "workshop:ModelSync"
    import_refusal = "the AI Creation Workshop documents no read API, so nothing can be read by id"

    def label(self, inputs: ModelSyncInputs) -> str:
        return f"{self.type_token} {getattr(inputs, 'model_id', None) or ''}".strip()

    def _owner(self, model_id: str) -> tuple[str, ...]:
        """Who a model belongs to on the platform: endpoint, app, token owner, and our modelId."""
        o = self.client.options
        return (o.endpoint.rstrip("/"), o.app_key, o.api_token and "given" or o.token_name, model_id)

    def create(self, inputs: ModelSyncInputs) -> Created[ModelSyncOutputs]:
        _SYNCED.add(self._owner(inputs.model_id))  # from here on a resource of this run manages it
        outputs, failure = self._sync(inputs)
        if failure is not None:
            raise CreatedButFailed(
                f"{failure.message}. The model is synced to the Workshop but not listed, and the Workshop has no "
                "delete API: fix the file and run `pulumi up` again (the sync is an upsert), or remove the "
                f"model {inputs.model_id!r} in the console's Model Management",
                id=inputs.model_id, outputs=outputs, cleanup=None)
        return Created(inputs.model_id, outputs)

    def read(self, id: str, inputs: ModelSyncInputs, outputs: ModelSyncOutputs) -> Observed | None:
        if inputs.resync_on_refresh:
            # A read never writes (a preview refresh cannot be told from a real one): the tree is
            # marked unseen, so the next preview shows it as drift and `up` re-sends it.
            progress(f"{self.label(inputs)}: resync_on_refresh is set: the declared tree is marked for "
                     "re-sending; the next `pulumi up` syncs it (overwriting changes made in the console)")
            return Observed(inputs, outputs, unseen=RESYNCED)
        progress(f"{self.label(inputs)}: the AI Creation Workshop has no read API; refresh keeps the last "
                 "synced state and cannot see changes made in the console (set resync_on_refresh=true to "
                 "re-send the declared tree)")
        return Observed(inputs, outputs)

    def update(self, id: str, olds: ModelSyncInputs, news: ModelSyncInputs,
               outputs: ModelSyncOutputs) -> ModelSyncOutputs:
        gone = sorted({v.model_version_id for v in olds.versions} - {v.model_version_id for v in news.versions})
        if gone:
            progress(f"{self.label(news)}: versions {', '.join(gone)} are left out of the sync; the full-state "
                     "sync should drop them from the model (the API cannot confirm it: check the console)")
        outputs, failure = self._sync(news)
        if failure is not None:
            # The platform holds the new tree now, not the one the state describes: record what was
            # seen (e.g. Listing failed) instead of keeping the last good outputs (Listed).
            raise UpdatedButFailed(failure.message, outputs=outputs) from None
        return outputs

    def delete(self, id: str, inputs: ModelSyncInputs, outputs: ModelSyncOutputs) -> None:
        if self._owner(id) in _SYNCED:  # a replacement with the same model_id: it still manages the model
            progress(f"{self.type_token} {id}: the replaced resource is removed from the stack; the model stays "
                     "managed by its replacement (same model_id)")
            return
        progress(f"warning: {self.type_token} {id}: removed from the stack only. The AI Creation Workshop has "
                 f"no delete API, so the model {id!r} and its versions stay on the platform; remove them in "
                 "the console's Model Management if they should go")

    def _sync(self, inputs: ModelSyncInputs) -> tuple[ModelSyncOutputs, ProviderError | None]:
        """Send the tree; unless told not to wait, re-send it (there is no status query, and the
        upsert is harmless) until every file is Listed, one fails, or the deadline passes.
        Returns the last state seen and the failure, if any."""
        seen = [outputs_from(inputs, self.client.sync_model(inputs.wire(), inputs.session()))]
        if not inputs.wait_for_listing:
            return seen[0], None

        fresh = [True]  # the first look uses the reply already in hand

        def poll() -> Poll[ModelSyncOutputs]:
            if fresh:
                fresh.clear()
            else:
                seen.append(outputs_from(inputs, self.client.sync_model(inputs.wire(), inputs.session())))
            now = seen[-1]
            failed = [k for k, s in now.file_statuses.items() if s == LISTING_FAILED] or ["a file"]
            return Poll(now, now.listing_status or "no status", done=now.status == LISTED,
                        failure=f"listing failed for {', '.join(failed)}" if now.status == LISTING_FAILED else None)

        try:
            wait_for(self.label(inputs), poll, timeout_s=inputs.wait_timeout_s)
        except (FailedState, WaitTimeout) as exc:
            return seen[-1], exc
        return seen[-1], None
