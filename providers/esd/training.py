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
    """Id: the training job id (also the id of its output checkpoint). Import: the training job id.
    Refresh: sees the job status and the output checkpoint's files; inputs are never read back (a run cannot
    change).
    """

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


# ---- BEGIN GENERATED by `python -m tools.codegen`: do not edit this region by hand ----
# The typed resource class, from the models above (docs: docs/reference/esd.md#trainingjob).
from collections.abc import Mapping  # noqa: E402
from typing import Any, Literal  # noqa: E402

import pulumi  # noqa: E402

from providers.core import Resource  # noqa: E402


class TrainingJob(Resource, handler=TrainingJobHandler):
    """esd:TrainingJob — a Kohya LoRA training run.

    Every input forces a replacement (a run cannot be changed). Create starts the run and,
    unless ``wait`` is false, waits for a terminal status; the resulting LoRA is the output
    checkpoint (same id as the job), exposed as ``model_files``. Delete removes the job and
    its output checkpoint, which the platform's own delete leaves behind.

    Reference: docs/reference/esd.md#trainingjob
    """

    model: pulumi.Output[str]
    """base checkpoint file name, e.g. v1-5-pruned-emaonly.safetensors"""
    dataset: pulumi.Output[str]
    output_name: pulumi.Output[str]
    """name of the resulting LoRA"""
    fm_type: pulumi.Output[Literal["sd_1_5", "sd_xl"]]
    training_instance_type: pulumi.Output[str]
    max_train_epochs: pulumi.Output[int]
    save_every_n_epochs: pulumi.Output[int]
    extra_config: pulumi.Output[dict[str, dict[str, Any]]]
    """more Kohya TOML sections merged into config_params"""
    wait: pulumi.Output[bool]
    """wait for a terminal status before create returns"""
    wait_timeout_s: pulumi.Output[int]
    """seconds to wait for the platform before failing the operation"""
    status: pulumi.Output[str]
    output_location: pulumi.Output[str]
    input_location: pulumi.Output[str]
    checkpoint_id: pulumi.Output[str]
    model_files: pulumi.Output[list[str]]
    """file names of the trained model (the output checkpoint)"""

    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        model: pulumi.Input[str],
        dataset: pulumi.Input[str],
        output_name: pulumi.Input[str],
        fm_type: pulumi.Input[Literal["sd_1_5", "sd_xl"]] = "sd_1_5",
        training_instance_type: pulumi.Input[str] = "ml.g5.2xlarge",
        max_train_epochs: pulumi.Input[int] = 100,
        save_every_n_epochs: pulumi.Input[int] = 20,
        extra_config: pulumi.Input[Mapping[str, pulumi.Input[Mapping[str, pulumi.Input[Any]]]]] | None = None,
        wait: pulumi.Input[bool] = True,
        wait_timeout_s: pulumi.Input[int] = 3600,
    ) -> None:
        """Declare one esd:TrainingJob.

        Args:
            resource_name: the Pulumi name of the resource (unique in the stack).
            opts: Pulumi resource options.
            model: base checkpoint file name, e.g. v1-5-pruned-emaonly.safetensors; required; changing it replaces the
                resource; length ≥ 1.
            dataset: required; changing it replaces the resource; length ≥ 1.
            output_name: name of the resulting LoRA; required; changing it replaces the resource; length ≥ 1.
            fm_type: default "sd_1_5"; changing it replaces the resource.
            training_instance_type: default "ml.g5.2xlarge"; changing it replaces the resource.
            max_train_epochs: default 100; changing it replaces the resource; ≥ 1.
            save_every_n_epochs: default 20; changing it replaces the resource; ≥ 1.
            extra_config: more Kohya TOML sections merged into config_params; default {}; changing it replaces the
                resource.
            wait: wait for a terminal status before create returns; default true; provider-side only.
            wait_timeout_s: seconds to wait for the platform before failing the operation; default 3600; provider-side
                only; ≥ 1; ≤ 21600.
        """
        given = {
            "model": model,
            "dataset": dataset,
            "output_name": output_name,
            "fm_type": fm_type,
            "training_instance_type": training_instance_type,
            "max_train_epochs": max_train_epochs,
            "save_every_n_epochs": save_every_n_epochs,
            "extra_config": extra_config,
            "wait": wait,
            "wait_timeout_s": wait_timeout_s,
        }
        super().__init__(resource_name, opts, **{k: v for k, v in given.items() if v is not None})
# ---- END GENERATED ----
