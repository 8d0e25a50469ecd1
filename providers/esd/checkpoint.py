"""esd:Checkpoint — a model file (Stable-diffusion, Lora, VAE...) registered with ESD.

Two sources, exactly one per resource:
  source_url   the platform downloads it (asynchronously, and the reply carries no id:
               we poll the list, filtered by type, for the file name carrying our marker);
  source_file  a local file uploaded in parts to presigned URLs, then activated. Its
               SHA-256 is part of the inputs, so a changed file replaces the checkpoint.
In place: ``name`` (rename, asynchronous) and ``enabled`` (Active / Disabled).

File names are unique on the platform. A checkpoint already holding ours is never adopted: the
create fails and names it (import it instead). What this very create sent is recognised by the
marker ``params.aimodels_create_token``, a random token per create call. A replacement that
keeps a name the old checkpoint holds deletes first.
"""

from __future__ import annotations

import hashlib
import math
import os
import posixpath
import re
import secrets
import time
import urllib.parse
from typing import Any, Literal

from pydantic import model_validator

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
    WaitTimeout,
    create,
    is_import,
    is_transient,
    progress,
    prop,
    wait_for,
)
from providers.esd.base import CLOCK_MARGIN_S, MARKER, EsdHandler, marker_of, wait_timeout

CheckpointType = Literal["Stable-diffusion", "embeddings", "Lora", "hypernetworks", "ControlNet", "VAE"]
EXTENSIONS = (".pt", ".pth", ".ckpt", ".safetensors", ".yaml")  # what the URL downloader accepts
RENAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"
NAME_MAX = 20
# Changing only the status still needs a non-empty multi_parts_tags; entries for files that
# are not in the checkpoint are ignored by the platform (spec §4.4), so we send this one. [guess]
STATUS_ONLY_TAGS = {"status-change": []}
# Answers that mean "not run" (throttled; API Gateway found no integration to call): safe to send
# again. Other 5xx and dropped replies may come after the Lambda ran. [guess]
NOT_PROCESSED = {429, 503}
URL_GRACE_S = 30.0  # after a lost reply, how long a download may take to show before we send again
URL_SENDS = 4  # sends of one URL create at most (each after a grace with nothing arrived)
SEND_KEY = "aimodels_send"  # params key: a random token per URL POST, to tell this send's download apart


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# Where each create's look-ups start, by its handle token (the recovery window for durable ones).
_LOOKBACK: dict[str, float] = {}


class CheckpointInputs(Inputs):
    checkpoint_type: CheckpointType = prop(replace=True)
    # The platform keeps none of the source fields: an import cannot read them (write_only).
    source_url: str | None = prop(None, replace=True, write_only=True, description="http(s) URL the platform downloads")
    source_file: str | None = prop(None, replace=True, write_only=True,
                                   description="local path uploaded by the provider")
    source_sha256: str | None = prop(None, replace=True, write_only=True,
                                     description="computed from source_file at preview")
    upload_name: str | None = prop(None, replace=True, write_only=True, min_length=1, max_length=255, pattern=r"^[^/\\]+$",
                                   description="file name on the platform (source_file only; default: the "
                                               "local file's name); names are unique across the platform")
    name: str | None = prop(None, server_default=True, min_length=1, max_length=NAME_MAX, pattern=RENAME_PATTERN,
                            description="rename in place (no extension); unset keeps the file name")
    enabled: bool = prop(True, description="Active when true, Disabled when false")
    message: str = prop("", replace=True, description="free text stored in params.message")
    part_size_mb: int = prop(64, local=True, ge=5, le=5000)
    wait_timeout_s: int = wait_timeout(900)

    @model_validator(mode="after")
    def _one_source(self) -> CheckpointInputs:
        if bool(self.source_url) == bool(self.source_file):
            raise RuleError("source_url", "set exactly one of source_url and source_file")
        if self.source_url:
            parsed = urllib.parse.urlparse(self.source_url)
            if parsed.scheme not in ("http", "https") or not parsed.path:
                raise RuleError("source_url", "must be an http(s) URL naming a file")
            if not posixpath.basename(parsed.path).lower().endswith(EXTENSIONS):
                raise RuleError("source_url", f"file must end in one of {', '.join(EXTENSIONS)}")
        if self.upload_name and not self.source_file:
            raise RuleError("upload_name", "only applies to source_file (a download is named after its URL)")
        if self.source_file:
            if not os.path.isfile(self.source_file):
                raise RuleError("source_file", f"{self.source_file} is not a readable file")
            digest = _sha256(self.source_file)
            if self.source_sha256 not in (None, digest):
                raise RuleError("source_sha256", "does not match the content of source_file")
            object.__setattr__(self, "source_sha256", digest)
        return self

    @property
    def file_name(self) -> str:
        if self.source_file:
            return self.upload_name or os.path.basename(self.source_file)
        return posixpath.basename(urllib.parse.urlparse(self.source_url or "").path)


