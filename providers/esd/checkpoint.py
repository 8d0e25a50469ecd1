"""esd:Checkpoint — a model file (Stable-diffusion, Lora, VAE...) registered with ESD.

Two sources, exactly one per resource:
  source_url   the platform downloads it (asynchronously, and the reply carries no id:
               we poll the list for the file name; a checkpoint already there under that
               name and type is adopted, which also recovers from an interrupted create);
  source_file  a local file uploaded in parts to presigned URLs, then activated. Its
               SHA-256 is part of the inputs, so a changed file replaces the checkpoint.
In place: ``name`` (rename, asynchronous) and ``enabled`` (Active / Disabled).
"""

from __future__ import annotations

import hashlib
import math
import os
import posixpath
import urllib.parse
from typing import Any, Literal

import pulumi
from pydantic import model_validator

from providers.core import (Created, Inputs, Observed, Outputs, Poll, ProviderError, Resource, RuleError, prop,
                            progress, wait_for)
from providers.esd.base import EsdHandler, wait_timeout

CheckpointType = Literal["Stable-diffusion", "embeddings", "Lora", "hypernetworks", "ControlNet", "VAE"]
EXTENSIONS = (".pt", ".pth", ".ckpt", ".safetensors", ".yaml")  # what the URL downloader accepts
RENAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"
# Changing only the status still needs a non-empty multi_parts_tags; entries for files that
# are not in the checkpoint are ignored by the platform (spec §4.4), so we send this one. [guess]
STATUS_ONLY_TAGS = {"status-change": []}


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class CheckpointInputs(Inputs):
    checkpoint_type: CheckpointType = prop(replace=True)
    source_url: str | None = prop(None, replace=True, description="http(s) URL the platform downloads")
    source_file: str | None = prop(None, replace=True, description="local path uploaded by the provider")
    source_sha256: str | None = prop(None, replace=True, description="computed from source_file at preview")
    name: str | None = prop(None, server_default=True, min_length=1, max_length=20, pattern=RENAME_PATTERN,
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
            return os.path.basename(self.source_file)
        return posixpath.basename(urllib.parse.urlparse(self.source_url or "").path)


class CheckpointOutputs(Outputs):
    file_names: list[str] = []
    status: str | None = None
    s3_location: str | None = None


class CheckpointHandler(EsdHandler[CheckpointInputs, CheckpointOutputs]):
    """Id: the checkpoint id the platform assigned (a UUID). Import: the checkpoint id.
    Refresh: sees the status (Active/Disabled, as ``enabled``), the file names (``name``, when declared) and
    the S3 location; cannot see the source URL or file (never returned), so a file replaced in S3 behind our
    back goes unnoticed.
    """

    Inputs, Outputs = CheckpointInputs, CheckpointOutputs
    type_token = "esd:Checkpoint"

    def label(self, inputs: CheckpointInputs) -> str:
        return f"{self.type_token} {inputs.file_name}"

    def create(self, inputs: CheckpointInputs) -> Created[CheckpointOutputs]:
        if inputs.source_url:
            ckpt = self._create_from_url(inputs)
        else:
            ckpt = self._create_from_file(inputs)
        id = ckpt["id"]
        outputs = self._outputs(ckpt)
        if inputs.name and inputs.name not in outputs.file_names:
            outputs = self._rename(id, inputs)
        if not inputs.enabled:
            outputs = self._set_status(id, inputs, "Disabled")
        return Created(id, outputs)

    def read(self, id: str, inputs: CheckpointInputs, outputs: CheckpointOutputs) -> Observed | None:
        ckpt = self.client.find_checkpoint(id=id)
        if ckpt is None:
            return None
        names = ckpt.get("name") or []
        seen = inputs.model_copy(update={
            "enabled": ckpt.get("status") != "Disabled",
            "name": names[0] if inputs.name is not None and names else inputs.name,
        })
        return Observed(seen, self._outputs(ckpt))

    def update(self, id: str, olds: CheckpointInputs, news: CheckpointInputs,
               outputs: CheckpointOutputs) -> CheckpointOutputs:
        if news.enabled != olds.enabled and news.enabled:
            outputs = self._set_status(id, news, "Active")  # a rename needs an Active checkpoint
        if news.name and news.name not in outputs.file_names:
            outputs = self._rename(id, news)
        if news.enabled != olds.enabled and not news.enabled:
            outputs = self._set_status(id, news, "Disabled")
        return outputs

    def delete(self, id: str, inputs: CheckpointInputs, outputs: CheckpointOutputs) -> None:
        self.client.delete_checkpoints([id])

    # -- create paths
    def _params(self, inputs: CheckpointInputs) -> dict[str, Any]:
        return {"message": inputs.message, "creator": self.client.username}

    def _create_from_url(self, inputs: CheckpointInputs) -> dict[str, Any]:
        file_name = inputs.file_name
        existing = self.client.find_checkpoint(file_name=file_name)
        if existing is None:
            self.client.create_checkpoint({
                "checkpoint_type": inputs.checkpoint_type, "urls": [inputs.source_url], "params": self._params(inputs),
            })

            def poll() -> Poll[dict[str, Any]]:
                found = self.client.find_checkpoint(file_name=file_name)
                return Poll(found, "downloading" if found is None else found.get("status", "?"), done=found is not None)

            existing = wait_for(self.label(inputs), poll, timeout_s=inputs.wait_timeout_s)
        else:
            progress(f"{self.label(inputs)}: a checkpoint with this file name exists; adopting {existing['id']}")
        if existing.get("type") != inputs.checkpoint_type:
            raise ProviderError(f"checkpoint file {file_name} already exists as type {existing.get('type')}; "
                                "delete it or use another file name")
        return existing

    def _create_from_file(self, inputs: CheckpointInputs) -> dict[str, Any]:
        path, file_name = inputs.source_file or "", inputs.file_name
        size = os.path.getsize(path)
        part_size = inputs.part_size_mb * 1024 * 1024
        parts = max(1, math.ceil(size / part_size))
        if parts > 100:
            raise ProviderError(f"{file_name} needs {parts} parts of {inputs.part_size_mb} MiB; the platform "
                                "allows 100: raise part_size_mb")
        data = self.client.data(self.client.create_checkpoint({
            "checkpoint_type": inputs.checkpoint_type,
            "filenames": [{"filename": file_name, "parts_number": parts}],
            "params": self._params(inputs),
        }))
        ckpt = data["checkpoint"]
        try:
            urls = data["s3PresignUrl"][file_name]
            tags = []
            with open(path, "rb") as f:
                for number, url in enumerate(urls, start=1):
                    etag = self.client.s3_put(url, f.read(part_size), f"{file_name} part {number}/{parts}")
                    tags.append({"ETag": etag, "PartNumber": number})
                    progress(f"{self.label(inputs)}: uploaded part {number}/{parts}")
            self.client.update_checkpoint(ckpt["id"], {"status": "Active", "multi_parts_tags": {file_name: tags}})
        except Exception:
            progress(f"{self.label(inputs)}: upload failed; deleting the incomplete checkpoint {ckpt['id']}")
            try:
                self.client.delete_checkpoints([ckpt["id"]])
            except ProviderError as exc:
                progress(f"{self.label(inputs)}: cleanup failed, delete checkpoint {ckpt['id']} by hand: {exc}")
            raise
        return self.client.find_checkpoint(id=ckpt["id"]) or ckpt

    # -- in-place changes
    def _set_status(self, id: str, inputs: CheckpointInputs, status: str) -> CheckpointOutputs:
        self.client.update_checkpoint(id, {"status": status, "multi_parts_tags": STATUS_ONLY_TAGS})
        return self._outputs(self.client.find_checkpoint(id=id) or {})

    def _rename(self, id: str, inputs: CheckpointInputs) -> CheckpointOutputs:
        self.client.update_checkpoint(id, {"name": inputs.name})

        def poll() -> Poll[dict[str, Any]]:
            ckpt = self.client.find_checkpoint(id=id) or {}
            names = ckpt.get("name") or []
            return Poll(ckpt, "renaming", done=bool(names) and names[0] == inputs.name)

        return self._outputs(wait_for(f"{self.type_token} {id}", poll, timeout_s=inputs.wait_timeout_s) or {})

    @staticmethod
    def _outputs(ckpt: dict[str, Any]) -> CheckpointOutputs:
        return CheckpointOutputs(file_names=ckpt.get("name") or [], status=ckpt.get("status"),
                                 s3_location=ckpt.get("s3Location") or ckpt.get("s3_location"))


# ---- BEGIN GENERATED by `python -m tools.codegen`: do not edit this region by hand ----
# The typed resource class, from the models above (docs: docs/reference/esd.md#checkpoint).
from typing import Literal  # noqa: E402

import pulumi  # noqa: E402

from providers.core import Resource  # noqa: E402


class Checkpoint(Resource, handler=CheckpointHandler):
    """esd:Checkpoint — a model file (Stable-diffusion, Lora, VAE...) registered with ESD.

    Two sources, exactly one per resource:
      source_url   the platform downloads it (asynchronously, and the reply carries no id:
                   we poll the list for the file name; a checkpoint already there under that
                   name and type is adopted, which also recovers from an interrupted create);
      source_file  a local file uploaded in parts to presigned URLs, then activated. Its
                   SHA-256 is part of the inputs, so a changed file replaces the checkpoint.
    In place: ``name`` (rename, asynchronous) and ``enabled`` (Active / Disabled).

    Reference: docs/reference/esd.md#checkpoint
    """

    checkpoint_type: pulumi.Output[Literal["Stable-diffusion", "embeddings", "Lora", "hypernetworks", "ControlNet", "VAE"]]
    source_url: pulumi.Output[str | None]
    """http(s) URL the platform downloads"""
    source_file: pulumi.Output[str | None]
    """local path uploaded by the provider"""
    source_sha256: pulumi.Output[str | None]
    """computed from source_file at preview"""
    name: pulumi.Output[str | None]
    """rename in place (no extension); unset keeps the file name"""
    enabled: pulumi.Output[bool]
    """Active when true, Disabled when false"""
    message: pulumi.Output[str]
    """free text stored in params.message"""
    part_size_mb: pulumi.Output[int]
    wait_timeout_s: pulumi.Output[int]
    """seconds to wait for the platform before failing the operation"""
    file_names: pulumi.Output[list[str]]
    status: pulumi.Output[str]
    s3_location: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        checkpoint_type: pulumi.Input[Literal["Stable-diffusion", "embeddings", "Lora", "hypernetworks", "ControlNet", "VAE"]],
        source_url: pulumi.Input[str] | None = None,
        source_file: pulumi.Input[str] | None = None,
        source_sha256: pulumi.Input[str] | None = None,
        name: pulumi.Input[str] | None = None,
        enabled: pulumi.Input[bool] = True,
        message: pulumi.Input[str] = "",
        part_size_mb: pulumi.Input[int] = 64,
        wait_timeout_s: pulumi.Input[int] = 900,
    ) -> None:
        """Declare one esd:Checkpoint.

        Args:
            resource_name: the Pulumi name of the resource (unique in the stack).
            opts: Pulumi resource options.
            checkpoint_type: required; changing it replaces the resource.
            source_url: http(s) URL the platform downloads; changing it replaces the resource.
            source_file: local path uploaded by the provider; changing it replaces the resource.
            source_sha256: computed from source_file at preview; changing it replaces the resource.
            name: rename in place (no extension); unset keeps the file name; unset: the platform's choice; length ≥ 1;
                length ≤ 20; matches `^[A-Za-z][A-Za-z0-9_-]*$`.
            enabled: Active when true, Disabled when false; default true.
            message: free text stored in params.message; default ""; changing it replaces the resource.
            part_size_mb: default 64; provider-side only; ≥ 5; ≤ 5000.
            wait_timeout_s: seconds to wait for the platform before failing the operation; default 900; provider-side
                only; ≥ 1; ≤ 21600.
        """
        given = {
            "checkpoint_type": checkpoint_type,
            "source_url": source_url,
            "source_file": source_file,
            "source_sha256": source_sha256,
            "name": name,
            "enabled": enabled,
            "message": message,
            "part_size_mb": part_size_mb,
            "wait_timeout_s": wait_timeout_s,
        }
        super().__init__(resource_name, opts, **{k: v for k, v in given.items() if v is not None})
# ---- END GENERATED ----
