"""fabric:Model — a DataArts Fabric model definition and its versions.

Versions are a list on the model, not a resource of their own: the platform creates a model
together with its first version, versions are immutable once made, and the model carries a
``current_version`` pointer. Promotion between environments is then a change to one list
(add the version proven in the previous stage) and one pointer (make it current), reviewed in
a single ``preview --diff``. Removing a version from the list deletes it on the platform.

The pointer is explicit: with more than one version listed, ``current_version`` is required
(check refuses to guess), so a preview always shows which version serves.

Create and version addition are asynchronous: we wait until the model / version shows up in
the list, riding out outages until ``wait_timeout_s``. There is no get-one API, so every read
goes through the filtered list. Requests: create 2 (+3 per further version: the add, its
appearance, the pointer), read 2, moving the pointer or renaming 1, delete 1.

Safe creates: model names are unique per workspace, but a name alone cannot tell "the model my
lost request made" from "a model that was already there". So every version we send carries a
marker in its description, `` [aimodels-op:<token>]`` (reads hide it). The model's token is the
create's durable handle (providers.core.create): after an interrupted run, the next ``up`` finds
the name taken by a model whose first version carries this resource's handle, and continues with
it (under the stock server the token is random per create).
Without an answer the create is sent again at once: names are unique (models still being created
included), so the resend either makes the only model or is refused as a duplicate. Then we look
the name up and continue only with a model whose first version carries our token; a namesake
without it is refused with the import command. (Assumption, as the emulator reads the spec:
the platform's uniqueness check counts models that are still being created.) Once the platform
has accepted the model, a failure (a version refused, a deadline) raises CreatedButFailed: the
project's provider server records the model as a failed create (the next ``up`` finishes it);
the stock server runs the cleanup, which deletes the incomplete model, waiting while the
platform still reports it as being created.

Import id: ``<workspace_id>/<model_id>`` (a model id alone is not enough to find a model: the
list route is per workspace). Ids the provider itself creates are the model id.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from providers.core import (
    ApiError,
    Created,
    CreatedButFailed,
    Handler,
    Inputs,
    NotFoundError,
    Observed,
    Outputs,
    Poll,
    ProviderError,
    RuleError,
    WaitTimeout,
    create,
    is_import,
    is_transient,
    progress,
    prop,
    wait_for,
)
from providers.fabric.client import FabricClient, FabricSettings

NAME_PATTERN = r"^[\w\-. ]{1,64}$"
# The marker's token: a create's handle (providers.core.create), or a per-call random token.
MARK_RE = re.compile(r"\s*\[aimodels-op:(aim-[0-9a-f]{24}|[0-9a-f]{32})\]\s*$")
SENDS = 3  # sends of one create / version add at most (each after a lookup found nothing)
LOOKUP_S = 120.0  # how long a lookup after a lost reply waits for the object to show


def marked(description: str | None, token: str) -> str:
    return f"{description} [aimodels-op:{token}]" if description else f"[aimodels-op:{token}]"


def unmarked(description: str | None) -> tuple[str | None, str | None]:
    """(the description as the user wrote it, the marker's token)."""
    if not description:
        return None, None
    m = MARK_RE.search(description)
    if m is None:
        return description, None
    return description[:m.start()] or None, m.group(1)


class VersionSpec(BaseModel):
    """One immutable model version. The name identifies it within the model."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME_PATTERN)
    description: str | None = None
    base_model_type: str = Field(min_length=1, description="a value ListBaseModels returns")
    model_path: str | None = Field(None, pattern=r"^obs://[^/]+/.+", description="obs://bucket/path/")

    @field_validator("description", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value  # the platform does not tell "" from unset

    def body(self, token: str | None = None) -> dict[str, Any]:
        config: dict[str, Any] = {"base_model_type": self.base_model_type}
        if self.model_path:
            config["model_path"] = self.model_path
        out: dict[str, Any] = {"name": self.name, "config": {"llm_model_config": config}}
        description = marked(self.description, token) if token else self.description
        if description:
            out["description"] = description
        return out

    @classmethod
    def from_api(cls, v: dict[str, Any]) -> VersionSpec:
        config = (v.get("config") or {}).get("llm_model_config") or {}
        return cls.model_construct(name=v.get("name"), description=unmarked(v.get("description"))[0],
                                   base_model_type=config.get("base_model_type"), model_path=config.get("model_path"))


class ModelInputs(Inputs):
    workspace_id: str = prop(replace=True, min_length=1)
    name: str = prop(pattern=NAME_PATTERN, description="unique in the workspace")
    description: str | None = prop(None, max_length=1024)
    versions: list[VersionSpec] = prop(min_length=1, description="oldest first; the first is created with the model")
    current_version: str | None = prop(None, description="name of the version that serves; required when more "
                                                         "than one version is listed")
    wait_timeout_s: int = prop(600, local=True, ge=1, le=6 * 3600)

    @field_validator("description", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value  # the platform does not tell "" from unset

    @model_validator(mode="after")
    def _versions(self) -> ModelInputs:
        names = [v.name for v in self.versions]
        if len(set(names)) != len(names):
            raise RuleError("versions", "version names must be unique within the model")
        if self.current_version is not None and self.current_version not in names:
            raise RuleError("current_version", f"{self.current_version!r} is not one of the listed versions")
        if self.current_version is None and len(names) > 1:
            raise RuleError("current_version", "is required when more than one version is listed: "
                                               f"name the one that serves (one of {', '.join(names)})")
        return self

    @property
    def wanted_current(self) -> str:
        return self.current_version or self.versions[0].name


class ModelOutputs(Outputs):
    model_id: str | None = None
    version_ids: dict[str, str] = prop({}, changes_with="versions")  # version name -> platform id
    current_version_id: str | None = prop(None, changes_with=("versions", "current_version"))
    visibility: str | None = None
    created_at: str | None = None


class ModelHandler(Handler[ModelInputs, ModelOutputs]):
    id_doc = "the model id the platform assigned; the workspace is an input."
    import_doc = ("``<workspace id>/<model id>`` (a model id alone cannot be found: every call is under its "
                  "workspace).")
    refresh_doc = ("sees name, description, the versions (by name and content) and which one is current; "
                   "versions made behind our back show up as extra list entries.")

    Inputs, Outputs = ModelInputs, ModelOutputs
    Settings, Client = FabricSettings, FabricClient
    client: FabricClient
    type_token = "fabric:Model"

    def check_change(self, olds: ModelInputs, news: ModelInputs) -> list[tuple[str, str]]:
        changed = self._changed_versions(olds, news)
        if changed and olds.workspace_id == news.workspace_id:
            return [("versions", f"versions are immutable: {', '.join(changed)} changed; "
                                 "add a version with a new name instead")]
        return []

    # -- create ------------------------------------------------------------------------------
    def create(self, inputs: ModelInputs) -> Created[ModelOutputs]:
        handle = create.handle()
        ws, first, token = inputs.workspace_id, inputs.versions[0], handle.token
        body: dict[str, Any] = {"name": inputs.name, "type": "LLM_MODEL", "version": first.body(token)}
        if inputs.description:
            body["description"] = inputs.description
        model_id, first_id, model = self._send_create(inputs, body, token, handle)
        ids: dict[str, str | None] = {first.name: first_id}
        try:
            if model is None:
                model = self._wait_model(inputs, ws, model_id)
            for spec in inputs.versions[1:]:
                ids[spec.name] = self._add_version(inputs, ws, model_id, spec)
            target = ids[inputs.wanted_current]
            if (model.get("current_version") or {}).get("id") != target or len(ids) > 1:
                # The platform may move the pointer to a version once it appears: say what we want.
                model = self.client.update_model(ws, model_id, {"current_version_id": target})
        except ProviderError as exc:
            raise CreatedButFailed(
                f"model {model_id} was created in workspace {ws}, but {exc.message}", id=model_id,
                outputs=self._outputs_from(model or {"id": model_id}, ids),
                cleanup=lambda: self._remove(inputs, ws, model_id),
            ) from exc
        return Created(model_id, self._outputs_from(model, ids))

    def _send_create(self, inputs: ModelInputs, body: dict[str, Any], token: str,
                     handle: create.Handle | None = None) -> tuple[str, str | None, dict[str, Any] | None]:
        """The model id, its first version's id, and the model when a lookup already saw it.

        Without an answer the create is sent again at once: names are unique in a workspace
        (models still being created included), so a resend either makes the only model or is
        refused as a duplicate; then the namesake is looked up, and taken only if it carries
        this operation's token. Never adopts a model that this operation did not make."""
        ws, what = inputs.workspace_id, self.label(inputs)
        for attempt in range(1, SENDS + 1):
            try:
                reply = self.client.create_model(ws, body)
                return reply["id"], reply.get("version_id"), None
            except ProviderError as exc:
                refused = isinstance(exc, ApiError) and exc.status == 400
                if refused and attempt == 1:
                    resumed = self._interrupted_namesake(inputs, token, handle)
                    if resumed is not None:
                        return resumed["id"], (resumed.get("current_version") or {}).get("id"), None
                    self._refuse_namesake(inputs, exc)  # raises when a model of that name exists
                    raise
                if refused:
                    # An earlier send made the model after all, someone else made one, or the
                    # platform refuses the body itself: only a listed namesake tells.
                    found = self._lookup(inputs, token)
                    if found is None:
                        raise
                    progress(f"{what}: an earlier send had succeeded; continuing with model {found['id']}")
                    return found["id"], (found.get("current_version") or {}).get("id"), found
                if not is_transient(exc):
                    raise
                unknown = exc
            progress(f"{what}: no answer to the create ({unknown.message}); sending it again")
        found = self._lookup(inputs, token)
        if found is not None:
            return found["id"], (found.get("current_version") or {}).get("id"), found
        command = self.import_command("<resource name>", f"{ws}/<model id>")
        raise ProviderError(f"the create got no usable answer {SENDS} times ({unknown.message}); if a model named "
                            f"{inputs.name!r} shows up in workspace {ws} (its first version's description ends with "
                            f"[aimodels-op:{token}]), delete it or import it with `{command}`")

    def _lookup(self, inputs: ModelInputs, token: str) -> dict[str, Any] | None:
        """After a lost reply: the namesake this create made (our token), None if none shows up in
        time, and a refusal if the namesake is someone else's."""
        ws = inputs.workspace_id

        def poll() -> Poll[dict[str, Any]]:
            model = self.client.find_model_by_name(ws, inputs.name)
            return Poll(model, "not listed" if model is None else "listed", done=model is not None)

        try:
            model = wait_for(f"{self.label(inputs)}: lookup", poll, timeout_s=min(LOOKUP_S, inputs.wait_timeout_s))
        except WaitTimeout:
            return None
        return self._ours(inputs, model, token)

    def _ours(self, inputs: ModelInputs, model: dict[str, Any], token: str) -> dict[str, Any]:
        """The namesake if this operation made it (its first version carries our token), else a refusal."""
        ws = inputs.workspace_id
        if unmarked((model.get("current_version") or {}).get("description"))[1] == token:
            return model
        command = self.import_command("<resource name>", f"{ws}/{model.get('id')}")
        raise ProviderError(f"a model named {inputs.name!r} already exists in workspace {ws} (id {model.get('id')}), "
                            f"not made by this operation; to manage it here, import it with `{command}`, "
                            "or choose another name")

    def _interrupted_namesake(self, inputs: ModelInputs, token: str,
                              handle: create.Handle | None) -> dict[str, Any] | None:
        """The namesake an interrupted run of this resource made (durable handle in its first
        version's description, and not the object the resource's state holds), else None."""
        if handle is None or not handle.durable:
            return None
        model = self.client.find_model_by_name(inputs.workspace_id, inputs.name)
        if (model is None or handle.is_current(model.get("id"))
                or unmarked((model.get("current_version") or {}).get("description"))[1] != token):
            return None
        progress(f"{self.label(inputs)}: found the model an interrupted run of this resource created; continuing")
        return model

    def _refuse_namesake(self, inputs: ModelInputs, exc: ApiError) -> None:
        model = self.client.find_model_by_name(inputs.workspace_id, inputs.name)
        if model is not None:
            command = self.import_command("<resource name>", f"{inputs.workspace_id}/{model.get('id')}")
            raise ProviderError(f"a model named {inputs.name!r} already exists in workspace {inputs.workspace_id} "
                                f"(id {model.get('id')}); to manage it here, import it with `{command}`, "
                                f"or choose another name ({exc.message})") from None

    def _remove(self, inputs: ModelInputs, ws: str, model_id: str) -> None:
        """Cleanup of an incomplete create (stock server): delete it, waiting while the platform
        still reports it or a version as being created."""
        def poll() -> Poll[None]:
            try:
                self.client.delete_model(ws, model_id)
            except NotFoundError:
                pass
            return Poll(None, "deleted", done=True)

        progress(f"{self.label(inputs)}: removing the incomplete model {model_id}")
        try:
            wait_for(f"{self.label(inputs)}: removal of {model_id}", poll, timeout_s=max(60, inputs.wait_timeout_s))
        except ProviderError as exc:
            raise ProviderError(f"could not remove the incomplete model {model_id} in workspace {ws}; delete it by "
                                f"hand: {exc.message}") from None

    # -- read / update / delete -------------------------------------------------------------
    def read(self, id: str, inputs: ModelInputs, outputs: ModelOutputs) -> Observed | None:
        """Works from ``<workspace>/<model id>`` alone (import): every input comes from the platform."""
        ws, model_id = self._where(id, inputs)
        model = self.client.find_model(ws, model_id)
        if model is None:
            return None
        declared = getattr(inputs, "versions", None) or []
        # Keep the declared order (the platform lists newest first, with second-resolution times);
        # versions made behind our back go last, oldest first.
        order = {v.name: i for i, v in enumerate(declared)}
        listed = list(enumerate(self.client.versions(ws, model_id)))  # newest first: -i breaks ties in time
        versions = [v for _, v in sorted(listed, key=lambda iv: (order.get(iv[1].get("name"), len(order)),
                                                                 iv[1].get("create_time") or "", -iv[0]))]
        current_id = (model.get("current_version") or {}).get("id")
        current = next((v.get("name") for v in versions if v.get("id") == current_id), None)
        if len(versions) == 1 and current == versions[0].get("name") and not getattr(inputs, "current_version", None):
            current = None  # a single version is current without saying so
        seen = ModelInputs.model_construct(
            workspace_id=ws, name=model.get("name"), description=model.get("description") or None,
            versions=[VersionSpec.from_api(v) for v in versions], current_version=current,
            wait_timeout_s=getattr(inputs, "wait_timeout_s", None) or 600,
        )
        return Observed(seen, self._outputs_from(model, {v["name"]: v["id"] for v in versions}))

    def update(self, id: str, olds: ModelInputs, news: ModelInputs, outputs: ModelOutputs) -> ModelOutputs:
        ws, model_id = self._where(id, news)
        changed = self._changed_versions(olds, news)
        if changed:
            raise ProviderError(f"versions are immutable: {', '.join(changed)} changed; add a version with a new "
                                "name instead")
        ids = dict(outputs.version_ids)
        added = [spec for spec in news.versions if spec.name not in ids]
        for spec in added:
            ids[spec.name] = self._add_version(news, ws, model_id, spec)
        body: dict[str, Any] = {}
        if (news.name, news.description) != (olds.name, olds.description):
            body.update(name=news.name, description=news.description or "")
        target = ids[news.wanted_current]
        if added or target != outputs.current_version_id:
            body["current_version_id"] = target
        model = self.client.update_model(ws, model_id, body) if body else None
        wanted = {v.name for v in news.versions}
        for name in [n for n in ids if n not in wanted]:
            progress(f"{self.label(news)}: deleting version {name}")
            try:
                self.client.delete_version(ws, model_id, ids[name])
            except NotFoundError:
                pass
            del ids[name]
        if model is None:
            return outputs.model_copy(update={"version_ids": ids})
        return self._outputs_from(model, ids)

    def delete(self, id: str, inputs: ModelInputs, outputs: ModelOutputs) -> None:
        # Refused while an inference service uses a version: the vendor's message says so.
        ws, model_id = self._where(id, inputs)
        self.client.delete_model(ws, model_id)

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _where(id: str, inputs: ModelInputs) -> tuple[str, str]:
        if "/" in id:  # an import id
            ws, _, model_id = id.partition("/")
            return ws, model_id
        if is_import(inputs):
            raise ProviderError(f"the import id is <workspace id>/<model id> (models are listed per workspace), "
                                f"not {id!r}")
        return inputs.workspace_id, id

    @staticmethod
    def _changed_versions(olds: ModelInputs, news: ModelInputs) -> list[str]:
        before = {v.name: v.body() for v in olds.versions}
        return [v.name for v in news.versions if v.name in before and before[v.name] != v.body()]

    def _wait_model(self, inputs: ModelInputs, ws: str, model_id: str) -> dict[str, Any]:
        def poll() -> Poll[dict[str, Any]]:
            model = self.client.find_model(ws, model_id)
            return Poll(model, "creating" if model is None else "visible", done=model is not None)

        return wait_for(self.label(inputs), poll, timeout_s=inputs.wait_timeout_s)

    def _add_version(self, inputs: ModelInputs, ws: str, model_id: str, spec: VersionSpec) -> str:
        """Add one version and wait until it is listed; its id. Without an answer the add is
        sent again at once (a version name is unique in the model, so a resend cannot make a
        second one); a version of that name already in the model is taken only if this operation
        sent it (its token) or it has the same content (e.g. left by a create that failed half-way)."""
        what, token = f"{self.label(inputs)} version {spec.name}", uuid.uuid4().hex
        for attempt in range(1, SENDS + 1):
            try:
                self.client.update_model(ws, model_id, {"version": spec.body(token)})
            except ProviderError as exc:
                if isinstance(exc, ApiError) and exc.status == 400:
                    existing = self._listed(ws, model_id, spec.name)
                    if existing is None:
                        raise
                    if unmarked(existing.get("description"))[1] == token or \
                            VersionSpec.from_api(existing).body() == spec.body():
                        return existing["id"]
                    raise ProviderError(f"version {spec.name!r} already exists in model {model_id} with another "
                                        f"configuration; versions are immutable: use a new name") from None
                if not is_transient(exc):
                    raise
                progress(f"{what}: no answer to the add ({exc.message})"
                         + ("; sending it again" if attempt < SENDS else "; looking for it"))
                continue
            found = self._wait_version(what, ws, model_id, spec, token, inputs.wait_timeout_s, lost=False)
            assert found is not None
            return found
        found = self._wait_version(what, ws, model_id, spec, token, min(LOOKUP_S, inputs.wait_timeout_s), lost=True)
        if found is not None:
            return found
        raise ProviderError(f"adding version {spec.name!r} got no usable answer {SENDS} times; check model {model_id} "
                            f"in workspace {ws} for it")

    def _wait_version(self, what: str, ws: str, model_id: str, spec: VersionSpec, token: str, timeout_s: float,
                      *, lost: bool) -> str | None:
        def poll() -> Poll[dict[str, Any]]:
            v = next((v for v in self.client.versions(ws, model_id) if v.get("name") == spec.name), None)
            return Poll(v, "adding" if v is None else "visible", done=v is not None)

        try:
            v = wait_for(what, poll, timeout_s=timeout_s)
        except WaitTimeout:
            if lost:
                return None
            raise
        if unmarked(v.get("description"))[1] != token and VersionSpec.from_api(v).body() != spec.body():
            raise ProviderError(f"version {spec.name!r} appeared in model {model_id} with another configuration")
        return v["id"]

    def _listed(self, ws: str, model_id: str, name: str) -> dict[str, Any] | None:
        return next((v for v in self.client.versions(ws, model_id) if v.get("name") == name), None)

    @staticmethod
    def _outputs_from(model: dict[str, Any], ids: dict[str, str | None]) -> ModelOutputs:
        return ModelOutputs(model_id=model.get("id"), version_ids={k: v for k, v in ids.items() if v},
                            current_version_id=(model.get("current_version") or {}).get("id"),
                            visibility=model.get("visibility"), created_at=model.get("create_time"))