def _as_name(file_name: str | None) -> str | None:
    """A file name as the ``name`` input: only a name that input's own rule accepts (a rename's
    result); a file name with an extension, or too long, is the unset ``name`` (keep the file name)."""
    if file_name and len(file_name) <= NAME_MAX and re.fullmatch(RENAME_PATTERN, file_name):
        return file_name
    return None


class CheckpointOutputs(Outputs):
    file_names: list[str] = prop([], changes_with="name")  # a rename renames the file
    status: str | None = prop(None, changes_with="enabled")
    s3_location: str | None = prop(None, changes_with="name")
    created: float | None = None  # epoch (platform clock); at or just before creation until read


class CheckpointHandler(EsdHandler[CheckpointInputs, CheckpointOutputs]):
    id_doc = "the checkpoint id the platform assigned (a UUID)."
    import_doc = "the checkpoint id."
    refresh_doc = ("sees the status (Active/Disabled, as ``enabled``), the file names (``name``, when "
                   "declared) and the S3 location; cannot see the source URL or file (never returned), so a "
                   "file replaced in S3 behind our back goes unnoticed.")

    Inputs, Outputs = CheckpointInputs, CheckpointOutputs
    type_token = "esd:Checkpoint"
    def label(self, inputs: CheckpointInputs) -> str:
        return f"{self.type_token} {inputs.file_name}"

    def deletes_first(self, olds: dict[str, Any], news: dict[str, Any]) -> bool:
        """Names are unique across all checkpoints. A replacement that keeps the file name (new
        content, type or message) or the name the old one holds cannot be made beside the old one:
        delete first. A new file under a new name is created first (no gap for its users)."""
        def names(props: dict[str, Any]) -> set[Any] | None:
            source = props.get("source_file") or props.get("source_url")
            if not isinstance(source, str) or not isinstance(props.get("name", ""), (str, type(None))):
                return None  # unknown until apply
            held = {posixpath.basename(urllib.parse.urlparse(source).path) if props.get("source_url")
                    else props.get("upload_name") or os.path.basename(source)}
            return held | ({props["name"]} if props.get("name") else set())

        old, new = names(olds), names(news)
        if old is None or new is None:
            return True
        if olds.get("name"):  # after a rename the old checkpoint holds only that name
            old = {olds["name"]}
        return bool(old & new)

    def planned_outputs(self, inputs: CheckpointInputs) -> dict[str, Any]:
        return {"file_names": [inputs.name or inputs.file_name]}  # create renames to ``name`` when set

    def create(self, inputs: CheckpointInputs) -> Created[CheckpointOutputs]:
        handle = create.handle()  # marks what this resource sends (params.aimodels_create_token)
        token = handle.token
        since = self.client.server_now() - CLOCK_MARGIN_S
        # With a durable handle, what an interrupted run of this resource sent counts as ours too.
        _LOOKBACK[token] = handle.since(since)
        if inputs.source_url:
            ckpt = self._create_from_url(inputs, token, since)
            id, outputs = ckpt["id"], self._outputs(ckpt)
        elif (done := self._uploaded_by_interrupted_run(inputs, handle, since)) is not None:
            id, outputs = done["id"], self._outputs(done)
        else:
            id, outputs = self._create_from_file(inputs, token, since)
        try:
            if inputs.name and inputs.name not in outputs.file_names:
                outputs = self._rename(id, inputs, outputs)
            if not inputs.enabled:
                outputs = self._set_status(id, inputs, "Disabled", outputs)
        except ProviderError as exc:
            # The checkpoint exists (a Ctrl-C or a failure during the rename or status change): keep it
            # in state as a failed create, so the next up replaces it (deleting first: it holds our names).
            raise CreatedButFailed(f"{self.label(inputs)}: checkpoint {id} was made, then {exc.message}",
                                   id=id, outputs=outputs,
                                   cleanup=lambda: self.client.delete_checkpoints([id])) from exc
        return Created(id, outputs)

    def read(self, id: str, inputs: CheckpointInputs, outputs: CheckpointOutputs) -> Observed | None:
        ckpt = self._find(id, getattr(inputs, "checkpoint_type", None), outputs.created)
        if ckpt is None:
            return None
        names = ckpt.get("name") or []
        params = ckpt.get("params") or {}
        # ``name`` is managed only when set; an import (no prior inputs) reads the current name.
        managed_name = is_import(inputs) or inputs.name is not None
        seen = inputs.model_copy(update={
            "checkpoint_type": ckpt.get("type"),
            "message": params.get("message") or "",
            "enabled": ckpt.get("status") != "Disabled",
            "name": _as_name(names[0] if names else None) if managed_name else None,
        })
        return Observed(seen, self._outputs(ckpt))

    def update(self, id: str, olds: CheckpointInputs, news: CheckpointInputs,
               outputs: CheckpointOutputs) -> CheckpointOutputs:
        if news.enabled != olds.enabled and news.enabled:
            outputs = self._set_status(id, news, "Active", outputs)  # a rename needs an Active checkpoint
        if news.name and news.name not in outputs.file_names:
            outputs = self._rename(id, news, outputs)
        if news.enabled != olds.enabled and not news.enabled:
            outputs = self._set_status(id, news, "Disabled", outputs)
        return outputs

    def delete(self, id: str, inputs: CheckpointInputs, outputs: CheckpointOutputs) -> None:
        self.client.delete_checkpoints([id])

    # -- look-ups (the platform has no GET by id: the list, filtered by type, newest first)
    def _find(self, id: str, checkpoint_type: str | None, created: float | None) -> dict[str, Any] | None:
        not_before = created - CLOCK_MARGIN_S if created is not None else None
        return self.client.find_checkpoint(id=id, types=checkpoint_type, not_before=not_before)

    def _find_mine(self, inputs: CheckpointInputs, token: str, since: float) -> dict[str, Any] | None:
        """The checkpoint this resource's create made: our file name and our marker, created since
        we sent it (or, with a durable handle, within the recovery window before)."""
        return next(iter(self._all_mine(inputs, token, since)), None)

    def _all_mine(self, inputs: CheckpointInputs, token: str, since: float) -> list[dict[str, Any]]:
        """Every checkpoint carrying our marker and one of our names: the file name, or ``name`` (an
        interrupted run of this resource may have renamed it already), oldest first."""
        since = min(since, _LOOKBACK.get(token, since))
        ours = {inputs.file_name} | ({inputs.name} if inputs.name else set())
        found = [ckpt for ckpt in self.client.iter_checkpoints(types=inputs.checkpoint_type, not_before=since)
                 if ours & set(ckpt.get("name") or []) and marker_of(ckpt.get("params")) == token]
        return sorted(found, key=lambda c: float(c.get("created") or 0))

    def _refuse_existing(self, inputs: CheckpointInputs, token: str) -> ProviderError:
        """The file name is taken (names are unique across types): say by what, never adopt it."""
        other = self.client.find_checkpoint(file_name=inputs.file_name)
        if other is None:  # gone again meanwhile, or invisible to this user
            return ProviderError(f"checkpoint file {inputs.file_name} already exists on the platform; "
                                 "delete it or use another file name")
        kind = f"checkpoint file {inputs.file_name} ({other.get('type')}, {other.get('status')})"
        return self.already_exists(kind, other["id"], inputs.name or "<name>")

    # -- create paths
    def _params(self, inputs: CheckpointInputs, token: str) -> dict[str, Any]:
        return {"message": inputs.message, "creator": self.client.username, MARKER: token}

    def _create_from_url(self, inputs: CheckpointInputs, token: str, since: float) -> dict[str, Any]:
        """The URL checkpoint, made once. A run interrupted while its download was under way (the
        list shows no download in progress) makes the re-run send again: both downloads carry our
        marker. The re-run waits for its own send's download (``SEND_KEY``), keeps the first of
        ours and deletes the others."""
        found = self._download(inputs, token, since)
        mine, doubles = found[0], found[1:]
        if doubles:
            ids = [c["id"] for c in doubles]
            progress(f"{self.label(inputs)}: an interrupted run of this resource had started the same download; "
                     f"keeping {mine['id']}, deleting the other copy {', '.join(ids)}")
            try:
                self.client.delete_checkpoints(ids)
            except ProviderError as exc:
                raise CreatedButFailed(f"{self.label(inputs)}: deleting the doubled download {', '.join(ids)} "
                                       f"failed: {exc.message}", id=mine["id"], outputs=self._outputs(mine),
                                       cleanup=lambda: self.client.delete_checkpoints([mine["id"], *ids])) from exc
        return mine

    def _download(self, inputs: CheckpointInputs, token: str, since: float) -> list[dict[str, Any]]:
        """POST the URL (202, no id), then poll for the checkpoint carrying our marker.

        After a reply that may have come after the platform ran the request (a dropped
        connection, a 500/502/504), the download may be under way and a second POST could start
        a second one (the name check only sees finished downloads). So we first wait a grace
        period for our marker, and only then send once more. Returns every checkpoint of ours
        seen, the first to keep.
        """
        label = self.label(inputs)
        if token in _LOOKBACK and _LOOKBACK[token] < since:  # durable: an interrupted run may have sent it
            mine = self._all_mine(inputs, token, since)
            if mine:
                progress(f"{label}: found the checkpoint an interrupted run of this resource created; continuing")
                return mine
        found, lost, sent = self._send_url(inputs, token, since)
        if found is not None:
            return [found]

        def poll() -> Poll[list[dict[str, Any]]]:
            # Wait for this send's own download when its 202 came back: one that only carries our
            # marker may be an interrupted predecessor's, with ours still to come.
            ours = self._all_mine(inputs, token, since)
            arrived = bool(ours) and (sent is None or any(
                (c.get("params") or {}).get(SEND_KEY) == sent for c in ours))
            return Poll(ours, ours[0].get("status", "?") if arrived else "downloading", done=arrived)

        deadline = time.monotonic() + inputs.wait_timeout_s
        sends = 1
        while lost and sends < URL_SENDS:
            progress(f"{label}: no usable reply ({lost}); the download may have started: waiting for it")
            try:
                grace = min(URL_GRACE_S, max(1.0, (deadline - time.monotonic()) / 2))
                return wait_for(label, poll, timeout_s=grace) or []
            except WaitTimeout:
                progress(f"{label}: nothing arrived after the lost reply; sending the create again")
            found, lost, sent = self._send_url(inputs, token, since)
            sends += 1
            if found is not None:
                return [found]
        try:
            return wait_for(label, poll, timeout_s=max(1.0, deadline - time.monotonic())) or []
        except WaitTimeout as exc:
            raise WaitTimeout(
                f"{exc.message}. The platform gives no id for a download: if checkpoint file {inputs.file_name} "
                f"appears later with params.{MARKER}={token}, it is this create's; delete it or import it"
                + (f" (the create request's reply was lost: {lost})" if lost else "")) from None

    def _send_url(self, inputs: CheckpointInputs, token: str,
                  since: float) -> tuple[dict[str, Any] | None, str | None, str | None]:
        """One POST (again at once after 429/503, which mean "not run"). Returns our checkpoint
        if the name turned out to be taken by it, the error text when the reply was lost, and
        this send's token when the platform accepted it (202)."""
        send = secrets.token_hex(8)
        body = {"checkpoint_type": inputs.checkpoint_type, "urls": [inputs.source_url],
                "params": {**self._params(inputs, token), SEND_KEY: send}}
        for attempt in range(1, 4):
            try:
                self.client.create_checkpoint(body)
                return None, None, send
            except ApiError as exc:
                if exc.status == 400 and "already exists" in (exc.vendor_message or ""):
                    mine = self._find_mine(inputs, token, since)  # our earlier send landed meanwhile
                    if mine is not None:
                        return mine, None, None
                    raise self._refuse_existing(inputs, token) from None
                if exc.status in NOT_PROCESSED and attempt < 3:
                    self.client._sleep(self.client.settings.retry.delay(attempt, None))
                    continue
                if not is_transient(exc):
                    raise
                return None, exc.message, None
            except TransportError as exc:
                return None, exc.message, None
        raise AssertionError("unreachable")

    def _create_from_file(self, inputs: CheckpointInputs, token: str,
                          since: float) -> tuple[str, CheckpointOutputs]:
        path, file_name, label = inputs.source_file or "", inputs.file_name, self.label(inputs)
        size = os.path.getsize(path)
        part_size = inputs.part_size_mb * 1024 * 1024
        parts = max(1, math.ceil(size / part_size))
        if parts > 100:
            raise ProviderError(f"{file_name} needs {parts} parts of {inputs.part_size_mb} MiB; the platform "
                                "allows 100: raise part_size_mb")
        body = {"checkpoint_type": inputs.checkpoint_type,
                "filenames": [{"filename": file_name, "parts_number": parts}],
                "params": self._params(inputs, token)}
        data = self._post_file_checkpoint(inputs, body, token, since)
        ckpt = data["checkpoint"]
        id = ckpt["id"]
        outputs = CheckpointOutputs(file_names=[file_name], status="Initial",
                                    s3_location=ckpt.get("s3_location"), created=since)
        try:
            urls = data["s3PresignUrl"][file_name]
            tags = []
            with open(path, "rb") as f:
                for number, url in enumerate(urls, start=1):
                    etag = self.client.s3_put(url, f.read(part_size), f"{file_name} part {number}/{parts}")
                    tags.append({"ETag": etag, "PartNumber": number})
                    progress(f"{label}: uploaded part {number}/{parts}")
            self._activate(id, inputs, {file_name: tags})
        except Exception as exc:
            # An Initial checkpoint cannot be resumed later (its upload URLs are not kept): remove it.
            progress(f"{label}: upload failed; deleting the incomplete checkpoint {id}")
            try:
                self.client.delete_checkpoints([id])
            except ProviderError as cleanup_exc:
                raise CreatedButFailed(
                    f"{label}: upload failed ({exc}) and deleting the incomplete checkpoint {id} failed too "
                    f"({cleanup_exc.message}); delete checkpoint {id}",
                    id=id, outputs=outputs, cleanup=lambda: self.client.delete_checkpoints([id])) from exc
            raise
        return id, outputs.model_copy(update={"status": "Active"})

    def _uploaded_by_interrupted_run(self, inputs: CheckpointInputs, handle: create.Handle,
                                     since: float) -> dict[str, Any] | None:
        """With a durable handle: the checkpoint an interrupted run of this resource finished
        uploading (Active or Disabled, carrying our marker and one of our names; it may hold
        ``name`` already, so the file name is free again and a new POST would make a second
        checkpoint whose rename then fails). A half-uploaded one (Initial) is left to
        ``_post_file_checkpoint``, which deletes and uploads again."""
        if not handle.durable:
            return None
        done = [c for c in self._all_mine(inputs, handle.token, handle.since(since))
                if c.get("status") in ("Active", "Disabled") and not handle.is_current(c.get("id"))]
        if not done:
            return None
        progress(f"{self.label(inputs)}: found the checkpoint an interrupted run of this resource uploaded "
                 f"({done[0]['id']}); continuing with it")
        return done[0]

    def _post_file_checkpoint(self, inputs: CheckpointInputs, body: dict[str, Any], token: str,
                              since: float, attempts: int = 3) -> dict[str, Any]:
        """POST the file checkpoint. Its reply carries the only copy of the upload URLs, so when
        it is lost, the checkpoint it made (found by our marker) is deleted and we ask again."""
        label = self.label(inputs)
        for attempt in range(1, attempts + 1):
            try:
                return self.client.data(self.client.create_checkpoint(body))
            except ApiError as exc:
                if exc.status == 400 and "already exists" in (exc.vendor_message or ""):
                    mine = self._find_mine(inputs, token, since)
                    if mine is None or attempt == attempts:
                        raise self._refuse_existing(inputs, token) from None
                    # An interrupted run of this resource made it; its upload URLs died with that run.
                    progress(f"{label}: deleting checkpoint {mine['id']}, which an interrupted run of this "
                             "resource made, to upload again")
                    self.client.delete_checkpoints([mine["id"]])
                    continue
                if not is_transient(exc):
                    raise
                failure: ProviderError = exc
            except TransportError as exc:
                failure = exc
            progress(f"{label}: no usable reply ({failure.message}); looking for the checkpoint this create made")
            mine = self.look_up(label, lambda: self._find_mine(inputs, token, since))
            if mine is not None:
                progress(f"{label}: the lost reply made checkpoint {mine['id']}, whose upload URLs only that reply "
                         "had; deleting it" + (" and asking again" if attempt < attempts else ""))
                self.client.delete_checkpoints([mine["id"]])
            if attempt == attempts:
                raise failure
            self.client._sleep(self.client.settings.retry.delay(attempt, None))
        raise AssertionError("unreachable")

    def _activate(self, id: str, inputs: CheckpointInputs, tags: dict[str, Any]) -> None:
        try:
            self.client.update_checkpoint(id, {"status": "Active", "multi_parts_tags": tags})
        except ProviderError:
            # A retried activation may find the upload already completed by the lost first try.
            ckpt = self._find(id, inputs.checkpoint_type, None)
            if not ckpt or ckpt.get("status") != "Active":
                raise

    # -- in-place changes
    def _set_status(self, id: str, inputs: CheckpointInputs, status: str,
                    outputs: CheckpointOutputs) -> CheckpointOutputs:
        self.client.update_checkpoint(id, {"status": status, "multi_parts_tags": STATUS_ONLY_TAGS})
        return outputs.model_copy(update={"status": status})  # the reply carries the old status only

    def _rename(self, id: str, inputs: CheckpointInputs, outputs: CheckpointOutputs) -> CheckpointOutputs:
        self.client.update_checkpoint(id, {"name": inputs.name})

        def poll() -> Poll[dict[str, Any]]:
            ckpt = self._find(id, inputs.checkpoint_type, outputs.created) or {}
            names = ckpt.get("name") or []
            return Poll(ckpt, "renaming", done=bool(names) and names[0] == inputs.name)

        return self._outputs(wait_for(f"{self.type_token} {id}", poll, timeout_s=inputs.wait_timeout_s) or {})

    @staticmethod
    def _outputs(ckpt: dict[str, Any]) -> CheckpointOutputs:
        created = ckpt.get("created")
        return CheckpointOutputs(file_names=ckpt.get("name") or [], status=ckpt.get("status"),
                                 s3_location=ckpt.get("s3Location") or ckpt.get("s3_location"),
                                 created=float(created) if created not in (None, "") else None)
