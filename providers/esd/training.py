"""esd:TrainingJob — a Kohya LoRA training run.

Every input forces a replacement (a run cannot be changed). Create starts the run and,
unless ``wait`` is false, waits for a terminal status; the resulting LoRA is the output
checkpoint (same id as the job), exposed as ``model_files``. Delete removes the job and
its output checkpoint, which the platform's own delete leaves behind.
"""

from __future__ import annotations

from typing import Any, Literal

import pulumi

from providers.core import Created, Inputs, Observed, Outputs, Poll, ProviderError, Resource, prop, progress, wait_for
from providers.esd.base import EsdHandler, wait_timeout

SUCCESS = {"Completed"}
FAILURE = {"Failed", "Fail", "Stopped", "MaxRuntimeExceeded", "MaxWaitTimeExceeded", "Interrupted"}


class TrainingJobInputs(Inputs):
    model: str = prop(replace=True, min_length=1, description="base checkpoint file name, e.g. v1-5-pruned-emaonly.safetensors")
    dataset: str = prop(replace=True, min_length=1)
    output_name: str = prop(replace=True, min_length=1, description="name of the resulting LoRA")
    fm_type: Literal["sd_1_5", "sd_xl"] = prop("sd_1_5", replace=True)
    training_instance_type: str = prop("ml.g5.2xlarge", replace=True)
    max_train_epochs: int = prop(100, replace=True, ge=1)
    save_every_n_epochs: int = prop(20, replace=True, ge=1)
    extra_config: dict[str, dict[str, Any]] = prop({}, replace=True,
                                                   description="more Kohya TOML sections merged into config_params")
    wait: bool = prop(True, local=True, description="wait for a terminal status before create returns")
    wait_timeout_s: int = wait_timeout(3600)


class TrainingJobOutputs(Outputs):
    status: str | None = None
    output_location: str | None = None
    input_location: str | None = None
    checkpoint_id: str | None = None
    model_files: list[str] = []  # file names of the trained model (the output checkpoint)


class TrainingJobHandler(EsdHandler[TrainingJobInputs, TrainingJobOutputs]):
    Inputs, Outputs = TrainingJobInputs, TrainingJobOutputs
    type_token = "esd:TrainingJob"

    def label(self, inputs: TrainingJobInputs) -> str:
        return f"{self.type_token} {inputs.output_name}"

    def create(self, inputs: TrainingJobInputs) -> Created[TrainingJobOutputs]:
        config = {**inputs.extra_config,
                  "saving_arguments": {**inputs.extra_config.get("saving_arguments", {}),
                                       "output_name": inputs.output_name,
                                       "save_every_n_epochs": inputs.save_every_n_epochs},
                  "training_arguments": {**inputs.extra_config.get("training_arguments", {}),
                                         "max_train_epochs": inputs.max_train_epochs}}
        job = self.client.create_training({
            "lora_train_type": "kohya",
            "params": {"training_params": {"training_instance_type": inputs.training_instance_type,
                                           "model": inputs.model, "dataset": inputs.dataset,
                                           "fm_type": inputs.fm_type},
                       "config_params": config},
        })
        id = job["id"]
        outputs = TrainingJobOutputs(status=job.get("status"), output_location=job.get("output_location"),
                                     input_location=job.get("input_location"), checkpoint_id=id)
        if inputs.wait:
            try:
                self._wait(id, inputs)
            except ProviderError:
                progress(f"{self.label(inputs)}: removing the failed job {id} and its output checkpoint")
                self._remove(id)
                raise
        return Created(id, self._refresh(id, outputs))

    def read(self, id: str, inputs: TrainingJobInputs, outputs: TrainingJobOutputs) -> Observed | None:
        self.client.get_training(id)  # NotFoundError (404) means gone
        return Observed(inputs, self._refresh(id, outputs))

    def delete(self, id: str, inputs: TrainingJobInputs, outputs: TrainingJobOutputs) -> None:
        self._remove(id)

    def _remove(self, id: str) -> None:
        self.client.delete_trainings([id])
        self.client.delete_checkpoints([id])  # the output checkpoint shares the job's id

    def _wait(self, id: str, inputs: TrainingJobInputs) -> None:
        def poll() -> Poll[dict[str, Any]]:
            job = self.client.get_training(id)
            status = job.get("job_status") or "unknown"
            failure = f"training ended as {status}" if status in FAILURE else None
            return Poll(job, status, done=status in SUCCESS, failure=failure)

        wait_for(self.label(inputs), poll, timeout_s=inputs.wait_timeout_s)

    def _refresh(self, id: str, outputs: TrainingJobOutputs) -> TrainingJobOutputs:
        job = self.client.get_training(id)
        ckpt = self.client.find_checkpoint(id=job.get("checkpoint_id") or id) or {}
        return outputs.model_copy(update={
            "status": job.get("job_status"),
            "checkpoint_id": job.get("checkpoint_id") or id,
            "model_files": ckpt.get("name") or [] if ckpt.get("status") == "Active" else [],
        })


class TrainingJob(Resource, handler=TrainingJobHandler):
    status: pulumi.Output[str]
    output_location: pulumi.Output[str]
    input_location: pulumi.Output[str]
    checkpoint_id: pulumi.Output[str]
    model_files: pulumi.Output[list[str]]
