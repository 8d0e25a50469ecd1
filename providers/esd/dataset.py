"""esd:Dataset — training images uploaded to presigned URLs, then enabled.

The platform re-posting a dataset overwrites it, so the name is the key and every
content input forces a replacement; ``enabled`` changes in place.
"""

from __future__ import annotations

import os
from typing import Any

import pulumi
from pydantic import model_validator

from providers.core import Created, Inputs, Observed, Outputs, ProviderError, Resource, RuleError, prop, progress
from providers.esd.base import EsdHandler

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"


class DatasetInputs(Inputs):
    name: str = prop(replace=True, min_length=1, max_length=20, pattern=NAME_PATTERN)
    files: list[str] = prop(replace=True, min_length=1, max_length=100, description="local image files")
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
    status: str | None = None
    s3_location: str | None = None


class DatasetHandler(EsdHandler[DatasetInputs, DatasetOutputs]):
    Inputs, Outputs = DatasetInputs, DatasetOutputs
    type_token = "esd:Dataset"

    def create(self, inputs: DatasetInputs) -> Created[DatasetOutputs]:
        body: dict[str, Any] = {
            "dataset_name": inputs.name,
            "content": [{"filename": os.path.basename(f), "name": os.path.basename(f),
                         "type": "image", "params": {}} for f in inputs.files],
            "params": {"description": inputs.description},
            "creator": self.client.username,
        }
        if inputs.prefix:
            body["prefix"] = inputs.prefix
        data = self.client.create_dataset(body)
        try:
            for path in inputs.files:
                name = os.path.basename(path)
                with open(path, "rb") as f:
                    self.client.s3_put(data["s3PresignUrl"][name], f.read(), f"{inputs.name}/{name}")
            progress(f"{self.label(inputs)}: uploaded {len(inputs.files)} file(s)")
            self.client.set_dataset_status(inputs.name, "Enabled" if inputs.enabled else "Disabled")
        except Exception:
            try:
                self.client.delete_datasets([inputs.name])
            except ProviderError as exc:
                progress(f"{self.label(inputs)}: cleanup failed, delete the dataset by hand: {exc}")
            raise
        return Created(inputs.name, self._outputs(self.client.get_dataset(inputs.name)))

    def read(self, id: str, inputs: DatasetInputs, outputs: DatasetOutputs) -> Observed | None:
        ds = self.client.get_dataset(id)
        seen = inputs.model_copy(update={"enabled": ds.get("status") == "Enabled"})
        return Observed(seen, self._outputs(ds))

    def update(self, id: str, olds: DatasetInputs, news: DatasetInputs, outputs: DatasetOutputs) -> DatasetOutputs:
        self.client.set_dataset_status(id, "Enabled" if news.enabled else "Disabled")
        return self._outputs(self.client.get_dataset(id))

    def delete(self, id: str, inputs: DatasetInputs, outputs: DatasetOutputs) -> None:
        self.client.delete_datasets([id])

    @staticmethod
    def _outputs(ds: dict[str, Any]) -> DatasetOutputs:
        return DatasetOutputs(status=ds.get("status"), s3_location=ds.get("s3"))


class Dataset(Resource, handler=DatasetHandler):
    status: pulumi.Output[str]
    s3_location: pulumi.Output[str]
