"""esd:Dataset — training images uploaded to presigned URLs, then enabled.

The platform re-posting a dataset overwrites it, so the name is the key, every content input
forces a replacement (deleting first when the name stays), and create refuses a name already taken (import it);
``enabled`` changes in place. A lost create reply is recognised by our marker in ``params``.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import model_validator

from providers.core import (
    Created,
    CreatedButFailed,
    Inputs,
    NotFoundError,
    Observed,
    Outputs,
    ProviderError,
    RuleError,
    create,
    is_import,
    progress,
    prop,
)
from providers.esd.base import MARKER, EsdHandler, marker_of

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"


class DatasetInputs(Inputs):
    name: str = prop(replace=True, min_length=1, max_length=20, pattern=NAME_PATTERN)
    files: list[str] = prop(replace=True, write_only=True, min_length=1, max_length=100,
                            description="local image files (not readable back: an import takes them on trust)")
    description: str = prop("", replace=True)
    prefix: str | None = prop(None, replace=True, description="sub-folder, e.g. 10_technic (Kohya repeats)")
    enabled: bool = prop(True)

    @model_validator(mode="after")
    def _files_exist(self) -> DatasetInputs:
        missing = [f for f in self.files if not os.path.isfile(f)]
        if missing:
            raise RuleError("files", f"not readable: {', '.join(missing)}")
        names = [os.path.basename(f) for f in self.files]
        if len(set(names)) != len(names):
            raise RuleError("files", "file names must be distinct (they share one folder on the platform)")
        return self


class DatasetOutputs(Outputs):
    status: str | None = prop(None, changes_with="enabled")
    s3_location: str | None = None


class DatasetHandler(EsdHandler[DatasetInputs, DatasetOutputs]):
    id_doc = "the dataset name."
    import_doc = "the dataset name."
    refresh_doc = "sees the status (``enabled``) and the S3 location; cannot see the uploaded files' content."

    Inputs, Outputs = DatasetInputs, DatasetOutputs
    type_token = "esd:Dataset"

    def deletes_first(self, olds: dict[str, Any], news: dict[str, Any]) -> bool:
        """The name is the key and a re-POST overwrites: a replacement under the same name made
        first would be deleted together with the old one. Delete first unless the name changes."""
        return not (isinstance(news.get("name"), str) and news.get("name") != olds.get("name"))

    def create(self, inputs: DatasetInputs) -> Created[DatasetOutputs]:
        label = self.label(inputs)
        # Re-posting a dataset overwrites it: without this look, create would take over one that
        # existed before the operation.
        try:
            existing = self.client.get_dataset(inputs.name)
        except NotFoundError:
            existing = None
        handle = create.handle()
        token = handle.token
        if existing is not None and handle.durable and marker_of(existing) == token:
            # An interrupted run of this resource made it; its upload URLs died with that run.
            progress(f"{label}: deleting the dataset an interrupted run of this resource made, to start over")
            self.client.delete_datasets([inputs.name])
            existing = None
        if existing is not None:
            raise self.already_exists(f"dataset {inputs.name} ({existing.get('status')})", inputs.name, inputs.name)
        body: dict[str, Any] = {
            "dataset_name": inputs.name,
            "content": [{"filename": os.path.basename(f), "name": os.path.basename(f),
                         "type": "image", "params": {}} for f in inputs.files],
            "params": {"description": inputs.description, MARKER: token},
            "creator": self.client.username,
        }
        if inputs.prefix:
            body["prefix"] = inputs.prefix

        def find_mine() -> None:
            # Only the lost reply had the upload URLs: a dataset carrying our marker is deleted
            # (POSTing again would add a second set of items), then create_once asks again.
            try:
                ds = self.client.get_dataset(inputs.name)
            except NotFoundError:
                return None
            if marker_of(ds) == token:
                progress(f"{label}: deleting the dataset the lost reply made, to ask for its upload URLs again")
                self.client.delete_datasets([inputs.name])
            return None

        data = self.create_once(label, lambda: self.client.create_dataset(body), find_mine)
        try:
            for path in inputs.files:
                name = os.path.basename(path)
                with open(path, "rb") as f:
                    self.client.s3_put(data["s3PresignUrl"][name], f.read(), f"{inputs.name}/{name}")
            progress(f"{label}: uploaded {len(inputs.files)} file(s)")
            self.client.set_dataset_status(inputs.name, "Enabled" if inputs.enabled else "Disabled")
        except Exception as exc:
            try:
                self.client.delete_datasets([inputs.name])
            except ProviderError as cleanup_exc:
                raise CreatedButFailed(
                    f"{label}: {exc}; deleting the incomplete dataset failed too ({cleanup_exc.message})",
                    id=inputs.name, outputs=DatasetOutputs(),
                    cleanup=lambda: self.client.delete_datasets([inputs.name])) from exc
            raise
        return Created(inputs.name, self._outputs(self.client.get_dataset(inputs.name)))

    def read(self, id: str, inputs: DatasetInputs, outputs: DatasetOutputs) -> Observed | None:
        ds = self.client.get_dataset(id)  # NotFoundError (404) means gone
        seen = inputs.model_copy(update={"enabled": ds.get("status") == "Enabled"})
        if is_import(inputs):  # the local file paths cannot be read back
            seen = seen.model_copy(update={"name": id, "description": ds.get("description") or "",
                                           "prefix": ds.get("prefix") or None})
        return Observed(seen, self._outputs(ds))

    def update(self, id: str, olds: DatasetInputs, news: DatasetInputs, outputs: DatasetOutputs) -> DatasetOutputs:
        self.client.set_dataset_status(id, "Enabled" if news.enabled else "Disabled")
        return self._outputs(self.client.get_dataset(id))

    def delete(self, id: str, inputs: DatasetInputs, outputs: DatasetOutputs) -> None:
        self.client.delete_datasets([id])

    @staticmethod
    def _outputs(ds: dict[str, Any]) -> DatasetOutputs:
        return DatasetOutputs(status=ds.get("status"), s3_location=ds.get("s3"))
